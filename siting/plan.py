"""Run a scenario end to end: inputs → demand → candidates → one model per tier.

:func:`run_plan` returns a :class:`Plan`, whose methods give the tidy tables
the exports and the map are made from. Nothing here writes files or imports
folium.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import candidates as cand
from siting.allocate import TIERS, TierPlan, allocate_tier
from siting.costs import travel_costs
from siting.demand import build_demand_surface, geonames_places
from siting.inputs import read_boundaries, read_district_stats, read_points, read_population_layer
from siting.scenario import Scenario, network_file

log = logging.getLogger(__name__)

SITE_COLUMNS = ["site_id", "tier", "status", "district_code", "district_name", "lon", "lat", "chargers",
                "capacity_kg_per_day", "demand_served", "demand_unit", "kind", "name", "rank", "district_name_en"]


@dataclass(frozen=True)
class Plan:
    """A solved scenario: inputs, demand surface and one :class:`TierPlan` per tier."""

    scenario: Scenario
    boundaries: gpd.GeoDataFrame
    stats: pd.DataFrame
    cells: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame | None
    tiers: dict[str, TierPlan]
    timings_s: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    #: The road network used: source, CRS, nodes, edges (empty with ``network.source = "none"``).
    network: dict = field(default_factory=dict)

    def _names(self) -> pd.DataFrame:
        return self.boundaries[["district_code", "district_name", "district_name_en"]]

    def sites(self) -> gpd.GeoDataFrame:
        """Chosen and existing sites of every tier, in DESIGN.md's columns (EPSG:4326)."""
        frames = []
        for tier, tp in self.tiers.items():
            chosen = tp.sites[tp.sites["status"] != "candidate"]
            hydrogen = tier == "hydrogen"
            frames.append(pd.DataFrame({
                "site_id": chosen["site_id"], "tier": tier, "status": chosen["status"],
                "district_code": chosen["district_code"], "lon": chosen["lon"], "lat": chosen["lat"],
                "chargers": 0 if hydrogen else chosen["units"],
                "capacity_kg_per_day": chosen["capacity"] if hydrogen else 0.0,
                "demand_served": chosen["demand_served"].round(3), "demand_unit": tp.demand_unit,
                "kind": chosen["kind"], "name": chosen["name"], "rank": chosen["rank"],
            }))
        table = pd.concat(frames, ignore_index=True).merge(self._names(), on="district_code", how="left")
        table = table.sort_values(["tier", "rank", "site_id"], key=_tier_key).reset_index(drop=True)
        return gpd.GeoDataFrame(table[SITE_COLUMNS], geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                                crs="EPSG:4326")

    def candidates(self) -> pd.DataFrame:
        """Every candidate site with ``tier, selected, score, rank`` and location."""
        frames = [tp.sites.drop(columns=["geometry", "x_m", "y_m"]) for tp in self.tiers.values()]
        table = pd.concat(frames, ignore_index=True).merge(self._names(), on="district_code", how="left")
        table = table.rename(columns={"units": "chargers_or_stations"})
        table["demand_served"] = table["demand_served"].round(3)
        table["demand_in_reach"] = table["demand_in_reach"].round(3)
        table["score"] = table["score"].round(3)
        columns = ["site_id", "tier", "kind", "name", "district_code", "district_name", "lon", "lat", "status",
                   "selected", "chargers_or_stations", "capacity", "demand_served", "demand_in_reach", "score", "rank"]
        return table[columns].sort_values(["tier", "rank"], key=_tier_key).reset_index(drop=True)

    def districts(self) -> pd.DataFrame:
        """Per district and tier: sites, units placed, demand, demand served, share covered, share of target."""
        rows = []
        for tier, tp in self.tiers.items():
            placed = tp.sites[tp.sites["status"] != "candidate"]
            units = placed.groupby("district_code")["units"].sum()
            n_sites = placed.groupby("district_code").size()
            demand = tp.demand.groupby("district_code")["demand"].sum()
            served = tp.demand.groupby("district_code")["served"].sum()
            for code in self.boundaries["district_code"]:
                d = float(demand.get(code, 0.0))
                s = float(served.get(code, 0.0))
                u = int(units.get(code, 0))
                rows.append({
                    "district_code": code, "tier": tier, "sites": int(n_sites.get(code, 0)),
                    "units": u, "unit": "stations" if tier == "hydrogen" else "chargers",
                    "demand": round(d, 3), "demand_served": round(s, 3), "demand_unit": tp.demand_unit,
                    "share_covered": round(s / d, 4) if d > 0 else None,
                    "share_of_target": round(u / tp.target, 4) if tp.target > 0 and tier != "hydrogen" else None,
                })
        table = pd.DataFrame(rows).merge(self._names(), on="district_code", how="left")
        evs = self.cells.groupby("district_code")["evs"].sum()
        table["evs"] = table["district_code"].map(evs).round(0)
        table["chargers_per_1000_evs"] = np.where(table["tier"] != "hydrogen",
                                                  (1000 * table["units"] / table["evs"]).round(2), np.nan)
        columns = ["district_code", "district_name", "district_name_en", "tier", "sites", "units", "unit", "demand",
                   "demand_served", "demand_unit", "share_covered", "share_of_target", "evs", "chargers_per_1000_evs"]
        return table[columns].sort_values(["district_code", "tier"], key=_tier_key).reset_index(drop=True)


