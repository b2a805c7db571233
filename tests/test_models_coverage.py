"""MCLP and LSCP on hand-checkable fixtures, checked against brute force."""

from __future__ import annotations

from itertools import combinations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from siting._errors import InfeasibleError
from siting.models import LSCP, MCLP, greedy_mclp

# 5 demand points on a line at x = 0, 1, 2, 10, 11; 3 sites at x = 1, 6, 10; radius 1.5.
DEMAND_X = np.array([0.0, 1.0, 2.0, 10.0, 11.0])
SITE_X = np.array([1.0, 6.0, 10.0])
WEIGHTS = np.array([1.0, 2.0, 1.0, 3.0, 1.0])
COST = np.abs(DEMAND_X[:, None] - SITE_X[None, :])
RADIUS = 1.5


def best_cover(covers: np.ndarray, weights: np.ndarray, p: int) -> float:
    return max(weights[covers[:, list(s)].any(axis=1)].sum() for s in combinations(range(covers.shape[1]), p))


def test_mclp_hand_fixture():
    # by hand: site 1 covers 0,1,2 (weight 4); site 10 covers 10,11 (weight 4); site 6 nothing
    one = MCLP.from_cost_matrix(COST, weights=WEIGHTS, radius=RADIUS, p=1).solve()
    assert one.objective == pytest.approx(4.0) and one.status == "optimal"
    two = MCLP.from_cost_matrix(COST, weights=WEIGHTS, radius=RADIUS, p=2).solve()
    assert two.objective == pytest.approx(8.0)
    assert sorted(two.selected) == [0, 2]
    assert two.extra["n_uncovered"] == 0 and two.extra["coverage_share"] == pytest.approx(1.0)


def test_mclp_existing_site_kept():
    result = MCLP.from_cost_matrix(COST, weights=WEIGHTS, radius=RADIUS, p=2, existing=[1]).solve()
    assert 1 in result.selected
    assert result.objective == pytest.approx(4.0)


def test_mclp_random_instances_match_brute_force_and_beat_greedy():
    rng = np.random.default_rng(3)
    for _ in range(5):
        cost = rng.uniform(0, 10, size=(40, 10))
        weights = rng.integers(1, 9, size=40).astype(float)
        covers = cost <= 3.0
        for p in (2, 3):
            exact = MCLP.from_cost_matrix(cost, weights=weights, radius=3.0, p=p).solve()
            greedy = greedy_mclp(cost, weights=weights, radius=3.0, p=p)
            assert exact.status == "optimal"
            assert exact.objective == pytest.approx(best_cover(covers, weights, p))
            assert greedy.objective <= exact.objective + 1e-9
            assert greedy.status == "feasible"


def test_mclp_long_table_cbc():
    frame = pd.DataFrame(COST, columns=["a", "b", "c"])
    long = frame.stack().rename("cost").rename_axis(["demand_id", "site_id"]).reset_index()
    result = MCLP.from_cost_matrix(long, weights=WEIGHTS, radius=RADIUS, p=2).solve("cbc")
    assert result.objective == pytest.approx(8.0)
    assert sorted(result.selected) == ["a", "c"]


def test_lscp_hand_fixture_and_brute_force():
    result = LSCP.from_cost_matrix(COST, radius=RADIUS).solve()
    assert result.objective == 2 and result.status == "optimal"
    assert sorted(result.selected) == [0, 2]
    rng = np.random.default_rng(5)
    for _ in range(5):
        cost = rng.uniform(0, 10, size=(30, 10))
        covers = cost <= 4.0
        if not covers.any(axis=1).all():
            continue
        size = next(k for k in range(1, 11)
                    if any(covers[:, list(s)].any(axis=1).all() for s in combinations(range(10), k)))
        assert LSCP.from_cost_matrix(cost, radius=4.0).solve().objective == size


def test_lscp_infeasible_names_uncovered_points():
    frame = pd.DataFrame(COST, index=["p0", "p1", "p2", "p10", "p11"])
    with pytest.raises(InfeasibleError, match="p0.*p2|p2.*p0") as info:
        LSCP.from_cost_matrix(frame, radius=0.5).solve()
    assert "p1" not in str(info.value).replace("p10", "").replace("p11", "")


