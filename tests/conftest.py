"""Shared fixtures: a small real slice of the Qingdao data as a user-style scenario."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
#: Three districts: 市南, 市北 (all urban) and 崂山 (urban and rural).
SLICE = ["370202", "370203", "370212"]


def write_slice(folder: Path, *, targets: dict | None = None, extra: str = "") -> Path:
    """Write a scenario over three real Qingdao districts into ``folder``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    districts = gpd.read_file(DATA / "boundaries" / "qingdao_districts.geojson")
    districts = districts[districts["district_code"].isin(SLICE)]
    districts.to_file(folder / "districts.geojson", driver="GeoJSON")
    stats = pd.read_csv(DATA / "demand" / "qingdao_district_stats.csv", dtype={"district_code": str})
    stats[stats["district_code"].isin(SLICE)].to_csv(folder / "stats.csv", index=False)
    centres = pd.read_csv(DATA / "demand" / "qingdao_urban_centres.csv", dtype={"district_code": str})
    centres[centres["district_code"].isin(SLICE)].to_csv(folder / "centres.csv", index=False)
    hubs = pd.DataFrame({
        "hub_id": ["A", "B", "C", "D"], "name": ["Port", "Depot", "Logistics", "Sanitation"],
        "lon": [120.330, 120.380, 120.470, 120.600], "lat": [36.090, 36.080, 36.120, 36.200],
        "demand_kg_per_day": [600.0, 400.0, 500.0, 200.0],
    })
    hubs.to_csv(folder / "hubs.csv", index=False)
    pd.DataFrame({"station_id": ["S1"], "name": ["Existing"], "lon": [120.370], "lat": [36.100],
                  "capacity_kg_per_day": [800.0]}).to_csv(folder / "stations.csv", index=False)
    t = {"public_chargers": 3000, "residential_chargers": 8000, "rural_chargers": 200, "hydrogen_new_stations": 2}
    t.update(targets or {})
    scenario = folder / "scenario.toml"
    scenario.write_text(textwrap.dedent(f"""\
        name = "qingdao_slice"
        title = "Three Qingdao districts"

        [region]
        boundaries = "districts.geojson"
        district_stats = "stats.csv"
        urban_centres = "centres.csv"
        metric_crs = "EPSG:32651"

        [targets]
        public_chargers = {t['public_chargers']}
        residential_chargers = {t['residential_chargers']}
        rural_chargers = {t['rural_chargers']}
        hydrogen_new_stations = {t['hydrogen_new_stations']}

        [demand]
        cell_size_m = 1000

        [hydrogen]
        demand_hubs = "hubs.csv"
        existing_stations = "stations.csv"
        radius_m = 8000

        [solver]
        time_limit_s = 30
        mip_gap = 0.001
        """) + extra, encoding="utf-8")
    return scenario


@pytest.fixture
def slice_scenario(tmp_path: Path) -> Path:
    return write_slice(tmp_path / "inputs")
