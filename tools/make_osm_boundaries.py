"""Rebuild Qingdao's district and township polygons from OpenStreetMap.

Usage (from the repository root)::

    python tools/make_osm_boundaries.py [--source PATH] [--codes PATH] [--tolerance-m 50]

Writes ``data/boundaries/qingdao_districts.geojson`` (10 districts) and
``data/boundaries/qingdao_townships.geojson`` (135 townships) and prints the
checks; writes nothing and exits 1 when a check fails. Same input, same bytes.

Steps
-----
1. Read the OSM boundary relations (``--source``, default
   ``../shared/data/osm/qingdao_admin_osm.geojson``: admin_level 6 districts,
   admin_level 8 townships; © OpenStreetMap contributors, ODbL 1.0).
2. Districts: code from ``division_code`` with the pre-2017 即墨 code 370282
   replaced by today's 370215; names as in the official list (黄岛区, not
   "青岛西海岸新区（黄岛区）").
3. Townships: 9-digit code and name from the official 2023 code list
   (``data/boundaries/nbs2023_qingdao_township_codes.csv``), matched by exact
   name (all 135 OSM names are unique in the list); where OSM carries a
   ``division_code`` it must agree. ``district_code`` = the code's first 6
   digits; ``township_kind`` = subdistrict (…街道), town (…镇) or other.
4. In UTM 51N (EPSG:32651): clip every township to its district, then give the
   district land that lies in no township to a township of the same district:
   each connected gap piece goes to the township with which it shares the
   longest border; a piece touching none (an island) goes to the nearest
   township (ties: lowest code). Districts are then exactly the union of their
   townships.
5. Simplify all townships together with ``shapely.coverage_simplify``
   (``--tolerance-m``, 50 m), which keeps shared borders shared; back to
   EPSG:4326, coordinates rounded to 1e-6°; each district = union of its
   simplified townships, so the two files nest exactly.
6. Check: valid polygons; 135 codes from the official list; township
   overlaps < 0.01 km²; every township inside its district; district area =
   sum of its townships' (0.1 %); no gaps inside the city; city area within
   2 % of the official 11,293 km².
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

REPO = Path(__file__).resolve().parents[1]
BOUNDARIES = REPO / "data" / "boundaries"
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "osm" / "qingdao_admin_osm.geojson"
DEFAULT_CODES = BOUNDARIES / "nbs2023_qingdao_township_codes.csv"
METRIC_CRS = "EPSG:32651"
OFFICIAL_TOTAL_KM2 = 11293.0
#: OSM still tags 即墨 with its code from before it became a district (2017).
CODE_FIXES = {"370282": "370215"}
#: Overlay operations snap to this grid (metres) so that neighbouring townships share exact edges.
GRID_M = 0.01

DISTRICTS = {  # code: (official name, English name)
    "370202": ("市南区", "Shinan"),
    "370203": ("市北区", "Shibei"),
    "370211": ("黄岛区", "Huangdao"),
    "370212": ("崂山区", "Laoshan"),
    "370213": ("李沧区", "Licang"),
    "370214": ("城阳区", "Chengyang"),
    "370215": ("即墨区", "Jimo"),
    "370281": ("胶州市", "Jiaozhou"),
    "370283": ("平度市", "Pingdu"),
    "370285": ("莱西市", "Laixi"),
}


def township_kind(name: str) -> str:
    """``subdistrict`` for a 街道, ``town`` for a 镇, ``other`` otherwise (e.g. a nature reserve)."""
    if name.endswith("街道"):
        return "subdistrict"
    if name.endswith("镇"):
        return "town"
    return "other"


def read_source(source: Path, codes_path: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Districts and townships of the OSM file with official codes, in the metric CRS."""
    osm = gpd.read_file(source)
    osm["admin_level"] = osm["admin_level"].astype(str)
    codes = pd.read_csv(codes_path, dtype=str)

    districts = osm[osm["admin_level"] == "6"].copy()
    districts["district_code"] = districts["division_code"].replace(CODE_FIXES)
    unknown = set(districts["district_code"]) ^ set(DISTRICTS)
    if unknown or len(districts) != len(DISTRICTS):
        sys.exit(f"make_osm_boundaries: {source}: district codes differ from the expected ten: {sorted(unknown)}")
    districts["district_name"] = [DISTRICTS[c][0] for c in districts["district_code"]]
    districts["district_name_en"] = [DISTRICTS[c][1] for c in districts["district_code"]]

    townships = osm[osm["admin_level"] == "8"].copy()
    matched = townships.merge(codes[["code", "name"]], on="name", how="left", validate="one_to_one")
    if matched["code"].isna().any():
        sys.exit(f"make_osm_boundaries: township names not in {codes_path.name}: "
                 f"{list(matched.loc[matched['code'].isna(), 'name'])}")
    disagree = matched["division_code"].notna() & (matched["division_code"] != matched["code"])
    if disagree.any():
        sys.exit(f"make_osm_boundaries: OSM division_code disagrees with the official list for "
                 f"{list(matched.loc[disagree, 'name'])}")
    townships = gpd.GeoDataFrame({
        "township_code": matched["code"].to_numpy(),
        "township_name": matched["name"].to_numpy(),
        "township_kind": [township_kind(n) for n in matched["name"]],
        "district_code": matched["code"].str[:6].to_numpy(),
        "osm_id": matched["osm_id"].astype(str).to_numpy(),
    }, geometry=matched.geometry.to_numpy(), crs=osm.crs)
    townships["district_name"] = [DISTRICTS[c][0] for c in townships["district_code"]]

    districts = districts[["district_code", "district_name", "district_name_en", "osm_id", "geometry"]]
    districts = districts.sort_values("district_code").reset_index(drop=True).to_crs(METRIC_CRS)
    townships = townships.sort_values("township_code").reset_index(drop=True).to_crs(METRIC_CRS)
    districts["geometry"] = shapely.make_valid(districts.geometry.array)
    townships["geometry"] = shapely.make_valid(townships.geometry.array)
    return districts, townships


