"""Per-demand-point sorted costs: the pairs cheaper than a per-point threshold, in time proportional to their number.

The p-median's Lagrangian bound and its interchange heuristic only ever look
at the pairs ``(i, j)`` whose cost lies below a per-point value (a multiplier,
the cost to the second-nearest open site): for ``p`` medians about ``n / p`` of
the ``n`` sites per point. Sorting each row once makes every later pass cost
``O(those pairs)`` rather than ``O(demand × sites)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


#: A block of the sorted rows is read when its ``rows × width`` cells are at most this many times the pairs below λ.
WINDOW_SLACK = 2.5


@dataclass(frozen=True)
class PairsBelow:
    """The pairs of :meth:`SortedCosts.reduced_sums`: listed (``rows``, ``sites``, ``reduced``), or a block of
    the sorted rows (``rows`` None, ``sites`` and ``reduced`` of shape ``demand × width``)."""

    rows: np.ndarray | None
    sites: np.ndarray
    reduced: np.ndarray
    n_pairs: int


class SortedCosts:
    """Each demand point's weighted costs in increasing order, so that the pairs below ``λ`` come cheaply.

    ``L(λ)`` only involves the pairs with ``w_i c_ij < λ_i``: for ``p`` medians
    about ``n / p`` per demand point near the optimum, not ``n``. Each row is
    sorted once (``O(n m log m)``); then one batched binary search over the
    flattened rows (row ``i`` shifted by ``i × span`` so that the whole array is
    increasing) finds every row's prefix, and a step of the subgradient method
    costs ``O(pairs below λ)`` instead of ``O(n m)``.
    """

    def __init__(self, weighted: np.ndarray) -> None:
        n_demand, n_sites = weighted.shape
        order = np.argsort(weighted, axis=1, kind="stable")
        values = np.take_along_axis(weighted, order, axis=1)
        self.shape = (n_demand, n_sites)
        self.site = order.ravel().astype(np.int32 if n_sites < 2**31 else np.int64)
        self.value = values.ravel()
        self.low = float(values[:, 0].min(initial=0.0))
        self.span = float(values[:, -1].max(initial=0.0)) - self.low + 1.0
        self.shift = np.arange(n_demand) * self.span
        self.keys = (values - self.low + self.shift[:, None]).ravel()
        # rounding in the shifted keys is far below this: a row's prefix is never cut short
        self.margin = 1e-9 * self.span * max(n_demand, 1)
        self.row_start = np.arange(n_demand, dtype=np.int64) * n_sites

    def _counts(self, lam: np.ndarray) -> np.ndarray:
        """Per demand point, how many of its sorted pairs may lie below ``λ`` (see :meth:`below`)."""
        query = np.clip(lam - self.low, -1.0, self.span - 0.5) + self.shift + self.margin
        ends = np.searchsorted(self.keys, query, side="right")
        return np.clip(ends - self.row_start, 0, self.shape[1])

    def below(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs whose reduced cost ``w_i c_ij − λ_i`` may be negative: (demand, site, reduced cost).

        A few pairs with a reduced cost of zero or just above may be included; none below zero is left out.
        """
        return self._pairs(self._counts(lam), lam)

    def _pairs(self, counts: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first ``counts[i]`` sorted pairs of each row ``i``, listed: (demand, site, reduced cost)."""
        n_demand = self.shape[0]
        total = int(counts.sum())
        rows = np.repeat(np.arange(n_demand), counts)
        offsets = np.cumsum(counts) - counts
        position = np.arange(total) - np.repeat(offsets - self.row_start, counts)
        return rows, self.site[position], self.value[position] - lam[rows]

    def reduced_sums(self, lam: np.ndarray) -> tuple[np.ndarray, PairsBelow]:
        """``v_j = Σ_i min(0, w_i c_ij − λ_i)`` per site, and the pairs it came from (for :meth:`served`).

        When every row holds about as many pairs below ``λ`` (within :data:`WINDOW_SLACK` of the widest),
        the first ``width`` columns of the sorted rows are read as one block: fewer passes than gathering
        the pairs one by one, and a row's pairs past its own count add nothing (their reduced cost is
        clipped to zero).
        """
        counts = self._counts(lam)
        n_demand, n_sites = self.shape
        total = int(counts.sum())
        width = int(counts.max(initial=0))
        if width * n_demand <= WINDOW_SLACK * total:
            reduced = self.value.reshape(self.shape)[:, :width] - lam[:, None]
            np.minimum(reduced, 0.0, out=reduced)
            sites = self.site.reshape(self.shape)[:, :width]
            v = np.bincount(sites.ravel(), weights=reduced.ravel(), minlength=n_sites)
            return v, PairsBelow(None, sites, reduced, total)
        rows, sites, reduced = self._pairs(counts, lam)
        v = np.bincount(sites, weights=np.minimum(reduced, 0.0), minlength=n_sites)
        return v, PairsBelow(rows, sites, reduced, total)

    def served(self, pairs: PairsBelow, chosen: np.ndarray) -> np.ndarray:
        """Per demand point, how many chosen sites have a negative reduced cost for it."""
        if pairs.rows is None:  # a block of rows × width
            return np.count_nonzero(chosen[pairs.sites] & (pairs.reduced < 0.0), axis=1)
        return np.bincount(pairs.rows, weights=chosen[pairs.sites] & (pairs.reduced < 0.0),
                           minlength=self.shape[0])


class DenseCosts:
    """The same interface as :class:`SortedCosts` on a dense matrix: faster when few columns are left.

    Kept site-major (one contiguous row per site), so that each site's sum over the demand points is a
    contiguous reduction.
    """

    def __init__(self, weighted: np.ndarray) -> None:
        self.by_site = np.ascontiguousarray(weighted.T)
        self.shape = weighted.shape
        self._reduced = np.empty_like(self.by_site)

    @property
    def weighted(self) -> np.ndarray:
        """The ``demand × site`` matrix (a view)."""
        return self.by_site.T

    def reduced_sums(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``v_j = Σ_i min(0, w_i c_ij − λ_i)`` per site, and the reduced costs (for :meth:`served`)."""
        reduced = self._reduced
        np.subtract(self.by_site, lam[None, :], out=reduced)
        np.minimum(reduced, 0.0, out=reduced)
        return reduced.sum(axis=1), reduced

    def served(self, reduced: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """Per demand point, how many chosen sites have a negative reduced cost for it."""
        return np.count_nonzero(reduced[chosen] < 0.0, axis=0)
