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


# --- --set, --lang, a target of 0 (issue 15) ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zero_rural(tmp_path_factory) -> tuple[Path, Path, str]:
    """The slice planned with ``--set targets.rural_chargers=0 --set public.radius_m=1500``; (inputs, out, stdout)."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("zero")
    scenario = write_slice(folder / "inputs")
    out = folder / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["plan", str(scenario), "--out", str(out), "--quiet", "--set", "targets.rural_chargers=0",
                     "--set", "public.radius_m=1500"])
    assert code == 0
    return scenario, out, stdout.getvalue()


def test_set_overrides_a_scenario_key_for_one_run(zero_rural, plan_dir):
    scenario, out, _ = zero_rural
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    base = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["public"]["radius_m"] == 1500 and base["tiers"]["public"]["radius_m"] == 1200
    assert record["overrides"] == {"targets.rural_chargers": 0, "public.radius_m": 1500}
    assert record["scenario_sha256"] != base["scenario_sha256"]  # the variant's hash, as in siting sweep
    assert "radius_m = 1500" not in scenario.read_text(encoding="utf-8")  # the file is left as it was


def test_a_target_of_0_skips_the_tier(zero_rural):
    _, out, stdout = zero_rural
    assert "  rural: target 0 — skipped" in stdout.splitlines()
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["rural"] == {"target": 0, "placed": 0, "unit": "chargers", "kind": "charger",
                                        "label": "Rural chargers", "colour": "#ff7f0e", "skipped": True}
    assert "rural" not in record["timings_s"]  # no model
    for name in ("sites.csv", "candidates.csv", "districts.csv"):
        table = pd.read_csv(out / name, encoding="utf-8-sig")
        assert "rural" not in set(table["tier"]), name
        assert {"public", "residential", "hydrogen"} <= set(table["tier"]), name
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Rural chargers" not in html and "Public chargers" in html  # no layer, no legend entry


def test_compare_and_sweep_rows_work_with_a_skipped_tier(zero_rural, plan_dir):
    from siting.compare import compare_plans
    from siting.scenario import load_scenario
    from siting.sweep import Variant, sweep_row

    _, out, _ = zero_rural
    comparison = compare_plans(plan_dir, out)
    rural = comparison.tiers.set_index("tier").loc["rural"]
    assert rural["units_a"] == 200 and rural["units_b"] == 0
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    row = sweep_row(Variant((("targets.rural_chargers", 0),)), record, outcome="ok",
                    tiers=load_scenario(zero_rural[0]).tiers)
    assert row["rural_chargers"] == 0 and row["rural_coverage"] is None and row["public_coverage"] > 0


def test_set_refuses_bad_keys_values_and_several_values(tmp_path, capsys):
    scenario = write_slice(tmp_path / "inputs")
    out = tmp_path / "out"
    cases = [
        (["--set", "public.radiusm=900"], ("--set public.radiusm=900: unknown key 'public.radiusm'; did you mean "
                                           "'public.radius_m'?")),
        (["--set", "public.radius_m=-1"], "--set public.radius_m=-1: 'public.radius_m' = -1.0 must be positive"),
        (["--set", "public.radius_m=600,900"], "siting plan takes one value per key"),
        (["--set", "public.radius_m=600", "--set", "public.radius_m=900"], "given twice"),
        (["--set", "nonsense"], "write KEY=VALUE"),
    ]
    for extra, message in cases:
        assert main(["plan", str(scenario), "--out", str(out), "--quiet", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (extra, err)
    assert not out.exists()


def test_lang_zh_gives_a_chinese_summary_map_and_report(tmp_path):
    scenario = write_slice(tmp_path / "inputs", targets={"rural_chargers": 0})
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(out), "--lang", "zh"],
                          capture_output=True, text=True, check=False, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no warnings (e.g. no missing-glyph warnings from the charts)
    lines = proc.stdout.splitlines()
    assert "规划已写入" in lines[0] and "类别" in lines[1] and "目标" in lines[1]
    assert any(line.startswith("  公共充电桩") and "最优" in line for line in lines)
    assert "  农村充电桩：目标为 0，已跳过" in lines
    html = (out / "map.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    def shown(text: str) -> bool:  # as HTML text or inside a script (JSON-escaped)
        return text in html or json.dumps(text)[1:-1] in html

    for words in ("公共充电桩", "居民区充电桩", "加氢站", "站点编号…", "每千辆电动汽车充电桩数", "全屏", "放大", "次/日"):
        assert shown(words), words
    # (the controls' own words are in the inlined libraries' source: tests/test_browser.py checks what is shown)
    for english in ("Public chargers", "Chargers per 1,000 EVs", "Site id…", "sessions/day", "Demand grid"):
        assert not shown(english), english
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in report and "目标与规划布局" in report and "各类需求覆盖率" in report
    assert "Demand covered by tier" not in report and "% of the tier" not in report
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["parameters"]["language"] == "zh"
    from openpyxl import load_workbook

    book = load_workbook(out / "plan.xlsx")
    assert book.sheetnames[:4] == ["汇总", "站点", "候选站点", "区县"]
    assert [c.value for c in book["站点"][1]][:3] == ["站点编号", "类别", "状态"]
    assert book["候选站点"].data_validations.dataValidation[0].formula1 == '"required,excluded,必建,不建"'


def test_errors_are_in_the_scenarios_language(tmp_path):
    scenario = write_slice(tmp_path / "inputs", extra="\n[public]\nradius_m = -3\n")
    text = scenario.read_text(encoding="utf-8").replace('name = "qingdao_slice"', 'name = "qingdao_slice"\nlanguage = "zh"')
    scenario.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, check=False, encoding="utf-8")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"错误：{scenario.resolve()}: 'public.radius_m' = -3.0 必须为正数"]
    proc = subprocess.run([sys.executable, "-m", "siting.cli", "plan", str(scenario), "--out", str(tmp_path / "o"),
                           "--lang", "en"], capture_output=True, text=True, check=False, encoding="utf-8")
    assert proc.stderr.startswith("error: ") and "must be positive" in proc.stderr


def test_tianditu_layers_only_with_a_key_and_the_key_is_masked_in_plan_json(tmp_path, monkeypatch, plan_dir):
    assert "tianditu.gov.cn" not in (plan_dir / "map.html").read_text(encoding="utf-8")  # offline by default
    key = "0123456789abcdef0123456789abcdef"
    scenario = write_slice(tmp_path / "inputs", targets={"residential_chargers": 0, "rural_chargers": 0})
    monkeypatch.setenv("SITING_TIANDITU_KEY", key)
    assert main(["plan", str(scenario), "--out", str(tmp_path / "env"), "--quiet"]) == 0
    monkeypatch.delenv("SITING_TIANDITU_KEY")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "set"), "--quiet",
                 "--set", f'map.tianditu_key="{key}"']) == 0
    for out, source in ((tmp_path / "env", "SITING_TIANDITU_KEY"), (tmp_path / "set", "scenario")):
        html = (out / "map.html").read_text(encoding="utf-8")
        for layer in ("vec", "cva"):
            assert (f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                    f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                    f"&TILECOL={{x}}&tk={key}").replace("&", "\\u0026") in html  # in a script: & escaped
        text = (out / "plan.json").read_text(encoding="utf-8")
        assert key not in text and key[:8] not in text
        record = json.loads(text)
        assert record["basemaps"] == {"tianditu": {"key": "****" + key[-4:], "from": source}}
    record = json.loads((tmp_path / "set" / "plan.json").read_text(encoding="utf-8"))
    assert record["parameters"]["map"] == {"tianditu_key": "****" + key[-4:]}
    assert record["overrides"] == {"map.tianditu_key": "****" + key[-4:]}


@pytest.mark.parametrize(("old", "new", "english"), [
    ("public_chargers = 3000", "public_charger = 3000", "did you mean"),
    ("public_chargers = 3000\n", "", "missing required key"),
    ("public_chargers = 3000", "public_chargers = -5", "is negative"),
    ("public_chargers = 3000", 'public_chargers = "lots"', "must be a whole number"),
    ("cell_size_m = 1000", 'cell_size_m = "1 km"', "must be a number"),
    ('district_stats = "stats.csv"', 'district_stats = "nope.csv"', "no such file"),
    ("time_limit_s = 30", "time_limit_s = 0", "must be positive"),
])
def test_the_common_scenario_errors_have_chinese_words(tmp_path, old, new, english):
    """The real messages (not copies) go through the table: a change of wording in the code shows here."""
    from siting._errors import ScenarioError
    from siting.labels import translate_error
    from siting.scenario import load_scenario

    scenario = write_slice(tmp_path / "inputs")
    text = scenario.read_text(encoding="utf-8")
    assert old in text
    scenario.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    message = str(info.value)
    assert english in message
    chinese = translate_error(message, "zh")
    assert english not in chinese and chinese.startswith(str(scenario)), chinese
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese)
