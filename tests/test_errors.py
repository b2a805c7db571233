"""Bad input of every kind: one line naming file, field and fix; exit 2; nothing written.

Each case edits a copy of the three-district slice (tests/conftest.py) and runs
the CLI in-process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from siting.cli import main
from tests.conftest import write_slice


def _replace_in(name: str, old: str, new: str):
    def edit(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    return edit


def _edit_csv(name: str, change):
    def edit(folder: Path) -> None:
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        changed = change(table)
        (changed if isinstance(changed, pd.DataFrame) else table).to_csv(folder / name, index=False)
    return edit


def _edit_districts(change):
    def edit(folder: Path) -> None:
        gdf = gpd.read_file(folder / "districts.geojson")
        gdf = change(gdf)
        (folder / "districts.geojson").unlink()
        gdf.to_file(folder / "districts.geojson", driver="GeoJSON")
    return edit


def _set(table, column, row, value):
    table.loc[row, column] = value


def _no_crs(folder: Path) -> None:
    gdf = gpd.read_file(folder / "districts.geojson")
    gdf = gdf.to_crs("EPSG:32651").set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(folder / "districts.gpkg", driver="GPKG")
    _replace_in("scenario.toml", "districts.geojson", "districts.gpkg")(folder)


def _bowtie(gdf):
    x0, y0, x1, y1 = gdf.geometry.iloc[0].bounds
    gdf.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    return gdf


CASES = {
    # scenario
    "not toml": (_replace_in("scenario.toml", 'name = "qingdao_slice"', "name = qingdao slice"),
                 ["scenario.toml", "not a valid TOML file"]),
    "unknown key": (_replace_in("scenario.toml", "cell_size_m = 1000", "cell_size = 1000"),
                    ["scenario.toml", "unknown key 'demand.cell_size'", "did you mean 'demand.cell_size_m'"]),
    "missing key": (_replace_in("scenario.toml", 'metric_crs = "EPSG:32651"\n', ""),
                    ["scenario.toml", "missing required key 'region.metric_crs'"]),
    "wrong unit": (_replace_in("scenario.toml", "radius_m = 8000", 'radius_m = "8 km"'),
                   ["'hydrogen.radius_m' must be a number (without a unit"]),
    "negative target": (_replace_in("scenario.toml", "public_chargers = 3000", "public_chargers = -1"),
                        ["'targets.public_chargers' = -1 is negative"]),
    "missing file": (_replace_in("scenario.toml", '"stats.csv"', '"stats_2020.csv"'),
                     ["'region.district_stats' = 'stats_2020.csv': no such file"]),
    # boundaries
    "unreadable boundaries": (lambda f: (f / "districts.geojson").write_text("{not json", encoding="utf-8"),
                              ["districts.geojson", "cannot read the boundaries"]),
    "no crs": (_no_crs, ["districts.gpkg", "no CRS", "set one"]),
    "no district_code": (_edit_districts(lambda g: g.rename(columns={"district_code": "code"})),
                         ["districts.geojson", "no 'district_code' column", "rename"]),
    "duplicate codes": (_edit_districts(lambda g: g.assign(district_code=["370202", "370202", "370212"])),
                        ["district_code '370202' appears more than once"]),
    "unrepairable geometry": (_edit_districts(_bowtie), ["invalid geometry that cannot be repaired safely"]),
    "empty geometry": (_edit_districts(lambda g: g.assign(geometry=[shapely.Polygon(), *g.geometry.iloc[1:]])),
                       ["district '370202' has an empty geometry"]),
    "outside the crs zone": (_replace_in("scenario.toml", 'metric_crs = "EPSG:32651"', 'metric_crs = "EPSG:32618"'),
                             ["lie outside the area of use of region.metric_crs EPSG:32618", "UTM zone"]),
    # statistics
    "unknown district in stats": (_edit_csv("stats.csv", lambda t: _set(t, "district_code", 0, "999999")),
                                  ["stats.csv", "district_code '999999' is not in the boundaries file"]),
    "district missing from stats": (_edit_csv("stats.csv", lambda t: t.drop(index=2)),
                                    ["stats.csv", "no statistics for district '370212'"]),
    "non-numeric population": (_edit_csv("stats.csv", lambda t: _set(t, "population", 1, "about a million")),
                               ["stats.csv", "row 3, column 'population'", "'about a million' is not a number"]),
    "negative population": (_edit_csv("stats.csv", lambda t: _set(t, "population", 0, "-5")),
                            ["row 2, column 'population'", "not a number ≥ 0"]),
    "missing population": (_edit_csv("stats.csv", lambda t: _set(t, "population", 0, "")),
                           ["row 2, column 'population'"]),
    "urban share in percent": (_edit_csv("stats.csv", lambda t: _set(t, "urban_share", 0, "90")),
                               ["urban_share = 90.0 is outside [0, 1]", "0.76 not 76"]),
    # layers
    "hub outside the region": (_edit_csv("hubs.csv", lambda t: _set(t, "lon", 0, "100.0")),
                               ["hubs.csv", "hub_id A", "outside every district"]),
    "lon and lat swapped": (_edit_csv("hubs.csv", lambda t: (_set(t, "lon", 1, "36.08"), _set(t, "lat", 1, "120.38"))),
                            ["hubs.csv", "hub_id B", "lon and lat look swapped"]),
    "missing hub column": (_edit_csv("hubs.csv", lambda t: t.drop(columns="demand_kg_per_day")),
                           ["hubs.csv", "missing column 'demand_kg_per_day'"]),
    # infeasible targets
    "too many chargers": (_replace_in("scenario.toml", "public_chargers = 3000", "public_chargers = 10000000"),
                          ["public tier", "exceeds", "short by"]),
    "too many hydrogen stations": (_replace_in("scenario.toml", "hydrogen_new_stations = 2", "hydrogen_new_stations = 9"),
                                   ["hydrogen tier", "9 new stations", "4 candidate sites", "short by 5"]),
    "towns but too few rural chargers": (_replace_in("scenario.toml", "rural_chargers = 200", "rural_chargers = 2"),
                                         ["rural tier", "target of 2 chargers", "3 required demand points within 5000", "raise the target"]),
    "unknown solver": (_replace_in("scenario.toml", "time_limit_s = 30", 'time_limit_s = 30\nname = "gurobi"'),
                       ["'solver.name' = 'gurobi'", "highs", "cbc"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_clear_line(case, tmp_path, capsys):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder)
    edit, expected = CASES[case]
    edit(folder)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    out = tmp_path / "out"
    code = main(["plan", str(scenario), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert after == before  # inputs never modified


def test_repairable_geometry_is_repaired_with_a_warning(tmp_path, capsys):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder, targets={"rural_chargers": 50})

    def spike(g):
        # a zero-area spike on the outer ring: invalid, and make_valid keeps the area
        polygon = max(shapely.get_parts(g.geometry.iloc[0]), key=lambda p: p.area)
        ring = list(polygon.exterior.coords)
        ring.insert(2, ring[1])
        ring.insert(2, (ring[1][0] + 1e-9, ring[1][1]))
        g.loc[0, "geometry"] = shapely.Polygon(ring)
        return g

    _edit_districts(spike)(folder)
    assert not gpd.read_file(folder / "districts.geojson").is_valid.all()
    code = main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning:" in err and "repaired invalid geometry of district(s) 370202" in err


def test_a_failed_run_keeps_the_previous_plan(tmp_path, capsys):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _replace_in("scenario.toml", "public_chargers = 3000", "public_chargers = 10000000")(folder)
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]


def test_interrupted_write_leaves_nothing_half_written(tmp_path, monkeypatch, capsys):
    import siting.export as export

    folder = tmp_path / "inputs"
    scenario = write_slice(folder)
    out = tmp_path / "out"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_csv", interrupted)
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_missing_solver_names_the_alternative(tmp_path, monkeypatch, capsys):
    import pulp

    monkeypatch.setattr(pulp.HiGHS, "available", lambda self: False)
    scenario = write_slice(tmp_path / "inputs")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "solver 'highs' is not installed" in err and "'cbc'" in err


def test_same_inputs_give_byte_identical_tables(tmp_path):
    scenario = write_slice(tmp_path / "inputs")
    for run in ("a", "b"):
        assert main(["plan", str(scenario), "--out", str(tmp_path / run), "--quiet"]) == 0
    for name in ("sites.csv", "candidates.csv", "districts.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a = json.loads((tmp_path / "a" / "plan.json").read_text(encoding="utf-8"))
    assert a["input_sha256"]["district_stats"] == hashlib.sha256(
        (tmp_path / "inputs" / "stats.csv").read_bytes()).hexdigest()


def test_a_district_out_of_reach_is_named_in_a_warning():
    # (this ran a plan with a rural target of 0 and no rural candidates; a target of 0 now skips the tier, so the
    # warning is checked on its own: 370212's demand has no pair in the cost table)
    from siting.allocate import warn_unreachable_districts

    demand = pd.DataFrame({"demand_id": ["a", "b", "c"], "district_code": ["370202", "370212", "370212"],
                           "weight": [5.0, 700.0, 500.0]})
    costs = pd.DataFrame({"demand_id": ["a"], "site_id": ["s1"], "cost": [100.0]})
    with pytest.warns(UserWarning) as caught:
        warn_unreachable_districts("rural", demand, costs, "5,000 m", "sessions/day")
    assert [str(w.message) for w in caught] == [
        ("rural tier: district 370212 has 1,200 sessions/day of demand but no candidate within 5,000 m of it, so it "
         "gets none; lower rural.candidate_min_density_per_km2 or raise the radius")]


def test_time_limit_gives_a_feasible_plan_and_a_warning(tmp_path, capsys):
    scenario = write_slice(tmp_path / "inputs")
    _replace_in("scenario.toml", "time_limit_s = 30\nmip_gap = 0.001", "time_limit_s = 0.05\nmip_gap = 0")(
        scenario.parent)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    limited = [t for t, v in record["tiers"].items() if v["status"] == "feasible"]
    assert limited, record["tiers"]
    for tier in limited:
        assert record["tiers"][tier]["gap"] is None or record["tiers"][tier]["gap"] > 0
        assert f"warning: {tier} tier: time limit of 0.05 s reached" in err


def test_a_killed_run_is_cleaned_up_by_the_next(tmp_path, capsys):
    import subprocess
    import sys

    scenario = write_slice(tmp_path / "inputs")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a process that no longer runs left its staging folder, and a swap cut in half
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / f".out.partial-{pid}-abc").mkdir()
    (tmp_path / f".out.partial-{pid}-abc" / "sites.csv").write_text("half", encoding="utf-8")
    out.rename(tmp_path / f".out.old-{pid}-abc")  # killed between the two renames
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]
    assert {p.name: p.read_bytes() for p in out.iterdir()}.keys() == before.keys()


def test_sigterm_during_a_run_writes_nothing(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    scenario = write_slice(tmp_path / "inputs")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous plan", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # inside the run (inputs, demand surface or a solve)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived on this machine")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
