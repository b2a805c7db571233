"""Fast numpy heuristics: p-median greedy + interchange, greedy maximal covering.

They give the exact models a good first solution (a warm start and the radii
that bound the p-median formulation) and serve as baselines in benchmarks.
All work on dense ``demand × site`` arrays; unreachable pairs carry a large
finite cost so that arithmetic never meets ``inf - inf``.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_array, sparray

from siting.models._sorted import SortedCosts


def pmedian_cost(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    """Weighted sum of each demand point's cost to its nearest open site."""
    return float(weights @ cost[:, open_sites].min(axis=1))


@dataclass
class _NearestTwo:
    """Per demand point: nearest open site ``c1`` and its cost ``d1``, second-nearest ``c2`` and ``d2``.

    ``c2 = -1`` and ``d2 = ceiling`` when one site is open. A swap updates them in
    ``O(n)`` plus the points whose nearest or second-nearest site closed.
    """

    c1: np.ndarray
    d1: np.ndarray
    c2: np.ndarray
    d2: np.ndarray

    @classmethod
    def of(cls, cost: np.ndarray, open_sites: np.ndarray, ceiling: float) -> _NearestTwo:
        sub = cost[:, open_sites]
        rows = np.arange(len(cost))
        first = np.argmin(sub, axis=1)
        d1 = sub[rows, first]
        if sub.shape[1] == 1:
            return cls(open_sites[first], d1, np.full(len(cost), -1), np.full(len(cost), ceiling))
        sub[rows, first] = np.inf  # sub is a copy (fancy indexing)
        second = np.argmin(sub, axis=1)
        return cls(open_sites[first], d1, open_sites[second], np.minimum(sub[rows, second], ceiling))

    def swapped(self, cost: np.ndarray, open_sites: np.ndarray, j_in: int, j_out: int,
                ceiling: float) -> _NearestTwo:
        """The same after ``j_out`` closed and ``j_in`` opened; ``open_sites`` is the new set."""
        c1, d1, c2, d2 = self.c1.copy(), self.d1.copy(), self.c2.copy(), self.d2.copy()
        column = cost[:, j_in]
        lost = (c1 == j_out) | (c2 == j_out)
        first = ~lost & (column < d1)
        second = ~lost & ~first & (column < d2)
        c2[first], d2[first] = c1[first], d1[first]
        c1[first], d1[first] = j_in, column[first]
        c2[second], d2[second] = j_in, column[second]
        rows = np.flatnonzero(lost)
        if len(rows):
            again = _NearestTwo.of(cost[rows], open_sites, ceiling)
            c1[rows], d1[rows], c2[rows], d2[rows] = again.c1, again.d1, again.c2, again.d2
        return _NearestTwo(c1, d1, c2, d2)


def greedy_pmedian(cost: np.ndarray, weights: np.ndarray, p: int, fixed: np.ndarray) -> np.ndarray:
    """Add sites one at a time, each the one that lowers the weighted cost most.

    The gain of a site only shrinks as others open (it is submodular), so the
    gains are kept in a heap as upper bounds and re-evaluated lazily
    (Minoux 1978): each step evaluates a few columns, not all ``n`` of them.

    Parameters
    ----------
    cost : numpy.ndarray
        Dense ``demand × site`` costs (finite).
    weights : numpy.ndarray
        Demand weights.
    p : int
        Total number of open sites, fixed ones included.
    fixed : numpy.ndarray of int
        Sites that are open from the start (existing sites).
    """
    n_sites = cost.shape[1]
    is_open = np.zeros(n_sites, dtype=bool)
    is_open[fixed] = True
    if is_open.any():
        nearest = cost[:, is_open].min(axis=1)
    else:
        nearest = np.full(len(cost), 2.0 * float(cost.max(initial=0.0)) + 1.0)
    by_site = np.ascontiguousarray(cost.T)
    gains = weights @ np.maximum(nearest[:, None] - cost, 0.0)
    heap = [(-float(g), j) for j, g in enumerate(gains) if not is_open[j]]
    heapq.heapify(heap)
    for _ in range(p - int(is_open.sum())):
        while True:
            _, j = heapq.heappop(heap)
            gain = float(weights @ np.maximum(nearest - by_site[j], 0.0))
            # fresh gain still at least every other site's bound: it is the best
            if not heap or gain >= -heap[0][0] - 1e-12 * max(1.0, abs(gain)):
                break
            heapq.heappush(heap, (-gain, j))
        is_open[j] = True
        np.minimum(nearest, by_site[j], out=nearest)
    return np.flatnonzero(is_open)


