"""Value-function inequalities for the capacitated covering model.

What a site (or a set of sites) can earn is bounded by its units: ``n`` units
of ``capacity`` serve at most ``capacity · n`` of the demand in reach, best
pairs first. That bound ``h(n)`` is concave in ``n``, so at every integer ``n``
it is the lower envelope of the chords between consecutive integers::

    Σ_(pairs k of S) value_k · x_k  ≤  a_m · Σ_(j∈S) n_j + b_m · y      every chord m

These rows are implied by the model at integer points (valid), but the linear
relaxation does not see them: it serves ``w`` with ``w / capacity`` units
where the integer plan must round up, and it opens a site a fraction. With
``y`` the site's open variable (the perspective of the chord) the rows of one
site describe the convex hull of what that site can earn, fixed cost included.

The rows are added for each connected component of the site–demand graph
with at most :data:`MAX_COMPONENT_SITES` sites, its sites pooled: each demand
point at its best value within the component, the component's units summed.
The component's demand is reached by no other site, so the bound holds. A
component of one site (a site whose demand no other site reaches) gets the
perspective with its open variable. A large component pooled would bound
little, so it gets none.

On the default plan's residential tier (3,784 components, 3,631 of one site,
none above 22) they lower the root relaxation's bound from 218,661 to 218,210 (the
optimum lies between 218,175 and 218,183), and HiGHS proves the tier at
10⁻⁴ in about 9 s instead of stopping at 1.4 · 10⁻⁴ after 120 s (docs/exact.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pulp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

if TYPE_CHECKING:
    from siting.models.blocks import ModelVars
    from siting.models.capacitated import CapacitatedMCLP

#: Components of at most this many sites get a pooled row set.
MAX_COMPONENT_SITES = 60


def chords(values: np.ndarray, weights: np.ndarray, capacity: float, max_units: int) -> list[tuple[float, float]]:
    """Chords ``(slope, intercept)`` of ``h(n)``, the most ``n`` units can earn, at integers ``0 … max_units``.

    ``h(n)`` fills ``capacity · n`` with the demand weights, highest value first.
    Collinear chords are merged; the last chord is flat at the whole reach's value.
    """
    order = np.argsort(-values, kind="stable")
    value, weight = values[order], weights[order]
    ends = np.concatenate([[0.0], np.cumsum(weight)])
    earned = np.concatenate([[0.0], np.cumsum(value * weight)])
    top = int(min(max_units, np.ceil(ends[-1] / capacity - 1e-9))) if capacity > 0 else 0
    filled = np.minimum(np.arange(top + 1) * capacity, ends[-1])
    k = np.minimum(np.searchsorted(ends, filled, side="right") - 1, len(value) - 1)
    h = earned[k] + (filled - ends[k]) * value[k]
    h[filled >= ends[-1]] = earned[-1]
    lines: list[tuple[float, float]] = []
    for i, slope in enumerate(np.diff(h)):
        if lines and abs(lines[-1][0] - slope) <= 1e-12 * max(1.0, abs(slope)):
            continue
        lines.append((float(slope), float(h[i] - slope * i)))
    if not lines or lines[-1][0] != 0.0:
        lines.append((0.0, float(h[-1])))
    return lines


def add_value_rows(problem: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> int:
    """Add the value-function rows of the model's small components of new sites; return how many."""
    table = model.cost
    if table.n_pairs == 0:
        return 0
    value = model._pair_value()
    weights = np.asarray(model.weights, dtype=float)
    new = model.existing_units == 0
    # each demand point's best value: all its pairs lie in its component, so the best within it
    best = np.full(table.n_demand, -np.inf)
    np.maximum.at(best, table.demand, value)
    added = 0
    for sites, pairs in _small_components(model):
        if not new[sites].all():
            continue
        points = np.unique(table.demand[pairs])
        lines = chords(best[points], weights[points], float(model.capacity_per_unit[sites].max()),
                       int(model.max_units[sites].sum()))
        earned = pulp.LpAffineExpression(zip((v.assign[k] for k in pairs), value[pairs].tolist()))
        units = pulp.lpSum(v.units[j] for j in sites)
        opened = v.open_vars[sites[0]] if len(sites) == 1 else 1  # one site: the perspective with its open variable
        for slope, intercept in lines:
            problem += earned <= slope * units + intercept * opened, f"value_{added}"
            added += 1
    return added


def _small_components(model: CapacitatedMCLP):
    """Yield ``(sites, pairs)`` of each component of the site–demand graph with 2 … MAX_COMPONENT_SITES sites."""
    table = model.cost
    n_demand = table.n_demand
    size = n_demand + table.n_sites
    graph = coo_matrix((np.ones(table.n_pairs), (table.demand, n_demand + table.site)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    site_label = label[n_demand:]
    counts = np.bincount(site_label[np.unique(table.site)], minlength=label.max() + 1)
    pair_label = label[table.demand]
    order = np.argsort(pair_label, kind="stable")
    bounds = np.searchsorted(pair_label[order], np.arange(label.max() + 2))
    for c in np.flatnonzero((counts >= 1) & (counts <= MAX_COMPONENT_SITES)):
        pairs = order[bounds[c]:bounds[c + 1]]
        yield np.unique(table.site[pairs]), pairs
