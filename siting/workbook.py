"""The plan as an Excel workbook (``plan.xlsx``), and the workbook back as a decisions file.

Planners live in Excel: the workbook has one sheet per table (summary, sites,
candidates, districts, townships when present) with frozen headers, filters,
column widths and number formats, and headers in the scenario's language
(through a ``labels`` mapping, so that any language table plugs in). The
candidates sheet's ``decision`` column has a drop-down (required / excluded,
plus the translated words), so a planner marks sites and gives the workbook
back as the decisions file: :func:`read_decisions_workbook` returns the
decisions with the original column names whatever the headers say.

A hidden sheet ``_siting`` records which column each header stands for and
the decision words, so that translated headers are read back without being
told the language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import DataError

#: The decision words a decisions file accepts, in the drop-down's order.
DECISIONS = ("required", "excluded")
#: The columns :func:`read_decisions_workbook` returns.
DECISION_COLUMNS = ["site_id", "tier", "lon", "lat", "decision", "chargers"]
META_SHEET = "_siting"
#: Columns never given a number format: codes and ids that happen to be digits.
TEXT_COLUMNS = {"site_id", "district_code", "township_code", "osm_id", "zone_id", "hub_id", "station_id",
                "source_id", "centre_id"}
_MAX_WIDTH = 60
_INVALID_TITLE = re.compile(r"[\[\]:*?/\\]")


def write_workbook(path: Path, sheets: Mapping[str, pd.DataFrame], *, labels: Mapping[str, str] | None = None,
                   sheet_titles: Mapping[str, str] | None = None,
                   decision_labels: Mapping[str, str] | None = None) -> Path:
    """Write tables as an Excel workbook with frozen headers, filters, widths and number formats.

    Parameters
    ----------
    path : Path
        The ``.xlsx`` file to write (replaced if present).
    sheets : mapping of str to pandas.DataFrame
        Sheet key → table, in sheet order, e.g. ``{"summary": ..., "sites":
        ..., "candidates": ..., "districts": ..., "townships": ...}``; a
        ``None`` or absent table is skipped. Geometry columns are dropped. The
        ``candidates`` table gets a ``decision`` column (and an empty
        ``chargers`` column) if it has none, with the drop-down.
    labels : mapping of str to str, optional
        Column name → header shown (e.g. ``{"site_id": "站点编号"}``);
        unlisted columns keep their names.
    sheet_titles : mapping of str to str, optional
        Sheet key → sheet title shown (e.g. ``{"sites": "站点"}``); Excel's
        limits (31 characters, no ``[]:*?/\\``) are applied.
    decision_labels : mapping of str to str, optional
        Decision word → translation (``{"required": "必建", "excluded":
        "不建"}``): cells are written translated and the drop-down offers both.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Number formats by column: longitude/latitude 6 decimals; shares,
    coverage and gaps as percentages (the values are fractions); whole
    numbers with thousands separators; other numbers with thousands
    separators and 2 decimals (CNY amounts without decimals); ids and codes
    as text.
    """
    import xlsxwriter

    labels = dict(labels or {})
    sheet_titles = dict(sheet_titles or {})
    decision_labels = dict(decision_labels or {})
    path = Path(path)
    # xlsxwriter writes cell by cell without a style object per cell: 4–5 × faster than openpyxl here
    book = xlsxwriter.Workbook(str(path), {"strings_to_urls": False, "strings_to_formulas": False,
                                           "strings_to_numbers": False, "nan_inf_to_errors": False})
    formats: dict[str, Any] = {}
    meta: list[tuple[str, str, str, str]] = []
    used_titles: set[str] = set()
    for key, table in sheets.items():
        if table is None:
            continue
        table = _prepare(key, table, decision_labels)
        title = _sheet_title(sheet_titles.get(key, key), used_titles)
        sheet = book.add_worksheet(title)
        headers = [labels.get(c, c) for c in table.columns]
        sheet.write_row(0, 0, headers)
        n = len(table)
        for j, column in enumerate(table.columns):
            number_format = _number_format(column, table[column])
            if number_format is not None and number_format not in formats:
                formats[number_format] = book.add_format({"num_format": number_format})
            style = formats.get(number_format)
            for i, value in enumerate(_cells(table[column]), start=1):
                if value is not None:
                    sheet.write(i, j, value, style)
            sheet.set_column(j, j, _width(headers[j], table[column], number_format))
            meta.append(("column", title, str(column), str(headers[j])))
        sheet.freeze_panes(1, 1 if len(table.columns) > 1 and key != "summary" else 0)
        if len(table.columns):
            sheet.autofilter(0, 0, n, len(table.columns) - 1)
        meta.append(("sheet", title, key, title))
        if key == "candidates":
            _add_decision_dropdown(sheet, list(table.columns).index("decision"), decision_labels)
    for word in DECISIONS:
        meta.append(("decision", "", word, decision_labels.get(word, word)))
    hidden = book.add_worksheet(META_SHEET)
    for r, row in enumerate([("kind", "sheet", "name", "shown"), *meta]):
        hidden.write_row(r, 0, list(row))
    hidden.hide()
    book.close()
    return path


def summary_table(record: Mapping) -> pd.DataFrame:
    """The workbook's summary sheet from a ``plan.json`` record: one row per tier.

    Parameters
    ----------
    record : mapping
        What :func:`siting.export.plan_record` returns (or ``plan.json``
        loaded): its ``tiers`` entries give ``target, placed, unit, sites,
        coverage, status, solver, gap`` and, when present, ``cost_cny``.

    Returns
    -------
    pandas.DataFrame
        ``tier, target, placed, unit, sites, coverage, status, solver, gap``
        and ``cost_cny`` / ``site_cost_cny`` / ``charger_cost_cny`` /
        ``station_cost_cny`` when any tier has them.
    """
    rows = []
    for tier, t in record.get("tiers", {}).items():
        row = {"tier": tier}
        for key in ("target", "placed", "unit", "sites", "coverage", "status", "solver", "gap",
                    "cost_cny", "site_cost_cny", "charger_cost_cny", "station_cost_cny"):
            row[key] = t.get(key)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["tier", "target", "placed", "unit", "sites", "coverage", "status", "solver",
                                        "gap", "cost_cny", "site_cost_cny", "charger_cost_cny", "station_cost_cny"])
    costs = [c for c in ("cost_cny", "site_cost_cny", "charger_cost_cny", "station_cost_cny") if table[c].isna().all()]
    return table.drop(columns=costs)


def read_decisions_workbook(path: Path, *, labels: Mapping[str, str] | None = None,
                            decision_labels: Mapping[str, str] | None = None,
                            decided_only: bool = True) -> pd.DataFrame:
    """Read the candidates sheet of a workbook back as a decisions table.

    Headers are mapped back to column names through the workbook's hidden
    ``_siting`` sheet (written by :func:`write_workbook`), else through
    ``labels``, else taken as they are; translated decision words likewise.

    Parameters
    ----------
    path : Path
        The workbook (``plan.xlsx`` as the planner gives it back).
    labels, decision_labels : mapping of str to str, optional
        The mappings the workbook was written with, for a workbook whose
        hidden sheet was lost (e.g. the sheet copied into a new workbook).
    decided_only : bool
        Keep only the rows with a decision (what a decisions file holds).

    Returns
    -------
    pandas.DataFrame
        ``site_id`` (str), ``tier`` (str), ``lon``, ``lat`` (float, WGS84),
        ``decision`` (``required`` or ``excluded``, or NaN), ``chargers``
        (float; NaN where blank or 0: the model chooses the number), one row
        per sheet row, in sheet order.

    Raises
    ------
    DataError
        No candidates sheet, a missing column, or a decision that is not one
        of the drop-down's words (naming the sheet, row, column and value).
    """
    from openpyxl import load_workbook

    path = Path(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, KeyError and openpyxl's own errors for damaged files
        msg = f"{path}: cannot open the workbook ({type(exc).__name__}: {exc}); save it again from Excel as .xlsx"
        raise DataError(msg) from None
    try:
        meta = _read_meta(book)
        title = _candidates_title(path, book, meta)
        rows = [r for r in book[title].iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows:
        msg = f"{path}: sheet {title!r} is empty; give back the candidates sheet as written"
        raise DataError(msg)
    to_name = {shown: name for kind, sheet, name, shown in meta if kind == "column" and sheet == title}
    to_name.update({v: k for k, v in (labels or {}).items() if v not in to_name})
    header = [to_name.get(str(h).strip(), str(h).strip()) if h is not None else "" for h in rows[0]]
    body = [list(r[:len(header)]) + [None] * (len(header) - len(r)) for r in rows[1:]]
    table = pd.DataFrame(body, columns=header, dtype=object)
    table = table[[c for c in table.columns if c]]
    if "site_id" not in table.columns and not {"tier", "lon", "lat"} <= set(table.columns):
        msg = (f"{path}: sheet {title!r} has neither a site_id column nor tier, lon, lat "
               f"(headers: {', '.join(str(h) for h in rows[0])}); give back the candidates sheet as written")
        raise DataError(msg)
    if "decision" not in table.columns:
        msg = f"{path}: sheet {title!r} has no decision column; give back the candidates sheet as written"
        raise DataError(msg)
    words = {shown: name for kind, _, name, shown in meta if kind == "decision"}
    words.update({v: k for k, v in (decision_labels or {}).items()})
    words.update({w: w for w in DECISIONS})
    out = pd.DataFrame(index=table.index)
    out["site_id"] = table["site_id"].map(_text) if "site_id" in table.columns else np.nan
    out["tier"] = table["tier"].map(_text) if "tier" in table.columns else np.nan
    for column in ("lon", "lat", "chargers"):
        out[column] = pd.to_numeric(table[column], errors="coerce") if column in table.columns else np.nan
    out.loc[out["chargers"] <= 0, "chargers"] = np.nan
    decisions = table["decision"].map(_text)
    unknown = decisions.notna() & ~decisions.isin(list(words))
    if unknown.any():
        i = int(np.argmax(unknown.to_numpy()))
        allowed = " / ".join(dict.fromkeys(words))
        msg = (f"{path}: sheet {title!r}, row {i + 2}, column 'decision': {decisions.iloc[i]!r} is not a decision; "
               f"pick {allowed} from the drop-down or leave it empty")
        raise DataError(msg)
    out["decision"] = decisions.map(words)
    out = out[DECISION_COLUMNS]
    if decided_only:
        out = out[out["decision"].notna()]
    return out.reset_index(drop=True)


def _prepare(key: str, table: pd.DataFrame, decision_labels: Mapping[str, str]) -> pd.DataFrame:
    table = pd.DataFrame(table).drop(columns=[c for c in table.columns if c == "geometry"]).reset_index(drop=True)
    if key != "candidates":
        return table
    table = table.copy()
    if "decision" not in table.columns:
        table["decision"] = None
    if "chargers" not in table.columns:
        table["chargers"] = None
    table["decision"] = table["decision"].map(lambda v: decision_labels.get(v, v) if isinstance(v, str) else None)
    return table


def _add_decision_dropdown(sheet, column: int, decision_labels: Mapping[str, str]) -> None:
    """A list drop-down on the whole decision column (0-based ``column``), for rows a planner adds too."""
    words = list(dict.fromkeys([*DECISIONS, *[decision_labels[w] for w in DECISIONS if w in decision_labels]]))
    sheet.data_validation(1, column, 1_048_575, column, {
        "validate": "list", "source": words, "ignore_blank": True, "show_error": True,
        "error_title": "decision", "error_message": " / ".join(words),
        "input_title": "decision", "input_message": " / ".join(words), "show_input": True})


def _sheet_title(title: str, used: set[str]) -> str:
    base = _INVALID_TITLE.sub("_", str(title)).strip("'")[:31] or "sheet"
    candidate, i = base, 2
    while candidate.lower() in used or candidate == META_SHEET:
        suffix = f" ({i})"
        candidate, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(candidate.lower())
    return candidate


def _cells(values: pd.Series) -> list:
    """A column as Python values openpyxl writes: NaN/NA as empty cells, numpy scalars as Python ones."""
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return [bool(v) for v in values]
    if pd.api.types.is_integer_dtype(values) and not values.isna().any():
        return [int(v) for v in values]
    if pd.api.types.is_float_dtype(values):
        return [float(v) if np.isfinite(v) else None for v in values.to_numpy(float, na_value=np.nan)]
    return [_cell(v) for v in values]


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (list, tuple, dict, set)):
        return str(value)
    return value


def _number_format(column: str, values: pd.Series) -> str | None:
    name = str(column).lower()
    if name in TEXT_COLUMNS or not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if name in ("lon", "lat") or name.endswith(("_lon", "_lat")):
        return "0.000000"
    if name in ("coverage", "gap", "min_coverage") or name.startswith(("share", "covered_")) or name.endswith(
            ("_share", "_coverage")):
        return "0.0%"
    if name.endswith("_cny"):
        return "#,##0"
    whole = values.dropna()
    if pd.api.types.is_integer_dtype(values) or (len(whole) and np.all(np.mod(whole.to_numpy(float), 1) == 0)):
        return "#,##0"
    return "#,##0.00"


def _width(header: str, values: pd.Series, number_format: str | None) -> float:
    sample = values.dropna()
    if number_format == "0.000000":
        longest = 11
    elif number_format is not None and number_format.endswith("%"):
        longest = 7  # "100.0%"
    elif number_format is not None and len(sample):
        biggest = float(np.abs(sample.to_numpy(float)).max())
        longest = len(f"{biggest:,.0f}") + (3 if number_format.endswith(".00") else 0)
    else:
        longest = max((_display_width(v) for v in pd.unique(sample.astype(str))), default=0)
    return float(min(_MAX_WIDTH, max(_display_width(str(header)), longest) + 2))


def _display_width(text: str) -> int:
    """Characters as Excel draws them: CJK and full-width forms take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _read_meta(book) -> list[tuple[str, str, str, str]]:
    if META_SHEET not in book.sheetnames:
        return []
    rows = list(book[META_SHEET].iter_rows(values_only=True))[1:]
    return [tuple("" if v is None else str(v) for v in r[:4]) for r in rows if r and r[0]]


def _candidates_title(path: Path, book, meta: list[tuple[str, str, str, str]]) -> str:
    for kind, title, name, _ in meta:
        if kind == "sheet" and name == "candidates" and title in book.sheetnames:
            return title
    if "candidates" in book.sheetnames:
        return "candidates"
    visible = [s for s in book.sheetnames if s != META_SHEET]
    if len(visible) == 1:
        return visible[0]
    msg = (f"{path}: no candidates sheet (sheets: {', '.join(visible)}); give back plan.xlsx with its candidates "
           "sheet, or a workbook with that one sheet")
    raise DataError(msg)


def _text(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text if text else np.nan
