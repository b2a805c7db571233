"""Separated groups: a p-median whose points fall into far-apart clusters, solved cluster by cluster.

Let ``R`` be the largest cost at which the best known solution serves a
point, and join point ``i`` and site ``j`` whenever ``c_ij ≤ R``. The
connected components of that bipartite graph are the *groups*. A point served
by a site outside its group pays at least ``cap_i``, its cost to the nearest
site outside the group (above ``R`` by construction). So if ``k_g`` of the
``p`` medians lie in group ``g``, the group's points cost at least
``F_g(k_g)``: the optimum of the group's own p-median with every cost capped
at ``cap_i`` (``F_g(0) = Σ wᵢ capᵢ``). Hence

    optimum  ≥  min { Σ_g F_g(k_g) : Σ_g k_g = p }

a resource allocation solved by dynamic programming over the groups; when
the minimising allocation's group optima serve no point at its cap, their
union is a solution of exactly that cost, and it is optimal.

``F_g`` is needed only near the allocation. Elsewhere a Lagrangian bound of
the group stands in for it: for multipliers ``λ``, ``Σλᵢ`` plus the ``k``
smallest site values ``ρⱼ = Σᵢ min(0, wᵢcᵢⱼ − λᵢ)`` bounds ``F_g(k)`` for
every ``k`` at once, and ``F_g`` never rises with ``k``. The programme is
solved again and again: where the minimising allocation rests on a ``k``
without an ascent of its own, an ascent there; once it rests on such bounds
only, exact solves, two at a time in threads, a new one as soon as one ends
(with nothing else to start, one that the runner-up allocation would need);
until it rests on exact values only. Groups equal up to the order of their
points and sites are solved once. Near twins, groups whose capped matrices
differ in a few rows once put in canonical order, lend each other bounds
(``F_B ≥ F_A − Σᵢ wᵢ maxⱼ (c^A_ij − c^B_ij)⁺``) and solutions (proven for
``B`` where they reach that bound), so one of a family is solved first.

A monolithic branch-and-bound multiplies the groups' own integrality gaps:
TSPLIB fl1400 (holes of circuit boards, four blocks of 221 in two pairs of
equal ones, the pairs near twins: one unit apart in 8 rows) at p = 300 has a
root gap of 25 units, which thousands of nodes did not close; block by block,
each is a small problem (docs/exact.md).
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from siting.models._heuristics import greedy_pmedian, interchange_pmedian, pmedian_cost
from siting.models._lagrangian import lagrangian_reduction

#: Groups with at most this many sites are solved by enumerating every choice of sites, for every ``k``.
ENUMERATE_SITES = 10

#: The split is tried only when no group holds more than this share of the sites (u1432 at p = 400: 47 %, a sub-problem
#: as hard as the whole; fl1400 and the drilling board: 16-20 %).
MAX_GROUP_SHARE = 0.25

#: Subgradient steps for a group's Lagrangian bound curve.
CURVE_ITERATIONS = 300

#: Share of the time left that one group's exact solve may take.
SOLVE_SHARE = 0.25

#: Two distinct groups of the same shape are near twins when, in canonical order, at most this share of their
#: points' rows differ: one's bounds then bound the other's, and its solutions are tried there first (fl1400's two
#: kinds of block of 221 holes differ by one unit in 8 rows, and have the same ``F`` at every ``k`` solved).
TWIN_ROWS_SHARE = 0.1

#: Canonical orders give up after this many individualisations (fl1400's blocks and the drilling board need 2;
#: a group of many co-located points one per point), keeping the numbering given: equal groups then go unrecognised.
MAX_INDIVIDUALISATIONS = 32


@dataclass(frozen=True)
class GroupSolution:
    """A group's p-median at one ``k``: its sites (positions within the group), value and bound."""

    sites: np.ndarray
    value: float
    bound: float
    proven: bool


