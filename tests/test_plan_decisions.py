"""A plan a bureau acts on, end to end on the three-district slice: costs, existing chargers,
the planner's decisions fed back, and a roll-out by year."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main
from tests.conftest import write_slice

PHASES = "\n[phases]\nyears = [2024, 2025]\nshare = [0.4, 1.0]\n"


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, encoding="utf-8-sig", dtype={"district_code": str, "site_id": str},
                       keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The slice planned once with a roll-out: its folder and scenario."""
    root = tmp_path_factory.mktemp("base")
    scenario = write_slice(root / "inputs", extra=PHASES)
    out = root / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    return scenario, out


def test_costs_in_plan_json_are_the_sum_over_new_sites(base):
    _, out = base
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    sites = _read(out, "sites.csv")
    for tier, t in record["tiers"].items():
        assert t["cost_cny"] == pytest.approx(sites.loc[(sites["tier"] == tier) & (sites["status"] == "new"),
                                                         "cost_cny"].sum())
    public = record["tiers"]["public"]
    assert public["site_cost_cny"] == 400_000 and public["charger_cost_cny"] == 35_000
    assert record["tiers"]["hydrogen"]["station_cost_cny"] == 20_000_000
    assert sites.loc[sites["status"] == "existing", "cost_cny"].isna().all()


