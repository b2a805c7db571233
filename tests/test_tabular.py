"""The tables planners really have: GBK or BOM CSVs, thousands separators, Excel workbooks.

Each variant of the shipped Qingdao statistics must read to exactly the frame
the UTF-8 original gives.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from siting._errors import DataError
from siting._tabular import read_table, recording_encodings, to_number
from siting.inputs import read_boundaries, read_district_stats, read_points

ROOT = Path(__file__).resolve().parents[1]
STATS = ROOT / "data" / "demand" / "qingdao_district_stats.csv"
BOUNDARIES = ROOT / "data" / "boundaries" / "qingdao_districts.geojson"
HUBS = ROOT / "data" / "demand" / "qingdao_hydrogen_hubs.csv"
FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


@pytest.fixture(scope="module")
def boundaries():
    return read_boundaries(BOUNDARIES, metric_crs="EPSG:32651")


@pytest.fixture(scope="module")
def reference(boundaries):
    return read_district_stats(STATS, boundaries)


def _original() -> pd.DataFrame:
    return pd.read_csv(STATS, dtype={"district_code": str})


def _gbk(folder: Path) -> Path:
    path = folder / "stats_gbk.csv"
    path.write_bytes(STATS.read_text(encoding="utf-8").encode("gbk"))
    return path


def _bom(folder: Path) -> Path:
    path = folder / "stats_bom.csv"
    path.write_bytes(STATS.read_text(encoding="utf-8").encode("utf-8-sig"))
    return path


def _thousands(folder: Path) -> Path:
    table = _original()
    for column in ("population", "ev_stock"):
        table[column] = table[column].map("{:,}".format)  # what Excel writes for a #,##0 cell: "1,096,879"
    path = folder / "stats_thousands.csv"
    table.to_csv(path, index=False, encoding="gbk")
    return path


def _full_width(folder: Path) -> Path:
    table = _original()
    for column in ("population", "ev_stock"):
        table[column] = table[column].map("{:,}".format).str.translate(FULL_WIDTH)
    path = folder / "stats_full_width.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path


def _percent(folder: Path) -> Path:
    table = _original()
    table["urban_share"] = table["urban_share"].map("{:.4%}".format)  # "95.6889%": a percentage cell saved as CSV
    path = folder / "stats_percent.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path


def _xlsx(folder: Path, *, sheet_title: str = "Sheet") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    table = _original()
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([int(row.district_code), *row[1:]])  # Excel turns typed codes into numbers
    path = folder / "stats.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("variant", [_gbk, _bom, _thousands, _full_width, _percent, _xlsx])
def test_every_variant_reads_as_the_utf8_original(variant, tmp_path, boundaries, reference):
    got = read_district_stats(variant(tmp_path), boundaries)
    pd.testing.assert_frame_equal(got, reference)


def test_the_encoding_used_is_reported_and_recorded(tmp_path):
    paths = {"gb18030": _gbk(tmp_path), "utf-8-sig": _bom(tmp_path), "utf-8": STATS, "xlsx": _xlsx(tmp_path)}
    with recording_encodings() as encodings:
        for expected, path in paths.items():
            table, encoding = read_table(path)
            assert encoding == expected
            assert table.attrs["encoding"] == expected
    assert encodings == {str(path): expected for expected, path in paths.items()}
    read_table(STATS)  # outside the block nothing is recorded, and nothing fails
    assert len(encodings) == 4


def test_gbk_names_survive(tmp_path):
    table, _ = read_table(_gbk(tmp_path), text=["district_code"])
    assert table.loc[table["district_code"] == "370211", "district_name"].item() == "黄岛区"


def test_a_named_sheet_is_read(tmp_path, boundaries, reference):
    path = _xlsx(tmp_path, sheet_title="区县统计")
    book = openpyxl.load_workbook(path)
    book.create_sheet("说明", 0).append(["这张表不是数据"])  # a notes sheet first, as planners do
    book.save(path)
    pd.testing.assert_frame_equal(read_district_stats(Path(f"{path}#区县统计"), boundaries), reference)
    table, _ = read_table(path, sheet="区县统计", text=["district_code"])
    assert list(table["district_code"])[:2] == ["370202", "370203"]
    with pytest.raises(DataError, match=r"stats.xlsx: no sheet '统计' \(sheets: 说明, 区县统计\)"):
        read_table(path, sheet="统计")


def test_points_from_a_workbook(tmp_path, boundaries):
    hubs = pd.read_csv(HUBS, dtype={"hub_id": str, "district_code": str})
    path = tmp_path / "hubs.xlsx"
    hubs.to_excel(path, index=False)
    got = read_points(path, id_column="hub_id", required=["demand_kg_per_day"], boundaries=boundaries)
    want = read_points(HUBS, id_column="hub_id", required=["demand_kg_per_day"], boundaries=boundaries)
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(want.drop(columns="geometry")))


@pytest.mark.parametrize(("text", "number"), [
    ("1,040,000", 1_040_000.0), ("１，０４０，０００", 1_040_000.0), (" 12,345.5 ", 12_345.5),
    ("1 040 000", 1_040_000.0), ("1\u00a0040\u00a0000", 1_040_000.0), ("-2,500", -2_500.0), ("0.82", 0.82),
    ("１２．５", 12.5), ("7", 7.0), ("82%", 0.82), ("100 %", 1.0), ("８２％", 0.82),
])
def test_numbers_as_planners_type_them(text, number):
    assert to_number(pd.Series([text], dtype=object)).item() == number


@pytest.mark.parametrize("text", ["1,5", "1,04,0000", "12,34", "about a million", "1.040.000", "", "%", "a%"])
def test_ambiguous_or_wrong_numbers_are_not_numbers(text):
    assert pd.isna(to_number(pd.Series([text], dtype=object)).item())


def test_a_bad_number_names_file_row_and_column(tmp_path):
    path = tmp_path / "stats.csv"
    path.write_text("district_code,population\n370202,\"1,040,000\"\n370203,\"1,5\"\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"stats.csv: row 3, column 'population': '1,5' is not a number") as info:
        read_table(path, numeric=["population"])
    assert "\n" not in str(info.value)


def test_text_in_no_known_encoding_is_refused_in_one_line(tmp_path):
    path = tmp_path / "stats.csv"
    path.write_bytes(b"district_code,name\n370202,\x80\xff\n")
    with pytest.raises(DataError, match=r"stats.csv: is neither UTF-8 nor GBK/GB18030 text; save it from Excel"):
        read_table(path)


def test_old_xls_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "stats.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match=r"stats.xls: the old Excel .xls format .* Save As → .xlsx"):
        read_table(path)


def test_semicolon_and_tab_separated_tables(tmp_path):
    for sep, name in ((";", "semi.csv"), ("\t", "tabs.txt")):
        path = tmp_path / name
        path.write_text(f"district_code{sep}population\n370202{sep}486643\n", encoding="utf-8")
        table, _ = read_table(path, numeric=["population"], text=["district_code"])
        assert table.to_dict("list") == {"district_code": ["370202"], "population": [486643.0]}
