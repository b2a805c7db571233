"""Which sites to open: a local search for capacitated covering plans with site costs.

The greedy start of :class:`~siting.models.capacitated.CapacitatedMCLP`
serves demand well but pays no heed to what sites cost and how far demand
travels. When capacity is not what limits the plan (a tier with more units
than its demand needs, as the default plan's rural tier), the choice is that
of uncapacitated facility location: each demand point goes to its best open
site, and a site is worth opening when what it adds exceeds its cost. This
module improves the set of open sites by the classic moves of that problem —
open one site, close one, or swap one for another nearby (Kuehn & Hamburger's
add and drop, Teitz & Bart's interchange) — on that simplified objective,
then builds the full plan (units, assignment within capacity) from the set.
The caller keeps it only if the model's own objective says it is better.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_array

if TYPE_CHECKING:
    from siting.models.capacitated import CapacitatedMCLP

#: Seconds the search may take, at most.
TIME_BUDGET_S = 3.0


class OpenSiteSearch:
    """Add, drop and swap moves on the open sites of a model (see the module's description)."""

    def __init__(self, model: CapacitatedMCLP) -> None:
        table = model.cost
        self.model = model
        self.value = model._pair_value()
        self.weights = np.asarray(model.weights, dtype=float)
        self.fixed = model.cost_per_unit_weight * np.where(model.existing_units > 0, 0.0, model.site_cost)
        self.order = np.lexsort((-self.value, table.demand))  # pairs by demand point, best value first
        self.starts = np.searchsorted(table.demand[self.order], np.arange(table.n_demand + 1))
        self.by_site = np.argsort(table.site, kind="stable")
        self.site_starts = np.searchsorted(table.site[self.by_site], np.arange(table.n_sites + 1))
        self.keep = (model.existing_units > 0) | model.forced_open
        self.openable = (model.existing_units > 0) | (model.max_units > 0)
        self.room = np.where(model.existing_units == 0, model.max_units, 0)  # new units a site can take
        self.total = 0 if model.total_units is None else int(model.total_units)

    def best_two(self, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per demand point: best open value, its site (-1: none) and the second-best open value."""
        table = self.model.cost
        site = table.site[self.order]
        value = np.where(is_open[site], self.value[self.order], -np.inf)
        ends = self.starts[1:]
        nonempty = ends > self.starts[:-1]
        first = np.full(table.n_demand, -np.inf)
        first[nonempty] = np.maximum.reduceat(value, self.starts[:-1][nonempty])
        rank = np.arange(len(value))
        is_first = np.isfinite(value) & (value == np.repeat(first, np.diff(self.starts)))
        pos = np.full(table.n_demand, len(value))
        np.minimum.at(pos, np.repeat(np.arange(table.n_demand), np.diff(self.starts))[is_first], rank[is_first])
        best_site = np.where(pos < len(value), site[np.minimum(pos, len(value) - 1)], -1)
        value[pos[pos < len(value)]] = -np.inf
        second = np.full(table.n_demand, -np.inf)
        second[nonempty] = np.maximum.reduceat(value, self.starts[:-1][nonempty])
        best = np.where(np.isfinite(first), first, 0.0)
        return best, best_site, np.where(np.isfinite(second), second, 0.0)

    def score(self, is_open: np.ndarray) -> float:
        best, _, _ = self.best_two(is_open)
        return float(self.weights @ best - self.fixed[is_open].sum())

    def improve(self, is_open: np.ndarray, budget_s: float = TIME_BUDGET_S) -> np.ndarray:
        """The open set after add, drop and swap moves until none helps or the time is up."""
        table = self.model.cost
        is_open = is_open | self.keep
        deadline = time.perf_counter() + budget_s
        required = self.model.required
        while time.perf_counter() < deadline:
            best, best_site, second = self.best_two(is_open)
            gain_add = np.bincount(table.site, weights=self.weights[table.demand]
                                   * np.maximum(0.0, self.value - best[table.demand]), minlength=table.n_sites)
            gain_add = np.where(is_open | ~self.openable, -np.inf, gain_add - self.fixed)
            j = int(np.argmax(gain_add))
            if gain_add[j] > 1e-9:
                is_open[j] = True
                continue
            served = best_site >= 0
            loss = np.bincount(best_site[served], weights=(self.weights * (best - second))[served],
                               minlength=table.n_sites)
            spare = int(self.room[is_open].sum()) - self.total  # the open sites must hold the total
            gain_drop = np.where(is_open & ~self.keep & (self.room <= spare), self.fixed - loss, -np.inf)
            gain_drop[self._needed_by_required(is_open, best_site, required)] = -np.inf
            if gain_drop.max() > 1e-9:
                self._drop_apart(is_open, gain_drop)
                continue
            if not self._swap(is_open, best, best_site, second, gain_add, gain_drop, spare):
                break
        return is_open

    def _drop_apart(self, is_open: np.ndarray, gain_drop: np.ndarray) -> None:
        """Close every site with a gain whose demand points no better-gaining closed site shares (a batch of drops
        whose gains add up, since no demand point loses two sites)."""
        table = self.model.cost
        touched = np.zeros(table.n_demand, dtype=bool)
        spare = int(self.room[is_open].sum()) - self.total
        for k in np.argsort(-gain_drop):
            if gain_drop[k] <= 1e-9:
                break
            points = table.demand[self.site_pairs(k)]
            if touched[points].any() or self.room[k] > spare:
                continue
            is_open[k] = False
            touched[points] = True
            spare -= int(self.room[k])

    def site_pairs(self, j: int) -> np.ndarray:
        """Positions of site ``j``'s pairs."""
        return self.by_site[self.site_starts[j]:self.site_starts[j + 1]]

    def _needed_by_required(self, is_open, best_site, required) -> np.ndarray:
        """Open sites that are the only one in reach of a required demand point."""
        table = self.model.cost
        needed = np.zeros(table.n_sites, dtype=bool)
        if not required.any():
            return needed
        open_pairs = is_open[table.site] & required[table.demand]
        count = np.bincount(table.demand[open_pairs], minlength=table.n_demand)
        alone = required & (count == 1)
        needed[best_site[alone & (best_site >= 0)]] = True
        return needed

    def _swap(self, is_open, best, best_site, second, gain_add, gain_drop, spare) -> bool:
        """Make the best swap (open ``j``, close ``k``) if it gains; Whitaker's fast interchange.

        The swap's gain is ``gain_add[j] + gain_drop[k] + extra[j, k]``, where
        ``extra`` corrects for the demand points whose best site is ``k`` and
        that ``j`` reaches (they move to ``j`` or their second site, not both).
        Only sites sharing demand points have an ``extra``; for the others the
        swap gains no more than the best add and the best drop apart.
        """
        table = self.model.cost
        point_best = best_site[table.demand]
        moves = (point_best >= 0) & ~is_open[table.site] & (point_best != table.site)
        i, j, k = table.demand[moves], table.site[moves], point_best[moves]
        v = self.value[moves]
        extra = self.weights[i] * (np.maximum(second[i], v) - second[i] - np.maximum(0.0, v - best[i]))
        pairs = coo_array((extra, (j, k)), shape=(table.n_sites, table.n_sites))
        pairs.sum_duplicates()
        j, k = pairs.row, pairs.col
        gain = gain_add[j] + gain_drop[k] + pairs.data
        gain[self.room[j] - self.room[k] + spare < 0] = -np.inf
        if not len(gain) or not np.isfinite(gain).any():
            return False
        best_move = int(np.argmax(gain))
        if gain[best_move] <= 1e-9:
            return False
        is_open[j[best_move]] = True
        is_open[k[best_move]] = False
        return True


def plan_for_open_sites(model: CapacitatedMCLP, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Units and assignment with these sites open: pairs best value first, each site's units grown to its load
    while the total allows, units left over to open sites with room.

    Returns None when the open sites cannot take the model's total of units
    (too many sites for their minimum, or too few for the total).
    """
    table = model.cost
    new = model.existing_units == 0
    capacity = model.capacity_per_unit
    units = np.where(new, 0, model.existing_units).astype(np.int64)
    opened = is_open & new & (model.max_units > 0)
    units[opened] = np.maximum(model.min_units[opened], 1)
    left = np.inf if model.total_units is None else int(model.total_units) - int(units[new].sum())
    if left < 0:
        return None
    remaining = np.asarray(model.weights, dtype=float).copy()
    amount = np.zeros(table.n_pairs)
    load = np.zeros(table.n_sites)
    for k in np.argsort(-model._pair_value(), kind="stable"):
        j, i = table.site[k], table.demand[k]
        if not (is_open[j] and remaining[i] > 1e-12):
            continue
        if new[j]:  # grow the site's units to take this demand, within its maximum and the total
            wanted = int(np.ceil((load[j] + remaining[i]) / capacity[j] - 1e-9)) if capacity[j] > 0 else 0
            grow = int(min(max(wanted - units[j], 0), model.max_units[j] - units[j], left))
            units[j] += grow
            left -= grow
        take = min(remaining[i], capacity[j] * units[j] - load[j])
        if take > 1e-12:
            amount[k] = take
            remaining[i] -= take
            load[j] += take
    if model.total_units is None:
        return units, amount
    for j in np.flatnonzero(opened):  # units beyond the load go to open sites with room
        if left == 0:
            break
        extra = int(min(left, model.max_units[j] - units[j]))
        units[j] += extra
        left -= extra
    return (units, amount) if left == 0 else None
