"""Road networks: loading (osmnx), snapping and sparse network costs.

Every access to OpenStreetMap data happens here, and osmnx is imported only
here (lazily, so that the offline default never pays for it). A network comes
from ``[network] source``:

* ``"osm"`` — the drivable network of the region's polygon downloaded with
  osmnx, then kept in the cache folder so that a second run needs no network;
* a path to an OSM XML file (``.osm``, ``.osm.bz2``) read with
  :func:`osmnx.graph_from_xml` and filtered to drivable ways, a GraphML
  file saved by :func:`osmnx.save_graphml`, or an ``.osm.pbf`` extract read
  with pyosmium (:mod:`siting.osm_pbf`) and cut to the region plus
  :data:`PBF_MARGIN_M` before the graph is built.

The graph is projected to the scenario's metric CRS and reduced to a
:class:`RoadNetwork`: node coordinates and two compressed sparse row matrices
(edge lengths in metres, free-flow travel times in seconds), which is all the
cost computation needs. Prepared networks are cached as ``.npz`` files keyed by
the source's content, so a large city is parsed once.

Costs are computed in one multi-source pass per batch of candidate sites with
:func:`scipy.sparse.csgraph.dijkstra` and a cut-off at the radius, on the
reversed graph so that the cost is that of driving *from* the demand point
*to* the site. Points are snapped to their nearest node; the straight leg
between a point and its node counts in the cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siting._errors import DataError
from siting.scenario import Scenario, network_file

log = logging.getLogger(__name__)

#: Bump when the prepared-network format or the preparation changes.
CACHE_VERSION = 1

#: Roads kept around the region when a ``.pbf`` extract is cut to it: a drive to a charger near the
#: border may use a road just outside it.
PBF_MARGIN_M = 2000.0

#: Speeds (km/h) for road types whose edges carry no ``maxspeed`` tag: about
#: the design speeds of China's urban road classes (CJJ 37-2012: expressway
#: 60–100, arterial 40–60, secondary 30–50, branch 20–40) and the 120 km/h
#: motorway limit; links a little slower than their road.
HIGHWAY_SPEEDS_KMH = {
    "motorway": 100.0, "motorway_link": 60.0, "trunk": 80.0, "trunk_link": 50.0,
    "primary": 60.0, "primary_link": 40.0, "secondary": 50.0, "secondary_link": 35.0,
    "tertiary": 40.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 30.0,
    "living_street": 10.0, "road": 30.0,
}

#: Highway values osmnx's "drive" network excludes (osmnx ``_overpass._get_network_filter``).
_NOT_DRIVABLE = {
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator", "escalator",
    "footway", "no", "path", "pedestrian", "planned", "platform", "proposed", "raceway", "razed", "rest_area",
    "service", "services", "steps", "track",
}
_NOT_DRIVABLE_SERVICE = {"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}

#: OSM tags of the features offered as candidate sites, and the kind each becomes.
FEATURE_TAGS: dict[str, list[str]] = {
    "amenity": ["fuel", "parking", "bus_station"],
    "shop": ["mall"],
    "public_transport": ["station"],
    "railway": ["station"],
    "landuse": ["industrial"],
}
_FEATURE_KIND = {
    ("amenity", "fuel"): "fuel", ("amenity", "parking"): "parking", ("amenity", "bus_station"): "transport_hub",
    ("shop", "mall"): "mall", ("public_transport", "station"): "transport_hub",
    ("railway", "station"): "transport_hub", ("landuse", "industrial"): "industrial",
}


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road network reduced to what costs need.

    Attributes
    ----------
    source : str
        ``network.source`` as the scenario gives it.
    crs : str
        The metric CRS of ``node_xy``.
    node_xy : numpy.ndarray
        ``(n_nodes, 2)`` node coordinates, metres.
    to_site_m, to_site_s : scipy.sparse.csr_matrix
        Reversed adjacency: entry ``[v, u]`` is the length (metres) or free-flow
        travel time (seconds) of the road from ``u`` to ``v``, the shortest of
        parallel roads.
    n_edges : int
        Directed edges of the graph (parallel edges counted).
    default_speed_kmh : float
        Speed between a point and its nearest node, for time costs.
    """

    source: str
    crs: str
    node_xy: np.ndarray
    to_site_m: csr_matrix
    to_site_s: csr_matrix
    n_edges: int
    default_speed_kmh: float

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    def summary(self) -> dict[str, Any]:
        """Source, CRS and size, as recorded in ``plan.json``."""
        return {"source": self.source, "crs": self.crs, "nodes": self.n_nodes, "edges": self.n_edges}

    @classmethod
    def from_edges(cls, node_xy: np.ndarray, u: np.ndarray, v: np.ndarray, length_m: np.ndarray,
                   time_s: np.ndarray, *, source: str, crs: str, default_speed_kmh: float,
                   n_edges: int | None = None) -> RoadNetwork:
        """Build from edge arrays (positional node indices ``u → v``), keeping the shortest parallel edge.

        ``n_edges`` is the graph's edge count to report (default: ``len(u)``).
        """
        n = len(node_xy)
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        return cls(source=source, crs=crs, node_xy=np.asarray(node_xy, dtype=float),
                   to_site_m=_reversed_csr(u, v, np.asarray(length_m, dtype=float), n),
                   to_site_s=_reversed_csr(u, v, np.asarray(time_s, dtype=float), n),
                   n_edges=len(u) if n_edges is None else n_edges, default_speed_kmh=default_speed_kmh)