def _tier_key(column: pd.Series) -> pd.Series:
    return column.map({t: i for i, t in enumerate(TIERS)}) if column.name == "tier" else column


class _Timer:
    def __init__(self, report: Callable[[str], None] | None):
        self.timings: dict[str, float] = {}
        self.report = report

    @contextmanager
    def stage(self, name: str):
        if self.report:
            self.report(name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("%s: %.2f s", name, self.timings[name])


def run_plan(scenario: Scenario, *, report: Callable[[str], None] | None = None) -> Plan:
    """Solve a scenario.

    Parameters
    ----------
    scenario : Scenario
        From :func:`siting.scenario.load_scenario`.
    report : callable, optional
        Called with the name of each stage as it starts (progress display).

    Raises
    ------
    DataError, InfeasibleError, SolverError
    """
    return plan_with(scenario, allocate_tier, report=report)


def plan_with(scenario: Scenario, allocate: Callable[..., TierPlan], *,
              report: Callable[[str], None] | None = None) -> Plan:
    """:func:`run_plan` with each tier's model solved by ``allocate`` instead of :func:`allocate_tier`.

    ``allocate`` takes :func:`~siting.allocate.allocate_tier`'s arguments;
    :mod:`siting.decompose` passes one that splits a tier by district.
    """
    timer = _Timer(report)
    s = scenario
    with timer.stage("inputs"):
        boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
        stats = read_district_stats(s.region.district_stats, boundaries, ev_stock=s.demand.ev_stock)
        centres = (read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
                   if s.region.urban_centres else None)
        places = geonames_places(boundaries) if s.region.geonames_places else None
        hubs = (read_points(s.hydrogen.demand_hubs, id_column="hub_id", required=["demand_kg_per_day"],
                            boundaries=boundaries) if s.hydrogen.demand_hubs else None)
        stations = (read_points(s.hydrogen.existing_stations, id_column="station_id",
                                required=["capacity_kg_per_day"], boundaries=boundaries)
                    if s.hydrogen.existing_stations else None)
        extra_sites = (read_points(s.hydrogen.candidate_sites, id_column="site_id", required=[],
                                   boundaries=boundaries) if s.hydrogen.candidate_sites else None)
        population_layer = (read_population_layer(s.demand.population_layer, column=s.demand.population_column)
                            if s.demand.population_layer else None)
    network = osm_sites = None
    if s.network.source != "none":
        with timer.stage("network"):
            from siting.network import load_network, osm_features
            region = boundaries.to_crs("EPSG:4326").union_all()
            network = load_network(s, region)
            osm_sites = osm_features(s, region) if s.network.osm_candidates else None
    with timer.stage("demand surface"):
        cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs, demand=s.demand,
                                     urban_centres=centres, places=places, population_layer=population_layer)
    tiers: dict[str, TierPlan] = {}
    with timer.stage("public"):
        public_sites = cand.cell_candidates(cells, tier="public", density_column="density_urban_per_km2",
                                            min_density_per_km2=s.public.candidate_min_density_per_km2,
                                            kind="built_up_cell")
        if osm_sites is not None:
            public_sites = cand.merge_candidates(public_sites, cand.osm_candidates(
                osm_sites, tier="public", boundaries=boundaries, metric_crs=s.region.metric_crs))
        tiers["public"] = _charger_tier("public", cells, "public_sessions_per_day", public_sites, s,
                                        target=s.targets.public_chargers, unit="sessions/day", network=network,
                                        allocate=allocate)
    with timer.stage("residential"):
        residential_sites = cand.cell_candidates(cells, tier="residential", density_column="density_urban_per_km2",
                                                 min_density_per_km2=s.residential.candidate_min_density_per_km2,
                                                 kind="residential_cell")
        tiers["residential"] = _charger_tier("residential", cells, "residential_evs", residential_sites, s,
                                             target=s.targets.residential_chargers, unit="EVs", network=network,
                                             allocate=allocate)
    with timer.stage("rural"):
        towns = _towns_beyond_public(places, public_sites, s, network)
        rural_sites = cand.rural_candidates(cells, towns, cell_size_m=s.demand.cell_size_m,
                                            min_density_per_km2=s.rural.candidate_min_density_per_km2)
        town_demand = pd.DataFrame({"demand_id": "town-" + towns["place_id"], "district_code": towns["district_code"],
                                    "name": towns["name"], "weight": 0.0, "x_m": towns["x_m"], "y_m": towns["y_m"]})
        tiers["rural"] = _charger_tier("rural", cells, "rural_sessions_per_day", rural_sites, s,
                                       target=s.targets.rural_chargers, unit="sessions/day",
                                       extra_demand=town_demand, required=list(town_demand["demand_id"]),
                                       network=network, allocate=allocate)
    if hubs is not None:
        with timer.stage("hydrogen"):
            tiers["hydrogen"] = _hydrogen_tier(hubs, stations, extra_sites, s, network=network,
                                               osm_sites=osm_sites, boundaries=boundaries, allocate=allocate)
    return Plan(scenario=s, boundaries=boundaries, stats=stats, cells=cells, hubs=hubs, tiers=tiers,
                timings_s=timer.timings, input_hashes=input_hashes(s),
                network=network.summary() if network is not None else {})


