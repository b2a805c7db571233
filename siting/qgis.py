"""QGIS-ready GeoPackage: a default style for every layer, stored in the file itself.

QGIS reads a layer's default style from the GeoPackage's ``layer_styles``
table (the table QGIS itself writes with "Save style → In database"), so
``sites.gpkg`` opens styled: sites coloured by tier and sized by chargers
with labels, candidates as small points by tier, districts as outlines with
their names, the demand grid as a graduated fill, townships as dashed
outlines, and any other layer with a plain symbol.

The table follows QGIS's own schema (``QgsOgrProviderMetadata::saveStyle``):
it is a GeoPackage attribute table registered in ``gpkg_contents``, a style
matches its layer by ``f_table_name`` and ``f_geometry_column`` with
``f_table_schema`` empty, and the style with ``useAsDefault`` set is loaded.
Only :mod:`sqlite3` of the standard library is used.
"""

from __future__ import annotations

import math
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from siting._errors import DataError

#: The QGIS version the QML is written for (3.x reads it; 3.28 is a long-term release).
QGIS_VERSION = "3.28.0"
STYLE_NAME = "siting"
#: Five classes of yellow → red (ColorBrewer YlOrRd) for graduated fills.
YLORRD = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Label font size (points) and the scale below which point labels show (1:50,000: a district at a glance).
LABEL_SIZE_PT = 8.0
POINT_LABELS_MAX_SCALE = 50_000
#: Marker sizes (mm) of the smallest and the largest charger site; hydrogen stations and candidates.
SITE_SIZE_MM = (1.6, 6.0)
STATION_SIZE_MM = 4.0
CANDIDATE_SIZE_MM = 1.2
_GEOMETRY_TYPE = {"POINT": 0, "MULTIPOINT": 0, "LINESTRING": 1, "MULTILINESTRING": 1, "POLYGON": 2,
                  "MULTIPOLYGON": 2}
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "f_table_catalog" TEXT(256),
    "f_table_schema" TEXT(256),
    "f_table_name" TEXT(256),
    "f_geometry_column" TEXT(256),
    "styleName" TEXT(30),
    "styleQML" TEXT,
    "styleSLD" TEXT,
    "useAsDefault" BOOLEAN,
    "description" TEXT,
    "owner" TEXT(30),
    "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)"""


# ------------------------------------------------------------------------------------------------ the table
def write_layer_styles(gpkg_path: Path, styles: Mapping[str, str], *, style_name: str = STYLE_NAME,
                       description: str = "siting plan style") -> None:
    """Store a default QGIS style (QML) for layers of a GeoPackage in its ``layer_styles`` table.

    Parameters
    ----------
    gpkg_path : Path
        An existing GeoPackage (e.g. ``sites.gpkg`` written by pyogrio).
    styles : mapping of str to str
        Layer (table) name → QML document, e.g. from :func:`plan_styles`.
    style_name : str
        The name QGIS lists the style under (≤ 30 characters); a style of
        that name for the same layer is replaced.
    description : str

    Raises
    ------
    DataError
        The file is not a GeoPackage, or a layer named in ``styles`` is not
        one of its feature tables.
    """
    gpkg_path = Path(gpkg_path)
    now = _timestamp()
    with closing(_connect(gpkg_path)) as db, db:
        geometry_columns = _geometry_columns(gpkg_path, db)
        unknown = sorted(set(styles) - set(geometry_columns))
        if unknown:
            msg = (f"{gpkg_path}: no feature layer {unknown[0]!r} to style (layers: "
                   f"{', '.join(sorted(geometry_columns))}); write the layer before its style")
            raise DataError(msg)
        db.execute(_CREATE_TABLE)
        _register(db, now)
        for layer, qml in styles.items():
            column = geometry_columns[layer][0]
            db.execute('UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND f_geometry_column = ?',
                       (layer, column))
            db.execute('DELETE FROM layer_styles WHERE f_table_name = ? AND f_geometry_column = ? AND styleName = ?',
                       (layer, column, style_name[:30]))
            db.execute(
                'INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, '
                'styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) '
                'VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)',
                ("", "", layer, column, style_name[:30], qml, "", description, "", None, now))


