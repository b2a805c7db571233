"""Road-network costs on a hand-made OSM XML town split by a river with one road bridge.

No test touches the network: the "osm" source is exercised with osmnx's
downloader replaced by the local fixture or by a failing stub.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import requests
from pyproj import Transformer
from shapely.geometry import box

from siting import DataError, ScenarioError
from siting.candidates import osm_candidates
from siting.cli import main
from siting.costs import straight_line_costs, travel_costs
from siting.network import RoadNetwork, load_network, network_costs, osm_features
from siting.plan import run_plan
from siting.scenario import load_scenario

FIXTURE = Path(__file__).parent / "data" / "river_town.osm"
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
#: The river runs along 36.100 N; the only road bridge is at 120.400 E.
NORTH, SOUTH = "370291", "370292"


def write_river_town(folder: Path, *, source: str = "river_town.osm", extra: str = "") -> Path:
    """A scenario over the fixture: two all-urban districts, north and south of the river."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    gpd.GeoDataFrame({"district_code": [NORTH, SOUTH], "district_name": ["北岸", "南岸"]},
                     geometry=[box(120.378, 36.100, 120.422, 36.1075), box(120.378, 36.0925, 120.422, 36.100)],
                     crs="EPSG:4326").to_file(folder / "districts.geojson", driver="GeoJSON")
    pd.DataFrame({"district_code": [NORTH, SOUTH], "population": [30000, 30000], "urban_share": [0.9, 0.9],
                  "ev_stock": [3000, 3000]}).to_csv(folder / "stats.csv", index=False)
    scenario = folder / "scenario.toml"
    scenario.write_text(textwrap.dedent(f"""\
        name = "river_town"

        [region]
        boundaries = "districts.geojson"
        district_stats = "stats.csv"
        metric_crs = "EPSG:32651"
        geonames_places = false

        [targets]
        public_chargers = 400
        residential_chargers = 100
        rural_chargers = 10
        hydrogen_new_stations = 0

        [demand]
        cell_size_m = 400

        [public]
        radius_m = 1000
        min_chargers_per_site = 100
        max_chargers_per_site = 100
        capacity_per_charger = 10
        candidate_min_density_per_km2 = 0

        [network]
        source = "{source}"
        cache_dir = "cache"
        """) + extra, encoding="utf-8")
    return scenario


def _points(ids: list[str], lonlat: list[tuple[float, float]]) -> pd.DataFrame:
    x, y = TO_UTM.transform(*zip(*lonlat, strict=True))
    return pd.DataFrame({"id": ids, "x_m": x, "y_m": y})


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("river_town")
    return {source: run_plan(load_scenario(write_river_town(root / source.replace(".", "_"), source=source)))
            for source in ("none", "river_town.osm")}


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> RoadNetwork:
    scenario = load_scenario(write_river_town(tmp_path_factory.mktemp("net")))
    return load_network(scenario, None)


# ------------------------------------------------------------------------------------------ the network


def test_fixture_loads_as_the_drivable_roads_only(network):
    # 20 intersections and the bridge; the river, the footbridge, the mall and the building are no roads.
    # Simplification keeps the 12 nodes where roads meet or end (osmnx's rules).
    assert network.summary() == {"source": "river_town.osm", "crs": "EPSG:32651", "nodes": 12, "edges": 38}


def test_crossing_the_river_goes_by_the_bridge(network):
    # from the south bank to the north bank at the east end: ~670 m straight, but the footbridge is no road,
    # so the drive is west to the bridge at 120.400 and back: at least 2 × 1.6 km + the bridge.
    points = _points(["south", "north"], [(120.418, 36.0970), (120.418, 36.1030)])
    demand = points.iloc[[0]].rename(columns={"id": "demand_id"})
    sites = points.iloc[[1]].rename(columns={"id": "site_id"})
    costs = network_costs(demand, sites, network, radius=10_000)
    assert costs["straight_m"].iloc[0] == pytest.approx(666, abs=2)
    assert costs["cost"].iloc[0] > 3_800
    assert network_costs(demand, sites, network, radius=3_000).empty  # beyond the cut-off on the road


