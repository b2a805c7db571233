"""PMedian: hand-checkable fixtures, inputs, existing sites, solvers, honest status, OR-Library."""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from siting._errors import DataError, InfeasibleError
from siting.models import PMedian, read_orlib_pmedian

ORLIB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "orlib-pmed"

# 5 demand points on a line at x = 0, 1, 2, 10, 11; 3 sites at x = 1, 6, 10.
DEMAND_X = np.array([0.0, 1.0, 2.0, 10.0, 11.0])
SITE_X = np.array([1.0, 6.0, 10.0])
WEIGHTS = np.array([1.0, 2.0, 1.0, 3.0, 1.0])
COST = np.abs(DEMAND_X[:, None] - SITE_X[None, :])



def textbook_optimum(cost: np.ndarray, p: int) -> float:
    """The p-median optimum by HiGHS on the textbook model (every assignment a variable), gap 10⁻⁹."""
    import pulp

    n = len(cost)
    problem = pulp.LpProblem("textbook", pulp.LpMinimize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(n)]
    x = {(i, j): pulp.LpVariable(f"x{i}_{j}", lowBound=0) for i in range(n) for j in range(n)}
    problem += pulp.lpSum(cost[i, j] * x[i, j] for i, j in x)
    problem += pulp.lpSum(y) == p
    for i in range(n):
        problem += pulp.lpSum(x[i, j] for j in range(n)) == 1
    for (i, j), var in x.items():
        problem += var <= y[j]
    problem.solve(pulp.HiGHS(msg=False, gapRel=1e-9))
    return float(pulp.value(problem.objective))

def brute_force(cost: np.ndarray, weights: np.ndarray, p: int, fixed: tuple = ()) -> float:
    return min(weights @ cost[:, list(s)].min(axis=1)
               for s in combinations(range(cost.shape[1]), p) if set(fixed) <= set(s))


def test_hand_fixture_p2():
    # by hand: sites at 1 and 10 serve 1·1 + 0 + 1·1 + 0 + 1·1 = 3
    result = PMedian.from_cost_matrix(COST, p=2, weights=WEIGHTS).solve()
    assert result.status == "optimal"
    assert result.objective == pytest.approx(3.0)
    assert sorted(result.selected) == [0, 2]
    assert result.bound == pytest.approx(3.0)
    assert result.assignment["site_id"].tolist() == [0, 0, 0, 2, 2]
    assert result.sites.set_index("site_id").loc[2, "load"] == pytest.approx(4.0)


def test_hand_fixture_p1_and_brute_force():
    # p = 1: site at 6 costs 6+10+4+12+5 = 37; site at 1: 1+0+1+27+10 = 39; site at 10: 10+18+8+0+1 = 37 → 37
    result = PMedian.from_cost_matrix(COST, p=1, weights=WEIGHTS).solve()
    assert result.objective == pytest.approx(37.0) == brute_force(COST, WEIGHTS, 1)
    assert result.status == "optimal"


def test_existing_site_is_kept_and_counts_towards_p():
    result = PMedian.from_cost_matrix(COST, p=2, weights=WEIGHTS, existing=[1]).solve()
    assert 1 in result.selected and len(result.selected) == 2
    assert result.objective == pytest.approx(brute_force(COST, WEIGHTS, 2, fixed=(1,)))
    assert result.sites.set_index("site_id").loc[1, "existing"]


def test_random_instances_match_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(5):
        cost = rng.integers(1, 50, size=(30, 9)).astype(float)
        weights = rng.integers(1, 5, size=30).astype(float)
        for p in (2, 3):
            result = PMedian.from_cost_matrix(cost, p=p, weights=weights).solve()
            assert result.status == "optimal"
            assert result.objective == pytest.approx(brute_force(cost, weights, p))


def test_long_table_agrees_with_dense():
    frame = pd.DataFrame(COST, index=[f"d{i}" for i in range(5)], columns=["a", "b", "c"])
    long = frame.stack().rename("cost").rename_axis(["demand_id", "site_id"]).reset_index()
    dense = PMedian.from_cost_matrix(frame, p=2, weights=WEIGHTS).solve()
    sparse = PMedian.from_cost_matrix(long, p=2, weights=WEIGHTS).solve()
    assert dense.objective == pytest.approx(sparse.objective)
    assert sorted(dense.selected) == sorted(sparse.selected) == ["a", "c"]


def test_sparse_table_respects_missing_pairs():
    # point 1 reaches only "a", point 3 only "c", point 4 only "b": all three must open
    long = pd.DataFrame({"demand_id": [0, 0, 1, 2, 2, 3, 4], "site_id": ["a", "b", "a", "a", "c", "c", "b"],
                         "cost": [1.0, 5.0, 1.0, 2.0, 1.0, 1.0, 9.0]})
    result = PMedian.from_cost_matrix(long, p=3).solve()
    assert sorted(result.selected) == ["a", "b", "c"]
    assert result.objective == pytest.approx(1 + 1 + 1 + 1 + 9)
    with pytest.raises(InfeasibleError, match="p=2"):
        PMedian.from_cost_matrix(long, p=2).solve()


def test_unreachable_demand_point_is_named():
    long = pd.DataFrame({"demand_id": ["x", "y"], "site_id": ["a", "b"], "cost": [1.0, np.inf]})
    with pytest.raises(InfeasibleError, match="y"):
        PMedian.from_cost_matrix(long, p=1, demand_ids=["x", "y"], site_ids=["a", "b"]).solve()


def test_cbc_solves_too():
    result = PMedian.from_cost_matrix(COST, p=2, weights=WEIGHTS).solve("cbc")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(3.0)
    assert result.solver == "cbc"