def _charger_tier(tier, cells, column, sites, s, *, target, unit, extra_demand=None, required=None,
                  network=None, allocate=allocate_tier) -> TierPlan:
    config = getattr(s, tier)
    demand = _demand_points(cells, column, block=max(1, round(config.demand_block_m / s.demand.cell_size_m)))
    if extra_demand is not None and len(extra_demand):
        demand = pd.concat([demand, extra_demand], ignore_index=True)
    return allocate(tier, demand, sites, target=target, radius_m=config.radius_m,
                    circuity=s.network.circuity, min_units=config.min_chargers_per_site,
                    max_units=config.max_chargers_per_site, capacity_per_unit=config.capacity_per_charger,
                    demand_unit=unit, solver=s.solver, required=required, network=network,
                    cost=config.cost, radius_s=config.radius_s)


def _demand_points(cells: gpd.GeoDataFrame, column: str, *, block: int) -> pd.DataFrame:
    """Demand points of one tier: the cells, or blocks of ``block`` × ``block`` cells per district.

    A block's point is the demand-weighted mean of its cells' points.
    """
    points = pd.DataFrame({"demand_id": cells["cell_id"], "district_code": cells["district_code"], "name": "",
                           "weight": cells[column].to_numpy(), "x_m": cells["x_m"], "y_m": cells["y_m"]})
    if block == 1:
        return points
    keys = [cells["district_code"], cells["row"] // block, cells["col"] // block]
    points["wx"] = points["weight"] * points["x_m"]
    points["wy"] = points["weight"] * points["y_m"]
    grouped = points.groupby(keys, sort=True).agg(weight=("weight", "sum"), wx=("wx", "sum"), wy=("wy", "sum"),
                                                  x_m=("x_m", "mean"), y_m=("y_m", "mean"))
    grouped.index.names = ["district_code", "block_row", "block_col"]
    grouped = grouped.reset_index()
    has_weight = grouped["weight"] > 0
    grouped.loc[has_weight, "x_m"] = grouped["wx"][has_weight] / grouped["weight"][has_weight]
    grouped.loc[has_weight, "y_m"] = grouped["wy"][has_weight] / grouped["weight"][has_weight]
    grouped["demand_id"] = (grouped["district_code"] + "-b" + str(block) + "-" + grouped["block_row"].astype(str)
                            + "-" + grouped["block_col"].astype(str))
    grouped["name"] = ""
    return grouped[["demand_id", "district_code", "name", "weight", "x_m", "y_m"]]


def _towns_beyond_public(places, public_sites, s, network=None) -> pd.DataFrame:
    """Towns with no public candidate within the public radius: the rural tier must reach them."""
    columns = ["place_id", "name", "district_code", "x_m", "y_m", "lon", "lat"]
    if places is None or not len(places):
        return pd.DataFrame(columns=columns)
    projected = places.to_crs(s.region.metric_crs)
    towns = pd.DataFrame({"place_id": places["place_id"].to_numpy(), "name": places["name"].to_numpy(),
                          "district_code": places["district_code"].to_numpy(),
                          "x_m": projected.geometry.x.to_numpy(), "y_m": projected.geometry.y.to_numpy(),
                          "lon": places["lon"].to_numpy(), "lat": places["lat"].to_numpy()})
    near = travel_costs(towns.rename(columns={"place_id": "demand_id"}), public_sites, radius_m=s.public.radius_m,
                        circuity=s.network.circuity, network=network, cost=s.public.cost, radius_s=s.public.radius_s)
    return towns[~towns["place_id"].isin(near["demand_id"])].reset_index(drop=True)


def _hydrogen_tier(hubs, stations, extra_sites, s, *, network=None, osm_sites=None, boundaries=None,
                   allocate=allocate_tier) -> TierPlan:
    crs = s.region.metric_crs
    frames = [cand.point_candidates(hubs, id_column="hub_id", tier="hydrogen",
                                    kind="hub:" + hubs["kind"].astype(str) if "kind" in hubs else "hub",
                                    metric_crs=crs)]
    existing = None
    capacity = {}
    if extra_sites is not None and len(extra_sites):
        frames.append(cand.point_candidates(extra_sites, id_column="site_id", tier="hydrogen",
                                            kind="candidate_site", metric_crs=crs))
    osm = (cand.osm_candidates(osm_sites, tier="hydrogen", boundaries=boundaries, metric_crs=crs)
           if osm_sites is not None else None)
    if osm is not None and len(osm):
        frames.append(osm)
    if stations is not None and len(stations):
        station_sites = cand.point_candidates(stations, id_column="station_id", tier="hydrogen",
                                              kind="existing_station", metric_crs=crs)
        frames.append(station_sites)
        existing = pd.Series(1, index=station_sites["site_id"].to_numpy())
        capacity = dict(zip(station_sites["site_id"], stations["capacity_kg_per_day"].astype(float), strict=True))
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    per_site_capacity = sites["site_id"].map(capacity).fillna(s.hydrogen.station_capacity_kg_per_day).to_numpy()
    projected = hubs.to_crs(crs)
    demand = pd.DataFrame({"demand_id": hubs["hub_id"].astype(str), "district_code": hubs["district_code"],
                           "name": hubs["name"].astype(str) if "name" in hubs else "",
                           "weight": hubs["demand_kg_per_day"].astype(float).to_numpy(),
                           "x_m": projected.geometry.x.to_numpy(), "y_m": projected.geometry.y.to_numpy()})
    return allocate("hydrogen", demand, sites, target=s.targets.hydrogen_new_stations,
                    radius_m=s.hydrogen.radius_m, circuity=s.network.circuity, min_units=1, max_units=1,
                    capacity_per_unit=per_site_capacity, demand_unit="kg/day", solver=s.solver,
                    existing=existing, network=network, cost=s.hydrogen.cost, radius_s=s.hydrogen.radius_s)


def input_hashes(s: Scenario) -> dict[str, str]:
    """SHA-256 of every input file the scenario names (the scenario file included)."""
    paths: dict[str, Path | None] = {
        "scenario": s.path, "boundaries": s.region.boundaries, "district_stats": s.region.district_stats,
        "urban_centres": s.region.urban_centres, "demand_hubs": s.hydrogen.demand_hubs,
        "existing_stations": s.hydrogen.existing_stations, "candidate_sites": s.hydrogen.candidate_sites,
        "population_layer": s.demand.population_layer, "network": network_file(s),
    }
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items() if p is not None}
