"""Property-based tests of CapacitatedMCLP on random small instances (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting import InfeasibleError
from siting.models.capacitated import CapacitatedMCLP


@st.composite
def instances(draw):
    n_demand = draw(st.integers(2, 12))
    n_sites = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, 10, size=(n_demand, 2))
    site_xy = rng.uniform(0, 10, size=(n_sites, 2))
    cost = np.hypot(*(demand_xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1))
    radius = draw(st.floats(2.0, 8.0))
    weights = rng.integers(0, 20, size=n_demand).astype(float)
    min_units = draw(st.integers(1, 3))
    max_units = draw(st.integers(min_units, 5))
    n_existing = draw(st.integers(0, min(2, n_sites - 1)))
    existing = {j: int(rng.integers(1, 4)) for j in range(n_existing)}
    room = max_units * (n_sites - n_existing)
    total = draw(st.integers(0, room))
    if 0 < total < min_units:
        total = min_units if min_units <= room else 0
    capacity = draw(st.floats(1.0, 15.0))
    return dict(cost=cost, weights=weights, radius=radius, total_units=total, capacity_per_unit=capacity,
                min_units=min_units, max_units=max_units, existing=existing or None)


def _greedy_value(model: CapacitatedMCLP) -> float | None:
    plan = model.greedy()
    if plan is None:
        return None
    _, amount = plan
    return float(np.sum(amount * (1 - model.distance_weight * model.cost.cost / model.radius)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_solutions_respect_every_rule(params):
    model = CapacitatedMCLP.from_cost_matrix(**params)
    try:
        result = model.solve()
    except InfeasibleError:
        # the only infeasibility here: the target cannot honour the minimum per site
        # with the room left (e.g. 4 units, min 3, max 3)
        assert model.greedy() is None
        return
    assert result.status == "optimal"
    sites = result.sites.set_index("site_id")
    new = ~sites["existing"]
    # targets met exactly, bounds per site
    assert sites.loc[new, "units"].sum() == params["total_units"]
    opened = sites.loc[new & (sites["units"] > 0), "units"]
    assert opened.between(params["min_units"], params["max_units"]).all()
    # existing sites kept with their units
    for j, units in (params["existing"] or {}).items():
        assert sites.loc[j, "units"] == units and sites.loc[j, "selected"]
    a = result.assignment
    # within radius, capacities and demand respected
    assert (a["cost"] <= params["radius"] + 1e-9).all()
    load = a.groupby("site_id")["amount"].sum()
    assert (load <= sites.loc[load.index, "capacity"] + 1e-6).all()
    served = a.groupby("demand_id")["amount"].sum()
    assert (served <= params["weights"][served.index.to_numpy()] + 1e-6).all()
    # never worse than the greedy plan; bound consistent with the objective (maximisation)
    greedy = _greedy_value(model)
    if greedy is not None:
        assert result.objective >= greedy - 1e-6
    assert result.bound >= result.objective - 1e-6 * max(1.0, abs(result.objective))
    assert result.gap <= 1e-4


@settings(max_examples=40, deadline=None)
@given(instances())
def test_greedy_plan_is_feasible(params):
    model = CapacitatedMCLP.from_cost_matrix(**params)
    plan = model.greedy()
    if plan is None:
        return
    units, amount = plan
    new = model.existing_units == 0
    assert units[new].sum() == params["total_units"]
    assert ((units[new] == 0) | ((units[new] >= params["min_units"]) & (units[new] <= params["max_units"]))).all()
    load = np.bincount(model.cost.site, weights=amount, minlength=model.cost.n_sites)
    assert (load <= units * model.capacity_per_unit + 1e-9).all()
    served = np.bincount(model.cost.demand, weights=amount, minlength=model.cost.n_demand)
    assert (served <= model.weights + 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(instances())
def test_long_table_gives_the_same_optimum(params):
    dense = CapacitatedMCLP.from_cost_matrix(**params)
    rows, cols = np.nonzero(np.isfinite(params["cost"]))
    table = pd.DataFrame({"demand_id": rows, "site_id": cols, "cost": params["cost"][rows, cols]})
    long = CapacitatedMCLP.from_cost_matrix(**{**params, "cost": table},
                                            demand_ids=range(params["cost"].shape[0]),
                                            site_ids=range(params["cost"].shape[1]))
    try:
        a = dense.solve()
    except InfeasibleError:
        return
    assert abs(long.solve().objective - a.objective) <= 1e-6 * max(1.0, abs(a.objective))
