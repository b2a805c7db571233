"""Hydrogen supply, delivered cost and station roll-out (issue 13).

A station tier with ``supply_sources`` (``[hydrogen] supply_sources``) gets:

* every supply source as a candidate site (临厂建站: no transport leg), and
  every fuel station of ``fuel_stations`` as a candidate whose station costs
  ``colocation_saving_cny`` less (油气电氢服; OSM ``amenity=fuel`` features too);
* a :class:`~siting.models.supply_block.SupplyBlock`: stations draw what they
  serve from the sources, within each source's capacity, at least delivered cost;
* after solving, :func:`with_supply`: the flows (``h2_supply.csv``) and, per
  station, ``supply_source``, ``station_cny_per_kg``, ``delivered_cost_cny_per_kg``
  and ``colocated``.

Delivered cost per kg (docs/hydrogen.md)::

    delivered = Σ_s f_sj (production_s + transport_sj) / Σ_s f_sj + station_cny_per_kg
    transport_sj = transport_cny_per_kg_km × road_km_sj + transport_fixed_cny_per_kg  (0 at the source's own site)
    station_cny_per_kg = cost_cny × (CRF(6 %, 15 y) + 3 % O&M) / (demand_served × 365)

Functions take and return tables; nothing here names a tier.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from siting import candidates as cand
from siting._errors import DataError
from siting.costs import travel_costs
from siting.inputs import read_points
from siting.models.supply_block import CapacityMargin, SupplyBlock

if TYPE_CHECKING:
    from siting.tiers import TierSpec

#: Annualisation of a station's capital (docs/costs.md §5): discount rate, lifetime (years), O&M share a year.
DISCOUNT_RATE = 0.06
LIFETIME_YEARS = 15
OM_SHARE = 0.03
#: Kinds of candidate site that are an existing fuel station (a station there is co-located).
FUEL_KINDS = ("fuel_station", "osm:fuel")
SOURCE_KIND = "supply_source"
SUPPLY_COLUMNS = ["station_id", "source_id", "kg_per_day", "distance_km", "production_cny_per_kg",
                  "transport_cny_per_kg"]
#: Columns :func:`with_supply` adds to a tier's sites.
SITE_SUPPLY_COLUMNS = ["supply_source", "station_cny_per_kg", "delivered_cost_cny_per_kg", "colocated"]


def annual_factor(rate: float = DISCOUNT_RATE, years: int = LIFETIME_YEARS, om_share: float = OM_SHARE) -> float:
    """Capital recovery factor plus O&M share: the share of a station's capital paid each year."""
    crf = rate * (1 + rate) ** years / ((1 + rate) ** years - 1)
    return crf + om_share


