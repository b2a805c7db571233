"""Scenario loading: the default loads, and each kind of mistake is named with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting import ScenarioError
from siting.scenario import builtin_scenario_path, load_scenario


def test_builtin_scenario_is_qingdao_2025():
    s = load_scenario()
    assert s.name == "qingdao_2025"
    assert (s.targets.public_chargers, s.targets.residential_chargers, s.targets.rural_chargers,
            s.targets.hydrogen_new_stations) == (40000, 110000, 15000, 3)
    assert s.region.metric_crs == "EPSG:32651"
    assert s.region.boundaries.exists() and s.hydrogen.demand_hubs.exists()
    assert s.solver.name == "highs" and s.solver.mip_gap == 0.0001  # every tier proven (docs/exact.md)


def test_scenario_is_immutable():
    s = load_scenario()
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]


def _edit(tmp_path: Path, old: str, new: str) -> Path:
    text = builtin_scenario_path().read_text(encoding="utf-8")
    assert old in text
    # same relative layout as the repository, so that "../data/…" resolves
    (tmp_path / "data").symlink_to(builtin_scenario_path().parents[1] / "data")
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "edited.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message"), [
    ("public_chargers = 40000", "public_charger = 40000", "unknown key 'targets.public_charger'; did you mean 'targets.public_chargers'"),
    ("public_chargers = 40000", "public_chargers = -5", "'targets.public_chargers' = -5 is negative"),
    ("public_chargers = 40000", 'public_chargers = "lots"', "'targets.public_chargers' must be a whole number"),
    ("public_chargers = 40000\n", "", "missing required key 'targets.public_chargers'"),
    ('metric_crs = "EPSG:32651"', 'metric_crs = "EPSG:4326"', "is geographic (degrees)"),
    ("qingdao_district_stats.csv", "no_such_file.csv", "'region.district_stats' = '../data/demand/no_such_file.csv': no such file"),
    ("time_limit_s = 60", 'time_limit_s = "60 s"', "'solver.time_limit_s' must be a number (without a unit"),
    ('name = "highs"', 'name = "gurobi"', "'solver.name' = 'gurobi' is not a supported solver"),
    ("[demand]", "[demnd]", "unknown key 'demnd'; did you mean 'demand'"),
])
def test_bad_scenarios_are_named(tmp_path, old, new, message):
    path = _edit(tmp_path, old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_not_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not a valid TOML file"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "nope.toml")
