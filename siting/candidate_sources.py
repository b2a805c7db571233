"""Candidate sites from ordered sources: the planner's file, OpenStreetMap places, demand cells.

A tier's ``candidate_sources`` lists ``"file"``, ``"osm"`` and ``"cells"`` in
order of preference. The first source gives all its candidates; each later
one adds candidates only where the earlier ones leave demand out of reach (a
demand point with no earlier candidate within the tier's radius), so a city
with a good list of car parks gets cells only in its gaps (docs/candidates.md).

Every table here has the columns of :mod:`siting.candidates` plus ``source``
(``file``, ``osm``, ``cells``), ``osm_id`` and ``address``; the sources that
know a site's room or cost also give ``max_units``, ``min_units``,
``site_cost_cny`` and ``existing_units`` (NaN where the tier's default holds,
filled by :func:`with_limits`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import candidates as cand
from siting._errors import DataError
from siting.inputs import read_points

SOURCES = ("file", "osm", "cells")
#: Columns every sourced candidate table has beside :data:`siting.candidates.COLUMNS`.
EXTRA_COLUMNS = ("source", "osm_id", "address")
LIMIT_COLUMNS = ("min_units", "max_units", "site_cost_cny", "existing_units")
#: Share of a car park's spaces given chargers: public car parks "not below 10 %" of their spaces
#: (国务院办公厅《关于加快电动汽车充电基础设施建设的指导意见》, 国办发〔2015〕73号). See docs/candidates.md.
PARKING_CHARGER_SHARE = 0.10
#: Chargers assumed at an OpenStreetMap charging station with no ``capacity`` tag (ASSUMPTION: a typical
#: small public site; docs/candidates.md).
DEFAULT_STATION_CHARGERS = 2
#: OSM kinds whose ``capacity`` tag counts parking spaces (chargers = spaces × :data:`PARKING_CHARGER_SHARE`).
PARKING_KINDS = ("parking",)
#: OSM kind of an existing charging station (existing sites when ``targets.mode = "total"``).
CHARGING_STATION_KIND = "charging_station"

Reach = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]


def read_candidate_file(path: Path, *, tier: str, boundaries: gpd.GeoDataFrame, metric_crs: str) -> gpd.GeoDataFrame:
    """A planner's candidate sites: CSV/XLSX/GeoPackage/GeoJSON with ``site_id, name, lon, lat``.

    Optional columns: ``address``, ``kind``, ``osm_id``, ``max_chargers`` (a whole
    number ≥ 1: the site's room) and ``site_cost_cny`` (≥ 0: replaces the
    tier's ``site_cost_cny``). Polygons are represented by a point inside them.
    Site ids are kept as the file gives them.

    Raises
    ------
    DataError
        One line naming the file, the row (or feature), the field and the fix.
    """
    table = read_points(path, id_column="site_id", required=["name"], boundaries=boundaries)
    if (table["site_id"].astype(str).str.strip() == "").any():
        row = int(np.argmax((table["site_id"].astype(str).str.strip() == "").to_numpy())) + 2
        msg = f"{path}: row {row}: site_id is empty; give every candidate site an id"
        raise DataError(msg)
    rooms = _optional_number(path, table, "max_chargers", whole=True, least=1)
    costs = _optional_number(path, table, "site_cost_cny", whole=False, least=0)
    kind = table["kind"].astype("string").fillna("").astype(str) if "kind" in table else ""
    sites = cand.point_candidates(table, id_column="site_id", tier=tier, kind="candidate_site", metric_crs=metric_crs)
    sites["site_id"] = table["site_id"].astype(str).to_numpy()  # the planner's ids, unchanged
    if isinstance(kind, pd.Series):
        sites["kind"] = kind.where(kind != "", "candidate_site").to_numpy()
    sites["name"] = table["name"].astype("string").fillna("").astype(str).to_numpy()
    sites["source"] = "file"
    sites["osm_id"] = _text(table, "osm_id")
    sites["address"] = _text(table, "address")
    sites["max_units"] = rooms
    sites["site_cost_cny"] = costs
    return sites


def _text(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        return np.full(len(table), "", dtype=object)
    return table[column].astype("string").fillna("").astype(str).to_numpy()


def _optional_number(path: Path, table: pd.DataFrame, column: str, *, whole: bool, least: float) -> np.ndarray:
    """``column`` as floats (NaN where empty); a bad cell raises one line naming its row."""
    if column not in table:
        return np.full(len(table), np.nan)
    raw = table[column]
    text = raw.astype("string").fillna("").astype(str).str.strip().str.replace(",", "", regex=False)
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (values.isna() | (values < least) | (whole & (values % 1 != 0)))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        want = f"a whole number of at least {least:g}" if whole else f"a number of at least {least:g}"
        msg = (f"{path}: row {i + 2} (site_id {table['site_id'].iloc[i]}): {column} = {_shown(raw.iloc[i])!r} is not "
               f"{want}; fix it or leave the cell empty")
        raise DataError(msg)
    return values.to_numpy(dtype=float)


def _shown(value: Any) -> str:
    """A cell as the planner typed it (a whole float without its ".0")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def osm_place_candidates(places: pd.DataFrame, *, tier: str, osm_tier: str, boundaries: gpd.GeoDataFrame,
                         metric_crs: str, existing_stations: bool,
                         parking_share: float = PARKING_CHARGER_SHARE) -> gpd.GeoDataFrame:
    """The places of :func:`siting.osm_pbf.osm_places` for one tier, as candidate sites.

    Parameters
    ----------
    places : pandas.DataFrame
        ``osm_id, name, kind, tier, capacity, address, lon, lat``.
    tier : str
        The tier the candidates are for (site ids ``<tier>-osm-<osm_id>``).
    osm_tier : str
        Whose rules (``places["tier"]``) the tier takes: public, residential, rural, commercial.
    existing_stations : bool
        Charging stations become existing sites (``targets.mode = "total"``): their
        ``capacity`` tag, else :data:`DEFAULT_STATION_CHARGERS`, as existing units
        and their room. Without it they are left out.
    parking_share : float
        Chargers per parking space: a car park with a ``capacity`` tag has room for
        ``floor(capacity × share)`` chargers; one with room for none is left out.

    Returns
    -------
    geopandas.GeoDataFrame
        Candidate columns, ``source`` "osm", ``osm_id``, ``address``, ``max_units``
        (NaN: the tier's default) and ``existing_units`` (NaN: none).
    """
    mine = places[places["tier"] == osm_tier]
    if not existing_stations:
        mine = mine[mine["kind"] != CHARGING_STATION_KIND]
    if not len(mine):
        return empty()
    points = gpd.GeoDataFrame(mine.drop(columns="geometry", errors="ignore").reset_index(drop=True),
                              geometry=gpd.points_from_xy(mine["lon"], mine["lat"]), crs=cand.WGS84)
    joined = gpd.sjoin(points.to_crs(boundaries.crs), boundaries[["district_code", "geometry"]],
                       predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()].sort_index()
    joined = gpd.GeoDataFrame(joined.drop(columns="geometry"), geometry=points.geometry[joined.index], crs=cand.WGS84)
    capacity = joined["capacity"].astype(float)
    room = np.where(joined["kind"].isin(PARKING_KINDS), np.floor(capacity * parking_share), np.nan)
    station = (joined["kind"] == CHARGING_STATION_KIND).to_numpy()
    existing = np.where(station, np.where(capacity > 0, capacity, DEFAULT_STATION_CHARGERS), np.nan)
    keep = ~(room < 1)
    sites = cand.point_candidates(joined.assign(osm=joined["osm_id"]), id_column="osm", tier=f"{tier}-osm",
                                  kind="osm:" + joined["kind"].astype(str), metric_crs=metric_crs)
    sites["tier"] = tier
    sites["source"] = "osm"
    sites["osm_id"] = joined["osm_id"].astype(str).to_numpy()
    sites["address"] = joined["address"].fillna("").astype(str).to_numpy()
    sites["max_units"] = np.where(station, existing, room)
    sites["existing_units"] = existing
    return sites[keep].reset_index(drop=True)


def osm_feature_candidates(features: gpd.GeoDataFrame, *, tier: str, kinds: tuple[str, ...],
                           boundaries: gpd.GeoDataFrame, metric_crs: str) -> gpd.GeoDataFrame:
    """OSM features of :func:`siting.network.osm_features` (a download, an XML file), as sourced candidates."""
    sites = cand.osm_candidates(features, tier=tier, kinds=kinds, boundaries=boundaries, metric_crs=metric_crs)
    sites["source"] = "osm"
    sites["osm_id"] = sites["site_id"].str.removeprefix(f"{tier}-osm-")
    sites["address"] = ""
    return sites


def empty() -> gpd.GeoDataFrame:
    sites = cand.empty_candidates()
    for column in EXTRA_COLUMNS:
        sites[column] = pd.Series(dtype=object)
    return sites


def label_sources(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``sites`` with ``source, osm_id, address`` where missing (candidates made without sources).

    ``osm:`` kinds are from OpenStreetMap, hubs from the hub file, other points
    from files (extra sites, existing stations and chargers), the rest cells.
    """
    out = sites.copy()
    kind = out["kind"].astype(str)
    osm = kind.str.startswith("osm:")
    guess = np.where(osm, "osm", np.where(kind.str.startswith("hub"), "hubs",
                                          np.where(kind.isin(["candidate_site", "existing_station", "existing"]),
                                                   "file", "cells")))
    if "source" not in out:
        out["source"] = guess
    else:
        out["source"] = out["source"].where(out["source"].notna() & (out["source"] != ""), guess)
    osm_id = out["site_id"].astype(str).str.extract(r"-osm-(.+)$")[0].fillna("")
    if "osm_id" not in out:
        out["osm_id"] = np.where(osm, osm_id, "")
    else:
        out["osm_id"] = out["osm_id"].fillna("")
    out["address"] = out["address"].fillna("") if "address" in out else ""
    return out


def in_order(frames: list[gpd.GeoDataFrame], demand: pd.DataFrame, reach: Reach,
             required: tuple = ()) -> gpd.GeoDataFrame:
    """The candidates of ``frames`` (in order of preference), each later one only where demand is out of reach.

    Parameters
    ----------
    frames : list of GeoDataFrame
        One candidate table per source, the preferred first. Existing sites
        (``existing_units`` > 0) are always kept and reach nothing for this rule.
    demand : pandas.DataFrame
        ``demand_id, weight, x_m, y_m`` (metric CRS).
    reach : callable
        ``reach(demand, sites)`` → the (``demand_id``, ``site_id``) pairs within the
        tier's radius (:meth:`siting.problem.TierProblem.costs`, :func:`siting.costs.travel_costs`).
    required : tuple
        Demand ids that need a site in reach even with no weight (towns).

    Returns
    -------
    geopandas.GeoDataFrame
        The kept candidates, in source order.
    """
    wanted = demand[(demand["weight"] > 0) | demand["demand_id"].isin(required)].reset_index(drop=True)
    unreached = np.ones(len(wanted), dtype=bool)
    kept: list[gpd.GeoDataFrame] = []
    first = True
    for frame in frames:
        if not len(frame):
            continue
        existing = _existing(frame)
        offered = frame[~existing]
        pairs = reach(wanted[unreached], offered) if unreached.any() and len(offered) else None
        if not first:
            offered = offered[offered["site_id"].isin(set(pairs["site_id"]))] if pairs is not None \
                else offered.iloc[0:0]
        if pairs is not None:
            unreached &= ~wanted["demand_id"].isin(set(pairs["demand_id"])).to_numpy()
        if len(offered):
            first = False
        kept.append(pd.concat([offered, frame[existing]]) if existing.any() else offered)
    kept = [k for k in kept if len(k)]
    if not kept:
        return empty()
    out = pd.concat(kept, ignore_index=True)
    if out["site_id"].duplicated().any():
        msg = f"candidate site id {out['site_id'][out['site_id'].duplicated()].iloc[0]!r} comes from two sources"
        raise DataError(msg)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=cand.WGS84)


def _existing(frame: pd.DataFrame) -> np.ndarray:
    if "existing_units" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return (frame["existing_units"].fillna(0) > 0).to_numpy()


def with_limits(sites: gpd.GeoDataFrame, *, min_units: int, max_units: int, site_cost_cny: float) -> gpd.GeoDataFrame:
    """``min_units, max_units, site_cost_cny, existing_units`` filled: the tier's defaults where a source gave none.

    A site's room (``max_units`` from a file or a car park's capacity) caps the
    tier's ``max_units``; ``min_units`` is lowered to the room so that a small
    site can still open. An existing site's room is its existing units.
    """
    out = sites.copy()
    for column in LIMIT_COLUMNS:
        if column not in out:
            out[column] = np.nan
    existing = out["existing_units"].fillna(0).astype(np.int64)
    room = out["max_units"].astype(float).fillna(max_units).clip(upper=max_units)
    room = room.where(existing == 0, existing.astype(float))
    out["existing_units"] = existing
    out["max_units"] = room.astype(np.int64)
    out["min_units"] = np.minimum(out["min_units"].astype(float).fillna(min_units), out["max_units"]).astype(np.int64)
    out["site_cost_cny"] = out["site_cost_cny"].astype(float).fillna(float(site_cost_cny))
    return out


def check_unique_ids(sites_by_tier: dict[str, pd.DataFrame]) -> None:
    """Refuse a site id that two tiers use (the planner's ids are kept as they are).

    Raises
    ------
    DataError
        Naming the id, both tiers and the fix.
    """
    seen: dict[str, str] = {}
    for tier, sites in sites_by_tier.items():
        for site_id in sites["site_id"].astype(str).unique():
            if site_id in seen:
                msg = (f"site id {site_id!r} is a candidate of both the {seen[site_id]} and the {tier} tier; give "
                       "each tier's candidate_sites ids of their own (e.g. a prefix)")
                raise DataError(msg)
            seen[site_id] = tier


def places_cache(folder: Path, key: str) -> Path:
    return folder / f"places-{key}.csv"


def read_places_cached(cached: Path) -> pd.DataFrame | None:
    """A places table saved by :func:`write_places`, or None."""
    if not cached.exists():
        return None
    table = pd.read_csv(cached, dtype={"osm_id": str, "name": str, "kind": str, "tier": str, "address": str},
                        keep_default_na=False, na_values={"capacity": [""]})
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=cand.WGS84)


def write_places(places: pd.DataFrame, cached: Path) -> None:
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(places.drop(columns="geometry", errors="ignore")).to_csv(cached, index=False)


def load_osm_places(scenario: Any, region: Any) -> gpd.GeoDataFrame | None:
    """The OSM places of the scenario's local OSM file (``.osm.pbf``, ``.osm``), cached; None without one.

    With ``network.source = "osm"`` (a download) or a GraphML file there is no
    local OSM file: :func:`siting.network.osm_features` gives the features instead.
    """
    from siting.network import _cache_key, cache_folder
    from siting.osm_pbf import osm_places
    from siting.scenario import network_file
    path = network_file(scenario)
    if path is None or path.name.lower().endswith(".graphml"):
        return None
    cached = places_cache(cache_folder(scenario), _cache_key(scenario, region, path))
    places = read_places_cached(cached)
    if places is None:
        places = osm_places(path, region=region)
        write_places(places, cached)
    return places
