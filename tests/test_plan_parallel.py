"""Tiers solved side by side in threads give the plan the tiers give one after another.

The rule "every township served" (rural after public) runs through the CLI, with threads, in test_townships."""

from __future__ import annotations

import pytest

from siting._errors import InfeasibleError
from siting.allocate import allocate
from siting.plan import plan_with
from siting.scenario import load_scenario
from tests.conftest import write_slice


def _sites(plan) -> dict:
    return {name: sorted(zip(tp.sites.loc[tp.sites["selected"], "site_id"],
                             tp.sites.loc[tp.sites["selected"], "units"], strict=True))
            for name, tp in plan.tiers.items()}


def test_tiers_in_threads_plan_what_tiers_in_turn_plan(tmp_path):
    scenario = load_scenario(write_slice(tmp_path))
    in_turn = plan_with(scenario, allocate, workers=1)
    side_by_side = plan_with(scenario, allocate, workers=2)
    assert list(side_by_side.tiers) == list(in_turn.tiers)  # the scenario's order, whatever finishes first
    assert list(side_by_side.timings_s) == list(in_turn.timings_s)
    assert _sites(side_by_side) == _sites(in_turn)
    for name, tier in in_turn.tiers.items():
        assert side_by_side.tiers[name].result.objective == pytest.approx(tier.result.objective, rel=1e-9)


def test_a_failing_tier_fails_the_plan_in_threads_too(tmp_path):
    scenario = load_scenario(write_slice(tmp_path))

    def residential_fails(problem, solver):
        if problem.name == "residential":
            raise InfeasibleError("residential: no plan")
        return allocate(problem, solver)

    with pytest.raises(InfeasibleError, match="residential: no plan"):
        plan_with(scenario, residential_fails, workers=2)