def test_network_cost_is_never_below_the_straight_line(network):
    rng = np.random.default_rng(5)
    lonlat = list(zip(rng.uniform(120.38, 120.42, 60), rng.uniform(36.094, 36.106, 60), strict=True))
    points = _points([f"p{i}" for i in range(60)], lonlat)
    demand = points.rename(columns={"id": "demand_id"})
    sites = points.iloc[::6].rename(columns={"id": "site_id"})
    costs = network_costs(demand, sites, network, radius=4_000)
    assert len(costs) > 100
    assert (costs["cost"] >= costs["straight_m"] - 1e-6).all()
    assert (costs["cost"] <= 4_000).all()


def test_costs_follow_one_way_streets_and_the_shortest_parallel_road():
    # 0 → 1 ⇄ 2 along the x axis, 100 m apart, with a longer parallel road 0 → 1; no way back from 1 to 0
    net = RoadNetwork.from_edges(np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]]),
                                 u=[0, 0, 1, 2], v=[1, 1, 2, 1], length_m=[100.0, 150.0, 100.0, 100.0],
                                 time_s=[10.0, 5.0, 10.0, 10.0], source="test", crs="EPSG:32651",
                                 default_speed_kmh=36.0)
    points = pd.DataFrame({"x_m": [0.0, 200.0], "y_m": [0.0, 0.0]})
    demand = points.assign(demand_id=["at0", "at2"])
    sites = points.assign(site_id=["S0", "S2"])
    costs = network_costs(demand, sites, net, radius=1_000).set_index(["demand_id", "site_id"])["cost"]
    assert costs.to_dict() == {("at0", "S0"): 0.0, ("at0", "S2"): 200.0, ("at2", "S2"): 0.0}  # 2 → 0 impossible
    times = network_costs(demand, sites, net, radius=1_000, cost="time").set_index(["demand_id", "site_id"])["cost"]
    assert times[("at0", "S2")] == pytest.approx(15.0)  # the parallel road is slower but quicker


def test_batched_multi_source_pass_matches_networkx():
    rng = np.random.default_rng(11)
    graph = nx.gnm_random_graph(300, 900, seed=11, directed=True)
    xy = rng.uniform(0, 5_000, (300, 2))
    u, v = np.array(graph.edges()).T
    length = np.hypot(*(xy[u] - xy[v]).T) * rng.uniform(1.0, 1.5, len(u))
    net = RoadNetwork.from_edges(xy, u, v, length, length / 10, source="test", crs="EPSG:32651",
                                 default_speed_kmh=36.0)
    nodes = pd.DataFrame({"x_m": xy[:, 0], "y_m": xy[:, 1]})
    demand = nodes.assign(demand_id=np.arange(300))
    sites = nodes.iloc[::10].assign(site_id=lambda t: "s" + t.index.astype(str))
    ours = network_costs(demand, sites, net, radius=3_000, batch_size=7)
    assert ours.equals(network_costs(demand, sites, net, radius=3_000))
    weighted = nx.DiGraph()
    weighted.add_weighted_edges_from(zip(u, v, length, strict=True))
    expected = {}
    for j in sites.index:
        to_site = nx.single_source_dijkstra_path_length(weighted.reverse(), j, cutoff=3_000)
        expected.update({(i, f"s{j}"): d for i, d in to_site.items()})
    got = dict(zip(zip(ours["demand_id"], ours["site_id"], strict=True), ours["cost"], strict=True))
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(expected[k]) for k in expected)


def test_without_a_network_costs_are_the_straight_line_ones():
    demand = pd.DataFrame({"demand_id": ["a", "b"], "x_m": [0.0, 900.0], "y_m": [0.0, 0.0]})
    sites = pd.DataFrame({"site_id": ["s"], "x_m": [0.0], "y_m": [300.0]})
    expected = straight_line_costs(demand, sites, radius_m=1_000, circuity=1.3)
    assert travel_costs(demand, sites, radius_m=1_000, circuity=1.3).equals(expected)
    assert list(expected["demand_id"]) == ["a"] and expected["cost"].iloc[0] == pytest.approx(390)
    with pytest.raises(ValueError, match="needs a road network"):
        travel_costs(demand, sites, radius_m=1_000, circuity=1.3, cost="time", radius_s=60)


