"""One reader for every tabular input: the CSV and Excel files planners really have.

A planner's table comes out of Excel: a CSV in UTF-8 with or without a
byte-order mark, a CSV in GBK/GB18030 (what Excel set to Chinese writes for
"CSV (comma delimited)"), numbers formatted with thousands separators
("1,040,000", or full-width "１，０４０，０００"), or the ``.xlsx`` workbook
itself. :func:`read_table` reads all of them without being told which, and
says which encoding it used so that ``plan.json`` can record it.

The encodings used during a run are collected by :func:`recording_encodings`
(a context manager, scoped to the run, no module-level state outside it).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from siting._errors import DataError

#: What :func:`read_table` reports for a workbook instead of a text encoding.
XLSX = "xlsx"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Tried in this order, strictly: a file that is not valid UTF-8 is decoded as GB18030 (a superset of GBK).
TEXT_ENCODINGS = ("utf-8", "gb18030")

_RECORD: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("siting_encodings", default=None)
# "1,040,000", "-1,040,000.5": commas only in groups of three, so "1,5" (a decimal comma) is never misread as 15
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


def read_table(path: Path | str, *, numeric: Iterable[str] = (), text: Iterable[str] = (),
               sheet: str | int | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or an Excel workbook into a DataFrame.

    Parameters
    ----------
    path : Path or str
        A ``.csv`` (or any delimited text file) or a ``.xlsx``/``.xlsm``
        workbook. A workbook's sheet may be named after a ``#``
        (``stats.xlsx#区县``) when no file of that literal name exists.
    numeric : iterable of str
        Columns parsed as numbers with :func:`to_number` (thousands
        separators and full-width digits accepted); columns absent from the
        table are skipped (check required columns separately).
    text : iterable of str
        Columns kept as text, e.g. codes with leading zeros; a workbook's
        integer cell ``370202`` becomes ``"370202"``, not ``"370202.0"``.
    sheet : str or int, optional
        The workbook's sheet (name or 0-based index); the first by default.

    Returns
    -------
    (pandas.DataFrame, str)
        The table (column names stripped of surrounding spaces; a workbook
        gets the same column types as the same sheet saved as CSV) and the encoding used:
        ``"utf-8"``, ``"utf-8-sig"`` (with a BOM), ``"gb18030"`` or ``"xlsx"``.

    Raises
    ------
    DataError
        The file cannot be read, is not valid text in any of the encodings,
        or a numeric column holds a value that is not a number (naming the
        row, as numbered in Excel, and the column).
    """
    path, sheet = _split_sheet(Path(path), sheet)
    text = list(text)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        table, encoding = _read_workbook(path, sheet=sheet, text=text), XLSX
    elif path.suffix.lower() == ".xls":
        msg = f"{path}: the old Excel .xls format is not read; in Excel use Save As → .xlsx (or CSV)"
        raise DataError(msg)
    else:
        content, encoding = decode_text(path)
        table = _parse_delimited(path, content, text=text)
    table.columns = [str(c).strip() for c in table.columns]
    for column in numeric:
        if column in table.columns:
            table[column] = numbers_or_raise(path, table, column)
    table.attrs["encoding"] = encoding
    record = _RECORD.get()
    if record is not None:
        record[str(path)] = encoding
    return table, encoding