def read_supply_sources(path: Path, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read ``source_id, name, kind, lon, lat, capacity_kg_per_day, cost_cny_per_kg`` (CSV, GBK or xlsx).

    Raises
    ------
    DataError
        One line naming the file, row, field and value: missing column, a
        capacity not above 0, a negative cost, a point outside every district.
    """
    table = read_points(path, id_column="source_id", required=["capacity_kg_per_day", "cost_cny_per_kg"],
                        boundaries=boundaries)
    for column, bad, what in (("capacity_kg_per_day", table["capacity_kg_per_day"] <= 0, "must be above 0"),
                              ("cost_cny_per_kg", table["cost_cny_per_kg"] < 0, "must not be negative")):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            msg = (f"{path}: row {row + 2} (source_id {table['source_id'].iloc[row]}) {column} "
                   f"{table[column].iloc[row]} {what}; fix the value or remove the row")
            raise DataError(msg)
    if "kind" not in table:
        table["kind"] = ""
    return table


def check_hub_years(hubs: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """``hubs`` with ``year`` as whole numbers (empty: no fleet year); one line naming the row otherwise."""
    if "year" not in hubs:
        return hubs
    text = hubs["year"].astype("string").str.strip().replace("", pd.NA)
    year = pd.to_numeric(text, errors="coerce")
    bad = (text.notna() & (year.isna() | (year % 1 != 0) | (year < 1900) | (year > 2200))).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = (f"{path}: row {row + 2} (hub_id {hubs['hub_id'].iloc[row]}) year {hubs['year'].iloc[row]!s} is not a "
               "year; give the year the hub's fleet arrives (e.g. 2025) or leave it empty")
        raise DataError(msg)
    return hubs.assign(year=year.astype("Int64"))


def read_fuel_stations(path: Path, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read ``station_id, name, brand, lon, lat`` (existing fuel stations that could host hydrogen)."""
    return read_points(path, id_column="station_id", required=[], boundaries=boundaries)


def supply_candidates(files: dict[str, gpd.GeoDataFrame], spec: TierSpec, metric_crs: str) -> list[gpd.GeoDataFrame]:
    """Candidate sites at the supply sources (kind ``supply_source``) and fuel stations (kind ``fuel_station``)."""
    frames = []
    sources = files.get("supply_sources")
    if sources is not None and len(sources):
        frames.append(cand.point_candidates(sources.assign(source_id="source-" + sources["source_id"].astype(str)),
                                            id_column="source_id", tier=spec.name, kind=SOURCE_KIND,
                                            metric_crs=metric_crs))
    fuel = files.get("fuel_stations")
    if fuel is not None and len(fuel):
        frames.append(cand.point_candidates(fuel.assign(station_id="fuel-" + fuel["station_id"].astype(str)),
                                            id_column="station_id", tier=spec.name, kind="fuel_station",
                                            metric_crs=metric_crs))
    return frames


def source_site_id(spec: TierSpec, source_id: Any) -> str:
    """The candidate site id of a supply source (临厂建站)."""
    return f"{spec.name}-source-{source_id}"


def with_colocation(sites: gpd.GeoDataFrame, spec: TierSpec) -> gpd.GeoDataFrame:
    """``sites`` with a co-located station's unit cost lowered by ``colocation_saving_cny`` (not below 0)."""
    if spec.colocation_saving_cny <= 0:
        return sites
    out = sites.copy()
    fuel = out["kind"].isin(FUEL_KINDS) & (out["existing_units"] == 0)
    out.loc[fuel, "unit_cost_cny"] = (out.loc[fuel, "unit_cost_cny"] - spec.colocation_saving_cny).clip(lower=0.0)
    return out


def supply_pairs(sources: gpd.GeoDataFrame, sites: pd.DataFrame, spec: TierSpec, *, metric_crs: str,
                 circuity: float, network: Any = None) -> pd.DataFrame:
    """Cost of supplying each site from each source.

    Road distance (the network when loaded, else straight line × ``circuity``);
    a site at its own source has distance 0 and no transport cost.

    Returns
    -------
    pandas.DataFrame
        ``source_id, site_id, distance_km, production_cny_per_kg, transport_cny_per_kg``.
    """
    projected = sources.to_crs(metric_crs)
    origin = pd.DataFrame({"demand_id": sources["source_id"].astype(str).to_numpy(),
                           "x_m": projected.geometry.x.to_numpy(), "y_m": projected.geometry.y.to_numpy()})
    far = 1e7
    straight = travel_costs(origin, sites, radius_m=far, circuity=circuity)
    if network is not None:
        road = travel_costs(origin, sites, radius_m=far, circuity=circuity, network=network)
        straight = straight.merge(road[["demand_id", "site_id", "cost"]], on=["demand_id", "site_id"],
                                  how="left", suffixes=("", "_road"))
        straight["cost"] = straight["cost_road"].fillna(straight["cost"])
    pairs = pd.DataFrame({"source_id": straight["demand_id"].astype(str), "site_id": straight["site_id"],
                          "distance_km": straight["cost"].astype(float) / 1000.0})
    own = pairs["site_id"] == pairs["source_id"].map(lambda s: source_site_id(spec, s))
    pairs.loc[own, "distance_km"] = 0.0
    production = sources.set_index(sources["source_id"].astype(str))["cost_cny_per_kg"].astype(float)
    pairs["production_cny_per_kg"] = pairs["source_id"].map(production).to_numpy()
    pairs["transport_cny_per_kg"] = np.where(
        own, 0.0, spec.transport_cny_per_kg_km * pairs["distance_km"] + spec.transport_fixed_cny_per_kg)
    return pairs.reset_index(drop=True)


def supply_blocks(files: dict[str, gpd.GeoDataFrame], sites: pd.DataFrame, spec: TierSpec, *, metric_crs: str,
                  circuity: float, network: Any = None) -> tuple:
    """The tier's supply block (with ``supply_sources``) and capacity-margin block (``capacity_margin`` > 0)."""
    blocks: list = []
    sources = files.get("supply_sources")
    if sources is not None and len(sources):
        pairs = supply_pairs(sources, sites, spec, metric_crs=metric_crs, circuity=circuity, network=network)
        capacity = pd.Series(sources["capacity_kg_per_day"].astype(float).to_numpy(),
                             index=sources["source_id"].astype(str).to_numpy())
        blocks.append(SupplyBlock(pairs=pairs, capacity_kg_per_day=capacity, label=f"{spec.name}.supply_sources"))
    if spec.capacity_margin > 0:
        blocks.append(CapacityMargin(spec.capacity_margin, label=f"{spec.name}.capacity_margin"))
    return tuple(blocks)


def supply_flows(loads: pd.Series, block: SupplyBlock) -> pd.DataFrame:
    """Least-cost flows from sources to stations serving ``loads`` (``site_id -> kg/day``), in SUPPLY_COLUMNS.

    The same transport problem the model's :class:`SupplyBlock` holds, solved
    for the plan's loads (for fixed loads the model's flows are a least-cost
    solution of it, so the cost is the same). Loads beyond what the sources
    supply (never in a solved plan) are left unsupplied.
    """
    loads = loads[loads > 1e-9]
    pairs = block.pairs[block.pairs["site_id"].isin(loads.index)].reset_index(drop=True)
    if not len(pairs):
        return pd.DataFrame(columns=SUPPLY_COLUMNS)
    lp = pulp.LpProblem("h2_supply", pulp.LpMinimize)
    flow = [pulp.LpVariable(f"f_{k}", lowBound=0) for k in range(len(pairs))]
    cost = (pairs["production_cny_per_kg"] + pairs["transport_cny_per_kg"]).to_numpy(float)
    short = {j: pulp.LpVariable(f"short_{n}", lowBound=0) for n, j in enumerate(loads.index)}
    lp += pulp.lpSum(c * f for c, f in zip(cost, flow, strict=True)) + 1e6 * pulp.lpSum(short.values())
    for j, group in pairs.groupby("site_id").groups.items():
        lp += pulp.lpSum(flow[k] for k in group) + short[j] == float(loads[j])
    for s, group in pairs.groupby("source_id").groups.items():
        lp += pulp.lpSum(flow[k] for k in group) <= float(block.capacity_kg_per_day[s])
    lp.solve(pulp.HiGHS(msg=False) if pulp.HiGHS().available() else pulp.PULP_CBC_CMD(msg=False))
    kg = np.array([max(0.0, f.varValue or 0.0) for f in flow])
    out = pairs.assign(kg_per_day=kg)
    out = out[out["kg_per_day"] > 1e-6].rename(columns={"site_id": "station_id"})
    out["kg_per_day"] = out["kg_per_day"].round(3)
    out["distance_km"] = out["distance_km"].round(3)
    out["transport_cny_per_kg"] = out["transport_cny_per_kg"].round(4)
    return out[SUPPLY_COLUMNS].sort_values(["station_id", "kg_per_day"], ascending=[True, False]).reset_index(
        drop=True)


def station_cny_per_kg(cost_cny: pd.Series, kg_per_day: pd.Series) -> pd.Series:
    """A station's capital annualised over what it serves (CNY/kg); NaN where it serves nothing."""
    served = kg_per_day.where(kg_per_day > 1e-9)
    return (cost_cny * annual_factor() / (served * 365.0)).round(4)


def with_supply(plan: Any, blocks: tuple, spec: TierSpec) -> Any:
    """A solved station tier (:class:`~siting.allocate.TierPlan`) with its supply flows and delivered costs.

    Adds to ``plan.sites`` the columns :data:`SITE_SUPPLY_COLUMNS` (empty at
    candidates) and sets ``plan.supply`` (``h2_supply.csv``). An existing
    station's capital is taken as ``spec.unit_cost_cny`` (its replacement cost,
    an assumption). Returns ``plan`` unchanged without a supply block or fuel
    stations.
    """
    block = next((b for b in blocks if isinstance(b, SupplyBlock)), None)
    fuel = spec.fuel_stations is not None or spec.colocation_saving_cny > 0
    if block is None and not fuel:
        return plan
    sites = plan.sites.copy()
    placed = sites["status"] != "candidate"
    for column in SITE_SUPPLY_COLUMNS:
        sites[column] = pd.Series(pd.NA, index=sites.index, dtype="object")
    sites.loc[placed, "colocated"] = sites.loc[placed, "kind"].isin(FUEL_KINDS)
    supply = None
    if block is not None:
        loads = sites.loc[placed].set_index("site_id")["demand_served"].astype(float)
        supply = supply_flows(loads, block)
        cost = sites["cost_cny"].astype(float) if "cost_cny" in sites else pd.Series(0.0, index=sites.index)
        capital = cost.where(sites["status"] == "new", spec.unit_cost_cny)
        station = station_cny_per_kg(capital, sites["demand_served"].astype(float))
        supply_cost = supply.assign(value=supply["kg_per_day"] * (supply["production_cny_per_kg"]
                                                                   + supply["transport_cny_per_kg"]))
        per_station = supply_cost.groupby("station_id")[["value", "kg_per_day"]].sum()
        unit = sites["site_id"].map(per_station["value"] / per_station["kg_per_day"])
        main = supply.groupby("station_id")["source_id"].apply(lambda s: ";".join(s.astype(str)))
        sites.loc[placed, "supply_source"] = sites.loc[placed, "site_id"].map(main)
        sites.loc[placed, "station_cny_per_kg"] = station[placed]
        sites.loc[placed, "delivered_cost_cny_per_kg"] = (unit + station)[placed].round(4)
    return dataclasses.replace(plan, sites=sites, supply=supply)


def delivered_cost_summary(sites: pd.DataFrame) -> dict | None:
    """Mean (weighted by kg/day served) and range of the delivered cost of a tier's stations, CNY/kg."""
    if "delivered_cost_cny_per_kg" not in sites:
        return None
    rows = sites[sites["delivered_cost_cny_per_kg"].notna() & (sites["status"] != "candidate")]
    if not len(rows):
        return None
    cost = rows["delivered_cost_cny_per_kg"].astype(float)
    kg = rows["demand_served"].astype(float)
    return {"mean": round(float((cost * kg).sum() / kg.sum()), 4), "min": round(float(cost.min()), 4),
            "max": round(float(cost.max()), 4), "unit": "CNY/kg"}


def station_rollout(plan: Any, hubs: gpd.GeoDataFrame | None, years: tuple[int, ...]) -> Any:
    """Re-sequence a solved station roll-out so that no station opens after its hubs' fleet year (车站联动).

    The final year's stations are the model's. For each year ``t``, the
    stations that must be open are those serving a hub whose ``year`` ≤ ``t``
    (a hub year before the first year counts as the first year); the rest of
    that year's count goes to the stations serving most demand. A year's
    count rises when its fleets need more stations than the phase share gives.
    Without hubs with ``year`` or without phases, ``plan`` is returned as it is.
    """
    if hubs is None or "year" not in hubs or not years or plan.phases is None:
        return plan
    hub_year = pd.Series(pd.to_numeric(hubs["year"], errors="coerce").to_numpy(),
                         index=hubs["hub_id"].astype(str).to_numpy())
    new = plan.sites[plan.sites["status"] == "new"]
    if not len(new):
        return plan
    served = plan.assignment[plan.assignment["amount"] > 1e-9]
    need = served["demand_id"].astype(str).map(hub_year)
    first = need.groupby(served["site_id"]).min()
    first_year = new["site_id"].map(first)
    order = new.assign(first=first_year.fillna(np.inf)).sort_values(
        ["first", "demand_served", "site_id"], ascending=[True, False, True])["site_id"].tolist()
    ours = plan.phases[plan.phases["site_id"].isin(new["site_id"])]
    counts = ours.groupby("year")["units"].apply(lambda u: int((u > 0).sum()))
    rows, opened = [], 0
    for year in years:
        required = int((first_year <= year).sum())
        opened = max(opened, required, int(counts.get(year, 0)))
        opened = min(opened, len(order))
        for k, site in enumerate(order):
            rows.append({"site_id": site, "year": year, "units": 1 if k < opened else 0})
    phases = pd.DataFrame(rows)
    existing = plan.phases[~plan.phases["site_id"].isin(new["site_id"])]
    phases = pd.concat([phases, existing], ignore_index=True)
    result = plan.result
    before = ours[ours["units"] > 0].groupby("year")["site_id"].apply(frozenset)
    after = phases[(phases["units"] > 0) & phases["site_id"].isin(new["site_id"])].groupby("year")["site_id"].apply(
        frozenset)
    if not before.reindex(list(years)).equals(after.reindex(list(years))):
        # the fleets moved a station earlier: a year's service is what its open sites serve in the final plan
        # (a lower bound), and the year is no longer the model's optimum
        load = plan.sites.set_index("site_id")["demand_served"]
        old_existing = plan.sites.loc[plan.sites["status"] == "existing", "site_id"]
        served, status = [], []
        for k, year in enumerate(years):
            open_sites = set(after.get(year, frozenset())) | set(old_existing)
            changed = before.get(year, frozenset()) != after.get(year, frozenset())
            served.append(float(load.reindex(list(open_sites)).fillna(0.0).sum()) if changed
                          else result.extra.get("period_served", [np.nan] * len(years))[k])
            status.append("feasible" if changed else result.extra.get("period_status", [result.status] * len(years))[k])
        result = dataclasses.replace(result, extra={**result.extra, "period_served": served, "period_status": status,
                                                    "period_rule": "fleet years"})
    sites = plan.sites.copy()
    first_open = phases[phases["units"] > 0].groupby("site_id")["year"].min()
    sites["year"] = sites["site_id"].map(first_open).astype("Int64").to_numpy()
    sites["fleet_year"] = sites["site_id"].map(first).astype("Int64").to_numpy()
    return dataclasses.replace(plan, phases=phases, sites=sites, result=result)
