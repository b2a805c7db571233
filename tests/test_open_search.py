"""The open-site search of the capacitated model's heuristic start: feasible plans, never worse than the greedy."""

from __future__ import annotations

import numpy as np
import pytest

from siting.models._open_search import OpenSiteSearch, plan_for_open_sites
from siting.models.capacitated import CapacitatedMCLP


def facility_instance(seed, **options):
    """40 demand points, 15 sites on a 10 km square, 3 km radius, more units than demand needs, site costs."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10_000, size=(40, 2))
    sites = rng.uniform(0, 10_000, size=(15, 2))
    cost = np.linalg.norm(demand[:, None, :] - sites[None, :, :], axis=2)
    kwargs = {"weights": rng.uniform(0.5, 6.0, size=40), "radius": 3_000.0, "total_units": 60,
              "capacity_per_unit": 2.0, "min_units": 2, "max_units": 20, "site_cost": 2e5, "unit_cost": 3.5e4,
              "cost_weight": 1.0, **options}
    return CapacitatedMCLP.from_cost_matrix(cost, **kwargs)


def check_feasible(model, units, amount):
    table = model.cost
    new = model.existing_units == 0
    assert units[new].sum() == model.total_units
    opened = new & (units > 0)
    assert (units[opened] >= model.min_units[opened]).all() and (units <= model.max_units).all()
    load = np.bincount(table.site, weights=amount, minlength=table.n_sites)
    assert (load <= model.capacity_per_unit * units + 1e-9).all()
    served = np.bincount(table.demand, weights=amount, minlength=table.n_demand)
    assert (served <= model.weights + 1e-9).all() and (amount >= 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_searched_open_sites_give_a_feasible_plan_no_worse_than_the_start(seed):
    model = facility_instance(seed)
    search = OpenSiteSearch(model)
    start = search.openable.copy()
    improved = search.improve(start.copy())
    assert search.score(improved) >= search.score(start) - 1e-9
    plan = plan_for_open_sites(model, improved)
    assert plan is not None
    check_feasible(model, *plan)


@pytest.mark.parametrize("seed", range(5))
def test_the_heuristic_start_is_feasible_and_the_solver_proves_the_same_optimum(seed):
    reachable = np.unique(facility_instance(seed).cost.demand)[:3]
    model = facility_instance(seed, required=reachable)
    units, amount = model.greedy()
    check_feasible(model, units, amount)
    table = model.cost
    for i in reachable:  # required points keep an open site in reach
        assert (units[table.site[table.demand == i]] > 0).any()
    result = model.solve(mip_gap=0.0)
    assert result.status == "optimal"
    assert result.objective >= model.objective_of([(units, amount)]) - 1e-7
    cbc = model.solve("cbc", mip_gap=0.0)
    assert cbc.objective == pytest.approx(result.objective, abs=1e-6)


def test_too_many_open_sites_for_the_total_give_no_plan():
    model = facility_instance(0, total_units=4)
    assert plan_for_open_sites(model, np.ones(model.cost.n_sites, dtype=bool)) is None
