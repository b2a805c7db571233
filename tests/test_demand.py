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
