"""Candidate sites from a planner's file, OpenStreetMap places and cells, in order of preference.

Hand-checkable fixtures: the two Helsinki test districts (tests/data/helsinki, ASSUMPTION statistics)
without a network for the file cases; the real extract (tests/data/helsinki.osm.pbf) for the OSM case.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import candidate_sources as cs
from siting._errors import DataError, ScenarioError
from siting.cli import main
from siting.inputs import read_boundaries
from siting.scenario import load_scenario

DATA = Path(__file__).resolve().parent / "data"
HELSINKI = DATA / "helsinki"
CRS = "EPSG:3067"

#: Five car parks in the two boxes (HEL-N: lat 60.1716–60.1785, HEL-S: 60.1648–60.1716; lon 24.936–24.9525).
SITES = pd.DataFrame({
    "site_id": ["P1", "P2", "P3", "P4", "P5"],
    "name": ["North car park", "Station car park", "Mall roof", "Harbour lot", "Market square"],
    "lon": [24.940, 24.948, 24.944, 24.939, 24.950],
    "lat": [60.1760, 60.1730, 60.1700, 60.1660, 60.1680],
    "address": ["Street 1", "", "Street 3", "Street 4", ""],
    "kind": ["parking", "parking", "mall", "", "square"],
    "max_chargers": ["8", "10", "6", "12", ""],
    "site_cost_cny": ["", "150000", "", "", ""],
})


def _city(folder: Path, sites: pd.DataFrame = SITES, *, public: str = 'candidate_sites = "sites.csv"') -> Path:
    """A small scenario over the two Helsinki boxes, straight-line distances, with a public candidate file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("districts.geojson", "stats.csv"):
        shutil.copy(HELSINKI / name, folder / name)
    sites.to_csv(folder / "sites.csv", index=False)
    scenario = folder / "scenario.toml"
    scenario.write_text(textwrap.dedent(f"""\
        name = "file_city"
        [region]
        boundaries = "districts.geojson"
        district_stats = "stats.csv"
        metric_crs = "{CRS}"
        geonames_places = false
        [targets]
        public_chargers = 30
        residential_chargers = 0
        rural_chargers = 0
        hydrogen_new_stations = 0
        [demand]
        cell_size_m = 250
        [public]
        radius_m = 600
        min_chargers_per_site = 4
        max_chargers_per_site = 20
        candidate_min_density_per_km2 = 0
        site_cost_cny = 400000
        {public}
        """), encoding="utf-8")
    return scenario


@pytest.fixture(scope="module")
def boundaries():
    return read_boundaries(HELSINKI / "districts.geojson", metric_crs=CRS)


# ------------------------------------------------------------------------------------------ the file


def test_file_rows_keep_ids_names_room_and_costs(tmp_path, boundaries):
    SITES.to_csv(tmp_path / "sites.csv", index=False)
    sites = cs.read_candidate_file(tmp_path / "sites.csv", tier="public", boundaries=boundaries, metric_crs=CRS)
    assert list(sites["site_id"]) == ["P1", "P2", "P3", "P4", "P5"]
    assert list(sites["name"]) == list(SITES["name"])
    assert list(sites["kind"]) == ["parking", "parking", "mall", "candidate_site", "square"]
    assert (sites["source"] == "file").all() and sites["address"].iloc[0] == "Street 1"
    assert list(sites["district_code"]) == ["HEL-N", "HEL-N", "HEL-S", "HEL-S", "HEL-S"]
    np.testing.assert_array_equal(sites["max_units"], [8, 10, 6, 12, np.nan])
    np.testing.assert_array_equal(sites["site_cost_cny"], [np.nan, 150000, np.nan, np.nan, np.nan])
    limited = cs.with_limits(sites, min_units=7, max_units=11, site_cost_cny=400000.0)
    assert list(limited["max_units"]) == [8, 10, 6, 11, 11]  # min(tier max, file max)
    assert list(limited["min_units"]) == [7, 7, 6, 7, 7]  # a site with room for 6 can still open
    assert list(limited["site_cost_cny"]) == [400000, 150000, 400000, 400000, 400000]


