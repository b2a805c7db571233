"""Sweeps and decomposed plans on a Dask cluster of two local workers, against serial runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siting._errors import InfeasibleError, ScenarioError
from siting.cli import main
from siting.decompose import apportion, decompose_plan
from siting.export import write_plan
from siting.plan import run_plan
from siting.scenario import load_scenario
from siting.sweep import Variant, expand, load_variant, parse_set, variant_hash
from tests.conftest import write_slice

COMPARED = ("sites.csv", "candidates.csv", "districts.csv")
RADII = (900, 1200)
TOO_MANY = 999_999  # more public chargers than the slice's candidates hold: an infeasible variant


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, closed at the end of the module."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local, \
            Client(local) as client:
        yield client
    # closed: no worker or scheduler left behind for the next test module
    assert client.status == "closed"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return write_slice(tmp_path_factory.mktemp("sweep") / "inputs", targets={"public_chargers": 2000})


@pytest.fixture(scope="module")
def swept(cluster, inputs, tmp_path_factory):
    """`siting sweep` of 2 radii × 2 public targets (one infeasible) through the cluster."""
    out = tmp_path_factory.mktemp("swept") / "out"
    code = main(["--quiet", "sweep", str(inputs), "--set", f"public.radius_m={','.join(map(str, RADII))}",
                 "--set", f"targets.public_chargers=2000,{TOO_MANY}", "--scheduler", cluster.scheduler.address,
                 "--out", str(out)])
    return code, out


def _serial_plan(folder: Path, radius_m: int) -> Path:
    """The same variant as a scenario file of its own, run by `siting plan` in this process."""
    scenario = write_slice(folder / "inputs", targets={"public_chargers": 2000},
                           extra=f"\n[public]\nradius_m = {radius_m}\n")
    assert main(["--quiet", "plan", str(scenario), "--out", str(folder / "plan")]) == 0
    return folder / "plan"


def test_sweep_writes_the_plans_a_serial_run_writes(swept, tmp_path):
    code, out = swept
    assert code == 1  # some runs failed; the others are complete
    table = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig", dtype={"error": str}, keep_default_na=False)
    assert list(table["outcome"]) == ["ok", "failed", "ok", "failed"]
    assert list(table["public.radius_m"]) == [900, 900, 1200, 1200]
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    for radius in RADII:
        run = f"public.radius_m={radius}__targets.public_chargers=2000"
        serial = _serial_plan(tmp_path / str(radius), radius)
        for name in COMPARED:
            assert (out / run / name).read_bytes() == (serial / name).read_bytes(), (run, name)
        # sweep.csv says what the run's own plan.json says
        record = json.loads((out / run / "plan.json").read_text(encoding="utf-8"))
        row = table[table["run"] == run].iloc[0]
        for tier, t in record["tiers"].items():
            assert float(row[f"{tier}_coverage"]) == t["coverage"]
            assert int(row[f"{tier}_{'stations' if tier == 'hydrogen' else 'chargers'}"]) == t["placed"]
            assert row[f"{tier}_status"] == t["status"]
        assert record["parameters"]["public"]["radius_m"] == radius
        assert row["scenario_sha256"] == record["scenario_sha256"]


def test_a_failing_variant_is_recorded_not_fatal(swept):
    code, out = swept
    table = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig", dtype={"error": str}, keep_default_na=False)
    failed = table[table["outcome"] == "failed"]
    assert list(failed["targets.public_chargers"]) == [TOO_MANY, TOO_MANY]
    for error in failed["error"]:
        assert error.startswith("public tier: target of 999,999 chargers exceeds")
        assert "\n" not in error
    assert failed["public_coverage"].eq("").all()
    # no folder for a failed run, and no half-written one
    assert sorted(p.name for p in out.iterdir()) == [
        "public.radius_m=1200__targets.public_chargers=2000", "public.radius_m=900__targets.public_chargers=2000",
        "sweep.csv", "sweep.png"]


def test_rerun_skips_completed_runs(swept, cluster, inputs):
    code, out = swept
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/plan.json")}
    assert len(before) == 2
    code = main(["--quiet", "sweep", str(inputs), "--set", "public.radius_m=900,1200",
                 "--set", f"targets.public_chargers=2000,{TOO_MANY}", "--scheduler", cluster.scheduler.address,
                 "--out", str(out)])
    assert code == 1
    table = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(table["outcome"]) == ["reused", "failed", "reused", "failed"]
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/plan.json")} == before


def test_changed_scenario_is_not_reused(inputs):
    one = load_variant(inputs, [("public.radius_m", 900)])
    other = load_variant(inputs, [("public.radius_m", 1200)])
    assert one.public.radius_m == 900.0 and other.public.radius_m == 1200.0
    assert one.content_hash != other.content_hash
    # no override: the file's own hash, as `siting plan` records it
    assert load_variant(inputs, []).content_hash == load_scenario(inputs).content_hash
    assert variant_hash("abc", [("a.b", 1), ("c.d", 2)]) == variant_hash("abc", [("c.d", 2), ("a.b", 1)])


@pytest.mark.parametrize(("setting", "expected"), [
    ("public.radiusm=600", "error: --set public.radiusm=600: unknown key 'public.radiusm'; "
                           "did you mean 'public.radius_m'?"),
    ("publc.radius_m=600", "error: --set publc.radius_m=600: unknown key 'publc'; did you mean 'public'?"),
    ("public.radius_m=600,-5", "error: --set public.radius_m=-5: 'public.radius_m' = -5.0 must be positive"),
    ("targets.public_chargers=1.5", "error: --set targets.public_chargers=1.5: 'targets.public_chargers' "
                                    "must be a whole number; got 1.5"),
    ("public.radius_m", "error: --set 'public.radius_m': write KEY=VALUE[,VALUE...] with a scenario key, "
                        "e.g. public.radius_m=600,900,1200"),
])
def test_bad_set_is_one_clear_line(inputs, tmp_path, setting, expected):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "sweep", str(inputs), "--set", setting,
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == expected
    assert proc.stdout == ""
    assert not out.exists()


def test_set_values_and_combinations():
    assert parse_set("public.radius_m=600, 900") == ("public.radius_m", [600, 900])
    assert parse_set("solver.name=cbc,\"highs\"") == ("solver.name", ["cbc", "highs"])
    assert parse_set("network.osm_candidates=true") == ("network.osm_candidates", [True])
    variants = expand([("a.x", [1, 2]), ("b.y", [3, 4, 5])])
    assert [v.overrides for v in variants][:2] == [(("a.x", 1), ("b.y", 3)), (("a.x", 1), ("b.y", 4))]
    assert len(variants) == 6 and len({v.name for v in variants}) == 6
    assert Variant((("public.radius_m", 600), ("targets.public_chargers", 30000))).name == \
        "public.radius_m=600__targets.public_chargers=30000"
    with pytest.raises(ScenarioError, match="given twice"):
        expand([("a.x", [1]), ("a.x", [2])])


def test_variants_file_lists_runs(inputs, tmp_path):
    from siting.sweep import read_variants

    path = tmp_path / "variants.csv"
    path.write_text("public.radius_m,targets.public_chargers\n600,30000\n900,\n", encoding="utf-8")
    assert [v.overrides for v in read_variants(path)] == [
        (("public.radius_m", 600), ("targets.public_chargers", 30000)), (("public.radius_m", 900),)]


def test_apportion_hand_checked():
    reach = pd.Series({"A": 60.0, "B": 30.0, "C": 10.0})
    ten = pd.Series({"A": 10, "B": 10, "C": 10})
    # proportional to the demand in reach
    units = apportion(50, reach=reach, sites=ten, min_units=1, max_units=10, capacity_per_unit=1.0)
    assert units.to_dict() == {"A": 30, "B": 15, "C": 5}
    # 3 per charger: the demand can use 20, 10 and 4 chargers; 40 is more, so the 6 left over go
    # by spare room (80, 90, 96): shares 21.8, 12.03, 6.17
    units = apportion(40, reach=reach, sites=ten, min_units=1, max_units=10, capacity_per_unit=3.0)
    assert units.to_dict() == {"A": 22, "B": 12, "C": 6}
    # sites of exactly 10: shares 15, 9, 6 → (10, 10, 10) deviates least (5 + 1 + 4)
    reach = pd.Series({"A": 50.0, "B": 30.0, "C": 20.0})
    units = apportion(30, reach=reach, sites=ten, min_units=10, max_units=10, capacity_per_unit=1.0)
    assert units.to_dict() == {"A": 10, "B": 10, "C": 10}
    # C must open 2 sites (its towns): (10, 0, 20) deviates least (5 + 9 + 14)
    units = apportion(30, reach=reach, sites=ten, min_units=10, max_units=10, capacity_per_unit=1.0,
                      min_sites=pd.Series({"C": 2}))
    assert units.to_dict() == {"A": 10, "B": 0, "C": 20}
    with pytest.raises(InfeasibleError, match="no split"):
        apportion(301, reach=reach, sites=ten, min_units=1, max_units=10, capacity_per_unit=1.0)


def test_decomposed_plan_on_dask_equals_serial_and_keeps_coverage(cluster, inputs, tmp_path):
    scenario = load_scenario(inputs)
    out = tmp_path / "dask"
    code = main(["--quiet", "plan", str(inputs), "--decompose", "--scheduler", cluster.scheduler.address,
                 "--out", str(out)])
    assert code == 0
    serial = decompose_plan(scenario)
    write_plan(serial, tmp_path / "serial", map_html="<!doctype html>")
    for name in COMPARED:
        assert (out / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name
    whole = run_plan(scenario)
    for tier, tp in serial.tiers.items():
        assert tp.units_placed == whole.tiers[tier].units_placed == tp.target
        assert tp.coverage >= whole.tiers[tier].coverage - 0.01, tier
    public = serial.tiers["public"]
    shares = public.result.extra["districts"].set_index("district_code")["units"]
    placed = public.sites[public.sites["status"] == "new"].groupby("district_code")["units"].sum()
    assert placed.to_dict() == shares[shares > 0].to_dict()
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["public"]["status"] == "feasible" and record["tiers"]["public"]["gap"] is None


def test_dask_options_need_decompose(inputs, capsys):
    assert main(["plan", str(inputs), "--workers", "2"]) == 2
    assert "add --decompose" in capsys.readouterr().err
