"""Tiers as data: what a tier is, the four built-in ones, and tiers a scenario defines.

A :class:`TierSpec` says everything the plan needs to know about one kind of
infrastructure: its name and label, whether it places chargers or stations,
the demand it serves (a column of the demand surface times a share, or a file
of demand hubs), the service radius, units per site and the demand one unit
serves, and where its candidate sites come from. The rest of the package loops
over ``scenario.tiers``; no code outside this module names a tier.

Built-in tiers are made from the scenario's ``[public]``, ``[residential]``,
``[rural]``, ``[commercial]`` and ``[hydrogen]`` sections and ``[targets]``; a scenario adds more
under ``[tiers.NAME]`` (see ``docs/scenario.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Columns of the demand surface a ``[tiers.NAME]`` tier may serve, with the unit of its demand and
#: the density column its candidate cells are chosen by.
DEMAND_COLUMNS = {
    "urban_evs": ("EVs", "density_urban_per_km2"),
    "rural_evs": ("EVs", "density_rural_per_km2"),
    "evs": ("EVs", "density_urban_per_km2"),
    "public_sessions_per_day": ("sessions/day", "density_urban_per_km2"),
    "residential_evs": ("EVs", "density_urban_per_km2"),
    "rural_sessions_per_day": ("sessions/day", "density_rural_per_km2"),
}
#: Colours given to scenario-defined tiers that name none, in order.
EXTRA_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
KINDS = ("charger", "station")
#: Where a tier's candidates may come from (``candidate_sources``), see :mod:`siting.candidate_sources`.
CANDIDATE_SOURCES = ("file", "osm", "cells")
#: Tiers that OpenStreetMap place rules exist for (:data:`siting.osm_pbf.PLACE_RULES`).
OSM_PLACE_TIERS = ("public", "residential", "rural", "commercial", "hydrogen")
#: How a tier's load spreads over the day: in proportion to the hours of every TOU period, or in the valleys only.
LOAD_PROFILES = ("flat", "valley")


@dataclass(frozen=True)
class StationKind:
    """One kind of station a hub tier builds (the commercial tier's ``charge`` and ``swap``).

    Attributes
    ----------
    name : str
        ``kind`` of the site in the outputs.
    hub_kinds : tuple of str
        Hub kinds (``port``, ``bus_depot`` …) whose vehicles this kind of station serves;
        a hub of such a kind is a candidate site of this kind.
    capacity_per_unit : float
        Vehicles one station serves per day.
    power_kw : float
        Connected power of one station, kW.
    cost_cny : float
        Cost of one station, CNY.
    coincidence : float
        Share of ``power_kw`` drawn at the system's evening peak.
    load_profile : {"flat", "valley"}
    v2g_ready : bool
        Vehicles dwell long enough for bidirectional charging.
    """

    name: str
    hub_kinds: tuple[str, ...]
    capacity_per_unit: float
    power_kw: float
    cost_cny: float
    coincidence: float
    load_profile: str = "flat"
    v2g_ready: bool = False


@dataclass(frozen=True)
class TierSpec:
    """One tier of a plan.

    Attributes
    ----------
    name : str
        Identifier used in every output (``tier`` column), e.g. ``"public"``, ``"taxi"``.
    kind : {"charger", "station"}
        ``"charger"``: integer chargers per site; ``"station"``: one station per site.
    label : str
        Display name (English, or the scenario's words for a scenario-defined tier).
    colour : str
        Hex colour of the tier on the map and in charts.
    target : int
        New units (chargers or stations) to place, exactly.
    demand : str
        The demand served: a column of the demand surface, or ``"hubs"`` (the ``hubs`` file).
    demand_share : float
        Share of ``demand`` this tier serves.
    demand_unit : str
        Unit of demand (``sessions/day``, ``EVs``, ``kg/day`` …).
    radius_m : float
        Service radius, metres (``radius_s`` seconds when ``cost`` is ``"time"``).
    min_units_per_site, max_units_per_site : int
        Units per open new site.
    capacity_per_unit : float
        Demand one unit serves (per day).
    candidates : {"cells", "village_clusters", "hubs"}
        How candidate sites are made: demand cells at or above a density, the
        most populous cell of each rural block plus towns, or the hubs.
    candidate_density_column : str
        Demand-surface density a candidate cell must reach (``candidates = "cells"``).
    candidate_min_density_per_km2 : float
    candidate_kind : str
        ``kind`` of a cell candidate in the outputs.
    demand_block_m : float
        Aggregate demand cells into blocks of about this size before solving (0: per cell).
    cost : {"distance", "time"}
    radius_s : float or None
    reach_towns_beyond : str or None
        Name of a tier: towns that no candidate of that tier reaches must have a site of this one in reach.
    every_township : bool
        Every township with EVs gets a site of this tier inside it, except those where the solved plan of
        ``reach_towns_beyond`` has one (a constraint block; needs the scenario's townships).
    hubs : Path or None
        Demand hubs (``hub_id, name, lon, lat`` and ``hub_weight_column``) when ``demand`` is ``"hubs"``.
    hub_weight_column : str
    existing_sites : Path or None
        Existing stations (``station_id, name, lon, lat, capacity_kg_per_day``), fixed and counted.
    candidate_sites : Path or None
        Candidate sites from a file (``site_id, name, lon, lat``; optional ``address, kind,
        max_chargers, site_cost_cny``). Of a hub tier: extra sites beside the hubs.
    candidate_sources : tuple of str
        Where candidates come from, in order of preference: ``"file"``, ``"osm"``,
        ``"cells"`` (:mod:`siting.candidate_sources`). Empty: the tier's own rule
        (cells, plus ``osm_kinds`` with ``network.osm_candidates``).
    osm_places : str
        Whose OpenStreetMap place rules the tier takes (``"osm"`` source; a
        ``tier`` of :data:`siting.osm_pbf.PLACE_RULES`).
    osm_kinds : tuple of str
        Kinds of OpenStreetMap feature offered as candidates when the network loads them.
    builtin : bool
        One of the four built-in tiers (its words come from :mod:`siting.labels`).
    """

    name: str
    kind: str
    label: str
    colour: str
    target: int
    demand: str
    demand_unit: str
    radius_m: float
    min_units_per_site: int
    max_units_per_site: int
    capacity_per_unit: float
    demand_share: float = 1.0
    candidates: str = "cells"
    candidate_density_column: str = "density_urban_per_km2"
    candidate_min_density_per_km2: float = 0.0
    candidate_kind: str = "cell"
    demand_block_m: float = 0.0
    cost: str = "distance"
    radius_s: float | None = None
    reach_towns_beyond: str | None = None
    hubs: Path | None = None
    hub_weight_column: str = "demand"
    existing_sites: Path | None = None
    candidate_sites: Path | None = None
    osm_kinds: tuple[str, ...] = ()
    builtin: bool = False
    #: Whether the tier's map layer is on when the map opens.
    shown: bool = True
    #: Cost of opening a new site and of one new unit (charger or station), CNY.
    site_cost_cny: float = 0.0
    unit_cost_cny: float = 0.0
    #: "coverage" (most demand covered, then least cost) or "cost" (least cost covering ``min_coverage``).
    objective: str = "coverage"
    min_coverage: float = 0.0
    #: Most the tier may spend on new sites and units, CNY (0: no limit).
    budget_cny: float = 0.0
    #: Every township with EVs gets a site of this tier, unless the tier ``reach_towns_beyond`` names has one there.
    every_township: bool = False
    candidate_sources: tuple[str, ...] = ()
    osm_places: str = ""
    #: Connected power of one unit, kW, and the share of it drawn at the system's evening peak (docs/costs.md §6).
    power_kw_per_unit: float = 0.0
    coincidence: float = 1.0
    #: Energy a unit delivers per day in hours at full power (ASSUMPTION, docs/power.md); hub tiers use the hubs'
    #: ``kwh_per_vehicle_day`` instead when the hub file has it.
    full_load_hours_per_day: float = 0.0
    #: "flat" (the TOU periods in proportion to their hours) or "valley" (valley and deep-valley hours only).
    load_profile: str = "flat"
    #: Vehicles dwell ≥ 8 h at the tier's sites: bidirectional (V2G) chargers make sense there.
    v2g_ready: bool = False
    #: PV canopy per unit where a site gets one (2.0 kW per charger space, docs/costs.md §8).
    pv_kw_per_unit: float = 2.0
    #: Station kinds by hub kind (a hub tier with several kinds of station, e.g. commercial charge/swap).
    station_kinds: tuple[StationKind, ...] = ()
    #: No target: open as few (least-cost) units as cover ``min_coverage`` of the demand.
    open_target: bool = False
    #: Energy per unit of demand served a day, kWh (a hub file's ``kwh_per_vehicle_day`` overrides it); 0: use
    #: ``full_load_hours_per_day``.
    kwh_per_demand_unit: float = 0.0

    def station_kind(self, hub_kind: str) -> StationKind | None:
        """The station kind that serves hubs of ``hub_kind`` (None: no kind does)."""
        return next((k for k in self.station_kinds if hub_kind in k.hub_kinds), None)
    #: Hydrogen supply (docs/hydrogen.md): sources (source_id, lon, lat, capacity_kg_per_day, cost_cny_per_kg),
    #: fuel stations that may host a station (station_id, name, brand, lon, lat), transport cost per kg and km
    #: and per kg, the saving of a station built in a fuel station, and the capacity kept ahead of demand.
    supply_sources: Path | None = None
    fuel_stations: Path | None = None
    transport_cny_per_kg_km: float = 0.0
    transport_fixed_cny_per_kg: float = 0.0
    colocation_saving_cny: float = 0.0
    capacity_margin: float = 0.0

    @property
    def is_station(self) -> bool:
        return self.kind == "station"

    @property
    def skipped(self) -> bool:
        """Nothing to plan: a target of 0 and no existing sites of its own (no model, no layer, no rows).

        A station tier with existing stations and a target of 0 is kept: the
        plan then shows how well the existing stations serve its demand.
        """
        return self.target == 0 and self.existing_sites is None and not self.open_target

    @property
    def unit(self) -> str:
        """What the tier counts: ``"stations"`` or ``"chargers"``."""
        return "stations" if self.is_station else "chargers"


def builtin_tiers(scenario) -> list[TierSpec]:
    """The built-in tiers of ``scenario`` (public, residential, rural; hydrogen when it has hubs)."""
    s = scenario
    tiers = [
        _charger_tier("public", s.public, s.targets.public_chargers, colour="#1f77b4",
                      label="Public chargers", demand="public_sessions_per_day", unit="sessions/day",
                      kind="built_up_cell", osm_kinds=("fuel", "parking", "mall", "transport_hub")),
        _charger_tier("residential", s.residential, s.targets.residential_chargers, colour="#2ca02c",
                      label="Residential chargers", demand="residential_evs", unit="EVs", kind="residential_cell",
                      shown=False),
        _charger_tier("rural", s.rural, s.targets.rural_chargers, colour="#ff7f0e",
                      label="Rural chargers", demand="rural_sessions_per_day", unit="sessions/day",
                      kind="village_cluster", density="density_rural_per_km2", candidates="village_clusters",
                      reach_towns_beyond="public", shown=False),
    ]
    c = s.commercial
    if c.demand_hubs is not None:
        target = s.targets.commercial_stations
        tiers.append(TierSpec(
            name="commercial", kind="station", label="Commercial charge and swap stations", colour="#6a3d9a",
            target=target or 0, demand="hubs", demand_unit="vehicles/day", radius_m=c.radius_m,
            min_units_per_site=1, max_units_per_site=c.max_stations_per_site,
            capacity_per_unit=c.charge_vehicles_per_day, candidates="hubs", hubs=c.demand_hubs,
            hub_weight_column="vehicles", candidate_sites=None, builtin=True,
            unit_cost_cny=c.charge_station_cost_cny, objective="coverage" if target is not None else "cost",
            min_coverage=0.0 if target is not None else c.min_coverage, budget_cny=c.budget_cny,
            power_kw_per_unit=c.charge_station_kw, coincidence=c.charge_coincidence,
            full_load_hours_per_day=c.full_load_hours_per_day, open_target=target is None,
            kwh_per_demand_unit=c.kwh_per_vehicle_day,
            station_kinds=commercial_station_kinds(c)))
    h = s.hydrogen
    if h.demand_hubs is not None:
        tiers.append(TierSpec(
            name="hydrogen", kind="station", label="Hydrogen stations", colour="#d62728",
            target=s.targets.hydrogen_new_stations, demand="hubs", demand_unit="kg/day", radius_m=h.radius_m,
            min_units_per_site=1, max_units_per_site=1, capacity_per_unit=h.station_capacity_kg_per_day,
            candidates="hubs", cost=h.cost, radius_s=h.radius_s, hubs=h.demand_hubs,
            hub_weight_column="demand_kg_per_day", existing_sites=h.existing_stations,
            candidate_sites=h.candidate_sites, osm_kinds=("fuel", "industrial", "transport_hub"), builtin=True,
            unit_cost_cny=h.station_cost_cny, objective=h.objective, min_coverage=h.min_coverage,
            budget_cny=h.budget_cny, power_kw_per_unit=h.power_kw_per_station, coincidence=h.coincidence,
            full_load_hours_per_day=h.full_load_hours_per_day, pv_kw_per_unit=0.0,
            supply_sources=h.supply_sources, fuel_stations=h.fuel_stations,
            transport_cny_per_kg_km=h.transport_cny_per_kg_km, transport_fixed_cny_per_kg=h.transport_fixed_cny_per_kg,
            colocation_saving_cny=h.colocation_saving_cny, capacity_margin=h.capacity_margin))
    return tiers


def _charger_tier(name, config, target, *, colour, label, demand, unit, kind, density="density_urban_per_km2",
                  candidates="cells", reach_towns_beyond=None, osm_kinds=(), shown=True) -> TierSpec:
    return TierSpec(
        name=name, kind="charger", label=label, colour=colour, target=target, demand=demand, demand_unit=unit,
        radius_m=config.radius_m, min_units_per_site=config.min_chargers_per_site,
        max_units_per_site=config.max_chargers_per_site, capacity_per_unit=config.capacity_per_charger,
        candidates=candidates, candidate_density_column=density,
        candidate_min_density_per_km2=config.candidate_min_density_per_km2, candidate_kind=kind,
        demand_block_m=config.demand_block_m, cost=config.cost, radius_s=config.radius_s,
        reach_towns_beyond=reach_towns_beyond, osm_kinds=osm_kinds, builtin=True, shown=shown,
        site_cost_cny=config.site_cost_cny, unit_cost_cny=config.charger_cost_cny, objective=config.objective,
        min_coverage=config.min_coverage, budget_cny=config.budget_cny, every_township=config.every_township,
        candidate_sites=config.candidate_sites, candidate_sources=_sources(config), osm_places=name,
        fuel_stations=config.fuel_stations, **_power_fields(config))


def _sources(config) -> tuple[str, ...]:
    """The sources a tier names; a candidate file alone means that file only."""
    if config.candidate_sources:
        return tuple(config.candidate_sources)
    return ("file",) if config.candidate_sites is not None else ()



def _power_fields(config) -> dict:
    """TierSpec power fields from a charger section's ``power_kw_per_charger`` … keys."""
    return {"power_kw_per_unit": config.power_kw_per_charger, "coincidence": config.coincidence,
            "full_load_hours_per_day": config.full_load_hours_per_day, "load_profile": config.load_profile,
            "v2g_ready": config.v2g_ready}


def commercial_station_kinds(c) -> tuple[StationKind, ...]:
    """The ``charge`` and ``swap`` stations of a ``[commercial]`` section (docs/costs.md §4, §6).

    Bus depots charge in the valley (Shandong's valley bonus for e-bus depots,
    docs/costs.md §7), so they get a kind of their own with the valley profile.
    """
    charge = dict(capacity_per_unit=c.charge_vehicles_per_day, power_kw=c.charge_station_kw,
                  cost_cny=c.charge_station_cost_cny)
    valley = tuple(k for k in c.charge_hub_kinds if k in c.valley_hub_kinds)
    other = tuple(k for k in c.charge_hub_kinds if k not in c.valley_hub_kinds)
    kinds = [StationKind(name="swap", hub_kinds=c.swap_hub_kinds, capacity_per_unit=c.swap_vehicles_per_day,
                         power_kw=c.swap_station_kw, cost_cny=c.swap_station_cost_cny,
                         coincidence=c.swap_coincidence)]
    if other:
        kinds.append(StationKind(name="charge", hub_kinds=other, coincidence=c.charge_coincidence, **charge))
    if valley:
        kinds.append(StationKind(name="charge", hub_kinds=valley, coincidence=c.valley_coincidence,
                                 load_profile="valley", v2g_ready=True, **charge))
    return tuple(kinds)


def scenario_tier(name: str, table, index: int) -> TierSpec:
    """A tier defined by a scenario's ``[tiers.NAME]`` table (a validated ``TierTable``)."""
    t = table
    hubs = t.demand if isinstance(t.demand, Path) else None
    unit, density = DEMAND_COLUMNS.get(t.demand, ("demand", "density_urban_per_km2")) if hubs is None \
        else (t.demand_unit or "demand", "density_urban_per_km2")
    station = t.kind == "station"
    return TierSpec(
        name=name, kind=t.kind, label=t.label or name.replace("_", " ").capitalize(),
        colour=t.colour or EXTRA_COLOURS[index % len(EXTRA_COLOURS)], target=t.target,
        demand="hubs" if hubs is not None else t.demand, demand_share=t.demand_share,
        demand_unit=t.demand_unit or unit, radius_m=t.radius_m,
        min_units_per_site=1 if station else t.min_chargers_per_site,
        max_units_per_site=1 if station else t.max_chargers_per_site,
        capacity_per_unit=t.capacity_per_charger, candidates="hubs" if hubs is not None else "cells",
        candidate_density_column=density, candidate_min_density_per_km2=t.candidate_min_density_per_km2,
        candidate_kind=f"{name}_cell", demand_block_m=t.demand_block_m, cost=t.cost, radius_s=t.radius_s,
        hubs=hubs, hub_weight_column=t.hub_weight_column, builtin=False, site_cost_cny=t.site_cost_cny,
        unit_cost_cny=t.charger_cost_cny, objective=t.objective, min_coverage=t.min_coverage, budget_cny=t.budget_cny,
        candidate_sites=t.candidate_sites if hubs is None else None,
        candidate_sources=_sources(t) if hubs is None else (), osm_places=t.osm_places or name,
        power_kw_per_unit=t.power_kw_per_charger, coincidence=t.coincidence,
        full_load_hours_per_day=t.full_load_hours_per_day, load_profile=t.load_profile)
