"""The exports read back as a planner's tools read them: pandas/Excel encoding, geopandas layers, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from siting.export import OUTPUT_FILES
from tests._plans import HOSTILE_CODE, HOSTILE_DISTRICT, HOSTILE_DISTRICT_EN, HOSTILE_HUB, HOSTILE_TITLE, plan_once

TIERS = ["public", "residential", "rural", "hydrogen"]


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    return plan_once(tmp_path_factory, "base")


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"district_code": str, "site_id": str})


def test_every_output_file_is_there(plan_dir):
    assert set(OUTPUT_FILES) >= {"map.html", "report.html", "sites.csv", "sites.geojson", "sites.gpkg",
                                 "candidates.csv", "districts.csv", "plan.json"}
    for name in OUTPUT_FILES:
        assert (plan_dir / name).stat().st_size > 0, name


@pytest.mark.parametrize("name", ["sites.csv", "candidates.csv", "districts.csv"])
def test_csv_files_open_in_excel_as_utf8(name, plan_dir):
    raw = (plan_dir / name).read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"  # the BOM makes Excel read UTF-8, whatever the system code page
    text = raw[3:].decode("utf-8")
    assert "\r\n" not in text and not text.startswith("\ufeff")
    if name != "candidates.csv":
        assert HOSTILE_DISTRICT in text  # names are data in a CSV: written as given, never escaped


def test_sites_csv_columns_and_types(plan_dir):
    sites = read_csv(plan_dir / "sites.csv")
    assert list(sites.columns[:10]) == ["site_id", "tier", "status", "district_code", "district_name", "lon", "lat",
                                        "chargers", "capacity_kg_per_day", "demand_served"]
    assert set(sites["tier"]) == set(TIERS)
    assert set(sites["status"]) == {"new", "existing"}
    assert sites["site_id"].is_unique
    assert pd.api.types.is_integer_dtype(sites["chargers"])
    assert sites["lon"].between(120.0, 121.2).all() and sites["lat"].between(35.5, 36.6).all()  # the slice, WGS84
    assert (sites.loc[sites["tier"] == "hydrogen", "capacity_kg_per_day"] > 0).all()
    assert set(sites.loc[sites["district_code"] == HOSTILE_CODE, "district_name"]) <= {HOSTILE_DISTRICT}


def test_candidates_csv_is_the_ranked_field_list(plan_dir):
    candidates = read_csv(plan_dir / "candidates.csv")
    sites = read_csv(plan_dir / "sites.csv")
    assert {"site_id", "tier", "selected", "score", "rank", "lon", "lat", "district_code"} <= set(candidates.columns)
    assert candidates["selected"].dtype == bool
    for tier in TIERS:
        group = candidates[candidates["tier"] == tier]
        chosen = sites[sites["tier"] == tier]
        assert set(group.loc[group["selected"], "site_id"]) == set(chosen["site_id"]), tier
        assert sorted(group["rank"]) == list(range(1, len(group) + 1))
        # the field list is ordered by rank, best first
        assert list(group["rank"]) == sorted(group["rank"])


def test_districts_csv_shares_of_target_add_up(plan_dir):
    districts = read_csv(plan_dir / "districts.csv")
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert {"district_code", "district_name", "district_name_en", "tier", "units", "demand", "demand_served",
            "share_covered", "share_of_target"} <= set(districts.columns)
    assert len(districts) == 3 * len(TIERS)
    for tier in ["public", "residential", "rural"]:
        rows = districts[districts["tier"] == tier]
        assert rows["units"].sum() == record["tiers"][tier]["target"]
        assert rows["share_of_target"].sum() == pytest.approx(1.0, abs=1e-3)
        expected = rows["units"] / record["tiers"][tier]["target"]
        assert rows["share_of_target"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-4)
    covered = districts["share_covered"].dropna()
    assert covered.between(0, 1 + 1e-9).all()


def test_geojson_is_rfc7946_and_matches_the_csv(plan_dir):
    data = json.loads((plan_dir / "sites.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    sites = read_csv(plan_dir / "sites.csv")
    assert len(data["features"]) == len(sites)
    first = data["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    assert first["properties"]["site_id"] == sites["site_id"].iloc[0]
    assert (lon, lat) == pytest.approx((sites["lon"].iloc[0], sites["lat"].iloc[0]), abs=1e-6)
    frame = gpd.read_file(plan_dir / "sites.geojson")
    assert frame.crs.to_epsg() == 4326


def test_geopackage_layers_load_with_sane_types(plan_dir):
    gpkg = plan_dir / "sites.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers == {"sites": "Point", "candidates": "Point", "districts": "MultiPolygon",
                      "demand_grid": "MultiPolygon"}
    sites = gpd.read_file(gpkg, layer="sites")
    candidates = gpd.read_file(gpkg, layer="candidates")
    districts = gpd.read_file(gpkg, layer="districts")
    grid = gpd.read_file(gpkg, layer="demand_grid")
    for frame in (sites, candidates, districts, grid):
        assert frame.crs.to_epsg() == 4326
        assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()
        assert pd.api.types.is_string_dtype(frame["district_code"])
    assert pd.api.types.is_integer_dtype(sites["chargers"]) and pd.api.types.is_float_dtype(sites["lon"])
    assert candidates["selected"].dtype == bool
    assert len(sites) == len(read_csv(plan_dir / "sites.csv"))
    # the districts layer carries the map's figures, the grid the demand surface
    assert {"public_units", "evs", "chargers_per_1000_evs", "covered_public", "vs_fair_share"} <= set(districts)
    record = read_csv(plan_dir / "districts.csv")
    assert grid["evs"].sum() == pytest.approx(record.groupby("district_code")["evs"].first().sum(), rel=1e-6)
    assert districts.set_index("district_code").loc[HOSTILE_CODE, "district_name"] == HOSTILE_DISTRICT


def test_report_is_self_contained_and_complete(plan_dir):
    report = (plan_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?https?:""", report)
    assert report.count("<svg") == 3  # chargers vs demand, coverage by tier, hydrogen hubs
    for label in ("Public chargers", "Residential chargers", "Rural chargers", "Hydrogen stations"):
        assert label in report
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    for tier in TIERS:
        t = record["tiers"][tier]
        assert f"{t['target']:,}" in report
        assert t["status"] in report
        assert f"{100 * t['gap']:.2f} %" in report
    assert "Per district" in report and "Total" in report


def test_report_and_map_escape_names_from_user_files(plan_dir):
    for name in ("report.html", "map.html"):
        text = (plan_dir / name).read_text(encoding="utf-8")
        for hostile in (HOSTILE_DISTRICT, HOSTILE_DISTRICT_EN, HOSTILE_HUB, HOSTILE_TITLE):
            assert hostile not in text, (name, hostile)
    report = (plan_dir / "report.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;市南区" in report
    assert "Three &lt;i&gt;Qingdao&lt;/i&gt; districts" in report