def test_p_too_large_or_too_small():
    with pytest.raises(InfeasibleError, match="exceeds"):
        PMedian.from_cost_matrix(COST, p=4)
    with pytest.raises(ValueError, match="at least 1"):
        PMedian.from_cost_matrix(COST, p=0)


def test_geodataframes_in_metres():
    crs = "EPSG:32651"
    demand = gpd.GeoDataFrame({"w": WEIGHTS}, geometry=[Point(x * 1000, 0) for x in DEMAND_X], crs=crs)
    sites = gpd.GeoDataFrame({"name": ["s1", "s6", "s10"], "old": [False, False, False]},
                             geometry=[Point(x * 1000, 0) for x in SITE_X], crs=crs)
    result = PMedian.from_geodataframes(demand, sites, p=2, weight_col="w", site_id_col="name",
                                        existing_col="old").solve()
    assert result.objective == pytest.approx(3000.0)
    assert sorted(result.selected) == ["s1", "s10"]


def test_geographic_crs_is_refused():
    demand = gpd.GeoDataFrame(geometry=[Point(120.3, 36.1)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame(geometry=[Point(120.4, 36.0)], crs="EPSG:4326")
    with pytest.raises(DataError, match="geographic CRS"):
        PMedian.from_geodataframes(demand, sites, p=1)
    assert issubclass(DataError, ValueError)


def test_status_never_claims_optimal_without_proof():
    # a tiny time limit: whatever comes back is either proven or labelled feasible with its bound
    instance_path = ORLIB / "pmed16.txt"
    if not instance_path.exists():
        pytest.skip(f"OR-Library instances not found at {ORLIB}")
    instance = read_orlib_pmedian(instance_path)
    result = PMedian.from_cost_matrix(instance.distance, p=instance.p).solve(time_limit_s=0.01)
    assert result.status in ("optimal", "feasible")
    if result.status == "feasible":
        assert result.bound is None or result.bound < result.objective
    else:
        assert result.gap is not None and result.gap <= 1e-4
    assert result.objective >= 8162  # never below the proven optimum


@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5"])
def test_orlib_small_instances_reach_proven_optimum(name):
    if not (ORLIB / f"{name}.txt").exists():
        pytest.skip(f"OR-Library instances not found at {ORLIB} (../shared/benchmarks/orlib-pmed beside the repo)")
    optima = pd.read_csv(ORLIB / "optima.csv").set_index("instance")["optimal_cost"]
    instance = read_orlib_pmedian(ORLIB / f"{name}.txt")
    result = PMedian.from_cost_matrix(instance.distance, p=instance.p).solve()
    assert result.status == "optimal"
    assert result.objective == optima[name]
    assert len(result.selected) == instance.p


def test_orlib_reader_last_repeated_edge_counts(tmp_path):
    path = tmp_path / "tiny.txt"
    # edge 1-2 appears twice: the last line (cost 7) counts, not the first (3) nor the sum
    path.write_text("3 3 1\n1 2 3\n2 3 4\n2 1 7\n")
    instance = read_orlib_pmedian(path)
    assert instance.p == 1
    assert instance.distance[0, 1] == 7
    assert instance.distance[0, 2] == 11


def test_tree_search_matches_brute_force_on_fractional_and_integral_costs():
    # the Lagrangian tree search (few medians) prunes with "one unit better" for integral data and with half the
    # optimality tolerance otherwise: both must land on the brute-force optimum, existing sites kept
    rng = np.random.default_rng(11)
    for trial in range(12):
        cost = rng.uniform(0.0, 40.0, size=(25, 10))
        if trial % 2:
            cost = np.round(cost)
        weights = rng.integers(1, 6, size=25).astype(float)
        p = 2 + trial % 3
        fixed = (int(rng.integers(10)),) if trial % 4 == 3 else ()
        result = PMedian.from_cost_matrix(cost, p=p, weights=weights, existing=list(fixed)).solve()
        assert result.status == "optimal"
        assert result.objective == pytest.approx(brute_force(cost, weights, p, fixed), rel=1e-4)
        assert result.bound <= result.objective + 1e-9
        assert set(fixed) <= set(result.selected) and len(result.selected) == p


def test_tree_search_out_of_time_reports_a_valid_bound():
    from siting.models._lagrangian import lagrangian_reduction, tree_search

    rng = np.random.default_rng(3)
    cost = rng.integers(1, 100, size=(40, 12)).astype(float)
    weights = np.ones(40)
    optimum = brute_force(cost, weights, 3)
    start = np.array([0, 1, 2])
    upper = float(weights @ cost[:, start].min(axis=1))
    none = np.array([], dtype=np.int64)
    reduction = lagrangian_reduction(cost, weights, 3, none, upper, cost[:, start].min(axis=1), threshold=upper - 1)
    stopped = tree_search(cost, weights, 3, none, reduction.closed, start, reduction.multipliers,
                          threshold=lambda objective: objective - 1 + 1e-6, deadline=0.0)
    assert not stopped.complete and stopped.lower_bound <= optimum <= stopped.objective
    finished = tree_search(cost, weights, 3, none, reduction.closed, start, reduction.multipliers,
                           threshold=lambda objective: objective - 1 + 1e-6)
    assert finished.complete and finished.objective == optimum


def test_the_result_names_the_method_that_proved_it():
    result = PMedian.from_cost_matrix(COST, p=2, weights=WEIGHTS).solve("highs")
    if result.extra.get("method") == "lagrangian tree search":
        assert result.solver == "lagrangian tree search"  # no MIP solver ran
    else:
        assert result.solver == "highs"


def test_sorted_costs_never_miss_a_pair_below_the_multiplier():
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(4)
    weighted = np.floor(rng.uniform(0, 1e6, size=(50, 40)))
    costs = SortedCosts(weighted)
    for lam in (rng.uniform(0, 1e6, 50), weighted[:, 7].copy(), np.zeros(50), np.full(50, 2e6)):
        rows, sites, reduced = costs.below(lam)
        expected = {(i, j) for i, j in zip(*np.nonzero(weighted < lam[:, None]))}
        found = {(i, j) for i, j, r in zip(rows, sites, reduced) if r < 0}
        assert found == expected
        assert np.allclose(reduced, weighted[rows, sites] - lam[rows])



@pytest.mark.parametrize("p", [1, 2, 6, 14, 60])
def test_interchange_ends_at_a_swap_local_optimum(p):
    # every single swap is tried by brute force at the end: none improves. Few medians take the dense
    # site × site-out table, many the sparse one; integer grid costs give ties, weights of zero and fixed sites
    from siting.models._heuristics import greedy_pmedian, interchange_pmedian, pmedian_cost

    rng = np.random.default_rng(p)
    n = 40 if p < 30 else 200
    for trial in range(4):
        points = rng.integers(0, 6 if p < 30 else 15, size=(n, 2)) if trial % 2 else rng.uniform(0, 100, size=(n, 2))
        cost = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
        weights = rng.integers(0, 4, size=n).astype(float)
        fixed = np.array([trial], dtype=np.int64) if trial >= 2 else np.array([], dtype=np.int64)
        start = greedy_pmedian(cost, weights, p, fixed)
        local = interchange_pmedian(cost, weights, start, fixed)
        value = pmedian_cost(cost, weights, local)
        assert len(local) == p and len(np.unique(local)) == p and set(fixed) <= set(local)
        assert value <= pmedian_cost(cost, weights, start) + 1e-9
        best_swap = min((pmedian_cost(cost, weights, np.append(local[local != out], new))
                         for out in local if out not in fixed for new in range(n) if new not in local),
                        default=value)
        assert best_swap >= value - 1e-9


def test_best_swap_agrees_between_the_dense_and_the_sparse_table():
    from siting.models._heuristics import _best_swap

    rng = np.random.default_rng(3)
    for n_pairs in (5, 60, 3000):  # few pairs: the sparse table; many: the dense one
        gain, loss = rng.uniform(0, 50, 80), rng.uniform(0, 60, 12)
        pair_in, pair_out = rng.integers(0, 80, n_pairs), rng.integers(0, 12, n_pairs)
        correction = -rng.uniform(0, 20, n_pairs)
        open_sites = np.arange(0, 80, 7)
        table = loss[None, :] - gain[:, None]
        np.add.at(table, (pair_in, pair_out), correction)
        table[open_sites] = np.inf
        j_in, k_out, change = _best_swap(gain, loss, pair_in, pair_out, correction, open_sites)
        assert change == pytest.approx(table.min()) and table[j_in, k_out] == pytest.approx(change)

@pytest.mark.parametrize("slack", [0.0, 1e9])  # the pairs listed one by one, or read as a block of rows
def test_served_counts_agree_between_the_pairs_and_the_chosen_columns(slack, monkeypatch):
    # the ascent counts, per demand point, the chosen sites cheaper than its multiplier either from the pairs
    # below λ or (few medians) from the chosen sites' columns: both must give the same subgradient
    from siting.models import _sorted
    from siting.models._sorted import SortedCosts

    monkeypatch.setattr(_sorted, "WINDOW_SLACK", slack)

    rng = np.random.default_rng(9)
    weighted = np.floor(rng.uniform(0, 1000, size=(60, 45)))
    costs = SortedCosts(weighted)
    for lam in (rng.uniform(0, 1000, 60), weighted[:, 3].copy(), np.full(60, 500.0)):
        v, pairs = costs.reduced_sums(lam)
        np.testing.assert_allclose(v, np.minimum(weighted - lam[:, None], 0.0).sum(axis=0))
        chosen = np.zeros(45, dtype=bool)
        chosen[rng.choice(45, 7, replace=False)] = True
        chosen[3] = True  # a site whose cost equals λ for the second λ: not counted by either
        np.testing.assert_array_equal(costs.served(pairs, chosen),
                                      np.count_nonzero(weighted[:, chosen] < lam[:, None], axis=1))


def test_many_medians_match_the_assignment_model():
    # p above the tree search's range: the root Lagrangian proof or the reduced radius model must agree with the
    # textbook assignment formulation solved by HiGHS on TSPLIB-style data (floor of Euclidean distances)
    import pulp

    rng = np.random.default_rng(17)
    points = rng.integers(0, 1000, size=(45, 2))
    cost = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    for p in (21, 30):
        problem = pulp.LpProblem("assign", pulp.LpMinimize)
        n = len(cost)
        y = [pulp.LpVariable(f"y{j}", cat=pulp.LpBinary) for j in range(n)]
        x = {(i, j): pulp.LpVariable(f"x{i}_{j}", lowBound=0) for i in range(n) for j in range(n)}
        problem += pulp.lpSum(cost[i, j] * x[i, j] for i, j in x)
        for i in range(n):
            problem += pulp.lpSum(x[i, j] for j in range(n)) == 1
            for j in range(n):
                problem += x[i, j] <= y[j]
        problem += pulp.lpSum(y) == p
        problem.solve(pulp.HiGHS(msg=False))
        result = PMedian.from_cost_matrix(cost, p=p).solve()
        assert result.status == "optimal"
        assert result.objective == pytest.approx(pulp.value(problem.objective))


def _textbook_lp(cost: np.ndarray, p: int) -> float:
    """The LP relaxation of the assignment formulation (x_ij ≤ y_j), by HiGHS through scipy."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    n_demand, n_sites = cost.shape
    n_x = n_demand * n_sites
    i, j = np.divmod(np.arange(n_x), n_sites)
    assign = coo_array((np.ones(n_x), (i, np.arange(n_x))), shape=(n_demand, n_x + n_sites))
    count = coo_array((np.ones(n_sites), (np.zeros(n_sites, dtype=int), n_x + np.arange(n_sites))),
                      shape=(1, n_x + n_sites))
    link = coo_array((np.r_[np.ones(n_x), -np.ones(n_x)], (np.r_[np.arange(n_x), np.arange(n_x)],
                                                           np.r_[np.arange(n_x), n_x + j])),
                     shape=(n_x, n_x + n_sites))
    result = linprog(np.r_[cost.ravel(), np.zeros(n_sites)], A_ub=link, b_ub=np.zeros(n_x),
                     A_eq=vstack([assign, count]), b_eq=np.r_[np.ones(n_demand), p], bounds=(0, 1), method="highs")
    return float(result.fun)


def test_benders_cut_loop_reaches_the_lp_bound_and_its_multipliers_give_it_back():
    from siting.models._benders import lp_bound_by_cuts
    from siting.models._lagrangian import _evaluate
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(21)
    for trial in range(4):
        cost = rng.uniform(0.0, 50.0, size=(30, 18))
        if trial % 2:
            cost = np.floor(cost)
        p = 3 + trial
        costs = SortedCosts(cost)
        none = np.zeros(18, dtype=bool)
        loop = lp_bound_by_cuts(costs, p, np.array([], dtype=np.int64), none, np.arange(p))
        assert loop.converged
        assert loop.lower_bound == pytest.approx(_textbook_lp(cost, p), rel=1e-6)
        lagrangian = _evaluate(costs, loop.multipliers, none, none, p)[0]
        assert lagrangian == pytest.approx(loop.lower_bound, rel=1e-6)


@pytest.mark.parametrize("strong_candidates", [0, 4, 8])
def test_benders_branch_and_cut_matches_brute_force(strong_candidates):
    # fractional and integral costs, weights, a site forced open and one ruled out beforehand; branching on the
    # most fractional site and by reliability branching (which may fix sites when a child's LP is pruned)
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(5)
    branched = 0
    for trial in range(10):
        cost = rng.uniform(0.0, 40.0, size=(28, 11))
        integral = trial % 2 == 1
        if integral:
            cost = np.round(cost)
        weights = rng.integers(1, 6, size=28).astype(float)
        p = 2 + trial % 3
        fixed = np.array([trial % 11]) if trial % 4 == 3 else np.array([], dtype=np.int64)
        closed = np.zeros(11, dtype=bool)
        optimum = brute_force(cost, weights, p, tuple(fixed))
        if trial % 5 == 4:  # (no fixed site in these trials)
            # rule out a site that an optimal solution does without, as the root reduction would
            spare = next(j for j in range(11)
                         if brute_force(np.delete(cost, j, axis=1), weights, p) <= optimum + 1e-9)
            closed[spare] = True
        start = np.r_[fixed, [j for j in range(11) if j not in fixed and not closed[j]][:p - len(fixed)]]
        tolerance = (lambda objective: objective - 1 + 1e-6) if integral else (lambda objective: objective - 1e-9)
        found = branch_and_cut(cost, weights, SortedCosts(weights[:, None] * cost), p, fixed, closed,
                               start.astype(np.int64), threshold=tolerance, strong_candidates=strong_candidates)
        branched += found.nodes > 1
        assert found.complete
        assert found.objective == pytest.approx(optimum, rel=1e-9)
        assert found.lower_bound <= found.objective + 1e-9
        assert set(fixed) <= set(found.sites) and len(found.sites) == p
    assert branched  # the trials exercise the branching rule, not only the root


def _integral_instances(seed: int, trials: int = 8):
    """(trial, cost, weights, p, optimum) of small random p-medians with integral costs, 40 points × 16 sites."""
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        cost = np.round(rng.uniform(0.0, 40.0, size=(40, 16)))
        weights = rng.integers(1, 6, size=40).astype(float)
        p = 3 + trial % 3
        yield trial, cost, weights, p, brute_force(cost, weights, p)


@pytest.mark.parametrize("strong_candidates", [0, 4, 8])
def test_branch_and_cut_going_on_from_the_lowest_bound_matches_brute_force(strong_candidates):
    # when a dive ends, the search may go on from the waiting node of lowest bound instead of the last one
    # pushed (each node restarts from its parent's basis either way): the same optimum, and the jumps happen
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    none = np.array([], dtype=np.int64)
    jumped = 0
    for _, cost, weights, p, optimum in _integral_instances(seed=5):
        found = {}
        for plunge in (False, True):
            found[plunge] = branch_and_cut(cost, weights, SortedCosts(weights[:, None] * cost), p, none,
                                           np.zeros(16, dtype=bool), np.arange(p),
                                           threshold=lambda objective: objective - 1 + 1e-6,
                                           strong_candidates=strong_candidates, plunge=plunge, master_mip_s=0.0)
            assert found[plunge].complete
            assert found[plunge].objective == pytest.approx(optimum)
        assert found[False].jumps == 0
        jumped += found[True].jumps
    assert jumped > 0


@pytest.mark.parametrize("strong_candidates", [0, 4, 8])
def test_branch_and_cut_with_two_workers_matches_brute_force(strong_candidates):
    # the second worker starts right after the root; a worker with an empty stack gets the other's oldest node
    # with a copy of its master LP: the same optimum, a valid bound, and the second worker does solve nodes
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    none = np.array([], dtype=np.int64)
    helped = 0
    for trial, cost, weights, p, optimum in _integral_instances(seed=11):
        found = branch_and_cut(cost, weights, SortedCosts(weights[:, None] * cost), p, none,
                               np.zeros(16, dtype=bool), np.arange(p), threshold=lambda objective: objective - 1 + 1e-6,
                               strong_candidates=strong_candidates, plunge=trial % 2 == 0, master_mip_s=0.0,
                               workers=2, second_worker_after_s=0.0)
        assert found.complete
        assert found.objective == pytest.approx(optimum)
        assert found.lower_bound <= found.objective + 1e-9
        assert float(weights @ cost[:, found.sites].min(axis=1)) == pytest.approx(optimum)
        assert found.second_worker_nodes <= found.nodes
        helped += found.second_worker_nodes
    assert helped > 0


def test_two_workers_out_of_time_report_a_valid_bound():
    # stopped while both workers branch: the open nodes of both stacks bound what is left
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    cost = _grid_costs(9, 8, 5)
    n = len(cost)
    weights = np.ones(n)
    p = 20
    optimum = textbook_optimum(cost, p)
    for seconds in (0.05, 0.3):
        stopped = branch_and_cut(cost, weights, SortedCosts(cost), p, np.array([], dtype=np.int64),
                                 np.zeros(n, dtype=bool), np.arange(p), threshold=lambda objective: objective - 1 + 1e-6,
                                 deadline=time.perf_counter() + seconds, master_mip_s=0.0, workers=2,
                                 second_worker_after_s=0.0)
        assert stopped.lower_bound <= optimum + 1e-6 <= stopped.objective + 2e-6


def test_benders_branch_and_cut_out_of_time_reports_a_valid_bound():
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(8)
    cost = rng.integers(1, 100, size=(40, 12)).astype(float)
    weights = np.ones(40)
    optimum = brute_force(cost, weights, 3)
    none = np.array([], dtype=np.int64)
    stopped = branch_and_cut(cost, weights, SortedCosts(cost), 3, none, np.zeros(12, dtype=bool),
                             np.array([0, 1, 2]), threshold=lambda objective: objective - 1 + 1e-6, deadline=0.0)
    assert not stopped.complete and stopped.lower_bound <= optimum <= stopped.objective


def test_many_medians_go_through_branch_and_cut_and_match_highs():
    # p above the tree search's range: the Benders branch-and-cut must agree with HiGHS on the textbook model

    rng = np.random.default_rng(2)
    points = np.round(rng.normal(0, 30, size=(90, 2)) + rng.integers(0, 4, size=(90, 1)) * 80)
    cost = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    p = 24
    result = PMedian.from_cost_matrix(cost, p=p).solve("highs")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(textbook_optimum(cost, p))
    assert result.extra.get("method") in (None, "benders branch-and-cut")


def test_a_wide_root_gap_hands_the_branch_and_cut_over_to_the_tree_search(monkeypatch):
    # with no gap tolerated at the branch-and-cut's root, every few-median instance is finished by the Lagrangian
    # tree search from the root LP's multipliers: it must still land on the brute-force optimum
    import siting.models.pmedian as pmedian_module

    monkeypatch.setattr(pmedian_module, "TREE_MIN_GAP", 0.0)
    rng = np.random.default_rng(13)
    handed = 0
    for trial in range(8):
        cost = rng.uniform(0.0, 40.0, size=(26, 10))
        if trial % 2:
            cost = np.round(cost)
        weights = rng.integers(1, 6, size=26).astype(float)
        p = 2 + trial % 3
        result = PMedian.from_cost_matrix(cost, p=p, weights=weights).solve("highs")
        assert result.status == "optimal"
        assert result.objective == pytest.approx(brute_force(cost, weights, p), rel=1e-4)
        handed += "root_lp_bound" in result.extra
    assert handed > 0


def _grid_costs(side_x: int, side_y: int, repeated: int = 0) -> np.ndarray:
    """Floor distances on a regular grid (very many equal costs), some nodes repeated."""
    points = np.stack(np.meshgrid(np.arange(side_x) * 10, np.arange(side_y) * 10), axis=-1).reshape(-1, 2)
    points = np.vstack([points, points[:repeated]])
    return np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))


def _root_master(cost: np.ndarray, p: int, start: np.ndarray):
    """The Benders master after its root cut loop (no violated cut left), with its last LP solution."""
    from siting.models._benders import _Master
    from siting.models._sorted import SortedCosts

    n = cost.shape[1]
    master = _Master(SortedCosts(cost), p, np.array([], dtype=np.int64), np.zeros(n, dtype=bool), start, 1e-7)
    while True:
        bound, y, theta, _ = master.solve()
        if not master.add_violated(y, theta):
            return master, bound


def test_master_mip_finds_and_proves_the_optimum_on_degenerate_grids():
    # HiGHS's branch-and-bound on the root master, started from a poor solution, must reach the brute-force
    # optimum and prove it (many equal distances: the LP is degenerate, the root gap a few units)
    from siting.models._benders import _master_mip_model, _run_master_mip

    for side_x, side_y, repeated, p in ((5, 5, 0, 3), (6, 4, 2, 4), (5, 4, 3, 5)):
        cost = _grid_costs(side_x, side_y, repeated)
        n = len(cost)
        weights = np.ones(n)
        optimum = brute_force(cost, weights, p)
        poor = np.arange(p)  # the first nodes: one corner of the grid
        master, bound = _root_master(cost, p, poor)
        assert bound <= optimum + 1e-6
        threshold = lambda objective: objective - 1 + 1e-6  # integral costs
        poor_value = float(weights @ cost[:, poor].min(axis=1))
        lower, upper = master.lower.copy(), master.upper.copy()
        bounds = []
        proven, value, sites = _run_master_mip(_master_mip_model(master, lower, upper), lower, upper, master, cost,
                                               weights, poor_value, poor, threshold, deadline=np.inf,
                                               bounded=bounds.append)
        assert proven
        # HiGHS's dual bound after each MIP is a lower bound on the p-median, and the last one proves it
        assert bounds and max(bounds) <= optimum + 1e-6 and bounds[-1] > threshold(optimum)
        assert value == pytest.approx(optimum)
        assert len(sites) == p and float(weights @ cost[:, sites].min(axis=1)) == pytest.approx(optimum)


def test_branch_and_cut_agrees_with_and_without_the_master_mip_on_grids():
    # the same optimum whether HiGHS's branch-and-bound on the root master settles the instance or our own search
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    for side_x, side_y, repeated, p in ((6, 5, 2, 4), (7, 4, 0, 6), (5, 5, 4, 7)):
        cost = _grid_costs(side_x, side_y, repeated)
        n = len(cost)
        weights = np.ones(n)
        optimum = brute_force(cost, weights, p) if p <= 4 else None
        found = []
        for seconds in (0.0, 30.0):
            result = branch_and_cut(cost, weights, SortedCosts(cost), p, np.array([], dtype=np.int64),
                                    np.zeros(n, dtype=bool), np.arange(p), threshold=lambda o: o - 1 + 1e-6,
                                    master_mip_s=seconds, master_mip_after_s=0.0)
            assert result.complete and result.lower_bound <= result.objective + 1e-9
            found.append(result.objective)
        assert found[0] == pytest.approx(found[1])
        if optimum is not None:
            assert found[0] == pytest.approx(optimum)


def test_many_medians_on_a_grid_match_highs():
    # a degenerate grid at many medians against HiGHS on the textbook model

    cost = _grid_costs(8, 6, 3)
    p = 24  # above the tree search's range: the branch-and-cut (and its master MIP) runs
    result = PMedian.from_cost_matrix(cost, p=p).solve("highs")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(textbook_optimum(cost, p))


@pytest.mark.parametrize("support", [4, 30, 200])
def test_both_cut_separations_find_the_most_violated_cut(support):
    # the closed form of the subproblem (serve the point by its cheapest sites until y adds up to 1), written
    # out densely, against the two ways the master finds it: among the support's sites, and by sorted prefix
    from siting.models._benders import _Master, _most_violated, _most_violated_by_prefix
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(support)
    n = 240
    points = rng.integers(0, 500, (n, 2))
    cost = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    weights = rng.integers(1, 4, n).astype(float)
    costs = SortedCosts(weights[:, None] * cost)
    master = _Master(costs, 5, np.array([], dtype=int), np.zeros(n, dtype=bool), np.arange(5), 1e-7)
    y = np.zeros(n)
    y[rng.choice(n, support, replace=False)] = rng.random(support)
    y = np.minimum(y * (min(support, 20) / y.sum()), 1.0)
    theta = rng.random(n) * 50
    expected_level = np.empty(n)
    expected_violation = np.empty(n)
    for i in range(n):
        row = weights[i] * cost[i]
        order = np.argsort(row, kind="stable")
        reach = np.flatnonzero(np.cumsum(y[order]) >= 1.0 - 1e-9)
        level = row[order[reach[0]]] if len(reach) else row.max()
        expected_level[i] = level
        expected_violation[i] = level - (np.maximum(level - row, 0.0) * y).sum() - theta[i]
    for level, violation in (_most_violated(master.values, master.rank, y, theta),
                             _most_violated_by_prefix(master.values, master.order, y, theta, first_width=4)):
        np.testing.assert_allclose(level, expected_level)
        np.testing.assert_allclose(violation, expected_violation, atol=1e-9)


def test_purging_slack_cuts_keeps_the_lp_and_every_saved_basis():
    # deleting the cuts basic in the current basis and in a saved one: the current LP optimum stays, the saved
    # basis still restarts its node, and that node's LP is no stronger than before (fewer cuts, same bounds)
    cost = _grid_costs(8, 6, 3)
    n = len(cost)
    master, root = _root_master(cost, 6, np.arange(6))
    saved = master.basis()
    _, y, _, _ = master.solve()
    site = int(np.argmin(np.abs(y - 0.5)))
    lower, upper = master.lower.copy(), master.upper.copy()
    closed = upper.copy()
    closed[site] = 0.0
    master.set_site_bounds(lower, closed)
    master.restore(saved)
    closed_value = master.solve()[0]
    opened = lower.copy()
    opened[site] = 1.0
    master.set_site_bounds(opened, upper)
    open_value = master.solve()[0]
    rows = master.highs.getNumRow()
    assert master.purge_slack([saved], deadline=time.perf_counter() - 1.0) == 0  # out of time: nothing deleted
    assert master.highs.getNumRow() == rows
    deleted = master.purge_slack([saved])
    assert deleted > 0 and master.highs.getNumRow() == rows - deleted == len(saved.rows)
    assert master.solve()[0] == pytest.approx(open_value)  # slack rows: the optimum does not move
    master.set_site_bounds(lower, closed)
    master.restore(saved)
    assert master.solve()[0] <= closed_value + 1e-6
    assert len(np.concatenate(master.cut_demand)) == master.highs.getNumRow() - 1
    demand, level = master.every_cut()  # the deleted cuts are kept for HiGHS's MIP
    assert len(demand) >= master.highs.getNumRow() - 1 and np.all(demand < n)



def test_region_rows_bind_only_at_their_nodes_and_survive_a_purge():
    # a region row Σ_{j ∈ S} y_j is free unless the node names it; its bounds follow the node through purges of
    # the slack cuts before it, and a probe leaves them as they were
    cost = _grid_costs(8, 6, 3)
    master, root = _root_master(cost, 6, np.arange(6))
    _, y, _, _ = master.solve()
    order = np.argsort(cost, axis=1)[:, :9]
    sums = y[order].sum(axis=1)
    point = int(np.argmax(np.minimum(sums % 1.0, 1.0 - sums % 1.0)))
    sites = np.sort(order[point])
    floor = float(np.floor(sums[point]))
    assert floor < sums[point] < floor + 1.0  # a fractional region at the root
    region = master.region(sites)
    assert master.region(sites.copy()) == region  # one row per set of sites
    assert master.solve()[0] == pytest.approx(root)  # free: the LP as before
    basis = master.basis()
    probed, proven = master.probe_region(region, -np.inf, floor, 10**6, None)
    master.restore(basis)
    assert proven and probed >= root - 1e-7
    assert master.solve()[0] == pytest.approx(root)  # the probe's bounds are gone again
    master.set_region_bounds(((region, floor + 1.0, np.inf),))
    up, y_up, _, _ = master.solve()
    assert y_up[sites].sum() >= floor + 1.0 - 1e-7 and up >= root - 1e-7
    assert master.probe_region(region, -np.inf, floor, 10**6, None) == (np.inf, True)  # within the node's bounds
    assert master.purge_slack([]) > 0  # rows before the region row go: its index moves
    assert master.solve()[0] == pytest.approx(up)
    master.set_region_bounds(((region, -np.inf, floor), (region, -np.inf, floor + 5.0)))  # intersected
    down, y_down, _, _ = master.solve()
    assert y_down[sites].sum() <= floor + 1e-7 and root - 1e-7 <= down <= probed + 1e-7  # fewer cuts: no higher
    master.set_region_bounds(())
    assert master.solve()[0] == pytest.approx(root)


@pytest.mark.parametrize("workers", [1, 2])
def test_region_branching_keeps_the_branch_and_cut_exact(workers, monkeypatch):
    # grids whose LP bound lies below the optimum, without HiGHS's cuts: branching on the number of medians among
    # a point's nearest sites as well as on single sites proves the textbook optimum, and is used
    from siting.models import _benders
    from siting.models._sorted import SortedCosts

    branches = {}
    for candidates in (0, _benders.REGION_CANDIDATES):
        monkeypatch.setattr(_benders, "REGION_CANDIDATES", candidates)
        branches[candidates] = 0
        for side_x, side_y, repeated, p in ((6, 6, 0, 7), (6, 6, 0, 8), (9, 5, 0, 9), (8, 6, 3, 9)):
            cost = _grid_costs(side_x, side_y, repeated)
            n = len(cost)
            result = _benders.branch_and_cut(cost, np.ones(n), SortedCosts(cost), p, np.array([], dtype=np.int64),
                                             np.zeros(n, dtype=bool), np.arange(p),
                                             threshold=lambda o: o - 1 + 1e-6, master_mip_s=0.0,
                                             highs_cut_rounds=0, workers=workers, second_worker_after_s=0.0)
            assert result.complete and result.objective == pytest.approx(textbook_optimum(cost, p))
            assert result.lower_bound <= result.objective + 1e-9
            branches[candidates] += result.region_branches
    assert branches[0] == 0 and branches[_benders.REGION_CANDIDATES] > 0


def test_a_node_lp_stops_once_its_bound_passes_the_limit():
    # HiGHS's objective bound: a child LP whose optimum lies above the limit stops early with a value above the
    # limit and at most its optimum; with the limit above the optimum it ends at the optimum; strong
    # branching's probe counts a child stopped so as proven above the limit
    cost = _grid_costs(8, 6, 3)
    master, root = _root_master(cost, 6, np.arange(6))
    saved = master.basis()
    _, y, _, _ = master.solve()
    lower, upper = master.lower.copy(), master.upper.copy()
    children = []
    for site in np.flatnonzero(y < 1 - 1e-6):  # opening a site not open in the LP raises its value
        opened = lower.copy()
        opened[site] = 1.0
        master.set_site_bounds(opened, upper)
        master.restore(saved)
        children.append((master.solve()[0], opened))
    optimum, opened = max(children, key=lambda child: child[0])
    assert optimum > root + 1.0
    limit = (root + optimum) / 2
    master.set_site_bounds(opened, upper)
    master.restore(saved)
    value = master.solve(limit=limit)[0]
    assert limit < value <= optimum + 1e-6
    master.restore(saved)
    assert master.solve(limit=optimum + 1.0)[0] == pytest.approx(optimum)
    master.restore(saved)
    value, proven = master.probe(opened, upper, 10**6, None, limit)
    assert proven and limit < value <= optimum + 1e-6
    master.restore(saved)
    value, proven = master.probe(opened, upper, 10**6, None)
    assert proven and value == pytest.approx(optimum)

def test_the_background_master_mip_stops_when_our_search_ends():
    from siting.models._benders import _BackgroundMasterMip

    cost = _grid_costs(12, 10, 4)
    weights = np.ones(len(cost))
    p = 9
    master, _ = _root_master(cost, p, np.arange(p))
    start = np.arange(p)
    start_value = float(weights @ cost[:, start].min(axis=1))
    background = _BackgroundMasterMip(master, master.lower.copy(), master.upper.copy(), cost, weights,
                                      start_value, start, lambda objective: objective - 1 + 1e-6, np.inf)
    background.finish()
    assert not background.thread.is_alive()
    assert background.best <= start_value and len(background.best_sites) == p
    assert background.best == pytest.approx(float(weights @ cost[:, background.best_sites].min(axis=1)))


def test_one_thread_gives_the_same_optimum_every_run():
    # threads=1: one worker and no MIP beside it, so the answer (sites included) repeats; threads=2 agrees on
    # the optimum; fewer than one thread is refused. The degenerate grid branches in the branch-and-cut.
    cost = _grid_costs(10, 9, 6)
    p = 25
    model = PMedian.from_cost_matrix(cost, p=p)
    serial = [model.solve("highs", threads=1) for _ in range(2)]
    assert serial[0].extra["method"] == "benders branch-and-cut" and serial[0].extra["tree_nodes"] > 1
    assert serial[0].extra["tree_nodes_second_worker"] == 0
    assert serial[0].selected == serial[1].selected
    assert serial[0].objective == pytest.approx(textbook_optimum(cost, p))
    assert model.solve("highs", threads=2).objective == pytest.approx(serial[0].objective)
    with pytest.raises(ValueError, match="threads"):
        model.solve("highs", threads=0)


def test_solution_cost_from_sorted_rows_matches_the_dense_cost():
    # each point's first open site in its sorted row, looked for in widening prefixes: the dense cost exactly
    from siting.models._benders import _solution_cost
    from siting.models._sorted import SortedCosts

    rng = np.random.default_rng(4)
    for n_demand, n_sites, p in ((60, 45, 1), (300, 200, 3), (300, 200, 40), (80, 80, 80)):
        cost = np.round(rng.uniform(0.0, 100.0, size=(n_demand, n_sites)))
        weights = rng.integers(1, 5, size=n_demand).astype(float)
        costs = SortedCosts(weights[:, None] * cost)
        sites = np.sort(rng.choice(n_sites, size=p, replace=False))
        found = _solution_cost(costs.value.reshape(n_demand, n_sites), costs.site.reshape(n_demand, n_sites), sites)
        assert found == pytest.approx(float(weights @ cost[:, sites].min(axis=1)), rel=1e-12)


def _square_grid_images(sites: np.ndarray, side: int) -> list[np.ndarray]:
    """The eight images of a set of nodes of ``_grid_costs(side, side)`` under the square's symmetries."""
    col, row = sites % side, sites // side
    last = side - 1
    images = []
    for c, r in ((col, row), (last - col, row), (col, last - row), (last - col, last - row)):
        images += [r * side + c, c * side + r]  # and mirrored in the diagonal
    return images


def test_highs_cuts_hold_for_every_optimum_and_lift_the_root_bound():
    # HiGHS's cuts on the root's master (cutoff at the limit, no symmetry handling) must hold for every solution
    # costing at most the limit: here every optimum of a square grid's p-median found by mirroring one; added to
    # the master they lift its LP bound, and HiGHS's own bound lies between the LP bound and the optimum
    from siting.models._benders import _highs_cut_pool

    cost = _grid_costs(6, 6)
    p = 7
    optimum = textbook_optimum(cost, p)
    master, root = _root_master(cost, p, np.arange(p))
    cuts, highs_bound = _highs_cut_pool(master, master.lower, master.upper, optimum, None)
    assert cuts is not None and len(cuts.lower) > 0
    assert root + 1.0 < highs_bound <= optimum + 1e-6
    matrix = np.zeros((len(cuts.lower), 2 * len(cost)))
    for row in range(len(cuts.lower)):
        span = slice(cuts.start[row], cuts.start[row + 1])
        matrix[row, cuts.index[span]] = cuts.value[span]
    best = np.asarray(PMedian.from_cost_matrix(cost, p=p).solve("highs").selected)
    optima = {tuple(sorted(image)) for image in _square_grid_images(best, 6)}
    assert len(optima) > 1
    for sites in optima:
        sites = np.asarray(sites)
        y = np.zeros(len(cost))
        y[sites] = 1.0
        theta = cost[:, sites].min(axis=1)
        assert theta.sum() == pytest.approx(optimum)
        activity = matrix @ np.r_[y, theta]
        assert np.all(activity >= cuts.lower - 1e-6) and np.all(activity <= cuts.upper + 1e-6)
    master.add_highs_cuts(cuts)
    while True:
        bound, y, theta, _ = master.solve()
        if not master.add_violated(y, theta):
            break
    assert root + 1.0 < bound <= optimum + 1e-6
    # HiGHS's cuts stay in the LP when slack cuts are purged, and Benders cuts alone go to a new MIP
    master.purge_slack([])
    assert master.highs.getNumRow() >= 1 + len(cuts.lower)
    demand, _ = master.every_cut()
    assert np.all(demand >= 0)


def test_highs_cuts_at_the_root_keep_the_branch_and_cut_exact():
    # with and without HiGHS's cuts at the root, the branch-and-cut proves the textbook model's optimum on grids
    # whose LP bound lies below it; the cuts come into play on some of them
    from siting.models._benders import branch_and_cut
    from siting.models._sorted import SortedCosts

    added = 0
    for side_x, side_y, repeated, p in ((6, 6, 0, 7), (6, 6, 0, 8), (9, 5, 0, 9), (8, 6, 3, 9)):
        cost = _grid_costs(side_x, side_y, repeated)
        n = len(cost)
        weights = np.ones(n)
        optimum = textbook_optimum(cost, p)
        for rounds in (0, 8):
            result = branch_and_cut(cost, weights, SortedCosts(cost), p, np.array([], dtype=np.int64),
                                    np.zeros(n, dtype=bool), np.arange(p), threshold=lambda o: o - 1 + 1e-6,
                                    master_mip_s=0.0, highs_cut_rounds=rounds)
            assert result.complete and result.objective == pytest.approx(optimum)
            assert result.lower_bound <= result.objective + 1e-9
            assert rounds > 0 or result.highs_cuts == 0
            added += result.highs_cuts
    assert added > 0


def test_many_medians_on_a_grid_use_highs_cuts_only_with_two_threads():
    # the whole instance's root gets HiGHS's cuts (two threads); one thread, as in the separated groups' solves,
    # goes without them, and both prove the same optimum
    cost = _grid_costs(14, 8)
    p = 24  # above the tree search's range, at under 10 sites a median
    model = PMedian.from_cost_matrix(cost, p=p)
    two, one = model.solve("highs", threads=2), model.solve("highs", threads=1)
    assert two.status == one.status == "optimal"
    assert two.objective == pytest.approx(one.objective)
    assert two.extra["highs_cuts"] > 0 and one.extra["highs_cuts"] == 0
