"""Value-function rows of the capacitated model: exact bounds, and no optimum cut off."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from siting.models import _value_rows
from siting.models._value_rows import chords
from siting.models.capacitated import CapacitatedMCLP


def best_fill(values, weights, capacity):
    """What ``capacity`` earns, filled with the highest values first (independent of ``chords``)."""
    earned, left = 0.0, capacity
    for value, weight in sorted(zip(values, weights, strict=True), reverse=True):
        take = min(weight, left)
        earned += value * take
        left -= take
    return earned


@pytest.mark.parametrize("seed", range(6))
def test_chords_meet_the_best_fill_at_every_integer(seed):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.9, 1.0, size=rng.integers(1, 6))
    weights = rng.uniform(0.1, 9.0, size=len(values))
    capacity, max_units = float(rng.choice([1.0, 2.0, 3.5])), int(rng.integers(1, 12))
    lines = chords(values, weights, capacity, max_units)
    for n in range(max_units + 1):
        envelope = min(slope * n + intercept for slope, intercept in lines)
        assert envelope == pytest.approx(best_fill(values, weights, capacity * n), abs=1e-9)


def components_instance(seed):
    """Three components (2, 1 and 2 sites), fractional weights, site costs."""
    rng = np.random.default_rng(seed)
    cost = np.full((7, 5), np.inf)
    blocks = [([0, 1, 2], [0, 1]), ([3], [2]), ([4, 5, 6], [3, 4])]
    for points, sites in blocks:
        for i in points:
            for j in sites:
                if rng.random() < 0.8 or j == sites[0]:
                    cost[i, j] = rng.uniform(0, 10)
    weights = rng.uniform(0.5, 7.0, size=7)
    return cost, weights


def brute_force_coverage(cost, weights, radius, total, capacity, min_units, max_units):
    """Most demand served over every allocation of ``total`` units (coverage only)."""
    reach = np.isfinite(cost) & (cost <= radius)
    pairs = np.argwhere(reach)
    n_demand, n_sites = cost.shape
    a_ub = np.zeros((n_demand + n_sites, len(pairs)))
    for k, (i, j) in enumerate(pairs):
        a_ub[i, k] = 1
        a_ub[n_demand + j, k] = 1
    best = -1.0
    for units in itertools.product([0, *range(min_units, max_units + 1)], repeat=n_sites):
        if sum(units) != total:
            continue
        b_ub = np.concatenate([weights, capacity * np.array(units, dtype=float)])
        res = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_coverage_over_several_components_matches_brute_force(seed):
    cost, weights = components_instance(seed)
    expected = brute_force_coverage(cost, weights, 10.0, total=5, capacity=2.0, min_units=1, max_units=3)
    result = CapacitatedMCLP.from_cost_matrix(cost, weights=weights, radius=10.0, total_units=5,
                                              capacity_per_unit=2.0, min_units=1, max_units=3,
                                              distance_weight=0.0).solve(mip_gap=0.0)
    assert result.status == "optimal"
    assert result.extra["demand_served"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_rows_leave_the_optimum_with_costs_and_distances(monkeypatch, seed):
    cost, weights = components_instance(seed)
    kwargs = {"weights": weights, "radius": 10.0, "total_units": 6, "capacity_per_unit": 2.0, "min_units": 2,
              "max_units": 4, "distance_weight": 0.05, "site_cost": 2e5, "unit_cost": 3e4, "cost_weight": 0.5}
    with_rows = CapacitatedMCLP.from_cost_matrix(cost, **kwargs).solve(mip_gap=0.0)
    monkeypatch.setattr(_value_rows, "MAX_COMPONENT_SITES", 0)
    without = CapacitatedMCLP.from_cost_matrix(cost, **kwargs).solve(mip_gap=0.0)
    assert with_rows.n_constraints > without.n_constraints
    assert with_rows.status == without.status == "optimal"
    assert with_rows.objective == pytest.approx(without.objective, abs=1e-7)