def interchange_pmedian(
    cost: np.ndarray,
    weights: np.ndarray,
    open_sites: np.ndarray,
    fixed: np.ndarray,
    *,
    max_iterations: int = 10_000,
    sorted_costs: SortedCosts | None = None,
) -> np.ndarray:
    """Improve a p-median solution by best-improvement swaps (Teitz–Bart, with Whitaker's and Resende–Werneck's
    fast evaluation).

    With ``d1_i, d2_i`` demand point ``i``'s costs to its nearest and
    second-nearest open site and ``c1_i`` that nearest site, the change of
    opening ``j`` and closing ``r`` is ``−gain_j + loss_r + extra_jr`` where
    ``gain_j = Σ_i w_i max(0, d1_i − c_ij)``, ``loss_r = Σ_{c1_i = r} w_i (d2_i − d1_i)``
    and ``extra_jr`` (≤ 0) corrects the points with ``c1_i = r`` and ``c_ij < d2_i``.
    Only pairs with ``c_ij < d2_i`` enter: for ``p`` medians about ``2n / p`` per
    point, found through ``sorted_costs`` without scanning the full matrix.

    Parameters
    ----------
    cost : numpy.ndarray
        Dense ``demand × site`` costs (finite).
    weights : numpy.ndarray
        Demand weights.
    open_sites : numpy.ndarray of int
        The starting solution.
    fixed : numpy.ndarray of int
        Sites that stay open.
    sorted_costs : SortedCosts, optional
        ``SortedCosts(weights[:, None] * cost)``, if already built.
    """
    open_sites = np.array(sorted(open_sites), dtype=np.int64)
    n_sites = cost.shape[1]
    is_fixed = site_mask(n_sites, fixed)
    positive = weights > 0
    if sorted_costs is None:
        sorted_costs = SortedCosts(weights[:, None] * cost)
    ceiling = 2.0 * float(cost.max(initial=0.0)) + 1.0  # beyond every cost: "no second open site"
    if len(open_sites) == 0:
        return open_sites
    near = _NearestTwo.of(cost, open_sites, ceiling)
    current = float(weights @ near.d1)
    for _ in range(max_iterations):
        removable = open_sites[~is_fixed[open_sites]]
        if len(removable) == 0 or len(open_sites) == n_sites:
            break
        c1, d1, d2 = near.c1, near.d1, near.d2
        rows, sites, _ = sorted_costs.below(np.where(positive, weights * d2, 0.0))
        c = cost[rows, sites]
        keep = (c < d2[rows]) & positive[rows]
        rows, sites, c = rows[keep], sites[keep], c[keep]
        w_pair, d1_pair, d2_pair = weights[rows], d1[rows], d2[rows]
        gain = np.bincount(sites, weights=w_pair * np.maximum(d1_pair - c, 0.0), minlength=n_sites)
        slot = np.searchsorted(removable, c1)
        slot_ok = slot < len(removable)
        mine = slot_ok & (removable[np.minimum(slot, len(removable) - 1)] == c1)
        loss = np.bincount(slot[mine], weights=(weights * (d2 - d1))[mine], minlength=len(removable))
        pair_mine = mine[rows]
        correction = w_pair * (np.minimum(c, d2_pair) - np.minimum(c, d1_pair) - (d2_pair - d1_pair))
        j_in, k_out, change = _best_swap(gain, loss, sites[pair_mine], slot[rows][pair_mine],
                                         correction[pair_mine], open_sites)
        if not change < -1e-9 * max(1.0, abs(current)):
            break
        candidate = np.sort(np.append(open_sites[open_sites != removable[k_out]], j_in))
        moved = near.swapped(cost, candidate, j_in, int(removable[k_out]), ceiling)
        value = float(weights @ moved.d1)
        if not value < current - 1e-9 * max(1.0, abs(current)):
            break  # rounding: the predicted gain did not materialise
        open_sites, current, near = candidate, value, moved
    return open_sites


