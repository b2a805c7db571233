"""`siting plan` end to end on three real districts: files, columns, totals, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from siting.cli import main
from tests.conftest import write_slice

SITE_COLUMNS = ["site_id", "tier", "status", "district_code", "district_name", "lon", "lat", "chargers",
                "capacity_kg_per_day", "demand_served"]


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slice")
    scenario = write_slice(folder / "inputs")
    out = folder / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    return out


def test_every_output_file_is_written(plan_dir):
    for name in ("map.html", "sites.csv", "sites.geojson", "sites.gpkg", "candidates.csv", "districts.csv",
                 "plan.json"):
        assert (plan_dir / name).stat().st_size > 0, name
    assert not [p for p in plan_dir.parent.iterdir() if ".partial-" in p.name]


def test_sites_meet_the_targets_exactly(plan_dir):
    sites = pd.read_csv(plan_dir / "sites.csv", encoding="utf-8-sig", dtype={"district_code": str})
    assert list(sites.columns[:len(SITE_COLUMNS)]) == SITE_COLUMNS
    new = sites[sites["status"] == "new"]
    chargers = new[new["tier"] != "hydrogen"].groupby("tier")["chargers"].sum()
    assert chargers.to_dict() == {"public": 3000, "residential": 8000, "rural": 200}
    assert (new["tier"] == "hydrogen").sum() == 2
    existing = sites[sites["status"] == "existing"]
    assert list(existing["site_id"]) == ["hydrogen-S1"]
    assert existing["capacity_kg_per_day"].iloc[0] == 800


def test_sites_lie_in_the_district_they_name(plan_dir):
    sites = gpd.read_file(plan_dir / "sites.gpkg", layer="sites")
    districts = gpd.read_file(plan_dir / "sites.gpkg", layer="districts")
    joined = gpd.sjoin(sites, districts[["district_code", "geometry"]], predicate="within",
                       lsuffix="site", rsuffix="district")
    assert len(joined) == len(sites)
    assert (joined["district_code_site"] == joined["district_code_district"]).all()


def test_sites_respect_per_site_limits(plan_dir):
    sites = pd.read_csv(plan_dir / "sites.csv", encoding="utf-8-sig")
    public = sites[sites["tier"] == "public"]
    assert public["chargers"].between(10, 60).all()  # the public tier's defaults


def test_plan_json_reports_status_and_gap(plan_dir):
    record = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert record["scenario"] == "qingdao_slice"
    assert len(record["scenario_sha256"]) == 64
    for tier in ("public", "residential", "rural", "hydrogen"):
        t = record["tiers"][tier]
        assert t["status"] in ("optimal", "feasible")
        assert t["gap"] is not None and t["gap"] <= 0.001 + 1e-9
        assert t["bound"] >= t["objective"] - 1e-6  # a maximisation: the bound is above
        assert t["variables"] > 0 and t["constraints"] > 0
        if t["status"] == "optimal":
            assert t["gap"] <= 1e-4
    assert record["tiers"]["public"]["placed"] == 3000
    assert {"inputs", "demand surface", "public"} <= set(record["timings_s"])
    assert record["versions"]["pulp"]


def test_candidates_are_ranked_per_tier(plan_dir):
    cand = pd.read_csv(plan_dir / "candidates.csv", encoding="utf-8-sig")
    assert {"tier", "selected", "score", "rank", "lon", "lat"} <= set(cand.columns)
    for _, group in cand.groupby("tier"):
        assert sorted(group["rank"]) == list(range(1, len(group) + 1))
        top = group.sort_values("rank")
        n_selected = int(top["selected"].sum())
        assert top["selected"].iloc[:n_selected].all()


def test_districts_summary_adds_up(plan_dir):
    districts = pd.read_csv(plan_dir / "districts.csv", encoding="utf-8-sig", dtype={"district_code": str})
    sites = pd.read_csv(plan_dir / "sites.csv", encoding="utf-8-sig", dtype={"district_code": str})
    chargers = districts[districts["tier"] != "hydrogen"].groupby("tier")["units"].sum()
    assert chargers.to_dict() == sites[sites["tier"] != "hydrogen"].groupby("tier")["chargers"].sum().to_dict()
    assert districts["share_covered"].dropna().between(0, 1 + 1e-9).all()
    assert set(districts["district_code"]) == {"370202", "370203", "370212"}


def test_csv_has_a_bom_for_excel(plan_dir):
    assert (plan_dir / "sites.csv").read_bytes()[:3] == b"\xef\xbb\xbf"


def test_geojson_is_wgs84_rfc7946(plan_dir):
    data = json.loads((plan_dir / "sites.geojson").read_text(encoding="utf-8"))
    assert "crs" not in data  # RFC 7946: WGS84 implied
    lon, lat = data["features"][0]["geometry"]["coordinates"]
    assert 119 < lon < 122 and 35 < lat < 37.5


def test_map_is_self_contained(plan_dir):
    html = (plan_dir / "map.html").read_text(encoding="utf-8")
    assert "<script src=\"http" not in html and "<link rel=\"stylesheet\" href=\"http" not in html
    assert "L.map(" in html
    for label in ("Public chargers", "Residential chargers", "Rural chargers", "Hydrogen stations"):
        assert label in html


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    scenario = write_slice(tmp_path / "inputs", extra="\n[public]\nradius_m = -3\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "public.radius_m" in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_infeasible_target_names_tier_and_shortfall(tmp_path):
    scenario = write_slice(tmp_path / "inputs", targets={"public_chargers": 10_000_000})
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous plan", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "public tier" in proc.stderr and "short by" in proc.stderr
    assert (out / "keep.txt").read_text(encoding="utf-8") == "previous plan"  # previous plan untouched
