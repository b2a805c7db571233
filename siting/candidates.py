"""Candidate sites per tier, each kind with its rationale.

* public: cells of the built-up area (urban density at least the tier's
  ``candidate_min_density_per_km2``): a public station goes where people and
  their trips concentrate;
* residential: cells where people live (urban density threshold): chargers in
  the residential compounds of that cell;
* rural: the most populous cell of each block of about 2.25 km (village
  clusters), plus every town (GeoNames place) outside the public network's reach;
* hydrogen: the demand hubs themselves (stations beside the port, the factory,
  the depot: 临厂建站) plus optional extra sites from a file; existing stations
  are fixed.

Every candidate table has ``site_id, tier, kind, name, district_code, x_m,
y_m, lon, lat`` and a point geometry in EPSG:4326.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

WGS84 = "EPSG:4326"
RURAL_BLOCK_M = 2250.0
COLUMNS = ["site_id", "tier", "kind", "name", "district_code", "x_m", "y_m", "lon", "lat"]


def cell_candidates(cells: gpd.GeoDataFrame, *, tier: str, density_column: str,
                    min_density_per_km2: float, kind: str, every_district: bool = True) -> gpd.GeoDataFrame:
    """Cells whose ``density_column`` reaches ``min_density_per_km2``, as sites.

    With ``every_district`` a district where the density is positive but no
    cell reaches the threshold offers its densest cell, so that no district
    with residents is left without a candidate.
    """
    reaches = cells[density_column] >= min_density_per_km2
    if every_district:
        density = cells[density_column]
        covered = set(cells.loc[reaches, "district_code"])
        lacking = (density > 0) & ~cells["district_code"].isin(covered)
        if lacking.any():
            densest = density[lacking].groupby(cells.loc[lacking, "district_code"], sort=True).idxmax()
            reaches = reaches.copy()
            reaches.loc[densest.to_numpy()] = True
    chosen = cells[reaches]
    return _frame(pd.DataFrame({
        "site_id": tier + "-" + chosen["cell_id"],
        "tier": tier,
        "kind": kind,
        "name": "",
        "district_code": chosen["district_code"],
        "x_m": chosen["x_m"], "y_m": chosen["y_m"], "lon": chosen["lon"], "lat": chosen["lat"],
    }))


def rural_candidates(cells: gpd.GeoDataFrame, towns: pd.DataFrame, *, cell_size_m: float,
                     min_density_per_km2: float) -> gpd.GeoDataFrame:
    """Village clusters (most populous cell per block) and towns, as rural sites.

    Parameters
    ----------
    towns : pandas.DataFrame
        ``place_id, name, district_code, x_m, y_m, lon, lat`` of the towns to offer.
    """
    block = max(1, round(RURAL_BLOCK_M / cell_size_m))
    rural = cells[cells["density_rural_per_km2"] >= min_density_per_km2]
    keys = [rural["district_code"], rural["row"] // block, rural["col"] // block]
    best = rural.loc[rural.groupby(keys, sort=True)["rural_population"].idxmax()]
    clusters = pd.DataFrame({
        "site_id": "rural-" + best["cell_id"], "tier": "rural", "kind": "village_cluster", "name": "",
        "district_code": best["district_code"], "x_m": best["x_m"], "y_m": best["y_m"],
        "lon": best["lon"], "lat": best["lat"],
    })
    town_sites = pd.DataFrame({
        "site_id": "rural-town-" + towns["place_id"].astype(str).str.replace("geonames:", "", regex=False),
        "tier": "rural", "kind": "town", "name": towns["name"], "district_code": towns["district_code"],
        "x_m": towns["x_m"], "y_m": towns["y_m"], "lon": towns["lon"], "lat": towns["lat"],
    })
    return _frame(pd.concat([town_sites, clusters], ignore_index=True))


def point_candidates(points: gpd.GeoDataFrame, *, id_column: str, tier: str, kind: str | pd.Series,
                     metric_crs: str) -> gpd.GeoDataFrame:
    """Sites at the given points (hubs, stations, extra sites)."""
    projected = points.to_crs(metric_crs)
    return _frame(pd.DataFrame({
        "site_id": f"{tier}-" + points[id_column].astype(str),
        "tier": tier,
        "kind": kind,
        "name": points["name"].astype(str) if "name" in points else "",
        "district_code": points["district_code"],
        "x_m": projected.geometry.x, "y_m": projected.geometry.y,
        "lon": points.geometry.x.round(6), "lat": points.geometry.y.round(6),
    }))


def _frame(table: pd.DataFrame) -> gpd.GeoDataFrame:
    table = table[COLUMNS].reset_index(drop=True)
    if table["site_id"].duplicated().any():
        msg = f"duplicate candidate site id {table['site_id'][table['site_id'].duplicated()].iloc[0]!r}"
        raise ValueError(msg)
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84)


def empty_candidates() -> gpd.GeoDataFrame:
    return _frame(pd.DataFrame({c: pd.Series(dtype=float if c in ("x_m", "y_m", "lon", "lat") else object)
                                for c in COLUMNS}))


def osm_candidates(features: gpd.GeoDataFrame, *, tier: str, kinds: tuple[str, ...], boundaries: gpd.GeoDataFrame,
                   metric_crs: str) -> gpd.GeoDataFrame:
    """OSM features of the given kinds inside a district, as sites of ``tier``.

    The tiers' kinds are in :mod:`siting.tiers` (``osm_kinds``): a public
    station fits a fuel station's forecourt, a car park, a mall or a transport
    hub; a hydrogen station a fuel station, industrial land or a transport hub.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        ``osm_id, kind, name`` and points (from :func:`siting.network.osm_features`).
    boundaries : geopandas.GeoDataFrame
        District polygons with ``district_code``.

    Returns
    -------
    geopandas.GeoDataFrame
        Candidate sites with ``site_id`` ``<tier>-osm-<element>-<id>`` and ``kind`` ``osm:<kind>``.
    """
    chosen = features[features["kind"].isin(kinds)]
    if not len(chosen):
        return empty_candidates()
    joined = gpd.sjoin(chosen.to_crs(boundaries.crs), boundaries[["district_code", "geometry"]],
                       predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()].to_crs(WGS84)
    projected = joined.to_crs(metric_crs)
    return _frame(pd.DataFrame({
        "site_id": f"{tier}-osm-" + joined["osm_id"].astype(str), "tier": tier, "kind": "osm:" + joined["kind"],
        "name": joined["name"].astype(str), "district_code": joined["district_code"],
        "x_m": projected.geometry.x, "y_m": projected.geometry.y,
        "lon": joined.geometry.x.round(6), "lat": joined.geometry.y.round(6),
    }))


def merge_candidates(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One candidate table from several (site ids must stay unique)."""
    frames = [f for f in frames if len(f)]
    return _frame(pd.concat(frames, ignore_index=True)) if frames else empty_candidates()
