"""Tiers as data: what a tier is, the four built-in ones, and tiers a scenario defines.

A :class:`TierSpec` says everything the plan needs to know about one kind of
infrastructure: its name and label, whether it places chargers or stations,
the demand it serves (a column of the demand surface times a share, or a file
of demand hubs), the service radius, units per site and the demand one unit
serves, and where its candidate sites come from. The rest of the package loops
over ``scenario.tiers``; no code outside this module names a tier.

Built-in tiers are made from the scenario's ``[public]``, ``[residential]``,
``[rural]`` and ``[hydrogen]`` sections and ``[targets]``; a scenario adds more
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
        Extra candidate sites (``site_id, name, lon, lat``).
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
        return self.target == 0 and self.existing_sites is None

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
            budget_cny=h.budget_cny, supply_sources=h.supply_sources, fuel_stations=h.fuel_stations,
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
        fuel_stations=config.fuel_stations)


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
        unit_cost_cny=t.charger_cost_cny, objective=t.objective, min_coverage=t.min_coverage, budget_cny=t.budget_cny)