def _best_swap(gain: np.ndarray, loss: np.ndarray, pair_in: np.ndarray, pair_out: np.ndarray,
               correction: np.ndarray, open_sites: np.ndarray) -> tuple[int, int, float]:
    """The swap (site in, slot of the site out) with the smallest change ``loss_k − gain_j + extra_jk``.

    ``extra_jk`` (≤ 0) is the sum of ``correction`` over the pairs ``(pair_in, pair_out) = (j, k)``; it is
    zero for every other ``(j, k)``, so the best site out for ``j`` is either one of its pairs or the
    smallest ``loss`` of all. With many pairs per site the ``site × slot`` table is dense and is summed
    in one pass; otherwise only its non-zero cells are formed.
    """
    n_sites, n_out = len(gain), len(loss)
    if n_sites * n_out <= 4 * len(pair_in):
        change = loss[None, :] - gain[:, None]
        flat = pair_in.astype(np.int64) * n_out + pair_out
        change += np.bincount(flat, weights=correction, minlength=n_sites * n_out).reshape(n_sites, n_out)
        change[open_sites, :] = np.inf
        j_in, k_out = divmod(int(np.argmin(change)), n_out)
        return j_in, k_out, float(change[j_in, k_out])
    cells, inverse = np.unique(pair_in.astype(np.int64) * n_out + pair_out, return_inverse=True)
    cell_value = loss[cells % n_out] + np.bincount(inverse, weights=correction, minlength=len(cells))
    cell_in = cells // n_out
    cheapest = int(np.argmin(loss))
    best_out = np.full(n_sites, loss[cheapest])
    np.minimum.at(best_out, cell_in, cell_value)
    change = best_out - gain
    change[open_sites] = np.inf
    j_in = int(np.argmin(change))
    mine = cell_in == j_in
    k_out = int(cells[mine][np.argmin(cell_value[mine])] % n_out) \
        if mine.any() and cell_value[mine].min() < loss[cheapest] else cheapest
    return j_in, k_out, float(change[j_in])


