"""Townships in a plan (issue 11 items 4 and 5): addresses, townships.csv, the map layer, every township served.

Fixtures: a hand-made district of 8 × 8 km cut into four 4 × 4 km townships
(two subdistricts in the south, two towns in the north), and a 3-site ×
5-point model for the constraint block. The default Qingdao plan is checked
in the slow test at the end.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import InfeasibleError, ScenarioError
from siting.cli import main
from siting.models.capacitated import CapacitatedMCLP
from siting.models.township_block import EverySiteGroupBlock, SiteGroup
from siting.scenario import load_scenario
from siting.townships import address, township_points

CRS = "EPSG:32651"
X0, Y0, SIDE = 300_000.0, 3_990_000.0, 4_000.0
#: township code → (name, kind, column, row) of its 4 km square
TOWNSHIPS = {
    "370299001": ("南甲街道", "subdistrict", 0, 0),
    "370299002": ("南乙街道", "subdistrict", 1, 0),
    "370299101": ("北甲镇", "town", 0, 1),
    "370299102": ("北乙镇", "town", 1, 1),
}


def _square(col: int, row: int) -> shapely.Polygon:
    return shapely.box(X0 + col * SIDE, Y0 + row * SIDE, X0 + (col + 1) * SIDE, Y0 + (row + 1) * SIDE)


def township_frame() -> gpd.GeoDataFrame:
    rows = [{"township_code": code, "township_name": name, "township_kind": kind, "district_code": "370299",
             "geometry": _square(col, row)} for code, (name, kind, col, row) in TOWNSHIPS.items()]
    return gpd.GeoDataFrame(rows, crs=CRS).to_crs("EPSG:4326")


def write_region(folder: Path, *, rural: str = "", region: str = "", targets: str = "") -> Path:
    """The four-township district as a scenario folder; extra TOML lines go into [rural], [region], [targets]."""
    folder.mkdir(parents=True, exist_ok=True)
    district = gpd.GeoDataFrame({"district_code": ["370299"], "district_name": ["手工区"],
                                 "district_name_en": ["Handmade"]},
                                geometry=[shapely.box(X0, Y0, X0 + 2 * SIDE, Y0 + 2 * SIDE)], crs=CRS)
    district.to_crs("EPSG:4326").to_file(folder / "districts.geojson", driver="GeoJSON")
    township_frame().to_file(folder / "townships.geojson", driver="GeoJSON")
    pd.DataFrame({"district_code": ["370299"], "population": [200_000], "urban_share": [0.6],
                  "ev_stock": [20_000]}).to_csv(folder / "stats.csv", index=False)
    centre = gpd.GeoSeries([shapely.Point(X0 + 2_000, Y0 + 2_000)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    pd.DataFrame({"centre_id": ["c"], "name": ["centre"], "lon": [centre.x], "lat": [centre.y]}).to_csv(
        folder / "centres.csv", index=False)
    scenario = folder / "scenario.toml"
    scenario.write_text(textwrap.dedent("""\
        name = "four_townships"

        [region]
        boundaries = "districts.geojson"
        district_stats = "stats.csv"
        urban_centres = "centres.csv"
        metric_crs = "EPSG:32651"
        geonames_places = false
        {region}

        [targets]
        public_chargers = 20
        residential_chargers = 300
        rural_chargers = 40
        hydrogen_new_stations = 0
        {targets}

        [demand]
        cell_size_m = 1000

        [public]
        min_chargers_per_site = 10
        max_chargers_per_site = 10

        [rural]
        min_chargers_per_site = 2
        {rural}

        [solver]
        time_limit_s = 20
        mip_gap = 0.0
        """).format(region=region, rural=rural, targets=targets), encoding="utf-8")
    return scenario


WITH_TOWNSHIPS = 'townships = "townships.geojson"\nattribution = "© OpenStreetMap contributors (ODbL)"'


# --------------------------------------------------------------------------- addresses

def test_address_gives_the_containing_township_else_the_nearest():
    points = pd.DataFrame({"x_m": [X0 + 1_000, X0 + 5_000, X0 + 7_000, X0 - 300, X0 + 9_000],
                           "y_m": [Y0 + 1_000, Y0 + 1_000, Y0 + 7_000, Y0 + 6_000, Y0 + 500],
                           "district_code": "370299"})
    found = address(points, township_frame(), metric_crs=CRS)
    # the last two lie outside every township (just west of 北甲镇, just east of 南乙街道): the nearest one
    assert list(found["township_code"]) == ["370299001", "370299002", "370299102", "370299101", "370299002"]
    assert list(found["township_name"])[:3] == ["南甲街道", "南乙街道", "北乙镇"]
    assert list(points.columns) == ["x_m", "y_m", "district_code"]  # the input is not modified


def test_without_townships_the_address_is_empty():
    points = pd.DataFrame({"x_m": [X0], "y_m": [Y0], "district_code": ["370299"]})
    found = address(points, None, metric_crs=CRS)
    assert list(found["township_code"]) == [""] and list(found["township_name"]) == [""]


def test_township_point_is_the_most_populous_cell_else_the_seat():
    cells = pd.DataFrame({"cell_id": ["a", "b", "c"], "township_code": ["370299001", "370299001", "370299002"],
                          "population": [10.0, 30.0, 5.0], "x_m": [1.0, 2.0, 3.0], "y_m": [1.0, 2.0, 3.0],
                          "lon": [0.1, 0.2, 0.3], "lat": [0.1, 0.2, 0.3]})
    points = township_points(cells, township_frame(), ["370299001", "370299101"], metric_crs=CRS)
    by_code = points.set_index("township_code")
    assert by_code.loc["370299001", "cell_id"] == "b"
    assert by_code.loc["370299101", "cell_id"] == ""  # no cell: the seat, inside the township
    assert _square(0, 1).contains(shapely.Point(by_code.loc["370299101", "x_m"], by_code.loc["370299101", "y_m"]))


# --------------------------------------------------------------------------- the block

def _model(blocks=(), *, total_units: int = 2, existing=None) -> CapacitatedMCLP:
    """3 sites × 5 demand points: A reaches d1, d2 (weight 10 each), B reaches d3, d4 (8 each), C only d5 (1).

    One unit per site, capacity 100: without a rule the best 2 sites are A (20) and B (16).
    """
    cost = pd.DataFrame({"demand_id": ["d1", "d2", "d3", "d4", "d5"], "site_id": ["A", "A", "B", "B", "C"],
                         "cost": [1.0, 2.0, 1.0, 2.0, 1.0]})
    return CapacitatedMCLP.from_cost_matrix(
        cost, demand_ids=["d1", "d2", "d3", "d4", "d5"], site_ids=["A", "B", "C"],
        weights=[10.0, 10.0, 8.0, 8.0, 1.0], radius=5.0, total_units=total_units, capacity_per_unit=100.0,
        min_units=1, max_units=1, existing=existing, blocks=blocks)


def _group(*site_ids, key="t1") -> SiteGroup:
    return SiteGroup(key=key, label=f"township {key}", site_ids=tuple(site_ids))


def test_without_the_block_the_small_site_stays_closed():
    assert sorted(_model().solve("highs").selected) == ["A", "B"]


def test_the_block_opens_a_site_in_every_group():
    block = EverySiteGroupBlock(groups=(_group("C"),), noun="townships")
    result = _model((block,)).solve("highs")
    # C must open; of A (20) and B (16) the plan keeps A: served 20 + 1
    assert sorted(result.selected) == ["A", "C"]
    assert result.extra["demand_served"] == pytest.approx(21.0)


def test_a_group_with_an_existing_site_needs_no_new_one():
    block = EverySiteGroupBlock(groups=(_group("C"),))
    result = _model((block,), existing={"C": 1}).solve("highs")
    assert sorted(result.selected) == ["A", "B", "C"]  # 2 new units where they serve most, C kept


def test_the_greedy_start_is_repaired_to_obey_the_block():
    block = EverySiteGroupBlock(groups=(_group("C"),))
    assert _model().greedy()[0].tolist() == [1, 1, 0]
    units, amount = _model((block,)).greedy()
    assert units.tolist() == [1, 0, 1]  # B (the donor with the most spare capacity) gave its unit to C
    assert amount.sum() == pytest.approx(21.0)


def test_a_group_without_a_site_is_named():
    block = EverySiteGroupBlock(groups=(_group("A"), _group(key="370299101")), fix="add a candidate")
    with pytest.raises(InfeasibleError, match=r"township 370299101 has no candidate site.*add a candidate"):
        _model((block,)).solve("highs")


def test_a_target_too_small_for_every_group_names_the_first_group_left_out():
    block = EverySiteGroupBlock(groups=(_group("A", key="t1"), _group("B", key="t2"), _group("C", key="t3")),
                                noun="townships")
    with pytest.raises(InfeasibleError, match=r"3 townships need a new site each.*before township t3 gets one"):
        _model((block,), total_units=2).solve("highs")


def test_a_group_outside_the_model_is_left_to_the_part_that_has_it():
    # a decomposition by district hands each part only its own sites: a group of another district is skipped
    block = EverySiteGroupBlock(groups=(_group("Z", key="elsewhere"),))
    assert sorted(_model((block,)).solve("highs").selected) == ["A", "B"]


# --------------------------------------------------------------------------- scenario

def test_every_township_needs_townships(tmp_path):
    scenario = write_region(tmp_path, rural="every_township = true")
    with pytest.raises(ScenarioError, match=r"'rural.every_township' = True needs township polygons.*region.townships"):
        load_scenario(scenario)


def test_townships_and_attribution_are_read(tmp_path):
    s = load_scenario(write_region(tmp_path, region=WITH_TOWNSHIPS, rural="every_township = true"))
    assert s.region.townships == (tmp_path / "townships.geojson").resolve()
    assert s.region.attribution.startswith("©")
    assert s.tier("rural").every_township and not s.tier("public").every_township


# --------------------------------------------------------------------------- plans

def _plan(tmp_path: Path, name: str, capsys, **options) -> Path:
    out = tmp_path / name / "out"
    scenario = write_region(tmp_path / name, **options)
    code = main(["plan", str(scenario), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"district_code": str, "township_code": str},
                       keep_default_na=False)


@pytest.fixture(scope="module")
def served_plan(tmp_path_factory) -> Path:
    """Every township served, with no rural candidate but the townships' own (density threshold out of reach)."""
    root = tmp_path_factory.mktemp("served")
    out = root / "out"
    scenario = write_region(root, region=WITH_TOWNSHIPS,
                            rural="every_township = true\ncandidate_min_density_per_km2 = 1e9")
    assert main(["plan", str(scenario), "--out", str(out), "--quiet"]) == 0
    return out


