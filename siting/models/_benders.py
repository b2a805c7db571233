"""The p-median's linear-programming bound by a Benders cut loop over the sites only.

Duran-Mateluna, Alès & Elloumi (2023, "An efficient Benders decomposition for
the p-median problem", EJOR) project the radius formulation onto the site
variables ``y``: with ``θ_i`` the weighted cost of demand point ``i``, the
master problem is

    min Σ_i θ_i   s.t.   Σ_j y_j = p,   0 ≤ y ≤ 1,
                         θ_i + Σ_{j: c_ij < D} (D − c_ij) y_j ≥ D   for the levels D of point i,

(``c`` the weighted costs). At a master solution ``y*`` the subproblem of a
point is solved in closed form from its sorted costs: walk its sites from the
cheapest, accumulating ``y*`` until it reaches 1; the cost ``D`` reached there
gives the most violated cut of that point. The master has ``n_sites +
n_demand`` columns and grows by at most one row per point and round, so its
LPs are small and re-solved from the previous basis (dual simplex).

Every master value is a lower bound on the p-median (the master is a
relaxation); at convergence it is the LP bound of the radius (and of the
textbook) formulation. The cut duals ``μ`` give Lagrange multipliers
``λ_i = Σ_D μ_iD · D`` for Beasley's relaxation with ``L(λ)`` equal to that LP
bound (the Lagrangian subproblem has the integrality property), which is how
the rest of the p-median solve uses them: as the best possible start for the
penalty tests that fix sites and rule out pairs.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siting.models._lagrangian import TreeSearch, _improve
from siting.models._sorted import SortedCosts

#: Seconds after which one master LP is restarted without its basis.
LP_RESTART_S = 5.0

#: What :meth:`_Master.solve` returns when the LP was cut short by the deadline.
OUT_OF_TIME = "out of time"

#: Seconds at most for HiGHS's own branch-and-bound on the root's master (see :func:`_run_master_mip`), run in
#: a thread beside our search (:class:`_BackgroundMasterMip`) before the second worker takes that core. u1060
#: at p = 500 (TSPLIB; a gap of 10 units over an LP bound of 66,666.5, very many equal costs) took our search
#: 3,057 nodes without a proof in 60 s; HiGHS proves it in two MIPs of one node each, 0.5 s. It proves within
#: seconds or not at all (pr1002 at p = 500: 2.2 s in all); a second worker does more with the core after that
#: (d1291 at p = 300: 47 s with the MIP until the deadline, 24 s with 2 s of MIP and then the worker).
MASTER_MIP_S = 2.0

#: HiGHS's MIP on the master only with at most this many sites per median: where it proved what our search did
#: not (u1060 and pr1002 at p = 500, u1432 at p = 300) there were 2–5; with fewer medians the second worker
#: takes the core at once (lattice-1432, u1432 and nrw1379 at p = 50: the worker 2 s earlier).
MASTER_MIP_SITES_PER_MEDIAN = 10

#: Seconds of our own branching after the root before that MIP starts beside it. Most instances that branch at
#: all finish within a few nodes (u1060 at p = 300: 3 nodes, 1.3 s in all), and a MIP started for them only
#: competes for the cores. (When the MIP ran in our thread, for 2 s after a 2 s wait, the seconds it did not
#: prove anything in were lost: pcb1173 at p = 100, 3.7 s before, 5.9 s with the MIP after 1 s.)
MASTER_MIP_AFTER_S = 0.5

#: A node's rounded LP solution within this (relative) of the incumbent gets a local search: drilling-1173 at
#: p = 50 finds its optimum at 3 s instead of 22 s (only improving roundings searched), 548 nodes instead of 1,051.
POLISH_WITHIN = 0.002

#: Roundings near the incumbent (not better) are polished only while polishing has taken at most this share of
#: the search's time: d1291 (TSPLIB) at p = 300 rounds 400 distinct site sets within :data:`POLISH_WITHIN`,
#: each interchange 15 ms (a dense ``sites × medians`` swap table per step).
POLISH_SHARE = 0.2

#: Below this many sites with ``y > 0``, a point's most violated cut is found among those sites
#: (:func:`_most_violated`); from it on, by walking each point's sorted row from the cheapest site
#: (:func:`_most_violated_by_prefix`). Measured on 1,300 random points: with 30 sites in the support 6.2 ms
#: against 2.0 ms, with 600 (p = 200) 32 ms against 0.7 ms; with 15, 2.3 ms against 4.7 ms.
SPARSE_SUPPORT = 48

#: Below the root, cuts slack at the current node and at every node waiting on the stack are deleted once there
#: are this many of them per demand point. Most cuts are slack most of the time (rl1304 at p = 10, 150 LPs in:
#: 3,920 of 5,289 rows), and a HiGHS re-solve costs time in proportion to the rows: 12 ms with all of them,
#: 2.2 ms without the slack ones, for a re-solve that needs no simplex iteration at all.
PURGE_SLACK_PER_POINT = 1.0

#: Sites ranked by pseudo-cost that reliability branching looks at (:func:`_choose_branching_site`); 0: branch
#: on the most fractional site. On clustered-1400 at p = 50 the most fractional site needs 51 nodes where the
#: largest y needs 697; strong branching cuts further: pcb1173 (TSPLIB) at p = 50, 454 nodes and 28 s → 60
#: nodes, 9.8 s; lattice-1432 at p = 100, 695 nodes and 39 s → 87 nodes, 11 s; drilling-1173 at p = 200 and
#: p = 300 proven (48 s and 6 s) where the most fractional site left gaps after 60 s. Four rather than eight (two
#: workers, runs alternating, 2026-11-28; docs/exact.md, seventh session): d1291 (TSPLIB) at p = 300 6.2–8.1 s (4 runs) against
#: 16.2–17.0 s (3), 850–950 nodes against 4,013; fl1400 at p = 200 proven in 28 and 42 s against unproven at 60 s;
#: u1432 at p = 50 24–32 s against 27–35 s; drilling-1173 at p = 200 and 300 about 1 s slower; two candidates
#: were worse again on d1291 (17 s) and fl1400 (unproven).
STRONG_CANDIDATES = 4

#: Strong branching only when there are at most this many sites per median. With
#: fewer medians every cut carries many sites: each child LP costs a tenth of a second or more, and the most
#: fractional site does as well (pcb1173 at p = 10, 117 sites a median: 53 nodes in 19 s by the most fractional
#: site, 35–87 nodes in 30–46 s with strong branching).
MANY_MEDIANS_SITES = 60

#: Dual simplex iterations at most per child LP in strong branching (its value then only ranks the site; only
#: a child proven above the limit fixes it): pcb1173 at p = 50, 86 nodes with 50, 60 with 150, 80 unlimited.
STRONG_ITERATIONS = 150

#: Strong branching stops after this many candidates in a row that do not beat the best score.
STRONG_LOOKAHEAD = 4

#: With at most this many sites per median (nodes are cheap LPs), a dive that ends (its node pruned, integral or
#: fixed by strong branching) goes on from the waiting node of lowest bound instead of the last one pushed, when
#: the last one's bound lies more than :data:`PLUNGE_QUOTIENT` of the gap above it. Depth-first search alone
#: spends long in sub-trees that a better incumbent would prune: drilling-1173 at p = 200, 34–47 s → 11–13 s (the
#: optimum is found early); u1432 (TSPLIB) at p = 300, 7.3–7.8 s → 3.6 s. With fewer medians jumping costs more
#: than it saves: each restart from an older basis is a long LP, and the wider stack keeps slack cuts from being
#: purged (u1432 at p = 50: 606 nodes in 49–57 s depth-first, unproven after 376 nodes and 60 s with jumps;
#: nrw1379 at p = 50, 16.5–18.7 s → 21 s).
PLUNGE_SITES_PER_MEDIAN = 10

#: See :data:`PLUNGE_SITES_PER_MEDIAN` (0.25 and 0.5 and always jumping differ by noise on those instances).
PLUNGE_QUOTIENT = 0.25

#: Rounds at most of HiGHS's cutting planes on the root's master (:func:`_highs_cut_pool`), and the share of the
#: gap a round must close for the next one to run. On grids with few sites per median the LP bound sits well
#: below the optimum, and HiGHS's separators, which combine several points' cuts with Σ y = p, close much of
#: it where no single point's Benders cut can: TSPLIB d1291 at p = 200, root 54,031.4 → 54,072.5 in four
#: rounds (5 s; the optimum 54,107, proven in 118 s), lattice-1432 at p = 300 268,331 → 268,704 in six (optimum
#: 268,789), then proven in 33–50 s in six runs of seven where 60 s had left 268,553 (docs/exact.md,
#: thirteenth session).
HIGHS_CUT_ROUNDS = 8
HIGHS_CUT_PROGRESS = 0.05

#: Relative slack given to the bounds of HiGHS's cuts: they are computed in floating point, and a cut that cut
#: off an optimum by its rounding error would make a bound wrong by more than the tolerance allows.
HIGHS_CUT_SLACK = 1e-9

#: Workers of the branch-and-cut, each with its own master LP in its own thread (see :class:`_Search`).
WORKERS = 2

#: Region branching (:func:`_choose_branching_region`): the regions are each demand point's this many cheapest
#: sites, and a node branches on ``Σ_{j ∈ S} y_j ≤ ⌊s⌋`` or ``≥ ⌊s⌋ + 1`` (``s`` the LP's fractional sum over a
#: region ``S``) when its strong-branching score beats the best site's.
REGION_SIZES = (5, 9, 15, 25)

#: Regions strong-branched at a node (the most fractional sums first).
REGION_CANDIDATES = 4

#: Region branching only with at most this many sites per median, where a strong-branching LP is cheap
#: (TSPLIB u1432 at p = 50, 29 sites a median: the regions' strong branching took 39 of 80 s of the workers'
#: time, and the search 45 s instead of 22–31 s).
REGION_SITES_PER_MEDIAN = 10

#: Region branching goes on below the root only when the root's best region scores at least this many times
#: its best site (both strong-branched there).
REGION_ROOT_FACTOR = 10.0

#: ``cut_demand`` of a region row of the master (Benders cuts carry their demand point, HiGHS's cuts -1).
REGION_ROW = -2

#: Seconds of branching after the root before the second worker starts (once HiGHS's MIP on the master, when
#: it runs, has ended).
SECOND_WORKER_AFTER_S = 0.5


class _Master:
    """The Benders master LP in HiGHS: columns ``y`` (sites) then ``θ`` (demand points), cuts added as rows.

    Row 0 is ``Σ y = p``; each later row is a Benders cut of one demand point at one level (``cut_demand``,
    ``cut_level``, in row order), one of HiGHS's cuts on the master MIP (demand ``-1``, kept in
    ``highs_cuts`` and never purged: it cannot be separated again) or a region row ``Σ_{j ∈ S} y_j``
    (demand :data:`REGION_ROW`, level its id; never purged, free except at the nodes that bound it).
    """

    def __init__(self, costs: SortedCosts, p: int, fixed: np.ndarray, closed: np.ndarray,
                 start_sites: np.ndarray, tolerance: float, multipliers: np.ndarray | None = None) -> None:
        import highspy

        n_demand, n_sites = costs.shape
        self.n_demand, self.n_sites = n_demand, n_sites
        self.values = costs.value.reshape(n_demand, n_sites)
        self.order = costs.site.reshape(n_demand, n_sites)
        self._rank: np.ndarray | None = None
        self.lower = np.zeros(n_sites)
        self.upper = np.ones(n_sites)
        self.lower[fixed] = 1.0
        self.upper[closed] = 0.0
        self.tolerance = tolerance * np.maximum(self.values[:, -1], 1.0)
        self.usable = self.upper > 0  # sites in cuts: not those closed for good
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.addVars(n_sites, self.lower, self.upper)
        highs.addVars(n_demand, np.full(n_demand, -highspy.kHighsInf), np.full(n_demand, highspy.kHighsInf))
        highs.changeColsCost(n_demand, np.arange(n_sites, n_sites + n_demand, dtype=np.int32), np.ones(n_demand))
        highs.addRow(float(p), float(p), n_sites, np.arange(n_sites, dtype=np.int32), np.ones(n_sites))
        self.highs = highs
        self.infeasible = highspy.HighsModelStatus.kInfeasible
        self.optimal = highspy.HighsModelStatus.kOptimal
        self.over_limit = highspy.HighsModelStatus.kObjectiveBound
        self.site_columns = np.arange(n_sites, dtype=np.int32)
        self.cut_demand: list[np.ndarray] = []  # the cuts in the LP, in row order (after Σ y = p)
        self.cut_level: list[np.ndarray] = []
        self.deleted_demand: list[np.ndarray] = []  # cuts deleted by purge_slack
        self.deleted_level: list[np.ndarray] = []
        self.cuts = 0
        self.highs_cuts: list[_CutRows] = []
        self.row_dual = np.zeros(1)  # of the last LP solved to optimality
        self.rows_kept = 1  # rows after the last purge of slack cuts
        self.regions: dict[bytes, int] = {}  # region rows (region branching): id by the sites' bytes
        self.region_bounds: dict[int, tuple[float, float]] = {}  # the region rows not free now
        y = np.zeros(n_sites)
        y[start_sites] = 1.0
        self.add_violated(y, np.full(n_demand, -np.inf))
        if multipliers is not None:
            # θ_i ≥ λ_i − Σ_j max(0, λ_i − c_ij) y_j is valid for any λ_i; with Lagrange multipliers
            # the first master value is at least L(λ), so the loop starts near the LP bound
            useful = np.flatnonzero(multipliers > self.values[:, 0])
            _add_cuts(highs, self.values, self.order, useful, multipliers[useful], n_sites, self.usable)
            self.cut_demand.append(useful)
            self.cut_level.append(multipliers[useful])
            self.cuts += len(useful)

    def clone(self) -> _Master:
        """A copy with its own HiGHS LP (same rows, bounds and basis) for another worker; the sorted costs are
        shared (read only)."""
        import highspy

        twin = copy.copy(self)
        twin.highs = highspy.Highs()
        twin.highs.setOptionValue("output_flag", False)
        twin.highs.passModel(self.highs.getLp())
        twin.highs.setBasis(self.highs.getBasis())
        twin.lower, twin.upper = self.lower.copy(), self.upper.copy()
        twin.cut_demand, twin.cut_level = list(self.cut_demand), list(self.cut_level)
        twin.deleted_demand, twin.deleted_level = list(self.deleted_demand), list(self.deleted_level)
        twin.highs_cuts = list(self.highs_cuts)
        twin.row_dual = self.row_dual.copy()
        twin.regions, twin.region_bounds = dict(self.regions), dict(self.region_bounds)
        return twin

    def add_violated(self, y: np.ndarray, theta: np.ndarray) -> bool:
        """Add the most violated cut of every point whose cut is violated at ``(y, θ)``; whether any was."""
        if np.count_nonzero(y > 1e-12) < SPARSE_SUPPORT:
            level, violation = _most_violated(self.values, self.rank, y, theta)
        else:
            level, violation = _most_violated_by_prefix(self.values, self.order, y, theta)
        add = np.flatnonzero(violation > self.tolerance)
        if len(add):
            _add_cuts(self.highs, self.values, self.order, add, level[add], self.n_sites, self.usable)
            self.cut_demand.append(add)
            self.cut_level.append(level[add])
            self.cuts += len(add)
        return len(add) > 0

    def add_highs_cuts(self, rows: _CutRows) -> None:
        """Add HiGHS's cuts on the master MIP (:func:`_highs_cut_pool`): valid for every solution worth finding."""
        rows.add_to(self.highs)
        self.highs_cuts.append(rows)
        self.cut_demand.append(np.full(len(rows.lower), -1, dtype=np.int64))
        self.cut_level.append(np.zeros(len(rows.lower)))

    def region(self, sites: np.ndarray) -> int:
        """The id of the row ``Σ_{j ∈ sites} y_j`` (``sites`` sorted), added free the first time. Region rows are
        never purged; a node's bounds on them are set by :meth:`set_region_bounds`."""
        key = sites.tobytes()
        region = self.regions.get(key)
        if region is None:
            region = self.regions[key] = len(self.regions)
            self.highs.addRow(-np.inf, np.inf, len(sites), sites.astype(np.int32),
                              np.ones(len(sites)))
            self.cut_demand.append(np.array([REGION_ROW], dtype=np.int64))
            self.cut_level.append(np.array([float(region)]))
        return region

    def _region_rows(self, regions: list[int]) -> np.ndarray:
        demand, level = np.concatenate(self.cut_demand), np.concatenate(self.cut_level)
        rows = np.flatnonzero(demand == REGION_ROW)
        row_of = dict(zip(level[rows].astype(np.int64).tolist(), (rows + 1).tolist()))
        return np.array([row_of[region] for region in regions], dtype=np.int32)

    def set_region_bounds(self, bounds: tuple) -> None:
        """A node's bounds on the region rows (``(id, lower, upper)`` triples, intersected per id); the other
        region rows free."""
        free = (-np.inf, np.inf)
        wanted: dict[int, tuple[float, float]] = {}
        for region, low, high in bounds:
            old_low, old_high = wanted.get(region, free)
            wanted[region] = (max(old_low, low), min(old_high, high))
        changed = [region for region in set(wanted) | set(self.region_bounds)
                   if wanted.get(region, free) != self.region_bounds.get(region, free)]
        if changed:
            low, high = np.array([wanted.get(region, free) for region in changed]).T
            self.highs.changeRowsBounds(len(changed), self._region_rows(changed), low, high)
        self.region_bounds = wanted

    @property
    def rank(self) -> np.ndarray:
        """``rank[i, j]``: where site ``j`` stands in point ``i``'s sorted row (made on first use)."""
        if self._rank is None:
            self._rank = np.empty_like(self.order)
            np.put_along_axis(self._rank, self.order.astype(np.int64),
                              np.arange(self.n_sites, dtype=self.order.dtype)[None, :], axis=1)
        return self._rank

    def purge_slack(self, saved_bases: list, deadline: float | None = None) -> int:
        """Delete the cuts slack in the current basis and in every basis of ``saved_bases``; how many.

        A cut is slack when its row is basic; deleting basic rows leaves every
        basis valid, so the saved bases (of nodes waiting on the stack) lose
        the same rows and still restart their LPs. Cuts are valid everywhere:
        a deleted one that is needed again is simply separated again. Nothing
        is deleted when the deadline passes while the saved bases are read.
        """
        import highspy

        basic = int(highspy.HighsBasisStatus.kBasic)
        slack = _row_statuses(self.highs.getBasis()) == basic
        slack[0] = False  # Σ y = p
        demand = np.concatenate(self.cut_demand)
        slack[1:][demand < 0] = False  # HiGHS's cuts stay
        for saved in saved_bases:
            if deadline is not None and time.perf_counter() > deadline:
                return 0
            statuses = saved.row_array()
            slack[:len(statuses)] &= statuses == basic  # rows added after it was saved start basic
        rows = np.flatnonzero(slack)
        self.rows_kept = self.highs.getNumRow() - len(rows)
        if len(rows) == 0:
            return 0
        self.highs.deleteRows(len(rows), rows.astype(np.int32))
        keep = ~slack
        for saved in saved_bases:
            saved.rows = saved.rows[keep[:len(saved.rows)]]
        level = np.concatenate(self.cut_level)
        self.deleted_demand.append(demand[slack[1:]])
        self.deleted_level.append(level[slack[1:]])
        self.cut_demand, self.cut_level = [demand[keep[1:]]], [level[keep[1:]]]
        self.row_dual = self.row_dual[keep[:len(self.row_dual)]]
        return len(rows)

    def every_cut(self) -> tuple[np.ndarray, np.ndarray]:
        """(demand point, level) of every distinct Benders cut found so far, deleted ones included."""
        demand = np.concatenate(self.cut_demand + self.deleted_demand)
        level = np.concatenate(self.cut_level + self.deleted_level)
        demand, level = demand[demand >= 0], level[demand >= 0]
        unique = np.unique(np.column_stack([demand, level]), axis=0)
        return unique[:, 0].astype(np.int64), unique[:, 1]

    def basis(self) -> _SavedBasis:
        """The current LP basis, to restart a node's children from (rows added later start basic)."""
        return _SavedBasis(self.highs.getBasis())

    def restore(self, saved: _SavedBasis) -> None:
        """Start the next LP from ``saved`` (taken when the master had fewer cuts, or more before a purge)."""
        import highspy

        rows = saved.row_status()
        missing = self.highs.getNumRow() - len(rows)
        if missing > 0 or saved.rows is not None:  # (the basis object's own list is still the one read)
            saved.basis.row_status = rows + [highspy.HighsBasisStatus.kBasic] * missing
        self.highs.setBasis(saved.basis)

    def set_site_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        self.highs.changeColsBounds(self.n_sites, self.site_columns, lower, upper)

    def solve(self, deadline: float | None = None, limit: float = np.inf):
        """One LP: (value, y, θ, reduced costs of y); None when the node's bounds admit no solution, and
        :data:`OUT_OF_TIME` when HiGHS stopped at the deadline.

        The dual simplex stops as soon as its objective, a bound on the LP's value, exceeds ``limit`` (HiGHS's
        ``objective_bound``, checked on the unperturbed costs): the value is then above ``limit`` and ``y``,
        ``θ`` and the reduced costs are those of that basis, not the LP's optimum.
        An LP that runs past :data:`LP_RESTART_S` from the current basis is restarted from scratch once
        (uniform-1500 at p = 50: one LP from a restored basis ran for minutes).
        """
        self.highs.setOptionValue("objective_bound", float(limit))
        for attempt in range(2):
            remaining = np.inf if deadline is None else max(deadline - time.perf_counter(), 0.01)
            cap = min(remaining, LP_RESTART_S) if attempt == 0 else remaining
            # HiGHS measures its time limit on a clock that runs across all the object's runs
            self.highs.setOptionValue("time_limit", self.highs.getRunTime() + cap if np.isfinite(cap) else np.inf)
            self.highs.run()
            status = self.highs.getModelStatus()
            if status == self.infeasible:
                return None
            if status == self.optimal or status == self.over_limit:
                break
            if cap >= remaining:
                return OUT_OF_TIME
            self.highs.clearSolver()
        solution = self.highs.getSolution()
        self.row_dual = np.asarray(solution.row_dual)
        columns = np.asarray(solution.col_value)
        reduced = np.asarray(solution.col_dual)[:self.n_sites]
        return self._value(status, limit), columns[:self.n_sites], columns[self.n_sites:], reduced

    def probe(self, lower: np.ndarray, upper: np.ndarray, iterations: int, deadline: float | None,
              limit: float = np.inf):
        """The LP value with these site bounds after at most ``iterations`` dual simplex iterations, and whether
        it is the LP's optimum or proven above ``limit``; (inf, True) when infeasible. The caller restores
        bounds and basis.

        From a basis optimal for other bounds on ``y`` the dual simplex stays dual feasible, so a value cut
        short is the objective of a dual feasible basis: an estimate of the child's bound, used for ranking only.
        """
        self.set_site_bounds(lower, upper)
        return self._probe(iterations, deadline, limit)

    def probe_region(self, region: int, low: float, high: float, iterations: int, deadline: float | None,
                     limit: float = np.inf):
        """As :meth:`probe`, with ``low ≤ Σ_{j ∈ region} y_j ≤ high`` added to the node's bounds (restored after;
        the caller restores the basis)."""
        row = self._region_rows([region])
        old_low, old_high = self.region_bounds.get(region, (-np.inf, np.inf))
        self.highs.changeRowsBounds(1, row, np.array([max(old_low, low)]), np.array([min(old_high, high)]))
        try:
            return self._probe(iterations, deadline, limit)
        finally:
            self.highs.changeRowsBounds(1, row, np.array([old_low]), np.array([old_high]))

    def _probe(self, iterations: int, deadline: float | None, limit: float):
        remaining = np.inf if deadline is None else max(deadline - time.perf_counter(), 0.01)
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + min(remaining, LP_RESTART_S))
        self.highs.setOptionValue("simplex_iteration_limit", int(iterations))
        self.highs.setOptionValue("objective_bound", float(limit))
        self.highs.run()
        self.highs.setOptionValue("simplex_iteration_limit", 2**31 - 1)
        status = self.highs.getModelStatus()
        if status == self.infeasible:
            return np.inf, True
        return self._value(status, limit), status == self.optimal or status == self.over_limit

    def _value(self, status, limit: float) -> float:
        """The last LP's objective; when HiGHS stopped at ``limit`` (its objective bound), above ``limit`` even
        if rounding put the reported value at it, so that the caller's ``value > limit`` agrees with HiGHS."""
        value = float(self.highs.getInfo().objective_function_value)
        return max(value, float(np.nextafter(limit, np.inf))) if status == self.over_limit else value

    def multipliers(self) -> np.ndarray:
        """λ_i = Σ_D μ_iD · D from the cut duals of the last LP (Beasley's multipliers at the LP bound)."""
        duals = np.abs(self.row_dual[1:])  # the cuts of that LP: those added after it come last
        if not self.cut_demand:
            return np.zeros(self.n_demand)
        demand = np.concatenate(self.cut_demand)[:len(duals)]
        level = np.concatenate(self.cut_level)[:len(duals)]
        benders = demand >= 0
        return np.bincount(demand[benders], weights=(duals * level)[benders], minlength=self.n_demand)


