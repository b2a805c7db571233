"""The p-median problem: open p sites, minimise the weighted cost to the nearest open site.

The exact model is the radius (covering) formulation of Elloumi (2010) and
García, Labbé & Marín (2011), not the textbook one with an assignment variable
per demand–site pair. For demand point ``i`` let ``D_i^1 < D_i^2 < …`` be its
distinct costs to the sites and ``z_i^k = 1`` mean "no open site within
``D_i^k``". Then

    min   Σ_i w_i (D_i^1 + Σ_k (D_i^{k+1} − D_i^k) z_i^k)
    s.t.  z_i^1 + Σ_{j: c_ij = D_i^1} y_j ≥ 1
          z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} y_j ≥ 0      (k ≥ 2)
          Σ_j y_j = p,   y binary,   z ≥ 0.

Its linear relaxation is as strong as the textbook one with far fewer
variables (one per distinct cost, not per site) and one non-zero per pair.

The solve takes these steps:

1. a greedy + fast-interchange heuristic (numpy, all swaps evaluated at once)
   gives an upper bound ``UB``;
2. Beasley's (1993) Lagrangian relaxation, optimised by subgradient steps,
   gives a lower bound and rules out every site and every demand–site pair
   that cannot appear in a solution better than ``UB``; the relaxation's own
   choice seeds a second local search;
3. with HiGHS as the solver and every pair finite, a branch-and-cut of our own
   on the sites the root left (:func:`siting.models._benders.branch_and_cut`):
   the Benders master LP of Duran-Mateluna, Alès & Elloumi (2023) — one
   column per site and per demand point, customer cuts computed in closed form
   from the sorted costs — bounds every node; reduced costs fix sites; when
   it branches for long, HiGHS's branch-and-bound on the root's master (with
   ``y`` integral, iterated with new cuts) gets a short try;
   when the points fall into far-apart groups (the components of the pairs
   within the best solution's longest service) and the root leaves a gap over
   :data:`SPLIT_MIN_GAP`, the groups' own p-medians take over: a dynamic
   programme over how many medians each group gets, exact values where it
   rests, Lagrangian bounds elsewhere (:mod:`siting.models._groups`);
4. for few medians (at most :data:`TREE_MAX_P` to choose) when the root gap is
   wide (over :data:`TREE_MIN_GAP`), or when the branch-and-cut cannot run, a
   depth-first branch-and-bound on the sites left, with the same Lagrangian
   bound at each node (see :func:`siting.models._lagrangian.tree_search`),
   proves the optimum or finds it; the MIP solver is not called;
5. otherwise (CBC, or pairs that cannot be assigned) the radius formulation
   over the pairs left is solved by HiGHS or CBC through PuLP. Each point's
   distances stop at the farthest any improving solution can have: the cost
   to its nearest fixed-open site, or to its ``(n − p + 1)``-th nearest site
   (some open site always lies that close).

If the reduced model has no solution, nothing beats the heuristic and its
solution is optimal. The result is ``"optimal"`` only when the solver proved
the reduced model optimal, one of our searches was exhausted, the groups'
programme met the best solution, or the bounds met (within half the
optimality tolerance for fractional costs, within one unit for integral
ones).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pulp

from siting._errors import InfeasibleError
from siting.models._base import (
    SolveResult,
    SparseCost,
    _status_from_gap,
    check_solver,
    relative_gap,
    solve_problem,
)
from siting.models._geometry import cost_from_geodataframes
from siting.models._groups import GroupSolution, GroupTask, split_by_groups, splits_into_groups
from siting.models._heuristics import greedy_pmedian, interchange_pmedian, pmedian_cost
from siting.models._base import OPTIMALITY_TOLERANCE
from siting.models._benders import HIGHS_CUT_ROUNDS, MASTER_MIP_S, branch_and_cut
from siting.models._lagrangian import Reduction, lagrangian_reduction, tree_search
from siting.models._sorted import SortedCosts

#: Largest dense demand × site matrix the p-median builds internally (cells).
MAX_DENSE_CELLS = 60_000_000



#: The warm start is near-optimal: HiGHS's sub-MIP heuristics (RINS, RENS) only cost time.
HIGHS_OPTIONS = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}


#: Up to this many medians to choose, a Lagrangian tree search replaces the MIP solver: the LP gap is
#: wide there (about 1 % on pmed36-pmed39) and each LP of the radius formulation takes seconds.
TREE_MAX_P = 20

#: Subgradient steps at the root before the Benders branch-and-cut (uniform-1000 at p = 10: 3.7 s in all with 600,
#: 9.0 s with 3000 — the ascent's tail costs more than the few sites it closes; 200 close too few).
ROOT_ITERATIONS_BEFORE_CUTS = 600

#: Before the branch-and-cut, the ascent also stops once its bound is within this (relative) of the heuristic's
#: cost: the root LP is exact, and with few medians every step is dear (uniform-1500, p = 5: 600 steps took 7.5 s).
ASCENT_GAP_BEFORE_CUTS = 1e-4

#: With few medians and a gap wider than this (relative) at the branch-and-cut's root (its LP bound against the
#: best solution after an LP-guided local search), the Lagrangian tree search takes over from the root LP's
#: multipliers: its nodes are cheaper and many are needed anyway. OR-Library pmed36, pmed38, pmed39 have
#: root gaps of 0.6-1 % (pmed36: 17 s by the tree, 32 s by branch-and-cut); the TSPLIB-style instances of
#: benchmarks/exact.py stay below 0.35 % (lattice-1432, p = 20: 0.33 % against a poor first solution, proven
#: by branch-and-cut; the tree search does not finish in 60 s).
TREE_MIN_GAP = 0.005

#: When the points fall into far-apart groups and the branch-and-cut's root leaves a relative gap wider than this,
#: the groups' own p-medians take over (see :mod:`siting.models._groups`).
SPLIT_MIN_GAP = 0.002


class PMedian:
    """The p-median model: choose ``p`` sites minimising the weighted cost to the nearest one.

    Build it with :meth:`from_cost_matrix` or :meth:`from_geodataframes`, then
    call :meth:`solve`.
    """

    name = "PMedian"

    #: Hand a wide root gap over to the far-apart groups, if the points fall into them (off for the groups' own
    #: p-medians).
    split_groups = True

    #: A lower bound on the optimum known from elsewhere (set by the separated groups, from a near twin's optimum):
    #: the search stops as soon as a solution meets it. Only our own searches (HiGHS, every pair finite) use it.
    known_bound: float = -np.inf

    #: Set from another thread to end the search as at the time limit (the separated groups stop a group's solve
    #: that no longer matters). Only our own searches (HiGHS, every pair finite) look at it.
    stop: threading.Event | None = None

    def __init__(self, cost: SparseCost, *, p: int, weights: np.ndarray, existing: np.ndarray) -> None:
        self.cost = cost
        self.p = int(p)
        self.weights = weights
        self.existing = existing

    # ------------------------------------------------------------------ build
    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        *,
        p: int,
        weights: Any | None = None,
        existing: Any | None = None,
        demand_ids: Any | None = None,
        site_ids: Any | None = None,
    ) -> PMedian:
        """Build from a dense ``demand × site`` matrix or a long ``demand_id, site_id, cost`` table.

        Parameters
        ----------
        cost : array-like, pandas.DataFrame or SparseCost
            Dense matrix (rows demand points, columns sites; a DataFrame's
            index and columns are the labels, else positions) or a long table.
            Missing or non-finite costs mean the site cannot serve the point.
        p : int
            Number of open sites in all, existing sites included.
        weights : array-like, optional
            Demand weight per demand point, in the order of the demand labels
            (default 1 each).
        existing : sequence, optional
            Labels of sites that are already open; they stay open and count
            towards ``p``.
        demand_ids, site_ids : sequence, optional
            Full label lists for a long table (see :meth:`SparseCost.from_input`).

        Raises
        ------
        ValueError
            On a bad ``p``, weights of the wrong length or negative, or unknown
            existing sites.
        """
        table = SparseCost.from_input(cost, demand_ids=demand_ids, site_ids=site_ids)
        w = _weights(weights, table.n_demand)
        fixed = _site_positions(existing, table.site_ids)
        if p < 1 or p < len(fixed):
            msg = f"p must be at least 1 and at least the number of existing sites ({len(fixed)}); got p={p}"
            raise ValueError(msg)
        if p > table.n_sites:
            msg = f"p={p} exceeds the number of candidate sites ({table.n_sites}); lower p or add candidates"
            raise InfeasibleError(msg)
        return cls(table, p=p, weights=w, existing=fixed)

    @classmethod
    def from_geodataframes(
        cls,
        demand: Any,
        sites: Any,
        *,
        p: int,
        weight_col: str | None = None,
        existing_col: str | None = None,
        demand_id_col: str | None = None,
        site_id_col: str | None = None,
        max_distance_m: float | None = None,
    ) -> PMedian:
        """Build from point layers with straight-line distances in metres.

        Parameters
        ----------
        demand, sites : geopandas.GeoDataFrame
            Demand points and candidate sites in one projected (metric) CRS.
            Non-point geometries are represented by their centroids.
        p : int
            Number of open sites in all, existing included.
        weight_col : str, optional
            Column of ``demand`` with demand weights (default 1 each).
        existing_col : str, optional
            Boolean column of ``sites`` marking already-open sites.
        demand_id_col, site_id_col : str, optional
            Columns with labels (default: the frames' indexes).
        max_distance_m : float, optional
            Pairs farther apart than this cannot be assigned.

        Raises
        ------
        siting.DataError
            If a layer has a geographic or missing CRS, or the CRSs differ.
        """
        table = cost_from_geodataframes(demand, sites, demand_id_col=demand_id_col,
                                        site_id_col=site_id_col, max_distance_m=max_distance_m)
        weights = None if weight_col is None else demand[weight_col].to_numpy()
        existing = None
        if existing_col is not None:
            existing = table.site_ids[sites[existing_col].fillna(False).to_numpy(dtype=bool)]
        return cls.from_cost_matrix(table, p=p, weights=weights, existing=existing)

    # ------------------------------------------------------------------ solve
    def solve(
        self,
        solver: str = "highs",
        *,
        time_limit_s: float | None = None,
        mip_gap: float | None = None,
        threads: int = 2,
    ) -> SolveResult:
        """Solve to proven optimality (or until ``time_limit_s``).

        Parameters
        ----------
        solver : {"highs", "cbc"}
            MIP solver for the exact model (not called when the tree search settles the problem).
        time_limit_s : float, optional
            Wall-clock limit for the whole solve; the heuristic and the root Lagrangian bound (seconds at
            most on 900 × 900) run to completion, the tree search or the solver gets the time that is left.
        mip_gap : float, optional
            Relative gap at which to stop; by default the solvers' own (1e-4),
            tightened for integral costs so that the optimum is exact.
        threads : int
            Threads for the Benders branch-and-cut (at most 2 are used): with 2, HiGHS's MIP on the
            root's master and then a second search worker run beside the
            first (see :func:`siting.models._benders.branch_and_cut`), so which
            of several equally good solutions is returned may change from run
            to run; with 1, one worker and no MIP: the same answer every run.

        Returns
        -------
        SolveResult
            ``objective`` is the weighted cost of the returned solution,
            ``bound`` a proven lower bound; ``status`` is ``"optimal"`` only
            when the two meet within the optimality tolerance.

        Raises
        ------
        InfeasibleError
            If some demand point can reach no site, or no choice of ``p`` sites
            reaches every demand point.
        """
        solver = check_solver(solver)
        if threads < 1:
            raise ValueError(f"threads must be 1 or more, not {threads}")
        start = time.perf_counter()
        dense, finite = self._dense()
        n_demand, n_sites = dense.shape
        unreachable = ~finite.any(axis=1)
        if unreachable.any():
            names = ", ".join(map(str, self.cost.demand_ids[unreachable][:10]))
            msg = (f"{int(unreachable.sum())} demand point(s) can reach no site ({names}); "
                   "raise the cost cut-off or add candidate sites near them")
            raise InfeasibleError(msg)
        big = 2.0 * float(dense[finite].max(initial=0.0)) * max(1, n_demand) + 1.0
        work = np.where(finite, dense, big)
        w = self.weights
        integral = _integral(self.cost.cost) and _integral(w)  # the table's costs: those of the finite cells

        ranked = SortedCosts(w[:, None] * work)  # every later pass reads only the pairs it needs from this
        sites = interchange_pmedian(work, w, greedy_pmedian(work, w, self.p, self.existing), self.existing,
                                    sorted_costs=ranked)
        upper = pmedian_cost(work, w, sites)
        extra: dict[str, Any] = {"heuristic_objective": upper,
                                 "heuristic_time_s": round(time.perf_counter() - start, 3)}
        feasible_start = bool((work[:, sites].min(axis=1) < big).all())
        fixed_open = np.zeros(n_sites, dtype=bool)
        fixed_open[self.existing] = True
        closed = np.zeros(n_sites, dtype=bool)
        allowed = finite
        lower = None
        if len(self.existing) == self.p:
            return self._finish(sites, work, "optimal", upper, upper, solver, 0.0, 0.0, 0, 0, extra, start)
        if feasible_start:
            # only solutions strictly better than the heuristic's are worth finding
            # the master LP of the Benders decomposition is solved by highspy; infinite costs would need big-M cuts
            by_cuts = solver == "highs" and bool(finite.all())
            few_medians = self.p - len(self.existing) <= TREE_MAX_P
            # the branch-and-cut's root LP is exact: a long ascent only adds penalty-test closures
            iterations = ROOT_ITERATIONS_BEFORE_CUTS if by_cuts else 3000
            # our own searches need room to prune: within half the optimality tolerance is close enough
            threshold = _threshold_function(integral, 0.5 * OPTIMALITY_TOLERANCE if few_medians or by_cuts
                                            else -1e-9)
            stop_gap = ASCENT_GAP_BEFORE_CUTS if by_cuts else 0.0
            reduction = lagrangian_reduction(work, w, self.p, self.existing, upper, w * work[:, sites].min(axis=1),
                                             threshold=threshold(upper), max_iterations=iterations,
                                             sorted_costs=ranked, stop_gap=stop_gap)
            # the relaxation's choice is a good start for a second local search (Beasley 1993)
            second = interchange_pmedian(work, w, reduction.chosen, self.existing, sorted_costs=ranked)
            second_value = pmedian_cost(work, w, second)
            if second_value < upper - 1e-9 * max(1.0, abs(upper)):
                sites, upper = second, second_value
                extra["heuristic_objective"] = upper
                reduction = lagrangian_reduction(work, w, self.p, self.existing, upper, reduction.multipliers,
                                                 threshold=threshold(upper), max_iterations=min(iterations, 1000),
                                                 sorted_costs=reduction.sorted_costs, stop_gap=stop_gap)
            lower = reduction.lower_bound
            extra.update(lagrangian_bound=lower, lagrangian_iterations=reduction.iterations,
                         sites_closed=int(reduction.closed.sum()), sites_opened=int(reduction.opened.sum()),
                         lagrangian_time_s=round(time.perf_counter() - start - extra["heuristic_time_s"], 3))
            if by_cuts:
                lower = max(lower, self.known_bound)
            if lower > threshold(upper):
                return self._finish(sites, work, "optimal", upper, upper if integral else lower, solver,
                                    0.0, 0.0, 0, 0, extra, start)
            if by_cuts:
                # far-apart groups: a wide root gap goes to the groups' own p-medians (siting.models._groups)
                split = (not few_medians and self.split_groups and splits_into_groups(work, sites))
                result = self._branch_and_cut(work, sites, reduction, threshold, integral, time_limit_s, extra,
                                              start, hand_over=few_medians, split=split, threads=threads)
                if not isinstance(result, Reduction):
                    return result
                reduction, sites, upper = result, result.chosen, pmedian_cost(work, w, result.chosen)
            if few_medians:
                return self._tree_search(work, sites, reduction, threshold, integral, solver, time_limit_s,
                                         extra, start)
            allowed = reduction.allowed & finite
            fixed_open |= reduction.opened
            closed = reduction.closed

        radii = _RadiusModel(dense, allowed, w, self.p, fixed_open, closed)
        extra["pairs_modelled"] = radii.n_pairs
        if radii.unservable.any():
            if not feasible_start:
                names = ", ".join(map(str, self.cost.demand_ids[radii.unservable][:10]))
                msg = f"demand point(s) {names} can be served by no site; raise the cost cut-off"
                raise InfeasibleError(msg)
            # no solution better than the heuristic's serves these points: it is optimal
            return self._finish(sites, work, "optimal", upper, upper if integral else lower, solver,
                                0.0, 0.0, 0, 0, extra, start)
        radii.open_all()
        best_sites, best_value = sites, upper
        gap_arg = mip_gap
        if gap_arg is None and integral:
            # integral data: a gap below one unit of the objective proves the optimum
            gap_arg = min(1e-4, 0.5 / max(upper, 1.0))
        status, bound = "feasible", None
        build_s = solve_s = 0.0
        n_variables = n_constraints = 0
        remaining = None if time_limit_s is None else time_limit_s - (time.perf_counter() - start)
        if remaining is None or remaining > 0.05:
            t0 = time.perf_counter()
            # the heuristic's solution may lie outside the reduced model (integral threshold)
            warm = best_sites if radii.admits(best_sites) else None
            problem, y = radii.build(warm)
            build_s = time.perf_counter() - t0
            n_variables, n_constraints = problem.numVariables(), problem.numConstraints()
            # HiGHS 1.16 can return a wrong optimum when given a start and presolve is on: CBC only
            outcome = solve_problem(problem, solver=solver, time_limit_s=remaining, mip_gap=gap_arg,
                                    warm_start=warm is not None and solver == "cbc",
                                    highs_options=HIGHS_OPTIONS)
            solve_s = outcome.solve_time_s
            if outcome.status == "infeasible":
                if not feasible_start:
                    msg = (f"no choice of p={self.p} sites reaches every demand point within the cost table; "
                           "raise p or the cost cut-off")
                    raise InfeasibleError(msg)
                # nothing better than the heuristic's solution exists
                status, bound = "optimal", (upper if integral else lower)
            elif outcome.objective is not None:
                chosen = np.flatnonzero(np.array([v.varValue or 0.0 for v in y]) > 0.5)
                value = pmedian_cost(work, w, chosen)
                if value < best_value - 1e-9 * max(1.0, abs(best_value)):
                    best_sites, best_value = chosen, value
                # solutions outside the reduced model cost more than the heuristic's
                if outcome.bound is not None:
                    bound = min(outcome.bound, upper)
                if outcome.status == "optimal":
                    status = "optimal"
                    bound = best_value if bound is None else min(max(bound, lower or bound), best_value)
        if bound is None or (lower is not None and lower > bound):
            bound = lower if bound is None else max(bound, lower)
        if status != "optimal" and bound is not None:
            status = _status_from_gap(best_value, bound)
        if (work[:, np.asarray(best_sites)].min(axis=1) >= big).any():
            msg = (f"no choice of p={self.p} sites reaches every demand point within the cost table; "
                   "raise p or the cost cut-off")
            raise InfeasibleError(msg)
        return self._finish(best_sites, work, status, best_value, bound, solver, build_s, solve_s,
                            n_variables, n_constraints, extra, start)

    # ---------------------------------------------------------------- helpers
    def _split_groups(self, work, sites, upper, threshold, time_limit_s, start, threads, extra):
        """Far-apart clusters: the p-median bounded (and often solved) cluster by cluster (see ``_groups``)."""
        deadline = None if time_limit_s is None else start + time_limit_s

        def solve_group(task: GroupTask) -> GroupSolution:
            group = PMedian(SparseCost.from_input(task.cost), p=task.k, weights=task.weights, existing=task.fixed)
            group.split_groups, group.stop, group.known_bound = False, task.stop, task.known_bound
            left = None if task.deadline is None else max(0.0, task.deadline - time.perf_counter())
            result = group.solve("highs", time_limit_s=left, threads=task.threads)
            chosen = np.asarray(result.selected, dtype=np.int64)
            bound = -np.inf if result.bound is None else float(result.bound)
            return GroupSolution(chosen, float(result.objective), bound, result.status == "optimal")

        t0 = time.perf_counter()
        split = split_by_groups(work, self.weights, self.p, self.existing, np.asarray(sites), upper,
                                threshold=threshold, deadline=deadline, solve_group=solve_group,
                                workers=min(threads, 2))
        if split is not None:
            extra.update(method="separated groups", groups=split.groups, distinct_groups=split.distinct_groups,
                         group_solves=split.group_solves, groups_bound=split.bound,
                         groups_time_s=round(time.perf_counter() - t0, 3))
        return split

    def _tree_search(self, work, sites, reduction, threshold, integral, solver, time_limit_s, extra, start):
        """Few medians: Lagrangian branch-and-bound over the sites the root reduction left."""
        deadline = None if time_limit_s is None else start + time_limit_s
        fixed = np.union1d(self.existing, np.flatnonzero(reduction.opened)).astype(np.int64)
        t0 = time.perf_counter()
        tree = tree_search(work, self.weights, self.p, fixed, reduction.closed, sites, reduction.multipliers,
                           threshold=threshold, deadline=deadline, sorted_costs=reduction.sorted_costs,
                           stop=self.stop)
        tree_time_s = time.perf_counter() - t0
        extra.update(method="lagrangian tree search", tree_nodes=tree.nodes, tree_time_s=round(tree_time_s, 3))
        # no MIP solver ran: say so rather than name the one asked for
        return self._finish_search(tree, work, reduction, integral, "lagrangian tree search", extra, start)

    def _branch_and_cut(self, work, sites, reduction, threshold, integral, time_limit_s, extra, start, *,
                        hand_over: bool, split: bool, threads: int):
        """Branch-and-bound over the Benders master LP on the sites the root reduction left.

        With ``hand_over`` (few medians) a root gap wider than :data:`TREE_MIN_GAP` returns, instead of a
        result, a new root reduction from the LP's multipliers (its ``chosen`` is the best solution found) for
        the Lagrangian tree search. With ``split`` (the points fall into far-apart groups) a root gap wider than
        :data:`SPLIT_MIN_GAP` goes to the groups' own p-medians; unless they prove the optimum, the
        branch-and-cut starts again from their solution and bound with the time left.
        """
        deadline = None if time_limit_s is None else start + time_limit_s
        fixed = np.union1d(self.existing, np.flatnonzero(reduction.opened)).astype(np.int64)
        t0 = time.perf_counter()
        gap = TREE_MIN_GAP if hand_over else SPLIT_MIN_GAP if split else None
        tree = branch_and_cut(work, self.weights, reduction.sorted_costs, self.p, fixed, reduction.closed, sites,
                              threshold=threshold, deadline=deadline, multipliers=reduction.multipliers,
                              hand_over_gap=gap, workers=min(threads, 2),
                              master_mip_s=MASTER_MIP_S if threads > 1 else 0.0,
                              known_bound=self.known_bound,
                              stop=self.stop,
                              # neither in the separated groups' solves (one thread): on blocks of a few hundred
                              # sites they cost more than they save (fl1400 at p = 300, alternating runs:
                              # 29.3 and 31.2 s with HiGHS's cuts against 17.5 and 17.7 s without; 30.7 and 32.5 s
                              # with regions against 14.7 s)
                              highs_cut_rounds=HIGHS_CUT_ROUNDS if threads > 1 else 0,
                              region_branching=threads > 1)
        if tree.handed_over and not hand_over:
            extra["root_lp_bound"] = tree.lower_bound
            outcome = self._split_groups(work, tree.sites, tree.objective, threshold, time_limit_s, start, threads,
                                         extra)
            if outcome is not None and outcome.proven:
                bound = outcome.objective if integral else outcome.bound
                return self._finish(outcome.sites, work, "optimal", outcome.objective, bound,
                                    "separated groups (HiGHS LPs)", 0.0, 0.0, 0, 0, extra, start)
            lower = max(reduction.lower_bound, tree.lower_bound, -np.inf if outcome is None else outcome.bound)
            best = tree.sites if outcome is None else outcome.sites
            return self._branch_and_cut(work, best, dataclasses.replace(reduction, lower_bound=lower), threshold,
                                        integral, time_limit_s, extra, start, hand_over=False, split=False,
                                        threads=threads)
        extra.update(method="benders branch-and-cut", tree_nodes=tree.nodes,
                     tree_nodes_second_worker=tree.second_worker_nodes, highs_cuts=tree.highs_cuts,
                     region_branches=tree.region_branches, region_root_ratio=tree.region_root_ratio,
                     tree_time_s=round(time.perf_counter() - t0, 3), proven_by_master_mip=tree.by_master_mip)
        if tree.handed_over:
            # the LP multipliers give the tree search its best root bound; few steps polish them
            extra.update(method="lagrangian tree search", root_lp_bound=tree.lower_bound)
            handed = lagrangian_reduction(work, self.weights, self.p, self.existing, tree.objective,
                                          tree.multipliers, threshold=threshold(tree.objective), max_iterations=100,
                                          sorted_costs=reduction.sorted_costs)
            return Reduction(lower_bound=max(handed.lower_bound, reduction.lower_bound), allowed=handed.allowed,
                             closed=handed.closed | reduction.closed, opened=handed.opened | reduction.opened,
                             iterations=handed.iterations,
                             chosen=np.asarray(tree.sites), multipliers=handed.multipliers,
                             sorted_costs=handed.sorted_costs)
        return self._finish_search(tree, work, reduction, integral, "benders branch-and-cut (HiGHS LPs)", extra, start)

    def _finish_search(self, tree, work, reduction, integral, solver_name, extra, start):
        """The result of one of our own searches: optimal when it was exhausted."""
        bound = max(tree.lower_bound, reduction.lower_bound)
        if tree.complete:
            # every solution costs more than threshold(objective): for integral data, at least the objective
            bound = tree.objective if integral else min(bound, tree.objective)
        bound = min(bound, tree.objective)
        status = _status_from_gap(tree.objective, bound) if tree.complete else "feasible"
        return self._finish(tree.sites, work, status, tree.objective, bound, solver_name, 0.0, 0.0, 0, 0, extra,
                            start)

    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        n_demand, n_sites = self.cost.n_demand, self.cost.n_sites
        if n_demand * n_sites > MAX_DENSE_CELLS:
            msg = (f"p-median on {n_demand} demand points × {n_sites} sites is too large for one model; "
                   "aggregate demand points or pre-select candidate sites")
            raise ValueError(msg)
        flat = self.cost.demand * n_sites + self.cost.site
        if len(flat) == n_demand * n_sites and (np.diff(flat) > 0).all():
            # every pair once, in row order (a dense matrix given): the costs are the matrix
            dense = self.cost.cost.reshape(n_demand, n_sites).copy()
            return dense, np.ones(dense.shape, dtype=bool)
        dense = np.full((n_demand, n_sites), np.inf)
        # duplicates in a long table: keep the cheapest pair
        np.minimum.at(dense, (self.cost.demand, self.cost.site), self.cost.cost)
        return dense, np.isfinite(dense)

    def _finish(self, sites, work, status, objective, bound, solver, build_s, solve_s,
                n_variables, n_constraints, extra, start) -> SolveResult:
        extra["total_time_s"] = round(time.perf_counter() - start, 3)
        sites = np.asarray(sites, dtype=np.int64)
        sub = work[:, sites]
        nearest = sites[np.argmin(sub, axis=1)]
        rows = np.arange(len(work))
        assignment = pd.DataFrame({
            "demand_id": self.cost.demand_ids,
            "site_id": self.cost.site_ids[nearest],
            "cost": work[rows, nearest],
            "amount": self.weights,
        })
        load = np.bincount(nearest, weights=self.weights, minlength=self.cost.n_sites)
        is_selected = np.zeros(self.cost.n_sites, dtype=bool)
        is_selected[sites] = True
        is_existing = np.zeros(self.cost.n_sites, dtype=bool)
        is_existing[self.existing] = True
        table = pd.DataFrame({
            "site_id": self.cost.site_ids,
            "selected": is_selected,
            "existing": is_existing,
            "units": is_selected.astype(int),
            "load": load,
        })
        return SolveResult(
            model=self.name, status=status, objective=objective, bound=bound,
            gap=relative_gap(objective, bound), selected=list(self.cost.site_ids[sites]),
            assignment=assignment, sites=table, solver=solver, build_time_s=build_s,
            solve_time_s=solve_s, n_variables=n_variables, n_constraints=n_constraints, extra=extra,
        )


class _RadiusModel:
    """The radius formulation over the pairs still allowed, with a per-demand-point cap on the distances modelled.

    ``levels[i]`` are the distinct costs from point ``i`` to the sites allowed
    to serve it, up to the farthest cost any solution worth finding can have
    (``max_level``); ``cap[i] ≤ max_level[i]`` is the last level modelled now.
    At ``max_level`` the point must be served (a hard constraint); below it,
    the point is charged at most its cap (a relaxation).
    """

    def __init__(self, dense: np.ndarray, allowed: np.ndarray, weights: np.ndarray, p: int,
                 fixed_open: np.ndarray, closed: np.ndarray) -> None:
        self.weights = weights
        self.p = p
        self.fixed_open = fixed_open
        self.closed = closed
        n_demand, n_sites = dense.shape
        self.n_sites = n_sites
        n_available = n_sites - int(closed.sum())
        masked = np.where(allowed, dense, np.inf)
        order = np.argsort(masked, axis=1, kind="stable")
        sorted_cost = np.take_along_axis(masked, order, axis=1)
        # p sites open among the n_available: any n_available - p + 1 of them include an open one
        available_cost = np.sort(np.where(closed[None, :], np.inf, dense), axis=1)
        guaranteed = available_cost[:, n_available - p] if n_available - p >= 0 else np.full(n_demand, np.inf)
        if fixed_open.any():
            guaranteed = np.minimum(guaranteed, dense[:, fixed_open].min(axis=1))
        self.order: list[np.ndarray] = []
        self.levels: list[np.ndarray] = []  # distinct modelled costs per demand point
        self.starts: list[np.ndarray] = []  # where each level starts in order[i]
        self.max_level = np.zeros(n_demand, dtype=np.int64)
        self.unservable = np.zeros(n_demand, dtype=bool)
        for i in range(n_demand):
            row = sorted_cost[i]
            n_kept = int(np.searchsorted(row, guaranteed[i], side="right"))
            row = row[:n_kept]
            if n_kept == 0:
                self.unservable[i] = True
            new_level = np.empty(n_kept, dtype=bool)
            new_level[:1] = True
            new_level[1:] = row[1:] != row[:-1]
            starts = np.flatnonzero(new_level)
            self.order.append(order[i, :n_kept])
            self.levels.append(row[starts])
            self.starts.append(np.append(starts, n_kept))
            self.max_level[i] = max(len(starts) - 1, 0)
        self.cap = np.zeros(n_demand, dtype=np.int64)

    @property
    def n_pairs(self) -> int:
        return int(sum(len(o) for o in self.order))

    def open_all(self) -> None:
        """Model every level: no relaxation left."""
        self.cap = self.max_level.copy()

    def admits(self, sites: np.ndarray) -> bool:
        """Whether opening ``sites`` is a feasible solution of the model."""
        is_open = np.zeros(self.n_sites, dtype=bool)
        is_open[sites] = True
        if (is_open & self.closed).any() or (self.fixed_open & ~is_open).any() or is_open.sum() != self.p:
            return False
        for i, (starts, order) in enumerate(zip(self.starts, self.order)):
            if self.cap[i] == self.max_level[i] and not is_open[order[:starts[self.cap[i] + 1]]].any():
                return False
        return True

    def build(self, warm_sites: np.ndarray | None) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
        """The PuLP problem for the current caps, with a warm start from ``warm_sites`` if given."""
        problem = pulp.LpProblem("p_median_radius", pulp.LpMinimize)
        # LpBinary would reset the bounds to 0..1: fixed sites need LpInteger with their own bounds
        y = [pulp.LpVariable(f"y_{j}", lowBound=1 if self.fixed_open[j] else 0,
                             upBound=0 if self.closed[j] else 1, cat=pulp.LpInteger)
             for j in range(self.n_sites)]
        is_warm = np.zeros(self.n_sites, dtype=bool)
        if warm_sites is not None:
            is_warm[warm_sites] = True
            for j, var in enumerate(y):
                var.setInitialValue(1 if is_warm[j] else 0)
        objective_terms: list[tuple[pulp.LpVariable, float]] = []
        constant = 0.0
        constraints = []
        for i, (levels, starts, order) in enumerate(zip(self.levels, self.starts, self.order)):
            if len(levels) == 0:
                continue
            w = float(self.weights[i])
            constant += w * float(levels[0])
            cap = int(self.cap[i])
            hard = cap == self.max_level[i]
            previous = None
            open_so_far = False
            for k in range(cap + (1 if hard else 0)):
                group = order[starts[k]:starts[k + 1]]
                open_so_far = open_so_far or bool(is_warm[group].any())
                terms = [(y[j], 1.0) for j in group]
                z = None
                if k < cap:
                    z = pulp.LpVariable(f"z_{i}_{k}", lowBound=0)
                    if warm_sites is not None:
                        z.setInitialValue(0.0 if open_so_far else 1.0)
                    terms.append((z, 1.0))
                    if w:
                        objective_terms.append((z, w * float(levels[k + 1] - levels[k])))
                if previous is not None:
                    terms.append((previous, -1.0))
                rhs = 1.0 if previous is None else 0.0
                constraints.append(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintGE,
                                                     f"cover_{i}_{k}", rhs))
                previous = z
        constraints.append(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in y]),
                                             pulp.LpConstraintEQ, "p_sites", float(self.p)))
        problem.setObjective(pulp.LpAffineExpression(objective_terms, constant=constant))
        for c in constraints:
            problem.addConstraint(c)
        return problem, y


def _weights(weights: Any | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != n:
        msg = f"weights has {len(w)} values but there are {n} demand points"
        raise ValueError(msg)
    if not np.isfinite(w).all() or (w < 0).any():
        msg = "weights must be finite and non-negative"
        raise ValueError(msg)
    return w


def _site_positions(existing: Any | None, site_ids: pd.Index) -> np.ndarray:
    if existing is None:
        return np.array([], dtype=np.int64)
    labels = list(existing)
    positions = site_ids.get_indexer(labels)
    if (positions < 0).any():
        missing = [lab for lab, pos in zip(labels, positions) if pos < 0][:10]
        msg = f"existing sites {missing} are not among the candidate sites"
        raise ValueError(msg)
    return np.unique(positions).astype(np.int64)


def _threshold_function(integral: bool, tolerance: float):
    """``threshold(objective)``: a bound above it rules out every solution worth finding.

    For integral data a better solution is at least one unit better; otherwise
    it is better by more than ``tolerance`` (relative; negative: not worse).
    """
    if integral:
        return lambda objective: objective - 1.0 + 1e-6
    return lambda objective: objective - tolerance * max(1.0, abs(objective))


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) < 1e-9))
