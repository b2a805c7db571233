"""The planner's own decisions, fed back: sites required or excluded, and sites they propose.

A decisions file is ``candidates.csv`` (or ``plan.xlsx``) with its
``decision`` column filled in — ``required`` or ``excluded`` (also 必建 / 不建),
optionally a ``chargers`` count for a required site — or any table with
``site_id, decision[, chargers]``. A row with ``tier, lon, lat`` and no
``site_id`` is a site the planner proposes: it must open. Rows with no decision
are ignored, so the whole candidate list can be given back.

:func:`read_decisions` checks the file on its own (values, conflicts, counts);
:func:`apply_decisions` turns a tier's rows into columns of its problem's
sites (``decision``, ``forced_open``, ``min_units``/``max_units``) and
refuses ids that are not candidates of the plan.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import DataError
from siting._tabular import to_number
from siting.inputs import _place_in_districts, read_point_table
from siting.tiers import TierSpec

DECISIONS = ("required", "excluded")
#: Words a planner may write for each decision (the Chinese workbook's drop-down offers these).
SYNONYMS = {"required": "required", "require": "required", "必建": "required", "必选": "required",
            "excluded": "excluded", "exclude": "excluded", "不建": "excluded", "排除": "excluded"}
COLUMNS = ["row", "site_id", "tier", "decision", "chargers", "lon", "lat", "name", "proposed"]


def read_decisions(path: Path, *, tiers: dict[str, int]) -> pd.DataFrame:
    """Read and check a decisions file.

    Parameters
    ----------
    path : Path
        CSV (UTF-8 or GBK), ``.xlsx`` (a plan's workbook, or a plain sheet), GeoJSON or GeoPackage.
    tiers : dict
        Tier name → its target of new units (required chargers may not exceed it).

    Returns
    -------
    pandas.DataFrame
        One row per decision: ``row`` (the file's row number), ``site_id``
        (``<tier>-proposed-<row>`` for a proposed site), ``tier`` (may be
        empty for a candidate's id until :func:`apply_decisions`), ``decision``,
        ``chargers`` (0: the model chooses), ``lon, lat, name``, ``proposed``.

    Raises
    ------
    DataError
        One line naming the file, the rows and the fix: an unknown decision,
        a site both required and excluded, chargers that are not a whole
        number, a proposed site without tier or position or not required, or
        required chargers beyond a tier's target.
    """
    table = _read(path)
    if "decision" not in table:
        msg = f"{path}: no 'decision' column; fill in the decision column of candidates.csv (required / excluded)"
        raise DataError(msg)
    table = table.reset_index(drop=True)
    table["row"] = np.arange(2, len(table) + 2)
    words = table["decision"].fillna("").astype(str).str.strip()
    table = table[words != ""].copy()
    words = words[words != ""]
    table["decision"] = words.str.lower().map(SYNONYMS)
    unknown = table["decision"].isna()
    if unknown.any():
        row = table[unknown].iloc[0]
        msg = (f"{path}: row {row['row']}, column 'decision': {words[unknown].iloc[0]!r} is not a decision; "
               "write required or excluded (or leave it empty)")
        raise DataError(msg)
    for column in ("site_id", "tier", "name"):
        table[column] = table[column].fillna("").astype(str).str.strip() if column in table else ""
    table["chargers"] = _chargers(path, table)
    table["proposed"] = table["site_id"] == ""
    for column in ("lon", "lat"):
        if column not in table:
            table[column] = np.nan
    _check_proposed(path, table, tiers)
    _check_conflicts(path, table)
    _check_counts(path, table, tiers)
    return table[COLUMNS].reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    """A workbook through the workbook reader (translated headers and decision words; its errors name the sheet,
    row and fix); any other table (CSV, GeoJSON …) as it is."""
    if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
        from siting.workbook import read_decisions_workbook

        return read_decisions_workbook(path)
    return read_point_table(path, text=["site_id", "tier", "decision", "name"])


def _chargers(path: Path, table: pd.DataFrame) -> pd.Series:
    if "chargers" not in table:
        return pd.Series(0, index=table.index, dtype=np.int64)
    raw = table["chargers"]
    blank = raw.isna() | (raw.astype(str).str.strip() == "")
    values = to_number(raw.where(~blank, 0))
    bad = values.isna() | (values < 0) | (values != values.round())
    if bad.any():
        row = table[bad].iloc[0]
        msg = (f"{path}: row {row['row']}, column 'chargers': {raw[bad].iloc[0]!r} is not a whole number of "
               "chargers; write a count, or leave it empty for the model to choose")
        raise DataError(msg)
    excluded = (table["decision"] == "excluded") & (values > 0)
    if excluded.any():
        msg = (f"{path}: row {table[excluded].iloc[0]['row']}: chargers given for an excluded site; "
               "clear the count or make the site required")
        raise DataError(msg)
    return values.astype(np.int64)


def _check_proposed(path: Path, table: pd.DataFrame, tiers: dict[str, int]) -> None:
    proposed = table[table["proposed"]]
    if not len(proposed):
        return
    for _, row in proposed.iterrows():
        if row["tier"] not in tiers:
            msg = (f"{path}: row {row['row']} proposes a site (no site_id) but its tier {row['tier']!r} is not one "
                   f"of {', '.join(tiers)}; set the tier")
            raise DataError(msg)
        if row["decision"] != "required":
            msg = f"{path}: row {row['row']} excludes a site that is not a candidate (no site_id); remove the row"
            raise DataError(msg)
        lon, lat = to_number(pd.Series([row["lon"], row["lat"]]))
        if not (np.isfinite(lon) and np.isfinite(lat)):
            msg = f"{path}: row {row['row']} proposes a site without a position; give lon and lat (WGS84)"
            raise DataError(msg)
    table.loc[table["proposed"], "site_id"] = [f"{t}-proposed-{r}" for t, r in
                                               zip(proposed["tier"], proposed["row"], strict=True)]


def _check_conflicts(path: Path, table: pd.DataFrame) -> None:
    for site_id, rows in table.groupby("site_id", sort=False):
        if rows["decision"].nunique() > 1:
            msg = (f"{path}: rows {', '.join(map(str, rows['row']))}: site {site_id} is both required and excluded; "
                   "keep one decision")
            raise DataError(msg)


def _check_counts(path: Path, table: pd.DataFrame, tiers: dict[str, int]) -> None:
    required = table[(table["decision"] == "required") & (table["chargers"] > 0)]
    tier = required["tier"].where(required["tier"] != "", required["site_id"].map(_tier_of_id(tiers)))
    for name, rows in required.groupby(tier, sort=False):
        if name in tiers and rows["chargers"].sum() > tiers[name]:
            listed = ", ".join(map(str, rows["row"].head(8))) + (" …" if len(rows) > 8 else "")
            msg = (f"{path}: rows {listed} require {int(rows['chargers'].sum()):,} {name} chargers, beyond the "
                   f"target of {tiers[name]:,}; lower the counts or raise targets")
            raise DataError(msg)


def _tier_of_id(tiers: dict[str, int]):
    names = sorted(tiers, key=len, reverse=True)
    return lambda site_id: next((t for t in names if str(site_id).startswith(f"{t}-")), "")


def apply_decisions(sites: gpd.GeoDataFrame, decisions: pd.DataFrame, *, spec: TierSpec, path: Path,
                    boundaries: gpd.GeoDataFrame, metric_crs: str) -> tuple[gpd.GeoDataFrame, set]:
    """A tier's candidate sites with the planner's decisions as columns.

    Required sites get ``forced_open`` (and ``min_units = max_units =
    chargers`` when a count is given), excluded ones ``max_units = 0``;
    proposed sites are added as candidates (kind ``proposed``). Every site
    gets a ``decision`` column (empty where the planner said nothing).

    Returns
    -------
    (sites, used)
        The sites, and the ``site_id`` of every decision row applied.

    Raises
    ------
    DataError
        A decision on an existing site, or a proposed site outside every district.
    """
    from siting.candidates import point_candidates
    from siting.problem import with_site_columns

    tier = spec.name
    mine = decisions[(decisions["tier"] == tier) | (decisions["site_id"].isin(sites["site_id"]))]
    proposed = mine[mine["proposed"]]
    out = sites.copy()
    if len(proposed):
        table = proposed.assign(lon=to_number(proposed["lon"]), lat=to_number(proposed["lat"]))
        placed = _place_in_districts(path, table.reset_index(drop=True), "site_id", boundaries)
        extra = point_candidates(placed.assign(site_id=placed["site_id"].str.removeprefix(f"{tier}-")),
                                 id_column="site_id", tier=tier, kind="proposed", metric_crs=metric_crs)
        extra["name"] = placed["name"].to_numpy()
        extra = with_site_columns(extra, spec)
        out = gpd.GeoDataFrame(pd.concat([out, extra], ignore_index=True), crs=out.crs)
    by_id = mine.set_index("site_id")
    decision = out["site_id"].map(by_id["decision"]).fillna("")
    existing = (out["existing_units"] > 0) & (decision != "")
    if existing.any():
        row = by_id.loc[out.loc[existing, "site_id"].iloc[0]]
        msg = (f"{path}: row {row['row']}: site {out.loc[existing, 'site_id'].iloc[0]} exists already; "
               "decisions apply to candidates only — remove the row")
        raise DataError(msg)
    chargers = out["site_id"].map(by_id["chargers"]).fillna(0).astype(np.int64)
    out["decision"] = decision.to_numpy()
    required = (decision == "required").to_numpy()
    out["forced_open"] = required | (out["forced_open"].to_numpy() if "forced_open" in out else False)
    counted = required & (chargers > 0).to_numpy()
    out.loc[counted, "min_units"] = chargers[counted].to_numpy()
    out.loc[counted, "max_units"] = chargers[counted].to_numpy()
    out.loc[(decision == "excluded").to_numpy(), "max_units"] = 0
    return out, set(mine["site_id"])


def check_all_applied(decisions: pd.DataFrame, used: set, path: Path) -> None:
    """Refuse decision rows whose ``site_id`` is no candidate of any tier."""
    unknown = decisions[~decisions["site_id"].isin(used)]
    if len(unknown):
        listed = ", ".join(f"row {r} ({s})" for r, s in zip(unknown["row"].head(5), unknown["site_id"].head(5),
                                                                strict=True))
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        msg = (f"{path}: {listed}{more}: no candidate site has that id; copy ids from this scenario's "
               "candidates.csv, or give tier, lon and lat (no site_id) to propose a site")
        raise DataError(msg)