@dataclass(frozen=True)
class _CutRows:
    """Rows ``lower ≤ a x ≤ upper`` over the master's columns, ``a`` in compressed sparse row form."""

    start: np.ndarray  # int32, one more than rows
    index: np.ndarray  # int32
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def add_to(self, highs) -> None:
        highs.addRows(len(self.lower), self.lower, self.upper, len(self.index), self.start[:-1], self.index,
                      self.value)


class _SavedBasis:
    """A master LP basis kept for a waiting node.

    Reading a HiGHS basis's row statuses builds a Python list (about 0.2 µs a
    row), so :meth:`_Master.purge_slack` turns them into a small integer array
    the first time it meets this basis and works on the arrays from then on.
    With lists, d1291 (TSPLIB) at p = 200 spent 10 s of a 60 s run in three
    purges (one of 6.4 s, with 1,524 bases waiting); a purge between two nodes
    does not look at the deadline, and one benchmark run of that case ended
    10 s late.
    """

    __slots__ = ("basis", "rows")

    def __init__(self, basis) -> None:
        self.basis = basis
        self.rows: np.ndarray | None = None  # row statuses once purge_slack has read them

    def row_array(self) -> np.ndarray:
        if self.rows is None:
            self.rows = _row_statuses(self.basis)
        return self.rows

    def row_status(self) -> list:
        """The row statuses as HiGHS takes them: the basis's own, or rebuilt from the array once purged."""
        if self.rows is None:
            return self.basis.row_status  # (a new list at each access)
        by_value = _status_by_value()
        return [by_value[value] for value in self.rows.tolist()]