def decode_text(path: Path) -> tuple[str, str]:
    """The text of ``path`` and its encoding: UTF-8 (BOM or not), else GB18030, both tried strictly.

    Raises
    ------
    DataError
        Unreadable, or valid in neither encoding.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the file ({exc.strerror}); check the path and its permissions"
        raise DataError(msg) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding_bom = "utf-8-sig"
        try:
            return raw.decode(encoding_bom), encoding_bom
        except UnicodeDecodeError as exc:
            msg = (f"{path}: starts with a UTF-8 byte-order mark but byte {exc.start} is not UTF-8; "
                   "save it again as CSV UTF-8")
            raise DataError(msg) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"  # Excel's "Unicode Text" (tab-delimited)
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    msg = (f"{path}: is neither UTF-8 nor GBK/GB18030 text; save it from Excel as "
           "'CSV UTF-8 (comma delimited)' or as .xlsx")
    raise DataError(msg)


def to_number(values: pd.Series) -> pd.Series:
    """Parse numbers as planners type them; what is not a number becomes NaN.

    Accepted beyond plain numbers: thousands separators in groups of three
    (``"1,040,000"``), full-width digits, commas and points
    (``"１，０４０，０００"``, normalised by Unicode NFKC), spaces (also
    no-break and thin) between digit groups, surrounding spaces, and
    percentages (``"82%"`` → 0.82, as Excel saves a percentage cell). A
    decimal comma (``"1,5"``) is not a number: it is ambiguous.

    Parameters
    ----------
    values : pandas.Series
        Any dtype; numeric series are returned as float unchanged.

    Returns
    -------
    pandas.Series
        float64, same index; NaN where a value is missing or not a number.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    cleaned = values.map(_clean_number, na_action="ignore")
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def numbers_or_raise(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    """:func:`to_number` of ``table[column]``; a present value that is not a number raises.

    Empty cells stay NaN (whether a value is required is the caller's call).

    Raises
    ------
    DataError
        Naming the file, the row (as Excel numbers it: header = row 1), the
        column and the value.
    """
    values = to_number(table[column])
    present = table[column].notna() & (table[column].astype(str).str.strip() != "")
    bad = present & (values.isna() | ~np.isfinite(values.fillna(0.0)))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        msg = (f"{path}: row {i + 2}, column '{column}': {table[column].iloc[i]!r} is not a number; "
               "write digits, optionally with thousands separators (1,040,000), and a point for decimals")
        raise DataError(msg)
    return values


@contextlib.contextmanager
def recording_encodings() -> Iterator[dict[str, str]]:
    """Collect ``{path: encoding}`` of every table :func:`read_table` reads inside the block.

    Examples
    --------
    >>> with recording_encodings() as encodings:  # doctest: +SKIP
    ...     stats = read_district_stats(path, boundaries)
    >>> encodings  # doctest: +SKIP
    {'/data/stats.csv': 'gb18030'}
    """
    record: dict[str, str] = {}
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def _split_sheet(path: Path, sheet: str | int | None) -> tuple[Path, str | int | None]:
    if sheet is None and "#" in path.name and not path.exists():
        name, _, sheet_name = path.name.partition("#")
        candidate = path.with_name(name)
        if candidate.suffix.lower() in EXCEL_SUFFIXES:
            return candidate, sheet_name
    return path, sheet


def _read_workbook(path: Path, *, sheet: str | int | None, text: list[str]) -> pd.DataFrame:
    try:
        import openpyxl
    except ImportError:  # a declared dependency; only a broken install lacks it
        msg = f"{path}: reading .xlsx needs openpyxl; pip install openpyxl (or save the sheet as CSV)"
        raise DataError(msg) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, KeyError and openpyxl's own errors for damaged files
        msg = f"{path}: cannot open the workbook ({type(exc).__name__}: {exc}); save it again from Excel as .xlsx"
        raise DataError(msg) from None
    try:
        names = book.sheetnames
        if sheet is None:
            sheet = 0
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                msg = f"{path}: no sheet number {sheet + 1} (sheets: {', '.join(names)}); name one of them"
                raise DataError(msg)
            sheet = names[sheet]
        if sheet not in names:
            msg = f"{path}: no sheet {sheet!r} (sheets: {', '.join(names)}); name one of them"
            raise DataError(msg)
        rows = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        msg = f"{path}: sheet {sheet!r} is empty; put the column names in row 1 and the data below"
        raise DataError(msg)
    header = list(rows[0])
    while header and _blank(header[-1]):
        header.pop()
    if not header or any(_blank(h) for h in header):
        msg = f"{path}: sheet {sheet!r}, row 1: every column needs a name (found {header!r}); fill in the header row"
        raise DataError(msg)
    # through CSV text, so that a workbook's columns get exactly the types the same table saved as CSV gets
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(str(h).strip() for h in header)
    for row in rows[1:]:
        cells = list(row[:len(header)]) + [None] * (len(header) - len(row))
        writer.writerow(_cell_text(v) for v in cells)
    return _parse_delimited(path, buffer.getvalue(), text=text)


def _cell_text(value: object) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code or a count typed into Excel may be stored as 370202.0
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _parse_delimited(path: Path, content: str, *, text: list[str]) -> pd.DataFrame:
    first_line = content.lstrip("\ufeff").split("\n", 1)[0]
    sep = ","
    if "," not in first_line:
        sep = "\t" if "\t" in first_line else ";" if ";" in first_line else ","
    try:
        return pd.read_csv(io.StringIO(content), sep=sep, dtype={c: str for c in text}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: cannot read as a CSV table ({str(exc).strip()}); save it from Excel as CSV or .xlsx"
        raise DataError(msg) from None


def _clean_number(value: object) -> object:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return value
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if _SPACES.search(s) and re.fullmatch(r"[+-]?\d{1,3}(?:[\s\u00a0\u202f\u2009]\d{3})+(?:\.\d*)?", s):
        s = _SPACES.sub("", s)
    percent = s.endswith("%")
    if percent:
        s = s[:-1].rstrip()  # Excel writes a cell formatted as a percentage as "82%" in a CSV
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if percent:
        try:
            return float(s) / 100
        except ValueError:
            return s
    return s


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, float) and np.isnan(value))