# ------------------------------------------------------------------------------------------ plans


def test_assignments_lie_within_the_radius_on_the_network(plans):
    for tier in ("public", "residential"):
        tp = plans["river_town.osm"].tiers[tier]
        assignment = tp.assignment
        assert len(assignment)
        assert (assignment["distance_m"] <= tp.radius_m + 1e-6).all()
        assert (assignment["distance_m"] >= assignment["straight_m"] - 1e-6).all()


def test_the_river_changes_the_plan(plans):
    straight, road = plans["none"].tiers["public"], plans["river_town.osm"].tiers["public"]
    chosen = {name: set(tp.sites.loc[tp.sites["selected"], "site_id"]) for name, tp in
              (("straight", straight), ("road", road))}
    assert chosen["straight"] != chosen["road"]
    assert road.coverage < straight.coverage - 0.05  # the river and the snapping legs cost reach
    # the straight-line plan serves demand across the river where no road does within the radius
    crossing = straight.assignment.merge(straight.sites[["site_id", "district_code", "lon"]], on="site_id")
    straight_crossing = crossing[crossing["demand_id"].str[:6] != crossing["district_code"]]
    assert len(straight_crossing)
    crossing = road.assignment.merge(road.sites[["site_id", "district_code", "lon"]], on="site_id")
    road_crossing = crossing[crossing["demand_id"].str[:6] != crossing["district_code"]]
    assert len(road_crossing) < len(straight_crossing)
    # on the road the river is crossed only by the bridge at 120.400 E: from sites near it, the long way round
    assert (abs(road_crossing["lon"] - 120.400) < 0.015).all()
    assert (road_crossing["distance_m"] > road_crossing["straight_m"]).all()


def test_default_offline_plan_has_no_network(plans):
    plan = plans["none"]
    assert plan.network == {}
    assert "network" not in plan.timings_s
    assert plan.tiers["public"].cost == "distance"
    assignment = plan.tiers["public"].assignment
    assert np.allclose(assignment["distance_m"], 1.3 * assignment["straight_m"])


def test_plan_json_records_the_network(tmp_path):
    scenario = write_river_town(tmp_path / "inputs")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["network"] == {"source": "river_town.osm", "circuity": 1.3, "crs": "EPSG:32651",
                                 "nodes": 12, "edges": 38}
    assert "network" in record["timings_s"] and "network" in record["input_sha256"]


def test_travel_time_tier(tmp_path):
    plan = run_plan(load_scenario(write_river_town(tmp_path, extra='\n[residential]\ncost = "time"\nradius_s = 120\n')))
    tp = plan.tiers["residential"]
    assert tp.cost == "time" and tp.radius_s == 120
    assignment = tp.assignment
    assert len(assignment) and "time_s" in assignment and "distance_m" not in assignment
    assert (assignment["time_s"] <= 120 + 1e-6).all()
    fastest_m_per_s = 50 / 3.6  # the bridge's maxspeed is the fixture's highest
    assert (assignment["time_s"] >= assignment["straight_m"] / fastest_m_per_s - 1e-6).all()
    assert plan.tiers["public"].cost == "distance"  # per tier


def test_osm_candidates_are_read_from_the_file(tmp_path):
    scenario = load_scenario(write_river_town(tmp_path, extra="osm_candidates = true\n"))
    features = osm_features(scenario, None)
    assert dict(zip(features["name"], features["kind"], strict=True)) == {
        "North Fuel": "fuel", "South Station": "transport_hub", "Riverside Mall": "mall",
        "South Park and Ride": "parking", "West Works": "industrial"}
    plan = run_plan(scenario)
    public = plan.tiers["public"].sites
    osm = public[public["kind"].str.startswith("osm:")]
    assert set(osm["kind"]) == {"osm:fuel", "osm:transport_hub", "osm:mall", "osm:parking"}
    assert set(osm["site_id"]) == {"public-osm-node-960", "public-osm-node-961", "public-osm-way-1040",
                                   "public-osm-way-1041"}
    assert osm.set_index("name")["district_code"].to_dict() == {
        "North Fuel": NORTH, "South Station": SOUTH, "Riverside Mall": NORTH, "South Park and Ride": SOUTH}
    assert (public["kind"] == "built_up_cell").sum() > 50  # merged with the grid candidates
    hydrogen = osm_candidates(features, tier="hydrogen", kinds=("fuel", "industrial", "transport_hub"),
                              boundaries=plan.boundaries, metric_crs="EPSG:32651")
    assert set(hydrogen["kind"]) == {"osm:fuel", "osm:transport_hub", "osm:industrial"}


