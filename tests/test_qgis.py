"""QGIS layer styles in the GeoPackage: one default QML per layer, as QGIS reads them back."""

from __future__ import annotations

import itertools
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from siting._errors import DataError
from siting.qgis import plan_styles, quantile_breaks, read_layer_styles, write_layer_styles

COLOURS = {"public": "#1f77b4", "residential": "#2ca02c", "rural": "#ff7f0e", "hydrogen": "#d62728"}
ZH_TIERS = {"public": "公共充电", "residential": "居住区充电", "rural": "农村充电", "hydrogen": "加氢站"}


def _square(x: float, y: float, side: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def _gpkg(folder: Path) -> Path:
    """A plan-shaped GeoPackage: 4 sites, 4 candidates, 2 districts, 4 grid cells, 1 township, 1 line layer."""
    path = folder / "sites.gpkg"
    crs = "EPSG:4326"
    gpd.GeoDataFrame({"site_id": ["public-1", "public-2", "residential-1", "hydrogen-1"],
                      "tier": ["public", "public", "residential", "hydrogen"], "name": ["市南停车场", "", "R1", "H1"],
                      "chargers": [4, 60, 400, 0], "district_name": ["市南区"] * 4},
                     geometry=gpd.points_from_xy([120.30, 120.31, 120.315, 120.32], [36.06, 36.07, 36.075, 36.08]),
                     crs=crs
                     ).to_file(path, layer="sites", driver="GPKG")
    gpd.GeoDataFrame({"site_id": ["c1", "c2", "c3", "c4"], "tier": ["public", "rural", "residential", "hydrogen"]},
                     geometry=gpd.points_from_xy([120.3] * 4, [36.1] * 4), crs=crs
                     ).to_file(path, layer="candidates", driver="GPKG")
    gpd.GeoDataFrame({"district_code": ["370202", "370203"], "district_name": ["市南区", "市北区"]},
                     geometry=[_square(120.3, 36.0, 0.1), _square(120.4, 36.0, 0.1)], crs=crs
                     ).to_file(path, layer="districts", driver="GPKG")
    gpd.GeoDataFrame({"evs": [10.0, 20.0, 30.0, 400.0], "area_km2": [1.0, 1.0, 1.0, 0.5]},
                     geometry=[_square(120.3 + i / 100, 36.0) for i in range(4)], crs=crs
                     ).to_file(path, layer="demand_grid", driver="GPKG")
    gpd.GeoDataFrame({"township_code": ["370202001"], "township_name": ["八大关街道"]},
                     geometry=[_square(120.3, 36.0, 0.05)], crs=crs).to_file(path, layer="townships", driver="GPKG")
    gpd.GeoDataFrame({"station_id": ["s1"]}, geometry=[shapely.LineString([(120.3, 36.0), (120.4, 36.1)])],
                     crs=crs).to_file(path, layer="h2_supply", driver="GPKG")
    return path


@pytest.fixture
def styled(tmp_path) -> Path:
    path = _gpkg(tmp_path)
    styles = plan_styles(path, tier_colours=COLOURS, tier_labels=ZH_TIERS, labels={"site_id": "站点编号"})
    write_layer_styles(path, styles)
    return path


def _renderer(qml: str) -> ET.Element:
    root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
    assert root.tag == "qgis"
    return root


def test_one_default_style_per_layer_in_qgis_schema(styled):
    with closing(sqlite3.connect(styled)) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(layer_styles)")]
        rows = db.execute("SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                          "useAsDefault FROM layer_styles ORDER BY f_table_name").fetchall()
        registered = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    assert columns == ["id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
                       "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"]
    assert registered == ("attributes",)
    assert [r[2] for r in rows] == sorted(geometry)  # every layer, once
    for catalog, schema, table, column, name, default in rows:
        assert (catalog, schema, name, default) == ("", "", "siting", 1)
        assert column == geometry[table]  # QGIS matches the style on the layer's geometry column


def test_gdal_reads_the_styles_table_and_the_layers_still_open(styled):
    layers = dict(pyogrio.list_layers(styled))
    assert layers["layer_styles"] is None  # an attribute table, as QGIS/GDAL create it
    table = pyogrio.read_dataframe(styled, layer="layer_styles")
    assert len(table) == 6
    assert len(gpd.read_file(styled, layer="sites")) == 4


def test_renderer_types(styled):
    qml = read_layer_styles(styled)
    assert set(qml) == {"sites", "candidates", "districts", "demand_grid", "townships", "h2_supply"}
    types = {layer: _renderer(text).find("renderer-v2").get("type") for layer, text in qml.items()}
    assert types == {"sites": "categorizedSymbol", "candidates": "categorizedSymbol", "districts": "singleSymbol",
                     "demand_grid": "graduatedSymbol", "townships": "singleSymbol", "h2_supply": "singleSymbol"}


def test_sites_by_tier_sized_by_chargers_with_labels(styled):
    root = _renderer(read_layer_styles(styled)["sites"])
    renderer = root.find("renderer-v2")
    assert renderer.get("attr") == "tier"
    categories = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    assert categories == {"public": "公共充电", "residential": "居住区充电", "rural": "农村充电", "hydrogen": "加氢站"}
    symbols = {s.get("name"): s for s in renderer.find("symbols")}
    colours, tops = {}, {"public": 60, "residential": 400, "rural": 1}  # each tier's largest site (rural: none)
    for category in renderer.iter("category"):
        options = {o.get("name"): o.get("value") for o in symbols[category.get("symbol")].iter("Option")}
        colours[category.get("value")] = options["color"]
        if category.get("value") == "hydrogen":
            assert options["name"] == "triangle" and "expression" not in options
        else:  # area ∝ chargers: sqrt scale up to the tier's largest site
            top = tops[category.get("value")]
            assert options["expression"] == f'coalesce(scale_exp("chargers", 0, {top}, 1.6, 6, 0.5), 1.6)'
    assert colours["public"] == "31,119,180,255" and colours["hydrogen"] == "214,39,40,255"
    assert root.get("labelsEnabled") == "1"
    text_style = root.find("labeling/settings/text-style")
    assert text_style.get("fieldName") == "coalesce(nullif(\"name\", ''), nullif(\"site_id\", ''))"
    assert text_style.get("isExpression") == "1"
    aliases = {a.get("field"): (a.get("name"), a.get("index")) for a in root.iter("alias")}
    assert aliases == {"site_id": ("站点编号", "1")}  # index 0 is the fid


def test_demand_grid_quantile_classes_of_evs_per_km2(styled):
    renderer = _renderer(read_layer_styles(styled)["demand_grid"]).find("renderer-v2")
    assert renderer.get("attr") == '"evs" / "area_km2"'
    ranges = [(float(r.get("lower")), float(r.get("upper"))) for r in renderer.iter("range")]
    assert ranges[0][0] == 10.0 and ranges[-1][1] == 800.0  # 400 EVs on 0.5 km²
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))


