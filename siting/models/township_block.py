"""A constraint block: at least one open site in each of some groups of sites ("every township served").

Each :class:`SiteGroup` is a set of candidate sites (by site id) and a label
for messages, e.g. the candidates inside one township. The block adds, per
group, the row ``Σ_(j in group) y_j ≥ 1`` over the open variables of the
model (a group holding an existing site is already served and gets no row).

The block knows nothing of townships or tiers: the caller (``siting.problem``)
makes the groups and words the labels and fixes. It follows the protocol of
:mod:`siting.models.blocks`: ``check`` before solving, ``add_rows``,
``repair`` of the greedy start, ``splittable``. A decomposition by district
may split it (a township lies in one district): a group none of whose sites
is in a part's model is left to the part that has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pulp

from siting._errors import InfeasibleError

if TYPE_CHECKING:
    from siting.models.blocks import ModelVars
    from siting.models.capacitated import CapacitatedMCLP


@dataclass(frozen=True)
class SiteGroup:
    """Sites of which at least one must be open.

    Attributes
    ----------
    key : str
        Identifier (e.g. a township code); used in row names.
    label : str
        How messages name the group, e.g. ``"township 370281101 胶莱街道"``.
    site_ids : tuple
        The candidate and existing sites of the group (ids of the model's sites).
    """

    key: str
    label: str
    site_ids: tuple = ()


@dataclass(frozen=True)
class EverySiteGroupBlock:
    """At least one open site in every group (see the module's description).

    Attributes
    ----------
    groups : tuple of SiteGroup
    fix : str
        What a user can do when the rule cannot be met, appended to messages.
    noun : str
        What a group is, in the plural, for messages ("townships").
    name : str
        Prefix of the block's row names.
    """

    groups: tuple[SiteGroup, ...]
    fix: str = "add candidate sites there or raise the target"
    noun: str = "groups"
    name: str = "every_group"
    splittable: bool = True

    def positions(self, model: CapacitatedMCLP) -> list[tuple[SiteGroup, np.ndarray]]:
        """Each group with the positions of its sites among the model's sites (groups absent from it left out)."""
        out = []
        for group in self.groups:
            found = model.cost.site_ids.get_indexer(list(group.site_ids)) if group.site_ids else np.array([], int)
            found = found[found >= 0]
            if len(found):
                out.append((group, found))
        return out

    def _open_groups(self, model: CapacitatedMCLP) -> list[tuple[SiteGroup, np.ndarray]]:
        """Groups that need a new site: none of their sites is an existing one."""
        return [(g, p) for g, p in self.positions(model) if not (model.existing_units[p] > 0).any()]

    def check(self, model: CapacitatedMCLP) -> None:
        """Refuse a group with no site at all, and a target too small to open a site in every group.

        Raises
        ------
        InfeasibleError
            Naming the (first) group that cannot get a site.
        """
        for group in self.groups:
            if not group.site_ids:
                msg = f"{group.label} has no candidate site, so it cannot get one; {self.fix}"
                raise InfeasibleError(msg)
        needed = 0
        for group, found in self._open_groups(model):
            needed += int(max(1, model.min_units[found].min()))
            if needed > model.total_units:
                count = len(self._open_groups(model))
                msg = (f"{count:,} {self.noun} need a new site each, and the target of {model.total_units:,} "
                       f"{model.unit_name} runs out before {group.label} gets one; {self.fix}")
                raise InfeasibleError(msg)

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        """One row per group without an existing site: the sum of its sites' open variables is at least 1."""
        for index, (group, found) in enumerate(self._open_groups(model)):
            lp += pulp.lpSum(v.open_vars[j] for j in sorted(found)) >= 1, f"{self.name}_{index}"

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Open the site with the most unserved demand in reach in each group that has none.

        Its units (the site's minimum) are taken one by one from the open new
        site with the most spare capacity that stays at or above its own
        minimum (the least useful units); when every open site is at its
        minimum, the open site serving least is closed instead (never the last
        open site of a group or of a required demand point), and units it had
        beyond what the group needs go to open sites with room. Demand a
        donor can no longer serve is shed, farthest first. Returns None when
        no donor is left.
        """
        table = model.cost
        units = units.copy()
        amount = amount.copy()
        weights = np.asarray(model.weights, dtype=float)
        capacity = model.capacity_per_unit
        is_new = model.existing_units == 0
        keep = np.maximum(model.min_units, 1)
        load = np.bincount(table.site, weights=amount, minlength=table.n_sites)
        remaining = weights - np.bincount(table.demand, weights=amount, minlength=table.n_demand)
        order = np.lexsort((table.cost, table.site))  # pairs by site, nearest first
        bounds = np.searchsorted(table.site[order], np.arange(table.n_sites + 1))
        groups = self._open_groups(model)

        def shed(k: int) -> None:
            excess = load[k] - capacity[k] * units[k]
            for p in order[bounds[k]:bounds[k + 1]][::-1]:  # farthest first
                if excess <= 1e-12:
                    break
                cut = min(excess, amount[p])
                amount[p] -= cut
                remaining[table.demand[p]] += cut
                load[k] -= cut
                excess -= cut

        def serve(j: int) -> None:
            room = capacity[j] * units[j] - load[j]
            for p in order[bounds[j]:bounds[j + 1]]:
                if room <= 1e-12:
                    break
                take = min(room, max(remaining[table.demand[p]], 0.0))
                if take > 0:
                    amount[p] += take
                    remaining[table.demand[p]] -= take
                    load[j] += take
                    room -= take

        def closable(j: int) -> np.ndarray:
            """Open new sites (not ``j``) whose closing leaves every group and required point with a site."""
            ok = is_new & (units > 0)
            ok[j] = False
            for _, found in groups:
                opened = found[units[found] > 0]
                if len(opened) == 1:
                    ok[opened] = False
            for i in np.flatnonzero(model.required):
                opened = table.site[table.demand == i]
                opened = opened[units[opened] > 0]
                if len(opened) == 1:
                    ok[opened] = False
            return np.flatnonzero(ok)

        for _, found in groups:
            if (units[found] > 0).any():
                continue
            gain = np.bincount(table.site, weights=np.clip(remaining, 0, None)[table.demand],
                               minlength=table.n_sites)
            j = int(found[np.argmax(gain[found])])
            need = int(keep[j])
            if need > model.max_units[j]:
                return None
            got = 0
            while got < need:
                donors = np.flatnonzero(is_new & (units > keep))
                donors = donors[donors != j]
                if len(donors):
                    k = int(donors[np.argmax(capacity[donors] * units[donors] - load[donors])])
                    units[k] -= 1
                    got += 1
                else:
                    candidates = closable(j)
                    if not len(candidates):
                        return None
                    k = int(candidates[np.argmin(load[candidates])])
                    got += int(units[k])
                    units[k] = 0
                shed(k)
            units[j] = min(got, int(model.max_units[j]))
            surplus = got - int(units[j])
            for k in np.flatnonzero(is_new & (units > 0) & (units < model.max_units)):
                if surplus == 0:
                    break
                extra = min(surplus, int(model.max_units[k] - units[k]))
                units[k] += extra
                surplus -= extra
                serve(k)
            if surplus:
                return None
            serve(j)
        return units, amount
