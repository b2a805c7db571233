"""Fast numpy heuristics: p-median greedy + interchange, greedy maximal covering.

They give the exact models a good first solution (a warm start and the radii
that bound the p-median formulation) and serve as baselines in benchmarks.
All work on dense ``demand × site`` arrays; unreachable pairs carry a large
finite cost so that arithmetic never meets ``inf - inf``.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csc_array, sparray


def pmedian_cost(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    """Weighted sum of each demand point's cost to its nearest open site."""
    return float(weights @ cost[:, open_sites].min(axis=1))


def _nearest_two(cost: np.ndarray, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per demand point: nearest open site (column index), its cost, the second-nearest cost."""
    sub = cost[:, open_sites]
    if sub.shape[1] == 1:
        return np.full(len(cost), open_sites[0]), sub[:, 0].copy(), np.full(len(cost), np.inf)
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    rows = np.arange(len(cost))
    a, b = sub[rows, two[:, 0]], sub[rows, two[:, 1]]
    first = np.where(a <= b, two[:, 0], two[:, 1])
    return open_sites[first], np.minimum(a, b), np.maximum(a, b)


def greedy_pmedian(cost: np.ndarray, weights: np.ndarray, p: int, fixed: np.ndarray) -> np.ndarray:
    """Add sites one at a time, each the one that lowers the weighted cost most.

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
    is_open = np.zeros(cost.shape[1], dtype=bool)
    is_open[fixed] = True
    if is_open.any():
        nearest = cost[:, is_open].min(axis=1)
    else:
        nearest = np.full(len(cost), 2.0 * float(cost.max(initial=0.0)) + 1.0)
    for _ in range(p - int(is_open.sum())):
        total = weights @ np.minimum(cost, nearest[:, None])
        total[is_open] = np.inf
        best = int(np.argmin(total))
        is_open[best] = True
        nearest = np.minimum(nearest, cost[:, best])
    return np.flatnonzero(is_open)


def interchange_pmedian(
    cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray, fixed: np.ndarray, *, max_iterations: int = 10_000
) -> np.ndarray:
    """Improve a p-median solution by best-improvement swaps (Teitz–Bart, Whitaker's fast interchange).

    Every (site in, site out) pair is evaluated at once: for demand point ``i``
    with nearest open cost ``d1``, second-nearest ``d2`` and nearest site
    ``c1``, opening ``j`` and closing ``r`` gives ``min(c_ij, d1_i)`` unless
    ``c1_i = r``, then ``min(c_ij, d2_i)``. The correction for ``r`` is a
    matrix product with the one-hot matrix of nearest sites.
    """
    open_sites = np.array(sorted(open_sites), dtype=np.int64)
    n_sites = cost.shape[1]
    is_fixed = np.zeros(n_sites, dtype=bool)
    is_fixed[fixed] = True
    current = pmedian_cost(cost, weights, open_sites)
    for _ in range(max_iterations):
        removable = open_sites[~is_fixed[open_sites]]
        if len(removable) == 0 or len(open_sites) == n_sites:
            break
        c1, d1, d2 = _nearest_two(cost, open_sites)
        d2 = np.where(np.isinf(d2), d1, d2)  # one open site only: closing it is never evaluated as free
        base_in = np.minimum(cost, d1[:, None])
        total_in = weights @ base_in
        delta = weights[:, None] * (np.minimum(cost, d2[:, None]) - base_in)
        owner = (c1[:, None] == removable[None, :]).astype(float)
        total = total_in[:, None] + delta.T @ owner  # site in × site out
        total[open_sites, :] = np.inf
        flat = int(np.argmin(total))
        j_in, k_out = divmod(flat, len(removable))
        candidate = float(total[j_in, k_out])
        if not candidate < current - 1e-9 * max(1.0, abs(current)):
            break
        open_sites = np.sort(np.append(open_sites[open_sites != removable[k_out]], j_in))
        current = pmedian_cost(cost, weights, open_sites)
    return open_sites


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
