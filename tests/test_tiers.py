"""Tiers as data: a tier defined only in a scenario file is planned, exported and drawn like a built-in one."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from siting import ScenarioError
from siting.cli import main
from siting.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]

TAXI = """
[tiers.taxi]
kind = "charger"
label = "Taxi fast-charging hubs"
target = 120
demand = "urban_evs"
demand_share = 0.05
radius_m = 3000
min_chargers_per_site = 6
max_chargers_per_site = 40
capacity_per_charger = 10
candidate_sources = ["cells"]
colour = "#9467bd"
"""


def _atlanta(tmp_path: Path, extra: str) -> Path:
    shutil.copytree(ROOT / "data", tmp_path / "data")
    (tmp_path / "scenarios").mkdir()
    text = (ROOT / "scenarios" / "atlanta_demo.toml").read_text(encoding="utf-8")
    scenario = tmp_path / "scenarios" / "atlanta_demo.toml"
    scenario.write_text(text.replace("cell_size_m = 1500", "cell_size_m = 3000") + extra, encoding="utf-8")
    return scenario


def test_scenario_tier_is_parsed_after_the_builtin_ones(tmp_path):
    scenario = load_scenario(_atlanta(tmp_path, TAXI))
    assert [t.name for t in scenario.tiers] == ["public", "residential", "rural", "hydrogen", "taxi"]
    taxi = scenario.tier("taxi")
    assert (taxi.kind, taxi.target, taxi.demand, taxi.demand_share, taxi.label) == (
        "charger", 120, "urban_evs", 0.05, "Taxi fast-charging hubs")
    assert (taxi.min_units_per_site, taxi.max_units_per_site, taxi.capacity_per_unit) == (6, 40, 10.0)


def test_a_taxi_tier_is_planned_exported_and_drawn(tmp_path, capsys):
    scenario = _atlanta(tmp_path, TAXI)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    assert re.search(r"^\s+taxi\s+120\s+120\s", capsys.readouterr().out, re.MULTILINE)
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    taxi = sites[sites["tier"] == "taxi"]
    assert taxi["chargers"].sum() == 120  # the target, exactly
    assert taxi["chargers"].between(6, 40).all()
    assert taxi["site_id"].str.startswith("taxi-").all()
    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    assert districts.loc[districts["tier"] == "taxi", "units"].sum() == 120
    assert list(dict.fromkeys(districts["tier"])) == ["public", "residential", "rural", "hydrogen", "taxi"]
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["taxi"]["label"] == "Taxi fast-charging hubs"
    assert record["tiers"]["taxi"]["placed"] == 120
    html = (out / "map.html").read_text(encoding="utf-8")
    assert f"Taxi fast-charging hubs ({len(taxi):,} sites, 120 chargers)" in html
    assert "Taxi fast-charging hubs" in (out / "report.html").read_text(encoding="utf-8")


def test_a_station_tier_from_a_hub_file(tmp_path, capsys):
    depots = tmp_path / "depots.csv"
    pd.DataFrame({"hub_id": ["d1", "d2", "d3"], "name": ["North", "Centre", "South"],
                  "lon": [-84.39, -84.40, -84.42], "lat": [33.85, 33.75, 33.62],
                  "vehicles": [30.0, 50.0, 20.0]}).to_csv(depots, index=False)
    extra = f"""
[tiers.bus]
kind = "station"
label = "Bus depot chargers"
target = 2
demand = "{depots.as_posix()}"
hub_weight_column = "vehicles"
demand_unit = "buses"
radius_m = 15000
capacity_per_charger = 60
"""
    scenario = _atlanta(tmp_path, extra)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    bus = sites[sites["tier"] == "bus"]
    assert len(bus) == 2 and set(bus["status"]) == {"new"}
    assert set(bus["site_id"]) <= {"bus-d1", "bus-d2", "bus-d3"}
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["bus"]["unit"] == "stations"
    assert record["tiers"]["bus"]["demand_unit"] == "buses"


@pytest.mark.parametrize(("table", "message"), [
    ('[tiers.public]\ntarget = 1\ndemand = "evs"\n', "not one of the built-in tiers"),
    ('[tiers.taxi]\ntarget = 1\ndemand = "cars"\n', "is neither a demand-surface column"),
    ('[tiers.taxi]\ntarget = 1\ndemand = "evs"\nkind = "kiosk"\n', "'tiers.taxi.kind' = 'kiosk' is not a kind"),
    ('[tiers.taxi]\ntarget = 1\ndemand = "evs"\ncandidate_sources = "cells"\n', "must be a list"),
    ('[tiers.taxi]\ntarget = 1\ndemand = "evs"\nradius_m = 0\n', "'tiers.taxi.radius_m' = 0.0 must be positive"),
    ('[tiers.taxi]\ntarget = 1\ndemand = "evs"\nradius = 900\n', "unknown key 'tiers.taxi.radius'; did you mean"),
    ('[tiers.taxi]\ndemand = "evs"\n', "missing required key 'tiers.taxi.target'"),
])
def test_bad_scenario_tiers_are_named(tmp_path, table, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(_atlanta(tmp_path, "\n" + table))