def test_lscp_existing_site_counted():
    result = LSCP.from_cost_matrix(COST, radius=RADIUS, existing=[1]).solve()
    assert result.objective == 3 and 1 in result.selected


def fewest_covering(covers: np.ndarray, weights: np.ndarray, share: float, existing=()) -> int:
    """Brute force: the fewest sites (existing ones included) covering at least ``share`` of the weight."""
    n_sites = covers.shape[1]
    others = [j for j in range(n_sites) if j not in existing]
    for k in range(n_sites + 1):
        for extra in combinations(others, k):
            sites = list(existing) + list(extra)
            if weights[covers[:, sites].any(axis=1)].sum() >= share * weights.sum() - 1e-9:
                return len(sites)
    raise AssertionError("unreachable share")


@pytest.mark.parametrize("seed", range(6))
def test_partial_set_covering_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 10, size=(40, 9))
    weights = rng.integers(1, 20, size=40).astype(float)
    covers = cost <= 3.0
    reachable = weights[covers.any(axis=1)].sum() / weights.sum()
    existing = [int(seed % 9)] if seed % 2 else []
    for share in (0.3, 0.6, 0.85 * reachable, reachable):
        result = LSCP.from_cost_matrix(cost, radius=3.0, weights=weights, coverage=share, existing=existing).solve()
        assert result.status == "optimal" and result.bound == result.objective
        assert result.objective == len(result.selected) == fewest_covering(covers, weights, share, existing)
        assert set(existing) <= set(result.selected)
        assert result.extra["covered_weight"] >= share * weights.sum() - 1e-9


def test_partial_set_covering_merges_customers_and_says_what_is_out_of_reach():
    # copies of the hand fixture's points: the same optimum, with one class per covering set
    copies = np.repeat(COST, 3, axis=0)
    result = LSCP.from_cost_matrix(copies, radius=RADIUS, weights=np.repeat(WEIGHTS, 3), coverage=0.5).solve()
    assert result.objective == 1 and result.extra["customer_classes"] == 2
    assert LSCP.from_cost_matrix(COST, radius=RADIUS, weights=WEIGHTS, coverage=0.51).solve().objective == 2
    # coverage 1 is the classical set covering, weights or not
    assert LSCP.from_cost_matrix(COST, radius=RADIUS, weights=WEIGHTS).solve().objective == 2
    # the existing site at x = 1 already covers half
    covered = LSCP.from_cost_matrix(COST, radius=RADIUS, weights=WEIGHTS, coverage=0.5, existing=[0]).solve()
    assert covered.objective == 1 and covered.selected == [0] and covered.status == "optimal"
    with pytest.raises(InfeasibleError, match=r"at most 50\.00 %.*coverage of 60\.00 %"):
        LSCP.from_cost_matrix(COST[:, :2], radius=RADIUS, weights=WEIGHTS, coverage=0.6).solve()
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="coverage must be a share"):
            LSCP.from_cost_matrix(COST, radius=RADIUS, coverage=bad)


def test_coverage_from_geodataframes():
    crs = "EPSG:32651"
    demand = gpd.GeoDataFrame({"w": WEIGHTS}, geometry=[Point(x * 1000, 0) for x in DEMAND_X], crs=crs)
    sites = gpd.GeoDataFrame(geometry=[Point(x * 1000, 0) for x in SITE_X], crs=crs)
    mclp = MCLP.from_geodataframes(demand, sites, radius=1500, p=1, weight_col="w").solve()
    assert mclp.objective == pytest.approx(4.0)
    lscp = LSCP.from_geodataframes(demand, sites, radius=1500).solve()
    assert lscp.objective == 2