def _reversed_csr(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int) -> csr_matrix:
    keep = u != v
    frame = pd.DataFrame({"row": v[keep], "col": u[keep], "w": weight[keep]})
    # csr_matrix sums duplicates: keep the shortest of parallel edges instead. A zero-length
    # edge would vanish from a sparse matrix, so it gets a length of a millimetre.
    frame = frame.groupby(["row", "col"], sort=True)["w"].min().reset_index()
    return csr_matrix((np.maximum(frame["w"].to_numpy(), 1e-3), (frame["row"].to_numpy(), frame["col"].to_numpy())),
                      shape=(n, n))


# ---------------------------------------------------------------------------------------------- loading


def load_network(scenario: Scenario, region: Any) -> RoadNetwork | None:
    """The road network ``scenario.network.source`` names, or None for ``"none"``.

    Parameters
    ----------
    scenario : Scenario
    region : shapely Polygon or MultiPolygon
        The region in WGS84 (EPSG:4326): what ``"osm"`` downloads.

    Raises
    ------
    DataError
        If the file cannot be read or holds no drivable roads, or if ``"osm"``
        has to download and cannot (offline with nothing cached).
    """
    n = scenario.network
    if n.source == "none":
        return None
    path = network_file(scenario)
    key = _cache_key(scenario, region, path)
    cached = cache_folder(scenario) / f"network-{key}.npz"
    if cached.exists():
        log.info("road network from cache %s", cached)
        return _read_npz(cached, source=n.source, crs=scenario.region.metric_crs,
                         default_speed_kmh=n.default_speed_kmh)
    if path is None:
        graph = _download_graph(region, cache_folder(scenario))
        simplified = True
    elif path.name.lower().endswith(".graphml"):
        graph = _read_graphml(path)
        simplified = True
    elif _is_pbf(path):
        from siting.osm_pbf import read_drive_graph
        graph = read_drive_graph(path, region=_with_margin(region, scenario.region.metric_crs))
        simplified = False
    else:
        graph = _read_osm_xml(path)
        simplified = False
    network = graph_to_network(graph, source=n.source, metric_crs=scenario.region.metric_crs,
                               default_speed_kmh=n.default_speed_kmh, simplified=simplified,
                               origin=str(path) if path else "the OpenStreetMap download")
    _write_npz(network, cached)
    return network


def cache_folder(scenario: Scenario) -> Path:
    """Where prepared networks and downloads are kept: ``network.cache_dir`` or the user cache folder."""
    configured = scenario.network.cache_dir
    if configured:
        return (scenario.path.parent / Path(configured).expanduser()).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "siting"


def _is_pbf(path: Path | None) -> bool:
    return path is not None and path.name.lower().endswith(".pbf")


def _with_margin(region: Any, metric_crs: str) -> Any:
    """``region`` (WGS84) grown by :data:`PBF_MARGIN_M`, in WGS84 (None stays None: the whole file)."""
    if region is None:
        return None
    grown = gpd.GeoSeries([region], crs="EPSG:4326").to_crs(metric_crs).buffer(PBF_MARGIN_M)
    return grown.to_crs("EPSG:4326").iloc[0]