def _polygons(geom) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom] if not geom.is_empty else []
    return [p for g in getattr(geom, "geoms", []) for p in _polygons(g)]


def _as_multipolygon(geom) -> MultiPolygon:
    return MultiPolygon(_polygons(geom if geom.is_valid else shapely.make_valid(geom)))


def fill_district(district, townships: gpd.GeoDataFrame) -> tuple[list, list[dict]]:
    """Clip the townships of one district to it and hand its uncovered land to them.

    Each connected piece of uncovered land goes to the township sharing the
    longest border with it; an isolated piece to the nearest township (ties:
    the lowest code, i.e. the first row).

    Returns
    -------
    (list of geometry, list of dict)
        The townships' new polygons (row order kept) and one record per piece.
    """
    district = _as_multipolygon(shapely.set_precision(district, GRID_M))
    geoms = [_as_multipolygon(shapely.intersection(g, district, grid_size=GRID_M)) for g in townships.geometry]
    gap = shapely.difference(district, shapely.union_all(geoms, grid_size=GRID_M), grid_size=GRID_M)
    log = []
    pieces = sorted(_polygons(gap), key=lambda p: (-p.area, p.representative_point().coords[0]))
    extra: dict[int, list] = {}
    for piece in pieces:
        border = np.array([shapely.length(shapely.intersection(piece.boundary, g.boundary)) for g in geoms])
        if border.max() > 0:
            winner, rule = int(np.argmax(border)), "longest border"
        else:
            winner, rule = int(np.argmin([piece.distance(g) for g in geoms])), "nearest"
        extra.setdefault(winner, []).append(piece)
        log.append({"township_code": townships["township_code"].iloc[winner], "area_km2": piece.area / 1e6,
                    "rule": rule})
    for i, parts in extra.items():
        geoms[i] = shapely.union_all([geoms[i], *parts], grid_size=GRID_M)
    return [_as_multipolygon(g) for g in geoms], log


