"""Townships (乡级: 街道 subdistricts, 镇 towns, …): reading them and placing points in them.

A township file holds polygons with ``township_code, township_name,
township_kind, district_code`` (``township_kind`` ∈ subdistrict, town,
other; when the column is missing it is read from the name: …街道 is a
subdistrict, …镇 / …乡 a town). Townships nest in the districts: each point
of a district is given the township of that district that contains it, or
the nearest one when it falls in none (a border drawn differently in the two
files).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import DataError

WGS84 = "EPSG:4326"
KINDS = ("subdistrict", "town", "other")
COLUMNS = ["township_code", "township_name", "township_kind", "district_code"]


def township_kind(name: str) -> str:
    """``subdistrict`` for a 街道, ``town`` for a 镇 or 乡, ``other`` otherwise."""
    name = str(name).strip()
    if name.endswith(("街道", "办事处")):
        return "subdistrict"
    if name.endswith(("镇", "乡")):
        return "town"
    return "other"


def read_townships(path: Path, *, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read township polygons and check them against the districts.

    Parameters
    ----------
    path : Path
        Vector file (GeoJSON, GeoPackage …) with polygons and ``township_code,
        township_name, district_code`` (``township_kind`` optional).
    boundaries : geopandas.GeoDataFrame
        The districts, with ``district_code``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``township_code, township_name, township_kind, district_code`` (str)
        and polygons in EPSG:4326, sorted by code.

    Raises
    ------
    DataError
        Unreadable file, missing column, duplicate code, unknown district,
        unknown kind, non-polygon geometry.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"{path}: cannot read the townships ({exc}); give a GeoJSON, GeoPackage or Shapefile"
        raise DataError(msg) from None
    missing = [c for c in ("township_code", "township_name", "district_code") if c not in gdf.columns]
    if missing:
        msg = (f"{path}: no {', '.join(repr(c) for c in missing)} column (columns: "
               f"{', '.join(map(str, gdf.columns))}); rename the columns or add them")
        raise DataError(msg)
    if gdf.crs is None:
        msg = f"{path}: the townships have no CRS; set one (e.g. in QGIS, or gdf.set_crs('EPSG:4326'))"
        raise DataError(msg)
    gdf = gdf.to_crs(WGS84)
    for column in ("township_code", "township_name", "district_code"):
        gdf[column] = gdf[column].astype(str).str.strip()
    if "township_kind" not in gdf.columns:
        gdf["township_kind"] = [township_kind(n) for n in gdf["township_name"]]
    gdf["township_kind"] = gdf["township_kind"].fillna("other").astype(str).str.strip()
    duplicated = gdf["township_code"][gdf["township_code"].duplicated()]
    if len(duplicated):
        msg = f"{path}: township_code {duplicated.iloc[0]!r} appears more than once; dissolve or renumber the townships"
        raise DataError(msg)
    unknown = ~gdf["district_code"].isin(set(boundaries["district_code"]))
    if unknown.any():
        row = gdf[unknown].iloc[0]
        msg = (f"{path}: township {row['township_code']} has district_code {row['district_code']!r}, "
               "which is not in the boundaries; fix the code or add the district")
        raise DataError(msg)
    bad_kind = ~gdf["township_kind"].isin(KINDS)
    if bad_kind.any():
        row = gdf[bad_kind].iloc[0]
        msg = (f"{path}: township {row['township_code']} has township_kind {row['township_kind']!r}; "
               f"use one of {', '.join(KINDS)}")
        raise DataError(msg)
    kinds = set(gdf.geometry.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{path}: township geometries must be polygons; found {', '.join(sorted(kinds))}"
        raise DataError(msg)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.array)
    extra = [c for c in gdf.columns if c not in (*COLUMNS, "geometry")]
    return gdf[[*COLUMNS, *extra, "geometry"]].sort_values("township_code").reset_index(drop=True)


def locate(x_m: np.ndarray, y_m: np.ndarray, district_codes: np.ndarray, townships: gpd.GeoDataFrame, *,
           metric_crs: str) -> pd.DataFrame:
    """The township of each point: the one of the point's district that contains it, else the nearest.

    Parameters
    ----------
    x_m, y_m : numpy.ndarray
        Point coordinates in ``metric_crs``, metres.
    district_codes : numpy.ndarray
        The district of each point; only that district's townships are considered.
    townships : geopandas.GeoDataFrame
        From :func:`read_townships`.

    Returns
    -------
    pandas.DataFrame
        ``township_code, township_name, township_kind``, one row per point in
        input order; empty strings where the district has no township.
    """
    n = len(x_m)
    out = {c: np.full(n, "", dtype=object) for c in ("township_code", "township_name", "township_kind")}
    points = shapely.points(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
    district_codes = np.asarray(district_codes).astype(str)
    projected = townships.to_crs(metric_crs)
    for code, group in projected.groupby("district_code", sort=True):
        index = np.flatnonzero(district_codes == code)
        if not len(index):
            continue
        tree = shapely.STRtree(group.geometry.array)
        chosen = np.full(len(index), -1)
        hits = tree.query(points[index], predicate="within")
        # a point on a shared border lies in two townships: the lower code (first row) wins
        for point, township in zip(hits[0][::-1], hits[1][::-1]):
            chosen[point] = township
        lost = np.flatnonzero(chosen < 0)
        if len(lost):
            nearest = tree.query_nearest(points[index[lost]], all_matches=False)
            chosen[lost[nearest[0]]] = nearest[1]
        for column, values in out.items():
            values[index] = group[column].to_numpy()[chosen]
    return pd.DataFrame(out)


def township_seats(townships: gpd.GeoDataFrame, *, metric_crs: str, kind: str = "subdistrict") -> pd.DataFrame:
    """One point inside each township of ``kind`` (its representative point).

    Returns
    -------
    pandas.DataFrame
        ``township_code, district_code, x_m, y_m`` in ``metric_crs``.
    """
    chosen = townships[townships["township_kind"] == kind].to_crs(metric_crs)
    seats = shapely.point_on_surface(chosen.geometry.array)
    return pd.DataFrame({"township_code": chosen["township_code"].to_numpy(),
                         "district_code": chosen["district_code"].to_numpy(),
                         "x_m": shapely.get_x(seats), "y_m": shapely.get_y(seats)})


def address(frame: pd.DataFrame, townships: gpd.GeoDataFrame | None, *, metric_crs: str) -> pd.DataFrame:
    """``frame`` with ``township_code, township_name`` of each row's point (``x_m, y_m, district_code``).

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        Sites or demand points with ``x_m, y_m`` in ``metric_crs`` and ``district_code``.
    townships : geopandas.GeoDataFrame or None
        From :func:`read_townships`; None gives empty strings.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy of ``frame`` (same type) with the two columns set (see :func:`locate`).
    """
    out = frame.copy()
    if townships is None or not len(out):
        out["township_code"] = ""
        out["township_name"] = ""
        return out
    found = locate(out["x_m"].to_numpy(), out["y_m"].to_numpy(), out["district_code"].to_numpy(), townships,
                   metric_crs=metric_crs)
    out["township_code"] = found["township_code"].to_numpy()
    out["township_name"] = found["township_name"].to_numpy()
    return out


def populated_townships(cells: pd.DataFrame, townships: gpd.GeoDataFrame) -> pd.DataFrame:
    """Townships whose demand-surface cells hold EVs, with their totals.

    Parameters
    ----------
    cells : pandas.DataFrame
        The demand surface with ``township_code`` (built with townships), ``population`` and ``evs``.

    Returns
    -------
    pandas.DataFrame
        ``township_code, township_name, district_code, population, evs`` sorted by code, EVs > 0 only.
    """
    totals = cells.groupby("township_code")[["population", "evs"]].sum()
    table = pd.DataFrame(townships[["township_code", "township_name", "district_code"]])
    table["population"] = table["township_code"].map(totals["population"]).fillna(0.0).to_numpy()
    table["evs"] = table["township_code"].map(totals["evs"]).fillna(0.0).to_numpy()
    return table[table["evs"] > 0].sort_values("township_code").reset_index(drop=True)


def township_points(cells: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, codes, *, metric_crs: str) -> pd.DataFrame:
    """One point per township in ``codes``: its most populous demand cell, else its seat.

    The seat (a point on the township's surface) stands in for a township too
    small to hold a cell's point.

    Returns
    -------
    pandas.DataFrame
        ``township_code, township_name, district_code, cell_id`` (empty for a
        seat), ``x_m, y_m`` (``metric_crs``), ``lon, lat`` (EPSG:4326).
    """
    codes = list(codes)
    chosen = townships[townships["township_code"].isin(codes)]
    inside = cells[cells["township_code"].isin(codes)]
    best = inside.loc[inside.groupby("township_code")["population"].idxmax()].set_index("township_code")
    seats = shapely.point_on_surface(chosen.to_crs(metric_crs).geometry.array)
    rows = []
    for i, (code, name, district) in enumerate(zip(chosen["township_code"], chosen["township_name"],
                                                   chosen["district_code"], strict=True)):
        if code in best.index:
            cell = best.loc[code]
            rows.append((code, name, district, cell["cell_id"], cell["x_m"], cell["y_m"], cell["lon"], cell["lat"]))
        else:
            point = gpd.GeoSeries([seats[i]], crs=metric_crs).to_crs(WGS84).iloc[0]
            rows.append((code, name, district, "", shapely.get_x(seats[i]), shapely.get_y(seats[i]),
                         round(point.x, 6), round(point.y, 6)))
    return pd.DataFrame(rows, columns=["township_code", "township_name", "district_code", "cell_id", "x_m", "y_m",
                                       "lon", "lat"])
