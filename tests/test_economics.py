"""Site costs, budgets, required sites and roll-outs in the capacitated model, on hand-checkable fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting import InfeasibleError
from siting.models.blocks import Budget
from siting.models.capacitated import CapacitatedMCLP

# two demand points 4 km apart; site "big" between them reaches both, "west" and "east" one each
COSTS = pd.DataFrame({"demand_id": ["w", "w", "e", "e"], "site_id": ["big", "west", "big", "east"],
                      "cost": [2000.0, 100.0, 2000.0, 100.0]})


def _model(**options) -> CapacitatedMCLP:
    settings = dict(weights=[30.0, 30.0], radius=2500.0, total_units=20, capacity_per_unit=3.0, min_units=10,
                    max_units=20, demand_ids=["w", "e"], site_ids=["big", "west", "east"])
    settings.update(options)
    return CapacitatedMCLP.from_cost_matrix(COSTS, **settings)


def test_without_costs_two_near_sites_win_on_distance():
    result = _model().solve()
    assert result.status == "optimal"
    assert set(result.selected) == {"west", "east"}  # same coverage, shorter trips


def test_one_big_station_beats_two_small_ones_on_cost():
    # every site 2 km from the points it reaches: the same coverage and trips either way, one site less
    equal = COSTS.assign(cost=2000.0)
    model = _model(site_cost=400_000.0, unit_cost=35_000.0)
    model = CapacitatedMCLP.from_cost_matrix(
        equal, weights=[30.0, 30.0], radius=2500.0, total_units=20, capacity_per_unit=3.0, min_units=10,
        max_units=20, demand_ids=["w", "e"], site_ids=["big", "west", "east"], site_cost=400_000.0,
        unit_cost=35_000.0)
    result = model.solve()
    assert result.status == "optimal"
    assert result.selected == ["big"]  # the same 60 sessions covered, one site cost saved
    assert result.extra["demand_served"] == pytest.approx(60.0)
    assert result.extra["cost"] == pytest.approx(400_000 + 20 * 35_000)
    site = result.sites.set_index("site_id").loc["big"]
    assert site["cost"] == pytest.approx(400_000 + 20 * 35_000)


def test_coverage_comes_before_cost():
    # "big" reaches only the west point now: covering both needs two sites, and coverage wins
    costs = COSTS[~((COSTS["site_id"] == "big") & (COSTS["demand_id"] == "e"))]
    result = CapacitatedMCLP.from_cost_matrix(
        costs, weights=[30.0, 30.0], radius=2500.0, total_units=20, capacity_per_unit=3.0, min_units=10,
        max_units=20, demand_ids=["w", "e"], site_ids=["big", "west", "east"], site_cost=400_000.0,
        unit_cost=35_000.0).solve()
    assert result.extra["demand_served"] == pytest.approx(60.0)
    assert len(result.selected) == 2


def test_least_cost_covering_a_share():
    model = _model(site_cost=400_000.0, unit_cost=35_000.0, objective="cost", min_coverage=0.5, total_units=None)
    result = model.solve()
    assert result.extra["demand_served"] >= 30.0 - 1e-5
    assert len(result.selected) == 1
    assert int(result.sites["units"].sum()) == 10  # the minimum that covers half: 10 chargers × 3 sessions


def test_a_budget_is_honoured_and_an_impossible_one_explained():
    assert set(_model(site_cost=400_000.0, unit_cost=35_000.0).solve().selected) == {"west", "east"}  # 1.5 M CNY
    model = _model(site_cost=400_000.0, unit_cost=35_000.0, blocks=[Budget(1_200_000.0)])
    result = model.solve()
    assert result.selected == ["big"]  # the budget leaves room for one site only
    assert result.extra["cost"] <= 1_200_000.0
    with pytest.raises(InfeasibleError, match=r"budget of 1,000,000 CNY .*short by 100,000 CNY"):
        _model(site_cost=400_000.0, unit_cost=35_000.0, blocks=[Budget(1_000_000.0)]).solve()


def test_required_and_excluded_sites():
    result = _model(site_cost=400_000.0, unit_cost=35_000.0, forced_open=[False, True, False]).solve()
    assert "west" in result.selected  # required, although "big" alone would be cheaper
    result = _model(max_units=[0, 20, 20]).solve()  # "big" excluded
    assert "big" not in result.selected
    with pytest.raises(InfeasibleError, match="required sites need at least 30 chargers"):
        _model(forced_open=[True, True, True], unit_name="chargers").solve()


def test_existing_units_are_kept_and_not_counted():
    result = _model(existing={"west": 12}).solve()
    units = result.sites.set_index("site_id")["units"]
    assert units["west"] == 12 and units["big"] + units["east"] == 20


def test_a_roll_out_grows_and_meets_each_year_exactly():
    # three demand points of different size: the early year serves the largest
    costs = pd.DataFrame({"demand_id": ["a", "b", "c"], "site_id": ["A", "B", "C"], "cost": [0.0, 0.0, 0.0]})
    model = CapacitatedMCLP.from_cost_matrix(
        costs, weights=[60.0, 30.0, 15.0], radius=1.0, total_units=30, capacity_per_unit=3.0, min_units=5,
        max_units=20, demand_ids=["a", "b", "c"], site_ids=["A", "B", "C"], period_units=[20, 30])
    result = model.solve()
    first, last = result.extra["period_units"]
    assert first.sum() == 20 and last.sum() == 30
    assert (first <= last).all()  # no site closes or shrinks
    assert first[0] == 20  # the most valuable demand first
    assert result.extra["period_served"] == pytest.approx([60.0, 90.0])
    assert result.status == "optimal"


def test_period_targets_must_end_at_the_total():
    with pytest.raises(ValueError, match="period_units"):
        _model(period_units=[30, 20])