def test_phases_are_monotone_and_exact_per_year(base):
    _, out = base
    phases = _read(out, "phases.csv")
    assert list(phases.columns) == ["site_id", "tier", "year", "chargers"]
    totals = phases.groupby(["tier", "year"])["chargers"].sum()
    assert totals[("public", 2024)] == 1200 and totals[("public", 2025)] == 3000  # 40 % of 3,000, then all
    assert totals[("residential", 2024)] == 3200 and totals[("residential", 2025)] == 8000
    wide = phases.pivot_table(index=["tier", "site_id"], columns="year", values="chargers", fill_value=0)
    assert (wide[2024] <= wide[2025]).all()  # no site closes or shrinks
    sites = _read(out, "sites.csv")
    first = phases[phases["chargers"] > 0].groupby("site_id")["year"].min()
    new = sites[sites["status"] == "new"].set_index("site_id")
    assert (new["year"] == first.reindex(new.index)).all()
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    years = record["tiers"]["public"]["phases"]
    assert [y["year"] for y in years] == [2024, 2025] and years[0]["coverage"] < years[1]["coverage"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Roll-out by year" in report
    assert "Roll-out: built by the end of 2024" in (out / "map.html").read_text(encoding="utf-8")


def test_existing_chargers_count_toward_the_target_in_total_mode(tmp_path, capsys):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder, extra="")
    pd.DataFrame({"tier": ["public", "public", "residential"], "lon": [120.38, 120.40, 120.39],
                  "lat": [36.07, 36.09, 36.08], "chargers": [400, 100, 8000], "name": ["A", "B", "C"]}
                 ).to_csv(folder / "existing.csv", index=False)
    text = scenario.read_text(encoding="utf-8")
    text = text.replace('metric_crs = "EPSG:32651"', 'metric_crs = "EPSG:32651"\nexisting_chargers = "existing.csv"')
    scenario.write_text(text.replace("hydrogen_new_stations = 2", 'hydrogen_new_stations = 2\nmode = "total"'),
                        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    sites = _read(out, "sites.csv")
    new = sites[sites["status"] == "new"].groupby("tier")["chargers"].sum()
    assert new["public"] == 3000 - 500  # target − existing
    assert "residential" not in new  # 8,000 exist already: the tier is at its target
    existing = sites[sites["status"] == "existing"]
    assert set(existing["name"]) >= {"A", "B", "C"}
    record = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert record["tiers"]["residential"]["already_met"] is True
    assert record["tiers"]["public"]["existing_units"] == 500


def test_decisions_fed_back_are_honoured_row_by_row(base, tmp_path, capsys):
    scenario, out = base
    candidates = _read(out, "candidates.csv")
    public = candidates[candidates["tier"] == "public"]
    chosen = public[public["selected"]]["site_id"].tolist()
    unchosen = public[~public["selected"]]["site_id"].tolist()
    candidates["decision"] = ""
    candidates["chargers"] = pd.NA
    candidates.loc[candidates["site_id"] == chosen[0], "decision"] = "excluded"
    candidates.loc[candidates["site_id"] == chosen[1], "decision"] = "excluded"
    candidates.loc[candidates["site_id"] == unchosen[0], "decision"] = "required"
    candidates.loc[candidates["site_id"] == unchosen[1], ["decision", "chargers"]] = ["required", 25]
    proposed = pd.DataFrame({"tier": ["public"], "lon": [120.385], "lat": [36.075], "decision": ["required"],
                             "name": ["Bureau car park"]})
    decisions = tmp_path / "decisions.csv"
    pd.concat([candidates, proposed], ignore_index=True).to_csv(decisions, index=False, encoding="utf-8-sig")
    again = tmp_path / "again"
    assert main(["plan", str(scenario), "--out", str(again), "--decisions", str(decisions), "--quiet"]) == 0, \
        capsys.readouterr().err
    sites = _read(again, "sites.csv").set_index("site_id")
    assert chosen[0] not in sites.index and chosen[1] not in sites.index
    assert unchosen[0] in sites.index and sites.loc[unchosen[1], "chargers"] == 25
    proposed_sites = sites[sites["name"] == "Bureau car park"]
    assert len(proposed_sites) == 1 and proposed_sites["tier"].iloc[0] == "public"
    assert sites.loc[sites["tier"] == "public", "chargers"].sum() == 3000
    fed_back = _read(again, "candidates.csv").set_index("site_id")
    assert fed_back.loc[chosen[0], "decision"] == "excluded" and fed_back.loc[unchosen[1], "decision"] == "required"
    # siting compare says what the decisions changed
    from siting.compare import compare_plans, format_comparison

    text = format_comparison(compare_plans(out, again))
    assert "decisions in B: 5" in text
    assert "excluded 2: 2 removed" in text
    assert "required 3: 3 added" in text


@pytest.mark.parametrize(("rows", "message"), [
    ([{"site_id": "public-nowhere", "decision": "required"}], "row 2 (public-nowhere): no candidate site has that id"),
    ([{"site_id": "X", "decision": "maybe"}], "row 2, column 'decision': 'maybe' is not a decision"),
    ([{"site_id": "X", "decision": "required"}, {"site_id": "X", "decision": "excluded"}],
     "rows 2, 3: site X is both required and excluded"),
    ([{"site_id": "public-a", "decision": "required", "chargers": 2000},
      {"site_id": "public-b", "decision": "required", "chargers": 1500}],
     "rows 2, 3 require 3,500 public chargers, beyond the target of 3,000"),
    ([{"site_id": "", "tier": "taxi", "lon": 120.4, "lat": 36.1, "decision": "required"}], "its tier 'taxi'"),
])
def test_bad_decisions_give_one_line_and_write_nothing(base, tmp_path, capsys, rows, message):
    scenario, _ = base
    decisions = tmp_path / "decisions.csv"
    pd.DataFrame(rows).to_csv(decisions, index=False)
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--decisions", str(decisions), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and str(decisions) in err[0] and "Traceback" not in err[0]
    assert not out.exists()


@pytest.mark.parametrize(("table", "message"), [
    ({"tier": ["public"], "lon": [120.38], "lat": [36.07]}, "missing column 'chargers'"),
    ({"tier": ["bus"], "lon": [120.38], "lat": [36.07], "chargers": [4]}, "'bus' is not a tier"),
    ({"tier": ["hydrogen"], "lon": [120.38], "lat": [36.07], "chargers": [1]}, "is a station tier"),
    ({"tier": ["public"], "lon": [120.38], "lat": [36.07], "chargers": [2.5]}, "is not a whole number"),
    ({"tier": ["public"], "lon": [100.0], "lat": [36.07], "chargers": [4]}, "lies outside every district"),
])
def test_bad_existing_chargers_give_one_line_and_write_nothing(tmp_path, capsys, table, message):
    folder = tmp_path / "inputs"
    scenario = write_slice(folder)
    pd.DataFrame(table).to_csv(folder / "existing.csv", index=False)
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace('metric_crs = "EPSG:32651"',
                                     'metric_crs = "EPSG:32651"\nexisting_chargers = "existing.csv"'), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "existing.csv" in err[0]
    assert not out.exists()


def test_an_impossible_budget_is_explained(tmp_path, capsys):
    scenario = write_slice(tmp_path / "inputs", extra="\n[budget]\ntotal_cny = 1.0e8\n")
    out = tmp_path / "out"
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "budget.total_cny of 100,000,000 CNY cannot pay for the targets" in err and "short by" in err
    assert not out.exists()