def greedy_coverage(
    covers: np.ndarray | sparray, weights: np.ndarray, p: int, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Greedy maximal covering: add the site that covers the most uncovered weight, ``p`` times in all.

    Parameters
    ----------
    covers : numpy.ndarray of bool or scipy.sparse array
        ``demand × site``: True (non-zero) where the site covers the demand point.
        Sparse input keeps each step proportional to the number of covering pairs.
    weights : numpy.ndarray
        Demand weights.
    p : int
        Total number of sites, fixed ones included.
    fixed : numpy.ndarray of int, optional
        Sites open from the start.
    """
    by_site = csc_array(covers, dtype=bool)
    by_demand = by_site.T.tocsc()  # site × demand, column i: the sites covering demand point i
    n_sites = by_site.shape[1]
    is_open = np.zeros(n_sites, dtype=bool)
    if fixed is not None:
        is_open[fixed] = True
    w = np.asarray(weights, dtype=float)
    covered = np.zeros(by_site.shape[0], dtype=bool)
    for j in np.flatnonzero(is_open):
        covered[by_site.indices[by_site.indptr[j]:by_site.indptr[j + 1]]] = True
    # gain of each site: uncovered weight it covers, kept up to date as points become covered
    gain = by_site.T.astype(float) @ np.where(covered, 0.0, w)
    for _ in range(p - int(is_open.sum())):
        if is_open.all():
            break
        gain[is_open] = -1.0
        best = int(np.argmax(gain))
        is_open[best] = True
        newly = by_site.indices[by_site.indptr[best]:by_site.indptr[best + 1]]
        newly = newly[~covered[newly]]
        covered[newly] = True
        for i in newly:  # each demand point is covered once: O(pairs) over the whole run
            sites = by_demand.indices[by_demand.indptr[i]:by_demand.indptr[i + 1]]
            # no rounding residue: a site whose points are all covered gains exactly 0
            gain[sites] = np.maximum(gain[sites] - w[i], 0.0)
    return np.flatnonzero(is_open)


def interchange_coverage(
    covers: np.ndarray | sparray, weights: np.ndarray, open_sites: np.ndarray, fixed: np.ndarray | None = None,
    *, max_iterations: int = 10_000,
) -> np.ndarray:
    """Improve a maximal covering solution by best-improvement swaps (one site in, one out).

    With ``n_i`` the number of open sites covering customer ``i``, opening
    ``j`` gains the weight of its customers with ``n_i = 0``, closing ``r``
    loses that of its customers with ``n_i = 1``, and a swap gives back the
    customers with ``n_i = 1`` that ``j`` and ``r`` both cover: a sparse
    ``site × site`` product, so each step costs about the number of pairs.

    Parameters
    ----------
    covers : numpy.ndarray of bool or scipy.sparse array
        ``demand × site``: True where the site covers the customer.
    weights : numpy.ndarray
        Customer weights.
    open_sites : numpy.ndarray of int
        The starting solution.
    fixed : numpy.ndarray of int, optional
        Sites that stay open.
    """
    by_site = csc_array(covers, dtype=float)
    n_sites = by_site.shape[1]
    w = np.asarray(weights, dtype=float)
    is_open = site_mask(n_sites, open_sites)
    is_fixed = site_mask(n_sites, fixed)
    count = by_site @ is_open.astype(float)
    for _ in range(max_iterations):
        removable = np.flatnonzero(is_open & ~is_fixed)
        closed = np.flatnonzero(~is_open)
        if len(removable) == 0 or len(closed) == 0:
            break
        gain = by_site.T @ np.where(count == 0, w, 0.0)
        single = np.where(count == 1, w, 0.0)
        loss = by_site.T @ single
        # weight given back: customers covered once, by r, that j covers too
        back = (by_site[:, closed].T @ (by_site[:, removable] * single[:, None])).toarray()
        change = gain[closed][:, None] - loss[removable][None, :] + back
        k_in, k_out = divmod(int(np.argmax(change)), len(removable))
        if not change[k_in, k_out] > 1e-9 * max(1.0, float(w.sum())):
            break
        j, r = closed[k_in], removable[k_out]
        is_open[j], is_open[r] = True, False
        count += by_site[:, [j]].toarray().ravel() - by_site[:, [r]].toarray().ravel()
    return np.flatnonzero(is_open)


def covered_weight(covers: np.ndarray | sparray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    """Weight of the customers that at least one of ``open_sites`` covers."""
    by_site = csc_array(covers, dtype=float)
    count = by_site[:, np.asarray(open_sites, dtype=np.int64)].sum(axis=1)
    return float(np.asarray(weights, dtype=float)[np.asarray(count).ravel() > 0].sum())


def perturb_coverage(
    covers: np.ndarray | sparray, weights: np.ndarray, open_sites: np.ndarray, fixed: np.ndarray | None = None,
    *, time_budget_s: float = 5.0, patience: int | None = None, seed: int = 0,
) -> np.ndarray:
    """Iterated local search for maximal covering: clear a neighbourhood, refill greedily, swap, keep if better.

    A round picks a random open site, closes every open site within two
    steps of it in the site–site overlap graph (sites sharing a customer),
    re-opens as many by :func:`greedy_coverage` and polishes with
    :func:`interchange_coverage`. Swap local optima of large MCLPs are a few
    percent below the optimum; these local restarts escape them cheaply, as
    each round touches one region.

    Parameters
    ----------
    covers : numpy.ndarray of bool or scipy.sparse array
        ``customer × site``: True where the site covers the customer.
    weights : numpy.ndarray
        Customer weights.
    open_sites : numpy.ndarray of int
        The starting solution (a swap local optimum is best).
    fixed : numpy.ndarray of int, optional
        Sites that stay open.
    time_budget_s : float
        Wall-clock seconds at most.
    patience : int, optional
        Stop after this many rounds in a row without improvement (default: the
        number of open sites, so each gets about one turn as a centre).
    seed : int
        Seed of the random centres (the search is deterministic for a seed, up to the time budget).
    """
    start = time.perf_counter()
    by_site = csc_array(covers, dtype=float)
    overlap = (by_site.T @ by_site).tocsr()
    is_fixed = site_mask(by_site.shape[1], fixed)
    best = np.asarray(open_sites, dtype=np.int64)
    if len(best) >= by_site.shape[1] or by_site.shape[0] == 0:
        return best  # every site open, or nothing to cover: nothing to improve
    best_value = covered_weight(by_site, weights, best)
    free = best[~is_fixed[best]]
    rng = np.random.default_rng(seed)
    patience = len(best) if patience is None else patience
    idle = 0
    while idle < patience and len(free) and time.perf_counter() - start < time_budget_s:
        idle += 1
        is_open = np.zeros(by_site.shape[1], dtype=bool)
        is_open[best] = True
        hood = _neighbours(overlap, _neighbours(overlap, np.array([rng.choice(free)])))
        is_open[hood[~is_fixed[hood]]] = False
        refill = greedy_coverage(by_site, weights, len(best), np.flatnonzero(is_open))
        candidate = interchange_coverage(by_site, weights, refill, fixed)
        value = covered_weight(by_site, weights, candidate)
        if value > best_value + 1e-9 * max(1.0, abs(best_value)):
            best, best_value, idle = candidate, value, 0
            free = best[~is_fixed[best]]
    return best


def site_mask(n_sites: int, sites: np.ndarray | None) -> np.ndarray:
    """Boolean mask over ``n_sites`` sites, True at ``sites`` (none if ``sites`` is None)."""
    mask = np.zeros(n_sites, dtype=bool)
    if sites is not None:
        mask[np.asarray(sites, dtype=np.int64)] = True
    return mask


def _neighbours(graph: sparray, nodes: np.ndarray) -> np.ndarray:
    """``nodes`` and every node adjacent to one of them in a sparse (CSR) graph."""
    parts = [graph.indices[graph.indptr[v]:graph.indptr[v + 1]] for v in nodes]
    return np.unique(np.concatenate([nodes, *parts]))
