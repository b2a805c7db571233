"""The demand surface reconciles with the district statistics and stays inside the districts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from siting.demand import build_demand_surface, geonames_places
from siting.inputs import read_boundaries, read_district_stats, read_points
from siting.scenario import load_scenario


@pytest.fixture(scope="module")
def surface():
    s = load_scenario()
    boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
    stats = read_district_stats(s.region.district_stats, boundaries)
    centres = read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
    demand = dataclasses.replace(s.demand, cell_size_m=2000.0)
    cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs, demand=demand,
                                 urban_centres=centres, places=geonames_places(boundaries))
    return boundaries, stats, cells, s


def test_district_totals_reconcile(surface):
    _, stats, cells, _ = surface
    totals = cells.groupby("district_code")[["population", "urban_population", "evs"]].sum()
    expected = stats.set_index("district_code")
    np.testing.assert_allclose(totals["population"], expected["population"], rtol=1e-9)
    np.testing.assert_allclose(totals["urban_population"], expected["population"] * expected["urban_share"], rtol=1e-9)
    np.testing.assert_allclose(totals["evs"], expected["ev_stock"], rtol=1e-9)
    assert cells["population"].sum() == pytest.approx(10_071_722)
    assert cells["evs"].sum() == pytest.approx(450_000)


def test_cells_tile_the_districts(surface):
    boundaries, _, cells, s = surface
    area = boundaries.to_crs(s.region.metric_crs).set_index("district_code").area / 1e6
    np.testing.assert_allclose(cells.groupby("district_code")["area_km2"].sum(), area, rtol=1e-6)
    assert cells["cell_id"].is_unique


def test_cell_points_lie_in_their_district(surface):
    boundaries, _, cells, _ = surface
    import geopandas as gpd
    points = gpd.GeoDataFrame(cells[["cell_id", "district_code"]],
                              geometry=gpd.points_from_xy(cells["lon"], cells["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(points, boundaries[["district_code", "geometry"]], predicate="within",
                       lsuffix="cell", rsuffix="district")
    assert (joined["district_code_cell"] == joined["district_code_district"]).mean() > 0.999


def test_tier_demand_in_documented_units(surface):
    _, _, cells, s = surface
    d = s.demand
    np.testing.assert_allclose(cells["public_sessions_per_day"], cells["urban_evs"] * d.public_sessions_per_ev_per_day)
    np.testing.assert_allclose(cells["residential_evs"], cells["urban_evs"] * d.home_parking_share)
    np.testing.assert_allclose(cells["rural_sessions_per_day"], cells["rural_evs"] * d.rural_sessions_per_ev_per_day)


def test_population_clusters_around_centres(surface):
    _, _, cells, _ = surface
    shinan = cells[cells["district_code"] == "370202"]
    pingdu = cells[cells["district_code"] == "370283"]
    # the core is far denser than the countryside, and not uniform within a district
    assert (shinan["population"] / shinan["area_km2"]).median() > 10 * (pingdu["population"] / pingdu["area_km2"]).median()
    density = pingdu["population"] / pingdu["area_km2"]
    assert density.max() > 5 * density.median()


def _slice_inputs():
    s = load_scenario()
    boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
    boundaries = boundaries[boundaries["district_code"].isin(["370202", "370212"])].reset_index(drop=True)
    stats = read_district_stats(s.region.district_stats, read_boundaries(s.region.boundaries,
                                                                         metric_crs=s.region.metric_crs))
    stats = stats[stats["district_code"].isin(["370202", "370212"])].reset_index(drop=True)
    return s, boundaries, stats


def test_a_point_population_layer_replaces_the_place_model(tmp_path):
    import geopandas as gpd

    from siting.inputs import read_population_layer

    s, boundaries, stats = _slice_inputs()
    # Shinan's people at two points, Laoshan's at one; any scale (the statistics set the totals)
    layer = gpd.GeoDataFrame({"people": [3.0, 1.0, 5.0]},
                             geometry=gpd.points_from_xy([120.38, 120.32, 120.60], [36.065, 36.07, 36.20]),
                             crs="EPSG:4326")
    layer.to_file(tmp_path / "people.gpkg", driver="GPKG")
    population = read_population_layer(tmp_path / "people.gpkg", column="people")
    demand = dataclasses.replace(s.demand, cell_size_m=1000.0)
    cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs, demand=demand,
                                 population_layer=population)
    totals = cells.groupby("district_code")["population"].sum()
    np.testing.assert_allclose(totals, stats.set_index("district_code")["population"], rtol=1e-9)
    shinan = cells[cells["district_code"] == "370202"].sort_values("population", ascending=False)
    assert (shinan["population"] > 0).sum() == 2  # exactly the two cells with a point
    assert shinan["population"].iloc[0] == pytest.approx(0.75 * 486_643)


def test_a_population_raster_is_read_pixel_by_pixel(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    from siting.inputs import read_population_layer

    s, boundaries, stats = _slice_inputs()
    grid = np.zeros((40, 60), dtype="float32")
    grid[10:12, 20:22] = 100.0  # a 2 × 2 block of populated pixels
    path = tmp_path / "people.tif"
    with rasterio.open(path, "w", driver="GTiff", height=40, width=60, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(0.01, 0.0, 120.20, 0.0, -0.01, 36.40), nodata=-1) as out:
        out.write(grid, 1)
    population = read_population_layer(path)
    assert len(population) == 4 and population["population"].sum() == pytest.approx(400.0)
    np.testing.assert_allclose(sorted(population.geometry.x.round(3).unique()), [120.405, 120.415])
    demand = dataclasses.replace(s.demand, cell_size_m=1000.0)
    cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs, demand=demand,
                                 population_layer=population)
    laoshan = cells[cells["district_code"] == "370212"]
    assert laoshan["population"].sum() == pytest.approx(502_370)


# --------------------------------------------------------------------------- townships (issue 11 item 3)
def _digest(cells) -> str:
    import hashlib

    h = hashlib.sha256(cells.drop(columns="geometry").to_csv(index=False).encode())
    h.update(b"".join(cells.geometry.to_wkb()))
    return h.hexdigest()


def test_without_townships_the_surface_is_byte_identical_to_before():
    # digest of the surface computed by siting/demand.py as of commit dedcfa8 (before townships and
    # core fallbacks) on these inputs; the new code must reproduce it bit for bit (same machine/numpy)
    s = load_scenario()
    boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
    stats = read_district_stats(s.region.district_stats, boundaries)
    centres = read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
    keep = ["370202", "370203", "370212"]
    boundaries = boundaries[boundaries["district_code"].isin(keep)].reset_index(drop=True)
    stats = stats[stats["district_code"].isin(keep)].reset_index(drop=True)
    centres = centres[centres["district_code"].isin(keep)].reset_index(drop=True)
    cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs,
                                 demand=dataclasses.replace(s.demand, cell_size_m=1000.0),
                                 urban_centres=centres, places=geonames_places(boundaries))
    assert "township_code" not in cells.columns
    assert _digest(cells) == "b7d0ded566bd8e3a6bec7a14b6c43a99df7bd97e0e40b9fc1c2b5b261ff254b2"


@pytest.fixture(scope="module")
def township_surface(surface):
    from siting.townships import read_townships

    boundaries, stats, plain, s = surface
    townships = read_townships(s.region.boundaries.parent / "qingdao_townships.geojson", boundaries=boundaries)
    centres = read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
    cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs,
                                 demand=dataclasses.replace(s.demand, cell_size_m=2000.0),
                                 urban_centres=centres, places=geonames_places(boundaries), townships=townships)
    return townships, cells, plain, stats


def test_townships_keep_the_district_totals(township_surface):
    _, cells, _, stats = township_surface
    totals = cells.groupby("district_code")[["population", "urban_population", "evs"]].sum()
    expected = stats.set_index("district_code")
    np.testing.assert_allclose(totals["population"], expected["population"], rtol=1e-9)
    np.testing.assert_allclose(totals["urban_population"], expected["population"] * expected["urban_share"], rtol=1e-9)
    np.testing.assert_allclose(totals["evs"], expected["ev_stock"], rtol=1e-9)


def test_each_cell_names_the_township_containing_its_point(township_surface):
    import geopandas as gpd

    townships, cells, _, _ = township_surface
    assert list(cells.columns[:4]) == ["cell_id", "district_code", "township_code", "township_name"]
    assert (cells["township_code"].str[:6] == cells["district_code"]).all()
    names = dict(zip(townships["township_code"], townships["township_name"]))
    assert (cells["township_code"].map(names) == cells["township_name"]).all()
    points = gpd.GeoDataFrame(cells[["township_code"]], geometry=gpd.points_from_xy(cells["lon"], cells["lat"]),
                              crs="EPSG:4326")
    joined = gpd.sjoin(points, townships[["township_code", "geometry"]], predicate="within",
                       lsuffix="cell", rsuffix="polygon")
    joined = joined[~joined.index.duplicated()]
    assert (joined["township_code_cell"] == joined["township_code_polygon"]).mean() > 0.995


def test_urban_residents_live_in_subdistricts_rural_ones_off_built_up_land(township_surface):
    from siting.demand import BUILT_UP_MIN_PER_KM2

    townships, cells, plain, _ = township_surface
    kind = cells["township_code"].map(dict(zip(townships["township_code"], townships["township_kind"])))
    assert cells.loc[kind != "subdistrict", "urban_population"].sum() == 0
    assert plain["urban_population"][kind.to_numpy() != "subdistrict"].sum() > 100_000  # the place model put some there
    built_up = (kind == "subdistrict") & (cells["density_urban_per_km2"] >= BUILT_UP_MIN_PER_KM2)
    assert built_up.sum() > 50 and cells.loc[built_up, "rural_population"].sum() == 0
    # Pingdu: more of the rural population in its towns than the place model alone gives them
    pingdu = (cells["district_code"] == "370283").to_numpy()
    town = (kind == "town").to_numpy()
    refined = cells["rural_population"][pingdu & town].sum() / cells["rural_population"][pingdu].sum()
    before = plain["rural_population"][pingdu & town].sum() / plain["rural_population"][pingdu].sum()
    assert refined > before


def _two_cell_district(tmp_path, *, population: int, urban_share: float):
    """One 2 km × 1 km district on the 1 km grid: a subdistrict (west cell) and a town (east cell)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from siting.townships import read_townships

    crs = "EPSG:32651"
    west, east = shapely.box(300_000, 4_000_000, 301_000, 4_001_000), shapely.box(301_000, 4_000_000, 302_000, 4_001_000)
    boundaries = gpd.GeoDataFrame({"district_code": ["1"]}, geometry=[shapely.union(west, east)],
                                  crs=crs).to_crs("EPSG:4326")
    gpd.GeoDataFrame({"township_code": ["1001", "1101"], "township_name": ["甲街道", "乙镇"], "district_code": ["1", "1"]},
                     geometry=[west, east], crs=crs).to_file(tmp_path / "t.geojson", driver="GeoJSON")
    townships = read_townships(tmp_path / "t.geojson", boundaries=boundaries)
    stats = pd.DataFrame({"district_code": ["1"], "population": [population], "urban_share": [urban_share],
                          "ev_stock": [100]})
    return boundaries, stats, townships, crs