def test_every_populated_township_gets_a_public_or_rural_site(served_plan):
    sites = _read(served_plan / "sites.csv")
    charging = sites[sites["tier"].isin(["public", "rural"])]
    assert set(charging["township_code"]) == set(TOWNSHIPS)
    public = set(sites.loc[sites["tier"] == "public", "township_code"])
    rural = sites[sites["tier"] == "rural"]
    # the rural sites are the townships' own candidates, one per township the public tier left out
    assert set(rural["township_code"]) == set(TOWNSHIPS) - public
    assert (rural["kind"] == "township").all() and rural["site_id"].str.startswith("rural-township-").all()
    assert rural["chargers"].sum() == 40


def test_every_site_lies_in_the_township_it_names(served_plan):
    sites = _read(served_plan / "sites.csv")
    candidates = _read(served_plan / "candidates.csv")
    polygons = township_frame().set_index("township_code").geometry
    for table in (sites, candidates):
        assert (table["township_code"] != "").all()
        points = gpd.points_from_xy(table["lon"], table["lat"])
        inside = [polygons[code].buffer(1e-5).contains(point) for code, point in zip(table["township_code"], points)]
        assert all(inside)
    assert dict(zip(sites["township_code"], sites["township_name"])) == {
        code: TOWNSHIPS[code][0] for code in set(sites["township_code"])}