def _cache_key(scenario: Scenario, region: Any, path: Path | None) -> str:
    h = hashlib.sha256()
    h.update(f"v{CACHE_VERSION}|{scenario.region.metric_crs}|{scenario.network.default_speed_kmh}|".encode())
    if path is None:
        h.update(b"osm-drive|" + region.wkb)
    else:
        if _is_pbf(path) and region is not None:  # a .pbf is cut to the region: one file serves many
            h.update(b"pbf|" + region.wkb)
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:20]


def _read_npz(path: Path, *, source: str, crs: str, default_speed_kmh: float) -> RoadNetwork:
    with np.load(path) as data:
        return RoadNetwork.from_edges(data["node_xy"], data["u"], data["v"], data["length_m"], data["time_s"],
                                      source=source, crs=crs, default_speed_kmh=default_speed_kmh,
                                      n_edges=int(data["n_edges"]))


def _write_npz(network: RoadNetwork, path: Path) -> None:
    m = network.to_site_m.tocoo()
    s = network.to_site_s.tocoo()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial.npz")
        # the matrices are reversed: row v, column u is the road u → v
        np.savez_compressed(tmp, node_xy=network.node_xy, u=m.col, v=m.row, length_m=m.data, time_s=s.data,
                            n_edges=network.n_edges)
        tmp.replace(path)
    except OSError as exc:  # a read-only cache costs time, not correctness
        log.warning("cannot cache the road network in %s (%s)", path.parent, exc.strerror)


@contextlib.contextmanager
def _osmnx_settings(**values: Any) -> Iterator[Any]:
    """osmnx with ``values`` set in its settings module, restored afterwards."""
    import osmnx as ox
    old = {name: getattr(ox.settings, name) for name in values}
    for name, value in values.items():
        setattr(ox.settings, name, value)
    try:
        yield ox
    finally:
        for name, value in old.items():
            setattr(ox.settings, name, value)


def _download_graph(region: Any, cache: Path) -> Any:
    with _osmnx_settings(cache_folder=cache / "osmnx-http", use_cache=True) as ox:
        try:
            return ox.graph_from_polygon(region, network_type="drive", retain_all=True)
        except (OSError, ox._errors.InsufficientResponseError, ox._errors.ResponseStatusCodeError) as exc:
            msg = (f'network.source = "osm": cannot download the road network ({type(exc).__name__}) and none is '
                   f"cached in {cache}; connect to the internet once, or give a local .osm/.graphml file "
                   "(see docs/network.md)")
            raise DataError(msg) from None


def _read_graphml(path: Path) -> Any:
    import osmnx as ox
    try:
        return ox.load_graphml(path)
    except Exception as exc:  # networkx and lxml raise many types on a bad file
        msg = f"{path}: cannot read the GraphML network ({exc}); save it with osmnx.save_graphml"
        raise DataError(msg) from None


def _read_osm_xml(path: Path) -> Any:
    import osmnx as ox
    try:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # the SAX parser, bz2 and osmnx raise many types on a bad file
        msg = f"{path}: cannot read the OSM XML file ({type(exc).__name__}: {exc}); export OSM XML (see docs/network.md)"
        raise DataError(msg) from None
    # graph_from_xml turns every way into edges (rivers, railways, buildings): keep the drivable roads
    drop = [(a, b, k) for a, b, k, data in graph.edges(keys=True, data=True) if not _drivable(data)]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([node for node, degree in graph.degree() if degree == 0])
    return graph


def _drivable(edge: dict) -> bool:
    highway = edge.get("highway")
    if highway is None or highway in _NOT_DRIVABLE:
        return False
    return (edge.get("area") != "yes" and edge.get("access") != "private"
            and edge.get("service") not in _NOT_DRIVABLE_SERVICE)