@pytest.mark.parametrize(("column", "value", "words"), [
    ("max_chargers", "lots", "row 4 (site_id P3): max_chargers = 'lots' is not a whole number of at least 1"),
    ("max_chargers", "2.5", "row 4 (site_id P3): max_chargers = '2.5' is not a whole number"),
    ("max_chargers", "0", "row 4 (site_id P3): max_chargers = '0'"),
    ("site_cost_cny", "-5", "row 4 (site_id P3): site_cost_cny = '-5' is not a number of at least 0"),
])
def test_a_bad_row_names_file_row_and_field(tmp_path, boundaries, column, value, words):
    bad = SITES.copy()
    bad.loc[2, column] = value
    bad.to_csv(tmp_path / "sites.csv", index=False)
    with pytest.raises(DataError, match="sites.csv") as error:
        cs.read_candidate_file(tmp_path / "sites.csv", tier="public", boundaries=boundaries, metric_crs=CRS)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_polygons_are_represented_by_a_point_inside(tmp_path, boundaries):
    square = shapely.box(24.9400, 60.1750, 24.9420, 60.1760)
    layer = gpd.GeoDataFrame({"site_id": ["Q1"], "name": ["Compound"], "max_chargers": [5]},
                             geometry=[square], crs="EPSG:4326")
    layer.to_file(tmp_path / "sites.geojson", driver="GeoJSON")
    sites = cs.read_candidate_file(tmp_path / "sites.geojson", tier="public", boundaries=boundaries, metric_crs=CRS)
    assert square.contains(sites.geometry.iloc[0]) and sites["max_units"].iloc[0] == 5


# ------------------------------------------------------------------------------------------ the order


def _frame(ids, xs, source):
    table = pd.DataFrame({"site_id": ids, "tier": "t", "kind": source, "name": "", "district_code": "D",
                          "x_m": xs, "y_m": 0.0, "lon": 0.0, "lat": 0.0, "source": source, "osm_id": "",
                          "address": ""})
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")


def _reach(points, sites):
    """Pairs within 1,000 m along the x axis."""
    pairs = points[["demand_id", "x_m"]].merge(sites[["site_id", "x_m"]], how="cross")
    return pairs[(pairs["x_m_x"] - pairs["x_m_y"]).abs() <= 1000][["demand_id", "site_id"]]


def test_a_later_source_only_fills_the_gaps():
    demand = pd.DataFrame({"demand_id": ["a", "b", "c"], "weight": [1.0, 1.0, 0.0], "x_m": [0.0, 5000.0, 9000.0],
                           "y_m": 0.0})
    first = _frame(["f1"], [200.0], "file")  # reaches a
    second = _frame(["c1", "c2", "c3"], [100.0, 5200.0, 9000.0], "cells")  # c1 near a (dropped), c2 near b
    kept = cs.in_order([first, second], demand, _reach)
    assert list(kept["site_id"]) == ["f1", "c2"]  # c3 only reaches c, which has no demand
    assert list(cs.in_order([first, second], demand, _reach, required=("c",))["site_id"]) == ["f1", "c2", "c3"]
    assert list(cs.in_order([second, first], demand, _reach)["site_id"]) == ["c1", "c2", "c3"]


