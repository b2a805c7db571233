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
                                 "candidates.csv", "districts.csv", "plan.xlsx", "plan.json"}
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
    # layer_styles: QGIS's style table, an attribute table (no geometry)
    assert layers == {"sites": "Point", "candidates": "Point", "districts": "MultiPolygon",
                      "demand_grid": "MultiPolygon", "layer_styles": None}
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


# --- plan.xlsx, QGIS styles, plan.json additions (issue 15) -----------------------------------------------------------

def test_plan_xlsx_has_the_sheets_with_frozen_headers_and_filters(plan_dir):
    from openpyxl import load_workbook

    book = load_workbook(plan_dir / "plan.xlsx")
    assert book.sheetnames == ["Summary", "Sites", "Candidates", "Districts", "_siting"]
    assert book["_siting"].sheet_state == "hidden"
    sites = read_csv(plan_dir / "sites.csv")
    assert book["Sites"].max_row == len(sites) + 1
    assert book["Candidates"].max_row == len(read_csv(plan_dir / "candidates.csv")) + 1
    for title in ("Summary", "Sites", "Candidates", "Districts"):
        sheet = book[title]
        assert sheet.freeze_panes in ("A2", "B2") and sheet.auto_filter.ref.startswith("A1:")
    summary = [[c.value for c in row] for row in book["Summary"].iter_rows()]
    assert summary[0][:4] == ["Tier", "Tier name", "Target", "Placed"]
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert {row[0]: row[2] for row in summary[1:]} == {t: v["target"] for t, v in record["tiers"].items()}
    headers = [c.value for c in book["Sites"][1]]
    assert headers[:3] == ["Site id", "Tier", "Status"]


def test_plan_xlsx_candidates_have_the_decision_drop_down(plan_dir):
    from openpyxl import load_workbook

    sheet = load_workbook(plan_dir / "plan.xlsx")["Candidates"]
    headers = [c.value for c in sheet[1]]
    column = headers.index("Decision") + 1
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].type == "list"
    assert validations[0].formula1 == '"required,excluded"'
    letter = sheet.cell(row=1, column=column).column_letter
    assert str(validations[0].sqref).startswith(f"{letter}2")


def test_plan_xlsx_given_back_reads_as_a_decisions_file(plan_dir, tmp_path):
    from openpyxl import load_workbook

    from siting.workbook import DECISION_COLUMNS, read_decisions_workbook

    book = load_workbook(plan_dir / "plan.xlsx")
    sheet = book["Candidates"]
    headers = [c.value for c in sheet[1]]
    decision, chargers = headers.index("Decision") + 1, headers.index("Chargers") + 1
    sheet.cell(row=2, column=decision, value="excluded")
    sheet.cell(row=3, column=decision, value="required")
    sheet.cell(row=3, column=chargers, value=12)
    book.save(tmp_path / "back.xlsx")
    decisions = read_decisions_workbook(tmp_path / "back.xlsx")
    candidates = read_csv(plan_dir / "candidates.csv")
    assert list(decisions.columns) == DECISION_COLUMNS
    assert decisions["site_id"].tolist() == candidates["site_id"].iloc[:2].tolist()
    assert decisions["tier"].tolist() == candidates["tier"].iloc[:2].tolist()
    assert decisions["decision"].tolist() == ["excluded", "required"]
    assert decisions["chargers"].iloc[1] == 12 and pd.isna(decisions["chargers"].iloc[0])
    assert decisions["lon"].tolist() == pytest.approx(candidates["lon"].iloc[:2].tolist())


def test_sites_gpkg_has_a_qml_style_for_every_layer(plan_dir):
    from siting.qgis import read_layer_styles

    gpkg = plan_dir / "sites.gpkg"
    styles = read_layer_styles(gpkg)
    layers = {name for name, geometry in pyogrio.list_layers(gpkg) if geometry is not None}
    assert set(styles) == layers
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    sites = styles["sites"]
    assert "<renderer-v2" in sites and 'type="categorizedSymbol"' in sites
    for tier, t in record["tiers"].items():  # each tier's colour and label from its spec
        r, g, b = (int(t["colour"][i:i + 2], 16) for i in (1, 3, 5))
        assert f"{r},{g},{b}" in sites, tier
        assert t["label"] in sites, tier
    assert 'field="site_id"' in sites and 'name="Site id"' in sites  # English field aliases


def test_plan_json_records_the_encoding_of_each_table_by_scenario_key(plan_dir):
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert record["input_encodings"] == {"hydrogen.demand_hubs": "utf-8", "hydrogen.existing_stations": "utf-8",
                                         "region.district_stats": "utf-8", "region.urban_centres": "utf-8"}
    assert "basemaps" not in record and "overrides" not in record  # no key, no --set: nothing said


def test_gbk_and_thousands_separators_give_the_same_plan_and_are_recorded(tmp_path):
    from siting.cli import main
    from tests.conftest import write_slice

    plain = write_slice(tmp_path / "plain", targets={"rural_chargers": 0, "residential_chargers": 0})
    excel = write_slice(tmp_path / "excel", targets={"rural_chargers": 0, "residential_chargers": 0})
    stats = pd.read_csv(excel.parent / "stats.csv", dtype={"district_code": str})
    stats["population"] = stats["population"].map(lambda v: f"{int(v):,}")  # as Excel's #,##0 saves it
    stats.to_csv(excel.parent / "stats.csv", index=False, encoding="gb18030")
    for scenario in (plain, excel):
        assert main(["plan", str(scenario), "--out", str(scenario.parent / "out"), "--quiet"]) == 0
    for name in ("sites.csv", "districts.csv"):
        assert (plain.parent / "out" / name).read_bytes() == (excel.parent / "out" / name).read_bytes()
    record = json.loads((excel.parent / "out" / "plan.json").read_text(encoding="utf-8"))
    assert record["input_encodings"]["region.district_stats"] == "gb18030"


def test_a_decision_column_goes_to_the_chinese_workbook_and_back_as_a_decisions_table(tmp_path):
    """The candidates' ``decision`` column (issue 10) in Chinese words, read back as a decisions CSV would be."""
    from openpyxl import load_workbook

    from siting.labels import words
    from siting.workbook import DECISION_COLUMNS, DECISIONS, read_decisions_workbook, write_workbook

    w = words("zh")
    candidates = pd.DataFrame({"site_id": ["c1", "c2", "c3"], "tier": ["public", "public", "rural"],
                               "lon": [120.1, 120.2, 120.3], "lat": [36.1, 36.2, 36.3],
                               "decision": ["required", None, "excluded"], "chargers_or_stations": [12, 0, 0]})
    path = write_workbook(tmp_path / "plan.xlsx", {"candidates": candidates}, labels=w.columns(),
                          sheet_titles={"candidates": w["sheet.candidates"]},
                          decision_labels={d: w[f"decision.{d}"] for d in DECISIONS})
    sheet = load_workbook(path)["候选站点"]
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["站点编号", "类别", "经度", "纬度", "决定"]
    assert [sheet.cell(row=r, column=5).value for r in (2, 3, 4)] == ["必建", None, "不建"]
    back = read_decisions_workbook(path)
    assert list(back.columns) == DECISION_COLUMNS
    assert back[["site_id", "tier", "decision"]].values.tolist() == [["c1", "public", "required"],
                                                                     ["c3", "rural", "excluded"]]