def test_townships_csv_adds_up_to_the_tiers(served_plan):
    table = _read(served_plan / "townships.csv")
    sites = _read(served_plan / "sites.csv")
    districts = _read(served_plan / "districts.csv")
    assert list(table.columns[:8]) == ["township_code", "township_name", "district_code", "district_name",
                                       "township_kind", "tier", "sites", "chargers"]
    assert {"demand", "share_covered"} <= set(table.columns)
    assert len(table) == 4 * 3  # every township × public, residential, rural
    for tier in ("public", "residential", "rural"):
        rows = table[table["tier"] == tier]
        assert rows["chargers"].sum() == sites.loc[sites["tier"] == tier, "chargers"].sum()
        assert rows["sites"].sum() == (sites["tier"] == tier).sum()
        total = districts.loc[districts["tier"] == tier, "demand"].astype(float).sum()
        assert rows["demand"].astype(float).sum() == pytest.approx(total, rel=1e-6)
    # urban demand lives in the two subdistricts only (the township demand model)
    public = table[table["tier"] == "public"].set_index("township_code")["demand"].astype(float)
    assert public["370299101"] == 0 and public["370299001"] > 0


def test_the_map_and_report_carry_townships_and_attribution(served_plan):
    html = (served_plan / "map.html").read_text(encoding="utf-8")
    assert "Townships: chargers per 1,000 EVs" in html and "Township names" in html
    assert "Township name or code" in html  # the township search
    assert '"search": ' + json.dumps("北甲镇 370299101") in html  # what the township search matches
    assert "attributionControl.addAttribution(" + json.dumps("© OpenStreetMap contributors (ODbL)") in html
    report = (served_plan / "report.html").read_text(encoding="utf-8")
    assert "4 townships, 4 of them with EVs; 4 of these have a charging site" in report
    assert "© OpenStreetMap contributors (ODbL)" in report
    layers = gpd.list_layers(served_plan / "sites.gpkg")["name"].tolist()
    assert "townships" in layers