@functools.cache
def _status_by_value() -> dict:
    """``HighsBasisStatus`` members by their integer value."""
    import highspy

    return {int(status): status for status in highspy.HighsBasisStatus.__members__.values()}


def _row_statuses(basis) -> np.ndarray:
    """A HiGHS basis's row statuses as ``int8`` values of ``HighsBasisStatus``."""
    statuses = basis.row_status
    return np.fromiter(map(int, statuses), dtype=np.int8, count=len(statuses))


@dataclass(frozen=True)
class BranchAndCut(TreeSearch):
    """Outcome of :func:`branch_and_cut`: a :class:`TreeSearch`, or the root's multipliers when handed over."""

    handed_over: bool = False  # stopped after the root: its gap was wider than ``hand_over_gap``
    multipliers: np.ndarray | None = None  # λ from the root LP's cut duals (L(λ) is at least the root bound)
    by_master_mip: bool = False  # proven by HiGHS's branch-and-bound on the root's master (:func:`_run_master_mip`)
    jumps: int = 0  # dives that went on from the waiting node of lowest bound (see ``plunge``)
    second_worker_nodes: int = 0  # nodes solved by the second worker (see ``workers``)
    highs_cuts: int = 0  # HiGHS's cuts added at the root (see ``highs_cut_rounds``)
    region_branches: int = 0  # nodes branched on a region rather than a site (:func:`_choose_branching_region`)
    region_root_ratio: float | None = None  # the root's best region score over its best site's (regions tried)


@dataclass(frozen=True)
class CutLoop:
    """Outcome of :func:`lp_bound_by_cuts`."""

    lower_bound: float  # the last master value: a valid lower bound on every solution
    multipliers: np.ndarray  # λ from the cut duals (Beasley's relaxation)
    site_values: np.ndarray  # y of the last master solution
    rounds: int
    cuts: int
    converged: bool  # no cut violated any more: lower_bound is the LP bound


