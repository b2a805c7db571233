"""Reading and checking input files: boundaries, district statistics, point layers.

Every reader returns a fresh frame (inputs on disk are never modified) in
WGS84 (EPSG:4326) and raises :class:`~siting.DataError` naming the file, the
field or row, the value at fault and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from siting._errors import DataError
from siting._tabular import read_table, to_number

WGS84 = "EPSG:4326"


def read_boundaries(path: Path, *, metric_crs: str) -> gpd.GeoDataFrame:
    """Read district polygons.

    Parameters
    ----------
    path : Path
        Any vector file GDAL reads (GeoJSON, GeoPackage, Shapefile …) with
        polygons and a ``district_code`` column; ``district_name`` and
        ``district_name_en`` are optional.
    metric_crs : str
        The scenario's metric CRS; polygons must lie within its area of use.

    Returns
    -------
    geopandas.GeoDataFrame
        ``district_code`` (str), ``district_name``, ``district_name_en``,
        geometry in EPSG:4326, sorted by code.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"{path}: cannot read the boundaries ({exc}); give a GeoJSON, GeoPackage or Shapefile"
        raise DataError(msg) from None
    if gdf.crs is None:
        msg = f"{path}: the boundaries have no CRS; set one (e.g. in QGIS, or gdf.set_crs('EPSG:4326'))"
        raise DataError(msg)
    if "district_code" not in gdf.columns:
        msg = (f"{path}: no 'district_code' column (columns: {', '.join(map(str, gdf.columns))}); "
               "rename the district code column to district_code")
        raise DataError(msg)
    missing_code = gdf["district_code"].isna() | (gdf["district_code"].astype(str).str.strip() == "")
    if missing_code.any():
        msg = (f"{path}: feature {int(np.argmax(missing_code.to_numpy())) + 1} has no district_code; "
               "give every district a code")
        raise DataError(msg)
    gdf = gdf.to_crs(WGS84)
    gdf["district_code"] = gdf["district_code"].astype(str).str.strip()
    duplicated = gdf["district_code"][gdf["district_code"].duplicated()]
    if len(duplicated):
        msg = f"{path}: district_code {duplicated.iloc[0]!r} appears more than once; dissolve or renumber the districts"
        raise DataError(msg)
    for column in ("district_name", "district_name_en"):
        if column not in gdf.columns:
            gdf[column] = gdf["district_code"]
        gdf[column] = gdf[column].fillna("").astype(str)
    empty = gdf.geometry.is_empty | gdf.geometry.isna()
    if empty.any():
        msg = f"{path}: district {gdf['district_code'][empty].iloc[0]!r} has an empty geometry; remove it or draw its polygon"
        raise DataError(msg)
    kinds = set(gdf.geometry.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{path}: geometries must be polygons; found {', '.join(sorted(kinds))}"
        raise DataError(msg)
    gdf = _repair(path, gdf)
    _check_in_crs_area(path, gdf, metric_crs)
    columns = ["district_code", "district_name", "district_name_en"]
    extra = [c for c in gdf.columns if c not in (*columns, "geometry")]
    return gdf[columns + extra + ["geometry"]].sort_values("district_code").reset_index(drop=True)


def _repair(path: Path, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    invalid = ~gdf.geometry.is_valid
    if not invalid.any():
        return gdf
    repaired = shapely.make_valid(gdf.geometry.array[invalid.to_numpy()])
    polygons = [shapely.union_all([g for g in shapely.get_parts(r) if g.geom_type in ("Polygon", "MultiPolygon")])
                for r in repaired]
    before = gdf.geometry[invalid].area.to_numpy()
    after = np.array([p.area for p in polygons])
    codes = list(gdf["district_code"][invalid])
    if (np.abs(after - before) > 0.01 * np.maximum(before, 1e-12)).any():
        msg = (f"{path}: district {codes[0]!r} has an invalid geometry that cannot be repaired safely "
               "(its area would change by more than 1 %); fix it in a GIS (e.g. QGIS 'Fix geometries')")
        raise DataError(msg)
    warnings.warn(f"{path}: repaired invalid geometry of district(s) {', '.join(map(str, codes))}", stacklevel=3)
    gdf = gdf.copy()
    gdf.loc[invalid, "geometry"] = polygons
    return gdf


def _check_in_crs_area(path: Path, gdf: gpd.GeoDataFrame, metric_crs: str) -> None:
    area = CRS.from_user_input(metric_crs).area_of_use
    if area is None:
        return
    west, south, east, north = gdf.total_bounds
    margin = 3.0  # degrees: a UTM zone stays usable a little beyond its edges
    if west < area.west - margin or east > area.east + margin or south < area.south - margin or north > area.north + margin:
        msg = (f"{path}: the districts (lon {west:.2f}…{east:.2f}, lat {south:.2f}…{north:.2f}) lie outside "
               f"the area of use of region.metric_crs {metric_crs} ({area.name}); choose the local UTM zone")
        raise DataError(msg)


def read_district_stats(path: Path, boundaries: gpd.GeoDataFrame, *, ev_stock: int | None = None) -> pd.DataFrame:
    """Read the district statistics table and reconcile it with the boundaries.

    Parameters
    ----------
    path : Path
        Table (CSV in UTF-8 or GBK, or ``.xlsx``; numbers may carry thousands
        separators) with ``district_code, population, urban_share`` and
        optional ``ev_stock`` (EVs per district).
    boundaries : geopandas.GeoDataFrame
        The districts, from :func:`read_boundaries`.
    ev_stock : int, optional
        City EV stock, allocated to districts by population weighted for
        urban share when the table has no ``ev_stock`` column.
    """
    table = read_csv(path, text=["district_code"])
    require_columns(path, table, ["district_code", "population", "urban_share"])
    table["district_code"] = table["district_code"].str.strip()
    numeric = ["population", "urban_share"] + (["ev_stock"] if "ev_stock" in table.columns else [])
    for column in numeric:
        table[column] = _numeric(path, table, column)
    bad = table[(table["urban_share"] < 0) | (table["urban_share"] > 1)]
    if len(bad):
        row = bad.iloc[0]
        msg = (f"{path}: row {bad.index[0] + 2} (district {row['district_code']}): urban_share = "
               f"{row['urban_share']} is outside [0, 1]; give a fraction, e.g. 0.76 not 76")
        raise DataError(msg)
    codes = set(boundaries["district_code"])
    unknown = sorted(set(table["district_code"]) - codes)
    missing = sorted(codes - set(table["district_code"]))
    if unknown:
        msg = f"{path}: district_code {unknown[0]!r} is not in the boundaries file; fix the code or add the district"
        raise DataError(msg)
    if missing:
        msg = f"{path}: no statistics for district {missing[0]!r} of the boundaries file; add a row for it"
        raise DataError(msg)
    if table["district_code"].duplicated().any():
        code = table["district_code"][table["district_code"].duplicated()].iloc[0]
        msg = f"{path}: district_code {code!r} appears more than once; keep one row per district"
        raise DataError(msg)
    if "ev_stock" not in table.columns:
        if ev_stock is None:
            msg = f"{path}: no 'ev_stock' column and no demand.ev_stock in the scenario; add either"
            raise DataError(msg)
        weight = table["population"] * (table["urban_share"] + 0.5 * (1 - table["urban_share"]))
        table["ev_stock"] = ev_stock * weight / weight.sum()
    return table.sort_values("district_code").reset_index(drop=True)


def read_points(path: Path, *, id_column: str, required: list[str],
                boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read a point table with ``lon, lat`` (WGS84) and place each point in its district.

    The table is a CSV (UTF-8 or GBK) or an ``.xlsx`` workbook, read by
    :func:`read_csv`.

    Raises
    ------
    DataError
        Missing columns, non-numeric or swapped coordinates, duplicate ids,
        or a point outside every district.
    """
    table = read_point_table(path, text=[id_column, "district_code"])
    require_columns(path, table, [id_column, "lon", "lat", *required])
    for column in ("lon", "lat", *[c for c in required if c not in ("name",)]):
        table[column] = _numeric(path, table, column)
    return _place_in_districts(path, table, id_column, boundaries)


def _place_in_districts(path: Path, table: pd.DataFrame, id_column: str,
                        boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points of ``table`` (``lon, lat``) with the district that contains each; refuse duplicates and strays."""
    if table[id_column].duplicated().any():
        dup = table[id_column][table[id_column].duplicated()].iloc[0]
        msg = f"{path}: {id_column} {dup!r} appears more than once; ids must be unique"
        raise DataError(msg)
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84)
    joined = gpd.sjoin(points, boundaries[["district_code", "geometry"]].rename(
        columns={"district_code": "_district"}), how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    outside = joined["_district"].isna()
    if outside.any():
        row = joined[outside].iloc[0]
        swapped = shapely.Point(row["lat"], row["lon"])
        hint = ("lon and lat look swapped; exchange the columns"
                if boundaries.geometry.contains(swapped).any()
                else "fix the coordinates (WGS84 degrees) or remove the row")
        msg = (f"{path}: row {outside.to_numpy().argmax() + 2} ({id_column} {row[id_column]}) at lon {row['lon']}, "
               f"lat {row['lat']} lies outside every district; {hint}")
        raise DataError(msg)
    if "district_code" in joined.columns:
        wrong = joined["district_code"].astype(str) != joined["_district"]
        if wrong.any():
            row = joined[wrong].iloc[0]
            msg = (f"{path}: {id_column} {row[id_column]} says district_code {row['district_code']} but lies in "
                   f"{row['_district']}; fix the code or the coordinates")
            raise DataError(msg)
    joined["district_code"] = joined["_district"]
    return joined.drop(columns=["_district", "index_right"]).reset_index(drop=True)


RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")


def read_population_layer(path: Path, *, column: str = "population") -> gpd.GeoDataFrame:
    """Read a population layer: points or polygons with a population column, or a raster.

    Parameters
    ----------
    path : Path
        A vector file (GeoPackage, GeoJSON, Shapefile …) with a ``column`` of
        people per feature, or a single-band raster of people per pixel (e.g.
        WorldPop GeoTIFF; needs the optional ``rasterio`` package), read as one
        point per populated pixel centre.
    column : str
        The population column of a vector layer.

    Returns
    -------
    geopandas.GeoDataFrame
        ``population`` and geometry, in the layer's own CRS.
    """
    if path.suffix.lower() in RASTER_SUFFIXES:
        return _raster_population(path)
    try:
        layer = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        msg = f"{path}: cannot read the population layer ({exc}); give a GeoPackage, GeoJSON, Shapefile or GeoTIFF"
        raise DataError(msg) from None
    if column not in layer.columns:
        msg = f"{path}: no column {column!r}; set demand.population_column to the population column's name"
        raise DataError(msg)
    if layer.crs is None:
        msg = f"{path}: the population layer has no CRS; set one"
        raise DataError(msg)
    layer = layer.rename(columns={column: "population"})[["population", "geometry"]]
    layer["population"] = _numeric(path, layer, "population")
    return layer


def _raster_population(path: Path) -> gpd.GeoDataFrame:
    try:
        import rasterio
    except ImportError:
        msg = f"{path}: reading a population raster needs rasterio; pip install rasterio (or give points/polygons)"
        raise DataError(msg) from None
    try:
        with rasterio.open(path) as raster:
            band = raster.read(1, masked=True)
            transform, crs = raster.transform, raster.crs
    except rasterio.errors.RasterioError as exc:
        msg = f"{path}: cannot read the population raster ({exc}); give a single-band GeoTIFF"
        raise DataError(msg) from None
    if crs is None:
        msg = f"{path}: the population raster has no CRS; set one (e.g. gdal_edit.py -a_srs EPSG:4326)"
        raise DataError(msg)
    values = np.ma.filled(band.astype(float), 0.0)
    rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
    col_centre, row_centre = cols + 0.5, rows + 0.5  # pixel centres, through the affine transform
    xs = transform.c + col_centre * transform.a + row_centre * transform.b
    ys = transform.f + col_centre * transform.d + row_centre * transform.e
    return gpd.GeoDataFrame({"population": values[rows, cols]}, geometry=gpd.points_from_xy(xs, ys), crs=crs.to_wkt())


def read_csv(path: Path, *, text: Iterable[str] = (), dtype: dict | None = None) -> pd.DataFrame:
    """Read a table as planners have it, or raise a DataError naming the file.

    A CSV in UTF-8 (with or without BOM) or GBK/GB18030, or an ``.xlsx``
    workbook (first sheet, or ``file.xlsx#sheet``); see
    :func:`siting._tabular.read_table`. The encoding used is in
    ``table.attrs["encoding"]`` and recorded by
    :func:`siting._tabular.recording_encodings`.

    Parameters
    ----------
    path : Path
    text : iterable of str
        Columns kept as text (codes, ids).
    dtype : dict, optional
        For callers written against :func:`pandas.read_csv`: columns mapped to
        ``str`` are kept as text; other types are left to :func:`_numeric`.
    """
    text = [*text, *[c for c, t in (dtype or {}).items() if t is str or t == "str"]]
    table, _ = read_table(path, text=text)
    return table


#: Suffixes of vector files a point table may also be (polygons stand for a point inside them).
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")


def read_point_table(path: Path, *, text: Iterable[str] = ()) -> pd.DataFrame:
    """A table of places with ``lon, lat``: a CSV/XLSX (:func:`read_csv`) or a vector file.

    From a GeoJSON, GeoPackage or Shapefile (any CRS) ``lon, lat`` are taken
    from each feature's point, or a point inside its polygon (a car park, a
    compound), in WGS84.
    """
    if Path(path).suffix.lower() not in VECTOR_SUFFIXES:
        return read_csv(path, text=text)
    try:
        layer = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"{path}: cannot read the file ({exc}); give a CSV, XLSX, GeoJSON or GeoPackage"
        raise DataError(msg) from None
    if layer.crs is None:
        msg = f"{path}: the layer has no CRS; set one (e.g. EPSG:4326)"
        raise DataError(msg)
    if layer.geometry.isna().any() or layer.geometry.is_empty.any():
        row = int(np.argmax((layer.geometry.isna() | layer.geometry.is_empty).to_numpy())) + 1
        msg = f"{path}: feature {row} has no geometry; draw it or remove it"
        raise DataError(msg)
    points = layer.to_crs(WGS84).geometry.representative_point()
    table = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    for column in text:
        if column in table:
            table[column] = table[column].astype("string").fillna("").astype(str)
    table["lon"], table["lat"] = points.x.to_numpy(), points.y.to_numpy()
    return table


def read_existing_chargers(path: Path, *, boundaries: gpd.GeoDataFrame, tiers: dict[str, bool]) -> gpd.GeoDataFrame:
    """Chargers that exist today: ``tier, lon, lat, chargers`` (optional ``site_id, name``).

    Parameters
    ----------
    tiers : dict
        Tier name → whether it is a charger tier (only those take existing chargers).

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id`` (``<tier>-existing-<row>`` where the file has none), ``tier,
        name, chargers, district_code, lon, lat`` and points in EPSG:4326.

    Raises
    ------
    DataError
        A missing column, an unknown or station tier, a count that is not a
        whole number ≥ 1, a duplicate id, or a point outside every district.
    """
    table = read_point_table(path, text=["site_id", "tier", "name", "district_code"])
    require_columns(path, table, ["tier", "lon", "lat", "chargers"])
    table["tier"] = table["tier"].astype(str).str.strip()
    for row, tier in enumerate(table["tier"], start=2):
        if tier not in tiers or not tiers[tier]:
            known = ", ".join(t for t, charger in tiers.items() if charger)
            why = "is a station tier (give existing stations in its own file)" if tier in tiers else "is not a tier"
            msg = f"{path}: row {row}, column 'tier': {tier!r} {why}; use one of {known}"
            raise DataError(msg)
    chargers = _numeric(path, table, "chargers")
    whole = (chargers >= 1) & (chargers == chargers.round())
    if not whole.all():
        row = int(np.argmax(~whole.to_numpy()))
        msg = (f"{path}: row {row + 2}, column 'chargers': {table['chargers'].iloc[row]!r} is not a whole number "
               "of chargers ≥ 1; fix the count or remove the row")
        raise DataError(msg)
    table["chargers"] = chargers.astype(np.int64)
    if "site_id" not in table or (table["site_id"].astype(str).str.strip() == "").all():
        table["site_id"] = [f"{t}-existing-{i + 1}" for i, t in enumerate(table["tier"])]
    missing = table["site_id"].astype(str).str.strip() == ""
    if missing.any():
        msg = f"{path}: row {int(np.argmax(missing.to_numpy())) + 2} has no site_id; give every row one, or none"
        raise DataError(msg)
    if "name" not in table:
        table["name"] = ""
    table["lon"], table["lat"] = _numeric(path, table, "lon"), _numeric(path, table, "lat")
    points = _place_in_districts(path, table, "site_id", boundaries)
    return points[["site_id", "tier", "name", "chargers", "district_code", "lon", "lat", "geometry"]]


def require_columns(path: Path, table: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = (f"{path}: missing column '{missing[0]}' (has: {', '.join(map(str, table.columns))}); "
               f"add it or rename the matching column")
        raise DataError(msg)


def _numeric(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    values = to_number(table[column])
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if column not in ("lon", "lat") and bad.any():
        i = int(np.argmax(bad.to_numpy()))
        msg = (f"{path}: row {i + 2}, column '{column}': {table[column].iloc[i]!r} is not a number ≥ 0; "
               "fix the value")
        raise DataError(msg)
    if column in ("lon", "lat") and (values.isna().any()):
        i = int(np.argmax(values.isna().to_numpy()))
        msg = f"{path}: row {i + 2}, column '{column}': {table[column].iloc[i]!r} is not a number; fix the value"
        raise DataError(msg)
    return values.astype(float)
