"""Coverage models: maximal covering (MCLP) and set covering (LSCP).

A demand point is covered when an open site lies within ``radius`` of it (cost
``<= radius``). Both models are built only from the pairs within the radius,
so their size grows with the pairs that matter, not with demand × sites.

- MCLP (Church & ReVelle 1974): open ``p`` sites, maximise the covered weight.
- LSCP (Toregas et al. 1971): open as few sites as possible so that every
  demand point is covered; with ``coverage`` below 1, so that at least that
  share of the demand weight is (partial set covering, as in Cordeau, Furini
  & Ljubić 2019), on the MCLP's exact reductions.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd
import pulp
from scipy.sparse import csc_array, csr_array

from siting._errors import InfeasibleError
from siting.models._base import (
    OPTIMALITY_TOLERANCE,
    SolveResult,
    SparseCost,
    check_solver,
    relative_gap,
    solve_problem,
)
from siting.models._coverage_lagrange import (
    LagrangianOutcome,
    lagrangian_search,
    lp_multiplier,
    splits,
)
from siting.models._coverage_reduce import ReducedCoverage, pad_sites, reduce_coverage
from siting.models._geometry import cost_from_geodataframes
from siting.models._heuristics import (
    covered_weight,
    greedy_coverage,
    interchange_coverage,
    perturb_coverage,
)
from siting.models.pmedian import _site_positions, _weights

# The root LP of a large MCLP is highly degenerate: HiGHS's dual simplex took 21–38 s on the reduced Qingdao
# public tier (105,642 iterations), its interior point 0.2–0.5 s. Only the LP solver choice, never the result.
HIGHS_OPTIONS = {"mip_lp_solver": "ipm"}
# Share of the time limit the Lagrangian search by components may use; HiGHS gets the rest, starting from the
# search's plan (on the Qingdao tier at p = 300, HiGHS alone stopped 0.9 % short after the whole 60 s).
LAGRANGIAN_SHARE = 0.9
# Within this share of the time limit, a plan within the gap does not stop the search: it goes on for the exact
# optimum (a zero gap), not one within 10⁻⁴ of it.
EXACT_SHARE = 0.25


class _CoverageModel:
    """What MCLP and LSCP share: the pairs within the radius, existing sites, results."""

    name = "coverage"

    def __init__(self, cost: SparseCost, *, radius: float, weights: np.ndarray, existing: np.ndarray) -> None:
        self.cost = cost.within(radius)
        self.radius = float(radius)
        self.weights = weights
        self.existing = existing

    def _covering_sites(self) -> list[np.ndarray]:
        """Per demand point, the positions of the sites covering it."""
        order = np.argsort(self.cost.demand, kind="stable")
        bounds = np.searchsorted(self.cost.demand[order], np.arange(self.cost.n_demand + 1))
        return [np.unique(self.cost.site[order[bounds[i]:bounds[i + 1]]]) for i in range(self.cost.n_demand)]

    def _covers(self) -> csr_array:
        """Sparse ``demand × site`` coverage (True where the site covers the point), by rows as the
        reductions read it."""
        return csr_array((np.ones(len(self.cost.demand), dtype=bool), (self.cost.demand, self.cost.site)),
                         shape=(self.cost.n_demand, self.cost.n_sites))

    def _y(self) -> list[pulp.LpVariable]:
        is_existing = np.zeros(self.cost.n_sites, dtype=bool)
        is_existing[self.existing] = True
        return [pulp.LpVariable(f"y_{j}", lowBound=1 if is_existing[j] else 0, upBound=1, cat=pulp.LpInteger)
                for j in range(self.cost.n_sites)]

    def _result(self, sites: np.ndarray, *, status: str, objective: float | None, bound: float | None,
                solver: str, build_s: float, solve_s: float, n_variables: int, n_constraints: int,
                extra: dict) -> SolveResult:
        sites = np.asarray(sites, dtype=np.int64)
        is_selected = np.zeros(self.cost.n_sites, dtype=bool)
        is_selected[sites] = True
        pairs = self.cost.to_frame()
        pairs["site_pos"] = self.cost.site
        pairs["demand_pos"] = self.cost.demand
        pairs = pairs[is_selected[self.cost.site]].sort_values(["demand_pos", "cost", "site_pos"])
        nearest = pairs.drop_duplicates("demand_pos")
        assignment = pd.DataFrame({
            "demand_id": nearest["demand_id"].to_numpy(),
            "site_id": nearest["site_id"].to_numpy(),
            "cost": nearest["cost"].to_numpy(),
            "amount": self.weights[nearest["demand_pos"].to_numpy()],
        })
        load = np.bincount(nearest["site_pos"].to_numpy(), weights=self.weights[nearest["demand_pos"].to_numpy()],
                           minlength=self.cost.n_sites)
        is_existing = np.zeros(self.cost.n_sites, dtype=bool)
        is_existing[self.existing] = True
        table = pd.DataFrame({
            "site_id": self.cost.site_ids,
            "selected": is_selected,
            "existing": is_existing,
            "units": is_selected.astype(int),
            "load": load,
        })
        covered = np.zeros(self.cost.n_demand, dtype=bool)
        covered[nearest["demand_pos"].to_numpy()] = True
        total = float(self.weights.sum())
        extra = {**extra, "radius": self.radius, "covered_weight": float(self.weights[covered].sum()),
                 "coverage_share": float(self.weights[covered].sum() / total) if total else 1.0,
                 "n_uncovered": int((~covered).sum())}
        return SolveResult(
            model=self.name, status=status, objective=objective, bound=bound, gap=relative_gap(objective, bound),
            selected=list(self.cost.site_ids[sites]), assignment=assignment, sites=table, solver=solver,
            build_time_s=build_s, solve_time_s=solve_s, n_variables=n_variables, n_constraints=n_constraints,
            extra=extra,
        )


class MCLP(_CoverageModel):
    """Maximal covering: open ``p`` sites to cover as much demand weight as possible within ``radius``."""

    name = "MCLP"

    def __init__(self, cost: SparseCost, *, radius: float, p: int, weights: np.ndarray, existing: np.ndarray) -> None:
        super().__init__(cost, radius=radius, weights=weights, existing=existing)
        self.p = int(p)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        *,
        weights: Any | None = None,
        radius: float,
        p: int,
        existing: Any | None = None,
        demand_ids: Any | None = None,
        site_ids: Any | None = None,
    ) -> MCLP:
        """Build from a dense ``demand × site`` matrix or a long ``demand_id, site_id, cost`` table.

        Parameters
        ----------
        cost : array-like, pandas.DataFrame or SparseCost
            Costs (metres, seconds …); missing or non-finite means unreachable.
        weights : array-like, optional
            Demand weight per demand point (default 1 each).
        radius : float
            A site covers the demand points with cost ``<= radius`` (same unit as ``cost``).
        p : int
            Number of open sites in all, existing sites included.
        existing : sequence, optional
            Labels of already-open sites.

        Raises
        ------
        ValueError
            On a bad ``p`` or radius, bad weights or unknown existing sites.
        siting.InfeasibleError
            If ``p`` exceeds the number of candidate sites.
        """
        table = SparseCost.from_input(cost, demand_ids=demand_ids, site_ids=site_ids)
        w = _weights(weights, table.n_demand)
        fixed = _site_positions(existing, table.site_ids)
        _check_radius(radius)
        if p < 0 or p < len(fixed):
            msg = f"p must be at least the number of existing sites ({len(fixed)}); got p={p}"
            raise ValueError(msg)
        if p > table.n_sites:
            msg = f"p={p} exceeds the number of candidate sites ({table.n_sites}); lower p or add candidates"
            raise InfeasibleError(msg)
        return cls(table, radius=radius, p=p, weights=w, existing=fixed)

    @classmethod
    def from_geodataframes(
        cls,
        demand: Any,
        sites: Any,
        *,
        radius: float,
        p: int,
        weight_col: str | None = None,
        existing_col: str | None = None,
        demand_id_col: str | None = None,
        site_id_col: str | None = None,
    ) -> MCLP:
        """Build from point layers in one metric CRS; ``radius`` in metres (straight line).

        Raises
        ------
        siting.DataError
            If a layer has a geographic or missing CRS, or the CRSs differ.
        """
        table = cost_from_geodataframes(demand, sites, demand_id_col=demand_id_col, site_id_col=site_id_col,
                                        max_distance_m=radius)
        weights = None if weight_col is None else demand[weight_col].to_numpy()
        existing = _existing_labels(sites, existing_col, table)
        return cls.from_cost_matrix(table, weights=weights, radius=radius, p=p, existing=existing)

    def solve(self, solver: str = "highs", *, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SolveResult:
        """Solve; ``objective`` is the covered weight, ``status`` ``"optimal"`` only when proven.

        The local-search (or Lagrangian) plan starts the solver and is
        returned if the solver finds nothing better in time.
        """
        solver = check_solver(solver)
        start = time.perf_counter()
        covers = self._covers()
        reduced = reduce_coverage(covers, self.weights, self.p, self.existing)
        n_kept = len(reduced.sites)
        # greedy, then swaps, on the reduced problem: the plan kept if the solver stops with less
        local = greedy_coverage(reduced.covers, reduced.weights, min(reduced.p, n_kept))
        local = interchange_coverage(reduced.covers, reduced.weights, local)
        extra = {"p": self.p, "customer_classes": reduced.n_classes, "customers_modelled": reduced.n_customers,
                 "sites_modelled": n_kept, "sites_dominated": reduced.n_dominated}
        # build time: the reductions, the greedy start and the MIP if one is built;
        # solve time: the searches and the solver
        reduce_s = time.perf_counter() - start
        if reduced.p >= n_kept or reduced.n_classes == 0:
            # every useful site fits: opening them all is optimal, no solver needed
            chosen = pad_sites(reduced.sites, self.p, self.cost.n_sites, self.existing)
            result = self._result(chosen, status="optimal", objective=None, bound=None, solver=solver,
                                  build_s=reduce_s, solve_s=0.0, n_variables=0, n_constraints=0, extra=extra)
            value = result.extra["covered_weight"]
            return dataclasses.replace(_replace_objective(result, value), bound=value, gap=0.0)
        gap_arg = mip_gap
        if gap_arg is None and _integral(reduced.weights):
            # integral weights: a gap below one unit of the objective proves the optimum exactly
            gap_arg = min(OPTIMALITY_TOLERANCE, 0.5 / max(float(reduced.weights.sum()), 1.0))
        lagrangian = None
        search_start = time.perf_counter()
        if solver == "highs":
            lagrangian = _lagrangian(reduced, local, start, time_limit_s, gap_arg)
        if lagrangian is None:
            local = perturb_coverage(reduced.covers, reduced.weights, local,
                                     time_budget_s=_search_budget(time_limit_s))
        search_s = time.perf_counter() - search_start
        lagrangian_bound = None
        if lagrangian is not None:
            local = lagrangian.sites
            extra = {**extra, "lagrangian_points": lagrangian.points}
            if np.isfinite(lagrangian.bound):
                lagrangian_bound = lagrangian.bound + reduced.constant
                extra["lagrangian_bound"] = lagrangian_bound
            gap = relative_gap(lagrangian.value, lagrangian.bound)
            if gap is not None and gap <= (gap_arg or OPTIMALITY_TOLERANCE):
                chosen = pad_sites(reduced.sites[local], self.p, self.cost.n_sites, self.existing)
                result = self._result(chosen, status="optimal", objective=None, solver=solver,
                                      bound=lagrangian_bound, build_s=reduce_s, solve_s=search_s,
                                      n_variables=0, n_constraints=0,
                                      extra={**extra, "method": "lagrangian" if lagrangian.points else "lp bound"})
                return _replace_objective(result, result.extra["covered_weight"])
        greedy = pad_sites(reduced.sites[local], self.p, self.cost.n_sites, self.existing)
        model_start = time.perf_counter()
        problem, y, u = _reduced_problem(reduced)
        n_variables, n_constraints = problem.numVariables(), problem.numConstraints()
        _set_start(y, u, reduced, local)
        build_s = reduce_s + time.perf_counter() - model_start
        remaining = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - start), 0.1)
        outcome = solve_problem(problem, solver=solver, time_limit_s=remaining, mip_gap=gap_arg,
                                warm_start=True, highs_options=HIGHS_OPTIONS)
        solve_s = search_s + outcome.solve_time_s
        if outcome.status == "infeasible":
            msg = f"MCLP with p={self.p} has no solution; check p against the candidate and existing sites"
            raise InfeasibleError(msg)
        bound = None if outcome.bound is None else outcome.bound + reduced.constant
        if lagrangian_bound is not None:
            bound = lagrangian_bound if bound is None else min(bound, lagrangian_bound)
        if outcome.objective is None:
            chosen, status, value = greedy, "feasible", None
        else:
            local = np.flatnonzero(np.array([v.varValue or 0.0 for v in y]) > 0.5)
            chosen = pad_sites(reduced.sites[local], self.p, self.cost.n_sites, self.existing)
            status, value = outcome.status, outcome.objective + reduced.constant
        result = self._result(chosen, status=status, objective=value, bound=bound, solver=solver,
                              build_s=build_s, solve_s=solve_s,
                              n_variables=n_variables, n_constraints=n_constraints, extra=extra)
        if value is None or result.extra["covered_weight"] < value - 1e-6 * max(1.0, abs(value)):
            # never report more coverage than the chosen sites give
            value = result.extra["covered_weight"]
        if outcome.objective is not None:
            # a solver stopped by its time limit can hold less than its start (HiGHS may drop a user
            # solution it cannot use): keep the better plan, with the solver's bound, which holds for any plan
            fallback = self._result(greedy, status="feasible", objective=None, bound=bound, solver=solver,
                                    build_s=build_s, solve_s=solve_s,
                                    n_variables=n_variables, n_constraints=n_constraints,
                                    extra={**extra, "solution_from": "heuristic"})
            greedy_value = fallback.extra["covered_weight"]
            if greedy_value > value + 1e-9 * max(1.0, abs(greedy_value)):
                gap = relative_gap(greedy_value, bound)
                status = "optimal" if gap is not None and gap <= OPTIMALITY_TOLERANCE else "feasible"
                result, value = dataclasses.replace(fallback, status=status), greedy_value
        return _replace_objective(result, value)


class LSCP(_CoverageModel):
    """Set covering: the fewest sites that cover every demand point within ``radius`` — or, with ``coverage``
    below 1, at least that share of the demand weight (partial set covering)."""

    name = "LSCP"

    def __init__(self, cost: SparseCost, *, radius: float, weights: np.ndarray, existing: np.ndarray,
                 coverage: float = 1.0) -> None:
        super().__init__(cost, radius=radius, weights=weights, existing=existing)
        self.coverage = float(coverage)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        *,
        radius: float,
        weights: Any | None = None,
        coverage: float = 1.0,
        existing: Any | None = None,
        demand_ids: Any | None = None,
        site_ids: Any | None = None,
    ) -> LSCP:
        """Build from a dense ``demand × site`` matrix or a long ``demand_id, site_id, cost`` table.

        Parameters
        ----------
        cost : array-like, pandas.DataFrame or SparseCost
            Costs; missing or non-finite means unreachable.
        radius : float
            A site covers the demand points with cost ``<= radius``.
        weights : array-like, optional
            Demand weight per demand point (default 1 each); counts only with ``coverage`` below 1.
        coverage : float
            Share of the total demand weight to cover, in (0, 1]. 1 (the default): every demand point.
        existing : sequence, optional
            Labels of already-open sites (kept and counted in the objective).

        Raises
        ------
        ValueError
            On a bad radius, weights or coverage, or unknown existing sites.
        """
        table = SparseCost.from_input(cost, demand_ids=demand_ids, site_ids=site_ids)
        _check_radius(radius)
        if not 0.0 < coverage <= 1.0:
            msg = f"coverage must be a share of the demand weight in (0, 1]; got {coverage!r}"
            raise ValueError(msg)
        return cls(table, radius=radius, weights=_weights(weights, table.n_demand), coverage=coverage,
                   existing=_site_positions(existing, table.site_ids))

    @classmethod
    def from_geodataframes(
        cls,
        demand: Any,
        sites: Any,
        *,
        radius: float,
        coverage: float = 1.0,
        weight_col: str | None = None,
        existing_col: str | None = None,
        demand_id_col: str | None = None,
        site_id_col: str | None = None,
    ) -> LSCP:
        """Build from point layers in one metric CRS; ``radius`` in metres (straight line).

        Raises
        ------
        siting.DataError
            If a layer has a geographic or missing CRS, or the CRSs differ.
        """
        table = cost_from_geodataframes(demand, sites, demand_id_col=demand_id_col, site_id_col=site_id_col,
                                        max_distance_m=radius)
        weights = None if weight_col is None else demand[weight_col].to_numpy()
        existing = _existing_labels(sites, existing_col, table)
        return cls.from_cost_matrix(table, radius=radius, weights=weights, coverage=coverage, existing=existing)

    def solve(self, solver: str = "highs", *, time_limit_s: float | None = None,
              mip_gap: float | None = None) -> SolveResult:
        """Solve; ``objective`` is the number of open sites (existing included).

        Raises
        ------
        siting.InfeasibleError
            Naming the demand points no site covers within the radius; with ``coverage`` below 1, when all
            candidates together cover less than that share.
        """
        solver = check_solver(solver)
        if self.coverage < 1.0:
            return self._solve_partial(solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        start = time.perf_counter()
        covering = self._covering_sites()
        uncovered = [i for i, sites in enumerate(covering) if len(sites) == 0]
        if uncovered:
            names = ", ".join(map(str, self.cost.demand_ids[uncovered][:20]))
            more = f" and {len(uncovered) - 20} more" if len(uncovered) > 20 else ""
            msg = (f"no candidate site lies within radius {self.radius:g} of {len(uncovered)} demand point(s): "
                   f"{names}{more}; raise the radius or add candidate sites near them")
            raise InfeasibleError(msg)
        problem = pulp.LpProblem("lscp", pulp.LpMinimize)
        y = self._y()
        for i, sites in enumerate(covering):
            problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(y[j], 1.0) for j in sites]),
                                                    pulp.LpConstraintGE, f"cover_{i}", 1.0))
        problem.setObjective(pulp.LpAffineExpression([(v, 1.0) for v in y]))
        build_s = time.perf_counter() - start
        outcome = solve_problem(problem, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        if outcome.objective is None:
            msg = f"the solver found no set cover ({outcome.status}) within {time_limit_s} s; raise time_limit_s"
            raise InfeasibleError(msg)
        chosen = np.flatnonzero(np.array([v.varValue or 0.0 for v in y]) > 0.5)
        bound = outcome.bound
        if bound is not None:
            bound = float(np.ceil(bound - 1e-6))  # a whole number of sites
        status = outcome.status
        if bound is not None and bound >= round(outcome.objective):
            status = "optimal"
        return self._result(chosen, status=status, objective=float(round(outcome.objective)), bound=bound,
                            solver=solver, build_s=build_s, solve_s=outcome.solve_time_s,
                            n_variables=problem.numVariables(), n_constraints=problem.numConstraints(), extra={})

    def _solve_partial(self, solver: str, *, time_limit_s: float | None, mip_gap: float | None) -> SolveResult:
        """Partial set covering on the MCLP's reductions (:func:`reduce_coverage`: classes of customers with
        the same covering sites, dominated sites dropped, what the existing sites cover counted once), started
        from the fewest sites the greedy-and-swaps heuristic reaches the target with."""
        start = time.perf_counter()
        existing = np.unique(self.existing)
        reduced = reduce_coverage(self._covers(), self.weights, self.cost.n_sites, existing)
        total = float(self.weights.sum())
        target = self.coverage * total - reduced.constant
        slack = 1e-9 * max(1.0, total)
        extra = {"coverage_target": self.coverage, "customer_classes": reduced.n_classes,
                 "customers_modelled": reduced.n_customers, "sites_modelled": len(reduced.sites),
                 "sites_dominated": reduced.n_dominated}
        if target <= slack:  # the existing sites cover enough
            n = float(len(existing))
            return self._result(existing, status="optimal", objective=n, bound=n, solver=solver,
                                build_s=time.perf_counter() - start, solve_s=0.0, n_variables=0, n_constraints=0,
                                extra={**extra, "heuristic_sites": len(existing)})
        if float(reduced.weights.sum()) < target - slack:
            reachable = (reduced.constant + float(reduced.weights.sum())) / total
            msg = (f"the candidate sites cover at most {100 * reachable:.2f} % of the demand weight within radius "
                   f"{self.radius:g}, less than the coverage of {100 * self.coverage:.2f} % asked for; lower coverage, "
                   "raise the radius or add candidate sites")
            raise InfeasibleError(msg)
        local = _fewest_by_local_search(reduced, target - slack)
        extra["heuristic_sites"] = len(local) + len(existing)
        problem = pulp.LpProblem("partial_set_covering", pulp.LpMinimize)
        y = [pulp.LpVariable(f"y_{k}", cat=pulp.LpBinary) for k in range(len(reduced.sites))]
        covered = [pulp.LpVariable(f"u_{c}", lowBound=0, upBound=1) for c in range(reduced.n_classes)]
        covers = reduced.covers
        for c, u in enumerate(covered):
            sites = covers.indices[covers.indptr[c]:covers.indptr[c + 1]]
            problem += pulp.LpAffineExpression([(u, 1.0)] + [(y[j], -1.0) for j in sites]) <= 0, f"cover_{c}"
        problem += pulp.LpAffineExpression(zip(covered, reduced.weights.tolist())) >= target - slack, "coverage"
        problem.setObjective(pulp.lpSum(y))
        _set_start(y, covered, reduced, local)
        build_s = time.perf_counter() - start
        remaining = None if time_limit_s is None else max(time_limit_s - build_s, 0.1)
        outcome = solve_problem(problem, solver=solver, time_limit_s=remaining, mip_gap=mip_gap, warm_start=True)
        if outcome.objective is not None and round(outcome.objective) < len(local):
            local = np.flatnonzero(np.array([v.varValue or 0.0 for v in y]) > 0.5)
        bound = len(local) if outcome.bound is None else min(float(np.ceil(outcome.bound - 1e-6)), len(local))
        status = "optimal" if bound >= len(local) else "feasible"
        chosen = np.union1d(existing, reduced.sites[local])
        return self._result(chosen, status=status, objective=float(len(chosen)), bound=bound + len(existing),
                            solver=solver, build_s=build_s, solve_s=outcome.solve_time_s,
                            n_variables=problem.numVariables(), n_constraints=problem.numConstraints(), extra=extra)


def _fewest_by_local_search(reduced: ReducedCoverage, target: float) -> np.ndarray:
    """The fewest kept sites (positions) that greedy-and-swaps finds covering ``target``: the greedy count,
    then one site fewer as long as the swaps of :func:`interchange_coverage` still reach the target."""
    covers, weights = reduced.covers, reduced.weights
    low, high = 1, len(reduced.sites)  # the greedy's covered weight only grows with its count
    while low < high:
        middle = (low + high) // 2
        if covered_weight(covers, weights, greedy_coverage(covers, weights, middle)) >= target:
            high = middle
        else:
            low = middle + 1
    best = greedy_coverage(covers, weights, high)
    while len(best) > 1:
        fewer = interchange_coverage(covers, weights, greedy_coverage(covers, weights, len(best) - 1))
        if covered_weight(covers, weights, fewer) < target:
            break
        best = fewer
    return best


def _reduced_problem(
    reduced: ReducedCoverage,
) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[pulp.LpVariable]]:
    """The compact MCLP on customer classes: ``max Σ w_c u_c, u_c ≤ Σ_{j covers c} y_j, Σ y ≤ p``.

    Returns the problem, the site variables ``y`` and the class variables ``u``.
    """
    problem = pulp.LpProblem("mclp", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y_{k}", lowBound=0, upBound=1, cat=pulp.LpInteger) for k in range(len(reduced.sites))]
    covers = reduced.covers
    objective = []
    classes = []
    for c in range(reduced.n_classes):
        u = pulp.LpVariable(f"u_{c}", lowBound=0, upBound=1)
        classes.append(u)
        objective.append((u, float(reduced.weights[c])))
        sites = covers.indices[covers.indptr[c]:covers.indptr[c + 1]]
        problem.addConstraint(pulp.LpConstraint(
            pulp.LpAffineExpression([(u, 1.0)] + [(y[j], -1.0) for j in sites]), pulp.LpConstraintLE,
            f"cover_{c}", 0.0))
    # at most p: the same optimum (coverage never falls when a site opens), and dominated sites may go
    problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in y]), pulp.LpConstraintLE,
                                            "p_sites", float(reduced.p)))
    problem.setObjective(pulp.LpAffineExpression(objective))
    return problem, y, classes


def _set_start(y: list[pulp.LpVariable], u: list[pulp.LpVariable], reduced: ReducedCoverage,
               local: np.ndarray) -> None:
    """Give every variable the value of the local-search plan (``local``: positions among the kept sites)."""
    is_open = np.zeros(len(y), dtype=bool)
    is_open[np.asarray(local, dtype=np.int64)] = True
    covered = reduced.covers @ is_open.astype(float) > 0
    for var, value in zip(y, is_open):
        var.setInitialValue(int(value))
    for var, value in zip(u, covered):
        var.setInitialValue(int(value))


def _lagrangian(reduced: ReducedCoverage, local: np.ndarray, start: float, time_limit_s: float | None,
                tolerance: float | None) -> LagrangianOutcome | None:
    """The Lagrangian search by components (``_coverage_lagrange``) when its components split the problem.

    It gets at most :data:`LAGRANGIAN_SHARE` of the time limit; the solver has the rest. Within
    :data:`EXACT_SHARE` of the limit it looks for a zero gap rather than one within the tolerance. A plan
    already within the tolerance of the linear relaxation is returned as it is (no points).
    """
    lp_value, multiplier = lp_multiplier(reduced.covers, reduced.weights, reduced.p)
    value = covered_weight(reduced.covers, reduced.weights, local)
    gap = relative_gap(value, lp_value)
    if gap is not None and gap <= (tolerance or OPTIMALITY_TOLERANCE):
        return LagrangianOutcome(sites=local, value=value, bound=max(lp_value, value), points=0)
    if multiplier <= 0 or not splits(reduced.covers, reduced.weights, multiplier):
        return None
    deadline = exact_until = None
    if time_limit_s is not None:
        deadline, exact_until = start + LAGRANGIAN_SHARE * time_limit_s, start + EXACT_SHARE * time_limit_s
    outcome = lagrangian_search(reduced.covers, reduced.weights, reduced.p, local, multiplier=multiplier,
                                tolerance=tolerance or OPTIMALITY_TOLERANCE, deadline=deadline,
                                exact_until=exact_until)
    if _integral(reduced.weights):
        # whole weights: so is the optimum, and the bound may drop to a whole number
        outcome = dataclasses.replace(outcome, bound=float(np.floor(outcome.bound + 1e-6)))
    return outcome


def _search_budget(time_limit_s: float | None) -> float:
    """Seconds for the local search before the solver: a tenth of the limit, at most 10 s."""
    return 10.0 if time_limit_s is None else min(10.0, 0.1 * time_limit_s)


def greedy_mclp(
    cost: Any,
    *,
    weights: Any | None = None,
    radius: float,
    p: int,
    existing: Any | None = None,
    demand_ids: Any | None = None,
    site_ids: Any | None = None,
) -> SolveResult:
    """Greedy maximal covering, the classic baseline: add the site covering most uncovered weight, p times.

    Same inputs as :meth:`MCLP.from_cost_matrix`; ``status`` is ``"feasible"``
    (a heuristic proves nothing) and ``bound`` is None.
    """
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weights=weights, radius=radius, p=p, existing=existing,
                                  demand_ids=demand_ids, site_ids=site_ids)
    chosen = greedy_coverage(model._covers(), model.weights, model.p, model.existing)
    elapsed = time.perf_counter() - start
    result = model._result(chosen, status="feasible", objective=None, bound=None, solver="greedy",
                           build_s=0.0, solve_s=elapsed, n_variables=0, n_constraints=0, extra={"p": model.p})
    return _replace_objective(result, result.extra["covered_weight"])


def _replace_objective(result: SolveResult, value: float) -> SolveResult:
    from dataclasses import replace

    return replace(result, objective=value, gap=relative_gap(value, result.bound))


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) < 1e-9))


def _check_radius(radius: float) -> None:
    if not np.isfinite(radius) or radius < 0:
        msg = f"radius must be a finite non-negative number; got {radius!r}"
        raise ValueError(msg)


def _existing_labels(sites: Any, existing_col: str | None, table: SparseCost) -> Any:
    if existing_col is None:
        return None
    return table.site_ids[sites[existing_col].fillna(False).to_numpy(dtype=bool)]