def test_osm_places_become_sites_with_room_and_existing_stations(boundaries):
    places = pd.DataFrame({
        "osm_id": ["node-1", "way-2", "node-3", "node-4", "node-5"], "name": ["Big", "Small", "EV", "EV 2", "Flat"],
        "kind": ["parking", "parking", "charging_station", "charging_station", "apartments"],
        "tier": ["public", "public", "public", "public", "residential"],
        "capacity": [45.0, 5.0, np.nan, 6.0, np.nan], "address": ["A 1", "", "", "", ""],
        "lon": [24.940, 24.948, 24.944, 24.939, 24.950], "lat": [60.1760, 60.1730, 60.1700, 60.1660, 60.1680]})
    total = cs.osm_place_candidates(places, tier="public", osm_tier="public", boundaries=boundaries, metric_crs=CRS,
                                    existing_stations=True)
    # 45 spaces × 10 % = 4 chargers; 5 spaces give none (left out); stations: 2 by default, 6 from capacity
    assert list(total["site_id"]) == ["public-osm-node-1", "public-osm-node-3", "public-osm-node-4"]
    np.testing.assert_array_equal(total["max_units"], [4, 2, 6])
    np.testing.assert_array_equal(total["existing_units"], [np.nan, 2, 6])
    assert list(total["osm_id"]) == ["node-1", "node-3", "node-4"] and total["address"].iloc[0] == "A 1"
    new = cs.osm_place_candidates(places, tier="public", osm_tier="public", boundaries=boundaries, metric_crs=CRS,
                                  existing_stations=False)
    assert list(new["site_id"]) == ["public-osm-node-1"] and (new["kind"] == "osm:parking").all()


# ------------------------------------------------------------------------------------------ a plan