def test_greedy_mclp_on_a_long_table_with_unreachable_demand():
    # point "z" reaches no site: with the full label lists its weight still counts in the total, never as covered
    long = pd.DataFrame({"demand_id": ["a", "b", "b"], "site_id": ["s", "s", "t"], "cost": [1.0, 1.0, 1.0]})
    result = greedy_mclp(long, weights=[2.0, 1.0, 5.0], radius=1.5, p=1, demand_ids=["a", "b", "z"],
                         site_ids=["s", "t"])
    assert result.selected == ["s"]
    assert result.objective == pytest.approx(3.0)


def test_mclp_never_returns_less_than_its_greedy_start(monkeypatch):
    import siting.models.coverage as coverage
    from siting.models import MCLP
    from siting.models._base import SolverOutcome

    cost = np.array([[0.0, 9.0, 9.0], [1.0, 9.0, 0.0], [9.0, 0.0, 9.0], [9.0, 1.0, 9.0]])
    weights = np.array([5.0, 4.0, 3.0, 3.0])

    def stopped_early(problem, **kwargs):
        # a solver stopped by its time limit with a poor incumbent (site 2 only) and a valid bound
        for v in problem.variables():
            v.varValue = 1.0 if v.name in ("y_2", "u_1") else 0.0
        return SolverOutcome(status="feasible", objective=4.0, bound=15.0, gap=None, solve_time_s=0.0)

    monkeypatch.setattr(coverage, "solve_problem", stopped_early)
    monkeypatch.setattr(coverage, "_lagrangian", lambda *args: None)  # else the LP bound proves the greedy plan
    result = MCLP.from_cost_matrix(cost, weights=weights, radius=2.0, p=1).solve()
    assert result.extra["covered_weight"] == pytest.approx(9.0)  # greedy: site 0 covers 5 + 4
    assert result.objective == pytest.approx(9.0) and result.status == "feasible"
    assert result.bound == 15.0


def test_mclp_reductions_match_brute_force():
    # duplicate coverage sets (aggregated), a site inside another's set (dominated), zero weights, customers no site
    # covers and existing sites: the optimum must equal brute force over all p-subsets of the full problem
    rng = np.random.default_rng(5)
    for trial in range(16):
        n_sites = 7
        base = rng.random((12, n_sites)) < 0.35
        covers = np.vstack([base, base[:6]])  # six customers repeat a set
        covers[:, 1] = covers[:, 1] & covers[:, 0]  # site 1 ⊆ site 0
        covers[-1] = False  # a customer no site covers
        weights = rng.integers(0, 5, size=len(covers)).astype(float)
        if trial % 2:
            weights = weights + rng.random(len(covers))
        p = 1 + trial % 4
        existing = [int(rng.integers(n_sites))] if trial % 3 == 2 else []
        cost = np.where(covers, 1.0, np.inf)
        result = MCLP.from_cost_matrix(cost, weights=weights, radius=1.0, p=p, existing=existing).solve()
        expected = max(weights[covers[:, list(s)].any(axis=1)].sum()
                       for s in combinations(range(n_sites), p) if set(existing) <= set(s))
        assert result.status == "optimal"
        assert result.objective == pytest.approx(expected)
        assert result.extra["covered_weight"] == pytest.approx(expected)
        assert len(result.selected) == p and set(existing) <= set(result.selected)
        assert result.bound >= expected - 1e-6


def test_coverage_classes_merge_identical_sets_only():
    from scipy.sparse import csr_array

    from siting.models._coverage_reduce import reduce_coverage

    covers = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1], [0, 0, 0]], dtype=bool)
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    reduced = reduce_coverage(csr_array(covers), weights, 2, np.array([], dtype=np.int64))
    classes = {tuple(reduced.sites[reduced.covers.indices[reduced.covers.indptr[c]:reduced.covers.indptr[c + 1]]]):
               w for c, w in enumerate(reduced.weights)}
    # by hand: classes {0,1} weight 3, {1,2} weight 8, {0} weight 4; the customer no site covers is dropped;
    # site 2 covers only the class {1,2}, which site 1 covers too: dominated, so it leaves the model
    assert classes == {(0, 1): 3.0, (1,): 8.0, (0,): 4.0}
    assert reduced.n_customers == 5 and reduced.n_dominated == 1 and reduced.p == 2
    assert list(reduced.sites) == [0, 1]


