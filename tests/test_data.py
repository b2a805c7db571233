"""Reconciliation tests for the data files shipped in data/.

They read the files exactly as shipped and check them against the published
figures they were derived from (see data/boundaries/README.md and
data/demand/README.md).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

REPO = Path(__file__).parents[1]
BOUNDARIES = REPO / "data" / "boundaries" / "qingdao_districts.geojson"
TOWNSHIPS = REPO / "data" / "boundaries" / "qingdao_townships.geojson"
OFFICIAL_CODES = REPO / "data" / "boundaries" / "nbs2023_qingdao_township_codes.csv"
DEMAND = REPO / "data" / "demand"
STATS = DEMAND / "qingdao_district_stats.csv"
CENTRES = DEMAND / "qingdao_urban_centres.csv"
STATIONS = DEMAND / "qingdao_hydrogen_stations.csv"
HUBS = DEMAND / "qingdao_hydrogen_hubs.csv"

METRIC_CRS = "EPSG:32651"
OFFICIAL_AREA_KM2 = 11_293.0
CENSUS_2020_TOTAL = 10_071_722
CITY_URBAN_RATE = 0.7634
EV_STOCK_2025 = 450_000
EXPECTED_CODES = [
    "370202", "370203", "370211", "370212", "370213",
    "370214", "370215", "370281", "370283", "370285",
]


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.read_file(BOUNDARIES)


@pytest.fixture(scope="module")
def districts_m(districts) -> gpd.GeoDataFrame:
    return districts.to_crs(METRIC_CRS)


@pytest.fixture(scope="module")
def stats() -> pd.DataFrame:
    return pd.read_csv(STATS, dtype={"district_code": str})


def _read_points(path: Path) -> gpd.GeoDataFrame:
    df = pd.read_csv(path, dtype={"district_code": str})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


# --------------------------------------------------------------------------- boundaries
def test_ten_districts_with_unique_codes(districts):
    codes = list(districts["district_code"])
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert sorted(codes) == EXPECTED_CODES
    assert codes == sorted(codes), "file must be sorted by district_code"


def test_boundary_columns(districts):
    assert {"district_code", "district_name", "district_name_en", "area_km2"} <= set(districts.columns)
    assert all(isinstance(c, str) and len(c) == 6 for c in districts["district_code"])
    names = dict(zip(districts["district_code"], districts["district_name"]))
    assert names["370202"] == "市南区"
    assert names["370211"] == "黄岛区"
    assert districts["district_name_en"].notna().all()


def test_boundaries_crs_is_wgs84(districts):
    assert districts.crs is not None
    assert districts.crs.to_epsg() == 4326


def test_boundaries_valid_polygons(districts):
    assert districts.geometry.notna().all()
    assert districts.geometry.is_valid.all(), list(districts.loc[~districts.is_valid, "district_code"])
    assert set(districts.geom_type) <= {"Polygon", "MultiPolygon"}
    assert not districts.geometry.is_empty.any()


def test_no_overlaps_between_districts(districts_m):
    for (ca, a), (cb, b) in combinations(zip(districts_m["district_code"], districts_m.geometry), 2):
        overlap_km2 = a.intersection(b).area / 1e6
        assert overlap_km2 < 0.01, f"{ca} and {cb} overlap by {overlap_km2:.4f} km²"


def test_union_equals_sum_of_parts(districts_m):
    union_km2 = shapely.union_all(list(districts_m.geometry)).area / 1e6
    sum_km2 = districts_m.geometry.area.sum() / 1e6
    assert abs(union_km2 - sum_km2) <= 0.001 * sum_km2


def test_union_has_no_slivers(districts_m):
    union = shapely.union_all(list(districts_m.geometry))
    holes_km2 = sum(
        shapely.Polygon(ring).area
        for poly in getattr(union, "geoms", [union])
        for ring in poly.interiors
    ) / 1e6
    assert holes_km2 < 0.01, f"gaps inside the city: {holes_km2:.4f} km²"


def test_total_area_close_to_official(districts_m):
    total_km2 = districts_m.geometry.area.sum() / 1e6
    assert abs(total_km2 - OFFICIAL_AREA_KM2) <= 0.02 * OFFICIAL_AREA_KM2, total_km2


def test_area_column_matches_geometry(districts, districts_m):
    measured = (districts_m.geometry.area / 1e6).round(1)
    assert (abs(districts["area_km2"] - measured) <= 0.11).all()


# --------------------------------------------------------------------------- townships
@pytest.fixture(scope="module")
def townships() -> gpd.GeoDataFrame:
    return gpd.read_file(TOWNSHIPS)


@pytest.fixture(scope="module")
def townships_m(townships) -> gpd.GeoDataFrame:
    return townships.to_crs(METRIC_CRS)


def test_135_townships_with_official_codes(townships):
    official = pd.read_csv(OFFICIAL_CODES, dtype=str).set_index("code")["name"]
    assert len(townships) == 135 and townships["township_code"].is_unique
    assert townships["township_code"].str.fullmatch(r"\d{9}").all()
    assert set(townships["township_code"]) <= set(official.index)
    assert (official[townships["township_code"]].to_numpy() == townships["township_name"].to_numpy()).all()
    assert (townships["district_code"] == townships["township_code"].str[:6]).all()
    assert list(townships["township_code"]) == sorted(townships["township_code"])
    assert townships.crs.to_epsg() == 4326
    assert townships.geometry.is_valid.all() and not townships.geometry.is_empty.any()


def test_township_kinds(townships):
    kind = dict(zip(townships["township_name"], townships["township_kind"]))
    assert kind["香港中路街道"] == "subdistrict" and kind["琅琊镇"] == "town" and kind["灵山岛省级自然保护区"] == "other"
    assert townships["township_kind"].value_counts().to_dict() == {"subdistrict": 98, "town": 36, "other": 1}
    assert (townships["township_kind"] == "subdistrict").eq(townships["township_name"].str.endswith("街道")).all()


def test_each_township_lies_in_its_district(townships_m, districts_m):
    polygons = districts_m.set_index("district_code").geometry
    for row in townships_m.itertuples():
        outside_km2 = row.geometry.difference(polygons[row.district_code]).area / 1e6
        assert outside_km2 < 0.001, f"{row.township_code} {row.township_name}: {outside_km2:.4f} km² outside"


def test_districts_are_the_union_of_their_townships(townships_m, districts_m):
    polygons = districts_m.set_index("district_code").geometry
    for code, group in townships_m.groupby("district_code"):
        union = shapely.union_all(group.geometry.array)
        assert abs(union.area - polygons[code].area) < 0.001 * polygons[code].area, code
        assert union.symmetric_difference(polygons[code]).area < 0.001 * polygons[code].area, code
        assert abs(group.area.sum() - polygons[code].area) < 0.001 * polygons[code].area, code


def test_townships_do_not_overlap(townships_m):
    tree = shapely.STRtree(townships_m.geometry.array)
    for i, j in zip(*tree.query(townships_m.geometry.array, predicate="intersects")):
        if i < j:
            overlap_km2 = townships_m.geometry.iloc[i].intersection(townships_m.geometry.iloc[j]).area / 1e6
            assert overlap_km2 < 0.01, (townships_m["township_code"].iloc[i], townships_m["township_code"].iloc[j])


def test_townships_cover_the_city_within_2_percent(townships_m):
    total_km2 = townships_m.area.sum() / 1e6
    assert abs(total_km2 - OFFICIAL_AREA_KM2) <= 0.02 * OFFICIAL_AREA_KM2, total_km2


# --------------------------------------------------------------------------- district stats
def test_stats_codes_match_boundaries(stats, districts):
    assert list(stats["district_code"]) == sorted(stats["district_code"])
    assert stats["district_code"].is_unique
    assert set(stats["district_code"]) == set(districts["district_code"])


def test_stats_columns(stats):
    assert list(stats.columns) == [
        "district_code", "district_name", "district_name_en", "population", "urban_share", "ev_stock",
    ]


def test_population_sums_to_census_total(stats):
    assert int(stats["population"].sum()) == CENSUS_2020_TOTAL
    assert (stats["population"] > 0).all()


#: The 2020 census by county (NBS tabulation; data/demand/README.md): code, population, urban share.
CENSUS_2020_QINGDAO = {
    "370202": (486_643, 1.0), "370203": (1_096_879, 1.0), "370211": (1_903_595, 0.82),
    "370212": (502_370, 0.8609), "370213": (737_281, 1.0), "370214": (1_067_783, 0.9552),
    "370215": (1_336_077, 0.5907), "370271": (41_823, 1.0), "370281": (987_820, 0.6216),
    "370283": (1_191_348, 0.4364), "370285": (720_103, 0.5405),
}


def _census_districts(census: dict) -> dict:
    """The high-tech zone 370271 merged into 城阳区 370214, urban shares population-weighted."""
    merged = {c: v for c, v in census.items() if c != "370271"}
    (p, u), (zp, zu) = merged["370214"], census["370271"]
    merged["370214"] = (p + zp, (p * u + zp * zu) / (p + zp))
    return merged


def test_population_and_urban_share_equal_the_census(stats):
    expected = _census_districts(CENSUS_2020_QINGDAO)
    assert expected["370214"][0] == 1_109_606
    for row in stats.itertuples():
        population, urban_share = expected[row.district_code]
        assert row.population == population, row.district_code
        assert row.urban_share == pytest.approx(urban_share, abs=5e-7), row.district_code


@pytest.mark.parametrize("path", [REPO / "data" / "census" / "china_county_population_2020.csv",
                                  REPO.parent / "shared" / "data" / "census" / "china_county_population_2020.csv"],
                         ids=["repository copy", "shared copy"])
def test_census_figures_above_match_the_census_table(path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    table = pd.read_csv(path, dtype={"CODE": str}).set_index("CODE")
    for code, (population, urban_share) in CENSUS_2020_QINGDAO.items():
        assert table.at[code, "POPU"] == population and table.at[code, "POPU_URB"] == urban_share, code


def test_weighted_urban_share_matches_city_rate(stats):
    assert stats["urban_share"].between(0.0, 1.0).all()
    weighted = (stats["population"] * stats["urban_share"]).sum() / stats["population"].sum()
    assert abs(weighted - CITY_URBAN_RATE) <= 0.0001, weighted  # census 76.336 %, published 76.34 %


def test_ev_stock_sums_to_target(stats):
    assert int(stats["ev_stock"].sum()) == EV_STOCK_2025
    assert (stats["ev_stock"] >= 0).all()


def test_ev_stock_follows_documented_rule(stats):
    weights = stats["population"] * (stats["urban_share"] + 0.5 * (1 - stats["urban_share"]))
    quotas = weights / weights.sum() * EV_STOCK_2025
    assert ((stats["ev_stock"] - quotas).abs() < 1.0).all()


# --------------------------------------------------------------------------- points
@pytest.mark.parametrize("path", [CENTRES, STATIONS, HUBS], ids=lambda p: p.stem)
def test_points_inside_their_district(path, districts):
    points = _read_points(path)
    assert len(points) > 0
    assert points[points.columns[0]].is_unique, "ids must be unique"
    polys = districts.set_index("district_code").geometry
    unknown = set(points["district_code"]) - set(polys.index)
    assert not unknown, f"unknown district codes {unknown}"
    outside = [
        (row.iloc[0], row["district_code"])
        for _, row in points.iterrows()
        if not polys[row["district_code"]].contains(row.geometry)
    ]
    assert not outside, f"points outside their named district: {outside}"


def test_every_district_has_an_urban_centre(districts):
    centres = _read_points(CENTRES)
    assert set(centres["district_code"]) == set(districts["district_code"])


def test_existing_hydrogen_stations():
    st = pd.read_csv(STATIONS, dtype={"district_code": str})
    assert list(st.columns) == [
        "station_id", "name", "name_en", "district_code", "lon", "lat",
        "capacity_kg_per_day", "opened", "source",
    ]
    assert len(st) == 2
    assert (st["district_code"] == "370211").all()
    assert (st["capacity_kg_per_day"] > 0).all()
    assert st["source"].str.len().gt(0).all()


def test_hydrogen_hubs():
    hubs = pd.read_csv(HUBS, dtype={"district_code": str})
    assert list(hubs.columns) == [
        "hub_id", "name", "name_en", "kind", "district_code", "lon", "lat",
        "demand_kg_per_day", "source", "assumption",
    ]
    assert 10 <= len(hubs) <= 16
    assert set(hubs["kind"]) <= {
        "port", "logistics", "industrial", "bus_depot", "sanitation", "expressway", "airport",
    }
    assert (hubs["demand_kg_per_day"] > 0).all()
    total = hubs["demand_kg_per_day"].sum()
    assert 1_000 <= total <= 20_000, total  # a few thousand kg/day in 2025
    assert hubs["source"].str.len().gt(0).all()
    assert hubs["assumption"].str.len().gt(0).all()


COMMERCIAL_HUBS = DEMAND / "qingdao_commercial_hubs.csv"
H2_SOURCES = DEMAND / "qingdao_h2_sources.csv"


@pytest.mark.parametrize("path", [COMMERCIAL_HUBS, H2_SOURCES], ids=lambda p: p.name)
def test_new_points_inside_qingdao(path, districts):
    points = _read_points(path)
    city = districts.to_crs("EPSG:4326").union_all()
    outside = points.loc[~points.within(city)].iloc[:, 0].tolist()
    assert outside == []


def test_commercial_hubs():
    hubs = pd.read_csv(COMMERCIAL_HUBS)
    assert list(hubs.columns) == [
        "hub_id", "name", "kind", "lon", "lat", "vehicles", "kwh_per_vehicle_day", "source",
    ]
    assert hubs["hub_id"].is_unique
    assert 15 <= len(hubs) <= 30
    assert set(hubs["kind"]) == {"port", "logistics", "bus_depot", "sanitation", "delivery"}
    assert (hubs["vehicles"] > 0).all()
    assert hubs["kwh_per_vehicle_day"].between(20, 400).all()
    assert hubs["source"].str.len().gt(40).all()
    # the totals quoted in data/demand/README.md
    assert hubs["vehicles"].sum() == 2_340
    assert (hubs["vehicles"] * hubs["kwh_per_vehicle_day"]).sum() == 372_050  # kWh/day, 372.1 MWh


def test_h2_sources():
    src = pd.read_csv(H2_SOURCES)
    assert list(src.columns) == [
        "source_id", "name", "kind", "lon", "lat", "capacity_kg_per_day", "cost_cny_per_kg", "source",
    ]
    assert src["source_id"].is_unique
    assert set(src["kind"]) <= {"refinery", "chlor_alkali", "coke_oven", "electrolysis"}
    assert (src["capacity_kg_per_day"] > 0).all()
    assert src["cost_cny_per_kg"].between(5, 80).all()
    # the refinery row is the published 2,250 t/yr phase
    refinery = src.set_index("source_id").loc["SRC01", "capacity_kg_per_day"]
    assert refinery == round(2_250_000 / 365)
