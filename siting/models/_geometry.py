"""Straight-line cost tables from point layers, in a metric CRS only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting._errors import DataError
from siting.models._base import SparseCost


def metric_points(frame: Any, *, layer: str) -> np.ndarray:
    """``(n, 2)`` coordinates in metres of a GeoDataFrame's points (centroids for other shapes).

    Raises
    ------
    siting.DataError
        If the layer has no CRS or a geographic one (degrees are not metres).
    """
    crs = getattr(frame, "crs", None)
    if crs is None:
        msg = f"{layer} layer has no CRS; set one, then project it with .to_crs(<metric CRS, e.g. a UTM zone>)"
        raise DataError(msg)
    if crs.is_geographic:
        msg = (f"{layer} layer is in a geographic CRS ({crs.to_string()}): distances would be in degrees; "
               "project it with .to_crs(<metric CRS, e.g. a UTM zone>) first")
        raise DataError(msg)
    geometry = frame.geometry
    if not (geometry.geom_type == "Point").all():
        geometry = geometry.centroid
    if geometry.is_empty.any() or geometry.isna().any():
        msg = f"{layer} layer has empty or missing geometries; drop them first"
        raise DataError(msg)
    return np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])


def cost_from_geodataframes(
    demand: Any,
    sites: Any,
    *,
    demand_id_col: str | None = None,
    site_id_col: str | None = None,
    max_distance_m: float | None = None,
) -> SparseCost:
    """Euclidean distances in metres between demand points and sites.

    Parameters
    ----------
    demand, sites : geopandas.GeoDataFrame
        Both in the same projected CRS with metre units.
    demand_id_col, site_id_col : str, optional
        Label columns (default: the frames' indexes).
    max_distance_m : float, optional
        Keep only pairs at most this far apart (the table stays sparse).

    Raises
    ------
    siting.DataError
        On a missing or geographic CRS, or when the two CRSs differ.
    """
    a = metric_points(demand, layer="demand")
    b = metric_points(sites, layer="sites")
    if demand.crs != sites.crs:
        msg = (f"demand ({demand.crs.to_string()}) and sites ({sites.crs.to_string()}) are in different CRSs; "
               "project both to one metric CRS")
        raise DataError(msg)
    demand_ids = pd.Index(demand.index if demand_id_col is None else demand[demand_id_col])
    site_ids = pd.Index(sites.index if site_id_col is None else sites[site_id_col])
    if max_distance_m is None:
        diff = a[:, None, :] - b[None, :, :]
        return SparseCost.from_input(np.hypot(diff[..., 0], diff[..., 1]),
                                     demand_ids=demand_ids, site_ids=site_ids)
    neighbours = cKDTree(b).query_ball_point(a, r=max_distance_m)
    counts = np.fromiter((len(n) for n in neighbours), np.int64, len(neighbours))
    rows = np.repeat(np.arange(len(a), dtype=np.int64), counts)
    cols = np.concatenate([np.asarray(n, dtype=np.int64) for n in neighbours]) if len(rows) else rows
    dist = np.hypot(*(a[rows] - b[cols]).T)
    keep = dist <= max_distance_m
    return SparseCost(demand_ids, site_ids, rows[keep], cols[keep], dist[keep])