def test_mclp_with_p_beyond_the_useful_sites_opens_them_all():
    # only sites 0 and 2 cover anything; p = 3 opens them and one more, all weight covered, proven without a solver
    result = MCLP.from_cost_matrix(COST, weights=WEIGHTS, radius=RADIUS, p=3).solve()
    assert result.status == "optimal" and result.objective == pytest.approx(WEIGHTS.sum())
    assert sorted(result.selected) == [0, 1, 2] and result.n_variables == 0


def test_coverage_interchange_ends_at_a_swap_local_optimum():
    from siting.models._heuristics import greedy_coverage, interchange_coverage

    rng = np.random.default_rng(9)
    for _ in range(6):
        covers = rng.random((30, 9)) < 0.3
        weights = rng.integers(1, 10, size=30).astype(float)

        def value(sites):
            return weights[covers[:, list(sites)].any(axis=1)].sum()

        start = greedy_coverage(covers, weights, 3)
        local = interchange_coverage(covers, weights, start)
        assert len(local) == 3 and value(local) >= value(start)
        best_swap = max(value([s for s in local if s != out] + [new])
                        for out in local for new in range(9) if new not in local)
        assert best_swap <= value(local) + 1e-9


def test_coverage_perturbation_keeps_size_and_fixed_sites_and_never_loses():
    from scipy.sparse import csr_array

    from siting.models._heuristics import (
        covered_weight,
        greedy_coverage,
        interchange_coverage,
        perturb_coverage,
    )

    rng = np.random.default_rng(11)
    reached = 0
    for trial in range(8):
        covers = rng.random((40, 10)) < 0.25
        weights = rng.integers(1, 10, size=40).astype(float)
        fixed = np.array([trial % 10]) if trial % 2 else None
        start = interchange_coverage(covers, weights, greedy_coverage(covers, weights, 4, fixed), fixed)
        found = perturb_coverage(csr_array(covers), weights, start, fixed, patience=50, seed=trial)
        optimum = max(weights[covers[:, list(s)].any(axis=1)].sum() for s in combinations(range(10), 4)
                      if fixed is None or fixed[0] in s)
        value = covered_weight(covers, weights, found)
        assert len(found) == 4 and len(np.unique(found)) == 4
        assert fixed is None or fixed[0] in found
        assert covered_weight(covers, weights, start) - 1e-9 <= value <= optimum + 1e-9
        reached += value == pytest.approx(optimum)
    assert reached >= 6  # local restarts reach the optimum of these small instances nearly always


def test_customer_classes_are_the_distinct_covering_sets():
    from scipy.sparse import csr_array

    from siting.models._coverage_reduce import _sorted_groups, merge_identical_rows

    rng = np.random.default_rng(3)
    dense = rng.random((400, 6)) < 0.3  # 2⁶ possible sets: many repeats, some empty rows
    merged, weights, group = merge_identical_rows(csr_array(dense), np.arange(400.0))
    sets = {tuple(row) for row in dense}
    assert merged.shape[0] == len(sets) and weights.sum() == pytest.approx(np.arange(400.0).sum())
    assert all((merged.toarray()[group[i]] == dense[i]).all() for i in range(400))
    # rows that share the first hash but not the count are told apart, and equal rows still meet
    order, new_group = _sorted_groups(np.array([2, 3, 2, 2]), np.array([7, 7, 7, 1], dtype=np.uint64),
                                      np.array([5, 5, 5, 6], dtype=np.uint64))
    group = np.empty(4, dtype=np.int64)
    group[order] = np.cumsum(new_group) - 1
    assert new_group.sum() == 3 and group[0] == group[2] and len({group[0], group[1], group[3]}) == 3
    order, new_group = _sorted_groups(np.array([2, 2, 1]), np.array([7, 7, 1], dtype=np.uint64),
                                      np.array([5, 5, 4], dtype=np.uint64))
    assert new_group.tolist() == [True, True, False] and order.tolist()[0] == 2
