"""One location-allocation model per tier, built on :mod:`siting.models`.

:func:`allocate_tier` takes a tier's demand points and candidate sites,
computes the sparse costs within the tier's radius, solves a
:class:`~siting.models.capacitated.CapacitatedMCLP` and returns a
:class:`TierPlan`: the sites with their units, demand served and rank, and the
demand points with what they received.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InfeasibleError
from siting.costs import travel_costs
from siting.models import SolveResult
from siting.models.capacitated import CapacitatedMCLP
from siting.scenario import Solver

if TYPE_CHECKING:
    from siting.network import RoadNetwork

TIERS = ("public", "residential", "rural", "hydrogen")


@dataclass(frozen=True)
class TierPlan:
    """A solved tier.

    Attributes
    ----------
    tier : str
    target : int
        New units (chargers, or hydrogen stations) the plan had to place.
    demand_unit : str
        Unit of demand (``sessions/day``, ``EVs``, ``kg/day``).
    sites : geopandas.GeoDataFrame
        Every candidate and existing site: candidate columns plus
        ``status`` (new/existing/candidate), ``selected``, ``units``,
        ``capacity``, ``demand_served``, ``demand_in_reach``, ``score``, ``rank``.
    demand : pandas.DataFrame
        Demand points: ``demand_id, district_code, demand, served``.
    assignment : pandas.DataFrame
        ``demand_id, site_id, distance_m, amount, straight_m`` (``time_s``
        instead of ``distance_m`` when ``cost`` is ``"time"``).
    result : SolveResult
    radius_m : float
    cost : str
        ``"distance"`` (metres, within ``radius_m``) or ``"time"`` (seconds, within ``radius_s``).
    radius_s : float or None
    """

    tier: str
    target: int
    demand_unit: str
    sites: gpd.GeoDataFrame
    demand: pd.DataFrame
    assignment: pd.DataFrame
    result: SolveResult
    radius_m: float
    cost: str = "distance"
    radius_s: float | None = None

    @property
    def units_placed(self) -> int:
        return int(self.sites.loc[self.sites["status"] == "new", "units"].sum())

    @property
    def coverage(self) -> float:
        total = float(self.demand["demand"].sum())
        return float(self.demand["served"].sum()) / total if total > 0 else 1.0


def allocate_tier(
    tier: str,
    demand: pd.DataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    target: int,
    radius_m: float,
    circuity: float,
    min_units: int,
    max_units: int,
    capacity_per_unit: float | np.ndarray,
    demand_unit: str,
    solver: Solver,
    existing: pd.Series | None = None,
    required: list | None = None,
    network: RoadNetwork | None = None,
    cost: str = "distance",
    radius_s: float | None = None,
) -> TierPlan:
    """Place ``target`` units of one tier among its candidates.

    Parameters
    ----------
    demand : pandas.DataFrame
        ``demand_id, district_code, name, weight, x_m, y_m`` (metric CRS).
        Points of weight 0 are kept only if ``required``.
    candidates : geopandas.GeoDataFrame
        Sites from :mod:`siting.candidates` (existing ones included).
    existing : pandas.Series, optional
        ``site_id -> units`` of existing sites (fixed, counted, not in target).
    required : list, optional
        Demand ids that must have a site within the radius.
    network : RoadNetwork, optional
        Road network for the costs (:mod:`siting.network`); None: straight line × ``circuity``.
    cost : {"distance", "time"}
        ``"time"``: costs in seconds within ``radius_s`` (needs ``network``).

    Raises
    ------
    InfeasibleError
        With the tier, the district and the shortfall in the message.
    """
    required = list(required or [])
    demand = demand[(demand["weight"] > 0) | demand["demand_id"].isin(required)].reset_index(drop=True)
    costs = travel_costs(demand, candidates, radius_m=radius_m, circuity=circuity, network=network, cost=cost,
                         radius_s=radius_s)
    radius = radius_s if cost == "time" else radius_m
    _check_reachable(tier, demand, costs, required, radius_m if cost == "distance" else None, radius_s)
    model = CapacitatedMCLP.from_cost_matrix(
        costs[["demand_id", "site_id", "cost"]],
        demand_ids=demand["demand_id"], site_ids=candidates["site_id"],
        weights=demand["weight"].to_numpy(), radius=radius, total_units=target,
        capacity_per_unit=capacity_per_unit, min_units=min_units, max_units=max_units,
        existing=existing, required=required,
        unit_name="new stations" if tier == "hydrogen" else "chargers",
    )
    try:
        result = model.solve(solver.name, time_limit_s=solver.time_limit_s, mip_gap=solver.mip_gap)
    except InfeasibleError as exc:
        msg = f"{tier} tier: {exc}"
        raise InfeasibleError(msg) from None
    if not result.is_solution:
        msg = (f"{tier} tier: the solver found no solution within {solver.time_limit_s:g} s "
               f"(status {result.status}); raise solver.time_limit_s or coarsen demand.cell_size_m")
        raise InfeasibleError(msg)
    warn_unreachable_districts(tier, demand, costs, f"{radius:,.0f} {'s' if cost == 'time' else 'm'}", demand_unit)
    if result.status == "feasible" and (result.gap is None or result.gap > solver.mip_gap + 1e-9):
        gap = "unknown" if result.gap is None else f"{100 * result.gap:.2f} %"
        warnings.warn(f"{tier} tier: time limit of {solver.time_limit_s:g} s reached; the plan is feasible "
                      f"with a gap of {gap}, not proven optimal (raise solver.time_limit_s)", stacklevel=2)
    plan = _tier_plan(tier, target, demand_unit, demand, candidates, costs, result, radius_m)
    if cost == "time":
        assignment = plan.assignment.rename(columns={"distance_m": "time_s"})
        plan = dataclasses.replace(plan, assignment=assignment, cost=cost, radius_s=radius_s)
    return plan


def warn_unreachable_districts(tier: str, demand: pd.DataFrame, costs: pd.DataFrame, radius: str,
                               demand_unit: str) -> None:
    """Warn about districts whose demand no candidate can reach: they get nothing.

    ``radius`` is already formatted with its unit ("1,200 m", "600 s").
    """
    reachable = demand["demand_id"].isin(costs["demand_id"])
    total = demand.groupby("district_code")["weight"].sum()
    reached = demand[reachable].groupby("district_code")["weight"].sum().reindex(total.index, fill_value=0.0)
    for code in total.index[(total > 0) & (reached == 0)]:
        warnings.warn(f"{tier} tier: district {code} has {total[code]:,.0f} {demand_unit} of demand but no "
                      f"candidate within {radius} of it, so it gets none; lower "
                      f"{tier}.candidate_min_density_per_km2 or raise the radius", stacklevel=3)


def _check_reachable(tier, demand, costs, required, radius_m, radius_s=None):
    reachable = set(costs["demand_id"])
    lost = demand[demand["demand_id"].isin(required) & ~demand["demand_id"].isin(reachable)]
    if len(lost):
        first = lost.iloc[0]
        name = f" ({first['name']})" if "name" in lost and first["name"] else ""
        reach, key = (f"{radius_m:,.0f} m", "radius_m") if radius_m is not None else (f"{radius_s:,.0f} s", "radius_s")
        msg = (f"{tier} tier: {len(lost)} place(s) that must be reachable have no candidate within "
               f"{reach}, e.g. {first['demand_id']}{name} in district {first['district_code']}; "
               f"raise {tier}.{key} or add candidates there")
        raise InfeasibleError(msg)


def _tier_plan(tier, target, demand_unit, demand, candidates, costs, result, radius_m) -> TierPlan:
    assignment = result.assignment.rename(columns={"cost": "distance_m"}).merge(
        costs[["demand_id", "site_id", "straight_m"]], on=["demand_id", "site_id"], how="left")
    served = assignment.groupby("demand_id")["amount"].sum()
    demand_out = pd.DataFrame({
        "demand_id": demand["demand_id"],
        "district_code": demand["district_code"],
        "demand": demand["weight"],
        "served": demand["demand_id"].map(served).fillna(0.0).to_numpy(),
    })
    weights = costs["demand_id"].map(demand.set_index("demand_id")["weight"])
    in_reach = weights.groupby(costs["site_id"]).sum()
    solved = result.sites.set_index("site_id")
    sites = candidates.copy()
    sites["selected"] = sites["site_id"].map(solved["selected"]).fillna(False).astype(bool).to_numpy()
    existing = sites["site_id"].map(solved["existing"]).fillna(False).astype(bool).to_numpy()
    sites["status"] = np.where(existing, "existing", np.where(sites["selected"], "new", "candidate"))
    sites["units"] = sites["site_id"].map(solved["units"]).fillna(0).astype(np.int64).to_numpy()
    sites["capacity"] = sites["site_id"].map(solved["capacity"]).fillna(0.0).to_numpy()
    sites["demand_served"] = sites["site_id"].map(solved["load"]).fillna(0.0).to_numpy()
    sites["demand_in_reach"] = sites["site_id"].map(in_reach).fillna(0.0).to_numpy()
    sites["score"] = sites["demand_in_reach"]
    order = sites.sort_values(["selected", "demand_served", "demand_in_reach", "site_id"],
                              ascending=[False, False, False, True]).index
    sites.loc[order, "rank"] = np.arange(1, len(sites) + 1)
    sites["rank"] = sites["rank"].astype(np.int64)
    return TierPlan(tier=tier, target=target, demand_unit=demand_unit, sites=sites, demand=demand_out,
                    assignment=assignment, result=result, radius_m=radius_m)
