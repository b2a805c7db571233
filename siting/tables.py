"""Summaries computed once, read by the map, the report, the exports and compare.

:func:`district_metrics` gives one row per district with the figures the map
colours districts by and the report tabulates; the per-tier tables
(``plan.sites()``, ``plan.districts()``, ``plan.candidates()``) live on
:class:`~siting.plan.Plan`. Nothing here draws or writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from siting.plan import Plan


def charger_tiers(plan: Plan) -> list[str]:
    """Names of the plan's tiers that place chargers, in the scenario's order."""
    return [name for name, tp in plan.tiers.items() if not tp.spec.is_station]


def station_tiers(plan: Plan) -> list[str]:
    """Names of the plan's tiers that place stations, in the scenario's order."""
    return [name for name, tp in plan.tiers.items() if tp.spec.is_station]


def district_metrics(plan: Plan) -> pd.DataFrame:
    """One row per district with the figures the district layers colour by.

    Columns: ``district_code, evs, chargers`` (all charger tiers), ``chargers_<tier>``
    and ``covered_<tier>`` (share of the tier's demand served, NaN where the
    district has none) per charger tier, ``chargers_per_1000_evs``,
    ``fair_share`` (the charger target split by EVs), ``vs_fair_share``
    (chargers / fair share) and ``stations_<tier>`` per station tier (new stations).
    """
    summary = plan.districts()
    codes = plan.boundaries["district_code"].to_numpy()
    table = pd.DataFrame({"district_code": codes})
    evs = summary.groupby("district_code")["evs"].first()
    table["evs"] = table["district_code"].map(evs).fillna(0.0).to_numpy(dtype=float)
    chargers = charger_tiers(plan)
    for tier in chargers:
        rows = summary[summary["tier"] == tier].set_index("district_code")
        table[f"chargers_{tier}"] = table["district_code"].map(rows["units"]).fillna(0).astype(int)
        share = rows["share_covered"].astype(float) if len(rows) else pd.Series(dtype=float)
        table[f"covered_{tier}"] = table["district_code"].map(share).astype(float)
    table["chargers"] = table[[f"chargers_{t}" for t in chargers]].sum(axis=1) if chargers else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        table["chargers_per_1000_evs"] = np.where(table["evs"] > 0, 1000 * table["chargers"] / table["evs"], np.nan)
        target = sum(plan.tiers[t].target for t in chargers)
        ev_share = table["evs"] / table["evs"].sum() if table["evs"].sum() > 0 else 0.0
        table["fair_share"] = target * ev_share
        table["vs_fair_share"] = np.where(table["fair_share"] > 0, table["chargers"] / table["fair_share"], np.nan)
    for tier in station_tiers(plan):
        rows = summary[summary["tier"] == tier].set_index("district_code")
        table[f"stations_{tier}"] = table["district_code"].map(rows["units"]).fillna(0).astype(int)
    return table