def graph_to_network(graph: Any, *, source: str, metric_crs: str, default_speed_kmh: float,
                     simplified: bool = True, origin: str = "the graph") -> RoadNetwork:
    """Reduce an osmnx graph to a :class:`RoadNetwork` in ``metric_crs``.

    Keeps the largest strongly connected component (every site reachable from
    every node), simplifies an unsimplified graph, projects it, measures edge
    lengths in the metric CRS (so that a path is never shorter than the straight
    line in the same CRS) and adds free-flow travel times from osmnx's speeds:
    ``maxspeed`` where tagged, :data:`HIGHWAY_SPEEDS_KMH` for untagged types,
    ``default_speed_kmh`` for the rest.

    Raises
    ------
    DataError
        If the graph has no drivable roads.
    """
    import osmnx as ox
    if graph.number_of_edges() == 0:
        msg = f"{origin}: no drivable roads (OSM ways with a drivable highway tag); check the extract"
        raise DataError(msg)
    graph = ox.truncate.largest_component(graph, strongly=True)
    if not simplified and not graph.graph.get("simplified"):
        graph = ox.simplify_graph(graph)
    graph = ox.project_graph(graph, to_crs=metric_crs)
    graph = ox.add_edge_speeds(graph, hwy_speeds=HIGHWAY_SPEEDS_KMH, fallback=default_speed_kmh)
    nodes, edges = ox.graph_to_gdfs(graph, fill_edge_geometry=True)
    position = pd.Series(np.arange(len(nodes)), index=nodes.index)
    u = position.loc[edges.index.get_level_values("u")].to_numpy()
    v = position.loc[edges.index.get_level_values("v")].to_numpy()
    length_m = edges.geometry.length.to_numpy()
    time_s = length_m / (edges["speed_kph"].to_numpy(dtype=float) / 3.6)
    log.info("road network: %d nodes, %d edges", len(nodes), len(edges))
    return RoadNetwork.from_edges(np.column_stack([nodes["x"], nodes["y"]]), u, v, length_m, time_s,
                                  source=source, crs=metric_crs, default_speed_kmh=default_speed_kmh)


# ---------------------------------------------------------------------------------------------- costs


def network_costs(
    demand: pd.DataFrame,
    sites: pd.DataFrame,
    network: RoadNetwork,
    *,
    radius: float,
    cost: str = "distance",
    batch_size: int | None = None,
) -> pd.DataFrame:
    """Road-network cost for every (demand, site) pair within ``radius``.

    Parameters
    ----------
    demand, sites : pandas.DataFrame
        ``demand_id`` / ``site_id`` and ``x_m, y_m`` in the network's metric CRS.
    network : RoadNetwork
    radius : float
        Largest cost kept: metres for ``cost="distance"``, seconds for ``"time"``.
    cost : {"distance", "time"}
        Driving distance (metres) or free-flow driving time (seconds) from the
        demand point to the site, the legs to and from the nearest nodes included
        (at ``network.default_speed_kmh`` for time).
    batch_size : int, optional
        Sites per Dijkstra pass; default keeps each pass's distance block near 256 MB.

    Returns
    -------
    pandas.DataFrame
        ``demand_id, site_id, cost, straight_m``, sorted by demand then site
        position — the table :func:`siting.costs.straight_line_costs` returns.
    """
    if cost not in ("distance", "time"):
        msg = f'cost must be "distance" or "time"; got {cost!r}'
        raise ValueError(msg)
    columns = ["demand_id", "site_id", "cost", "straight_m"]
    demand_xy = demand[["x_m", "y_m"]].to_numpy(dtype=float)
    site_xy = sites[["x_m", "y_m"]].to_numpy(dtype=float)
    if not len(demand_xy) or not len(site_xy):
        return pd.DataFrame(columns=columns)
    tree = cKDTree(network.node_xy)
    d_snap, d_node = tree.query(demand_xy)
    s_snap, s_node = tree.query(site_xy)
    if cost == "time":
        speed_m_per_s = network.default_speed_kmh / 3.6
        d_snap, s_snap = d_snap / speed_m_per_s, s_snap / speed_m_per_s
    weights = network.to_site_m if cost == "distance" else network.to_site_s
    pairs = _node_pairs(weights, np.unique(s_node), np.unique(d_node), limit=radius, batch_size=batch_size)
    # expand node pairs to the sites and demand points snapped to those nodes
    site_at = pd.DataFrame({"s_node": s_node, "site": np.arange(len(s_node))})
    demand_at = pd.DataFrame({"d_node": d_node, "dem": np.arange(len(d_node))})
    table = pairs.merge(site_at, on="s_node").merge(demand_at, on="d_node")
    d_index = table["dem"].to_numpy()
    s_index = table["site"].to_numpy()
    total = table["net"].to_numpy() + d_snap[d_index] + s_snap[s_index]
    keep = total <= radius
    d_index, s_index, total = d_index[keep], s_index[keep], total[keep]
    order = np.lexsort((s_index, d_index))
    d_index, s_index, total = d_index[order], s_index[order], total[order]
    return pd.DataFrame({
        "demand_id": demand["demand_id"].to_numpy()[d_index],
        "site_id": sites["site_id"].to_numpy()[s_index],
        "cost": total,
        "straight_m": np.hypot(*(demand_xy[d_index] - site_xy[s_index]).T),
    }, columns=columns)