def plan_styles(gpkg_path: Path, *, tier_colours: Mapping[str, str], tier_labels: Mapping[str, str] | None = None,
                labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """A QML style for every feature layer of a plan's GeoPackage.

    Parameters
    ----------
    gpkg_path : Path
        ``sites.gpkg``; its layers' names, geometry types and the values the
        styles scale by (chargers, EV density) are read from it.
    tier_colours : mapping of str to str
        Tier → colour as ``#rrggbb`` (e.g. :data:`siting.render.TIER_COLOURS`).
    tier_labels : mapping of str to str, optional
        Tier → legend text (e.g. in the scenario's language); the tier name otherwise.
    labels : mapping of str to str, optional
        Column → alias shown in QGIS's attribute table and forms (e.g. Chinese headers).

    Returns
    -------
    dict of str to str
        Layer → QML: ``sites`` (categorised by tier, size by chargers on a
        square-root scale, labelled by name or site id), ``candidates`` (small
        points by tier), ``districts`` (outline and name), ``demand_grid``
        (EVs per km², quantile classes), ``townships`` (dashed outline and
        name) and any other layer (a single symbol for its geometry).
    """
    gpkg_path = Path(gpkg_path)
    with closing(_connect(gpkg_path)) as db:
        layers = _geometry_columns(gpkg_path, db)
        styles = {}
        for layer, (geometry_column, geometry_type) in layers.items():
            fields = _fields(db, layer, geometry_column)
            aliases = {f: labels[f] for f in fields if labels and f in labels}
            kind = _GEOMETRY_TYPE.get(geometry_type.upper(), 0)
            if layer == "sites" and "tier" in fields:
                chargers = _max_by_tier(db, layer, "chargers") if "chargers" in fields else {}
                label = _label_expression(fields, ("name", "site_id"))
                qml = sites_qml(tier_colours, tier_labels=tier_labels, max_chargers=chargers, label=label)
            elif layer == "candidates" and "tier" in fields:
                qml = candidates_qml(tier_colours, tier_labels=tier_labels)
            elif layer == "districts" and kind == 2:
                qml = outline_qml(label=_label_expression(fields, ("district_name", "district_code")),
                                  colour="#444444", width_mm=0.6)
            elif layer == "townships" and kind == 2:
                qml = outline_qml(label=_label_expression(fields, ("township_name", "township_code")),
                                  colour="#777777", width_mm=0.3, dashed=True, label_max_scale=POINT_LABELS_MAX_SCALE)
            elif layer == "demand_grid" and kind == 2 and "evs" in fields:
                value = '"evs" / "area_km2"' if "area_km2" in fields else '"evs"'
                sql = ('SELECT "evs" / "area_km2" FROM "demand_grid" WHERE "area_km2" > 0' if "area_km2" in fields
                       else 'SELECT "evs" FROM "demand_grid"')
                values = np.array([r[0] for r in db.execute(sql) if r[0] is not None], dtype=float)
                qml = graduated_fill_qml(value, quantile_breaks(values, len(YLORRD)), YLORRD)
            else:
                qml = single_symbol_qml(kind)
            styles[layer] = _with_aliases(qml, aliases, fields)
    return styles


def read_layer_styles(gpkg_path: Path) -> dict[str, str]:
    """The default QML of each layer in ``gpkg_path``'s ``layer_styles`` table (empty if it has none)."""
    with closing(_connect(Path(gpkg_path))) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'").fetchone():
            return {}
        rows = db.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault ORDER BY update_time")
        return dict(rows.fetchall())


# ------------------------------------------------------------------------------------------------ the QML
def sites_qml(tier_colours: Mapping[str, str], *, tier_labels: Mapping[str, str] | None = None,
              max_chargers: Mapping[str, float] | None = None, label: str | None = '"site_id"') -> str:
    """Sites categorised by ``tier``: charger sites as circles sized by √chargers, hydrogen as triangles.

    Parameters
    ----------
    tier_colours : mapping of str to str
        Tier → ``#rrggbb``.
    tier_labels : mapping of str to str, optional
        Tier → legend text.
    max_chargers : mapping of str to float, optional
        Tier → its largest site's chargers, which gets the largest marker
        (:data:`SITE_SIZE_MM`). Within a tier the diameter grows with
        √chargers from the smallest marker at 0 (QGIS's ``scale_exp`` with
        exponent 0.5, as its size assistant writes it), so a marker's area
        grows about in proportion to its chargers. Each tier has its own
        scale: a residential hub of 400 chargers does not shrink the public
        sites of 10 to dots.
    label : str or None
        A QGIS expression for the label, shown below 1:50,000; None for none.
    """
    small, large = SITE_SIZE_MM
    categories, symbols = [], []
    for i, (tier, colour) in enumerate(tier_colours.items()):
        name = (tier_labels or {}).get(tier, tier)
        if tier == "hydrogen":
            symbols.append(_marker_symbol(str(i), colour, STATION_SIZE_MM, shape="triangle"))
        else:
            top = max(float((max_chargers or {}).get(tier, 0.0)), 1.0)
            size = (f'coalesce(scale_exp("chargers", 0, {_num(top)}, {_num(small)}, {_num(large)}, 0.5), '
                    f'{_num(small)})')
            symbols.append(_marker_symbol(str(i), colour, small, size_expression=size))
        categories.append((tier, name, str(i)))
    root = _qgis(labels_enabled=label is not None)
    _categorized(root, "tier", categories, symbols)
    if label is not None:
        _labeling(root, label, placement=0, max_scale=POINT_LABELS_MAX_SCALE)
    ET.SubElement(root, "mapTip").text = ('<b>[% "site_id" %]</b> [% "name" %]<br>[% "tier" %] · '
                                          '[% "chargers" %] · [% "district_name" %]')
    ET.SubElement(root, "layerGeometryType").text = "0"
    return _serialise(root)


def candidates_qml(tier_colours: Mapping[str, str], *, tier_labels: Mapping[str, str] | None = None) -> str:
    """Candidates as small semi-transparent points categorised by ``tier``."""
    categories, symbols = [], []
    for i, (tier, colour) in enumerate(tier_colours.items()):
        symbols.append(_marker_symbol(str(i), colour, CANDIDATE_SIZE_MM, alpha=0.6, outline="no"))
        categories.append((tier, (tier_labels or {}).get(tier, tier), str(i)))
    root = _qgis(labels_enabled=False)
    _categorized(root, "tier", categories, symbols)
    ET.SubElement(root, "layerGeometryType").text = "0"
    return _serialise(root)


def outline_qml(*, label: str | None, colour: str = "#444444", width_mm: float = 0.5, dashed: bool = False,
                label_max_scale: float | None = None) -> str:
    """Polygons as outlines without fill, labelled at their centre (districts, townships)."""
    root = _qgis(labels_enabled=label is not None)
    renderer = ET.SubElement(root, "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0",
                             forceraster="0")
    symbols = ET.SubElement(renderer, "symbols")
    symbols.append(_fill_symbol("0", None, colour, width_mm, dashed=dashed))
    if label is not None:
        _labeling(root, label, placement=1, max_scale=label_max_scale, bold=not dashed)
    ET.SubElement(root, "layerGeometryType").text = "2"
    return _serialise(root)


def graduated_fill_qml(value: str, breaks: Sequence[float], colours: Sequence[str]) -> str:
    """Polygons filled by classes of a value (no outline), e.g. EVs per km².

    Parameters
    ----------
    value : str
        A field name or QGIS expression (``'"evs" / "area_km2"'``).
    breaks : sequence of float
        Class limits, ascending, one more than the classes.
    colours : sequence of str
        One ``#rrggbb`` per class (the last ones are used when there are fewer classes).
    """
    root = _qgis(labels_enabled=False)
    renderer = ET.SubElement(root, "renderer-v2", type="graduatedSymbol", attr=value, graduatedMethod="GraduatedColor",
                             symbollevels="0", enableorderby="0", forceraster="0")
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    n = len(breaks) - 1
    palette = list(colours)[-n:] if n > 0 else []
    for i in range(n):
        lower, upper = breaks[i], breaks[i + 1]
        ET.SubElement(ranges, "range", lower=repr(float(lower)), upper=repr(float(upper)), symbol=str(i),
                      label=f"{_pretty(lower)} – {_pretty(upper)}", render="true")
        symbols.append(_fill_symbol(str(i), palette[i], None, 0.0, alpha=0.6))
    ET.SubElement(renderer, "mode", name="quantile")
    ET.SubElement(root, "layerGeometryType").text = "2"
    return _serialise(root)


def single_symbol_qml(geometry_kind: int, colour: str = "#6a51a3") -> str:
    """One plain symbol for a point (0), line (1) or polygon (2) layer."""
    root = _qgis(labels_enabled=False)
    renderer = ET.SubElement(root, "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0",
                             forceraster="0")
    symbols = ET.SubElement(renderer, "symbols")
    if geometry_kind == 0:
        symbols.append(_marker_symbol("0", colour, 2.0))
    elif geometry_kind == 1:
        symbols.append(_line_symbol("0", colour, 0.6))
    else:
        symbols.append(_fill_symbol("0", colour, "#3f007d", 0.3, alpha=0.4))
    ET.SubElement(root, "layerGeometryType").text = str(geometry_kind)
    return _serialise(root)


def quantile_breaks(values: np.ndarray, n_classes: int) -> list[float]:
    """Class limits at the quantiles of ``values`` (duplicates merged), rounded outwards to whole numbers at the ends.

    The first limit is the minimum rounded down and the last the maximum
    rounded up, so that no feature falls outside every class (QGIS draws such
    a feature not at all).
    """
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [0.0, 1.0]
    limits = np.quantile(finite, np.linspace(0, 1, n_classes + 1))
    limits[0], limits[-1] = math.floor(limits[0]), math.ceil(limits[-1])
    limits = [float(v) for v in np.unique(np.round(limits, 3))]
    return limits if len(limits) > 1 else [limits[0], limits[0] + 1.0]


# ------------------------------------------------------------------------------------------------ helpers
def _qgis(*, labels_enabled: bool) -> ET.Element:
    return ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories",
                      labelsEnabled="1" if labels_enabled else "0", hasScaleBasedVisibilityFlag="0")