def lp_bound_by_cuts(
    costs: SortedCosts,
    p: int,
    fixed: np.ndarray,
    closed: np.ndarray,
    start_sites: np.ndarray,
    *,
    max_rounds: int = 200,
    tolerance: float = 1e-7,
    deadline: float | None = None,
) -> CutLoop:
    """Solve the LP relaxation of the p-median by Benders cuts over the site variables.

    Parameters
    ----------
    costs : SortedCosts
        Weighted costs ``w_i c_ij`` sorted per demand point (finite).
    p : int
        Number of open sites, fixed ones included.
    fixed : numpy.ndarray of int
        Sites open in every solution.
    closed : numpy.ndarray of bool
        Sites in no solution worth finding (their ``y`` is held at 0).
    start_sites : numpy.ndarray of int
        A solution whose cuts seed the master (e.g. the heuristic's).
    max_rounds : int
        Master re-solves at most.
    tolerance : float
        A cut is added when it is violated by more than this, relative to the
        point's largest cost; the loop stops when none is.
    deadline : float, optional
        ``time.perf_counter()`` value after which no further round starts.

    Returns
    -------
    CutLoop
    """
    master = _Master(costs, p, fixed, closed, start_sites, tolerance)
    bound, y, rounds, converged = -np.inf, np.zeros(master.n_sites), 0, False
    while rounds < max_rounds and (deadline is None or time.perf_counter() < deadline):
        outcome = master.solve(deadline)
        rounds += 1
        if outcome is None or outcome is OUT_OF_TIME:
            break
        bound, y, theta, _ = outcome
        if not master.add_violated(y, theta):
            converged = True
            break
    return CutLoop(lower_bound=bound, multipliers=master.multipliers(), site_values=y, rounds=rounds,
                   cuts=master.cuts, converged=converged)


def branch_and_cut(
    cost: np.ndarray,
    weights: np.ndarray,
    costs: SortedCosts,
    p: int,
    fixed: np.ndarray,
    closed: np.ndarray,
    sites: np.ndarray,
    *,
    threshold: Callable[[float], float],
    deadline: float | None = None,
    tolerance: float = 1e-7,
    multipliers: np.ndarray | None = None,
    hand_over_gap: float | None = None,
    master_mip_s: float = MASTER_MIP_S,
    master_mip_after_s: float = MASTER_MIP_AFTER_S,
    strong_candidates: int = STRONG_CANDIDATES,
    plunge: bool | None = None,
    workers: int = WORKERS,
    second_worker_after_s: float = SECOND_WORKER_AFTER_S,
    known_bound: float = -np.inf,
    stop: threading.Event | None = None,
    highs_cut_rounds: int = HIGHS_CUT_ROUNDS,
    region_branching: bool = True,
) -> BranchAndCut:
    """Branch-and-bound on the sites with the Benders master LP as the bound at every node: depth-first, with
    jumps to the waiting node of lowest bound when a dive ends and there are many medians (``plunge``).

    Each node forces some sites open and some closed (column bounds of the one
    master LP, re-solved from the previous basis, or from its parent's for a
    closed child); cuts found at any node are valid everywhere and stay. A
    node's LP value is a lower bound for its sub-tree after every round, so it
    is pruned as soon as that exceeds ``threshold(best objective)``. The root's
    cut loop runs until no cut is violated; deeper, it also stops when cutting
    tails off (see :func:`_solve_node`). The ``p`` largest ``y`` give a
    solution, polished by interchange at the root and when within
    :data:`POLISH_WITHIN` of the incumbent; an integral ``y`` with every cut
    satisfied closes its node. Reduced costs fix sites in the sub-tree (a site
    at 0 whose reduced cost exceeds the gap is closed, a site at 1 likewise
    opened). The search branches by reliability branching
    (:func:`_choose_branching_site`) when there are at most
    :data:`MANY_MEDIANS_SITES` sites per median, else on the most
    fractional site; open child first. With ``region_branching`` and at most
    :data:`REGION_SITES_PER_MEDIAN` sites per median it may branch instead on
    the number of open sites among a point's cheapest ones
    (:func:`_choose_branching_region`). Cuts slack everywhere are purged
    below the root (:meth:`_Master.purge_slack`). When the search is still running
    ``master_mip_after_s`` seconds after the root (and there are at most
    :data:`MASTER_MIP_SITES_PER_MEDIAN` sites per median), HiGHS's own branch-and-bound
    on the root's master starts in a thread beside it for at most
    ``master_mip_s`` seconds (:class:`_BackgroundMasterMip`): it settles
    instances whose gap is a few units among very many equal costs, where our
    nodes barely move the bound. Its better solutions are taken between
    nodes; its proof ends the search, and when neither search finishes its
    dual bound counts towards the one returned.

    Parameters
    ----------
    cost : numpy.ndarray
        Dense ``demand × site`` costs (finite).
    weights : numpy.ndarray
        Demand weights.
    costs : SortedCosts
        ``SortedCosts(weights[:, None] * cost)``.
    p : int
        Number of open sites, fixed ones included.
    fixed : numpy.ndarray of int
        Sites open in every solution worth finding.
    closed : numpy.ndarray of bool
        Sites in no solution worth finding.
    sites : numpy.ndarray of int
        The incumbent solution.
    threshold : callable
        ``threshold(objective)``: a bound above it cannot lead to a solution
        worth having.
    deadline : float, optional
        ``time.perf_counter()`` value at which to stop (the result is then
        incomplete; its bound is the smallest bound of the open nodes).
    tolerance : float
        Relative violation below which a cut is not added.
    multipliers : numpy.ndarray, optional
        Lagrange multipliers (of :func:`siting.models._lagrangian.lagrangian_reduction`) whose cuts seed the
        master.
    hand_over_gap : float, optional
        Stop after the root when its relative gap is wider than this, and return
        the root LP's multipliers for a search with cheaper nodes.
    master_mip_s : float
        Seconds at most for HiGHS's branch-and-bound on the root's master
        (0: none), started once beside our search when it has branched for
        ``master_mip_after_s`` seconds after the root.
    master_mip_after_s : float
        See ``master_mip_s``.
    strong_candidates : int
        Sites ranked by pseudo-cost that reliability branching considers at a
        node (0: always the most fractional site).
    plunge : bool, optional
        Whether a dive that ends may go on from the waiting node of lowest
        bound (see :data:`PLUNGE_SITES_PER_MEDIAN`); by default when there are
        at most that many sites per median.
    known_bound : float
        A lower bound known from elsewhere: the search ends as soon as the incumbent meets it.
    stop : threading.Event, optional
        Set from another thread to end the search as at the deadline (between two nodes).
    highs_cut_rounds : int
        Rounds at most of HiGHS's cuts on the root's master (:func:`_highs_cut_pool`) after the root's cut loop
        when there are at most :data:`MASTER_MIP_SITES_PER_MEDIAN` sites per median (0: none).
    region_branching : bool
        Whether to branch on regions too (:func:`_choose_branching_region`) when there are at most
        :data:`REGION_SITES_PER_MEDIAN` sites per median.

    Returns
    -------
    BranchAndCut
        When ``complete``, no solution costs less than ``lower_bound``.
    """
    search = _Search(cost, weights, costs, p, fixed, sites, threshold=threshold, deadline=deadline,
                     hand_over_gap=hand_over_gap, master_mip_s=master_mip_s, master_mip_after_s=master_mip_after_s,
                     strong_candidates=strong_candidates, plunge=plunge, workers=workers,
                     second_worker_after_s=second_worker_after_s, known_bound=known_bound, stop=stop,
                     highs_cut_rounds=highs_cut_rounds, region_branching=region_branching)
    master = _Master(costs, p, fixed, closed, search.best_sites, tolerance, multipliers)
    search.stacks[0].append((master.lower.copy(), master.upper.copy(), -np.inf, None, ()))  # the root
    try:
        search.work(0, master)
    finally:
        search.stop_helpers()
    if search.failure is not None:
        raise search.failure
    if search.handed_over is not None:
        return BranchAndCut(sites=search.best_sites, objective=search.best,
                            lower_bound=min(search.root_bound, search.best), complete=False, nodes=search.nodes,
                            handed_over=True, multipliers=search.handed_over)
    return search.outcome()


