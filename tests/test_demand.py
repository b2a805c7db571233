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
