"""A short fuzz run of the parsers (the long run: tools/fuzz_inputs.py → docs/reliability.md)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tools import fuzz_targets as _fuzz
from tools.fuzz_strategies import csv_bytes, geojson_bytes, points_csv_bytes, scenario_text

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenario_text())
def test_scenario_parser_fails_only_cleanly(text):
    _fuzz.fuzz_scenario(text)


@FAST
@given(csv_bytes())
def test_stats_parser_fails_only_cleanly(data):
    _fuzz.fuzz_stats_csv(data)


@FAST
@given(points_csv_bytes())
def test_points_parser_fails_only_cleanly(data):
    _fuzz.fuzz_points_csv(data)


@FAST
@given(geojson_bytes())
def test_boundaries_parser_fails_only_cleanly(data):
    _fuzz.fuzz_geojson(data)