# ------------------------------------------------------------------------------------------ sources and errors


def _fixture_graph(*args, **kwargs):
    """What osmnx's drive download would return for the fixture: its drivable roads, simplified."""
    import osmnx as ox

    from siting.network import _read_osm_xml
    return ox.simplify_graph(_read_osm_xml(FIXTURE))


def test_osm_source_downloads_once_then_runs_from_the_cache(tmp_path, monkeypatch):
    import osmnx as ox
    scenario = load_scenario(write_river_town(tmp_path, source="osm"))
    region = box(120.378, 36.0925, 120.422, 36.1075)
    monkeypatch.setattr(ox, "graph_from_polygon", _fixture_graph)
    first = load_network(scenario, region)
    assert first.summary()["nodes"] == 12 and list((tmp_path / "cache").glob("network-*.npz"))

    def offline(*args, **kwargs):
        raise requests.ConnectionError("no network in tests")

    monkeypatch.setattr(ox, "graph_from_polygon", offline)
    second = load_network(scenario, region)
    assert second.summary() == first.summary()
    assert (second.to_site_m != first.to_site_m).nnz == 0


def test_osm_source_offline_without_cache_is_a_clear_error(tmp_path, monkeypatch):
    import osmnx as ox

    def offline(*args, **kwargs):
        raise requests.ConnectionError("no network in tests")

    monkeypatch.setattr(ox, "graph_from_polygon", offline)
    scenario = write_river_town(tmp_path / "inputs", source="osm")
    with pytest.raises(DataError, match="cannot download the road network.*none is cached"):
        run_plan(load_scenario(scenario))
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_graphml_source(tmp_path):
    import osmnx as ox
    graph = _fixture_graph()
    scenario = write_river_town(tmp_path, source="town.graphml")
    ox.save_graphml(graph, tmp_path / "town.graphml")
    network = load_network(load_scenario(scenario), None)
    assert network.summary()["nodes"] == 12 and network.summary()["source"] == "town.graphml"


@pytest.mark.parametrize(("extra", "source", "message"), [
    ("", "missing.osm.pbf", "names no file"),
    ("", "roads.shp", "neither"),
    ("", "missing.osm", "names no file"),
    ('\n[residential]\ncost = "time"\nradius_s = 300\n', "none", "residential.cost.*needs a road network"),
    ('\n[residential]\ncost = "time"\n', "river_town.osm", "residential.radius_s"),
    ('\n[hydrogen]\ncost = "minutes"\n', "river_town.osm", "hydrogen.cost"),
    ("osm_candidates = true\n", "none", "network.osm_candidates"),
])
def test_bad_network_settings_are_scenario_errors(tmp_path, extra, source, message):
    scenario = write_river_town(tmp_path, source=source, extra=extra)
    (tmp_path / "qingdao.osm.pbf").write_bytes(b"")
    (tmp_path / "roads.shp").write_bytes(b"")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(scenario)


def test_compressed_osm_xml_source(tmp_path):
    import bz2
    scenario = write_river_town(tmp_path, source="river_town.osm.bz2")
    (tmp_path / "river_town.osm.bz2").write_bytes(bz2.compress(FIXTURE.read_bytes()))
    network = load_network(load_scenario(scenario), None)
    assert network.summary() == {"source": "river_town.osm.bz2", "crs": "EPSG:32651", "nodes": 12, "edges": 38}