def _serialise(root: ET.Element) -> str:
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _categorized(root: ET.Element, attr: str, categories: list[tuple[str, str, str]],
                 symbols: list[ET.Element]) -> None:
    renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=attr, symbollevels="0",
                             enableorderby="0", forceraster="0")
    cats = ET.SubElement(renderer, "categories")
    for value, label, symbol in categories:
        ET.SubElement(cats, "category", value=value, label=label, symbol=symbol, render="true")
    holder = ET.SubElement(renderer, "symbols")
    for symbol in symbols:
        holder.append(symbol)


def _options(parent: ET.Element, values: Mapping[str, str]) -> ET.Element:
    options = ET.SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        ET.SubElement(options, "Option", name=name, type="QString", value=value)
    return options


def _data_defined(parent: ET.Element, properties: Mapping[str, str]) -> None:
    holder = ET.SubElement(ET.SubElement(parent, "data_defined_properties"), "Option", type="Map")
    ET.SubElement(holder, "Option", name="name", type="QString", value="")
    props = ET.SubElement(holder, "Option", name="properties", type="Map")
    for key, expression in properties.items():
        prop = ET.SubElement(props, "Option", name=key, type="Map")
        ET.SubElement(prop, "Option", name="active", type="bool", value="true")
        ET.SubElement(prop, "Option", name="expression", type="QString", value=expression)
        ET.SubElement(prop, "Option", name="type", type="int", value="3")  # 3: an expression
    ET.SubElement(holder, "Option", name="type", type="QString", value="collection")


