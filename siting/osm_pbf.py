"""OpenStreetMap extracts read with pyosmium: the drive graph and the places per tier.

A ``.osm.pbf`` extract (Geofabrik, BBBike: a whole province) is read here
directly, without converting it to XML first. The same functions read OSM XML
(``.osm``, ``.osm.bz2``): libosmium, under pyosmium, reads both formats.

* :func:`read_drive_graph` builds the drivable road graph of a region in the
  form :func:`osmnx.graph_from_xml` gives (an unsimplified osmnx
  ``MultiDiGraph`` in EPSG:4326), so that :func:`siting.network.graph_to_network`
  and everything after it work unchanged. One streaming pass: libosmium keeps
  node locations in its index (C++) and hands Python only the objects with a
  ``highway`` tag; ways with no node inside the region are dropped before the
  graph is built, so a province extract gives a city's graph.
* :func:`osm_places` lists the places that can host chargers or stations, one
  row per place and tier (rules in docs/network.md, "OSM places per tier").
* :func:`street_lines` gives the drivable streets as lines, for a light base
  layer on a map drawn offline.

Progress goes to ``logging`` (about every 5 s and at the end of each pass) and
to an optional ``progress`` callback taking one line of text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import DataError

# osmnx's "drive" rule on a way's tags, the same as for OSM XML
from siting.network import _NOT_DRIVABLE, _drivable

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
Progress = Callable[[str], None]

#: Way tags kept on graph edges: osmnx's default ``settings.useful_tags_way``.
_WAY_TAGS = ("bridge", "tunnel", "oneway", "lanes", "ref", "name", "highway", "maxspeed", "service", "access",
             "area", "landuse", "width", "est_width", "junction")

_WAY_TAG_SET = frozenset(_WAY_TAGS)

PLACE_COLUMNS = ["osm_id", "name", "kind", "tier", "capacity", "address", "lon", "lat"]


@dataclass(frozen=True)
class PlaceRule:
    """Tags that make an OSM object a place of ``kind`` for ``tiers``.

    An object matches when it carries one of ``tags`` (``(key, value)`` pairs)
    and every pair of ``also`` (a further condition, e.g. a depot tag on a bus
    station); it is refused when it carries ``access`` in ``refuse_access``.
    """

    kind: str
    tiers: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    also: tuple[tuple[str, str], ...] = ()
    refuse_access: tuple[str, ...] = field(default=())


#: The places offered per tier, in order: an object takes the first rule of each tier it matches.
PLACE_RULES: tuple[PlaceRule, ...] = (
    # public: where drivers already stop, and the chargers that exist
    PlaceRule("parking", ("public",), (("amenity", "parking"),), refuse_access=("private", "no")),
    PlaceRule("fuel", ("public", "hydrogen"), (("amenity", "fuel"),)),
    PlaceRule("mall", ("public",), (("shop", "mall"),)),
    PlaceRule("retail", ("public",), (("landuse", "retail"),)),
    PlaceRule("transport_hub", ("public",), (("railway", "station"), ("amenity", "bus_station"),
                                             ("aeroway", "terminal"), ("public_transport", "station"))),
    PlaceRule("charging_station", ("public",), (("amenity", "charging_station"),)),
    # residential: where people live and park overnight
    PlaceRule("residential_area", ("residential",), (("landuse", "residential"),)),
    PlaceRule("apartments", ("residential",), (("building", "apartments"), ("building", "residential"))),
    # rural: village squares and town centres
    PlaceRule("village", ("rural",), (("place", "village"),)),
    PlaceRule("hamlet", ("rural",), (("place", "hamlet"),)),
    PlaceRule("town_centre", ("rural",), (("place", "town"),)),
    # commercial: fleets' bases
    PlaceRule("bus_depot", ("commercial",), (("amenity", "bus_depot"),)),
    PlaceRule("bus_depot", ("commercial",), (("amenity", "bus_station"),), also=(("bus_station", "depot"),)),
    PlaceRule("bus_depot", ("commercial",), (("amenity", "bus_station"),), also=(("depot", "yes"),)),
    PlaceRule("logistics", ("commercial",), (("industrial", "logistics"), ("building", "warehouse"),
                                             ("landuse", "logistics"))),
    PlaceRule("port", ("commercial",), (("landuse", "port"), ("landuse", "harbour"), ("harbour", "yes"),
                                        ("industrial", "port"))),
    PlaceRule("industrial", ("commercial",), (("landuse", "industrial"),)),
)

#: Tiers in the order rows are listed.
PLACE_TIERS = ("public", "residential", "rural", "commercial", "hydrogen")


# ---------------------------------------------------------------------------------------------- helpers


class _Ticker:
    """Progress lines at most every ``interval_s``, to the log and an optional callback."""

    def __init__(self, progress: Progress | None, interval_s: float = 5.0) -> None:
        self.progress = progress
        self.interval_s = interval_s
        self.last = time.monotonic()

    def due(self) -> bool:
        """Whether a line would be shown now (to skip formatting it otherwise)."""
        return time.monotonic() - self.last >= self.interval_s

    def say(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval_s:
            return
        self.last = now
        log.info("%s", text)
        if self.progress is not None:
            self.progress(text)


def _processor(path: Path, entities: Any) -> Any:
    import osmium
    if not path.exists():
        msg = f"{path}: no such OSM file; fix network.source (relative to the scenario file)"
        raise DataError(msg)
    return osmium.FileProcessor(str(path), entities)


def _read_error(path: Path, exc: Exception) -> DataError:
    if "out of order" in str(exc):
        return DataError(f"{path}: the OSM objects are not sorted by type and id ({exc}); sort the file with "
                         f"`osmium sort {path.name} -o sorted.osm.pbf`")
    return DataError(f"{path}: cannot read the OSM file ({type(exc).__name__}: {exc}); "
                     "give an .osm.pbf or OSM XML extract (see docs/network.md)")


def _region_mask(lon: np.ndarray, lat: np.ndarray, region: Any | None) -> np.ndarray:
    """Which points lie in ``region`` (WGS84 polygon; None: all), bounding box first."""
    if region is None:
        return np.ones(len(lon), dtype=bool)
    west, south, east, north = region.bounds
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    if inside.any():
        shapely.prepare(region)
        candidates = np.flatnonzero(inside)
        inside[candidates] = shapely.contains_xy(region, lon[candidates], lat[candidates])
    return inside


# ---------------------------------------------------------------------------------------------- the graph


@dataclass
class _Roads:
    """What the graph needs from one pass: drivable ways with their node ids and coordinates."""

    way_ids: list[int] = field(default_factory=list)
    way_tags: list[dict[str, str]] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    lon: list[int] = field(default_factory=list)  # libosmium's 1e-7 degree integers
    lat: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)


#: libosmium's fixed-point coordinates: 1e-7 degree units; this x marks a node missing from the extract.
_COORDINATE_PRECISION = 10_000_000
_UNDEFINED_COORDINATE = 2_147_483_647


def _read_roads(path: Path, ticker: _Ticker, bounds: tuple[float, float, float, float] | None) -> _Roads:
    """Drivable ways with node locations, in one pass (libosmium's node location index, in C++).

    Ways whose bounding box misses ``bounds`` (west, south, east, north; None:
    everywhere) are dropped as they are read, so memory follows the region's
    roads, not the file's. Coordinates are read as libosmium's integers and
    converted once, with numpy.
    """
    import osmium
    roads = _Roads()
    seen = 0
    west, south, east, north = (round(b * _COORDINATE_PRECISION) for b in
                                (bounds if bounds is not None else (-180.0, -90.0, 180.0, 90.0)))
    xs_all, ys_all = roads.lon, roads.lat  # integers here; read_drive_graph scales them
    # nodes feed libosmium's location index only; Python sees the ways with a highway tag
    processor = (_processor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                 .with_filter(osmium.filter.KeyFilter("highway")))
    for way in processor:
        seen += 1
        if ticker.due():
            ticker.say(f"{path.name}: {seen:,} highway ways read, {len(roads.way_ids):,} drivable in the region")
        tags = way.tags
        if tags.get("highway") in _NOT_DRIVABLE:  # most non-drivable ways stop here, cheaply
            continue
        nodes = way.nodes
        xs = [n.x for n in nodes]
        ys = [n.y for n in nodes]
        if max(xs) < west or min(xs) > east or max(ys) < south or min(ys) > north:
            continue  # (a missing node's x is huge: such a way is judged by its other nodes later)
        kept = {t.k: t.v for t in tags if t.k in _WAY_TAG_SET}
        if not _drivable(kept):
            continue
        roads.refs.extend([n.ref for n in nodes])
        xs_all.extend(xs)
        ys_all.extend(ys)
        roads.way_ids.append(way.id)
        roads.way_tags.append(kept)
        roads.lengths.append(len(xs))
    ticker.say(f"{path.name}: {seen:,} highway ways read, {len(roads.way_ids):,} drivable in the region",
               force=True)
    return roads


def read_drive_graph(path: str | Path, *, region: Any | None = None,
                     progress: Progress | None = None) -> Any:
    """The drivable road graph of an OSM extract, in osmnx's form.

    Parameters
    ----------
    path : str or Path
        An ``.osm.pbf`` file, or OSM XML (``.osm``, ``.osm.bz2``).
    region : shapely Polygon or MultiPolygon, optional
        In WGS84 (EPSG:4326). Ways with no node inside it are dropped before
        the graph is built (ways crossing its edge are kept whole). None keeps
        the whole extract.
    progress : callable, optional
        Called with a line of text about every 5 s and at the end of the pass.

    Returns
    -------
    networkx.MultiDiGraph
        Unsimplified, EPSG:4326, built by osmnx from the drivable ways
        (osmnx's ``"drive"`` rules, :func:`siting.network._drivable`) with
        osmnx's default way attributes, node ``x, y`` (node tags such as
        traffic signals are not read: nothing downstream uses them, and
        skipping them halves the time) and edge ``length`` in metres:
        what :func:`osmnx.graph_from_xml` followed by the drivable filter
        gives, ready for :func:`siting.network.graph_to_network`
        (``simplified=False``).

    Raises
    ------
    DataError
        If the file is missing or unreadable, or holds no drivable road in the region.
    """
    import osmnx as ox
    path = Path(path)
    ticker = _Ticker(progress)
    start = time.perf_counter()
    try:
        roads = _read_roads(path, ticker, None if region is None else region.bounds)
    except DataError:
        raise
    except Exception as exc:  # libosmium raises RuntimeError and others on a bad file
        raise _read_error(path, exc) from None
    refs = np.asarray(roads.refs, dtype=np.int64)
    x = np.asarray(roads.lon, dtype=np.int64)
    lengths = np.asarray(roads.lengths, dtype=np.int64)
    # nodes missing from a clipped extract: drop their references (osmnx's XML reader stops on them)
    known = x != _UNDEFINED_COORDINATE
    if not known.all():
        log.info("%s: %d way node references point outside the extract; dropped", path.name, int((~known).sum()))
        way_of = np.repeat(np.arange(len(lengths)), lengths)
        lengths = np.bincount(way_of[known], minlength=len(lengths))
        refs, x = refs[known], x[known]
    lon = x / _COORDINATE_PRECISION
    lat = np.asarray(roads.lat, dtype=np.int64)[known] / _COORDINATE_PRECISION
    # region: keep the ways with a node inside it
    way_of = np.repeat(np.arange(len(lengths)), lengths)
    keep_way = np.zeros(len(lengths), dtype=bool)
    keep_way[way_of[_region_mask(lon, lat, region)]] = True
    keep_way &= lengths >= 2
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    elements: list[dict[str, Any]] = [
        {"type": "way", "id": roads.way_ids[i], "nodes": refs[offsets[i]:offsets[i + 1]].tolist(),
         "tags": roads.way_tags[i]} for i in np.flatnonzero(keep_way)]
    used = keep_way[way_of]
    nodes = pd.DataFrame({"id": refs[used], "lon": lon[used], "lat": lat[used]}).drop_duplicates("id")
    elements.extend({"type": "node", "id": i, "lon": lo, "lat": la, "tags": {}}
                    for i, lo, la in zip(nodes["id"].tolist(), nodes["lon"].tolist(), nodes["lat"].tolist(),
                                       strict=True))
    if not elements:
        msg = (f"{path}: no drivable roads in the region (OSM ways with a drivable highway tag); check that the "
               "extract covers the districts")
        raise DataError(msg)
    # osmnx's own graph builder (graph_from_xml calls the same), so that the graph has exactly its form
    graph = ox.graph._create_graph([{"elements": elements}], bidirectional=False)
    log.info("%s: drive graph of %d nodes and %d edges from %d ways in %.1f s", path.name, len(graph),
             graph.number_of_edges(), int(keep_way.sum()), time.perf_counter() - start)
    return graph


# ---------------------------------------------------------------------------------------------- places


def _tag_pairs() -> list[tuple[str, str]]:
    pairs = {pair for rule in PLACE_RULES for pair in rule.tags}
    return sorted(pairs)


def _match(tags: Any) -> list[tuple[str, str]]:
    """``(tier, kind)`` of every tier the object's tags make it a place of (first rule per tier)."""
    found: dict[str, str] = {}
    access = tags.get("access")
    for rule in PLACE_RULES:
        if all(t in found for t in rule.tiers):
            continue
        if not any(tags.get(k) == v for k, v in rule.tags):
            continue
        if rule.also and not all(tags.get(k) == v for k, v in rule.also):
            continue
        if access in rule.refuse_access:
            continue
        for tier in rule.tiers:
            found.setdefault(tier, rule.kind)
    return sorted(found.items(), key=lambda item: PLACE_TIERS.index(item[0]))


def _name(tags: Any) -> str:
    for key in ("name", "name:en", "brand", "operator"):
        value = tags.get(key)
        if value:
            return value
    return ""


def _address(tags: Any) -> str:
    street = " ".join(p for p in (tags.get("addr:street"), tags.get("addr:housenumber")) if p)
    place = " ".join(p for p in (tags.get("addr:postcode"), tags.get("addr:city")) if p)
    return ", ".join(p for p in (street, place) if p) or tags.get("addr:full", "")


def _capacity(tags: Any) -> float:
    value = tags.get("capacity")
    try:
        number = float(value) if value is not None else np.nan
    except ValueError:  # "50-60", "yes": not a count
        return np.nan
    return number if number >= 0 else np.nan


def _point(obj: Any, wkb: Any, box: tuple[float, float, float, float]) -> tuple[float, float] | None:
    """A node's position or a point inside a way or an area; None when outside ``box`` (or no geometry)."""
    west, south, east, north = box
    if obj.is_node():
        location = obj.location
        if not location.valid() or not (west <= location.lon <= east and south <= location.lat <= north):
            return None
        return location.lon, location.lat
    if obj.is_way():
        return _way_point(obj, box)
    try:
        geometry = shapely.from_wkb(wkb.create_multipolygon(obj), on_invalid="fix")
    except RuntimeError:  # a broken ring: libosmium cannot make a polygon
        return None
    gw, gs, ge, gn = geometry.bounds
    if ge < west or gw > east or gn < south or gs > north:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    point = geometry.representative_point()
    return None if point.is_empty else (point.x, point.y)


def _way_point(way: Any, box: tuple[float, float, float, float]) -> tuple[float, float] | None:
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    if not coords:
        return None
    west, south, east, north = box
    lons, lats = zip(*coords, strict=True)
    if max(lons) < west or min(lons) > east or max(lats) < south or min(lats) > north:
        return None
    if len(coords) >= 4 and coords[0] == coords[-1]:
        geometry = shapely.make_valid(shapely.Polygon(coords))
    elif len(coords) >= 2:
        geometry = shapely.LineString(coords)
    else:
        geometry = shapely.Point(coords[0])
    point = geometry.representative_point()
    return (point.x, point.y) if not point.is_empty else None


def osm_places(path: str | Path, *, region: Any | None = None,
               progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Places that can host chargers or stations, one row per place and tier.

    Parameters
    ----------
    path : str or Path
        An ``.osm.pbf`` file, or OSM XML (``.osm``, ``.osm.bz2``).
    region : shapely Polygon or MultiPolygon, optional
        In WGS84 (EPSG:4326): only places whose point lies inside are kept.
    progress : callable, optional
        Called with a line of text about every 5 s and at the end.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id`` (``node-<id>``, ``way-<id>``, ``relation-<id>``), ``name``
        (``name``, else ``name:en``, ``brand``, ``operator``; may be empty),
        ``kind``, ``tier`` (public, residential, rural, commercial, hydrogen;
        rules in :data:`PLACE_RULES`), ``capacity`` (the ``capacity`` tag:
        parking spaces, vehicles a charging station serves at once; NaN where
        absent or not a number), ``address`` (from ``addr:*``; may be empty),
        ``lon, lat`` (a node's position, or a point inside a way's or a
        multipolygon's area: ``representative_point``) and the point geometry,
        EPSG:4326. Sorted by tier, kind, ``osm_id``.

    Raises
    ------
    DataError
        If the file is missing or unreadable.
    """
    import osmium
    path = Path(path)
    ticker = _Ticker(progress)
    tag_filter = osmium.filter.TagFilter(*_tag_pairs())
    wkb = osmium.geom.WKBFactory()
    rows: list[tuple[str, str, str, str, float, str, float, float]] = []
    box = region.bounds if region is not None else (-180.0, -90.0, 180.0, 90.0)
    start = time.perf_counter()
    seen = 0
    try:
        processor = (_processor(path, osmium.osm.ALL).with_locations()
                     .with_areas(tag_filter).with_filter(tag_filter))
        for obj in processor:
            seen += 1
            if ticker.due():
                ticker.say(f"{path.name}: {seen:,} tagged objects read, {len(rows):,} places")
            if obj.is_relation():
                continue  # multipolygon relations come as areas
            if obj.is_way() and obj.is_closed() and len(obj.nodes) >= 4 and obj.tags.get("area") != "no":
                continue  # a closed way comes again as an area, below, when its polygon is valid
            matches = _match(obj.tags)
            if not matches:
                continue
            point = _point(obj, wkb, box)
            if point is None:
                continue
            osm_id = (f"node-{obj.id}" if obj.is_node() else f"way-{obj.id}" if obj.is_way()
                      else f"{'way' if obj.from_way() else 'relation'}-{obj.orig_id()}")
            name, address, capacity = _name(obj.tags), _address(obj.tags), _capacity(obj.tags)
            rows.extend((osm_id, name, kind, tier, capacity, address, point[0], point[1]) for tier, kind in matches)
    except DataError:
        raise
    except Exception as exc:  # libosmium raises RuntimeError and others on a bad file
        raise _read_error(path, exc) from None
    table = pd.DataFrame(rows, columns=PLACE_COLUMNS).drop_duplicates(["osm_id", "tier"])
    table = table[_region_mask(table["lon"].to_numpy(float), table["lat"].to_numpy(float), region)]
    table["capacity"] = table["capacity"].astype(float)
    table["_order"] = table["tier"].map(PLACE_TIERS.index)
    table = table.sort_values(["_order", "kind", "osm_id"]).drop(columns="_order").reset_index(drop=True)
    ticker.say(f"{path.name}: {len(table):,} places in the region ({seen:,} tagged objects) "
               f"in {time.perf_counter() - start:.1f} s", force=True)
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84)


def places_as_features(places: pd.DataFrame) -> gpd.GeoDataFrame:
    """One row per place (its first tier's kind): the ``osm_id, kind, name`` table of :func:`siting.network.osm_features`."""
    first = places.drop_duplicates("osm_id").sort_values("osm_id").reset_index(drop=True)
    return gpd.GeoDataFrame(first[["osm_id", "kind", "name"]],
                            geometry=gpd.points_from_xy(first["lon"], first["lat"]), crs=WGS84)


# ---------------------------------------------------------------------------------------------- streets


def street_lines(graph: Any) -> gpd.GeoDataFrame:
    """The edges of an osmnx graph as lines, for a light street layer on a map.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        In any CRS (``graph.graph["crs"]``), e.g. from :func:`read_drive_graph`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name, highway`` and a LineString per street segment, EPSG:4326; the
        two directions of a two-way street give one line.
    """
    import osmnx as ox
    edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True).reset_index()
    pair = np.sort(edges[["u", "v"]].to_numpy(), axis=1)
    edges = edges.assign(_a=pair[:, 0], _b=pair[:, 1]).drop_duplicates(["_a", "_b", "key"])
    columns = {c: edges[c].map(_first) if c in edges else "" for c in ("name", "highway")}
    return gpd.GeoDataFrame(columns, geometry=edges.geometry.to_numpy(), crs=edges.crs).to_crs(WGS84)


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