def _node_pairs(weights: csr_matrix, site_nodes: np.ndarray, demand_nodes: np.ndarray, *, limit: float,
                batch_size: int | None) -> pd.DataFrame:
    """Shortest cost from each demand node to each site node within ``limit``, by batches of sources."""
    n = weights.shape[0]
    batch = batch_size or max(1, min(len(site_nodes), (256 << 20) // (8 * max(n, 1))))
    s_parts, d_parts, net_parts = [], [], []
    for start in range(0, len(site_nodes), batch):
        sources = site_nodes[start:start + batch]
        # on the reversed graph, the distance from a site to node v is the drive from v to the site
        dist = dijkstra(weights, directed=True, indices=sources, limit=limit)[:, demand_nodes]
        rows, cols = np.nonzero(np.isfinite(dist))
        s_parts.append(sources[rows])
        d_parts.append(demand_nodes[cols])
        net_parts.append(dist[rows, cols])
    return pd.DataFrame({"s_node": np.concatenate(s_parts), "d_node": np.concatenate(d_parts),
                         "net": np.concatenate(net_parts)})


# ---------------------------------------------------------------------------------------------- features


def osm_features(scenario: Scenario, region: Any) -> gpd.GeoDataFrame:
    """OSM features that can host a charger or a station, as points in WGS84.

    Fuel stations, parking, malls, transport hubs (bus and railway stations)
    and industrial land, read from the scenario's OSM XML file or downloaded
    for ``"osm"`` (cached like the network). From an ``.osm.pbf`` extract, the
    places of :func:`siting.osm_pbf.osm_places` in the region, one row per
    place (the kind of its first tier).

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id, kind, name`` and a point geometry (a polygon's
        representative point), EPSG:4326.

    Raises
    ------
    DataError
        If the file cannot be read, or the download fails with nothing cached.
    """
    path = network_file(scenario)
    key = _cache_key(scenario, region, path)
    cached = cache_folder(scenario) / f"features-{key}.csv"
    if cached.exists():
        table = pd.read_csv(cached, dtype={"osm_id": str, "kind": str, "name": str}, keep_default_na=False)
        return gpd.GeoDataFrame(table[["osm_id", "kind", "name"]],
                                geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
    if _is_pbf(path):
        from siting.osm_pbf import osm_places, places_as_features
        features = places_as_features(osm_places(path, region=region))
        _write_features(features, cached)
        return features
    with _osmnx_settings(cache_folder=cache_folder(scenario) / "osmnx-http", use_cache=True) as ox:
        try:
            raw = (ox.features_from_polygon(region, tags=FEATURE_TAGS) if path is None
                   else ox.features_from_xml(path, tags=FEATURE_TAGS))
        except ox._errors.InsufficientResponseError:
            raw = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
        except OSError as exc:
            where = "download them" if path is None else f"read {path}"
            msg = (f"network.osm_candidates: cannot {where} ({type(exc).__name__}: {exc}); connect once or give a "
                   "local OSM XML file")
            raise DataError(msg) from None
    features = _tidy_features(raw)
    _write_features(features, cached)
    return features


def _write_features(features: gpd.GeoDataFrame, cached: Path) -> None:
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"osm_id": features["osm_id"], "kind": features["kind"], "name": features["name"],
                      "lon": features.geometry.x, "lat": features.geometry.y}).to_csv(cached, index=False)


def _tidy_features(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not len(raw):
        return gpd.GeoDataFrame({"osm_id": [], "kind": [], "name": []}, geometry=[], crs="EPSG:4326")
    kind = pd.Series(pd.NA, index=raw.index, dtype=object)
    for (tag, value), label in _FEATURE_KIND.items():
        if tag in raw:
            kind = kind.where(kind.notna() | (raw[tag] != value), label)
    found = raw[kind.notna()]
    ids = [f"{element}-{osmid}" for element, osmid in found.index]
    names = found["name"].fillna("").astype(str) if "name" in found else pd.Series("", index=found.index)
    points = found.geometry.representative_point()
    table = gpd.GeoDataFrame({"osm_id": ids, "kind": kind[kind.notna()].to_numpy(), "name": names.to_numpy()},
                             geometry=points.to_numpy(), crs=raw.crs).to_crs("EPSG:4326")
    return table.sort_values("osm_id").reset_index(drop=True)