def _symbol(name: str, kind: str, alpha: float = 1.0) -> ET.Element:
    return ET.Element("symbol", type=kind, name=name, alpha=_num(alpha), clip_to_extent="1", force_rhr="0")


def _marker_symbol(name: str, colour: str, size_mm: float, *, shape: str = "circle", alpha: float = 1.0,
                   outline: str = "solid", size_expression: str | None = None) -> ET.Element:
    symbol = _symbol(name, "marker", alpha)
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, {"name": shape, "color": _rgba(colour), "outline_color": "50,50,50,255", "outline_style": outline,
                     "outline_width": "0.2", "outline_width_unit": "MM", "size": _num(size_mm), "size_unit": "MM",
                     "scale_method": "diameter", "angle": "0"})
    if size_expression:
        _data_defined(layer, {"size": size_expression})
    return symbol


def _line_symbol(name: str, colour: str, width_mm: float, *, dashed: bool = False) -> ET.Element:
    symbol = _symbol(name, "line")
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, {"line_color": _rgba(colour), "line_style": "dash" if dashed else "solid",
                     "line_width": _num(width_mm), "line_width_unit": "MM"})
    return symbol


def _fill_symbol(name: str, fill: str | None, outline: str | None, width_mm: float, *, alpha: float = 1.0,
                 dashed: bool = False) -> ET.Element:
    symbol = _symbol(name, "fill", alpha)
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, {"color": _rgba(fill or "#ffffff"), "style": "solid" if fill else "no",
                     "outline_color": _rgba(outline or "#000000"),
                     "outline_style": ("dash" if dashed else "solid") if outline else "no",
                     "outline_width": _num(width_mm), "outline_width_unit": "MM"})
    return symbol


