"""Commercial charge/swap stations, power on every site, TOU energy, grid zones (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.cli import main
from siting.plan import run_plan
from siting.power import period_shares, site_power, tou_energy
from siting.scenario import Grid, load_scenario
from siting.tiers import TierSpec
from tests.conftest import write_slice

NO_TARGETS = {"public_chargers": 0, "residential_chargers": 0, "rural_chargers": 0, "hydrogen_new_stations": 0}


def _hubs(folder: Path, **change) -> None:
    table = pd.DataFrame({
        "hub_id": ["P", "B", "L", "D"], "name": ["Port", "Bus depot", "Logistics", "Delivery"],
        "kind": ["port", "bus_depot", "logistics", "delivery"],
        "lon": [120.330, 120.380, 120.470, 120.385], "lat": [36.090, 36.080, 36.120, 36.085],
        "vehicles": [250, 100, 30, 20], "kwh_per_vehicle_day": [250, 200, "", 55]})
    for column, (row, value) in change.items():
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "chubs.csv", index=False)


@pytest.fixture(scope="module")
def commercial_plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("commercial")
    _hubs(folder)
    path = write_slice(folder, targets=NO_TARGETS, extra='\n[commercial]\ndemand_hubs = "chubs.csv"\n')
    return run_plan(load_scenario(path))


def test_every_hub_is_served_within_radius_by_its_kind_of_station(commercial_plan):
    tp = commercial_plan.tiers["commercial"]
    assert tp.spec.open_target and tp.spec.objective == "cost"
    assert tp.coverage == pytest.approx(1.0)
    kinds = tp.sites.set_index("site_id")["kind"]
    assert kinds["commercial-P"] == "swap" and kinds["commercial-B"] == "charge"
    a = tp.assignment
    need = {"P": "swap", "B": "charge", "L": "charge", "D": "charge"}
    assert all(kinds[s] == need[d] for d, s in zip(a["demand_id"], a["site_id"], strict=True))
    assert (a["distance_m"] <= tp.radius_m + 1e-6).all()
    # the fewest stations: 250 trucks need 2 swap stations (200 a day each), 150 charging vehicles 4 charge stations
    built = tp.sites[tp.sites["status"] == "new"]
    assert built.groupby("kind")["units"].sum().to_dict() == {"swap": 2, "charge": 4}


def test_every_site_has_power_and_storage_only_where_short(commercial_plan):
    sites = commercial_plan.sites()
    assert (sites["power_kw"] > 0).all()
    port = sites.set_index("site_id").loc["commercial-P"]
    assert port["power_kw"] == 2 * 2500 and port["peak_kw"] == 2 * 2500 * 0.8
    short = sites["peak_kw"] > 600
    assert (sites.loc[short, "storage_kw"] == (sites.loc[short, "peak_kw"] - 600).round(1)).all()
    assert (sites.loc[~short, ["storage_kw", "storage_kwh", "pv_kw"]] == 0).all().all()
    # storage bridges the 4 critical-peak hours at 90 % usable depth
    assert port["storage_kwh"] == pytest.approx((4000 - 600) * 4 / 0.9, abs=0.1)
    # the bus depot charges in the valley: little at the evening peak, and V2G-ready
    depot = sites.set_index("site_id").loc["commercial-B"]
    assert depot["peak_kw"] == pytest.approx(depot["power_kw"] * 0.1) and depot["v2g_ready"]


def test_energy_by_tou_period_adds_up_and_depots_charge_in_the_valley(commercial_plan):
    energy = commercial_plan.energy()
    sites = commercial_plan.sites()
    for tier, group in energy.groupby("tier"):
        assert group["energy_kwh_day"].sum() == pytest.approx(sites.loc[sites["tier"] == tier,
                                                                        "energy_kwh_day"].sum(), rel=1e-3)
    # hub energy: vehicles served × kWh a vehicle (the port: 250 × 250)
    assert sites.set_index("site_id").loc["commercial-P", "energy_kwh_day"] == 62_500
    row = energy[energy["tier"] == "commercial"].set_index("period")
    assert np.allclose(row["cost_cny_day"], row["energy_kwh_day"] * row["price_cny_per_kwh"], atol=0.2)
    # the bus depot's energy is all in the valleys: the commercial valley share exceeds a flat load's
    assert row.loc["valley", "energy_kwh_day"] / row["energy_kwh_day"].sum() > 8 / 24


def test_site_power_by_hand():
    spec = TierSpec(name="home", kind="charger", label="x", colour="#000000", target=10, demand="evs",
                    demand_unit="EVs", radius_m=500, min_units_per_site=1, max_units_per_site=100,
                    capacity_per_unit=1, power_kw_per_unit=7.0, coincidence=0.3, full_load_hours_per_day=1.5,
                    load_profile="valley", v2g_ready=True)
    sites = pd.DataFrame({"site_id": ["a", "b", "c"], "status": ["new", "new", "candidate"],
                          "units": [10, 400, 0], "kind": "cell"})
    out = site_power(sites, spec, Grid()).set_index("site_id")
    assert out.loc["a", "power_kw"] == 70 and out.loc["a", "peak_kw"] == 21 and out.loc["a", "energy_kwh_day"] == 105
    assert out.loc["a", "storage_kw"] == 0 and out.loc["c", "power_kw"] == 0 and not out.loc["c", "v2g_ready"]
    # 400 × 7 kW × 0.3 = 840 kW at the peak: 240 kW above one 600 kW connection → storage and a canopy
    assert out.loc["b", "storage_kw"] == 240 and out.loc["b", "pv_kw"] == 800
    shares = period_shares(Grid(), "valley")
    assert shares["deep_valley"] == pytest.approx(3 / 11) and shares["critical_peak"] == 0
    table = tou_energy(out.assign(tier="home").reset_index(), Grid()).set_index("period")
    assert table["energy_kwh_day"].sum() == pytest.approx(105 + 4200, abs=0.5)


def test_a_hub_file_with_a_bad_row_is_one_line_and_exit_2(tmp_path, capsys):
    for change in ({"vehicles": (1, "many")}, {"kind": (2, "airport")}, {"kwh_per_vehicle_day": (0, "-5")}):
        folder = tmp_path / next(iter(change))
        _hubs(folder, **change)
        path = write_slice(folder, targets=NO_TARGETS, extra='\n[commercial]\ndemand_hubs = "chubs.csv"\n')
        assert main(["plan", str(path), "--out", str(folder / "out"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "chubs.csv" in err and "row" in err and len(err.splitlines()) == 1, err


def test_a_tight_zone_file_keeps_every_zone_within_headroom(tmp_path):
    folder = tmp_path / "zones"
    _hubs(folder)
    # two zones around the port and the city centre: 1,000 kW and 1,500 kW of headroom
    pd.DataFrame({"zone_id": ["Z1", "Z2"], "headroom_kw": [1000, 1500], "lon": [120.33, 120.38],
                  "lat": [36.09, 36.07], "radius_m": [800, 2500]}).to_csv(folder / "zones.csv", index=False)
    targets = {**NO_TARGETS, "public_chargers": 300}
    path = write_slice(folder, targets=targets, extra='\n[commercial]\ndemand_hubs = "chubs.csv"\n'
                       '[grid]\nzones = "zones.csv"\n')
    plan = run_plan(load_scenario(path))
    zones = plan.zones().set_index("zone_id")
    assert (zones["net_peak_kw"] <= zones["headroom_kw"] + 1e-6).all()
    sites = plan.sites()
    assert set(sites["zone_id"]) >= {"Z1", "Z2"}
    short = sites["peak_kw"] > 600
    assert ((sites["storage_kw"] > 0) == short).all()
    assert plan.tiers["public"].units_placed == 300


def test_an_impossible_zone_names_the_zone_and_the_shortfall(tmp_path, capsys):
    folder = tmp_path / "short"
    _hubs(folder)
    pd.DataFrame({"zone_id": ["Z1"], "headroom_kw": [1000], "lon": [120.38], "lat": [36.08],
                  "radius_m": [60000]}).to_csv(folder / "zones.csv", index=False)
    path = write_slice(folder, targets={**NO_TARGETS, "public_chargers": 300}, extra='[grid]\nzones = "zones.csv"\n')
    assert main(["plan", str(path), "--out", str(folder / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "Z1" in err and "short by" in err and len(err.splitlines()) == 1, err


def test_plan_json_has_energy_per_tier_and_a_stated_target_still_works(tmp_path):
    folder = tmp_path / "target"
    _hubs(folder)
    path = write_slice(folder, targets=NO_TARGETS, extra='\n[commercial]\ndemand_hubs = "chubs.csv"\n')
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("hydrogen_new_stations = 0", "hydrogen_new_stations = 0\ncommercial_stations = 3"),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", str(path), "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    tier = record["tiers"]["commercial"]
    assert tier["placed"] == 3
    assert set(tier["energy"]["by_period"]) == {"deep_valley", "valley", "flat", "peak", "critical_peak"}
    districts = pd.read_csv(out / "districts.csv", dtype={"district_code": str})
    sites = pd.read_csv(out / "sites.csv", dtype={"district_code": str})
    assert districts["peak_kw"].sum() == pytest.approx(sites["peak_kw"].sum(), abs=1.0)
    assert np.isfinite(sites["power_kw"]).all()
