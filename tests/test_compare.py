"""`siting compare` on two slice plans that differ in one parameter (the public charger target)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main
from siting.compare import compare_plans, format_comparison
from tests._plans import HOSTILE_DISTRICT, plan_once

EXTRA_PUBLIC = 500


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> tuple[Path, Path]:
    base = plan_once(tmp_path_factory, "base")
    more = plan_once(tmp_path_factory, "more-public", targets={"public_chargers": 3000 + EXTRA_PUBLIC})
    return base, more


def test_changes_per_tier_follow_the_parameter(plans):
    comparison = compare_plans(*plans)
    tiers = comparison.tiers.set_index("tier")
    assert tiers.loc["public", "units_change"] == EXTRA_PUBLIC
    for tier in ("residential", "rural"):
        assert tiers.loc[tier, "units_change"] == 0  # same targets: totals unchanged
    assert tiers.loc["hydrogen", "units_change"] == 0
    # more chargers cannot cover less demand
    assert tiers.loc["public", "share_covered_b"] >= tiers.loc["public", "share_covered_a"] - 1e-9


def test_district_changes_add_up_to_the_tier_changes(plans):
    comparison = compare_plans(*plans)
    by_district = comparison.districts.groupby("tier")[["sites_change", "units_change"]].sum()
    tiers = comparison.tiers.set_index("tier")
    for tier in tiers.index:
        assert by_district.loc[tier, "units_change"] == tiers.loc[tier, "units_change"]
        assert by_district.loc[tier, "sites_change"] == tiers.loc[tier, "sites_change"]


def test_site_changes_match_the_site_lists(plans):
    a, b = plans
    comparison = compare_plans(a, b)
    sites_a = pd.read_csv(a / "sites.csv", encoding="utf-8-sig", dtype={"site_id": str})
    sites_b = pd.read_csv(b / "sites.csv", encoding="utf-8-sig", dtype={"site_id": str})
    change = comparison.sites.set_index("site_id")["change"]
    assert set(change[change == "added"].index) == set(sites_b["site_id"]) - set(sites_a["site_id"])
    assert set(change[change == "removed"].index) == set(sites_a["site_id"]) - set(sites_b["site_id"])
    public = comparison.sites[comparison.sites["tier"] == "public"]
    assert (public["chargers_b"] - public["chargers_a"]).sum() == EXTRA_PUBLIC


def test_a_plan_compared_with_itself_has_no_changes(plans):
    comparison = compare_plans(plans[0], plans[0])
    assert (comparison.districts[["sites_change", "units_change"]] == 0).all().all()
    assert set(comparison.sites["change"]) == {"unchanged"}
    assert "resized 0" in format_comparison(comparison)


def test_cli_prints_the_table_and_writes_the_map(plans, tmp_path, capsys):
    a, b = plans
    out = tmp_path / "cmp" / "compare.html"
    assert main(["compare", str(a), str(b), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    total = next(line for line in printed.splitlines() if line.startswith("all districts") and " public " in line)
    assert "3,000 → 3,500" in total and f"+{EXTRA_PUBLIC}" in total
    assert HOSTILE_DISTRICT in printed  # plain text on a terminal
    page = out.read_text(encoding="utf-8")
    assert "<script src=\"http" not in page and "L.map(" in page
    changes = compare_plans(a, b).sites["change"].value_counts()
    assert changes.get("added", 0) + changes.get("resized", 0) > 0  # 500 more public chargers went somewhere
    for change, n in changes.items():
        assert f"Sites {change} ({n:,})" in page  # a layer per kind of change
    assert "<img src=x" not in page


def test_cli_default_output_goes_into_the_second_folder(plans, tmp_path):
    a, b = plans
    copy = tmp_path / "b"
    copy.mkdir()
    for name in ("sites.csv", "districts.csv", "plan.json"):
        (copy / name).write_bytes((b / name).read_bytes())
    assert main(["compare", str(a), str(copy), "--quiet"]) == 0
    assert (copy / "compare.html").stat().st_size > 0


def test_a_folder_without_a_plan_is_one_clear_line(tmp_path, plans):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "compare", str(plans[0]), str(tmp_path / "empty")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "sites.csv" in lines[0] and "siting plan" in lines[0]
    assert "Traceback" not in proc.stderr