@pytest.mark.parametrize(("population", "west_urban", "west_rural", "east_rural"), [
    (1_000, 500.0, 250.0, 250.0),      # 500 urban/km² in the west: not built up, rural evenly over both cells
    (10_000, 5_000.0, 0.0, 5_000.0),   # 5,000 urban/km²: built up, all rural residents in the town
])
def test_township_refinement_by_hand(tmp_path, population, west_urban, west_rural, east_rural):
    boundaries, stats, townships, crs = _two_cell_district(tmp_path, population=population, urban_share=0.5)
    demand = dataclasses.replace(load_scenario().demand, cell_size_m=1000.0)
    cells = build_demand_surface(boundaries, stats, metric_crs=crs, demand=demand, townships=townships)
    assert list(cells["township_name"]) == ["甲街道", "乙镇"]
    np.testing.assert_allclose(cells["urban_population"], [west_urban, 0.0], atol=1e-6)
    np.testing.assert_allclose(cells["rural_population"], [west_rural, east_rural], atol=1e-6)


# --------------------------------------------------------------------------- no district left behind (item 6)
def _fixture_city():
    """Three 10 km × 10 km districts in UTM 51N, no urban-centres file, no places."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    crs = "EPSG:32651"
    boxes = [shapely.box(300_500 + i * 10_000, 4_000_500, 310_500 + i * 10_000, 4_010_500) for i in range(3)]
    boundaries = gpd.GeoDataFrame({"district_code": ["A", "B", "C"], "district_name": ["A", "B", "C"]},
                                  geometry=boxes, crs=crs).to_crs("EPSG:4326")
    stats = pd.DataFrame({"district_code": ["A", "B", "C"], "population": [300_000, 20_000, 10_000],
                          "urban_share": [0.8, 0.3, 0.0], "ev_stock": [15_000, 800, 300]})
    return boundaries, stats, crs


def test_every_district_gets_urban_cores_in_the_documented_order(tmp_path):
    import geopandas as gpd
    import shapely

    from siting.demand import urban_cores
    from siting.townships import read_townships

    boundaries, stats, crs = _fixture_city()
    demand = load_scenario().demand
    cores = urban_cores(boundaries, stats, demand=demand, metric_crs=crs)
    assert list(cores["source"]) == ["centroid"] * 3
    np.testing.assert_allclose(cores[["x_m", "y_m"]], [[305_500, 4_005_500], [315_500, 4_005_500],
                                                      [325_500, 4_005_500]], atol=0.01)
    # a small place in A (the largest A has), a subdistrict in B
    place = gpd.GeoDataFrame({"district_code": ["A"], "population": [3_000]},
                             geometry=[shapely.Point(302_000, 4_002_000)], crs=crs).to_crs("EPSG:4326")
    gpd.GeoDataFrame({"township_code": ["B01"], "township_name": ["丙街道"], "district_code": ["B"]},
                     geometry=[shapely.box(311_000, 4_001_000, 313_000, 4_003_000)],
                     crs=crs).to_file(tmp_path / "t.geojson", driver="GeoJSON")
    townships = read_townships(tmp_path / "t.geojson", boundaries=boundaries)
    cores = urban_cores(boundaries, stats, demand=demand, metric_crs=crs, places=place, townships=townships)
    assert list(cores["source"]) == ["largest_place", "township_seat", "centroid"]
    np.testing.assert_allclose(cores[["x_m", "y_m"]].iloc[0], [302_000, 4_002_000], atol=0.01)
    assert shapely.box(311_000, 4_001_000, 313_000, 4_003_000).contains(shapely.Point(cores[["x_m", "y_m"]].iloc[1]))


def test_a_city_without_urban_centres_gets_public_and_residential_candidates_everywhere():
    from siting import candidates as cand

    boundaries, stats, crs = _fixture_city()
    demand = dataclasses.replace(load_scenario().demand, cell_size_m=1000.0)
    cells = build_demand_surface(boundaries, stats, metric_crs=crs, demand=demand)
    densest = cells.loc[cells.groupby("district_code")["density_urban_per_km2"].idxmax()]
    # the urban population peaks at the centroid cell of A and B
    assert set(densest.loc[densest["district_code"].isin(["A", "B"]), "cell_id"].str.split("-", n=1).str[1]) == {
        "4005-305", "4005-315"}
    public = cand.cell_candidates(cells, tier="public", density_column="density_urban_per_km2",
                                  min_density_per_km2=1000.0, kind="built_up_cell")
    residential = cand.cell_candidates(cells, tier="residential", density_column="density_urban_per_km2",
                                       min_density_per_km2=500.0, kind="residential_cell")
    for sites in (public, residential):
        assert set(sites["district_code"]) == {"A", "B"}  # C has no urban residents
    # B's peak is below the thresholds: it offers its densest cell only
    assert cells.loc[cells["district_code"] == "B", "density_urban_per_km2"].max() < 500
    assert (public["district_code"] == "B").sum() == 1
    assert (public["district_code"] == "A").sum() > 1
    old = cand.cell_candidates(cells, tier="public", density_column="density_urban_per_km2",
                               min_density_per_km2=1000.0, kind="built_up_cell", every_district=False)
    assert "B" not in set(old["district_code"])


def test_a_plan_of_a_city_without_urban_centres_offers_public_and_residential_sites_in_each_urban_district(tmp_path):
    import textwrap

    import pandas as pd

    from siting.cli import main

    boundaries, stats, _ = _fixture_city()
    boundaries.to_file(tmp_path / "districts.geojson", driver="GeoJSON")
    stats.to_csv(tmp_path / "stats.csv", index=False)
    (tmp_path / "scenario.toml").write_text(textwrap.dedent("""\
        name = "no_centres"
        [region]
        boundaries = "districts.geojson"
        district_stats = "stats.csv"
        metric_crs = "EPSG:32651"
        geonames_places = false
        [targets]
        public_chargers = 40
        residential_chargers = 200
        rural_chargers = 20
        hydrogen_new_stations = 0
        [demand]
        cell_size_m = 1000
        """), encoding="utf-8")
    assert main(["plan", str(tmp_path / "scenario.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    candidates = pd.read_csv(tmp_path / "out" / "candidates.csv", encoding="utf-8-sig", dtype={"district_code": str})
    for tier in ("public", "residential"):
        assert set(candidates.loc[candidates["tier"] == tier, "district_code"]) == {"A", "B"}, tier


def test_a_township_in_an_unknown_district_is_named(tmp_path):
    import geopandas as gpd
    import shapely

    from siting._errors import DataError
    from siting.townships import read_townships

    boundaries, _, crs = _fixture_city()
    gpd.GeoDataFrame({"township_code": ["Z01"], "township_name": ["丁镇"], "district_code": ["Z"]},
                     geometry=[shapely.box(300_600, 4_000_600, 301_000, 4_001_000)],
                     crs=crs).to_file(tmp_path / "t.geojson", driver="GeoJSON")
    with pytest.raises(DataError, match=r"t\.geojson: township Z01 has district_code 'Z'.*fix the code"):
        read_townships(tmp_path / "t.geojson", boundaries=boundaries)