def test_plan_json_hashes_the_townships(served_plan):
    record = json.loads((served_plan / "plan.json").read_text(encoding="utf-8"))
    assert "townships" in record["input_sha256"]


def test_without_townships_no_township_file_and_empty_addresses(tmp_path, capsys):
    out = _plan(tmp_path, "plain", capsys)
    assert not (out / "townships.csv").exists()
    sites = _read(out / "sites.csv")
    assert (sites["township_code"] == "").all() and (sites["township_name"] == "").all()
    assert "Township" not in (out / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors (ODbL)" not in (out / "report.html").read_text(encoding="utf-8")


def test_a_rural_target_too_small_names_a_township(tmp_path, capsys):
    scenario = write_region(tmp_path, region=WITH_TOWNSHIPS, targets="",
                            rural="every_township = true\ncandidate_min_density_per_km2 = 1e9")
    text = scenario.read_text(encoding="utf-8").replace("rural_chargers = 40", "rural_chargers = 2")
    scenario.write_text(text, encoding="utf-8")
    code = main(["plan", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "rural tier" in err and "townships need a new site each" in err
    assert any(f"township {c} {n}" in err for c, (n, *_) in TOWNSHIPS.items())


# --------------------------------------------------------------------------- the default plan

@pytest.mark.slow
def test_every_populated_township_is_served_in_the_default_plan(tmp_path):
    from siting.plan import run_plan
    from siting.tables import township_metrics

    plan = run_plan(load_scenario())
    assert plan.townships is not None and len(plan.townships) == 135
    metrics = township_metrics(plan)
    populated = metrics[metrics["evs"] > 0]
    served = plan.sites()
    served = set(served.loc[served["tier"].isin(["public", "rural"]), "township_code"])
    assert set(populated["township_code"]) <= served
    polygons = plan.townships.set_index("township_code").geometry
    sites = plan.sites()
    inside = [polygons[c].buffer(1e-6).contains(p) for c, p in zip(sites["township_code"], sites.geometry)]
    assert np.mean(inside) == 1.0


def test_the_township_search_finds_a_township_and_opens_its_popup(served_plan):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto((served_plan / "map.html").resolve().as_uri(), wait_until="load")
        page.locator(".search-button").nth(1).click()  # the second magnifier: townships
        page.locator("input.search-input").nth(1).click()
        page.keyboard.type("370299101", delay=10)
        page.wait_for_selector(".search-tip")
        page.keyboard.press("Enter")
        page.wait_for_selector(".leaflet-popup-content")
        popup = page.locator(".leaflet-popup-content").inner_text()
        checked = page.locator(".leaflet-control-layers label", has_text="Townships:").locator("input").is_checked()
        attribution = page.locator(".leaflet-control-attribution").inner_text()
        browser.close()
    assert "北甲镇" in popup and "370299101" in popup
    assert checked  # the township layer was switched on
    assert "© OpenStreetMap contributors (ODbL)" in attribution
    assert problems == []