class _Search:
    """The state :func:`branch_and_cut`'s workers share: the incumbent, each worker's waiting nodes, the counts.

    Worker 0 runs in the caller's thread and solves the root; a second worker
    (``workers = 2``) starts beside it in a thread when the search is still
    branching :data:`SECOND_WORKER_AFTER_S` seconds after the root. Each
    worker owns a copy of the master LP (HiGHS releases the GIL while it
    solves, so on two cores the two LPs run side by side) and a stack of
    waiting nodes. A worker whose stack is empty waits until the other, between
    two of its nodes, hands it its oldest node (the widest sub-tree, near the
    root) with a copy of its master LP, which replaces the waiting worker's own
    so that the node's saved basis fits. Cuts otherwise stay in the LP that
    found them (they are valid everywhere; each worker separates its own).
    """

    def __init__(self, cost, weights, costs, p, fixed, sites, *, threshold, deadline, hand_over_gap, master_mip_s,
                 master_mip_after_s, strong_candidates, plunge, workers, second_worker_after_s,
                 known_bound=-np.inf, stop=None, highs_cut_rounds=0, region_branching=False) -> None:
        self.cost, self.weights, self.costs, self.p, self.fixed = cost, weights, costs, p, fixed
        self.threshold, self.deadline, self.hand_over_gap = threshold, deadline, hand_over_gap
        self.master_mip_s, self.master_mip_after_s = master_mip_s, master_mip_after_s
        self.strong_candidates, self.workers = strong_candidates, workers
        self.second_worker_after_s = second_worker_after_s
        self.best_sites = np.asarray(sites, dtype=np.int64)
        self.best = float(weights @ cost[:, self.best_sites].min(axis=1))
        self.cond = threading.Condition()
        self.stacks: list[list] = [[]]  # per worker: (sites' bounds, parent's bound, its basis, region bounds)
        self.busy = [False]
        self.nodes = self.jumps = 0
        self.solved_by = [0]  # nodes per worker
        self.polished: set[bytes] = set()  # roundings already given to the local search
        self.polish_s = 0.0  # seconds spent in it (all workers)
        self.started = time.perf_counter()
        self.hungry = [False]  # per worker: waiting for a node from another
        self.parcels: list = [None]  # per worker: (node, master LP) handed over to it
        self.root_bound = -np.inf
        self.root_box = None
        self.master_mip_at = self.second_worker_at = np.inf
        self.background: _BackgroundMasterMip | None = None
        self.helpers: list = []
        self.over = False  # proven by the MIP or the known bound, a worker failed, or worker 0 has ended
        self.by_master_mip = False
        self.known_bound = known_bound
        self.stop = stop
        self.meets_known_bound = False
        self.handed_over: np.ndarray | None = None
        self.failure: BaseException | None = None
        n_sites = cost.shape[1]
        self.many_medians = n_sites <= MANY_MEDIANS_SITES * p  # strong branching
        self.mip_worth_it = n_sites <= MASTER_MIP_SITES_PER_MEDIAN * p
        self.highs_cut_rounds = highs_cut_rounds
        self.highs_cuts = 0
        self.plunge = n_sites <= PLUNGE_SITES_PER_MEDIAN * p if plunge is None else plunge
        self.pseudo = _PseudoCosts(n_sites)
        self.region_branching = (region_branching and REGION_CANDIDATES > 0
                                 and n_sites <= REGION_SITES_PER_MEDIAN * p)
        self.region_pseudo: dict[bytes, np.ndarray] = {}  # per region's sites: [down, up] gain totals, counts
        self.region_branches = 0
        self.region_root_ratio: float | None = None  # the root's best region score over its best site's

    def limit(self) -> float:
        return self.threshold(self.best)

    def offer(self, value: float, sites: np.ndarray) -> None:
        with self.cond:
            if value < self.best:
                self.best, self.best_sites = value, np.asarray(sites, dtype=np.int64)
                if self.limit() < self.known_bound:
                    # nothing worth finding is left below the bound known from elsewhere
                    self.meets_known_bound = self.over = True
                    self.cond.notify_all()

    def _worth_polishing(self, value: float) -> bool:
        """A rounding better than the incumbent always; one near it while polishing has taken at most
        :data:`POLISH_SHARE` of the time since the search began."""
        return value < self.best or self.polish_s <= POLISH_SHARE * (time.perf_counter() - self.started)

    def _first_time(self, sites: np.ndarray) -> bool:
        """Whether this set of sites is new to the search (and note it)."""
        key = sites.tobytes()
        with self.cond:
            seen = key in self.polished
            self.polished.add(key)
        return not seen

    def push(self, worker: int, *entries) -> None:
        with self.cond:
            self.stacks[worker].extend(entries)
            self.cond.notify_all()

    def saved_bases(self, worker: int) -> list:
        with self.cond:
            return [entry[3] for entry in self.stacks[worker] if entry[3] is not None]

    def next_node(self, worker: int, dive_over: bool, master: _Master | None):
        """(node, its number, a master LP to use from now on or None), or None when the search is over.

        The worker's own last node (or, when a dive ended, the waiting node of
        lowest bound, see :data:`PLUNGE_SITES_PER_MEDIAN`); with an empty stack,
        the oldest node of another worker, handed over by that worker between
        two of its nodes with a copy of its master LP, so that the node's saved
        basis fits. Hands over its own oldest node when another worker waits
        for one. Waits while another worker is busy with a node and nothing is
        left to take.
        """
        with self.cond:
            self.busy[worker] = False
            self.cond.notify_all()
            while True:
                if self.over or (self.deadline is not None and time.perf_counter() > self.deadline) or (
                        self.stop is not None and self.stop.is_set()):
                    return None
                own = self.stacks[worker]
                twin = None
                if own:
                    self._hand_over_oldest(worker, master)
                    chosen = len(own) - 1
                    if self.plunge and dive_over and len(own) > 1:
                        lowest = min(range(len(own)), key=lambda k: (own[k][2], -k))
                        if own[chosen][2] - own[lowest][2] > PLUNGE_QUOTIENT * (self.limit() - own[lowest][2]):
                            chosen = lowest
                            self.jumps += 1
                    entry = own.pop(chosen)
                elif self.parcels[worker] is not None:
                    entry, twin = self.parcels[worker]
                    self.parcels[worker] = None
                elif any(self.busy) or any(self.parcels):
                    self.hungry[worker] = True
                    self.cond.wait(0.05)
                    continue
                else:
                    return None
                self.hungry[worker] = False
                if entry[2] > self.limit() and twin is None:
                    continue
                self.busy[worker] = True
                self.nodes += 1
                self.solved_by[worker] += 1
                return entry, self.nodes, twin

    def _hand_over_oldest(self, worker: int, master: _Master) -> None:
        """Give a waiting worker this worker's oldest node (the widest sub-tree) and a copy of its master LP,
        when it keeps at least one node itself (called with the lock held, between this worker's nodes)."""
        own = self.stacks[worker]
        for other in range(len(self.stacks)):
            if other != worker and self.hungry[other] and self.parcels[other] is None and len(own) >= 2:
                self.parcels[other] = (own.pop(0), master.clone())
                self.hungry[other] = False
                self.cond.notify_all()

    def work(self, worker: int, master: _Master | None) -> None:
        """Solve nodes until the search is over (see :func:`branch_and_cut`)."""
        cost, weights, costs, p, fixed, deadline = (self.cost, self.weights, self.costs, self.p, self.fixed,
                                                    self.deadline)
        dive_over = False
        while True:
            if worker == 0:
                self._watch(master)
            picked = self.next_node(worker, dive_over, master)
            if picked is None:
                return
            (lower, upper, parent_bound, basis, regions), number, twin = picked
            if twin is not None:
                master = twin
            dive_over = True  # until this node branches
            master.set_site_bounds(lower, upper)
            master.set_region_bounds(regions)
            if basis is not None:
                master.restore(basis)
            if number == 1:
                # a local search from the first rounds' LP solution: a better incumbent early shortens the root's loop
                first = _solve_node(master, self.limit(), deadline, patience=1, min_progress=np.inf)
                if first is not None and first[3] != "stopped":
                    self.offer(*_improve(cost, weights, _round(first[1], lower, p), fixed, costs))
            # the root's bound and reduced costs serve the whole tree: its cut loop runs to the end
            node = _solve_node(master, self.limit(), deadline, patience=3 if number > 1 else 10**9)
            if node is None:
                continue
            bound, y, reduced, state = node
            if number == 1:
                self.root_bound = bound
            limit = self.limit()
            if bound > limit or state == "stopped":
                if state == "stopped" and bound <= limit:
                    # out of time inside the node: keep it open, with the better of its own and its parent's bound
                    self.push(worker, (lower, upper, max(bound, parent_bound), None, regions))
                continue
            candidate = _round(y, lower, p)
            value = _solution_cost(master.values, master.order, candidate)
            if number == 1 or (value <= self.best * (1.0 + POLISH_WITHIN) and self._worth_polishing(value)
                               and self._first_time(candidate)):
                # the root LP's sites are a good start for a local search; deeper, roundings near the incumbent
                # (each set of sites once: in degenerate trees many nodes round to the same sites)
                polish_start = time.perf_counter()
                self.offer(*_improve(cost, weights, candidate, fixed, costs))
                self.polish_s += time.perf_counter() - polish_start
                limit = self.limit()
                if bound > limit:
                    continue
            if (number == 1 and self.hand_over_gap is not None
                    and self.best - bound > self.hand_over_gap * max(1.0, abs(self.best))):
                self.handed_over = master.multipliers()
                return
            if number == 1 and state == "exact" and self.mip_worth_it and self.highs_cut_rounds > 0:
                bound, y, reduced, state = self._cut_root_by_highs(master, lower, upper, (bound, y, reduced, state))
                self.root_bound = max(self.root_bound, bound)
                limit = self.limit()
                if bound > limit:
                    continue
                if state == "stopped":  # out of time: the root stays open with its bound
                    self.push(worker, (lower, upper, self.root_bound, None, regions))
                    continue
            fractional = np.flatnonzero((y > 1e-6) & (y < 1.0 - 1e-6))
            if len(fractional) == 0:
                continue  # integral, every cut satisfied: its value is the node's optimum, already offered
            lower, upper = lower.copy(), upper.copy()
            gap = limit - bound
            margin = 1e-9 * max(1.0, abs(bound))
            upper[(y <= 1e-6) & (reduced > gap + margin)] = 0.0
            lower[(y >= 1.0 - 1e-6) & (-reduced > gap + margin)] = 1.0
            if number == 1:
                self.root_box = (lower.copy(), upper.copy())
                now = time.perf_counter()
                if self.mip_worth_it and self.master_mip_s > 0:
                    self.master_mip_at = now + self.master_mip_after_s
                if self.workers > 1:
                    self.second_worker_at = now + self.second_worker_after_s
            if number > 1 and master.highs.getNumRow() - master.rows_kept > PURGE_SLACK_PER_POINT * master.n_demand:
                master.purge_slack(self.saved_bases(worker), deadline)
            if self.strong_candidates > 0 and self.many_medians:
                choice = _choose_branching_site(master, y, fractional, lower, upper, bound, limit, self.pseudo,
                                                candidates=self.strong_candidates, deadline=deadline)
                if choice is None:
                    continue
                site, lower, upper, score = choice
                if self.region_branching:
                    region = _choose_branching_region(master, y, bound, limit, self.region_pseudo, deadline=deadline)
                    if region is not None and region[0] is None:
                        continue  # both sides of a region proven above the limit
                    if number == 1:
                        self.region_root_ratio = 0.0 if region is None else region[2] / max(score, 1e-12)
                        # regions below the root only where they beat the sites by far at the root
                        self.region_branching = self.region_root_ratio >= REGION_ROOT_FACTOR
                    if region is not None and region[2] > score:
                        number_region, floor = region[0], region[1]
                        below = regions + ((number_region, -np.inf, floor),)
                        above = regions + ((number_region, floor + 1.0, np.inf),)
                        # the upper side next, from this basis; the lower after its sub-tree, with a copy
                        self.push(worker, (lower, upper, bound, master.basis(), below),
                                  (lower, upper, bound, None, above))
                        self.region_branches += 1
                        dive_over = False
                        continue
            else:
                site = fractional[np.argmin(np.abs(y[fractional] - 0.5))]
            closed_child = upper.copy()
            closed_child[site] = 0.0
            open_child = lower.copy()
            open_child[site] = 1.0
            # the open child comes next, from this basis; the closed one after its sub-tree, so it keeps a copy
            self.push(worker, (lower, closed_child, bound, master.basis(), regions),
                      (open_child, upper, bound, None, regions))
            dive_over = False

    def _cut_root_by_highs(self, master: _Master, lower: np.ndarray, upper: np.ndarray, node: tuple) -> tuple:
        """Rounds of HiGHS's cuts (:func:`_highs_cut_pool`), each followed by the Benders cut loop, while a round
        closes at least :data:`HIGHS_CUT_PROGRESS` of the gap: the root's new (bound, y, reduced costs, state)."""
        for _ in range(self.highs_cut_rounds):
            cuts, highs_bound = _highs_cut_pool(master, lower, upper, self.limit(), self.deadline)
            if highs_bound > self.limit():  # HiGHS proved that no solution worth finding lies within the bounds
                return highs_bound, node[1], node[2], "pruned"
            if cuts is None:
                break
            master.add_highs_cuts(cuts)
            self.highs_cuts += len(cuts.lower)
            again = _solve_node(master, self.limit(), self.deadline, patience=10**9)
            if again is None:  # the cuts leave no solution worth finding within the root's bounds
                return np.inf, node[1], node[2], "pruned"
            gain, node = again[0] - node[0], again
            if node[3] != "exact" or gain < HIGHS_CUT_PROGRESS * (self.limit() - node[0] + gain):
                break
        return node

    def _watch(self, master: _Master) -> None:
        """Between worker 0's nodes: start HiGHS's MIP on the root's master and the second worker when due;
        take the MIP's better solutions and its proof."""
        now = time.perf_counter()
        if now >= self.master_mip_at:
            # our search is taking a while: HiGHS's branch-and-bound on the root's master beside it, once
            self.master_mip_at = np.inf
            mip_deadline = now + self.master_mip_s
            if self.deadline is not None:
                mip_deadline = min(mip_deadline, self.deadline)
            self.background = _BackgroundMasterMip(master, *self.root_box, self.cost, self.weights, self.best,
                                                   self.best_sites, self.threshold, mip_deadline)
        if now >= self.second_worker_at and (self.background is None or not self.background.thread.is_alive()):
            self.second_worker_at = np.inf
            with self.cond:
                self.stacks.append([])
                self.busy.append(False)
                self.solved_by.append(0)
                self.hungry.append(True)  # its first node and master come from worker 0's next call
                self.parcels.append(None)
            helper = threading.Thread(target=self._work_guarded, args=(len(self.stacks) - 1, None), daemon=True)
            self.helpers.append(helper)
            helper.start()
        if self.background is not None:
            value, improved, proven = self.background.state()
            self.offer(value, improved)
            if proven:
                with self.cond:
                    self.over = self.by_master_mip = True
                    self.cond.notify_all()

    def _work_guarded(self, worker: int, master: _Master | None) -> None:
        try:
            self.work(worker, master)
        except BaseException as error:  # re-raised in the caller's thread
            with self.cond:
                self.failure, self.over = error, True
                self.cond.notify_all()

    def stop_helpers(self) -> None:
        """Stop the second worker after its current node (worker 0 has ended: no node left, the deadline, the
        MIP's proof, or an exception such as KeyboardInterrupt) and wait for it, then stop HiGHS's MIP and take
        what it found."""
        with self.cond:
            self.over = True
            self.cond.notify_all()
        for helper in self.helpers:
            helper.join()
        if self.background is not None:
            self.background.finish()
            value, improved, proven = self.background.state()
            self.offer(value, improved)
            self.by_master_mip |= proven and (any(self.stacks) or any(self.parcels))

    def outcome(self) -> BranchAndCut:
        waiting = [entry for stack in self.stacks for entry in stack]
        waiting += [parcel[0] for parcel in self.parcels if parcel is not None]
        complete = self.by_master_mip or self.meets_known_bound or not waiting
        if complete:
            proven = self.best if self.by_master_mip else min(max(self.limit(), self.root_bound, self.known_bound),
                                                               self.best)
            return BranchAndCut(sites=self.best_sites, objective=self.best, lower_bound=proven, complete=True,
                                nodes=self.nodes, by_master_mip=self.by_master_mip, jumps=self.jumps,
                                second_worker_nodes=sum(self.solved_by[1:]), highs_cuts=self.highs_cuts,
                                region_branches=self.region_branches, region_root_ratio=self.region_root_ratio)
        lower_bound = min([self.limit()] + [entry[2] for entry in waiting])
        if self.background is not None:
            # HiGHS's bound on the root's box holds for every solution worth finding: those outside it cost more
            # than the root's limit, which is at least the limit now
            lower_bound = max(lower_bound, min(self.background.bound, self.limit()))
        return BranchAndCut(sites=self.best_sites, objective=self.best,
                            lower_bound=min(max(lower_bound, self.root_bound), self.best), complete=False,
                            nodes=self.nodes, jumps=self.jumps, second_worker_nodes=sum(self.solved_by[1:]),
                            highs_cuts=self.highs_cuts, region_branches=self.region_branches,
                            region_root_ratio=self.region_root_ratio)


