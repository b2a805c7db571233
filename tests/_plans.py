"""Slice plans written once per test session and shared by the export, compare and browser tests.

The districts, hubs and title carry markup in their names: every output must
show it as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from siting.cli import main
from tests.conftest import write_slice

HOSTILE_DISTRICT = "<img src=x onerror=alert(1)>市南区"
HOSTILE_DISTRICT_EN = "Shinan & <b>$bold$</b>"
HOSTILE_HUB = "<script>alert('hub')</script>Port"
HOSTILE_TITLE = "Three <i>Qingdao</i> districts"
#: The district whose names are replaced.
HOSTILE_CODE = "370202"


def hostile_slice(folder: Path, *, targets: dict | None = None) -> Path:
    """The three-district slice scenario with markup in a district's names, a hub's name and the title."""
    scenario = write_slice(folder, targets=targets)
    geojson = folder / "districts.geojson"
    data = json.loads(geojson.read_text(encoding="utf-8"))
    for feature in data["features"]:
        if feature["properties"]["district_code"] == HOSTILE_CODE:
            feature["properties"]["district_name"] = HOSTILE_DISTRICT
            feature["properties"]["district_name_en"] = HOSTILE_DISTRICT_EN
    geojson.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    stats = pd.read_csv(folder / "stats.csv", dtype={"district_code": str})
    if "district_name" in stats.columns:
        stats.loc[stats["district_code"] == HOSTILE_CODE, "district_name"] = HOSTILE_DISTRICT
    if "district_name_en" in stats.columns:
        stats.loc[stats["district_code"] == HOSTILE_CODE, "district_name_en"] = HOSTILE_DISTRICT_EN
    stats.to_csv(folder / "stats.csv", index=False)
    hubs = pd.read_csv(folder / "hubs.csv")
    hubs.loc[0, "name"] = HOSTILE_HUB
    hubs.to_csv(folder / "hubs.csv", index=False)
    text = scenario.read_text(encoding="utf-8").replace('title = "Three Qingdao districts"',
                                                        f"title = {json.dumps(HOSTILE_TITLE)}")
    scenario.write_text(text, encoding="utf-8")
    return scenario


def plan_once(tmp_path_factory, name: str, *, targets: dict | None = None, args: tuple[str, ...] = ()) -> Path:
    """Write the hostile slice plan ``name`` once per session (``args``: more ``siting plan`` options, e.g.
    ``("--lang", "zh")``); return its output folder."""
    root = tmp_path_factory.getbasetemp() / "shared-plans" / name
    out = root / "out"
    if not (out / "plan.json").is_file():
        scenario = hostile_slice(root / "inputs", targets=targets)
        assert main(["plan", str(scenario), "--out", str(out), "--quiet", *args]) == 0
    return out
