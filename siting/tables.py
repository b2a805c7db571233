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


def target_text(tp) -> str:
    """A tier's target as shown: the number, or – for a tier with none (the fewest units that serve every hub)."""
    return "–" if tp.spec.open_target else f"{tp.target:,}"


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
    if "peak_kw" in summary:
        peak = summary.groupby("district_code")["peak_kw"].sum()
        table["peak_kw"] = table["district_code"].map(peak).fillna(0.0).astype(float)
    return table


#: Columns of ``townships.csv`` (:func:`township_summary`).
TOWNSHIP_COLUMNS = ["township_code", "township_name", "district_code", "district_name", "township_kind", "tier",
                    "sites", "chargers", "demand", "demand_served", "demand_unit", "share_covered", "evs",
                    "chargers_per_1000_evs"]


def township_summary(plan: Plan) -> pd.DataFrame | None:
    """Per township and tier: sites, chargers, demand, demand served and share covered (``townships.csv``).

    A site belongs to the township it lies in, a demand point (a cell, a
    block of cells or a hub) to the township of its point. ``chargers`` is 0
    for a station tier (``sites`` counts its stations); ``share_covered`` is
    empty where the township has no demand of the tier; ``evs`` and
    ``chargers_per_1000_evs`` (the tier's chargers) come from the demand surface.

    Returns
    -------
    pandas.DataFrame or None
        Columns :data:`TOWNSHIP_COLUMNS`, every township × every tier, sorted
        by township code and tier (the scenario's order); None when the plan
        has no townships.
    """
    if plan.townships is None:
        return None
    townships = pd.DataFrame(plan.townships[["township_code", "township_name", "township_kind", "district_code"]])
    evs = plan.cells.groupby("township_code")["evs"].sum() if "township_code" in plan.cells else pd.Series(dtype=float)
    names = plan.boundaries.set_index("district_code")["district_name"]
    frames = []
    for order, (tier, tp) in enumerate(plan.tiers.items()):
        placed = tp.sites[tp.sites["status"] != "candidate"]
        codes = placed["township_code"] if "township_code" in placed else pd.Series("", index=placed.index)
        demand = tp.demand.groupby("township_code")[["demand", "served"]].sum() if "township_code" in tp.demand \
            else pd.DataFrame(columns=["demand", "served"])
        table = townships.copy()
        table["tier"] = tier
        table["order"] = order
        table["sites"] = table["township_code"].map(codes.value_counts()).fillna(0).astype(np.int64)
        units = placed.groupby(codes)["units"].sum() if len(placed) else pd.Series(dtype=np.int64)
        table["chargers"] = 0 if tp.spec.is_station else \
            table["township_code"].map(units).fillna(0).astype(np.int64)
        table["demand"] = table["township_code"].map(demand["demand"]).fillna(0.0).astype(float)
        table["demand_served"] = table["township_code"].map(demand["served"]).fillna(0.0).astype(float)
        table["demand_unit"] = tp.demand_unit
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    table["district_name"] = table["district_code"].map(names)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["share_covered"] = np.where(table["demand"] > 0, table["demand_served"] / table["demand"], np.nan)
        table["evs"] = table["township_code"].map(evs).fillna(0.0).to_numpy()
        table["chargers_per_1000_evs"] = np.where(table["evs"] > 0, 1000 * table["chargers"] / table["evs"], np.nan)
    table = table.sort_values(["township_code", "order"]).reset_index(drop=True)
    table["demand"] = table["demand"].round(3)
    table["demand_served"] = table["demand_served"].round(3)
    table["share_covered"] = table["share_covered"].round(4)
    table["evs"] = table["evs"].round(0)
    table["chargers_per_1000_evs"] = table["chargers_per_1000_evs"].round(2)
    return table[TOWNSHIP_COLUMNS]


def township_metrics(plan: Plan) -> pd.DataFrame | None:
    """One row per township with the figures the map's township layer shows.

    Columns: ``township_code, evs, chargers`` (all charger tiers),
    ``chargers_<tier>``, ``sites_<tier>`` and ``covered_<tier>`` per charger
    tier, ``charging_sites`` (all charger tiers) and ``chargers_per_1000_evs``;
    None when the plan has no townships.
    """
    summary = township_summary(plan)
    if summary is None:
        return None
    codes = plan.townships["township_code"].to_numpy()
    table = pd.DataFrame({"township_code": codes})
    table["evs"] = table["township_code"].map(summary.groupby("township_code")["evs"].first()).fillna(0.0)
    chargers = charger_tiers(plan)
    for tier in chargers:
        rows = summary[summary["tier"] == tier].set_index("township_code")
        table[f"chargers_{tier}"] = table["township_code"].map(rows["chargers"]).fillna(0).astype(np.int64)
        table[f"sites_{tier}"] = table["township_code"].map(rows["sites"]).fillna(0).astype(np.int64)
        table[f"covered_{tier}"] = table["township_code"].map(rows["share_covered"]).astype(float)
    table["chargers"] = table[[f"chargers_{t}" for t in chargers]].sum(axis=1) if chargers else 0
    table["charging_sites"] = table[[f"sites_{t}" for t in chargers]].sum(axis=1) if chargers else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        table["chargers_per_1000_evs"] = np.where(table["evs"] > 0, 1000 * table["chargers"] / table["evs"], np.nan)
    return table