def _master_mip_model(master: _Master, lower: np.ndarray, upper: np.ndarray, *, highs_cuts: bool = True):
    """A HiGHS copy of the master with ``y`` integral within these bounds and every cut found so far (HiGHS's
    own among them unless ``highs_cuts`` is false)."""
    import highspy

    n_sites = master.n_sites
    mip = highspy.Highs()
    mip.setOptionValue("output_flag", False)
    mip.passModel(master.highs.getLp())
    # every cut found so far, those purged from our master included: they make the MIP's relaxation tighter
    mip.deleteRows(mip.getNumRow() - 1, np.arange(1, mip.getNumRow(), dtype=np.int32))
    _add_cuts(mip, master.values, master.order, *master.every_cut(), n_sites, master.usable)
    for rows in master.highs_cuts if highs_cuts else []:
        rows.add_to(mip)
    columns = np.arange(n_sites, dtype=np.int32)
    mip.changeColsBounds(n_sites, columns, lower, upper)
    mip.changeColsIntegrality(n_sites, columns, np.ones(n_sites, dtype=np.uint8))
    mip.setOptionValue("mip_rel_gap", 0.0)
    return mip


def _highs_cut_pool(master: _Master, lower: np.ndarray, upper: np.ndarray, limit: float,
                    deadline: float | None) -> tuple[_CutRows | None, float]:
    """HiGHS's cutting planes on the master MIP (``y`` integral within ``lower``, ``upper``; every Benders cut
    found so far): the cuts in its LP at the end of its root node (None if it has none or they cannot be
    used), and its dual bound (``-inf`` when there is none to use): no solution worth finding within the bounds
    costs less.

    HiGHS runs its root node only — no presolve (its cuts must be over the master's own columns), no symmetry
    handling (which may cut off solutions symmetric to others), no primal heuristics. Its cuts (from its
    separators: aggregated rows with mixed-integer rounding, tableau rows, mod-k, implied bounds) hold for every
    ``y`` integral within the bounds whose master value is below HiGHS's cutoff: ``limit`` (a solution worth
    finding costs at most that) raised by a margin, or the value of a solution HiGHS finds, if lower — the cuts
    are then dropped, as they may exclude solutions worth finding. The bounds are the root's, which hold for
    every solution worth finding, so the cuts do too. Each HiGHS MIP starts from the Benders cuts
    alone: given its own cuts of earlier rounds as well, it finds far fewer new ones (d1291 at p = 200: the root
    bound rose 31.6 units in ten rounds that way, 41.1 in four from the Benders cuts alone).
    """
    import highspy

    mip = _master_mip_model(master, lower, upper, highs_cuts=False)
    for option, value in (("presolve", "off"), ("mip_detect_symmetry", False), ("mip_max_nodes", 1),
                          ("mip_heuristic_effort", 0.0), ("mip_heuristic_run_feasibility_jump", False),
                          ("mip_heuristic_run_rins", False), ("mip_heuristic_run_rens", False),
                          ("mip_heuristic_run_root_reduced_cost", False)):
        mip.setOptionValue(option, value)
    cutoff = limit + 1e-6 * max(1.0, abs(limit))
    mip.setOptionValue("objective_bound", float(cutoff))
    if deadline is not None:
        mip.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    pools: list[_CutRows] = []

    def callback(callback_type, _message, data_out, _data_in, _user_data) -> None:
        if callback_type == highspy.cb.HighsCallbackType.kCallbackMipGetCutPool:
            count = int(data_out.cutpool_num_cut)
            start = np.array(data_out.cutpool_start[:count + 1], dtype=np.int32)
            low = np.array(data_out.cutpool_lower[:count], dtype=float)
            up = np.array(data_out.cutpool_upper[:count], dtype=float)
            pools.append(_CutRows(start=start, index=np.array(data_out.cutpool_index[:start[-1]], dtype=np.int32),
                                  value=np.array(data_out.cutpool_value[:start[-1]], dtype=float),
                                  lower=low - HIGHS_CUT_SLACK * np.maximum(1.0, np.abs(low)),
                                  upper=up + HIGHS_CUT_SLACK * np.maximum(1.0, np.abs(up))))

    mip.setCallback(callback, None)
    mip.startCallback(highspy.cb.HighsCallbackType.kCallbackMipGetCutPool)
    mip.run()
    info, status = mip.getInfo(), mip.getModelStatus()
    if info.primal_solution_status != 0 and info.objective_function_value <= cutoff:
        return None, -np.inf  # HiGHS's cutoff fell below the limit: its cuts may exclude solutions worth finding
    if status == highspy.HighsModelStatus.kInfeasible:
        bound = cutoff  # nothing in the box below the cutoff
    elif status in (highspy.HighsModelStatus.kSolutionLimit, highspy.HighsModelStatus.kOptimal,
                    highspy.HighsModelStatus.kObjectiveBound):
        bound = min(float(info.mip_dual_bound), cutoff)
    else:  # out of time, or an error
        return None, -np.inf
    return (pools[-1] if pools and len(pools[-1].lower) else None), bound


