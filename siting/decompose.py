"""Decomposed plans: each charger tier split by district, the districts solved as Dask tasks.

For a region too large for one model per tier (a province, or a city on a
fine grid), :func:`decompose_plan` runs the plan's stages as
:func:`~siting.plan.run_plan` does, but solves each charger tier in three
steps:

1. **Apportion** the tier's target to districts with a small exact model
   (:func:`apportion`): an integer program over the districts that places
   the target exactly, within what each district's candidates can hold
   (whole sites of ``min..max`` chargers) and no lower than its rural towns
   need, as close as possible (least total absolute deviation) to shares
   proportional to the demand each district's candidates can reach — capped
   at what that demand can use, the rest spread by spare capacity.
2. **Solve** each district as its own task: :func:`~siting.allocate.allocate`
   on the district's part of the tier's problem with the district's share of
   the target. A demand point that no candidate of its own district reaches
   joins the district of its nearest candidate (so a rural town served from
   across a border is still required to be reached).
3. **Merge** the districts' results into one :class:`~siting.allocate.TierPlan`
   per tier, so the plan exports and maps like any other.

A station tier places a handful of stations over a radius that spans
districts: it is solved whole, as one task; so is a tier with existing sites,
per-site limits that differ, or a constraint block that cannot be split by
district (a budget), rather than split wrongly. The merged tier's status is
``feasible`` with no gap: the districts' bounds do not bound the whole
problem (service across district borders and the apportionment are fixed).
Per-district targets, statuses and gaps are in ``result.extra["districts"]``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pulp

from siting._errors import InfeasibleError
from siting.allocate import TierPlan, allocate, warn_unreachable_districts
from siting.models import SolveResult
from siting.models._base import solve_problem
from siting.plan import Plan, plan_with
from siting.problem import SITE_COLUMNS, TierProblem
from siting.scenario import Scenario, Solver

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

_UNREACHABLE = "but no candidate within"  # allocate's per-district warning, given once for the whole tier


def decompose_plan(scenario: Scenario, *, client: Client | None = None,
                   report: Callable[[str], None] | None = None) -> Plan:
    """Solve a scenario tier by tier and district by district (see the module's description).

    Parameters
    ----------
    scenario : Scenario
    client : distributed.Client, optional
        Where the district models are solved, one task each. None: one after
        another in this process (the same plan).
    report : callable, optional
        Called with the name of each stage as it starts.

    Raises
    ------
    DataError, InfeasibleError, SolverError
        As :func:`~siting.plan.run_plan`; an infeasible district is named.
    """
    solver = _DistrictSolver(client)
    plan = plan_with(scenario, solver.allocate, report=report)
    if report:
        report("districts")
    start = time.perf_counter()
    tiers = {tier: solver.resolve(pending) for tier, pending in plan.tiers.items()}
    timings = {**plan.timings_s, "districts": round(time.perf_counter() - start, 3)}
    return dataclasses.replace(plan, tiers=tiers, timings_s=timings)


def apportion(target: int, *, reach: pd.Series, sites: pd.Series, min_units: int, max_units: int,
              capacity_per_unit: float, min_sites: pd.Series | None = None, name: str = "tier") -> pd.Series:
    """Split ``target`` units among districts, exactly, by an integer program.

    Parameters
    ----------
    target : int
        Units to place in all (new chargers).
    reach : pandas.Series
        Per district: demand its candidates can reach (demand units).
    sites : pandas.Series
        Per district: candidate sites.
    min_units, max_units : int
        Units per open site.
    capacity_per_unit : float
        Demand one unit serves.
    min_sites : pandas.Series, optional
        Per district: sites it must open (to reach its rural towns).

    Returns
    -------
    pandas.Series
        Units per district (index of ``reach``), summing to ``target``.

    Raises
    ------
    InfeasibleError
        If no split fits the districts' capacities and minimums.
    """
    districts = list(reach.index)
    sites = sites.reindex(districts, fill_value=0).astype(int)
    min_sites = (min_sites if min_sites is not None else pd.Series(dtype=int)).reindex(districts, fill_value=0)
    share = _shares(target, reach.astype(float), useful=np.ceil(reach / capacity_per_unit), hold=sites * max_units)
    problem = pulp.LpProblem(f"apportion_{name}", pulp.LpMinimize)
    units = {d: pulp.LpVariable(f"units_{d}", lowBound=0, upBound=int(sites[d]) * max_units, cat="Integer")
             for d in districts}
    opened = {d: pulp.LpVariable(f"sites_{d}", lowBound=int(min_sites[d]), upBound=int(sites[d]), cat="Integer")
              for d in districts}
    above = {d: pulp.LpVariable(f"above_{d}", lowBound=0) for d in districts}
    below = {d: pulp.LpVariable(f"below_{d}", lowBound=0) for d in districts}
    problem += pulp.lpSum(above[d] + below[d] for d in districts)
    problem += pulp.lpSum(units.values()) == target, "target"
    for d in districts:
        # whole sites: the district's units are those of its open sites, min..max each
        problem += units[d] >= min_units * opened[d], f"site_min_{d}"
        problem += units[d] <= max_units * opened[d], f"site_max_{d}"
        problem += units[d] - float(share[d]) == above[d] - below[d], f"share_{d}"
    feasible = (min_sites <= sites).all() and int(sites.sum()) * max_units >= target
    if not feasible or solve_problem(problem, solver="highs", mip_gap=0.0).status != "optimal":
        msg = f"{name} tier: no split of {target:,} units over the districts fits their candidates and towns"
        raise InfeasibleError(msg)
    return pd.Series({d: int(round(units[d].value())) for d in districts}, dtype=int)


def _shares(target: int, reach: pd.Series, *, useful: pd.Series, hold: pd.Series) -> pd.Series:
    """Fractional shares: proportional to ``reach``, capped at ``min(useful, hold)``; any rest by spare ``hold``."""
    cap = np.minimum(useful, hold).astype(float)
    share = pd.Series(0.0, index=reach.index)
    free = cap > 0
    left = float(target)
    while left > 1e-9 and free.any():  # water-filling: districts at their cap drop out, the rest share again
        weights = reach[free] if reach[free].sum() > 0 else cap[free]
        proposal = left * weights / weights.sum()
        room = cap[free] - share[free]
        capped = proposal >= room
        if not capped.any():
            share[free] += proposal
            left = 0.0
            break
        share[room[capped].index] += room[capped]
        left -= float(room[capped].sum())
        free[room[capped].index] = False
    if left > 1e-9:
        spare = (hold - share).clip(lower=0)
        if spare.sum() > 0:
            share += left * spare / spare.sum()
    return share


@dataclass
class _Pending:
    """A tier whose district models are queued: what :meth:`_DistrictSolver.resolve` needs to merge them."""

    problem: TierProblem
    whole: Any = None
    demand: pd.DataFrame | None = None
    costs: pd.DataFrame | None = None
    shares: pd.DataFrame | None = None
    parts: dict = field(default_factory=dict)


def _solve_whole(problem: TierProblem) -> bool:
    """Whether a tier is solved as one model: stations, existing sites, uneven site limits, unsplittable blocks."""
    sites = problem.sites
    uniform = all(sites[c].nunique() <= 1 for c in ("min_units", "max_units", "capacity_per_unit"))
    return (problem.spec.is_station or bool((sites["existing_units"] > 0).any()) or not uniform
            or problem.target == 0 or sites["district_code"].nunique() < 2 or len(problem.period_targets) > 1
            or bool(sites["forced_open"].any()) or any(not block.splittable for block in problem.blocks))


class _DistrictSolver:
    """Queues each tier's district models on Dask (or solves them here) and merges the results."""

    def __init__(self, client: Client | None):
        self.client = client
        self._network_futures: dict[int, Any] = {}

    def _submit(self, function, *args, priority: int = 0, **kwargs):
        if self.client is None:
            return _Done(function(*args, **kwargs))
        return self.client.submit(function, *args, pure=False, priority=priority, **kwargs)

    def _network(self, network):
        # one copy of the road network per worker, not one per task
        if network is None or self.client is None:
            return network
        if id(network) not in self._network_futures:
            self._network_futures[id(network)] = self.client.scatter(network, broadcast=True)
        return self._network_futures[id(network)]

    def allocate(self, problem: TierProblem, solver: Solver) -> _Pending:
        """Take :func:`~siting.allocate.allocate`'s arguments; queue the tier's models."""
        pending = _Pending(problem=problem)
        spec, tier, target = problem.spec, problem.name, problem.target
        network = self._network(problem.network)
        local = dataclasses.replace(problem, network=None)  # the network goes to a task as its own argument
        if _solve_whole(problem):
            pending.whole = self._submit(_solve, local, network, None, solver)
            return pending
        required = list(problem.required)
        demand = problem.demand
        demand = demand[(demand["weight"] > 0) | demand["demand_id"].isin(required)].reset_index(drop=True)
        candidates = problem.sites
        costs = problem.costs(demand)
        warn_unreachable_districts(tier, demand, costs, problem.radius_text, spec.demand_unit)
        home = _home_districts(demand, candidates, costs)
        shares = _district_table(demand, home, candidates, costs, required)
        try:
            shares["units"] = apportion(target, reach=shares["reach"], sites=shares["sites"],
                                        min_units=int(candidates["min_units"].iloc[0]),
                                        max_units=int(candidates["max_units"].iloc[0]),
                                        capacity_per_unit=float(candidates["capacity_per_unit"].iloc[0]),
                                        min_sites=shares["min_sites"], name=tier)
        except InfeasibleError:
            # no split fits: the whole model explains why (or solves it, if only the split was too tight)
            log.warning("%s tier: no district split fits; solving the tier whole", tier)
            pending.whole = self._submit(_solve, local, network, None, solver)
            return pending
        pending.demand, pending.costs, pending.shares = demand, costs, shares
        site_district = candidates["district_code"].to_numpy()
        local = dataclasses.replace(local, demand=demand)
        for code, units in shares["units"].items():
            if units == 0:
                continue
            mine = (home == code).to_numpy()
            district_required = [r for r in demand.loc[mine, "demand_id"] if r in set(required)]
            part = local.subset(mine, site_district == code, target=int(units), required=district_required)
            # larger models first (priority), so that the longest tasks do not start last
            pending.parts[code] = self._submit(_solve, part, network, code, solver,
                                               priority=int(mine.sum() + (site_district == code).sum()))
        return pending

    def resolve(self, pending: _Pending) -> TierPlan:
        """The tier's plan: the whole model's, or the districts' merged."""
        if pending.whole is not None:
            plan, messages = pending.whole.result()
            _rewarn(messages, keep_unreachable=True)
            return plan
        parts = {}
        for code, future in pending.parts.items():
            parts[code], messages = future.result()
            _rewarn(messages, keep_unreachable=False)
        return _merge(pending, parts)


@dataclass(frozen=True)
class _Done:
    """A result computed in this process, read like a Dask future."""

    value: Any

    def result(self) -> Any:
        return self.value


def _solve(problem: TierProblem, network: Any, district: str | None,
           solver: Solver) -> tuple[TierPlan, list[str]]:
    """One model (a district's, or a whole tier's): the Dask task. Returns the plan and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plan = allocate(dataclasses.replace(problem, network=network), solver)
        except InfeasibleError as exc:
            if district is None:
                raise
            msg = f"district {district} ({problem.target:,} of the tier's units): {exc}"
            raise InfeasibleError(msg) from None
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if district is not None:
        messages = [f"district {district}: {m}" if _UNREACHABLE not in m else m for m in messages]
    return plan, messages


def _rewarn(messages: list[str], *, keep_unreachable: bool) -> None:
    for message in dict.fromkeys(messages):
        if keep_unreachable or _UNREACHABLE not in message:
            warnings.warn(message, UserWarning, stacklevel=3)


def _home_districts(demand: pd.DataFrame, candidates: pd.DataFrame, costs: pd.DataFrame) -> pd.Series:
    """Per demand point, the district whose model serves it: its own if a candidate there reaches it,
    else the district of its nearest candidate (else its own: nothing reaches it)."""
    own = demand.set_index("demand_id")["district_code"]
    site_district = candidates.set_index("site_id")["district_code"]
    pairs = costs[["demand_id", "site_id", "cost"]].copy()
    pairs["site_district"] = pairs["site_id"].map(site_district).to_numpy()
    at_home = pairs["site_district"].to_numpy() == pairs["demand_id"].map(own).to_numpy()
    served_at_home = set(pairs.loc[at_home, "demand_id"])
    away = pairs[~pairs["demand_id"].isin(served_at_home)].sort_values(["demand_id", "cost", "site_id"])
    nearest = away.drop_duplicates("demand_id").set_index("demand_id")["site_district"]
    away_home = demand["demand_id"].map(nearest)
    home = demand["district_code"].astype(object).copy()
    home[away_home.notna()] = away_home[away_home.notna()]
    return home.rename("home")


def _district_table(demand, home, candidates, costs, required) -> pd.DataFrame:
    """Per district: candidate sites, demand its candidates reach, and sites its rural towns need."""
    site_district = candidates.set_index("site_id")["district_code"]
    home_of = pd.Series(home.to_numpy(), index=demand["demand_id"].to_numpy())
    inside = costs[costs["site_id"].map(site_district).to_numpy() == costs["demand_id"].map(home_of).to_numpy()]
    weight = demand.set_index("demand_id")["weight"]
    reached = inside["demand_id"].unique()
    reach = weight.loc[reached].groupby(home_of.loc[reached].to_numpy()).sum()
    codes = sorted(set(candidates["district_code"]) | set(home))
    table = pd.DataFrame(index=pd.Index(codes, name="district_code"))
    table["sites"] = candidates.groupby("district_code").size().reindex(codes, fill_value=0)
    table["reach"] = reach.reindex(codes, fill_value=0.0)
    table["min_sites"] = 0
    towns = inside[inside["demand_id"].isin(set(required))]
    for code, pairs in towns.groupby(towns["demand_id"].map(home_of)):
        table.loc[code, "min_sites"] = _cover_size(pairs)
    return table


def _cover_size(pairs: pd.DataFrame) -> int:
    """Sites that reach every demand point of ``pairs`` (greedy set cover: at least the fewest possible,
    so the district is never given too few units to reach all its towns)."""
    open_points = set(pairs["demand_id"])
    reach = pairs.groupby("site_id")["demand_id"].apply(set)
    chosen = 0
    while open_points:
        best = max(reach.index, key=lambda s: (len(reach[s] & open_points), s))
        open_points -= reach[best]
        chosen += 1
    return chosen


def _merge(pending: _Pending, parts: dict[str, TierPlan]) -> TierPlan:
    """One tier plan from the districts' plans, in the whole tier's tables and order."""
    problem = pending.problem
    demand, costs = pending.demand, pending.costs
    solved = pd.concat([p.sites for p in parts.values()], ignore_index=True).set_index("site_id")
    sites = problem.sites.drop(columns=list(SITE_COLUMNS))
    sites["selected"] = sites["site_id"].map(solved["selected"]).fillna(False).astype(bool).to_numpy()
    sites["status"] = np.where(sites["selected"], "new", "candidate")
    sites["units"] = sites["site_id"].map(solved["units"]).fillna(0).astype(np.int64).to_numpy()
    sites["capacity"] = sites["site_id"].map(solved["capacity"]).fillna(0.0).to_numpy()
    sites["demand_served"] = sites["site_id"].map(solved["demand_served"]).fillna(0.0).to_numpy()
    # demand in reach over the whole tier's demand, as the whole model reports it
    weights = costs["demand_id"].map(demand.set_index("demand_id")["weight"])
    sites["demand_in_reach"] = sites["site_id"].map(weights.groupby(costs["site_id"]).sum()).fillna(0.0).to_numpy()
    sites["score"] = sites["demand_in_reach"]
    order = sites.sort_values(["selected", "demand_served", "demand_in_reach", "site_id"],
                              ascending=[False, False, False, True]).index
    sites.loc[order, "rank"] = np.arange(1, len(sites) + 1)
    sites["rank"] = sites["rank"].astype(np.int64)
    served = pd.concat([p.demand for p in parts.values()], ignore_index=True).set_index("demand_id")["served"]
    demand_out = pd.DataFrame({"demand_id": demand["demand_id"], "district_code": demand["district_code"],
                               "demand": demand["weight"],
                               "served": demand["demand_id"].map(served).fillna(0.0).to_numpy()})
    if "township_code" in demand:
        demand_out["township_code"] = demand["township_code"].to_numpy()
    assignment = pd.concat([p.assignment for p in parts.values()], ignore_index=True)
    results = [p.result for p in parts.values()]
    shares = pending.shares.copy()
    shares["status"] = pd.Series({code: p.result.status for code, p in parts.items()})
    shares["gap"] = pd.Series({code: p.result.gap for code, p in parts.items()}, dtype=float)
    result = SolveResult(
        model=f"{results[0].model} by district", status="feasible",
        objective=float(sum(r.objective or 0.0 for r in results)), bound=None, gap=None,
        selected=[s for r in results for s in r.selected],
        assignment=pd.concat([r.assignment for r in results], ignore_index=True),
        sites=pd.concat([r.sites for r in results], ignore_index=True),
        solver=f"{results[0].solver} ({len(parts)} districts)",
        build_time_s=sum(r.build_time_s for r in results), solve_time_s=sum(r.solve_time_s for r in results),
        n_variables=sum(r.n_variables for r in results), n_constraints=sum(r.n_constraints for r in results),
        extra={"districts": shares.reset_index()},
    )
    if "cost_cny" in solved:
        sites["cost_cny"] = sites["site_id"].map(solved["cost_cny"]).fillna(0.0).to_numpy()
    return TierPlan(spec=problem.spec, target=problem.target, sites=sites, demand=demand_out, assignment=assignment,
                    result=result, hubs=problem.hubs, economics=problem.economics,
                    existing_units=problem.existing_units, stated_target=problem.stated_target)
