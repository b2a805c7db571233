"""The Lagrangian search by components of the MCLP, against brute force on small clustered instances."""

from __future__ import annotations

import dataclasses
from itertools import combinations, product

import numpy as np
import pytest
from scipy.sparse import csr_array

from siting.models import MCLP
from siting.models._coverage_lagrange import (
    lagrangian_search,
    lp_multiplier,
    paying_components,
    relaxed_plan,
)


def clustered_instance(seed: int, n_clusters: int = 3, side: int = 2, integral: bool = False):
    """Demand cells on small grids far apart; a site at every cell covers it and its four neighbours."""
    rng = np.random.default_rng(seed)
    cells = np.array([(c * 100 + x, y) for c in range(n_clusters) for x, y in product(range(side + 1), range(side))],
                     dtype=float)
    distance = np.abs(cells[:, None, :] - cells[None, :, :]).sum(axis=2)
    covers = distance <= 1.0
    weights = rng.integers(1, 20, size=len(cells)).astype(float)
    if not integral:
        weights += rng.random(len(cells))
    return covers, weights


def best_cover(covers: np.ndarray, weights: np.ndarray, p: int) -> float:
    return max(weights[covers[:, list(s)].any(axis=1)].sum() for s in combinations(range(covers.shape[1]), p))


def best_priced(covers: np.ndarray, weights: np.ndarray, price: float) -> float:
    """max over every site set of covered weight − price per site."""
    n = covers.shape[1]
    masks = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    covered = (masks @ covers.T.astype(int)) > 0
    return float((covered @ weights - price * masks.sum(axis=1)).max())


@pytest.mark.parametrize("seed", range(4))
def test_relaxed_plan_is_the_priced_optimum_and_bounds_every_plan(seed):
    covers, weights = clustered_instance(seed)
    matrix = csr_array(covers)
    for price in (5.0, 15.0, 30.0, 45.0):
        for p in (2, 3, 4):
            point = relaxed_plan(matrix, weights, p, price)
            assert point.proven
            value = weights[covers[:, point.sites].any(axis=1)].sum() - price * len(point.sites)
            assert value == pytest.approx(best_priced(covers, weights, price))
            assert point.bound == pytest.approx(price * p + value)
            assert point.bound >= best_cover(covers, weights, p) - 1e-9


def test_paying_components_leave_out_sites_that_cannot_pay_and_split_clusters():
    covers, weights = clustered_instance(0)
    site_weight = covers.T.astype(float) @ weights
    price = float(np.median(site_weight))
    groups = paying_components(csr_array(covers), weights, price)
    members = np.concatenate(groups)
    assert set(members) == set(np.flatnonzero(site_weight > price))
    cluster = members // 6  # six cells per cluster: a component never spans two clusters
    for group in groups:
        assert len(set(group // 6)) == 1
    assert len(set(cluster)) > 1
    assert [len(g) for g in groups] == sorted((len(g) for g in groups), reverse=True)


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_search_brackets_the_optimum(seed):
    covers, weights = clustered_instance(seed)
    matrix = csr_array(covers)
    for p in (2, 3, 5):
        optimum = best_cover(covers, weights, p)
        _, multiplier = lp_multiplier(matrix, weights, p)
        outcome = lagrangian_search(matrix, weights, p, np.arange(p), multiplier=multiplier, tolerance=1e-9)
        assert len(outcome.sites) == p
        assert outcome.value == pytest.approx(weights[covers[:, outcome.sites].any(axis=1)].sum())
        assert outcome.value <= optimum + 1e-9 <= outcome.bound + 2e-9


@pytest.mark.parametrize("seed", range(3))
def test_a_stopped_first_point_still_leads_to_the_optimum(seed, monkeypatch):
    # the first multiplier's point as the deadline leaves it on a hard instance: not proven, a loose bound and a
    # poor plan. The search must go on from it (not take its bound as a supporting line) and still reach the
    # brute-force optimum
    from siting.models import _coverage_lagrange

    solved = _coverage_lagrange.relaxed_plan
    calls = []

    def first_stopped(covers, weights, p, multiplier, deadline=None, start=None):
        calls.append(deadline)
        point = solved(covers, weights, p, multiplier, deadline, start)
        if len(calls) > 1:
            return point
        return dataclasses.replace(point, bound=point.bound + 10.0, sites=point.sites[:1], proven=False)

    monkeypatch.setattr(_coverage_lagrange, "relaxed_plan", first_stopped)
    covers, weights = clustered_instance(seed)
    matrix = csr_array(covers)
    for p in (2, 3, 5):
        calls.clear()
        optimum = best_cover(covers, weights, p)
        _, multiplier = lp_multiplier(matrix, weights, p)
        outcome = lagrangian_search(matrix, weights, p, np.arange(p), multiplier=multiplier, tolerance=1e-9)
        assert outcome.points >= 2 and calls[0] is not None  # the first point had a deadline of its own
        assert outcome.value <= optimum + 1e-9 <= outcome.bound + 2e-9
        assert outcome.value == pytest.approx(optimum)

@pytest.mark.parametrize("seed", range(6))
def test_mclp_on_clusters_goes_through_the_lagrangian_and_matches_brute_force(seed):
    covers, weights = clustered_instance(seed, integral=seed % 2 == 0)
    cost = np.where(covers, 1.0, np.inf)
    used = 0
    for p in (2, 3, 4):
        result = MCLP.from_cost_matrix(cost, weights=weights, radius=1.0, p=p).solve("highs")
        expected = best_cover(covers, weights, p)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(expected)
        assert result.bound >= expected - 1e-6
        assert len(result.selected) == p
        used += "lagrangian_points" in result.extra
    assert used > 0  # the clusters split: at least one p went through the search


def test_mclp_with_cbc_does_not_use_the_lagrangian():
    covers, weights = clustered_instance(1)
    result = MCLP.from_cost_matrix(np.where(covers, 1.0, np.inf), weights=weights, radius=1.0, p=3).solve("cbc")
    assert result.status == "optimal" and "lagrangian_points" not in result.extra
    assert result.objective == pytest.approx(best_cover(covers, weights, 3))


def test_a_greedy_plan_at_the_lp_bound_is_proven_without_a_solver_run():
    # two clusters, one site each covers its whole cluster (a third straddles them): the greedy plan covers all,
    # which meets the LP bound
    covers = np.zeros((6, 5), dtype=bool)
    covers[:3, 0] = covers[3:, 2] = True
    covers[0, 1] = covers[5, 3] = True
    covers[2:4, 4] = True
    weights = np.array([3.0, 1.0, 2.0, 4.0, 1.0, 2.0])
    result = MCLP.from_cost_matrix(np.where(covers, 1.0, np.inf), weights=weights, radius=1.0, p=2).solve("highs")
    assert result.status == "optimal" and result.objective == pytest.approx(13.0)
    assert result.extra["method"] == "lp bound" and result.extra["lagrangian_points"] == 0
    assert sorted(result.selected) == [0, 2]