def _run_master_mip(mip, lower: np.ndarray, upper: np.ndarray, master: _Master, cost: np.ndarray,
                    weights: np.ndarray, best: float, best_sites: np.ndarray, threshold: Callable[[float], float],
                    deadline: float, stop=None, improved: Callable[[float, np.ndarray], None] | None = None,
                    bounded: Callable[[float], None] | None = None) -> tuple[bool, float, np.ndarray]:
    """Iterate HiGHS's branch-and-bound on ``mip`` (:func:`_master_mip_model` with the site bounds ``lower``,
    ``upper``): (proven, best value, its sites).

    The master with ``y`` integral (within the root's bounds, reduced-cost
    fixings included) is a relaxation of the p-median: when HiGHS proves that
    no ``y`` gives a master value at or below ``threshold(best)``, the
    incumbent is optimal. Otherwise the master's optimum ``y*`` (and every
    improving solution HiGHS met on the way) is a p-median solution: its true
    cost may improve the incumbent, and its violated cuts go into the MIP
    before the next one. HiGHS brings what our search lacks — presolve, its
    cutting planes on the Benders rows, reliability branching, symmetry
    detection — and pays off where the root gap is a few units with very many
    equal costs. The incumbent (its ``y`` and true ``θ``, feasible for every
    cut) is offered to HiGHS as its start through the MIP user-solution
    callback (as in :func:`siting.models._base._offer_start`); HiGHS stops at
    a gap just under ``best − threshold(best)``.

    Reads ``master``'s sorted costs only, so it may run in another thread
    while the master's own LP is in use: ``stop`` (a :class:`threading.Event`)
    interrupts it, ``improved(value, sites)`` hears of every better
    solution as it is found, and ``bounded(value)`` of HiGHS's dual bound after
    each MIP (also one cut short): no solution within ``lower``, ``upper``
    costs less.
    """
    import highspy

    n_sites, n_demand = master.n_sites, master.n_demand
    improving: list[np.ndarray] = []
    start: list[np.ndarray] = []

    def callback(callback_type, _message, data_out, data_in, _user_data) -> None:
        if callback_type == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution:
            improving.append(np.array(data_out.mip_solution[:n_sites + n_demand], copy=True))
        elif callback_type == highspy.cb.HighsCallbackType.kCallbackMipUserSolution and start:
            data_in.setSolution(start.pop())
        elif callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt and stop is not None:
            data_in.user_interrupt = stop.is_set()

    mip.setCallback(callback, None)
    mip.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
    mip.startCallback(highspy.cb.HighsCallbackType.kCallbackMipUserSolution)
    if stop is not None:
        mip.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    proven = False
    while not proven and time.perf_counter() < deadline and not (stop is not None and stop.is_set()):
        incumbent = np.zeros(n_sites + n_demand)
        incumbent[best_sites] = 1.0
        incumbent[n_sites:] = weights * cost[:, best_sites].min(axis=1)
        start[:] = [incumbent] if np.all((incumbent[:n_sites] >= lower) & (incumbent[:n_sites] <= upper)) else []
        mip.setOptionValue("mip_abs_gap", max(0.0, 0.999 * (best - threshold(best))))
        mip.setOptionValue("time_limit", mip.getRunTime() + max(deadline - time.perf_counter(), 0.01))
        improving.clear()
        mip.run()
        status = mip.getModelStatus()
        if bounded is not None:
            bounded(float(mip.getInfo().mip_dual_bound))
        if status == highspy.HighsModelStatus.kInfeasible:
            # no y within these bounds at all: nothing better than the incumbent lies in the root's sub-tree
            return True, best, best_sites
        if status != highspy.HighsModelStatus.kOptimal:
            break
        candidates = improving + [np.asarray(mip.getSolution().col_value)]
        for solution in candidates:
            chosen = np.flatnonzero(solution[:n_sites] > 0.5)
            # (HiGHS's integrality tolerance could in principle leave a y short of p sites above 0.5)
            value = float(weights @ cost[:, chosen].min(axis=1)) if len(chosen) == len(best_sites) else np.inf
            if value < best:
                best, best_sites = value, chosen
                if improved is not None:
                    improved(best, best_sites)
        proven = mip.getInfo().mip_dual_bound > threshold(best)
        if not proven:
            for solution in candidates:
                level, violation = _most_violated_by_prefix(master.values, master.order,
                                                            np.round(solution[:n_sites]), solution[n_sites:])
                add = np.flatnonzero(violation > master.tolerance)
                if len(add):
                    _add_cuts(mip, master.values, master.order, add, level[add], n_sites, master.usable)
    return proven, best, np.asarray(best_sites, dtype=np.int64)


class _BackgroundMasterMip:
    """:func:`_run_master_mip` in a thread beside our own search (HiGHS releases the GIL while it runs).

    On two cores it costs our search little: started when the root branches, it runs until it proves the
    incumbent optimal, our search ends, or the deadline. Its better solutions and its proof are read between
    our nodes.
    """

    def __init__(self, master: _Master, lower: np.ndarray, upper: np.ndarray, cost: np.ndarray,
                 weights: np.ndarray, best: float, best_sites: np.ndarray, threshold: Callable[[float], float],
                 deadline: float) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.best, self.best_sites = best, np.asarray(best_sites, dtype=np.int64)
        self.proven = False
        self.bound = -np.inf  # HiGHS's dual bound on the box
        mip = _master_mip_model(master, lower, upper)  # here: it reads the master's LP
        self.thread = threading.Thread(target=self._run, daemon=True, args=(
            mip, lower, upper, master, cost, weights, best, best_sites, threshold, deadline))
        self.thread.start()

    def _run(self, *args) -> None:
        proven, best, sites = _run_master_mip(*args, stop=self.stop, improved=self._improved, bounded=self._bounded)
        self._improved(best, sites)
        with self.lock:
            self.proven = proven

    def _improved(self, value: float, sites: np.ndarray) -> None:
        with self.lock:
            if value < self.best:
                self.best, self.best_sites = value, np.asarray(sites, dtype=np.int64)

    def _bounded(self, value: float) -> None:
        with self.lock:
            self.bound = max(self.bound, value)

    def state(self) -> tuple[float, np.ndarray, bool]:
        """(best value, its sites, proven), read together."""
        with self.lock:
            return self.best, self.best_sites, self.proven

    def finish(self) -> None:
        """Interrupt HiGHS and wait for the thread."""
        self.stop.set()
        self.thread.join()


def _solve_node(master: _Master, limit: float, deadline: float | None, *, patience: int = 3,
                min_progress: float = 0.02):
    """Cut loop at a node: (bound, y, reduced costs, state), or None if the node is infeasible.

    ``state`` says why the loop stopped: ``"pruned"`` (the bound exceeds the
    limit), ``"exact"`` (no cut violated: the bound is the node's LP bound),
    ``"tailing"`` (``y`` fractional and the last ``patience`` rounds closed less
    than ``min_progress`` of the gap to the limit: branching pays more than
    cutting on) or ``"stopped"`` (the deadline struck).
    """
    history: list[float] = []
    while True:
        outcome = master.solve(deadline, limit)
        if outcome is None:
            return None
        if outcome is OUT_OF_TIME:
            return -np.inf, None, None, "stopped"
        bound, y, theta, reduced = outcome
        if bound > limit:
            return bound, y, reduced, "pruned"
        if not master.add_violated(y, theta):
            return bound, y, reduced, "exact"
        if deadline is not None and time.perf_counter() > deadline:
            return bound, y, reduced, "stopped"
        history.append(bound)
        fractional = bool(((y > 1e-6) & (y < 1.0 - 1e-6)).any())
        if (fractional and len(history) > patience
                and history[-1] - history[-1 - patience] < min_progress * (limit - bound)):
            return bound, y, reduced, "tailing"


class _PseudoCosts:
    """Bound gain per unit of ``y`` moved, per site and direction, learnt from strong branching."""

    def __init__(self, n_sites: int) -> None:
        self.total = np.zeros((2, n_sites))  # [down, up]
        self.count = np.zeros((2, n_sites))

    def record(self, site: int, direction: int, gain: float, moved: float) -> None:
        self.total[direction, site] += gain / max(moved, 1e-6)
        self.count[direction, site] += 1

    def estimate(self, sites: np.ndarray) -> np.ndarray:
        """(2, len(sites)) per-unit gains: the site's mean, else the mean over every site seen."""
        seen = self.count.sum(axis=1)
        overall = np.where(seen > 0, self.total.sum(axis=1) / np.maximum(seen, 1), 1.0)
        counts = self.count[:, sites]
        return np.where(counts > 0, self.total[:, sites] / np.maximum(counts, 1), overall[:, None])


