"""CapacitatedMCLP on hand-checkable fixtures, against an independent brute force.

The brute force enumerates every integer unit allocation and solves the
remaining transportation problem with scipy's linprog — no PuLP involved.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from siting import InfeasibleError
from siting.models.capacitated import CapacitatedMCLP

# 5 demand points × 3 sites; inf = out of reach
COST = np.array([
    [0.0, 5.0, np.inf],
    [3.0, 1.0, 9.0],
    [9.0, 2.0, 1.0],
    [np.inf, 8.0, 0.0],
    [4.0, 4.0, 4.0],
])
WEIGHTS = np.array([10.0, 5.0, 5.0, 8.0, 3.0])
RADIUS = 5.0


def brute_force(total, capacity, min_units, max_units, existing=(0, 0, 0)):
    """Best coverage over all allocations (pure coverage: distance weight 0)."""
    reach = np.isfinite(COST) & (COST <= RADIUS)
    pairs = np.argwhere(reach)
    best = (-1.0, None)
    options = [[0] + list(range(min_units, max_units + 1))] * 3
    for units in itertools.product(*options):
        units = np.array(units)
        if units.sum() != total:
            continue
        units = units + np.array(existing)
        # max Σx  s.t. Σ_j x_ij ≤ w_i, Σ_i x_ij ≤ cap·n_j
        a_ub = np.zeros((5 + 3, len(pairs)))
        for k, (i, j) in enumerate(pairs):
            a_ub[i, k] = 1
            a_ub[5 + j, k] = 1
        b_ub = np.concatenate([WEIGHTS, capacity * units])
        res = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if -res.fun > best[0] + 1e-9:
            best = (-res.fun, units)
    return best


def model(**kwargs):
    params = {"weights": WEIGHTS, "radius": RADIUS, "total_units": 3, "capacity_per_unit": 6.0,
              "min_units": 1, "max_units": 2, "distance_weight": 0.0}
    params.update(kwargs)
    return CapacitatedMCLP.from_cost_matrix(COST, **params)


@pytest.mark.parametrize(("total", "capacity", "min_units", "max_units"),
                         [(3, 6.0, 1, 2), (2, 10.0, 1, 2), (4, 4.0, 2, 3), (1, 100.0, 1, 1)])
def test_coverage_matches_brute_force(total, capacity, min_units, max_units):
    expected, _ = brute_force(total, capacity, min_units, max_units)
    result = model(total_units=total, capacity_per_unit=capacity, min_units=min_units,
                   max_units=max_units).solve()
    assert result.status == "optimal"
    assert result.extra["demand_served"] == pytest.approx(expected, abs=1e-6)
    assert result.objective == pytest.approx(expected, abs=1e-6)
    units = result.sites["units"].to_numpy()
    assert units.sum() == total
    opened = units > 0
    assert (units[opened] >= min_units).all() and (units <= max_units).all()


def test_assignment_respects_radius_capacity_and_demand():
    result = model().solve()
    a = result.assignment
    assert (a["cost"] <= RADIUS).all()
    served = a.groupby("demand_id")["amount"].sum()
    assert (served <= WEIGHTS[served.index.to_numpy()] + 1e-9).all()
    sites = result.sites.set_index("site_id")
    load = a.groupby("site_id")["amount"].sum()
    assert (load <= sites.loc[load.index, "capacity"] + 1e-9).all()


def test_distance_breaks_ties_without_losing_coverage():
    # one unit, capacity 3: demand 4 (weight 3) is reachable from every site at cost 4,
    # but site 1 also reaches demand 1 at cost 1 → with distance weight the model
    # must still cover 3 and prefer the nearer service
    plain = model(total_units=1, capacity_per_unit=3.0, max_units=1).solve()
    weighted = model(total_units=1, capacity_per_unit=3.0, max_units=1, distance_weight=0.5).solve()
    assert weighted.extra["demand_served"] == pytest.approx(plain.extra["demand_served"])
    mean_cost = (weighted.assignment["cost"] * weighted.assignment["amount"]).sum() / 3.0
    assert mean_cost <= 1.0 + 1e-9


def test_existing_sites_are_kept_and_not_counted():
    expected, _ = brute_force(2, 6.0, 1, 2, existing=(0, 0, 1))
    result = model(total_units=2, existing={2: 1}).solve()
    sites = result.sites.set_index("site_id")
    assert bool(sites.loc[2, "existing"]) and sites.loc[2, "units"] == 1
    assert sites.loc[[0, 1], "units"].sum() == 2
    assert result.extra["demand_served"] == pytest.approx(expected)


def test_required_demand_forces_a_site_in_reach():
    # demand 3 is reachable only from site 2 (cost 0) and site 1 (cost 8 > radius)
    free = model(total_units=1, capacity_per_unit=20.0, max_units=1).solve()
    assert 2 not in free.selected  # site 0 or 1 covers more
    forced = model(total_units=1, capacity_per_unit=20.0, max_units=1, required=[3]).solve()
    assert forced.selected == [2]


def test_long_table_and_dense_matrix_agree():
    rows, cols = np.nonzero(np.isfinite(COST))
    import pandas as pd
    table = pd.DataFrame({"demand_id": rows, "site_id": cols, "cost": COST[rows, cols]})
    dense = model().solve()
    long = CapacitatedMCLP.from_cost_matrix(table, demand_ids=range(5), site_ids=range(3), weights=WEIGHTS,
                                            radius=RADIUS, total_units=3, capacity_per_unit=6.0, min_units=1,
                                            max_units=2, distance_weight=0.0).solve()
    assert long.objective == pytest.approx(dense.objective)


def test_cbc_gives_the_same_optimum():
    highs = model().solve("highs")
    cbc = model().solve("cbc")
    assert cbc.status == "optimal"
    assert cbc.objective == pytest.approx(highs.objective, abs=1e-6)


def test_too_many_units_is_infeasible_with_the_shortfall():
    with pytest.raises(InfeasibleError, match="short by 1"):
        model(total_units=7, max_units=2).solve()


def test_unreachable_required_point_is_named():
    cost = COST.copy()
    cost[3, 2] = 99.0
    m = CapacitatedMCLP.from_cost_matrix(cost, weights=WEIGHTS, radius=RADIUS, total_units=1,
                                         capacity_per_unit=5.0, required=[3])
    with pytest.raises(InfeasibleError, match="no candidate site within 5: 3"):
        m.solve()


def test_from_geodataframes_in_metres_matches_the_cost_matrix():
    import geopandas as gpd

    from siting import DataError

    demand_xy = np.array([[0.0, 0.0], [300.0, 0.0], [1000.0, 0.0], [1500.0, 400.0]])
    site_xy = np.array([[100.0, 0.0], [1200.0, 100.0]])
    demand = gpd.GeoDataFrame({"w": [4.0, 3.0, 5.0, 2.0]}, geometry=gpd.points_from_xy(*demand_xy.T), crs="EPSG:32651")
    sites = gpd.GeoDataFrame({"existing": [0, 1]}, geometry=gpd.points_from_xy(*site_xy.T), crs="EPSG:32651")
    model = CapacitatedMCLP.from_geodataframes(demand, sites, weight_col="w", radius=500.0, total_units=1,
                                               capacity_per_unit=5.0, existing_units_col="existing", max_units=2,
                                               distance_weight=0.0)
    result = model.solve()
    cost = np.hypot(*(demand_xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1))
    dense = CapacitatedMCLP.from_cost_matrix(cost, weights=[4.0, 3.0, 5.0, 2.0], radius=500.0, total_units=1,
                                             capacity_per_unit=5.0, existing={1: 1}, max_units=2,
                                             distance_weight=0.0).solve()
    assert result.objective == pytest.approx(dense.objective) == pytest.approx(10.0)
    with pytest.raises(DataError, match="geographic CRS"):
        CapacitatedMCLP.from_geodataframes(demand.to_crs("EPSG:4326"), sites.to_crs("EPSG:4326"), weight_col="w",
                                           radius=500.0, total_units=1, capacity_per_unit=5.0)


def test_a_solver_stopped_early_never_returns_less_than_the_greedy_plan(monkeypatch):
    import siting.models.capacitated as capacitated
    from siting.models._base import SolverOutcome

    # a solver that stops with no solution but a valid bound
    def stopped(problem, **kwargs):
        return SolverOutcome(status="not_solved", objective=None, bound=100.0, gap=None, solve_time_s=0.0)

    monkeypatch.setattr(capacitated, "solve_problem", stopped)
    m = model()
    result = m.solve()
    units, amount = m.greedy()
    assert result.extra["solution_from"] == "greedy"
    assert result.status == "feasible"
    assert result.objective == pytest.approx(m.objective_of(amount))
    assert result.bound == 100.0 and result.gap == pytest.approx((100.0 - result.objective) / result.objective)
    assert result.sites["units"].sum() == 3


COPIES = np.repeat(np.arange(5), 3)  # every demand point three times, its weight split 50/30/20
COPY_WEIGHTS = WEIGHTS[COPIES] * np.tile([0.5, 0.3, 0.2], 5)


@pytest.mark.parametrize(("total", "capacity", "min_units", "max_units"),
                         [(3, 6.0, 1, 2), (2, 10.0, 1, 2), (4, 4.0, 2, 3)])
def test_copies_of_demand_points_are_merged_and_split_back(total, capacity, min_units, max_units):
    expected, _ = brute_force(total, capacity, min_units, max_units)
    result = CapacitatedMCLP.from_cost_matrix(
        COST[COPIES], weights=COPY_WEIGHTS, radius=RADIUS, total_units=total, capacity_per_unit=capacity,
        min_units=min_units, max_units=max_units, distance_weight=0.0).solve()
    assert result.extra["demand_classes"] == 4  # points 0 and 1 both reach sites 0 and 1, and nothing else
    assert result.status == "optimal"
    assert result.objective == pytest.approx(expected, abs=1e-6)
    a = result.assignment
    served = a.groupby("demand_id")["amount"].sum()
    assert (served <= COPY_WEIGHTS[served.index.to_numpy()] + 1e-9).all()
    assert served.sum() == pytest.approx(result.extra["demand_served"])
    # each copy gets its share of what its point gets: 50/30/20
    by_point = served.groupby(COPIES[served.index.to_numpy()]).sum()
    for point, total_served in by_point.items():
        for copy, share in zip(np.flatnonzero(COPIES == point), (0.5, 0.3, 0.2)):
            assert served.get(copy, 0.0) == pytest.approx(share * total_served)
    sites = result.sites.set_index("site_id")
    load = a.groupby("site_id")["amount"].sum()
    assert (load <= sites.loc[load.index, "capacity"] + 1e-9).all()
    assert (a["cost"] <= RADIUS).all()


def test_merging_keeps_distances_and_required_points(monkeypatch):
    import siting.models.capacitated as capacitated

    options = {"weights": COPY_WEIGHTS, "radius": RADIUS, "total_units": 1, "capacity_per_unit": 20.0,
               "max_units": 1, "distance_weight": 0.5, "required": [10]}  # a copy of point 3
    merged = CapacitatedMCLP.from_cost_matrix(COST[COPIES], **options).solve()
    monkeypatch.setattr(capacitated, "MERGE_AT_MOST", 0.0)
    apart = CapacitatedMCLP.from_cost_matrix(COST[COPIES], **options).solve()
    # with distances in the objective, points 0 and 1 (different costs) stay apart; only the copies merge
    assert merged.extra["demand_classes"] == 5 and "demand_classes" not in apart.extra
    assert merged.selected == apart.selected == [2]
    assert merged.objective == pytest.approx(apart.objective, rel=1e-9)
    assert merged.bound == pytest.approx(apart.bound, rel=1e-6)


def test_distinct_demand_points_are_not_merged():
    result = model().solve()
    assert "demand_classes" not in result.extra


def _relaxation(model: CapacitatedMCLP) -> float:
    """The linear relaxation's optimum of ``model``'s MIP as built."""
    import pulp

    problem, _ = model._build()
    for variable in problem.variables():
        variable.cat = pulp.LpContinuous
    problem.solve(pulp.HiGHS(msg=False))
    return pulp.value(problem.objective)


def test_linking_rows_stop_the_relaxation_spreading_units(monkeypatch):
    import siting.models._value_rows as value_rows

    # one unit, two sites far apart, each the only site of one point: half a unit at each would serve both
    # points in the relaxation (the capacity rows allow 20 × 0.5 = 10 at each); the linking rows x_ij ≤ w_i · n_j
    # cap each at 10 × 0.5 = 5, which is the integer optimum's 10 in all. (The value rows, which would see it
    # too, are off: a component of more than MAX_COMPONENT_SITES sites gets none.)
    monkeypatch.setattr(value_rows, "MAX_COMPONENT_SITES", 0)
    cost = np.array([[0.0, np.inf], [np.inf, 0.0]])
    one_unit = CapacitatedMCLP.from_cost_matrix(cost, weights=[10.0, 10.0], radius=1.0, total_units=1,
                                                capacity_per_unit=20.0, max_units=1, distance_weight=0.0)
    assert _relaxation(one_unit) == pytest.approx(10.0)
    assert one_unit.solve().objective == pytest.approx(10.0)
    # a point heavier than a unit's capacity: the capacity row already implies its link, so none is added
    heavy = dataclasses.replace(one_unit, weights=np.array([30.0, 10.0]))
    assert heavy._linked_pairs(np.zeros(2, dtype=bool)).tolist() == [1]
    # with an open variable of its own, the link adds where the weight is below what the site's units can serve
    two_each = dataclasses.replace(heavy, max_units=np.array([2, 2]))
    assert two_each._linked_pairs(np.ones(2, dtype=bool)).tolist() == [0, 1]
    assert two_each._linked_pairs(np.zeros(2, dtype=bool)).tolist() == [1]