@dataclass(frozen=True)
class GroupTask:
    """One exact solve of a group's capped p-median, for the caller's model."""

    cost: np.ndarray  # points × sites, capped
    weights: np.ndarray
    k: int  # medians
    fixed: np.ndarray  # sites open in every solution (positions within the group)
    deadline: float | None  # ``time.perf_counter()`` value to stop at
    threads: int
    known_bound: float  # a lower bound already known (e.g. from a near twin), or ``-inf``: stop once met
    stop: threading.Event  # set when the solve no longer matters: end it as at the deadline


#: ``solve_group(task)``: the group's capped p-median, by the caller's model.
GroupSolver = Callable[[GroupTask], GroupSolution]


@dataclass
class SplitOutcome:
    """What the groups proved: the best solution known, a lower bound, and whether the two meet."""

    sites: np.ndarray
    objective: float
    bound: float
    proven: bool
    groups: int
    group_solves: int
    distinct_groups: int


@dataclass
class _Values:
    """What is known of a group's ``F(k)``: solutions (sites in canonical order) and a lower bound per ``k``."""

    solved: dict[int, GroupSolution]
    lower: np.ndarray  # k = 0 … number of sites
    ascended: set[int]  # the k whose own Lagrangian ascent has run (about as strong as the LP there)
    matrix: np.ndarray  # the capped costs, points and sites in canonical order (what equal groups share)
    weights: np.ndarray  # the points' weights in canonical order
    is_fixed: np.ndarray  # which sites are fixed, in canonical order
    twins: list[_Twin] = field(default_factory=list)  # near twins (see TWIN_ROWS_SHARE)
    family: int = -1  # near twins share a family (the smallest index of the values in it)
    rank: float = 0.0  # within a family, the one of least rank is solved first (see _link_twins)
    owner: _Group | None = None  # one group with these values (to ascend or solve for all of them)

    def value(self, k: int) -> float:
        """``F(k)`` where proven, else the best lower bound known."""
        solution = self.solved.get(k)
        return solution.value if solution is not None and solution.proven else self.lower[k]

    def with_twins(self) -> list[_Values]:
        """These values and their near twins'."""
        return [self] + [twin.values for twin in self.twins]


@dataclass
class _Twin:
    """A near twin's values, and how far below this group's ``F`` the twin's may lie: ``F_twin ≥ F − shortfall``,
    with ``shortfall = Σᵢ wᵢ maxⱼ (this cost − twin cost)⁺`` over the canonical orders."""

    values: _Values
    shortfall: float
    tried: set[int] = field(default_factory=set)  # the k whose solution has been tried on the twin


@dataclass
class _Group:
    points: np.ndarray
    sites: np.ndarray
    weights: np.ndarray
    cost: np.ndarray  # points × sites, capped at each point's cost outside the group
    fixed: np.ndarray  # positions within the group
    site_order: np.ndarray  # canonical order: equal groups have equal matrices in it
    key: bytes
    values: _Values  # shared by equal groups (F(k) for k ≥ 1 depends on the capped matrix alone)
    without_medians: float  # F(0): every point at its cap (impossible with fixed sites)

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    def is_solved(self, k: int) -> bool:
        return k == 0 or k in self.values.solved

    def value(self, k: int) -> float:
        """``F(k)`` where proven, else the best lower bound known."""
        return self.without_medians if k == 0 else self.values.value(k)

    def canonical(self, sites: np.ndarray) -> np.ndarray:
        """Positions within the group → positions in its canonical order (how equal groups share solutions)."""
        return np.argsort(self.site_order)[sites]

    def chosen_sites(self, k: int) -> np.ndarray:
        """The sites (positions in the whole problem) of the group's solution at ``k``."""
        if k == 0:
            return np.array([], dtype=np.int64)
        return self.sites[self.site_order[self.values.solved[k].sites]]


