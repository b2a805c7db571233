"""plan.xlsx as Excel and openpyxl read it: sheets, frozen headers, filters, formats, the decision drop-down,
and the workbook given back as the decisions file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from siting._errors import DataError
from siting.workbook import read_decisions_workbook, summary_table, write_workbook

ZH = {"site_id": "站点编号", "tier": "层级", "lon": "经度", "lat": "纬度", "decision": "决定", "chargers": "充电桩数",
      "share_covered": "覆盖率", "district_code": "区县代码", "name": "名称", "population": "人口"}
ZH_SHEETS = {"summary": "汇总", "sites": "站点", "candidates": "候选点", "districts": "区县"}
ZH_DECISIONS = {"required": "必建", "excluded": "不建"}


def _record() -> dict:
    return {"tiers": {
        "public": {"target": 3000, "placed": 3000, "unit": "chargers", "sites": 120, "coverage": 0.912345,
                   "status": "optimal", "solver": "HiGHS", "gap": 0.0, "cost_cny": 186_000_000.0},
        "hydrogen": {"target": 2, "placed": 2, "unit": "stations", "sites": 3, "coverage": 1.0,
                     "status": "optimal", "solver": "HiGHS", "gap": None, "cost_cny": 30_000_000.0},
    }}


def _sheets() -> dict[str, pd.DataFrame]:
    sites = pd.DataFrame({"site_id": ["public-0001", "public-0002"], "tier": ["public", "public"],
                          "name": ["市南停车场", "P2"], "lon": [120.3812345678, 120.4], "lat": [36.0712345678, 36.1],
                          "chargers": [40, 1_200], "geometry": [None, None]})
    candidates = pd.DataFrame({
        "site_id": ["public-0001", "public-0002", "public-0003", "hydrogen-01"],
        "tier": ["public", "public", "public", "hydrogen"],
        "lon": [120.38, 120.40, 120.42, 120.50], "lat": [36.07, 36.10, 36.12, 36.20],
        "selected": [True, True, False, False], "chargers_or_stations": [40, 1200, 0, 0]})
    districts = pd.DataFrame({"district_code": ["370202", "370203"], "population": [486_643, 1_096_879],
                              "share_covered": [0.9, np.nan]})
    return {"summary": summary_table(_record()), "sites": sites, "candidates": candidates, "districts": districts,
            "townships": None}


@pytest.fixture
def book_path(tmp_path) -> Path:
    return write_workbook(tmp_path / "plan.xlsx", _sheets(), labels=ZH, sheet_titles=ZH_SHEETS,
                          decision_labels=ZH_DECISIONS)


def test_sheets_headers_frozen_panes_and_filters(book_path):
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["汇总", "站点", "候选点", "区县", "_siting"]  # no townships sheet: none given
    assert book["_siting"].sheet_state == "hidden"
    sites = book["站点"]
    assert [c.value for c in sites[1]] == ["站点编号", "层级", "名称", "经度", "纬度", "充电桩数"]  # geometry dropped
    assert sites.freeze_panes == "B2"
    assert book["汇总"].freeze_panes == "A2"
    assert sites.auto_filter.ref == "A1:F3"
    assert book["候选点"].auto_filter.ref == "A1:H5"


def test_number_formats_and_widths(book_path):
    book = openpyxl.load_workbook(book_path)
    sites = book["站点"]
    assert sites["D2"].number_format == "0.000000" and sites["D3"].number_format == "0.000000"
    assert sites["D2"].value == pytest.approx(120.3812345678)  # full precision kept, 6 decimals shown
    assert sites["F3"].number_format == "#,##0" and sites["F3"].value == 1200
    assert sites["A2"].number_format == "General"
    summary = book["汇总"]
    headers = [c.value for c in summary[1]]
    assert headers == ["层级", "target", "placed", "unit", "sites", "coverage", "status", "solver", "gap", "cost_cny"]
    assert summary["F2"].number_format == "0.0%" and summary["F2"].value == pytest.approx(0.912345)
    assert summary["J2"].number_format == "#,##0" and summary["J2"].value == 186_000_000
    assert summary["I3"].value is None  # a gap of None is an empty cell, not "None"
    districts = book["区县"]
    assert districts["A2"].value == "370202" and districts["A2"].number_format == "General"  # a code, as text
    assert districts["B3"].number_format == "#,##0"
    assert districts["C3"].value is None
    # widths: a CJK name counts double; a code column fits its header (the file stores the characters
    # plus the cell padding Excel adds, 5 pixels: 0.71 of a character)
    assert sites.column_dimensions["C"].width == pytest.approx(len("市南停车场") * 2 + 2, abs=0.75)
    assert districts.column_dimensions["A"].width == pytest.approx(len("区县代码") * 2 + 2, abs=0.75)


def test_decision_dropdown_offers_both_languages(book_path):
    sheet = openpyxl.load_workbook(book_path)["候选点"]
    headers = [c.value for c in sheet[1]]
    assert headers[-2:] == ["决定", "充电桩数"]  # decision and chargers added for the planner
    letter = openpyxl.utils.get_column_letter(headers.index("决定") + 1)
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    dv = validations[0]
    assert dv.type == "list"
    assert dv.formula1 == '"required,excluded,必建,不建"'
    assert str(dv.sqref) == f"{letter}2:{letter}1048576"
    assert dv.allow_blank and dv.showErrorMessage


def test_workbook_given_back_is_the_decisions_file(book_path, tmp_path):
    book = openpyxl.load_workbook(book_path)
    sheet = book["候选点"]
    headers = [c.value for c in sheet[1]]
    decision = headers.index("决定") + 1
    chargers = headers.index("充电桩数") + 1
    sheet.cell(row=2, column=decision, value="必建")      # public-0001, kept at 40 chargers by hand
    sheet.cell(row=2, column=chargers, value=40)
    sheet.cell(row=4, column=decision, value="required")  # public-0003, number left to the model
    sheet.cell(row=5, column=decision, value="不建")      # hydrogen-01
    given_back = tmp_path / "given_back.xlsx"
    book.save(given_back)
    decisions = read_decisions_workbook(given_back)
    assert list(decisions.columns) == ["site_id", "tier", "lon", "lat", "decision", "chargers"]
    assert decisions["site_id"].tolist() == ["public-0001", "public-0003", "hydrogen-01"]
    assert decisions["decision"].tolist() == ["required", "required", "excluded"]
    assert decisions["chargers"].tolist()[0] == 40
    assert decisions["chargers"].isna().tolist() == [False, True, True]
    assert decisions["lon"].tolist() == [120.38, 120.42, 120.50]
    everything = read_decisions_workbook(given_back, decided_only=False)
    assert len(everything) == 4 and everything["decision"].isna().sum() == 1


def test_a_copied_sheet_without_the_hidden_sheet_reads_with_the_labels(tmp_path):
    path = write_workbook(tmp_path / "plan.xlsx", {"candidates": _sheets()["candidates"]}, labels=ZH,
                          decision_labels=ZH_DECISIONS)
    book = openpyxl.load_workbook(path)
    book["candidates"].cell(row=3, column=7, value="不建")
    del book["_siting"]
    book.save(path)
    decisions = read_decisions_workbook(path, labels=ZH, decision_labels=ZH_DECISIONS)
    assert decisions[["site_id", "decision"]].values.tolist() == [["public-0002", "excluded"]]


def test_an_unknown_decision_names_sheet_row_and_value(book_path, tmp_path):
    book = openpyxl.load_workbook(book_path)
    sheet = book["候选点"]
    column = [c.value for c in sheet[1]].index("决定") + 1
    sheet.cell(row=3, column=column, value="maybe")
    path = tmp_path / "bad.xlsx"
    book.save(path)
    with pytest.raises(DataError, match=r"bad.xlsx: sheet '候选点', row 3, column 'decision': 'maybe' is not a "
                                        r"decision; pick 必建 / 不建 / required / excluded"):
        read_decisions_workbook(path)


def test_a_workbook_without_candidates_is_refused(tmp_path):
    path = write_workbook(tmp_path / "plan.xlsx", {"sites": _sheets()["sites"], "districts": _sheets()["districts"]})
    with pytest.raises(DataError, match=r"plan.xlsx: no candidates sheet \(sheets: sites, districts\)"):
        read_decisions_workbook(path)


def test_inputs_are_not_modified(tmp_path):
    sheets = _sheets()
    before = {k: v.copy() for k, v in sheets.items() if v is not None}
    write_workbook(tmp_path / "plan.xlsx", sheets, labels=ZH, decision_labels=ZH_DECISIONS)
    for key, table in before.items():
        pd.testing.assert_frame_equal(sheets[key], table)


def test_summary_from_plan_record():
    table = summary_table(_record())
    assert table["tier"].tolist() == ["public", "hydrogen"]
    assert table["cost_cny"].tolist() == [186_000_000.0, 30_000_000.0]
    assert "station_cost_cny" not in table.columns  # no tier has it


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_decisions_survive_a_spreadsheet_application_saving_the_workbook(book_path, tmp_path):
    """A planner opens plan.xlsx, marks sites and saves: here LibreOffice saves it again as .xlsx."""
    book = openpyxl.load_workbook(book_path)
    sheet = book["候选点"]
    column = [c.value for c in sheet[1]].index("决定") + 1
    sheet.cell(row=2, column=column, value="必建")
    sheet.cell(row=5, column=column, value="不建")
    book.save(book_path)
    out = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(out), str(book_path)], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "HOME": str(tmp_path)})
    decisions = read_decisions_workbook(out / "plan.xlsx")
    assert decisions[["site_id", "decision"]].values.tolist() == [["public-0001", "required"],
                                                                   ["hydrogen-01", "excluded"]]
    validation = openpyxl.load_workbook(out / "plan.xlsx")["候选点"].data_validations.dataValidation
    assert [v.formula1 for v in validation] == ['"required,excluded,必建,不建"']