def round_coverage(geoms: np.ndarray, *, grid_deg: float) -> list[MultiPolygon]:
    """Coordinates on a ``grid_deg`` grid, each polygon valid.

    Shared edges hold the same vertices, so they round alike. Where two
    borders run within a grid step of each other without being shared,
    rounding can make them cross: a few m² of overlap, measured by
    :func:`check` (26 m² in the Qingdao build).
    """
    rounded = []
    for geom in geoms:
        try:
            rounded.append(_as_multipolygon(shapely.set_precision(geom, grid_deg)))
        except shapely.errors.GEOSException:  # GEOS cannot always rebuild a spiky polygon on the grid
            rounded.append(_as_multipolygon(shapely.make_valid(shapely.set_precision(geom, grid_deg, mode="pointwise"))))
    return rounded


def check(townships_m: gpd.GeoDataFrame, districts_m: gpd.GeoDataFrame, codes: pd.DataFrame) -> list[str]:
    """Problems found (empty when every check passes); prints the figures."""
    problems = []
    invalid = list(townships_m.loc[~townships_m.is_valid, "township_code"])
    invalid += list(districts_m.loc[~districts_m.is_valid, "district_code"])
    if invalid:
        problems.append(f"invalid geometries {invalid}")
    if len(townships_m) != 135 or not townships_m["township_code"].is_unique:
        problems.append(f"{len(townships_m)} townships, expected 135 unique")
    if not set(townships_m["township_code"]) <= set(codes["code"]):
        problems.append("township codes outside the official list")
    tree = shapely.STRtree(townships_m.geometry.array)
    overlap_km2 = 0.0
    for i, j in zip(*tree.query(townships_m.geometry.array, predicate="intersects")):
        if i < j:
            overlap_km2 += shapely.intersection(townships_m.geometry.iloc[i], townships_m.geometry.iloc[j]).area / 1e6
    print(f"township overlaps {overlap_km2:.6f} km² in total")
    if overlap_km2 > 0.01:
        problems.append(f"townships overlap by {overlap_km2:.4f} km²")
    overlap_km2 = 0.0
    by_code = districts_m.set_index("district_code").geometry
    for row in townships_m.itertuples():
        outside_km2 = shapely.difference(row.geometry, by_code[row.district_code]).area / 1e6
        if outside_km2 > 0.001:
            problems.append(f"township {row.township_code} {outside_km2:.4f} km² outside its district")
    sums = townships_m.groupby("district_code").geometry.apply(lambda g: g.area.sum())
    for code, geom in by_code.items():
        if abs(sums[code] - geom.area) > 0.001 * geom.area:
            problems.append(f"district {code}: {geom.area / 1e6:.1f} km² but townships {sums[code] / 1e6:.1f} km²")
    for a, b in combinations(districts_m.geometry, 2):
        overlap_km2 += a.intersection(b).area / 1e6
    city = shapely.union_all(districts_m.geometry.array)
    holes_km2 = sum(Polygon(r).area for p in _polygons(city) for r in p.interiors) / 1e6
    total_km2 = districts_m.area.sum() / 1e6
    deviation = (total_km2 - OFFICIAL_TOTAL_KM2) / OFFICIAL_TOTAL_KM2
    print(f"city {total_km2:,.1f} km² ({deviation:+.2%} vs official {OFFICIAL_TOTAL_KM2:,.0f}); "
          f"union {city.area / 1e6:,.1f} km²; overlaps {overlap_km2:.6f} km²; holes {holes_km2:.6f} km²")
    if holes_km2 > 0.01:
        problems.append(f"gaps inside the city {holes_km2:.4f} km²")
    if abs(deviation) > 0.02:
        problems.append(f"city area {total_km2:.1f} km² off by {deviation:+.2%}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="OSM admin boundaries (GeoJSON)")
    ap.add_argument("--codes", type=Path, default=DEFAULT_CODES, help="official township code list (CSV)")
    ap.add_argument("--tolerance-m", type=float, default=50.0, help="coverage_simplify tolerance, metres")
    ap.add_argument("--out-dir", type=Path, default=BOUNDARIES)
    args = ap.parse_args(argv)
    if not args.source.exists():
        print(f"make_osm_boundaries: {args.source} not found; pass --source PATH to qingdao_admin_osm.geojson",
              file=sys.stderr)
        return 1
    if not hasattr(shapely, "coverage_clean"):
        print(f"make_osm_boundaries: needs shapely >= 2.2 on GEOS >= 3.14 (found shapely {shapely.__version__}, "
              f"GEOS {shapely.geos_version_string}); pip install 'shapely>=2.2'", file=sys.stderr)
        return 1
    codes = pd.read_csv(args.codes, dtype=str)
    districts, townships = read_source(args.source, args.codes)
    print(f"source: {len(districts)} districts {districts.area.sum() / 1e6:,.1f} km², {len(townships)} townships "
          f"{townships.area.sum() / 1e6:,.1f} km², "
          f"{len(shapely.get_coordinates(townships.geometry.array)):,} township vertices")

    filled = townships.copy()
    pieces = []
    for code, district in zip(districts["district_code"], districts.geometry, strict=True):
        rows = np.flatnonzero(filled["district_code"].to_numpy() == code)
        geoms, log = fill_district(district, filled.iloc[rows])
        filled.iloc[rows, filled.columns.get_loc("geometry")] = geoms
        pieces += [{"district_code": code, **r} for r in log]
    pieces = pd.DataFrame(pieces)
    big = pieces[pieces["area_km2"] >= 1.0]
    print(f"uncovered district land: {pieces['area_km2'].sum():,.1f} km² in {len(pieces)} pieces "
          f"({(pieces['rule'] == 'nearest').sum()} isolated); pieces ≥ 1 km²:")
    for r in big.itertuples():
        name = townships.set_index("township_code").at[r.township_code, "township_name"]
        print(f"  {r.area_km2:7.2f} km² → {r.township_code} {name} ({r.rule})")

    # GEOS' coverage cleaning makes the shared edges of neighbouring districts' townships identical
    filled["geometry"] = [_as_multipolygon(g) for g in shapely.coverage_clean(filled.geometry.array)]
    simplified = shapely.coverage_simplify(filled.geometry.array, args.tolerance_m)
    out_t = filled.copy()
    out_t["geometry"] = [_as_multipolygon(g) for g in simplified]
    out_t = out_t.to_crs("EPSG:4326")
    out_t["geometry"] = round_coverage(out_t.geometry.array, grid_deg=1e-6)
    out_d = districts.drop(columns="geometry").copy()
    out_d = gpd.GeoDataFrame(out_d, geometry=[
        _as_multipolygon(shapely.union_all(out_t.geometry[out_t["district_code"] == c].array))
        for c in out_d["district_code"]], crs="EPSG:4326")

    t_m, d_m = out_t.to_crs(METRIC_CRS), out_d.to_crs(METRIC_CRS)
    out_t["area_km2"] = (t_m.area / 1e6).round(2)
    out_d["area_km2"] = (d_m.area / 1e6).round(1)
    problems = check(t_m, d_m, codes)
    for r in out_d.itertuples():
        n = (out_t["district_code"] == r.district_code).sum()
        print(f"  {r.district_code} {r.district_name} {r.district_name_en:10s} {r.area_km2:8.1f} km² {n:3d} townships")
    print(f"vertices written: {len(shapely.get_coordinates(out_t.geometry.array)):,} (townships), "
          f"{len(shapely.get_coordinates(out_d.geometry.array)):,} (districts)")
    if problems:
        print("make_osm_boundaries: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1

    out_t = out_t[["township_code", "township_name", "township_kind", "district_code", "district_name",
                   "area_km2", "osm_id", "geometry"]]
    out_d = out_d[["district_code", "district_name", "district_name_en", "area_km2", "geometry"]]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for frame, name in ((out_d, "qingdao_districts"), (out_t, "qingdao_townships")):
        path = args.out_dir / f"{name}.geojson"
        tmp = path.with_suffix(".tmp.geojson")
        frame.to_file(tmp, driver="GeoJSON", layer=name, COORDINATE_PRECISION=6, WRITE_BBOX="NO", RFC7946="NO")
        tmp.replace(path)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