def test_districts_outline_and_name(styled):
    root = _renderer(read_layer_styles(styled)["districts"])
    options = {o.get("name"): o.get("value") for o in root.find("renderer-v2").iter("Option")}
    assert options["style"] == "no" and options["outline_style"] == "solid"
    assert root.find("labeling/settings/text-style").get("fieldName") == (
        "coalesce(nullif(\"district_name\", ''), nullif(\"district_code\", ''))")


def test_writing_again_replaces_the_style(styled):
    write_layer_styles(styled, {"sites": plan_styles(styled, tier_colours={"public": "#000000"})["sites"]})
    with closing(sqlite3.connect(styled)) as db:
        rows = db.execute("SELECT count(*), sum(useAsDefault) FROM layer_styles "
                          "WHERE f_table_name = 'sites'").fetchone()
    assert rows == (1, 1)
    assert "0,0,0,255" in read_layer_styles(styled)["sites"]


def test_unknown_layer_and_bad_colour_are_refused(tmp_path):
    path = _gpkg(tmp_path)
    with pytest.raises(DataError, match=r"sites.gpkg: no feature layer 'roads' to style"):
        write_layer_styles(path, {"roads": "<qgis/>"})
    with pytest.raises(DataError, match=r"colour 'blue' is not #rrggbb"):
        plan_styles(path, tier_colours={"public": "blue"})


def test_quantile_breaks_by_hand():
    assert quantile_breaks(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 4) == [1.0, 2.0, 3.0, 4.0, 5.0]
    # the ends round outwards: the densest cell (2472.1648) stays inside the last class
    assert quantile_breaks(np.array([3.9382, 5.0, 9.0, 70.0, 2472.1648]), 2) == [3.0, 9.0, 2473.0]
    assert quantile_breaks(np.array([7.0, 7.0]), 5) == [7.0, 8.0]
    assert quantile_breaks(np.array([]), 5) == [0.0, 1.0]


QGIS_PYTHON = "/usr/bin/python3"  # Debian's python3-qgis installs QGIS's bindings for the system Python
QGIS_CHECK = """
import json, sys
sys.path = [p for p in sys.path if "site-packages" not in p]  # the system Python's own packages only
from qgis.core import QgsApplication, QgsVectorLayer
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    message, ok = layer.loadDefaultStyle()
    out[name] = {"ok": ok, "renderer": layer.renderer().type(), "labels": layer.labelsEnabled(),
                 "aliases": {f.name(): f.alias() for f in layer.fields() if f.alias()}}
print(json.dumps(out), flush=True)
import os
os._exit(0)  # QGIS may crash tearing down layers still referenced; the answer is out
"""


def _qgis_available() -> bool:
    import subprocess
    try:
        probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(not _qgis_available(), reason="QGIS's Python bindings (Debian python3-qgis) are not installed")
def test_qgis_itself_loads_the_default_styles(styled, tmp_path):
    import json
    import os
    import subprocess
    script = tmp_path / "check.py"
    script.write_text(QGIS_CHECK, encoding="utf-8")
    layers = ["sites", "candidates", "districts", "demand_grid", "townships", "h2_supply"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    run = subprocess.run([QGIS_PYTHON, str(script), str(styled), *layers], capture_output=True, text=True,
                         timeout=300, env=env, check=True)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert {k: (v["ok"], v["renderer"], v["labels"]) for k, v in got.items()} == {
        "sites": (True, "categorizedSymbol", True), "candidates": (True, "categorizedSymbol", False),
        "districts": (True, "singleSymbol", True), "demand_grid": (True, "graduatedSymbol", False),
        "townships": (True, "singleSymbol", True), "h2_supply": (True, "singleSymbol", False)}
    assert got["sites"]["aliases"] == {"site_id": "站点编号"}