def _labeling(root: ET.Element, expression: str, *, placement: int, max_scale: float | None,
              bold: bool = False) -> None:
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    style = ET.SubElement(settings, "text-style", fieldName=expression, isExpression="1",
                          fontSize=_num(LABEL_SIZE_PT + (1 if bold else 0)), fontSizeUnit="Point",
                          fontWeight="75" if bold else "50", textColor="30,30,30,255", textOpacity="1")
    ET.SubElement(style, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM",
                  bufferColor="255,255,255,255", bufferOpacity="0.9")
    # placement 0: around a point; 1: over the polygon's centroid
    ET.SubElement(settings, "placement", placement=str(placement), dist="1", distUnits="MM", priority="5")
    visible = max_scale is not None
    # QGIS names the zoomed-in limit scaleMin and the zoomed-out one scaleMax (scale denominators)
    ET.SubElement(settings, "rendering", scaleVisibility="1" if visible else "0", scaleMin="0",
                  scaleMax=_num(max_scale or 0), obstacle="1", fontLimitPixelSize="0", displayAll="0",
                  upsidedownLabels="0", labelPerPart="0", mergeLines="0", limitNumLabels="0", maxNumLabels="2000")


def _with_aliases(qml: str, aliases: Mapping[str, str], fields: list[str]) -> str:
    if not aliases:
        return qml
    root = ET.fromstring(qml.split("\n", 1)[1])
    holder = ET.Element("aliases")
    for index, field in enumerate(fields):
        if field in aliases:
            ET.SubElement(holder, "alias", field=field, index=str(index), name=aliases[field])
    root.insert(len(root) - 1, holder)
    return _serialise(root)


def _label_expression(fields: list[str], preferred: Sequence[str]) -> str | None:
    present = [f'"{f}"' for f in preferred if f in fields]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return "coalesce(" + ", ".join(f"nullif({p}, '')" for p in present) + ")"


def _rgba(colour: str) -> str:
    text = colour.lstrip("#")
    if len(text) != 6:
        msg = f"colour {colour!r} is not #rrggbb; give colours as hex, e.g. #1f77b4"
        raise DataError(msg)
    return ",".join(str(int(text[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _num(value: float) -> str:
    return f"{float(value):.6g}"


def _pretty(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        msg = f"{path}: no such GeoPackage; write the layers first"
        raise DataError(msg)
    return sqlite3.connect(path)


def _geometry_columns(path: Path, db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    try:
        rows = db.execute("SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns").fetchall()
    except sqlite3.DatabaseError as exc:
        msg = f"{path}: not a GeoPackage ({exc}); write it with geopandas/pyogrio (driver GPKG)"
        raise DataError(msg) from None
    return {table: (column, kind) for table, column, kind in rows}


def _fields(db: sqlite3.Connection, layer: str, geometry_column: str) -> list[str]:
    """The layer's fields as QGIS numbers them: the fid first, the geometry column left out."""
    return [row[1] for row in db.execute(f'PRAGMA table_info("{layer}")') if row[1] != geometry_column]


def _max_by_tier(db: sqlite3.Connection, layer: str, column: str) -> dict[str, float]:
    rows = db.execute(f'SELECT "tier", max("{column}") FROM "{layer}" GROUP BY "tier"').fetchall()
    return {str(tier): float(value) for tier, value in rows if value is not None and math.isfinite(float(value))}


def _register(db: sqlite3.Connection, now: str) -> None:
    """Register ``layer_styles`` as a GeoPackage attribute table, as GDAL does when QGIS creates it."""
    db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
               "VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)", (now,))