def test_every_site_of_a_file_tier_comes_from_the_file(tmp_path, capsys):
    scenario = _city(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    sites = pd.read_csv(out / "sites.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    public = sites[sites["tier"] == "public"]
    assert set(public["site_id"]) <= set(SITES["site_id"]) and len(public) >= 2
    room = SITES.set_index("site_id")["max_chargers"].replace("", "20").astype(int)
    chargers = public.set_index("site_id")["chargers"].astype(int)
    assert (chargers <= room[chargers.index]).all() and chargers.sum() == 30
    names = SITES.set_index("site_id")["name"]
    assert (public.set_index("site_id")["name"] == names[public["site_id"]].to_numpy()).all()
    assert (public["source"] == "file").all()
    candidates = pd.read_csv(out / "candidates.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(candidates.loc[candidates["tier"] == "public", "site_id"]) == set(SITES["site_id"])


def test_a_bad_candidate_row_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = SITES.copy()
    bad.loc[1, "max_chargers"] = "many"
    scenario = _city(tmp_path / "in", bad)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "sites.csv: row 3 (site_id P2): max_chargers = 'many'" in err and len(err.splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_cells_fill_only_the_gaps_of_the_file(tmp_path):
    from siting.plan import run_plan
    one = SITES.iloc[:1]  # a single car park in the north: cells serve the rest
    plan = run_plan(load_scenario(_city(tmp_path / "in", one, public='candidate_sites = "sites.csv"\n'
                                        'candidate_sources = ["file", "cells"]')))
    sites = plan.tiers["public"].sites
    assert "P1" in set(sites["site_id"]) and set(sites["source"]) == {"file", "cells"}
    p1 = sites.loc[sites["site_id"] == "P1", ["x_m", "y_m"]].to_numpy()[0]
    cells = sites[sites["source"] == "cells"]
    assert len(cells) and (np.hypot(cells["x_m"] - p1[0], cells["y_m"] - p1[1]) > 0).all()


@pytest.mark.parametrize(("line", "words"), [
    ('candidate_sources = ["file", "roads"]', "lists 'roads'"),
    ('candidate_sources = ["file"]', 'lists "file" but candidate_sites names none'),
    ('candidate_sources = ["osm", "cells"]', 'lists "osm" but there is no OSM data'),
    ('candidate_sources = ["cells", "cells"]', "names a source twice"),
])
def test_bad_sources_are_refused(tmp_path, line, words):
    with pytest.raises(ScenarioError, match=words):
        load_scenario(_city(tmp_path / "in", public=line))


def test_helsinki_public_candidates_are_named_osm_car_parks(tmp_path):
    from siting.plan import run_plan
    folder = tmp_path / "helsinki"
    shutil.copytree(HELSINKI, folder)
    shutil.copy(DATA / "helsinki.osm.pbf", tmp_path / "helsinki.osm.pbf")
    scenario = load_scenario(folder / "scenario.toml")
    assert scenario.tiers[0].candidate_sources == ("osm", "cells")
    plan = run_plan(scenario)
    candidates = plan.candidates()
    public = candidates[candidates["tier"] == "public"]
    wtc = public[public["osm_id"] == "node-1675648635"].iloc[0]  # Autoparkki WTC, Keskuskatu 7
    assert (wtc["name"], wtc["kind"], wtc["source"]) == ("Autoparkki WTC", "osm:parking", "osm")
    assert wtc["address"].startswith("Keskuskatu 7")
    parks = public[(public["kind"] == "osm:parking") & (public["name"] != "")]
    assert len(parks) >= 5 and (parks["osm_id"] != "").all()
    assert set(public["source"]) <= {"osm", "cells"}
    sites = plan.sites()
    assert (sites["source"] != "").all() and (sites.loc[sites["source"] == "osm", "osm_id"] != "").all()
    from siting.render import render_map
    html = render_map(plan)
    chosen = sites[(sites["tier"] == "public") & (sites["name"] != "")].iloc[0]
    assert chosen["name"] in html and '"source": "OpenStreetMap"' in html
    # the extract's streets under the sites: a base for the map offline
    assert plan.streets is not None and len(plan.streets) > 100
    assert "Streets (OpenStreetMap extract)" in html and "Mannerheimintie" in html


def test_helsinki_charging_stations_are_existing_sites_in_total_mode(tmp_path):
    from siting.plan import run_plan
    folder = tmp_path / "helsinki"
    shutil.copytree(HELSINKI, folder)
    shutil.copy(DATA / "helsinki.osm.pbf", tmp_path / "helsinki.osm.pbf")
    text = (folder / "scenario.toml").read_text(encoding="utf-8")
    (folder / "scenario.toml").write_text(text.replace("[targets]\n", '[targets]\nmode = "total"\n'), encoding="utf-8")
    plan = run_plan(load_scenario(folder / "scenario.toml"))
    public = plan.tiers["public"]
    stations = public.sites[public.sites["kind"] == "osm:charging_station"]
    assert len(stations) and (stations["status"] == "existing").all()
    assert (stations["units"] == 2).all()  # no capacity tag in the extract: the documented default
    assert public.target == 60 - 2 * len(stations) and (stations["source"] == "osm").all()


def test_an_xlsx_file_works_and_one_id_in_two_tiers_is_refused(tmp_path, capsys):
    scenario = _city(tmp_path / "in", public='candidate_sites = "sites.xlsx"')
    SITES.assign(max_chargers=[8, 10, 6, 12, None]).to_excel(tmp_path / "in" / "sites.xlsx", index=False)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    sites = pd.read_csv(out / "sites.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(sites.loc[sites["tier"] == "public", "site_id"]) <= set(SITES["site_id"])
    text = scenario.read_text(encoding="utf-8").replace("residential_chargers = 0", "residential_chargers = 10")
    scenario.write_text(text + '\n[residential]\ncandidate_sites = "sites.xlsx"\n',
                        encoding="utf-8")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "out2"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "site id 'P1' is a candidate of both the public and the residential tier" in err
    assert len(err.splitlines()) == 1


def test_osm_xml_places_are_candidates_too(tmp_path):
    """A local OSM XML file gives the same places (libosmium reads both): the river town's fuel station."""
    from siting.plan import run_plan
    from tests._osm import write_sorted
    from tests.test_network import FIXTURE, write_river_town
    scenario = write_river_town(tmp_path / "town")
    write_sorted(FIXTURE, tmp_path / "town" / "river_town.osm")  # osm_places reads sorted files
    text = scenario.read_text(encoding="utf-8").replace(
        "candidate_min_density_per_km2 = 0\n", 'candidate_min_density_per_km2 = 0\ncandidate_sources = ["osm", "cells"]\n')
    scenario.write_text(text, encoding="utf-8")
    plan = run_plan(load_scenario(scenario))
    public = plan.tiers["public"].sites
    fuel = public[public["name"] == "North Fuel"]
    assert len(fuel) == 1 and fuel["kind"].iloc[0] == "osm:fuel" and fuel["source"].iloc[0] == "osm"
    assert fuel["osm_id"].iloc[0].startswith(("node-", "way-"))
