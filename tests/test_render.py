"""The map's fast rendering path: the page branca renders, and names with template syntax shown as text."""

from __future__ import annotations

import contextlib
import json
import re

from siting import render
from siting.plan import run_plan
from siting.scenario import load_scenario
from tests._plans import HOSTILE_CODE, hostile_slice


def _same_ids(page: str) -> str:
    return re.sub(r"[0-9a-f]{32}", "ID", page)  # branca's element ids are random


def test_snippets_kept_as_text_render_the_page_branca_renders(tmp_path, monkeypatch):
    plan = run_plan(load_scenario(hostile_slice(tmp_path / "inputs")))
    fast = render.render_map(plan)
    monkeypatch.setattr(render, "_snippets_as_text", contextlib.nullcontext)
    slow = render.render_map(plan)
    assert _same_ids(fast) == _same_ids(slow)


def test_a_name_with_template_syntax_is_shown_as_written(tmp_path):
    scenario_path = hostile_slice(tmp_path / "inputs")
    geojson = tmp_path / "inputs" / "districts.geojson"
    data = json.loads(geojson.read_text(encoding="utf-8"))
    for feature in data["features"]:
        if feature["properties"]["district_code"] == HOSTILE_CODE:
            feature["properties"]["district_name_en"] = "Shinan {{ 7 * 6 }} {% raw %}"
    geojson.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = render.render_map(run_plan(load_scenario(scenario_path).replace(language="en")))
    assert "{{ 7 * 6 }} {% raw %}" in page
    assert "Shinan 42" not in page
