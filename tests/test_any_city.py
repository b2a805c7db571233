"""A region that is not Qingdao, from user-style files: another CRS, format, codes and names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_atlanta_demo_plans_from_its_own_files(tmp_path, capsys):
    # same relative layout as the repository; coarser cells so the test is quick
    shutil.copytree(ROOT / "data", tmp_path / "data")
    (tmp_path / "scenarios").mkdir()
    text = (ROOT / "scenarios" / "atlanta_demo.toml").read_text(encoding="utf-8")
    scenario = tmp_path / "scenarios" / "atlanta_demo.toml"
    scenario.write_text(text.replace("cell_size_m = 1500", "cell_size_m = 3000"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err

    sites = gpd.read_file(out / "sites.gpkg", layer="sites")
    counties = gpd.read_file(ROOT / "data" / "boundaries" / "atlanta_counties.gpkg").to_crs("EPSG:4326")
    assert set(sites["district_code"]) <= set(counties["district_code"])
    assert sites["district_code"].str.fullmatch(r"13\d{3}").all()
    joined = gpd.sjoin(sites, counties[["district_code", "geometry"]], predicate="within",
                       lsuffix="site", rsuffix="county")
    assert len(joined) == len(sites) and (joined["district_code_site"] == joined["district_code_county"]).all()
    new = sites[sites["status"] == "new"]
    assert new.groupby("tier")["chargers"].sum().drop("hydrogen").to_dict() == {
        "public": 3000, "residential": 8000, "rural": 400}
    assert (new["tier"] == "hydrogen").sum() == 2
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["scenario"] == "atlanta_demo"
    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig", dtype={"district_code": str})
    assert districts["district_name"].str.endswith("County").all()