def find_groups(cost: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Group labels of the points and of the sites: components of the pairs costing at most ``reach``."""
    n_points, n_sites = cost.shape
    rows, cols = np.nonzero(cost <= reach)
    graph = coo_array((np.ones(len(rows), dtype=np.int8), (rows, n_points + cols)),
                      shape=(n_points + n_sites, n_points + n_sites))
    n_groups, labels = connected_components(graph, directed=False)
    return labels[:n_points], labels[n_points:], n_groups


def split_by_groups(cost: np.ndarray, weights: np.ndarray, p: int, fixed: np.ndarray, incumbent: np.ndarray,
                    upper: float, *, threshold: Callable[[float], float], deadline: float | None,
                    solve_group: GroupSolver, workers: int = 2) -> SplitOutcome | None:
    """Bound (and often solve) the p-median group by group; ``None`` when it does not split.

    ``cost`` is the dense, finite, unweighted ``points × sites`` matrix, ``incumbent`` the best known
    solution (site positions) of cost ``upper``; ``threshold(upper)`` is the bound that proves it optimal.
    Up to ``workers`` groups are solved at a time, each in a thread of its own.
    """
    labels = _split(cost, incumbent)
    if labels is None:
        return None
    point_group, site_group, n_groups = labels
    known: dict[bytes, _Values] = {}
    groups = [_make_group(cost, weights, fixed, point_group, site_group, g, known) for g in range(n_groups)]
    distinct = list(known.values())
    _link_twins(distinct)
    solves = _Solves(solve_group, workers, deadline)
    try:
        return _programme(cost, weights, p, groups, distinct,
                          list(np.bincount(site_group[incumbent], minlength=n_groups)), np.asarray(incumbent), upper,
                          threshold, deadline, solves)
    finally:
        solves.close()


def _programme(cost, weights, p, groups: list[_Group], distinct: list[_Values], allocation, best_sites, best,
               threshold, deadline, solves: _Solves) -> SplitOutcome:
    """Solve the allocation programme again and again (see the module's docstring) until it proves, or the
    groups' optima make, a solution, or time runs out. ``distinct``: the groups' values, once each."""
    n_groups, n_distinct = len(groups), len(distinct)
    while True:
        if _past(deadline):
            return SplitOutcome(best_sites, best, min(_allocation_bound(groups, p)[0], best), False,
                                n_groups, solves.started, n_distinct)
        # cheap bounds first, for every group the allocation needs: it often moves once they are known;
        # then exact solves, up to `workers` at a time, the smallest groups first, a new one whenever one ends
        unbounded = {}  # one per distinct group and k: the family member that stands in for it
        for group, k in zip(groups, allocation):
            stand_in = None if group.is_solved(k) else _stand_in(group, k)
            if stand_in is not None and k not in stand_in.values.ascended and not solves.is_running(stand_in.values, k):
                unbounded[id(stand_in.values), k] = (stand_in, k)
        for group, k in unbounded.values():
            if _past(deadline):
                break
            _ascend(group, k)
        if not unbounded:
            wanted = _next_solves(groups, allocation, solves)
            if len(wanted) < solves.free():
                # a worker would idle: start what the allocation would need next if these solves lifted it
                pending = solves.pending() | {(group.values.family, k) for group, k in wanted}
                runner_up, following = _allocation_bound(groups, p, excluded=pending)
                if runner_up <= threshold(best):
                    wanted += [(group, k) for group, k in _next_solves(groups, following, solves)
                               if (group.values.family, k) not in pending]
            solves.start(wanted)
            solves.wait()
        for values in distinct:
            _share_with_twins(values)
        bound, allocation = _allocation_bound(groups, p)
        if bound > threshold(best):
            return SplitOutcome(best_sites, best, bound, True, n_groups, solves.started, n_distinct)
        if not all(group.is_solved(k) for group, k in zip(groups, allocation)):
            continue
        # the allocation rests on solved groups only: together they are a solution
        sites = np.concatenate([group.chosen_sites(k) for group, k in zip(groups, allocation)])
        value = float(weights @ cost[:, sites].min(axis=1))
        if value < best:
            best_sites, best = sites, value
        bound = min(bound, best)
        return SplitOutcome(best_sites, best, bound, bound > threshold(best), n_groups, solves.started, n_distinct)


def splits_into_groups(cost: np.ndarray, incumbent: np.ndarray) -> bool:
    """Whether the pairs within the incumbent's reach fall into several groups, none over a quarter of the sites."""
    return _split(cost, incumbent) is not None


def _split(cost: np.ndarray, incumbent: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    point_group, site_group, n_groups = find_groups(cost, float(cost[:, incumbent].min(axis=1).max()))
    if n_groups < 2 or np.bincount(site_group).max() > MAX_GROUP_SHARE * cost.shape[1]:
        return None
    return point_group, site_group, n_groups


def _make_group(cost, weights, fixed, point_group, site_group, g, known: dict[bytes, _Values]) -> _Group:
    points, sites = np.flatnonzero(point_group == g), np.flatnonzero(site_group == g)
    outside = np.ones(cost.shape[1], dtype=bool)
    outside[sites] = False
    cap = cost[points][:, outside].min(axis=1) if outside.any() else np.full(len(points), np.inf)
    local = np.minimum(cost[np.ix_(points, sites)], cap[:, None])
    local_fixed = np.flatnonzero(np.isin(sites, fixed))
    # identical groups: equal matrices once points and sites are put in a canonical order
    point_order, site_order = canonical_orders(local, weights[points], np.isin(sites, fixed))
    key = b"|".join([np.array(local.shape).tobytes(), local[np.ix_(point_order, site_order)].tobytes(),
                     weights[points][point_order].tobytes(), np.isin(site_order, local_fixed).tobytes()])
    positive = weights[points] > 0
    without_medians = float(weights[points][positive] @ cap[positive]) if len(local_fixed) == 0 else np.inf
    group = _Group(points, sites, weights[points], local, local_fixed, site_order, key, known.get(key),
                   without_medians)
    if group.values is None:
        group.values = known[key] = _Values({}, _first_bounds(group), set(), local[np.ix_(point_order, site_order)],
                                            weights[points][point_order], np.isin(site_order, local_fixed),
                                            family=len(known), owner=group)
        if len(sites) <= ENUMERATE_SITES or len(points) == 0:
            _enumerate(group)
    return group


def canonical_orders(cost: np.ndarray, weights: np.ndarray, is_fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orders of the points and sites that do not depend on how they were numbered, as far as it can tell.

    Colour refinement on the weighted bipartite graph (a point's colour: its own and the sorted
    ``(cost, site colour)`` pairs of its row; likewise for sites), then, while a colour holds several
    members, the first of them is given a colour of its own and the refinement runs again (individualisation,
    as in canonical graph labelling). Two groups equal up to numbering get equal reordered matrices when each
    colour class met is an orbit of the group's symmetries, as on the grids and blocks of holes met here;
    otherwise they are merely not recognised as equal, which costs time, never a wrong bound.
    """
    if cost.size == 0:
        return np.arange(cost.shape[0]), np.arange(cost.shape[1])
    levels = np.unique(cost, return_inverse=True)[1].reshape(cost.shape).astype(np.int64)
    point_colour = np.unique(weights, return_inverse=True)[1].astype(np.int64)
    site_colour = is_fixed.astype(np.int64)
    for _ in range(MAX_INDIVIDUALISATIONS + 1):
        point_colour, site_colour = _refine(levels, point_colour, site_colour)
        tied = _first_tie(point_colour) if len(np.unique(point_colour)) < len(point_colour) else None
        if tied is not None:
            point_colour = _individualise(point_colour, tied)
            continue
        tied = _first_tie(site_colour) if len(np.unique(site_colour)) < len(site_colour) else None
        if tied is None:
            return np.argsort(point_colour, kind="stable"), np.argsort(site_colour, kind="stable")
        site_colour = _individualise(site_colour, tied)
    return np.arange(cost.shape[0]), np.arange(cost.shape[1])


def _refine(levels: np.ndarray, point_colour: np.ndarray, site_colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colour refinement until the number of colours stops growing."""
    count = len(np.unique(point_colour)) + len(np.unique(site_colour))
    while True:
        point_colour = _recolour(levels, point_colour, site_colour)
        site_colour = _recolour(levels.T, site_colour, point_colour)
        new_count = len(np.unique(point_colour)) + len(np.unique(site_colour))
        if new_count == count:
            return point_colour, site_colour
        count = new_count


def _recolour(levels: np.ndarray, own: np.ndarray, other: np.ndarray) -> np.ndarray:
    pairs = np.sort(levels * (int(other.max()) + 1) + other[None, :], axis=1)
    signature = np.column_stack([own, pairs])
    return np.unique(signature, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _first_tie(colour: np.ndarray) -> int:
    """The first member of the smallest colour held by several members."""
    counts = np.bincount(colour)
    return int(np.flatnonzero(colour == np.flatnonzero(counts > 1)[0])[0])


def _individualise(colour: np.ndarray, member: int) -> np.ndarray:
    """``member`` gets a colour of its own, just below the others of its class."""
    colour = 2 * colour + 1
    colour[member] -= 1
    return np.unique(colour, return_inverse=True)[1].astype(np.int64)


def _next_solves(groups: list[_Group], allocation: list[int], solves: _Solves) -> list[tuple[_Group, int]]:
    """The exact solves to start next: for each ``k`` of the allocation not yet solved, once per family of near
    twins, the member of least rank not solved there (whose bounds carry over best), smallest groups first;
    none for a family and ``k`` being solved already."""
    chosen = {}
    for g, (group, k) in enumerate(zip(groups, allocation)):
        if group.is_solved(k) or (group.values.family, k) in chosen:
            continue
        running = any(solves.is_running(values, k) for values in group.values.with_twins())
        chosen[group.values.family, k] = None if running else (group.n_sites, g, _stand_in(group, k))
    return [(solver, allocation[g]) for _, g, solver in sorted(filter(None, chosen.values()), key=lambda e: e[:2])]


def _stand_in(group: _Group, k: int) -> _Group:
    """The group to ascend or solve at ``k`` for ``group``: of its family, the member of least rank not solved
    there (whose bounds carry over to the others best)."""
    unsolved = [values for values in group.values.with_twins() if k not in values.solved]
    return min(unsolved, key=lambda values: values.rank).owner


def _link_twins(distinct: list[_Values]) -> None:
    """Join the distinct groups that are near twins (:data:`TWIN_ROWS_SHARE`) into families; in each family the
    one whose bounds carry over to the others with the least shortfall in all gets the least rank."""
    for first, second in itertools.combinations(distinct, 2):
        same_shape = first.matrix.shape == second.matrix.shape and first.matrix.size > 0
        if not (same_shape and np.array_equal(first.weights, second.weights)
                and np.array_equal(first.is_fixed, second.is_fixed)):
            continue
        difference = first.matrix - second.matrix
        if not np.isfinite(difference).all():
            continue
        if np.count_nonzero(np.abs(difference).max(axis=1)) > TWIN_ROWS_SHARE * len(difference):
            continue
        first.twins.append(_Twin(second, float(first.weights @ np.maximum(difference, 0.0).max(axis=1))))
        second.twins.append(_Twin(first, float(second.weights @ np.maximum(-difference, 0.0).max(axis=1))))
        family = min(first.family, second.family)
        for values in distinct:
            if values.family in (first.family, second.family):
                values.family = family
    for values in distinct:
        values.rank = sum(twin.shortfall for twin in values.twins)


def _share_with_twins(values: _Values) -> None:
    """Carry a group's bounds over to its near twins, and its proven solutions where they prove the twin's ``F``."""
    for twin in values.twins:
        other = twin.values
        other.lower[:] = np.maximum(other.lower, values.lower - twin.shortfall)
        for k, solution in values.solved.items():
            if not solution.proven or k in other.solved or k in twin.tried:
                continue
            twin.tried.add(k)
            bound = solution.bound - twin.shortfall
            # the twin's solution is often optimal here too, or a few swaps from it (twins have points: see
            # _link_twins)
            sites = interchange_pmedian(other.matrix, other.weights, solution.sites, np.flatnonzero(other.is_fixed))
            value = pmedian_cost(other.matrix, other.weights, sites)
            if value <= bound + 1e-9 * max(1.0, abs(value)):
                other.solved[k] = GroupSolution(np.sort(sites), value, bound, True)


def _first_bounds(group: _Group) -> np.ndarray:
    """Before any solve: nothing known, but fewer medians than the group's fixed sites are impossible."""
    lower = np.full(group.n_sites + 1, -np.inf)
    lower[:max(len(group.fixed), 1)] = np.inf  # k = 0 is the group's own F(0), kept apart (without_medians)
    return lower


def _enumerate(group: _Group) -> None:
    """Every ``F(k)`` of a small group (or one without points), by trying every choice of sites."""
    free = np.setdiff1d(np.arange(group.n_sites), group.fixed)
    for k in range(max(len(group.fixed), 1), group.n_sites + 1):
        best = (None, np.inf)
        for extra in itertools.combinations(free, k - len(group.fixed)):
            chosen = np.concatenate([group.fixed, np.array(extra, dtype=np.int64)])
            value = pmedian_cost(group.cost, group.weights, chosen) if len(group.points) else 0.0
            if value < best[1]:
                best = (chosen, value)
            if len(group.points) == 0:
                break
        group.values.solved[k] = GroupSolution(group.canonical(best[0]), best[1], best[1], True)
        group.values.lower[k] = best[1]


def _ascend(group: _Group, k: int) -> None:
    """A Lagrangian bound at ``k`` from a local search's solution, and its curve for every other ``k``."""
    group.values.ascended.add(k)
    sites = interchange_pmedian(group.cost, group.weights, greedy_pmedian(group.cost, group.weights, k, group.fixed),
                                group.fixed)
    _add_curve(group, k, sites)


class _Solves:
    """Exact group solves, up to ``workers`` at a time in threads; their results are taken in the caller's thread.

    Almost all of a group's solve is inside HiGHS, which releases the GIL: two solves on two cores take about
    the time of one. A new solve starts as soon as one ends, rather than when a whole batch has (fl1400 at
    p = 500: a block's solve at one ``k`` took 14 s beside one of 1 s at another). A solve alone, with none to
    start beside it, gets every worker.
    """

    def __init__(self, solve_group: GroupSolver, workers: int, deadline: float | None) -> None:
        self.solve_group, self.workers, self.deadline = solve_group, workers, deadline
        self.pool = ThreadPoolExecutor(workers) if workers > 1 else None
        self.running: dict = {}  # future → (group, k, threads, stop)
        self.started = 0

    def is_running(self, values: _Values, k: int) -> bool:
        """Whether a solve of a group with these values at ``k`` is running."""
        return any(group.values is values and running_k == k for group, running_k, _, _ in self.running.values())

    def free(self) -> int:
        """Workers not busy."""
        return self.workers - sum(threads for _, _, threads, _ in self.running.values())

    def pending(self) -> set[tuple[int, int]]:
        """(family, k) of the running solves."""
        return {(group.values.family, k) for group, k, _, _ in self.running.values()}

    def start(self, wanted: list[tuple[_Group, int]]) -> None:
        """Start solves of ``wanted`` (not running yet) while workers are free."""
        free = self.free()
        alone = not self.running and len(wanted) == 1
        for group, k in wanted[:free]:
            task = GroupTask(group.cost, group.weights, k, group.fixed, _share(self.deadline),
                             self.workers if alone else 1, float(group.values.lower[k]), threading.Event())
            self.started += 1
            if self.pool is None:
                _take(group, k, self.solve_group(task))
            else:
                self.running[self.pool.submit(self.solve_group, task)] = (group, k, task.threads, task.stop)

    def wait(self) -> None:
        """Wait until a running solve ends, and take the results of those ended."""
        if not self.running:
            return
        ended, _ = wait(self.running, return_when=FIRST_COMPLETED)
        for future in ended:
            group, k, _, _ = self.running.pop(future)
            _take(group, k, future.result())

    def close(self) -> None:
        """Stop the running solves (the programme is over: they no longer matter) and end the threads."""
        for _, _, _, stop in self.running.values():
            stop.set()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _take(group: _Group, k: int, solution: GroupSolution) -> None:
    """A group's solve at ``k``: its solution, and the Lagrangian curve at it."""
    group.values.solved[k] = GroupSolution(group.canonical(solution.sites), solution.value, solution.bound,
                                           solution.proven)
    _add_curve(group, k, solution.sites, solution.bound)


def _add_curve(group: _Group, k: int, sites: np.ndarray, bound: float = -np.inf) -> None:
    """Raise the group's lower bounds by the Lagrangian curve of an ascent at ``k`` started from ``sites``."""
    values = group.values
    service = group.weights * group.cost[:, sites].min(axis=1)
    upper = float(service.sum())
    reduction = lagrangian_reduction(group.cost, group.weights, k, group.fixed, upper, service,
                                     threshold=upper, max_iterations=CURVE_ITERATIONS)
    values.lower[:] = np.maximum(values.lower, _lagrangian_curve(group, reduction.multipliers))
    values.lower[k] = max(values.lower[k], bound)
    # more medians never cost more: a bound at k holds for every smaller k
    values.lower[1:] = np.maximum.accumulate(values.lower[1:][::-1])[::-1]


def _share(deadline: float | None) -> float | None:
    """One group's solve gets at most a quarter of the time left: another allocation may not need it."""
    if deadline is None:
        return None
    now = time.perf_counter()
    return now + max(0.0, deadline - now) * SOLVE_SHARE


def _lagrangian_curve(group: _Group, multipliers: np.ndarray) -> np.ndarray:
    """``Σλ + Σ of the k smallest ρⱼ`` (fixed sites always among them): a bound of ``F(k)`` for every ``k``."""
    rho = np.minimum(0.0, group.weights[:, None] * group.cost - multipliers[:, None]).sum(axis=0)
    is_fixed = np.zeros(group.n_sites, dtype=bool)
    is_fixed[group.fixed] = True
    free = np.sort(rho[~is_fixed])
    curve = np.full(group.n_sites + 1, -np.inf)
    n_fixed = len(group.fixed)
    curve[n_fixed:] = multipliers.sum() + rho[is_fixed].sum() + np.concatenate([[0.0], np.cumsum(free)])
    curve[0] = -np.inf  # without a median the relaxation has no assignment: F(0) is the caps' sum, set apart
    return curve


def _allocation_bound(groups: list[_Group], p: int, excluded: set[tuple[int, int]] = frozenset()
                      ) -> tuple[float, list[int]]:
    """``min Σ_g V_g(k_g)`` over ``Σ k_g = p`` (``V`` = ``F`` where proven, else its bound), and the allocation;
    no group of a family takes a ``k`` of ``excluded`` ((family, k) pairs)."""
    best = np.full(p + 1, np.inf)
    best[0] = 0.0
    choices = []
    for group in groups:
        following = np.full(p + 1, np.inf)
        choice = np.zeros(p + 1, dtype=np.int64)
        for k in range(min(group.n_sites, p) + 1):
            value = group.value(k)
            if value == np.inf or (group.values.family, k) in excluded:
                continue
            with np.errstate(invalid="ignore"):  # no bound yet (-inf) after an impossible prefix (inf): not taken
                candidate = best[:p + 1 - k] + value
            better = candidate < following[k:]
            following[k:][better] = candidate[better]
            choice[k:][better] = k
        best = following
        choices.append(choice)
    allocation = []
    left = p
    for choice in reversed(choices):
        allocation.append(int(choice[left]))
        left -= allocation[-1]
    return float(best[p]), allocation[::-1]


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() >= deadline
