"""Sparse travel costs between demand points and candidate sites.

Only pairs within a tier's radius are kept. Offline (``network.source = "none"``)
the travel distance is the straight-line distance in the metric CRS times a
circuity factor (road distance ÷ straight-line distance; 1.2–1.4 in
metropolitan areas, 1.3 by default: Newell (1980) puts random urban trips at
about 1.2, and Giacomin & Levinson (2015, 51 US metropolitan areas) find short
trips — a drive to a charger is one — more circuitous than long ones).
With a road network (:mod:`siting.network`) it is the driving distance or time.

:func:`travel_costs` is the one entry point the allocation uses: it dispatches
on whether a network was loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from siting.network import RoadNetwork


def travel_costs(
    demand: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    radius_m: float,
    circuity: float,
    network: RoadNetwork | None = None,
    cost: str = "distance",
    radius_s: float | None = None,
) -> pd.DataFrame:
    """Travel cost for every (demand, site) pair within reach.

    Parameters
    ----------
    demand, sites : pandas.DataFrame
        ``demand_id`` / ``site_id`` and ``x_m, y_m`` in the scenario's metric CRS.
    radius_m : float
        Largest travel distance kept when ``cost="distance"``, metres.
    circuity : float
        Used without a network: travel distance ÷ straight-line distance.
    network : RoadNetwork, optional
        A loaded road network (:func:`siting.network.load_network`); None for
        straight-line × circuity.
    cost : {"distance", "time"}
        ``"time"`` needs a network and ``radius_s``.
    radius_s : float, optional
        Largest driving time kept when ``cost="time"``, seconds.

    Returns
    -------
    pandas.DataFrame
        ``demand_id, site_id, cost, straight_m``: ``cost`` in metres
        (distance) or seconds (time), ``straight_m`` the straight-line distance.

    Raises
    ------
    ValueError
        If ``cost="time"`` without a network or ``radius_s``.
    """
    if cost == "time" and (network is None or radius_s is None):
        msg = 'cost = "time" needs a road network and radius_s; set network.source (see docs/network.md)'
        raise ValueError(msg)
    if network is None:
        return straight_line_costs(demand, sites, radius_m=radius_m, circuity=circuity)
    from siting.network import network_costs
    radius = radius_s if cost == "time" else radius_m
    return network_costs(demand, sites, network, radius=radius, cost=cost)


def straight_line_costs(
    demand: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    radius_m: float,
    circuity: float,
    demand_id: str = "demand_id",
    site_id: str = "site_id",
) -> pd.DataFrame:
    """Travel distance for every (demand, site) pair within ``radius_m``.

    Parameters
    ----------
    demand, sites : pandas.DataFrame
        Tables with an id column and ``x_m, y_m`` coordinates in a metric CRS.
    radius_m : float
        Largest travel distance kept, metres.
    circuity : float
        Travel distance ÷ straight-line distance (≥ 1).

    Returns
    -------
    pandas.DataFrame
        ``demand_id, site_id, cost`` (travel distance, metres) and
        ``straight_m``, sorted by demand then site position.
    """
    if circuity < 1:
        msg = f"circuity must be at least 1; got {circuity}"
        raise ValueError(msg)
    demand_xy = demand[["x_m", "y_m"]].to_numpy(dtype=float)
    site_xy = sites[["x_m", "y_m"]].to_numpy(dtype=float)
    columns = ["demand_id", "site_id", "cost", "straight_m"]
    if not len(demand_xy) or not len(site_xy):
        return pd.DataFrame(columns=columns)
    pairs = cKDTree(demand_xy).query_ball_tree(cKDTree(site_xy), r=radius_m / circuity)
    counts = np.fromiter((len(p) for p in pairs), dtype=np.int64, count=len(pairs))
    d_index = np.repeat(np.arange(len(pairs)), counts)
    s_index = np.fromiter((j for p in pairs for j in sorted(p)), dtype=np.int64, count=int(counts.sum()))
    straight = np.hypot(*(demand_xy[d_index] - site_xy[s_index]).T)
    travel = straight * circuity
    keep = travel <= radius_m
    return pd.DataFrame({
        "demand_id": demand[demand_id].to_numpy()[d_index[keep]],
        "site_id": sites[site_id].to_numpy()[s_index[keep]],
        "cost": travel[keep],
        "straight_m": straight[keep],
    }, columns=columns)
