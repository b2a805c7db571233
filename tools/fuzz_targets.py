"""Fuzz targets for the parsers: every input either parses or raises a SitingError.

Used by ``tests/test_fuzz.py`` (a short run) and ``tools/fuzz_inputs.py`` (a
long run that writes docs/reliability.md). Each target takes bytes or text,
writes it to a scratch folder and calls the reader a user's file would meet.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import shapely

from siting._errors import SitingError
from siting.inputs import read_boundaries, read_district_stats, read_points
from siting.scenario import load_scenario


def _boundaries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"district_code": ["A", "B"], "district_name": ["a", "b"], "district_name_en": ["a", "b"]},
                            geometry=[shapely.box(120.0, 36.0, 120.5, 36.5), shapely.box(120.5, 36.0, 121.0, 36.5)],
                            crs="EPSG:4326")


def fuzz_scenario(text: str) -> None:
    """Parse a scenario file's text; SitingError is the only accepted failure."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _expect_clean(load_scenario, path)


def fuzz_stats_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.csv"
        path.write_bytes(data)
        _expect_clean(read_district_stats, path, _boundaries(), ev_stock=1000)


def fuzz_points_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hubs.csv"
        path.write_bytes(data)
        _expect_clean(read_points, path, id_column="hub_id", required=["demand_kg_per_day"], boundaries=_boundaries())


def fuzz_geojson(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "districts.geojson"
        path.write_bytes(data)
        _expect_clean(read_boundaries, path, metric_crs="EPSG:32651")


def _expect_clean(reader, *args, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader(*args, **kwargs)
        except SitingError:
            pass