def _choose_branching_site(master: _Master, y: np.ndarray, fractional: np.ndarray, lower: np.ndarray,
                           upper: np.ndarray, bound: float, limit: float, pseudo: _PseudoCosts, *,
                           candidates: int, deadline: float | None):
    """Reliability branching: (site, lower, upper, its score), or None when strong branching prunes the node.

    The fractional sites are ranked by pseudo-cost score (product of the
    estimated bound gains of both children); those whose pseudo-costs rest on
    no observation in either direction are strong-branched in that order
    (both children's LPs from this node's basis, with every cut so far, at
    most :data:`STRONG_ITERATIONS` dual simplex iterations each), until
    :data:`STRONG_LOOKAHEAD` of them in a row do not beat the best score
    (Achterberg, Koch & Martin 2005, "Branching rules revisited"). A child
    whose LP is proven above ``limit`` fixes the site the other way for the
    whole sub-tree.
    """
    basis = master.basis()
    share = y[fractional]
    moved = np.vstack([share, 1.0 - share])
    estimate = pseudo.estimate(fractional) * moved
    score = np.maximum(estimate[0], 1e-6) * np.maximum(estimate[1], 1e-6)
    ranked = np.argsort(-score, kind="stable")[:candidates]
    lower, upper = lower.copy(), upper.copy()
    best_index, best_score, idle = ranked[0], -1.0, 0
    for index in ranked:
        site = fractional[index]
        if pseudo.count[:, site].min() > 0 or (deadline is not None and time.perf_counter() > deadline):
            candidate_score = score[index]
        else:
            gains = []
            for direction in (0, 1):
                child_lower, child_upper = lower.copy(), upper.copy()
                if direction == 0:
                    child_upper[site] = 0.0
                else:
                    child_lower[site] = 1.0
                value, proven = master.probe(child_lower, child_upper, STRONG_ITERATIONS, deadline, limit)
                master.restore(basis)
                gain = max(min(value, limit) - bound, 0.0)
                pseudo.record(site, direction, gain, moved[direction, index])
                gains.append((value if proven else -np.inf, gain))
            down_pruned, up_pruned = gains[0][0] > limit, gains[1][0] > limit
            if down_pruned and up_pruned:
                master.set_site_bounds(lower, upper)
                return None
            if down_pruned or up_pruned:
                lower[site] = upper[site] = 1.0 if down_pruned else 0.0
                continue  # fixed in this sub-tree: no longer a branching candidate
            candidate_score = max(gains[0][1], 1e-6) * max(gains[1][1], 1e-6)
        if candidate_score > best_score:
            best_index, best_score, idle = index, candidate_score, 0
        else:
            idle += 1
            if idle >= STRONG_LOOKAHEAD:
                break
    master.set_site_bounds(lower, upper)
    master.restore(basis)
    site = int(fractional[best_index])
    if lower[site] == upper[site]:  # every candidate got fixed: branch on any other fractional site
        free = fractional[lower[fractional] < upper[fractional]]
        if len(free) == 0:
            return site, lower, upper, np.inf  # a child of this node re-solves with the fixings
        site = int(free[np.argmin(np.abs(y[free] - 0.5))])
        return site, lower, upper, 0.0
    return site, lower, upper, best_score


def _choose_branching_region(master: _Master, y: np.ndarray, bound: float, limit: float, pseudo: dict, *,
                             deadline: float | None):
    """The region to branch on: (its id, ``⌊s⌋``, score), (None, None, inf) when both sides of a region are
    proven above ``limit`` (the node is pruned), or None when no region's sum is fractional.

    A region is a demand point's :data:`REGION_SIZES` cheapest sites; in every solution the number of open
    sites in it is whole, so ``Σ_S y ≤ ⌊s⌋`` and ``≥ ⌊s⌋ + 1`` split the node. On grids a single site barely
    moves the LP: a neighbour of equal cost takes its place (TSPLIB d1291 at p = 200, the six most fractional
    sites at the root: gains of 0.01–0.09 when closed), while the number of medians among a point's 15 nearest
    sites cannot move so (3.2 units either way). The :data:`REGION_CANDIDATES` most fractional sums are
    strong-branched like sites (pseudo-costs per region, ``pseudo``), and scored the same way.
    """
    weighted = master.values[:, -1] > 0
    width = min(max(REGION_SIZES), master.n_sites)
    order = master.order[weighted, :width].astype(np.int64)
    sums = np.cumsum(y[order], axis=1)
    sizes = np.array([size for size in REGION_SIZES if size <= width], dtype=np.int64)
    share = sums[:, sizes - 1] - np.floor(sums[:, sizes - 1] + 1e-9)
    closeness = np.minimum(share, 1.0 - share)
    ranked = np.argsort(-closeness, axis=None, kind="stable")
    basis = master.basis()
    best, seen = None, set()
    for flat in ranked:
        point, which = divmod(int(flat), len(sizes))
        if closeness[point, which] < 1e-6 or len(seen) >= REGION_CANDIDATES:
            break
        sites = np.sort(order[point, :sizes[which]])
        key = sites.tobytes()
        if key in seen:
            continue
        seen.add(key)
        total = float(sums[point, sizes[which] - 1])
        floor = float(np.floor(total + 1e-9))
        moved = np.array([total - floor, floor + 1.0 - total])
        record = pseudo.get(key)
        if record is None and deadline is not None and time.perf_counter() > deadline:
            continue  # no time to strong-branch it
        region = master.region(sites)
        if record is not None:
            gains = record[0] / np.maximum(record[1], 1) * moved
            score = max(gains[0], 1e-6) * max(gains[1], 1e-6)
        else:
            values = []
            for low, high in ((-np.inf, floor), (floor + 1.0, np.inf)):
                value, proven = master.probe_region(region, low, high, STRONG_ITERATIONS, deadline, limit)
                master.restore(basis)
                values.append((value if proven else -np.inf, max(min(value, limit) - bound, 0.0)))
            if values[0][0] > limit and values[1][0] > limit:
                return None, None, np.inf
            gain = np.array([values[0][1], values[1][1]])
            record = pseudo.setdefault(key, np.zeros((2, 2)))
            record[0] += gain / np.maximum(moved, 1e-6)
            record[1] += 1.0
            score = max(gain[0], 1e-6) * max(gain[1], 1e-6)
            if values[0][0] > limit or values[1][0] > limit:
                score = np.inf  # one side is pruned at once: the other is the node with the region's bound
        if best is None or score > best[2]:
            best = (region, floor, score)
    master.restore(basis)
    return best


def _solution_cost(values: np.ndarray, order: np.ndarray, sites: np.ndarray) -> float:
    """The cost of opening ``sites``, from the sorted rows (with many medians a few positions per point instead of
    a column per open site): at the 0/1 ``y`` of these sites, each point's most violated cut has its level at its
    first open site, the cost it pays (:func:`_most_violated_by_prefix`)."""
    n_demand, n_sites = values.shape
    y = np.zeros(n_sites)
    y[sites] = 1.0
    level, _ = _most_violated_by_prefix(values, order, y, np.zeros(n_demand))
    return float(level.sum())


def _round(y: np.ndarray, lower: np.ndarray, p: int) -> np.ndarray:
    """The forced-open sites and the largest other ``y`` up to ``p`` sites."""
    score = np.where(lower > 0.5, 2.0, y)
    return np.sort(np.argpartition(-score, p - 1)[:p])


def _most_violated(values: np.ndarray, rank: np.ndarray, y: np.ndarray,
                   theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per demand point: the cost level ``D`` of its most violated cut at ``(y, θ)`` and the violation.

    The point is served by its cheapest sites in turn until their ``y`` adds up
    to 1; ``D`` is the cost at which that happens and the subproblem's value is
    ``D − Σ_{c < D} (D − c) y``. Only the sites with ``y > 0`` matter: they are
    put in each point's order through ``rank`` (the position of every site in
    every sorted row), so a call costs O(points × support), not O(points × sites).
    """
    n_demand, n_sites = values.shape
    support = np.flatnonzero(y > 1e-12)
    if len(support) == 0:
        level = values[:, -1].copy()
        return level, level - theta
    positions = np.sort(rank[:, support], axis=1)
    # the site at each sorted position, to read its y
    share = y[_site_at(rank, positions, support)]
    reached = np.cumsum(share, axis=1) >= 1.0 - 1e-9
    first = np.argmax(reached, axis=1)
    rows = np.arange(n_demand)
    position = np.where(reached[:, -1], positions[rows, first], n_sites - 1)
    level = values[rows, position]
    support_values = np.take_along_axis(values, positions, axis=1)
    gain = np.maximum(level[:, None] - support_values, 0.0) * share
    return level, level - gain.sum(axis=1) - theta


def _most_violated_by_prefix(values: np.ndarray, order: np.ndarray, y: np.ndarray, theta: np.ndarray,
                             first_width: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_most_violated` by walking each point's sorted row: the first ``first_width`` sites, then twice as
    many for the points whose ``y`` has not yet added up to 1, and so on.

    With many sites in the support (large p) the cheapest sites of a point
    reach 1 within a few dozen positions, so this costs O(points × that width).
    """
    n_demand, n_sites = values.shape
    level = np.empty(n_demand)
    gain = np.empty(n_demand)
    pending = np.arange(n_demand)
    width = min(first_width, n_sites)
    while len(pending):
        share = y[order[pending, :width]]
        reached = np.cumsum(share, axis=1) >= 1.0 - 1e-9
        done = reached[:, -1] | (width == n_sites)
        rows = pending[done]
        first = np.where(reached[done, -1], np.argmax(reached[done], axis=1), n_sites - 1)
        row_level = values[rows, first]
        level[rows] = row_level
        gain[rows] = (np.maximum(row_level[:, None] - values[rows, :width], 0.0) * share[done]).sum(axis=1)
        pending = pending[~done]
        width = min(2 * width, n_sites)
    return level, level - gain - theta


def _site_at(rank: np.ndarray, positions: np.ndarray, support: np.ndarray) -> np.ndarray:
    """For each row, the support sites in the order of ``positions`` (``rank[:, support]`` sorted)."""
    order = np.argsort(rank[:, support], axis=1)
    return support[order]


def _add_cuts(highs, values: np.ndarray, order: np.ndarray, demand: np.ndarray, level: np.ndarray,
              n_sites: int, usable: np.ndarray) -> None:
    """Rows ``θ_i + Σ_{c_ij < D} (D − c_ij) y_j ≥ D`` for the given points and levels (closed sites left out)."""
    import highspy

    rows = values[demand]
    below = (rows < level[:, None]) & usable[order[demand]]
    counts = below.sum(axis=1)
    size = int(counts.sum()) + len(demand)
    starts = np.concatenate([[0], np.cumsum(counts + 1)[:-1]]).astype(np.int32)
    is_theta = np.zeros(size, dtype=bool)
    is_theta[starts] = True
    index = np.empty(size, dtype=np.int32)
    coefficient = np.empty(size)
    index[is_theta] = n_sites + demand
    coefficient[is_theta] = 1.0
    index[~is_theta] = order[demand][below]
    coefficient[~is_theta] = (level[:, None] - rows)[below]
    highs.addRows(len(demand), level, np.full(len(demand), highspy.kHighsInf), size, starts, index, coefficient)
