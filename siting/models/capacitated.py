"""Capacitated maximal covering with integer unit counts per site.

The model every tier of a plan uses: open sites, give each open site between
``min_units`` and ``max_units`` units (chargers, or hydrogen stations), let each
unit serve at most ``capacity_per_unit`` of demand weight, assign demand only to
sites within ``radius``, place exactly ``total_units`` new units, and maximise
demand served — coverage first, then cost, then distance::

    max  Σ_(i,j) x_ij · (1 − distance_weight · c_ij / radius) − λ · C
    s.t. Σ_j x_ij ≤ w_i                      every demand point i
         Σ_i x_ij ≤ capacity_per_unit · n_j  every site j
         x_ij ≤ w_i · y_j                    every pair the rows above leave weak
         min_units · y_j ≤ n_j ≤ max_units · y_j
         Σ_j n_j = total_units               (new sites only)
         Σ_(j within radius of i) y_j ≥ 1    every required demand point i
         y_j = 1                             every site the planner requires
         n_j = existing units, y_j = 1       every existing site j
         C = Σ_j site_cost_j · y_j + unit_cost_j · n_j   (new sites)
         x ≥ 0 only for pairs with c_ij ≤ radius; y binary; n integer

A roll-out (``period_units``: cumulative new units at the end of each
period) is solved backwards: the final period's plan is this model; each
earlier period then keeps the part of the next period's plan (no site opens
later with fewer units, ``n_jt ≤ n_j,t+1``) that covers most with its total —
so sites never close, chargers never decrease, each period's total is exact,
and the early periods serve the most valuable demand. A joint model of all
periods was measured slower by far (docs/model.md). With ``distance_weight < 1`` every unit
of demand served adds to the objective; ``λ`` is set so that the cost of a
minimal new site weighs as much as ``cost_weight`` × what its minimal units
serve: coverage decides, then cost (fewer, fuller sites), then distance.
With ``objective = "cost"`` the model minimises ``C`` subject to covering at
least ``min_coverage`` of the demand weight (coverage and distance only break
ties), and ``total_units`` may be None (as many units as that takes).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pulp
from scipy.sparse import csr_array

from siting._errors import InfeasibleError
from siting.models._base import (
    OPTIMALITY_TOLERANCE,
    SolveResult,
    SparseCost,
    relative_gap,
    solve_problem,
)
from siting.models._coverage_reduce import merge_identical_rows
from siting.models._geometry import cost_from_geodataframes
from siting.models._open_search import OpenSiteSearch, plan_for_open_sites
from siting.models._value_rows import add_value_rows
from siting.models.blocks import Block, ModelVars

#: Demand points are merged (:meth:`CapacitatedMCLP._merged_demand`) only when at most this share of them is
#: left: a model whose points are nearly all distinct (every plan tier, where points are cells with their own
#: distances) is solved as it is.
MERGE_AT_MOST = 0.5

#: The linking rows (:meth:`CapacitatedMCLP._linked_pairs`) are added only up to this many: each is a row, and
#: at 10⁵ customers with a distance weight (370,000 rows more) HiGHS's root LP did not finish in 60 s.
MAX_LINK_ROWS = 200_000


@dataclass(frozen=True)
class CapacitatedMCLP:
    """Capacitated maximal covering location with integer units per site.

    Build with :meth:`from_cost_matrix`; solve with :meth:`solve`.
    """

    cost: SparseCost
    weights: np.ndarray
    radius: float
    total_units: int | None
    min_units: np.ndarray
    max_units: np.ndarray
    capacity_per_unit: np.ndarray
    existing_units: np.ndarray
    required: np.ndarray
    distance_weight: float
    unit_name: str = "units"
    #: Rules beyond the core model (:mod:`siting.models.blocks`): budgets, decisions, zone caps …
    blocks: tuple[Block, ...] = ()
    #: Cost of opening each new site and of each new unit at it (CNY; 0: costs play no part).
    site_cost: np.ndarray | None = None
    unit_cost: np.ndarray | None = None
    #: "coverage" (coverage, then cost, then distance) or "cost" (least cost covering min_coverage).
    objective: str = "coverage"
    min_coverage: float = 0.0
    cost_weight: float = 0.03
    #: Sites that must be open in the final period (a planner's decision).
    forced_open: np.ndarray | None = None
    #: Cumulative new units at the end of each period; None: one period of ``total_units``.
    period_units: tuple[int, ...] | None = None

    @property
    def periods(self) -> tuple[int, ...]:
        """Cumulative new units per period (one period: ``(total_units,)``)."""
        return self.period_units if self.period_units else (self.total_units,)

    @property
    def has_costs(self) -> bool:
        return self.site_cost is not None and bool(np.any(self.site_cost > 0) or np.any(self.unit_cost > 0))

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        *,
        weights: Any,
        radius: float,
        total_units: int,
        capacity_per_unit: float | Any,
        min_units: int | Any = 1,
        max_units: int | Any = 1,
        existing: Mapping | pd.Series | None = None,
        required: Any | None = None,
        distance_weight: float = 0.05,
        demand_ids: Any | None = None,
        site_ids: Any | None = None,
        unit_name: str = "units",
        blocks: Any = (),
        site_cost: float | Any = 0.0,
        unit_cost: float | Any = 0.0,
        objective: str = "coverage",
        min_coverage: float = 0.0,
        cost_weight: float = 0.03,
        forced_open: Any | None = None,
        period_units: Any | None = None,
    ) -> CapacitatedMCLP:
        """Build the model from a cost matrix or a long cost table.

        Parameters
        ----------
        cost : array-like or pandas.DataFrame
            Dense demand × site matrix or long table ``demand_id, site_id, cost``
            (see :meth:`SparseCost.from_input`). Pairs beyond ``radius`` are dropped.
        weights : array-like
            Demand weight per demand point (sessions/day, EVs, kg/day …), in
            the order of the demand ids.
        radius : float
            Service radius, in the cost's unit.
        total_units : int or None
            Number of new units to place, exactly (None with ``objective = "cost"``:
            as many as the least-cost plan needs).
        capacity_per_unit : float or array-like
            Demand weight one unit serves (scalar or one value per site).
        min_units, max_units : int or array-like
            Units per open new site (scalar or per site).
        existing : mapping or Series, optional
            ``site_id -> units`` of existing sites: kept open with those units
            and not counted in ``total_units``.
        required : sequence, optional
            Demand ids that must have at least one open site within ``radius``.
        distance_weight : float
            Weight of the distance term relative to coverage, in [0, 1).
        unit_name : str
            What a unit is ("chargers", "new stations"), for messages.
        blocks : sequence of Block
            Further rules (:mod:`siting.models.blocks`), each with its rows,
            feasibility check and greedy repair.
        site_cost, unit_cost : float or array-like
            Cost of opening a new site and of each new unit, per site (CNY).
        objective : {"coverage", "cost"}
            Most coverage (then least cost, then distance), or least cost
            covering at least ``min_coverage`` of the demand weight.
        min_coverage : float
            Share of the total demand weight to cover (``objective = "cost"``).
        cost_weight : float
            With ``objective = "coverage"``: the cost of a minimal new site
            weighs as much as this share of what its minimal units serve.
        forced_open : array-like of bool, optional
            Per site: must be open (in the final period).
        period_units : sequence of int, optional
            Cumulative new units at the end of each period, non-decreasing,
            the last equal to ``total_units``.
        """
        table = SparseCost.from_input(cost, demand_ids=demand_ids, site_ids=site_ids, max_cost=radius)
        n_sites = table.n_sites
        weights = _per_item(weights, table.n_demand, "weights")
        existing_units = np.zeros(n_sites, dtype=np.int64)
        if existing is not None:
            existing = pd.Series(existing)
            positions = table.site_ids.get_indexer(existing.index)
            if (positions < 0).any():
                missing = list(existing.index[positions < 0])[:5]
                msg = f"existing sites {missing} are not among the cost table's sites"
                raise ValueError(msg)
            existing_units[positions] = existing.to_numpy(dtype=np.int64)
        required_mask = np.zeros(table.n_demand, dtype=bool)
        if required is not None:
            positions = table.demand_ids.get_indexer(pd.Index(required))
            if (positions < 0).any():
                msg = "required demand ids are not among the cost table's demand ids"
                raise ValueError(msg)
            required_mask[positions] = True
        if not 0 <= distance_weight < 1:
            msg = f"distance_weight must be in [0, 1); got {distance_weight}"
            raise ValueError(msg)
        if objective not in ("coverage", "cost"):
            msg = f"objective must be 'coverage' or 'cost'; got {objective!r}"
            raise ValueError(msg)
        if total_units is None and objective != "cost":
            msg = "total_units may be None only with objective='cost'"
            raise ValueError(msg)
        periods = None
        if period_units is not None:
            periods = tuple(int(p) for p in period_units)
            if any(b < a for a, b in zip(periods, periods[1:], strict=False)) or periods[-1] != total_units:
                msg = f"period_units must be non-decreasing and end at total_units; got {periods}"
                raise ValueError(msg)
            periods = periods if len(periods) > 1 else None
        forced = np.zeros(n_sites, dtype=bool)
        if forced_open is not None:
            forced = np.asarray(forced_open, dtype=bool)
            if forced.shape != (n_sites,):
                msg = f"forced_open must have one value per site ({n_sites}); got shape {forced.shape}"
                raise ValueError(msg)
        return cls(
            cost=table,
            weights=weights,
            radius=float(radius),
            total_units=None if total_units is None else int(total_units),
            min_units=_per_item(min_units, n_sites, "min_units").astype(np.int64),
            max_units=_per_item(max_units, n_sites, "max_units").astype(np.int64),
            capacity_per_unit=_per_item(capacity_per_unit, n_sites, "capacity_per_unit"),
            existing_units=existing_units,
            required=required_mask,
            distance_weight=float(distance_weight),
            unit_name=unit_name,
            blocks=tuple(blocks),
            site_cost=np.where(existing_units > 0, 0.0, _per_item(site_cost, n_sites, "site_cost")),
            unit_cost=np.where(existing_units > 0, 0.0, _per_item(unit_cost, n_sites, "unit_cost")),
            objective=objective,
            min_coverage=float(min_coverage),
            cost_weight=float(cost_weight),
            forced_open=forced & (existing_units == 0),
            period_units=periods,
        )

    @classmethod
    def from_geodataframes(
        cls,
        demand: Any,
        sites: Any,
        *,
        weight_col: str,
        radius: float,
        total_units: int,
        capacity_per_unit: float | Any,
        existing_units_col: str | None = None,
        demand_id_col: str | None = None,
        site_id_col: str | None = None,
        **options: Any,
    ) -> CapacitatedMCLP:
        """Build from point layers with straight-line distances in metres.

        Parameters
        ----------
        demand, sites : geopandas.GeoDataFrame
            Demand points and candidate sites in one projected (metric) CRS.
        weight_col : str
            Column of ``demand`` with the demand weights.
        radius : float
            Service radius, metres (straight line).
        existing_units_col : str, optional
            Column of ``sites`` with the units of existing sites (0 or empty: a candidate).
        **options
            ``min_units``, ``max_units``, ``required``, ``distance_weight``,
            ``unit_name``, as for :meth:`from_cost_matrix`.

        Raises
        ------
        siting.DataError
            If a layer has a geographic or missing CRS, or the CRSs differ.
        """
        table = cost_from_geodataframes(demand, sites, demand_id_col=demand_id_col, site_id_col=site_id_col,
                                        max_distance_m=radius)
        existing = None
        if existing_units_col is not None:
            units = pd.Series(sites[existing_units_col].fillna(0).to_numpy(dtype=np.int64), index=table.site_ids)
            existing = units[units > 0]
        return cls.from_cost_matrix(table, weights=demand[weight_col].to_numpy(dtype=float), radius=radius,
                                    total_units=total_units, capacity_per_unit=capacity_per_unit,
                                    existing=existing, **options)

    # ------------------------------------------------------------------ checks
    def check_feasible(self) -> None:
        """Refuse targets that no assignment can meet, saying by how much.

        Raises
        ------
        InfeasibleError
            If the new sites cannot hold ``total_units``, a required demand
            point has no site within the radius, the sites the planner requires
            need more units than the target, or a block's rule cannot hold.
        """
        new = self.existing_units == 0
        room = int(self.max_units[new].sum())
        total = self.total_units
        if total is not None and total > room:
            msg = (f"target of {total:,} {self.unit_name} exceeds the {room:,} that the "
                   f"{int(new.sum()):,} candidate sites can hold (short by {total - room:,}); "
                   "add candidates or raise the maximum per site")
            raise InfeasibleError(msg)
        openable = new & (self.max_units > 0)
        if total is not None and 0 < total and openable.any() and total < int(self.min_units[openable].min()):
            msg = (f"target of {total} {self.unit_name} is below the minimum of "
                   f"{int(self.min_units[openable].min())} per open site; lower the minimum per site")
            raise InfeasibleError(msg)
        forced_units = int(np.maximum(self.min_units, 1)[self.forced_open].sum())
        if total is not None and forced_units > total:
            msg = (f"the {int(self.forced_open.sum()):,} required sites need at least {forced_units:,} "
                   f"{self.unit_name}, more than the target of {total:,} (over by {forced_units - total:,}); "
                   "require fewer sites or fewer units at them, or raise the target")
            raise InfeasibleError(msg)
        uncovered = self.required & ~self._covered_by_existing()
        if uncovered.any() and total == 0:
            first = self.cost.demand_ids[np.flatnonzero(uncovered)[0]]
            msg = (f"{int(uncovered.sum())} required demand point(s) (e.g. {first}) need a site within "
                   f"{self.radius:g}, but the target of 0 {self.unit_name} opens none; raise the target")
            raise InfeasibleError(msg)
        unreachable = self.unreachable_required()
        if len(unreachable):
            shown = ", ".join(map(str, unreachable[:5]))
            msg = (f"{len(unreachable)} required demand point(s) have no candidate site within "
                   f"{self.radius:g}: {shown}; add candidates near them or raise the radius")
            raise InfeasibleError(msg)
        if self.objective == "cost":
            reachable = np.zeros(self.cost.n_demand, dtype=bool)
            reachable[self.cost.demand] = True
            most = float(self.weights[reachable].sum()) / max(float(self.weights.sum()), 1e-12)
            if most + 1e-9 < self.min_coverage:
                msg = (f"min_coverage of {100 * self.min_coverage:.1f} % is beyond reach: only "
                       f"{100 * most:.1f} % of the demand has a candidate within {self.radius:g}; "
                       "lower min_coverage, raise the radius or add candidates")
                raise InfeasibleError(msg)
        for block in self.blocks:
            block.check(self)

    def _covered_by_existing(self) -> np.ndarray:
        covered = np.zeros(self.cost.n_demand, dtype=bool)
        covered[self.cost.demand[self.existing_units[self.cost.site] > 0]] = True
        return covered

    def unreachable_required(self) -> list:
        """Required demand ids with no site within the radius."""
        reachable = np.zeros(self.cost.n_demand, dtype=bool)
        reachable[self.cost.demand] = True
        return list(self.cost.demand_ids[self.required & ~reachable])

    # ------------------------------------------------------------------- costs
    def plan_cost(self, units: np.ndarray) -> float:
        """Cost of the new sites and units of a plan (units per site), CNY."""
        if self.site_cost is None:
            return 0.0
        new = self.existing_units == 0
        opened = new & (units > 0)
        return float(self.site_cost[opened].sum() + (self.unit_cost[new] * units[new]).sum())

    @property
    def cost_per_unit_weight(self) -> float:
        """λ: objective units per CNY (see the module's description); 0 without costs."""
        if not self.has_costs:
            return 0.0
        new = (self.existing_units == 0) & (self.max_units > 0)
        if not new.any():
            return 0.0
        least = np.maximum(self.min_units[new], 1)
        site = self.site_cost[new] + least * self.unit_cost[new]
        serves = least * self.capacity_per_unit[new]
        positive = site > 0
        if not positive.any():
            return 0.0
        if self.objective == "cost":
            return 1.0 / float(np.median(site[positive]))
        return self.cost_weight * float(np.median(serves[positive])) / float(np.median(site[positive]))

    @property
    def _unit_cost_constant(self) -> bool:
        """Whether the units' cost is the same for every plan (a fixed total at one price): left out of the objective."""
        new = (self.existing_units == 0) & (self.max_units > 0)
        return self.total_units is not None and new.any() and np.ptp(self.unit_cost[new]) == 0

    @property
    def _coverage_scale(self) -> float:
        """Weight of coverage in the objective: 1, or a tie-breaker with ``objective = "cost"``."""
        return 1e-3 / max(float(self.weights.sum()), 1e-9) if self.objective == "cost" else 1.0

    # ------------------------------------------------------------------- solve
    def solve(
        self,
        solver: str = "highs",
        *,
        time_limit_s: float | None = None,
        mip_gap: float | None = None,
    ) -> SolveResult:
        """Solve the model.

        Returns
        -------
        SolveResult
            ``objective`` is the weighted objective; ``extra`` holds
            ``demand_served`` and ``demand_total`` in the weights' unit,
            ``cost`` (CNY, new sites), with several periods
            ``period_units`` (units per site per period) and ``period_served``,
            and ``demand_classes`` when demand points reaching the same sites
            at the same values were merged for the solver (:meth:`_merged_demand`).

        Raises
        ------
        InfeasibleError
            If the targets cannot be met (see :meth:`check_feasible`) or the
            solver proves the model infeasible.
        """
        if len(self.periods) > 1:
            return self._solve_backwards(solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        self.check_feasible()
        start = time.perf_counter()
        merged = self._merged_demand()
        if merged is not None:
            return self._from_merged(*merged, start, solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        problem, v = self._build()
        greedy = self.greedy()
        if greedy is not None:
            _set_start(v, greedy)
        build_time_s = time.perf_counter() - start
        outcome = solve_problem(problem, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                                warm_start=greedy is not None)
        if outcome.status == "infeasible":
            raise InfeasibleError(self._infeasible_message())
        n_units = np.array([_value(u) for u in v.units], dtype=float).round().astype(np.int64)
        amount = np.array([_value(x) for x in v.assign], dtype=float) if outcome.objective is not None \
            else np.zeros(self.cost.n_pairs)
        source = "solver"
        if greedy is not None:
            # a solver stopped early can hold a plan worse than the greedy one: keep the better,
            # with the solver's bound (the bound is valid for any plan)
            greedy_objective = self.objective_of([greedy])
            if outcome.objective is None or greedy_objective > outcome.objective + 1e-9 * max(1.0, abs(greedy_objective)):
                n_units, amount = greedy
                gap = relative_gap(greedy_objective, outcome.bound)
                status = "optimal" if gap is not None and gap <= OPTIMALITY_TOLERANCE else "feasible"
                outcome = dataclasses.replace(outcome, status=status, objective=greedy_objective, gap=gap)
                source = "greedy"
        return self._result(problem, outcome, n_units, amount, build_time_s, solver, source)

    def _merged_demand(self) -> tuple[CapacitatedMCLP, np.ndarray] | None:
        """This model with its demand points merged where they reach the same sites at the same pair values
        (weights summed, required if any is), and the merged point of each demand point; None when merging would
        keep more than :data:`MERGE_AT_MOST` of the points within reach of a site, or when blocks add rows (they
        may name points).

        Exact: two such points are served by the same sites at the same value per unit, so any assignment of
        the merged point splits between them in proportion to their weights (:meth:`_from_merged`) and back.
        """
        table = self.cost
        if self.blocks or table.n_demand == 0:
            return None
        # the column of a pair: its site and value, numbered in (site, value) order (one 1-D unique of
        # integers: 0.3 s for 3.7·10⁶ pairs, where a unique of their rows took 5.4 s)
        values, value_rank = np.unique(self._pair_value(), return_inverse=True)
        _, column = np.unique(table.site.astype(np.int64) * len(values) + value_rank.ravel(), return_inverse=True)
        rows = csr_array((np.ones(table.n_pairs, dtype=bool), (table.demand, column.ravel())),
                         shape=(table.n_demand, int(column.max(initial=-1)) + 1))
        rows.sort_indices()
        _, weights, group = merge_identical_rows(rows, self.weights)
        reached = np.bincount(table.demand, minlength=table.n_demand) > 0  # points out of reach add no rows
        if len(weights) == table.n_demand or len(np.unique(group[reached])) > MERGE_AT_MOST * reached.sum():
            return None  # (merged again, a merged model is left as it is)
        _, representative = np.unique(group, return_index=True)
        is_kept = np.zeros(table.n_demand, dtype=bool)
        is_kept[representative] = True
        pairs = is_kept[table.demand]
        merged_cost = SparseCost(demand_ids=pd.RangeIndex(len(weights), name="demand_class"), site_ids=table.site_ids,
                                 demand=group[table.demand[pairs]], site=table.site[pairs], cost=table.cost[pairs])
        required = np.bincount(group, weights=self.required.astype(float), minlength=len(weights)) > 0
        return dataclasses.replace(self, cost=merged_cost, weights=weights, required=required), group

    def _from_merged(self, model: CapacitatedMCLP, group: np.ndarray, start: float, solver: str, *,
                     time_limit_s: float | None, mip_gap: float | None) -> SolveResult:
        """Solve the merged model (:meth:`_merged_demand`, begun at ``start``) and give each demand point its
        share of its merged point's assignment; merging and splitting count as build time."""
        remaining = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - start), 0.1)
        result = model.solve(solver, time_limit_s=remaining, mip_gap=mip_gap)
        table, classes = self.cost, model.cost
        n_sites = table.n_sites
        class_key = classes.demand.astype(np.int64) * n_sites + classes.site
        order = np.argsort(class_key)

        def merged_pair(merged_point: np.ndarray, site: np.ndarray) -> np.ndarray:
            return order[np.searchsorted(class_key[order], merged_point.astype(np.int64) * n_sites + site)]

        amounts = np.zeros(classes.n_pairs)
        served = result.assignment
        amounts[merged_pair(served["demand_id"].to_numpy(), table.site_ids.get_indexer(served["site_id"]))] = \
            served["amount"].to_numpy(dtype=float)
        class_amount = amounts[merged_pair(group[table.demand], table.site)]
        share = np.divide(self.weights, model.weights[group], out=np.zeros(table.n_demand),
                          where=model.weights[group] > 0)
        amount = class_amount * share[table.demand]
        served_pairs = amount >= 1e-9  # (the frame is built for these alone: at 10⁷ customers most pairs serve 0)
        assignment = SparseCost(table.demand_ids, table.site_ids, table.demand[served_pairs], table.site[served_pairs],
                                table.cost[served_pairs]).to_frame().assign(amount=amount[served_pairs])
        merge_s = time.perf_counter() - start - result.build_time_s - result.solve_time_s
        return dataclasses.replace(result, assignment=assignment, build_time_s=result.build_time_s + max(merge_s, 0.0),
                                   extra={**result.extra, "demand_classes": len(model.weights)})

    def _solve_backwards(self, solver: str, *, time_limit_s: float | None,
                         mip_gap: float | None) -> SolveResult:
        """A roll-out: the final period's plan, then each earlier period's best part of the next one's."""
        final = dataclasses.replace(self, period_units=None).solve(solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        results = [final]
        following = final.sites["units"].to_numpy(dtype=np.int64)
        none = np.zeros(self.cost.n_sites, dtype=bool)
        for total in reversed(self.periods[:-1]):
            new_units = np.where(self.existing_units > 0, self.max_units, following)
            earlier = dataclasses.replace(
                self, period_units=None, total_units=int(total), max_units=new_units,
                min_units=np.minimum(self.min_units, np.maximum(new_units, 1)), forced_open=none,
                required=np.zeros(self.cost.n_demand, dtype=bool), blocks=(), objective="coverage",
                site_cost=np.zeros(self.cost.n_sites), unit_cost=np.zeros(self.cost.n_sites))
            try:
                result = earlier.solve(solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
            except InfeasibleError as exc:
                msg = f"the roll-out's {total:,} {self.unit_name} of an earlier period cannot be placed: {exc}"
                raise InfeasibleError(msg) from None
            results.insert(0, result)
            following = result.sites["units"].to_numpy(dtype=np.int64)
        statuses = [r.status for r in results]
        gaps = [r.gap for r in results]
        extra = {**final.extra, "period_units": [r.sites["units"].to_numpy(dtype=np.int64) for r in results],
                 "period_served": [r.extra["demand_served"] for r in results],
                 "period_status": statuses, "period_gap": gaps}
        return dataclasses.replace(
            final, status="optimal" if all(s == "optimal" for s in statuses) else "feasible",
            gap=None if any(g is None for g in gaps) else max(gaps),
            build_time_s=sum(r.build_time_s for r in results), solve_time_s=sum(r.solve_time_s for r in results),
            n_variables=sum(r.n_variables for r in results), n_constraints=sum(r.n_constraints for r in results),
            extra=extra)

    def _infeasible_message(self) -> str:
        rules = [f"{int(self.required.sum())} required demand points within {self.radius:g}"] if self.required.any() \
            else []
        if self.forced_open.any():
            rules.append(f"{int(self.forced_open.sum())} required sites")
        if self.objective == "cost":
            rules.append(f"coverage of at least {100 * self.min_coverage:.1f} %")
        rules += [getattr(b, "description", b.name) for b in self.blocks]
        total = "as many units as needed" if self.total_units is None else \
            f"the target of {self.total_units:,} {self.unit_name}"
        return (f"no plan with {total} meets every rule together ({'; '.join(rules) or 'site limits'}) with "
                f"{int(self.min_units.min())}–{int(self.max_units.max())} per site; raise the target, lower the "
                "minimum per site or relax a rule")

    def objective_of(self, plans: list[tuple[np.ndarray, np.ndarray]] | np.ndarray) -> float:
        """The model's objective for a plan: ``[(units, amount), …]`` per period (or one amount per pair)."""
        if isinstance(plans, np.ndarray):  # an assignment alone: its coverage value
            return float(np.sum(plans * self._pair_value()))
        value = self._pair_value()
        weight = 1.0 / len(plans)
        coverage = sum(weight * float(np.sum(amount * value)) for _, amount in plans)
        units = plans[-1][0]
        cost = self.plan_cost(units)
        if self._unit_cost_constant:
            new = self.existing_units == 0
            cost -= float((self.unit_cost[new] * units[new]).sum())
        return coverage - self.cost_per_unit_weight * cost

    def _pair_value(self) -> np.ndarray:
        return self._coverage_scale * (1.0 - self.distance_weight * self.cost.cost / max(self.radius, 1e-9))

    def greedy(self) -> tuple[np.ndarray, np.ndarray] | None:
        """A feasible plan by a greedy heuristic: units per site and amount per pair.

        Required sites open first, then required demand points get the site in
        reach that covers most; then, repeatedly, the site with the most
        unserved demand in reach gets the units that demand needs (nearest
        demand served first); units left over go to open sites with room,
        then to new sites. With site costs (objective "coverage"), a search
        from every openable site open improves the open sites by add, drop and swap
        moves (:mod:`siting.models._open_search`) and that plan is kept if it
        scores better. Used as the solver's starting solution and as a
        baseline. Returns None when the heuristic cannot place the target
        within the site limits or a block cannot repair the plan.
        """
        plan = self._repaired(self._greedy_plan())
        if plan is not None and self.has_costs and self.objective == "coverage":
            search = OpenSiteSearch(self)
            searched = self._repaired(plan_for_open_sites(self, search.improve(search.openable.copy())))
            if searched is not None and self.objective_of([searched]) > self.objective_of([plan]) + 1e-9:
                plan = searched
        return plan

    def _repaired(self, plan: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
        """A heuristic plan after each block's repair (None if a block cannot repair it)."""
        for block in self.blocks:
            if plan is None:
                return None
            plan = block.repair(self, *plan)
        return plan

    def _greedy_plan(self) -> tuple[np.ndarray, np.ndarray] | None:
        table = self.cost
        total = self.total_units
        units = self.existing_units.copy()
        is_new = (self.existing_units == 0) & (self.max_units > 0)
        remaining = np.asarray(self.weights, dtype=float).copy()
        amount = np.zeros(table.n_pairs)
        load = np.zeros(table.n_sites)
        order = np.lexsort((table.cost, table.site))  # pairs by site, nearest first
        bounds = np.searchsorted(table.site[order], np.arange(table.n_sites + 1))
        unlimited = total is None
        left = int(self.max_units[is_new].sum()) if unlimited else int(total)

        def serve(j: int) -> None:
            room = self.capacity_per_unit[j] * units[j] - load[j]
            for k in order[bounds[j]:bounds[j + 1]]:
                if room <= 1e-12:
                    break
                i = table.demand[k]
                take = min(room, remaining[i])
                if take > 0:
                    amount[k] += take
                    remaining[i] -= take
                    load[j] += take
                    room -= take

        def add_units(j: int, n: int) -> int:
            n = int(min(n, self.max_units[j] - units[j], left))
            if units[j] == 0 and is_new[j]:
                n = max(n, int(self.min_units[j]))
                if n > min(self.max_units[j], left):
                    return 0
            units[j] += n
            serve(j)
            return n

        for j in np.flatnonzero(units > 0):
            serve(j)
        for j in np.flatnonzero(self.forced_open & (units == 0)):
            placed = add_units(j, max(int(self.min_units[j]), 1))
            if placed == 0:
                return None
            left -= placed
        for i in np.flatnonzero(self.required):
            pairs = table.site[table.demand == i]
            if (units[pairs] > 0).any():
                continue
            candidates = pairs[is_new[pairs]]
            if not len(candidates):
                return None
            gain = np.bincount(table.site, weights=remaining[table.demand], minlength=table.n_sites)
            j = int(candidates[np.argmax(gain[candidates])])
            left -= add_units(j, 1)
        target_weight = self.min_coverage * float(self.weights.sum()) if unlimited else np.inf
        while left > 0 and float(self.weights.sum() - remaining.sum()) < target_weight - 1e-9:
            gain = np.bincount(table.site, weights=remaining[table.demand], minlength=table.n_sites)
            usable = is_new & (units < self.max_units) & (gain > 1e-9)
            if not usable.any():
                break
            j = int(np.flatnonzero(usable)[np.argmax(gain[usable])])
            placed = add_units(j, int(np.ceil(gain[j] / self.capacity_per_unit[j] - 1e-9)))
            if placed == 0:
                is_new[j] = False  # cannot take its minimum any more; skip it
                continue
            left -= placed
        if unlimited:
            covered = float(self.weights.sum() - remaining.sum())
            return (units, amount) if covered >= target_weight - 1e-6 else None
        is_new = (self.existing_units == 0) & (self.max_units > 0)
        for j in np.flatnonzero(is_new & (units > 0)):  # fill open sites first
            if left == 0:
                break
            left -= add_units(j, left)
        for j in np.flatnonzero(is_new & (units == 0)):  # then open new ones
            if left == 0:
                break
            left -= add_units(j, left)
        if left != 0:
            return None
        return units, amount

    def _build(self) -> tuple[pulp.LpProblem, ModelVars]:
        table = self.cost
        problem = pulp.LpProblem("capacitated_mclp", pulp.LpMaximize)
        existing = self.existing_units > 0
        needs_open = self.min_units > 1
        if self.site_cost is not None:
            needs_open = needs_open | (self.site_cost > 0) | self.forced_open
        open_vars: list[pulp.LpVariable | int] = []
        units: list[pulp.LpVariable | int] = []
        for j in range(table.n_sites):
            if existing[j]:
                open_vars.append(1)
                units.append(int(self.existing_units[j]))
                continue
            n = pulp.LpVariable(f"units_{j}", lowBound=0, upBound=int(self.max_units[j]), cat=pulp.LpInteger)
            if not needs_open[j]:
                y = n  # no minimum or site cost to enforce: a site is open when it has a unit
            else:
                y = pulp.LpVariable(f"open_{j}", cat=pulp.LpBinary)
                problem += n >= int(self.min_units[j]) * y, f"min_units_{j}"
                problem += n <= int(self.max_units[j]) * y, f"max_units_{j}"
            open_vars.append(y)
            units.append(n)

        assign = [pulp.LpVariable(f"serve_{k}", lowBound=0) for k in range(table.n_pairs)]
        objective = pulp.LpAffineExpression(zip(assign, self._pair_value().tolist()))
        lam = self.cost_per_unit_weight
        if lam > 0:
            cost_terms = []
            for j in np.flatnonzero(~existing):
                if self.site_cost[j] > 0:
                    cost_terms.append((open_vars[j], -lam * float(self.site_cost[j])))
                if self.unit_cost[j] > 0 and not self._unit_cost_constant:
                    cost_terms.append((units[j], -lam * float(self.unit_cost[j])))
            objective += pulp.LpAffineExpression(cost_terms)
        problem += objective, "coverage"

        for i, pairs in _group(table.demand, table.n_demand):
            if len(pairs):
                problem += (pulp.LpAffineExpression((assign[k], 1.0) for k in pairs) <= float(self.weights[i]),
                            f"demand_{i}")
            if self.required[i]:
                sites = {int(table.site[k]) for k in pairs}
                opened = [open_vars[j] for j in sorted(sites)]
                if not any(isinstance(v, int) for v in opened):
                    problem += pulp.lpSum(opened) >= 1, f"required_{i}"
        for j, pairs in _group(table.site, table.n_sites):
            if len(pairs):
                load = pulp.LpAffineExpression((assign[k], 1.0) for k in pairs)
                problem += load <= float(self.capacity_per_unit[j]) * units[j], f"capacity_{j}"
        for k in self._linked_pairs(needs_open):
            i, j = int(table.demand[k]), int(table.site[k])
            problem += assign[k] <= float(self.weights[i]) * open_vars[j], f"link_{k}"
        new_units = [units[j] for j in range(table.n_sites) if not existing[j]]
        if self.total_units is not None:
            problem += pulp.lpSum(new_units) == self.total_units, "total_units"
        for j in np.flatnonzero(self.forced_open):
            problem += open_vars[j] >= 1, f"required_site_{j}"
        if self.objective == "cost":
            problem += pulp.lpSum(assign) >= self.min_coverage * float(self.weights.sum()), "min_coverage"
        variables = ModelVars(open_vars=open_vars, units=units, assign=assign)
        add_value_rows(problem, variables, self)
        for block in self.blocks:
            block.add_rows(problem, variables, self)
        return problem, variables

    def _linked_pairs(self, needs_open: np.ndarray) -> np.ndarray:
        """The pairs whose linking row ``x_ij ≤ w_i · y_j`` the other rows do not imply.

        At a new site whose open variable is its unit count the capacity row gives ``x_ij ≤ c_j · n_j``, so
        the link adds only where ``w_i < c_j``; with an open variable of its own (``n_j ≤ max_j · y_j``), only
        where ``w_i < c_j · max_j``. Without these rows the relaxation spreads fractions of units over every
        site and its bound is the units' whole capacity. No pair at all (an empty array) when there would be
        more than :data:`MAX_LINK_ROWS`.
        """
        table = self.cost
        reach = self.capacity_per_unit * np.where(needs_open, self.max_units, 1)
        weak = self.weights[table.demand] < reach[table.site]
        linked = np.flatnonzero(weak & (self.existing_units[table.site] == 0))
        return linked if len(linked) <= MAX_LINK_ROWS else linked[:0]

    def _result(self, problem, outcome, n_units, amount, build_time_s, solver, source) -> SolveResult:
        table = self.cost
        amount = amount.copy()
        amount[np.abs(amount) < 1e-9] = 0.0
        assignment = table.to_frame().assign(amount=amount)
        assignment = assignment[assignment["amount"] > 0].reset_index(drop=True)
        load = np.bincount(table.site, weights=amount, minlength=table.n_sites)
        sites = pd.DataFrame({
            "site_id": table.site_ids,
            "selected": n_units > 0,
            "existing": self.existing_units > 0,
            "units": n_units,
            "load": load,
            "capacity": n_units * self.capacity_per_unit,
        })
        if self.site_cost is not None:
            new_open = (self.existing_units == 0) & (n_units > 0)
            sites["cost"] = np.where(new_open, self.site_cost + self.unit_cost * n_units, 0.0)
        served = float(amount.sum())
        extra = {"demand_served": served, "demand_total": float(self.weights.sum()), "solution_from": source,
                 "cost": self.plan_cost(n_units)}
        return SolveResult(
            model="CapacitatedMCLP",
            status=outcome.status,
            objective=outcome.objective,
            bound=outcome.bound,
            gap=outcome.gap,
            selected=list(table.site_ids[n_units > 0]),
            assignment=assignment,
            sites=sites,
            solver=solver,
            build_time_s=build_time_s,
            solve_time_s=outcome.solve_time_s,
            n_variables=problem.numVariables(),
            n_constraints=problem.numConstraints(),
            extra=extra,
        )


def _per_item(value: Any, n: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full(n, float(array))
    if array.shape != (n,):
        msg = f"{name} must be a scalar or have one value per item ({n}); got shape {array.shape}"
        raise ValueError(msg)
    return array


def _group(index: np.ndarray, n: int):
    """Yield ``(i, positions of index == i)`` for i in 0..n-1, in one sort."""
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n + 1))
    for i in range(n):
        yield i, order[bounds[i]:bounds[i + 1]]


def _value(v) -> float:
    if isinstance(v, int | float):
        return float(v)
    return float(v.varValue or 0.0)


def _set_start(v: ModelVars, plan: tuple[np.ndarray, np.ndarray]) -> None:
    """Hand a heuristic plan to the solver as its starting solution."""
    n_units, amount = plan
    for y, var, n in zip(v.open_vars, v.units, n_units, strict=True):
        if isinstance(var, pulp.LpVariable):
            var.setInitialValue(int(n))
        if isinstance(y, pulp.LpVariable) and y is not var:
            y.setInitialValue(1 if n > 0 else 0)
    for var, x in zip(v.assign, amount, strict=True):
        var.setInitialValue(float(x))
