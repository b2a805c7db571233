"""Capacitated maximal covering with integer unit counts per site.

The model every tier of a plan uses: open sites, give each open site between
``min_units`` and ``max_units`` units (chargers, or hydrogen stations), let each
unit serve at most ``capacity_per_unit`` of demand weight, assign demand only to
sites within ``radius``, place exactly ``total_units`` new units, and maximise
demand served — coverage first, distance second::

    max  Σ_(i,j) x_ij · (1 − distance_weight · c_ij / radius)
    s.t. Σ_j x_ij ≤ w_i                      every demand point i
         Σ_i x_ij ≤ capacity_per_unit · n_j  every site j
         min_units · y_j ≤ n_j ≤ max_units · y_j
         Σ_j n_j = total_units               (new sites only)
         Σ_(j within radius of i) y_j ≥ 1    every required demand point i
         n_j = existing units, y_j = 1       every existing site j
         x_ij ≥ 0 only for pairs with c_ij ≤ radius; y binary; n integer

With ``distance_weight < 1`` every unit of demand served adds to the objective,
so the distance term only chooses between plans of (near-)equal coverage.
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

from siting._errors import InfeasibleError
from siting.models._base import OPTIMALITY_TOLERANCE, SolveResult, SparseCost, relative_gap, solve_problem
from siting.models._geometry import cost_from_geodataframes
from siting.models.blocks import Block, ModelVars


@dataclass(frozen=True)
class CapacitatedMCLP:
    """Capacitated maximal covering location with integer units per site.

    Build with :meth:`from_cost_matrix`; solve with :meth:`solve`.
    """

    cost: SparseCost
    weights: np.ndarray
    radius: float
    total_units: int
    min_units: np.ndarray
    max_units: np.ndarray
    capacity_per_unit: np.ndarray
    existing_units: np.ndarray
    required: np.ndarray
    distance_weight: float
    unit_name: str = "units"
    #: Rules beyond the core model (:mod:`siting.models.blocks`): budgets, decisions, zone caps …
    blocks: tuple[Block, ...] = ()

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
        total_units : int
            Number of new units to place, exactly.
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
        return cls(
            cost=table,
            weights=weights,
            radius=float(radius),
            total_units=int(total_units),
            min_units=_per_item(min_units, n_sites, "min_units").astype(np.int64),
            max_units=_per_item(max_units, n_sites, "max_units").astype(np.int64),
            capacity_per_unit=_per_item(capacity_per_unit, n_sites, "capacity_per_unit"),
            existing_units=existing_units,
            required=required_mask,
            distance_weight=float(distance_weight),
            unit_name=unit_name,
            blocks=tuple(blocks),
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
            If the new sites cannot hold ``total_units``, or a required demand
            point has no site within the radius.
        """
        new = self.existing_units == 0
        room = int(self.max_units[new].sum())
        if self.total_units > room:
            msg = (f"target of {self.total_units:,} {self.unit_name} exceeds the {room:,} that the "
                   f"{int(new.sum()):,} candidate sites can hold (short by {self.total_units - room:,}); "
                   "add candidates or raise the maximum per site")
            raise InfeasibleError(msg)
        if self.total_units > 0 and new.any() and self.total_units < int(self.min_units[new].min()):
            msg = (f"target of {self.total_units} {self.unit_name} is below the minimum of "
                   f"{int(self.min_units[new].min())} per open site; lower the minimum per site")
            raise InfeasibleError(msg)
        uncovered = self.required & ~self._covered_by_existing()
        if uncovered.any() and self.total_units == 0:
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
            ``objective`` is the weighted coverage objective; ``extra`` holds
            ``demand_served`` and ``demand_total`` in the weights' unit.

        Raises
        ------
        InfeasibleError
            If the targets cannot be met (see :meth:`check_feasible`) or the
            solver proves the model infeasible.
        """
        self.check_feasible()
        start = time.perf_counter()
        problem, open_vars, units, assign = self._build()
        greedy = self.greedy()
        if greedy is not None:
            _set_start(open_vars, units, assign, *greedy)
        build_time_s = time.perf_counter() - start
        # HiGHS 1.16 with a start and presolve was seen to return a wrong "optimal" (models/_base.py):
        # the greedy start goes to CBC only
        outcome = solve_problem(problem, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                                warm_start=greedy is not None and solver == "cbc")
        if outcome.status == "infeasible":
            msg = (f"the target of {self.total_units:,} {self.unit_name} cannot give every required demand point "
                   f"({int(self.required.sum())}) a site within {self.radius:g} with {int(self.min_units.min())}–"
                   f"{int(self.max_units.max())} per site; raise the target or lower the minimum per site")
            raise InfeasibleError(msg)
        n_units = np.array([_value(u) for u in units], dtype=float).round().astype(np.int64)
        amount = np.array([_value(x) for x in assign], dtype=float) if outcome.objective is not None \
            else np.zeros(self.cost.n_pairs)
        source = "solver"
        if greedy is not None:
            # a solver stopped early can hold a plan worse than the greedy one: keep the better,
            # with the solver's bound (the bound is valid for any plan)
            greedy_objective = self.objective_of(greedy[1])
            if outcome.objective is None or greedy_objective > outcome.objective + 1e-9 * max(1.0, abs(greedy_objective)):
                n_units, amount = greedy
                gap = relative_gap(greedy_objective, outcome.bound)
                status = "optimal" if gap is not None and gap <= OPTIMALITY_TOLERANCE else "feasible"
                outcome = dataclasses.replace(outcome, status=status, objective=greedy_objective, gap=gap)
                source = "greedy"
        return self._result(problem, outcome, n_units, amount, build_time_s, solver, source)

    def objective_of(self, amount: np.ndarray) -> float:
        """The model's objective for an assignment (amount per pair)."""
        return float(np.sum(amount * (1.0 - self.distance_weight * self.cost.cost / max(self.radius, 1e-9))))

    def greedy(self) -> tuple[np.ndarray, np.ndarray] | None:
        """A feasible plan by a greedy heuristic: units per site and amount per pair.

        Required demand points first get the site in reach that covers most;
        then, repeatedly, the site with the most unserved demand in reach gets
        the units that demand needs (nearest demand served first); units left
        over go to open sites with room, then to new sites. Used as the
        solver's starting solution and as a baseline. Returns None when the
        heuristic cannot place the target within the site limits.
        """
        table = self.cost
        units = self.existing_units.copy()
        is_new = self.existing_units == 0
        remaining = np.asarray(self.weights, dtype=float).copy()
        amount = np.zeros(table.n_pairs)
        load = np.zeros(table.n_sites)
        order = np.lexsort((table.cost, table.site))  # pairs by site, nearest first
        bounds = np.searchsorted(table.site[order], np.arange(table.n_sites + 1))
        left = self.total_units

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

        for j in np.flatnonzero(~is_new):
            serve(j)
        covered = np.zeros(table.n_demand, dtype=bool)
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
            covered[i] = True
        while left > 0:
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
        is_new = self.existing_units == 0
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
        plan: tuple[np.ndarray, np.ndarray] | None = (units, amount)
        for block in self.blocks:
            plan = block.repair(self, *plan)
            if plan is None:
                return None
        return plan

    def _build(self) -> tuple[pulp.LpProblem, list, list, list]:
        table = self.cost
        problem = pulp.LpProblem("capacitated_mclp", pulp.LpMaximize)
        existing = self.existing_units > 0
        open_vars: list[pulp.LpVariable | int] = []
        units: list[pulp.LpVariable | int] = []
        for j in range(table.n_sites):
            if existing[j]:
                open_vars.append(1)
                units.append(int(self.existing_units[j]))
                continue
            n = pulp.LpVariable(f"units_{j}", lowBound=0, upBound=int(self.max_units[j]), cat=pulp.LpInteger)
            if self.min_units[j] <= 1:
                y = n  # no minimum to enforce: a site is open when it has a unit
            else:
                y = pulp.LpVariable(f"open_{j}", cat=pulp.LpBinary)
                problem += n >= int(self.min_units[j]) * y, f"min_units_{j}"
                problem += n <= int(self.max_units[j]) * y, f"max_units_{j}"
            open_vars.append(y)
            units.append(n)

        assign = [pulp.LpVariable(f"serve_{k}", lowBound=0) for k in range(table.n_pairs)]
        value = 1.0 - self.distance_weight * table.cost / max(self.radius, 1e-9)
        problem += pulp.LpAffineExpression(zip(assign, value.tolist())), "coverage"

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
        new_units = [units[j] for j in range(table.n_sites) if not existing[j]]
        problem += pulp.lpSum(new_units) == self.total_units, "total_units"
        variables = ModelVars(open_vars=open_vars, units=units, assign=assign)
        for block in self.blocks:
            block.add_rows(problem, variables, self)
        return problem, open_vars, units, assign

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
        served = float(amount.sum())
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
            extra={"demand_served": served, "demand_total": float(self.weights.sum()), "solution_from": source},
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


def _set_start(open_vars: list, units: list, assign: list, n_units: np.ndarray, amount: np.ndarray) -> None:
    """Hand a heuristic plan to the solver as its starting solution."""
    for y, var, n in zip(open_vars, units, n_units, strict=True):
        if isinstance(var, pulp.LpVariable):
            var.setInitialValue(int(n))
        if isinstance(y, pulp.LpVariable) and y is not var:
            y.setInitialValue(1 if n > 0 else 0)
    for var, x in zip(assign, amount, strict=True):
        var.setInitialValue(float(x))
