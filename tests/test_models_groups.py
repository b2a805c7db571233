"""The p-median split into far-apart groups (siting.models._groups): bounds and optima against brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from siting.models import PMedian
from siting.models._groups import (
    GroupSolution,
    _link_twins,
    _share_with_twins,
    _Values,
    canonical_orders,
    find_groups,
    split_by_groups,
)
from siting.models._heuristics import greedy_pmedian, interchange_pmedian, pmedian_cost


def brute_force(cost: np.ndarray, weights: np.ndarray, p: int, fixed=()) -> tuple[float, np.ndarray]:
    best = min((float(weights @ cost[:, list(s)].min(axis=1)), s) for s in combinations(range(cost.shape[1]), p)
               if set(fixed) <= set(s))
    return best[0], np.array(best[1], dtype=np.int64)


def brute_group(task):
    value, sites = brute_force(task.cost, task.weights, task.k, tuple(task.fixed))
    return GroupSolution(sites, value, value, True)


def clusters(seed: int, sizes=(6, 5, 5, 4, 3, 1, 1)) -> np.ndarray:
    """Clusters of integer points, each within a 6 × 6 box, the boxes 100 apart; floor distances."""
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.integers(0, 6, size=(n, 2)) + [100 * c, 40 * (c % 2)] for c, n in enumerate(sizes)])
    return np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))


def split(cost, weights, p, fixed=np.array([], dtype=np.int64), deadline=None):
    start = interchange_pmedian(cost, weights, greedy_pmedian(cost, weights, p, fixed), fixed)
    return split_by_groups(cost, weights, p, fixed, start, pmedian_cost(cost, weights, start),
                           threshold=lambda value: value - 1 + 1e-6, deadline=deadline, solve_group=brute_group)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("enumerate_sites", [10, 0])
def test_the_split_proves_the_optimum(seed, enumerate_sites, monkeypatch):
    # with 0 no group is enumerated: Lagrangian bounds and the group solver (brute force here) settle them
    from tests.test_models_pmedian import textbook_optimum

    monkeypatch.setattr("siting.models._groups.ENUMERATE_SITES", enumerate_sites)
    cost = clusters(seed, sizes=(6, 5, 5, 4, 3, 1))
    weights = np.random.default_rng(seed).integers(1, 4, size=len(cost)).astype(float)
    for p in (6, 8):  # a median in every cluster: the best solution's reach stays inside them
        optimum = textbook_optimum(cost * weights[:, None], p)
        outcome = split(cost, weights, p)
        assert outcome is not None
        assert outcome.bound <= optimum + 1e-9
        assert outcome.objective == pytest.approx(optimum)
        assert outcome.proven
        assert weights @ cost[:, outcome.sites].min(axis=1) == pytest.approx(optimum)
        assert len(np.unique(outcome.sites)) == p


def test_existing_sites_stay_open_and_count_in_their_group():
    cost = clusters(5)
    weights = np.ones(len(cost))
    fixed = np.array([0, 1, 20], dtype=np.int64)
    whole = PMedian.from_cost_matrix(cost, p=8, existing=fixed)
    whole.split_groups = False
    reference = whole.solve("highs")
    assert reference.status == "optimal"
    optimum = reference.objective
    outcome = split(cost, weights, 8, fixed)
    assert outcome is not None and outcome.proven
    assert outcome.objective == pytest.approx(optimum)
    assert set(fixed) <= set(outcome.sites.tolist())


@pytest.mark.filterwarnings("error")  # a programme stopped before any bound is known warns of nothing
@pytest.mark.parametrize("enumerate_sites", [10, 0])
def test_out_of_time_the_bound_stays_below_the_optimum(enumerate_sites, monkeypatch):
    monkeypatch.setattr("siting.models._groups.ENUMERATE_SITES", enumerate_sites)
    cost = clusters(6)
    weights = np.ones(len(cost))
    whole = PMedian.from_cost_matrix(cost, p=8)
    whole.split_groups = False
    optimum = whole.solve("highs").objective
    outcome = split(cost, weights, 8, deadline=0.0)
    assert outcome is not None and not outcome.proven
    assert outcome.bound <= optimum + 1e-9 <= outcome.objective + 1e-9


def test_one_cluster_does_not_split():
    cost = clusters(1, sizes=(12,))
    assert split(cost, np.ones(len(cost)), 3) is None


def test_groups_are_the_components_of_the_pairs_within_reach():
    cost = clusters(2, sizes=(4, 3))
    points, sites, n = find_groups(cost, 10.0)
    assert n == 2
    assert (points == sites).all()
    assert points.tolist() == [points[0]] * 4 + [points[4]] * 3


def test_equal_groups_get_equal_matrices_in_canonical_order():
    # a staggered grid, its mirror image and a renumbered copy: equal once reordered, a moved point is not
    grid = np.array([(x + 0.5 * (y % 2), y) for y in range(4) for x in range(5)])
    variants = [grid, grid * [-1, 1], grid[np.random.default_rng(0).permutation(len(grid))]]
    moved = grid.copy()
    moved[3] += [0.0, 0.4]

    def key(points):
        cost = np.floor(3 * np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
        rows, cols = canonical_orders(cost, np.ones(len(points)), np.zeros(len(points), dtype=bool))
        return cost[np.ix_(rows, cols)].tobytes()

    assert len({key(points) for points in variants}) == 1
    assert key(moved) != key(grid)


def test_canonical_orders_give_up_on_many_equal_members_and_keep_the_numbering():
    # 200 co-located points: every member of the one colour would need a turn of its own
    cost = np.zeros((200, 200))
    rows, cols = canonical_orders(cost, np.ones(200), np.zeros(200, dtype=bool))
    assert rows.tolist() == list(range(200)) and cols.tolist() == list(range(200))


def test_pmedian_solves_separated_grids_through_the_groups_as_the_branch_and_cut_does(monkeypatch):
    # four copies of a degenerate staggered grid far apart: every root gap goes to the groups; the
    # branch-and-cut alone (the split switched off) must prove the same optimum
    monkeypatch.setattr("siting.models.pmedian.SPLIT_MIN_GAP", 0.0)
    block = np.array([(2 * x + (y % 2), 2 * y) for y in range(5) for x in range(8)], dtype=float)
    points = np.vstack([block + [60 * c, 0] for c in range(4)])
    cost = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    for p in (30, 32):
        result = PMedian.from_cost_matrix(cost, p=p).solve("highs", time_limit_s=60)
        assert result.status == "optimal"
        assert result.extra["method"] == "separated groups" and result.extra["distinct_groups"] == 1
        whole = PMedian.from_cost_matrix(cost, p=p)
        whole.split_groups = False
        reference = whole.solve("highs", time_limit_s=60)
        assert reference.status == "optimal" and "groups" not in reference.extra
        assert result.objective == pytest.approx(reference.objective)
    assert result.extra["group_solves"] > 0


def test_demand_points_and_sites_apart_with_a_site_far_from_every_point():
    # a rectangular table: every second point a candidate, and the lone point, plus one candidate far from all
    rng = np.random.default_rng(8)
    sizes = (6, 5, 5, 4, 3, 1)
    points = np.vstack([rng.integers(0, 6, size=(n, 2)) + [100 * c, 0] for c, n in enumerate(sizes)])
    sites = np.vstack([points[:-1:2], points[-1:], [[300, 500]]])
    cost = np.floor(np.hypot(*(points[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)))
    weights = rng.integers(1, 4, size=len(points)).astype(float)
    for p in (6, 7):
        optimum, _ = brute_force(cost, weights, p)
        outcome = split(cost, weights, p)
        assert outcome is not None and outcome.proven
        assert outcome.objective == pytest.approx(optimum)


def floor_distances(points: np.ndarray) -> np.ndarray:
    return np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))


def near_twins() -> np.ndarray:
    """Four far-apart groups of 14 points in a 12 × 12 box, A B A B: B is A with one row's largest cost one unit
    higher (a case where exact group solves are needed, and the canonical orders align A and B)."""
    rng = np.random.default_rng(2)
    a = floor_distances(rng.integers(0, 12, size=(14, 2)).astype(float))
    b = a.copy()
    row = rng.integers(14)
    b[row, np.argmax(a[row])] += 1
    cost = np.full((56, 56), 1000.0)
    for c, block in enumerate([a, b, a, b]):
        cost[14 * c:14 * (c + 1), 14 * c:14 * (c + 1)] = block
    return cost


def test_near_twins_prove_the_optimum_with_fewer_solves(monkeypatch):
    from tests.test_models_pmedian import textbook_optimum

    monkeypatch.setattr("siting.models._groups.ENUMERATE_SITES", 0)
    cost = near_twins()
    weights = np.ones(len(cost))
    calls = []

    def counting(task):
        calls.append(task.k)
        return brute_group(task)

    def solves(p):
        calls.clear()
        start = interchange_pmedian(cost, weights, greedy_pmedian(cost, weights, p, np.array([], dtype=np.int64)),
                                    np.array([], dtype=np.int64))
        outcome = split_by_groups(cost, weights, p, np.array([], dtype=np.int64), start,
                                  pmedian_cost(cost, weights, start), threshold=lambda value: value - 1 + 1e-6,
                                  deadline=None, solve_group=counting, workers=1)  # one at a time: the same path
        assert outcome is not None and outcome.proven
        assert outcome.objective == pytest.approx(textbook_optimum(cost, p))
        return len(calls)

    with_twins = [solves(p) for p in (10, 12)]
    monkeypatch.setattr("siting.models._groups.TWIN_ROWS_SHARE", 0.0)
    without = [solves(p) for p in (10, 12)]
    assert all(a < b for a, b in zip(with_twins, without)), (with_twins, without)


@pytest.mark.parametrize("seed", range(6))
def test_a_twin_bound_never_exceeds_the_twin_optimum(seed):
    # B is A with costs moved by one unit up or down in two of twenty rows: A's optima and bounds, carried over,
    # must stay at or below B's own optima, and a carried solution must be B's optimum
    rng = np.random.default_rng(seed)
    a = floor_distances(rng.integers(0, 30, size=(20, 2)).astype(float))
    b = a.copy()
    for row in rng.choice(20, 2, replace=False):
        b[row, rng.choice(20, 3, replace=False)] += rng.choice([-1.0, 1.0], 3)
    weights = rng.integers(1, 3, size=20).astype(float)
    values = [_Values({}, np.full(21, -np.inf), set(), m, weights, np.zeros(20, dtype=bool), family=i)
              for i, m in enumerate((a, b))]
    for v in values:
        v.lower[0] = np.inf
    _link_twins(values)
    assert values[0].family == values[1].family
    for k in range(1, 6):
        optimum, sites = brute_force(a, weights, k)
        values[0].solved[k] = GroupSolution(sites, optimum, optimum, True)
        values[0].lower[k] = optimum
    _share_with_twins(values[0])
    for k in range(1, 6):
        twin_optimum, _ = brute_force(b, weights, k)
        assert values[1].lower[k] <= twin_optimum + 1e-9
        if k in values[1].solved:
            assert values[1].solved[k].value == pytest.approx(twin_optimum)
            assert weights @ b[:, values[1].solved[k].sites].min(axis=1) == pytest.approx(twin_optimum)


def test_a_known_bound_is_trusted_and_a_valid_one_never_changes_the_optimum():
    # a staggered grid that needs the branch-and-cut; a bound at or below the optimum leaves it as it is, and a
    # bound above it (never passed by the groups, which pass proven bounds only) ends the search at the first
    # solution that meets it: the search really stops there
    block = np.array([(2 * x + (y % 2), 2 * y) for y in range(9) for x in range(11)], dtype=float)
    cost = floor_distances(5 * block)
    reference = PMedian.from_cost_matrix(cost, p=21).solve("highs", threads=1)
    assert reference.status == "optimal" and reference.extra["method"] == "benders branch-and-cut"
    assert reference.extra["heuristic_objective"] > reference.objective + 3
    for known in (reference.objective, reference.objective - 5):
        model = PMedian.from_cost_matrix(cost, p=21)
        model.known_bound = known
        result = model.solve("highs", threads=1)
        assert result.status == "optimal" and result.objective == reference.objective
    model = PMedian.from_cost_matrix(cost, p=21)
    model.known_bound = reference.objective + 3
    result = model.solve("highs", threads=1)
    assert reference.objective < result.objective <= reference.objective + 3
    assert result.extra["tree_nodes"] < reference.extra["tree_nodes"]


def test_a_stopped_search_ends_at_once_unproven():
    import threading

    block = np.array([(2 * x + (y % 2), 2 * y) for y in range(9) for x in range(11)], dtype=float)
    cost = floor_distances(5 * block)
    model = PMedian.from_cost_matrix(cost, p=21)
    model.stop = threading.Event()
    model.stop.set()
    result = model.solve("highs", threads=1)
    reference = PMedian.from_cost_matrix(cost, p=21).solve("highs", threads=1)
    assert result.status == "feasible" and result.extra["tree_nodes"] == 0
    assert result.bound <= reference.objective <= result.objective


def test_closing_the_solves_stops_a_running_group_solve():
    # the programme is over while a group's solve runs: closing sets its stop, and the solve ends
    from siting.models._groups import _make_group, _Solves

    cost = clusters(3, sizes=(6, 5))
    point_group, site_group, _ = find_groups(cost, 10.0)
    group = _make_group(cost, np.ones(len(cost)), np.array([], dtype=np.int64), point_group, site_group, 0, {})
    seen = []

    def waits_for_stop(task):
        seen.append(task.stop.wait(timeout=60))
        return brute_group(task)

    solves = _Solves(waits_for_stop, workers=2, deadline=None)
    solves.start([(group, 2)])
    solves.close()
    assert seen == [True]
