"""Hydrogen supply, delivered cost, co-location and fleet years (issue 13), on a hydrogen-only slice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.cli import main
from siting.hydrogen import annual_factor
from siting.plan import run_plan
from siting.scenario import load_scenario
from tests.conftest import write_slice

ONLY_HYDROGEN = {"public_chargers": 0, "residential_chargers": 0, "rural_chargers": 0}


def _scenario(folder: Path, *, keys: str, sources: pd.DataFrame | None = None, fuel: pd.DataFrame | None = None,
              hubs_year: list | None = None, extra: str = "", target: int = 2) -> Path:
    path = write_slice(folder, targets={**ONLY_HYDROGEN, "hydrogen_new_stations": target}, extra=extra)
    if sources is None:
        sources = pd.DataFrame({"source_id": ["P1", "P2"], "name": ["Plant", "Far plant"],
                                "kind": ["refinery", "electrolysis"], "lon": [120.40, 120.62],
                                "lat": [36.10, 36.22], "capacity_kg_per_day": [700, 5000],
                                "cost_cny_per_kg": [20, 30]})
    sources.to_csv(folder / "src.csv", index=False)
    if fuel is not None:
        fuel.to_csv(folder / "fuel.csv", index=False)
    if hubs_year is not None:
        hubs = pd.read_csv(folder / "hubs.csv")
        hubs["year"] = hubs_year
        hubs.to_csv(folder / "hubs.csv", index=False)
    text = path.read_text(encoding="utf-8").replace("radius_m = 8000", "radius_m = 8000\n" + keys)
    path.write_text(text, encoding="utf-8")
    return path


SUPPLY = 'supply_sources = "src.csv"\ncapacity_margin = 0.2'


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("h2")
    fuel = pd.DataFrame({"station_id": ["F1"], "name": ["Sinopec"], "brand": ["Sinopec"], "lon": [120.331],
                         "lat": [36.091]})
    scenario = _scenario(folder / "inputs", fuel=fuel, keys=SUPPLY + '\nfuel_stations = "fuel.csv"\n'
                         "colocation_saving_cny = 4000000")
    out = folder / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet", "--lang", "en"]) == 0
    return out


def test_supply_within_each_source_capacity(written):
    supply = pd.read_csv(written / "h2_supply.csv")
    sources = pd.read_csv(written.parent / "inputs" / "src.csv").set_index("source_id")
    drawn = supply.groupby("source_id")["kg_per_day"].sum()
    assert len(drawn)
    assert (drawn <= sources.loc[drawn.index, "capacity_kg_per_day"] + 1e-6).all()
    # the near plant is the cheaper one: it is used to its capacity before the far one supplies anything
    assert drawn["P1"] == pytest.approx(700, abs=1e-3)


def test_every_station_served_amount_is_supplied(written):
    sites = pd.read_csv(written / "sites.csv")
    supply = pd.read_csv(written / "h2_supply.csv")
    h2 = sites[sites["tier"] == "hydrogen"].set_index("site_id")
    got = supply.groupby("station_id")["kg_per_day"].sum()
    served = h2["demand_served"][h2["demand_served"] > 0]
    assert np.allclose(got.reindex(served.index).to_numpy(), served.to_numpy(), atol=1e-2)


def test_delivered_cost_recomputes_from_outputs(written):
    sites = pd.read_csv(written / "sites.csv")
    supply = pd.read_csv(written / "h2_supply.csv")
    h2 = sites[(sites["tier"] == "hydrogen") & (sites["demand_served"] > 0)].set_index("site_id")
    supply["value"] = supply["kg_per_day"] * (supply["production_cny_per_kg"] + supply["transport_cny_per_kg"])
    per = supply.groupby("station_id")[["value", "kg_per_day"]].sum()
    expected = per["value"] / per["kg_per_day"] + h2["station_cny_per_kg"]
    assert np.allclose(h2["delivered_cost_cny_per_kg"], expected.reindex(h2.index), atol=1e-3)
    new = h2[h2["status"] == "new"]
    station = new["cost_cny"] * annual_factor() / (new["demand_served"] * 365)
    assert np.allclose(new["station_cny_per_kg"], station, atol=1e-3)
    # transport = 0.03 CNY/kg/km × distance + 3.8 CNY/kg (the defaults), none at the source's own site
    away = supply[supply["distance_km"] > 0]
    assert np.allclose(away["transport_cny_per_kg"], 0.03 * away["distance_km"] + 3.8, atol=1e-3)
    record = json.loads((written / "plan.json").read_text(encoding="utf-8"))["tiers"]["hydrogen"]
    cost = record["delivered_cost_cny_per_kg"]
    assert cost["min"] == pytest.approx(h2["delivered_cost_cny_per_kg"].min(), abs=1e-3)
    assert cost["max"] == pytest.approx(h2["delivered_cost_cny_per_kg"].max(), abs=1e-3)
    assert cost["min"] <= cost["mean"] <= cost["max"]


def test_capacity_margin_keeps_new_stations_ahead_of_demand(written):
    sites = pd.read_csv(written / "sites.csv")
    new = sites[(sites["tier"] == "hydrogen") & (sites["status"] == "new")]
    assert (new["demand_served"] <= new["capacity_kg_per_day"] / 1.2 + 1e-6).all()


def test_fuel_station_chosen_when_its_saving_makes_it_cheaper(written, tmp_path):
    # F1 stands 130 m from hub A: both reach the same demand, F1 costs 4 M CNY less
    sites = pd.read_csv(written / "sites.csv")
    chosen = sites[(sites["tier"] == "hydrogen") & (sites["status"] == "new")]
    assert "hydrogen-fuel-F1" in set(chosen["site_id"])
    assert "hydrogen-A" not in set(chosen["site_id"])
    row = chosen.set_index("site_id").loc["hydrogen-fuel-F1"]
    assert row["cost_cny"] == 16_000_000 and bool(row["colocated"]) is True
    assert not chosen.loc[chosen["site_id"] != "hydrogen-fuel-F1", "colocated"].astype(bool).any()
    # without the saving the hub itself (nearer its demand) is the better site
    fuel = pd.DataFrame({"station_id": ["F1"], "name": ["Sinopec"], "brand": ["Sinopec"], "lon": [120.331],
                         "lat": [36.091]})
    scenario = _scenario(tmp_path / "inputs", fuel=fuel, keys=SUPPLY + '\nfuel_stations = "fuel.csv"')
    plan = run_plan(load_scenario(scenario))
    new = plan.tiers["hydrogen"].sites.query("status == 'new'")["site_id"]
    assert "hydrogen-A" in set(new) and "hydrogen-fuel-F1" not in set(new)


def test_supply_source_is_a_candidate_without_transport(tmp_path):
    # a plant at hub B: a station there (临厂建站) has no transport leg
    sources = pd.DataFrame({"source_id": ["PB"], "name": ["Plant at B"], "kind": ["chlor_alkali"],
                            "lon": [120.380], "lat": [36.080], "capacity_kg_per_day": [5000],
                            "cost_cny_per_kg": [20]})
    plan = run_plan(load_scenario(_scenario(tmp_path / "inputs", sources=sources, keys=SUPPLY, target=1)))
    tp = plan.tiers["hydrogen"]
    assert "hydrogen-source-PB" in set(tp.sites["site_id"])
    own = tp.supply[tp.supply["station_id"] == "hydrogen-source-PB"]
    if len(own):
        assert (own["transport_cny_per_kg"] == 0).all() and (own["distance_km"] == 0).all()
    others = tp.supply[tp.supply["station_id"] != "hydrogen-source-PB"]
    assert (others["transport_cny_per_kg"] >= 3.8).all()


def test_no_station_opens_after_its_hubs_fleet_year(tmp_path):
    # hub D (200 kg/day, least demand) needs hydrogen in 2024; A, B, C only in 2025
    phases = "\n[phases]\nyears = [2024, 2025]\nshare = [0.5, 1.0]\n"
    scenario = _scenario(tmp_path / "inputs", keys=SUPPLY, hubs_year=[2025, 2025, 2025, 2024], extra=phases, target=3)
    plan = run_plan(load_scenario(scenario))
    tp = plan.tiers["hydrogen"]
    served = tp.assignment[tp.assignment["amount"] > 0]
    d_sites = set(served.loc[served["demand_id"] == "D", "site_id"])
    assert d_sites, "hub D is served"
    phases_table = plan.phases()
    for site in d_sites & set(phases_table["site_id"]):
        rows = phases_table[phases_table["site_id"] == site].set_index("year")
        assert rows.loc[2024, "chargers"] == 1, site
    # the phase share holds: 2 of the 3 new stations by 2024 (round(0.5 × 3)), the third in 2025
    new = set(tp.sites.loc[tp.sites["status"] == "new", "site_id"])
    per_year = phases_table[phases_table["site_id"].isin(new)].groupby("year")["chargers"].sum()
    assert per_year.to_dict() == {2024: 2, 2025: 3}
    # 2024 re-sequenced by the fleets: its service is what its open sites serve, not the model's optimum
    assert tp.result.extra["period_rule"] == "fleet years"
    assert tp.result.extra["period_status"][0] == "feasible"
    years = tp.sites.set_index("site_id")
    for site in d_sites & set(years.index[years["status"] == "new"]):
        assert years.loc[site, "year"] <= 2024


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda s: s.assign(capacity_kg_per_day=[700, 0]), ["src.csv", "row 3", "P2", "capacity_kg_per_day"]),
    (lambda s: s.assign(cost_cny_per_kg=[20, -5]), ["src.csv", "row 3", "cost_cny_per_kg", "-5"]),
    (lambda s: s.assign(capacity_kg_per_day=["700", "lots"]), ["src.csv", "row 3", "capacity_kg_per_day", "lots"]),
    (lambda s: s.drop(columns="cost_cny_per_kg"), ["src.csv", "cost_cny_per_kg"]),
    (lambda s: s.assign(lon=[120.40, 130.0]), ["src.csv", "P2", "outside every district"]),
])
def test_bad_supply_file_gives_one_line(edit, expected, tmp_path, capsys):
    folder = tmp_path / "inputs"
    scenario = _scenario(folder, keys=SUPPLY)
    edit(pd.read_csv(folder / "src.csv")).to_csv(folder / "src.csv", index=False)
    code = main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in lines[0], (text, lines[0])


def test_bad_hub_year_gives_one_line(tmp_path, capsys):
    scenario = _scenario(tmp_path / "inputs", keys=SUPPLY, hubs_year=[2025, "soon", 2025, 2024])
    assert main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "hubs.csv" in lines[0] and "row 3" in lines[0] and "soon" in lines[0], lines


def test_bad_fuel_station_file_gives_one_line(tmp_path, capsys):
    folder = tmp_path / "inputs"
    fuel = pd.DataFrame({"station_id": ["F1", "F1"], "name": ["a", "b"], "brand": ["x", "y"],
                         "lon": [120.33, 120.34], "lat": [36.09, 36.09]})
    scenario = _scenario(folder, fuel=fuel, keys=SUPPLY + '\nfuel_stations = "fuel.csv"')
    code = main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "fuel.csv" in lines[0] and "F1" in lines[0], err


def test_scenario_refuses_a_saving_above_the_station_cost(tmp_path, capsys):
    scenario = _scenario(tmp_path / "inputs", keys=SUPPLY + "\ncolocation_saving_cny = 30000000")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "colocation_saving_cny" in capsys.readouterr().err


def test_without_supply_keys_no_supply_outputs(tmp_path):
    scenario = write_slice(tmp_path / "inputs", targets=ONLY_HYDROGEN)
    plan = run_plan(load_scenario(scenario))
    tp = plan.tiers["hydrogen"]
    assert tp.supply is None and "delivered_cost_cny_per_kg" not in tp.sites
    assert plan.sites()["delivered_cost_cny_per_kg"].isna().all()


def test_map_shows_sources_and_supply_routes(written):
    html = (written / "map.html").read_text(encoding="utf-8")
    assert "Hydrogen supply routes" in html and "P1 → hydrogen-" in html


def test_public_chargers_may_use_fuel_stations(tmp_path):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder, targets={"residential_chargers": 0, "rural_chargers": 0, "hydrogen_new_stations": 0,
                                            "public_chargers": 300})
    pd.DataFrame({"station_id": ["F1"], "name": ["Sinopec"], "brand": ["Sinopec"], "lon": [120.331],
                  "lat": [36.091]}).to_csv(folder / "fuel.csv", index=False)
    text = scenario.read_text(encoding="utf-8").replace("[hydrogen]", '[public]\nfuel_stations = "fuel.csv"\n\n[hydrogen]')
    scenario.write_text(text, encoding="utf-8")
    plan = run_plan(load_scenario(scenario))
    sites = plan.tiers["public"].sites
    assert "public-fuel-F1" in set(sites["site_id"])
    placed = plan.sites()
    public = placed[placed["tier"] == "public"]
    assert public["colocated"].notna().all()
    assert set(public.loc[public["colocated"].astype(bool), "site_id"]) <= {"public-fuel-F1"}
