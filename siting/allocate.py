"""One location-allocation model per tier, built on :mod:`siting.models`.

:func:`allocate` takes a tier's :class:`~siting.problem.TierProblem`,
computes the sparse costs within the tier's radius, solves a
:class:`~siting.models.capacitated.CapacitatedMCLP` (with the problem's
constraint blocks) and returns a :class:`TierPlan`: the sites with their units,
demand served and rank, and the demand points with what they received.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InfeasibleError
from siting.models import SolveResult
from siting.models.capacitated import CapacitatedMCLP
from siting.problem import SITE_COLUMNS, TierProblem
from siting.scenario import Solver
from siting.tiers import TierSpec

@dataclass(frozen=True)
class TierPlan:
    """A solved tier.

    Attributes
    ----------
    spec : TierSpec
        The tier: name, kind, label, units, radius, cost kind.
    target : int
        New units (chargers, or stations) the plan had to place.
    sites : geopandas.GeoDataFrame
        Every candidate and existing site: candidate columns plus
        ``status`` (new/existing/candidate), ``selected``, ``units``,
        ``capacity``, ``demand_served``, ``demand_in_reach``, ``score``, ``rank``.
    demand : pandas.DataFrame
        Demand points: ``demand_id, district_code, demand, served``.
    assignment : pandas.DataFrame
        ``demand_id, site_id, distance_m, amount, straight_m`` (``time_s``
        instead of ``distance_m`` when the tier's cost is ``"time"``).
    result : SolveResult
    hubs : geopandas.GeoDataFrame or None
        The demand hubs of a tier whose demand is a hub file (EPSG:4326).
    """

    spec: TierSpec
    target: int
    sites: gpd.GeoDataFrame
    demand: pd.DataFrame
    assignment: pd.DataFrame
    result: SolveResult
    hubs: gpd.GeoDataFrame | None = None
    #: With a roll-out: ``site_id, year, units`` (cumulative at each year's end), one row per site and year.
    phases: pd.DataFrame | None = None
    #: Objective, unit costs and budget the model used (:attr:`TierProblem.economics`).
    economics: dict = field(default_factory=dict)
    #: Units at existing sites, and the target as stated (before "total" mode subtracts the existing).
    existing_units: int = 0
    stated_target: int = 0
    #: Hydrogen supply flows ``station_id, source_id, kg_per_day, …`` (:func:`siting.hydrogen.with_supply`).
    supply: pd.DataFrame | None = None

    @property
    def cost_cny(self) -> float:
        """What the new sites and units cost, CNY."""
        return float(self.sites.loc[self.sites["status"] == "new", "cost_cny"].sum()) \
            if "cost_cny" in self.sites else 0.0

    @property
    def tier(self) -> str:
        return self.spec.name

    @property
    def demand_unit(self) -> str:
        return self.spec.demand_unit

    @property
    def radius_m(self) -> float:
        return self.spec.radius_m

    @property
    def cost(self) -> str:
        return self.spec.cost

    @property
    def radius_s(self) -> float | None:
        return self.spec.radius_s

    @property
    def units_placed(self) -> int:
        return int(self.sites.loc[self.sites["status"] == "new", "units"].sum())

    @property
    def coverage(self) -> float:
        total = float(self.demand["demand"].sum())
        return float(self.demand["served"].sum()) / total if total > 0 else 1.0


def allocate(problem: TierProblem, solver: Solver) -> TierPlan:
    """Place a tier's target among its candidates: build the model, solve it, tabulate the plan.

    Demand points of weight 0 are kept only if required. Costs are the sparse
    travel costs within the tier's radius (:meth:`TierProblem.costs`).

    Raises
    ------
    InfeasibleError
        With the tier, the district and the shortfall in the message.
    """
    spec = problem.spec
    tier = spec.name
    required = list(problem.required)
    demand = problem.demand
    demand = demand[(demand["weight"] > 0) | demand["demand_id"].isin(required)].reset_index(drop=True)
    candidates = problem.sites
    costs = problem.costs(demand)
    _check_reachable(problem, demand, costs, required)
    existing = candidates.loc[candidates["existing_units"] > 0].set_index("site_id")["existing_units"]
    model = CapacitatedMCLP.from_cost_matrix(
        costs[["demand_id", "site_id", "cost"]],
        demand_ids=demand["demand_id"], site_ids=candidates["site_id"],
        weights=demand["weight"].to_numpy(), radius=problem.radius,
        total_units=None if spec.open_target else problem.target,
        capacity_per_unit=candidates["capacity_per_unit"].to_numpy(dtype=float),
        min_units=candidates["min_units"].to_numpy(), max_units=candidates["max_units"].to_numpy(),
        existing=existing if len(existing) else None, required=required,
        unit_name="new stations" if spec.is_station else "chargers", blocks=problem.blocks,
        site_cost=candidates["site_cost_cny"].to_numpy(dtype=float),
        unit_cost=candidates["unit_cost_cny"].to_numpy(dtype=float),
        objective=spec.objective, min_coverage=spec.min_coverage,
        forced_open=candidates["forced_open"].to_numpy(dtype=bool),
        period_units=problem.period_targets or None,
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
    warn_unreachable_districts(tier, demand, costs, problem.radius_text, spec.demand_unit)
    if result.status == "feasible" and (result.gap is None or result.gap > solver.mip_gap + 1e-9):
        gap = "unknown" if result.gap is None else f"{100 * result.gap:.2f} %"
        warnings.warn(f"{tier} tier: time limit of {solver.time_limit_s:g} s reached; the plan is feasible "
                      f"with a gap of {gap}, not proven optimal (raise solver.time_limit_s)", stacklevel=2)
    return tier_plan(problem, demand, costs, result)


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


def _check_reachable(problem: TierProblem, demand: pd.DataFrame, costs: pd.DataFrame, required: list) -> None:
    reachable = set(costs["demand_id"])
    lost = demand[demand["demand_id"].isin(required) & ~demand["demand_id"].isin(reachable)]
    if len(lost):
        first = lost.iloc[0]
        name = f" ({first['name']})" if "name" in lost and first["name"] else ""
        spec = problem.spec
        key = "radius_s" if spec.cost == "time" else "radius_m"
        section = spec.name if spec.builtin else f"tiers.{spec.name}"
        msg = (f"{spec.name} tier: {len(lost)} place(s) that must be reachable have no candidate within "
               f"{problem.radius_text}, e.g. {first['demand_id']}{name} in district {first['district_code']}; "
               f"raise {section}.{key} or add candidates there")
        raise InfeasibleError(msg)


def tier_plan(problem: TierProblem, demand: pd.DataFrame, costs: pd.DataFrame, result: SolveResult) -> TierPlan:
    """The solved tier as tables: sites with units, demand served and rank; demand points with what they got."""
    candidates = problem.sites
    column = "time_s" if problem.spec.cost == "time" else "distance_m"
    assignment = result.assignment.rename(columns={"cost": column}).merge(
        costs[["demand_id", "site_id", "straight_m"]], on=["demand_id", "site_id"], how="left")
    served = assignment.groupby("demand_id")["amount"].sum()
    demand_out = pd.DataFrame({
        "demand_id": demand["demand_id"],
        "district_code": demand["district_code"],
        "demand": demand["weight"],
        "served": demand["demand_id"].map(served).fillna(0.0).to_numpy(),
    })
    if "township_code" in demand:  # the township table sums demand by township
        demand_out["township_code"] = demand["township_code"].to_numpy()
    weights = costs["demand_id"].map(demand.set_index("demand_id")["weight"])
    in_reach = weights.groupby(costs["site_id"]).sum()
    solved = result.sites.set_index("site_id")
    sites = candidates.drop(columns=list(SITE_COLUMNS))
    sites["selected"] = sites["site_id"].map(solved["selected"]).fillna(False).astype(bool).to_numpy()
    existing = sites["site_id"].map(solved["existing"]).fillna(False).astype(bool).to_numpy()
    sites["status"] = np.where(existing, "existing", np.where(sites["selected"], "new", "candidate"))
    sites["units"] = sites["site_id"].map(solved["units"]).fillna(0).astype(np.int64).to_numpy()
    sites["capacity"] = sites["site_id"].map(solved["capacity"]).fillna(0.0).to_numpy()
    sites["demand_served"] = sites["site_id"].map(solved["load"]).fillna(0.0).to_numpy()
    sites["demand_in_reach"] = sites["site_id"].map(in_reach).fillna(0.0).to_numpy()
    sites["score"] = sites["demand_in_reach"]
    if "cost" in solved:
        sites["cost_cny"] = sites["site_id"].map(solved["cost"]).fillna(0.0).round(0).to_numpy()
    order = sites.sort_values(["selected", "demand_served", "demand_in_reach", "site_id"],
                              ascending=[False, False, False, True]).index
    sites.loc[order, "rank"] = np.arange(1, len(sites) + 1)
    sites["rank"] = sites["rank"].astype(np.int64)
    phases = _phases(problem, result)
    if phases is not None:
        first = phases[phases["units"] > 0].groupby("site_id")["year"].min()
        sites["year"] = sites["site_id"].map(first).astype("Int64").to_numpy()
    return TierPlan(spec=problem.spec, target=problem.target, sites=sites, demand=demand_out, assignment=assignment,
                    result=result, hubs=problem.hubs, phases=phases, economics=problem.economics,
                    existing_units=problem.existing_units, stated_target=problem.stated_target)


def _phases(problem: TierProblem, result: SolveResult) -> pd.DataFrame | None:
    """Units per site at each year's end (cumulative), for the sites that have any by the last year."""
    if not problem.years:
        return None
    site_ids = result.sites["site_id"].to_numpy()
    per_period = result.extra.get("period_units") or [result.sites["units"].to_numpy()]
    frames = [pd.DataFrame({"site_id": site_ids, "year": year, "units": np.asarray(units, dtype=np.int64)})
              for year, units in zip(problem.years, per_period, strict=True)]
    table = pd.concat(frames, ignore_index=True)
    kept = set(site_ids[np.asarray(per_period[-1]) > 0])
    return table[table["site_id"].isin(kept)].reset_index(drop=True)
