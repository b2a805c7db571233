"""One problem per tier: its demand points, candidate sites and per-site columns.

:func:`tier_problem` turns a :class:`~siting.tiers.TierSpec` and the plan's
shared inputs (demand surface, places, network) into a :class:`TierProblem`,
the one object the model family consumes (:func:`siting.allocate.allocate`).
A new feature is a column of ``sites`` or ``demand`` (site cost, existing
units, decision, township, zone, period …) or a constraint block in
``blocks`` (:mod:`siting.models.blocks`), not another keyword.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import candidate_sources as sources
from siting import candidates as cand
from siting.commercial import check_hubs, kind_match, with_station_kinds
from siting import hydrogen
from siting.costs import travel_costs
from siting.inputs import read_points
from siting.models.blocks import Budget, least_cost_of
from siting.models.township_block import EverySiteGroupBlock, SiteGroup
from siting.tiers import TierSpec
from siting.townships import address, populated_townships, township_points

if TYPE_CHECKING:
    from siting.network import RoadNetwork
    from siting.scenario import Scenario

#: Per-site columns every problem's ``sites`` has (beside the candidate columns of :mod:`siting.candidates`)
#: that only the model reads; the outputs show ``decision`` and what the model made of the rest.
SITE_COLUMNS = ("min_units", "max_units", "capacity_per_unit", "existing_units", "site_cost_cny", "unit_cost_cny",
                "forced_open")
DEMAND_COLUMNS = ("demand_id", "district_code", "name", "weight", "x_m", "y_m")


@dataclass(frozen=True)
class TierProblem:
    """What one tier's model is given.

    Attributes
    ----------
    spec : TierSpec
        The tier (name, kind, units, radius, cost kind …).
    target : int
        New units to place, exactly (a district's share when decomposed).
    demand : pandas.DataFrame
        ``demand_id, district_code, name, weight, x_m, y_m`` (metric CRS).
    sites : geopandas.GeoDataFrame
        Candidate and existing sites: ``site_id, tier, kind, name, district_code,
        x_m, y_m, lon, lat``, point geometry (EPSG:4326), and per site
        ``min_units, max_units, capacity_per_unit, existing_units`` (0: a candidate).
    required : tuple
        Demand ids that must have an open site within the radius.
    circuity : float
        Road ÷ straight-line distance when ``network`` is None.
    network : RoadNetwork or None
    blocks : tuple
        Constraint blocks (:mod:`siting.models.blocks`) beyond the core model.
    """

    spec: TierSpec
    target: int
    demand: pd.DataFrame
    sites: gpd.GeoDataFrame
    required: tuple = ()
    circuity: float = 1.3
    network: Any = None
    blocks: tuple = field(default_factory=tuple)
    #: The demand hubs (points, EPSG:4326) of a tier whose demand is a hub file.
    hubs: gpd.GeoDataFrame | None = None
    #: Years of a roll-out and the cumulative new units by the end of each (empty: no phases).
    years: tuple[int, ...] = ()
    period_targets: tuple[int, ...] = ()
    #: Units of the tier's existing sites, and the target as the scenario gives it (before "total" mode).
    existing_units: int = 0
    stated_target: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def radius(self) -> float:
        """The service radius in the cost's unit (metres, or seconds when ``spec.cost`` is ``"time"``)."""
        return self.spec.radius_s if self.spec.cost == "time" else self.spec.radius_m

    @property
    def radius_text(self) -> str:
        return f"{self.radius:,.0f} {'s' if self.spec.cost == 'time' else 'm'}"

    def costs(self, demand: pd.DataFrame | None = None) -> pd.DataFrame:
        """Sparse travel costs of every (demand, site) pair within the radius (:func:`siting.costs.travel_costs`)."""
        spec = self.spec
        return travel_costs(self.demand if demand is None else demand, self.sites, radius_m=spec.radius_m,
                            circuity=self.circuity, network=self.network, cost=spec.cost, radius_s=spec.radius_s)

    @property
    def economics(self) -> dict:
        """The tier's costs as the model uses them: objective, unit costs (CNY), budget."""
        spec = self.spec
        unit = "station_cost_cny" if spec.is_station else "charger_cost_cny"
        record = {"objective_kind": spec.objective, unit: spec.unit_cost_cny}
        if not spec.is_station:
            record["site_cost_cny"] = spec.site_cost_cny
        if spec.objective == "cost":
            record["min_coverage"] = spec.min_coverage
        if spec.budget_cny > 0:
            record["budget_cny"] = spec.budget_cny
        return record

    def least_cost(self) -> float:
        """A lower bound on what the tier's new units cost, CNY (:func:`siting.models.blocks.least_cost_of`)."""
        sites = self.sites
        return least_cost_of(site_cost=sites["site_cost_cny"].to_numpy(float),
                             unit_cost=sites["unit_cost_cny"].to_numpy(float),
                             min_units=sites["min_units"].to_numpy(), max_units=sites["max_units"].to_numpy(),
                             existing_units=sites["existing_units"].to_numpy(),
                             forced_open=sites["forced_open"].to_numpy(bool), total_units=self.target)

    def subset(self, demand_mask: np.ndarray, site_mask: np.ndarray, *, target: int, required: list) -> TierProblem:
        """The problem restricted to some demand points and sites (a district of a decomposed plan)."""
        return dataclasses.replace(self, demand=self.demand[demand_mask].reset_index(drop=True),
                                   sites=self.sites[site_mask], target=int(target), required=tuple(required))


@dataclass(frozen=True)
class PlanInputs:
    """What every tier's problem is built from (read once per plan)."""

    scenario: Scenario
    boundaries: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    places: gpd.GeoDataFrame | None = None
    network: RoadNetwork | None = None
    osm_sites: gpd.GeoDataFrame | None = None
    #: Per tier, the point files it names (:func:`read_tier_files`).
    files: dict[str, dict[str, gpd.GeoDataFrame]] = field(default_factory=dict)
    #: Chargers that exist today, every tier (:func:`siting.inputs.read_existing_chargers`).
    existing_chargers: gpd.GeoDataFrame | None = None
    #: Township polygons (:func:`siting.townships.read_townships`); sites and demand points get their township.
    townships: gpd.GeoDataFrame | None = None
    #: OpenStreetMap places per tier (:func:`siting.osm_pbf.osm_places`) of a local .osm.pbf/.osm network file.
    osm_places: gpd.GeoDataFrame | None = None


def read_tier_files(spec: TierSpec, boundaries: gpd.GeoDataFrame,
                    metric_crs: str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The point files a tier names, read and checked: ``hubs``, ``candidate_sites``, ``existing_sites``.

    A charger tier's ``candidate_sites`` is read by
    :func:`siting.candidate_sources.read_candidate_file` (candidates in
    ``metric_crs``; default: the boundaries' UTM zone).

    Raises
    ------
    DataError
        Naming the file, row and field at fault.
    """
    files = {}
    if spec.hubs is not None:
        files["hubs"] = read_points(spec.hubs, id_column="hub_id", required=[spec.hub_weight_column],
                                    boundaries=boundaries)
        if spec.station_kinds:
            files["hubs"] = check_hubs(files["hubs"], spec)
        files["hubs"] = hydrogen.check_hub_years(files["hubs"], spec.hubs)
    if spec.existing_sites is not None:
        files["existing_sites"] = read_points(spec.existing_sites, id_column="station_id",
                                              required=["capacity_kg_per_day"], boundaries=boundaries)
    if spec.candidate_sites is not None and spec.candidates != "hubs":
        files["candidate_sites"] = sources.read_candidate_file(
            spec.candidate_sites, tier=spec.name, boundaries=boundaries,
            metric_crs=metric_crs or str(boundaries.estimate_utm_crs()))
    elif spec.candidate_sites is not None:
        files["candidate_sites"] = read_points(spec.candidate_sites, id_column="site_id", required=[],
                                               boundaries=boundaries)
    if spec.supply_sources is not None:
        files["supply_sources"] = hydrogen.read_supply_sources(spec.supply_sources, boundaries)
    if spec.fuel_stations is not None:
        files["fuel_stations"] = hydrogen.read_fuel_stations(spec.fuel_stations, boundaries)
    return files


def tier_problem(spec: TierSpec, inputs: PlanInputs, built: dict[str, TierProblem]) -> TierProblem:
    """Build the problem of one tier.

    Parameters
    ----------
    spec : TierSpec
    inputs : PlanInputs
    built : dict
        Problems of the tiers built before this one (a rural tier looks at the
        public tier's candidates to find the towns it must reach).

    Raises
    ------
    DataError
        When a tier's input file (hubs, stations, sites) is unreadable.
    """
    s = inputs.scenario
    crs = s.region.metric_crs
    required: list = []
    files = inputs.files.get(spec.name) or read_tier_files(spec, inputs.boundaries, crs)
    hubs = files.get("hubs")
    if spec.candidates == "hubs":
        demand = _hub_demand(hubs, spec, crs)
        sites = _hub_sites(hubs, spec, inputs, files)
    else:
        block = max(1, round(spec.demand_block_m / s.demand.cell_size_m))
        demand = demand_points(inputs.cells, spec.demand, block=block, share=spec.demand_share)
        if spec.candidates == "village_clusters":
            towns = towns_beyond(inputs.places, built.get(spec.reach_towns_beyond), crs)
            sites = cand.rural_candidates(inputs.cells, towns, cell_size_m=s.demand.cell_size_m,
                                          min_density_per_km2=spec.candidate_min_density_per_km2)
            town_demand = pd.DataFrame({"demand_id": "town-" + towns["place_id"],
                                        "district_code": towns["district_code"], "name": towns["name"],
                                        "weight": 0.0, "x_m": towns["x_m"], "y_m": towns["y_m"]})
            if len(town_demand):
                demand = pd.concat([demand, town_demand], ignore_index=True)
            required = list(town_demand["demand_id"])
        else:
            sites = cand.cell_candidates(inputs.cells, tier=spec.name, density_column=spec.candidate_density_column,
                                         min_density_per_km2=spec.candidate_min_density_per_km2,
                                         kind=spec.candidate_kind)
            if inputs.osm_sites is not None and spec.osm_kinds and not spec.candidate_sources:
                sites = cand.merge_candidates(sites, cand.osm_candidates(
                    inputs.osm_sites, tier=spec.name, kinds=spec.osm_kinds, boundaries=inputs.boundaries,
                    metric_crs=crs))
            sites = cand.merge_candidates(sites, *hydrogen.supply_candidates(files, spec, crs))
        if spec.candidate_sources:
            sites = sourced_candidates(spec, inputs, cells=sites, file_sites=files.get("candidate_sites"),
                                       demand=demand, required=tuple(required))
    sites = sources.label_sources(sites)
    sites = address(sites, inputs.townships, metric_crs=crs)
    demand = address(demand, inputs.townships, metric_crs=crs)
    sites = with_site_columns(sites, spec)
    if spec.station_kinds:
        sites = with_station_kinds(sites, hubs, spec)
    if inputs.existing_chargers is not None:
        sites = _with_existing_chargers(sites, inputs.existing_chargers, spec, crs)
    existing = int(sites["existing_units"].sum()) if not spec.is_station else 0
    target = spec.target
    if s.targets.mode == "total" and not spec.is_station:
        target = max(0, spec.target - existing)
    years, periods = phase_targets(s.phases.years, s.phases.share, stated=spec.target, new=target,
                                   existing=existing if s.targets.mode == "total" else 0)
    if spec.open_target:  # as many units as the least-cost cover takes: no yearly targets to split
        years, periods = (), ()
    blocks = (Budget(spec.budget_cny, label=f"{spec.name}.budget_cny"),) if spec.budget_cny > 0 else ()
    if spec.station_kinds:
        blocks = (*blocks, kind_match(hubs, sites, spec))
    blocks += hydrogen.supply_blocks(files, sites, spec, metric_crs=crs, circuity=s.network.circuity,
                                     network=inputs.network)
    return TierProblem(spec=spec, target=target, demand=demand, sites=sites, required=tuple(required),
                       circuity=s.network.circuity, network=inputs.network, hubs=hubs, years=years,
                       period_targets=periods, existing_units=existing, stated_target=spec.target, blocks=blocks)


def sourced_candidates(spec: TierSpec, inputs: PlanInputs, *, cells: gpd.GeoDataFrame,
                       file_sites: gpd.GeoDataFrame | None, demand: pd.DataFrame,
                       required: tuple = ()) -> gpd.GeoDataFrame:
    """A tier's candidates from its ``candidate_sources`` in order (:func:`siting.candidate_sources.in_order`).

    ``cells`` are the tier's own candidates (cells, or village clusters and
    towns); ``"osm"`` takes the places of :attr:`PlanInputs.osm_places` by the
    tier's ``osm_places`` rules (charging stations as existing sites when
    ``targets.mode = "total"``), else the downloaded features of its ``osm_kinds``.
    Per-site room and costs: :func:`siting.candidate_sources.with_limits`.
    """
    s = inputs.scenario
    crs = s.region.metric_crs
    frames = []
    for source in spec.candidate_sources:
        if source == "file":
            frames.append(file_sites if file_sites is not None else sources.empty())
        elif source == "cells":
            frames.append(cells.assign(source="cells", osm_id="", address=""))
        elif inputs.osm_places is not None:
            frames.append(sources.osm_place_candidates(
                inputs.osm_places, tier=spec.name, osm_tier=spec.osm_places or spec.name,
                boundaries=inputs.boundaries, metric_crs=crs,
                existing_stations=s.targets.mode == "total" and not spec.is_station))
        elif inputs.osm_sites is not None:
            frames.append(sources.osm_feature_candidates(inputs.osm_sites, tier=spec.name, kinds=spec.osm_kinds,
                                                         boundaries=inputs.boundaries, metric_crs=crs))

    def reach(points: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
        return travel_costs(points, sites, radius_m=spec.radius_m, circuity=s.network.circuity,
                            network=inputs.network, cost=spec.cost, radius_s=spec.radius_s)

    sites = sources.in_order(frames, demand, reach, required)
    return sources.with_limits(sites, min_units=spec.min_units_per_site, max_units=spec.max_units_per_site,
                               site_cost_cny=spec.site_cost_cny)


def phase_targets(years: tuple[int, ...], share: tuple[float, ...], *, stated: int, new: int,
                  existing: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Cumulative new units by the end of each year of a roll-out.

    ``share`` is the cumulative share of the ``stated`` target reached by each
    year; ``existing`` units count toward it ("total" mode; 0 in "new" mode).
    The last year reaches ``new`` exactly; no year goes backwards.
    """
    if not years:
        return (), ()
    totals, reached = [], 0
    for k, fraction in enumerate(share):
        wanted = new if k == len(share) - 1 else int(round(fraction * stated)) - existing
        reached = min(new, max(reached, wanted))
        totals.append(reached)
    return tuple(years), tuple(totals)


def _with_existing_chargers(sites: gpd.GeoDataFrame, existing: gpd.GeoDataFrame, spec: TierSpec,
                            metric_crs: str) -> gpd.GeoDataFrame:
    mine = existing[existing["tier"] == spec.name]
    if not len(mine) or spec.is_station:
        return sites
    extra = cand.point_candidates(mine.assign(site_id=mine["site_id"].astype(str).str.removeprefix(f"{spec.name}-")),
                                  id_column="site_id", tier=spec.name, kind="existing", metric_crs=metric_crs)
    extra["name"] = mine["name"].astype(str).to_numpy()
    clash = extra["site_id"].isin(sites["site_id"])
    if clash.any():
        from siting._errors import DataError

        msg = (f"existing chargers: site_id {extra['site_id'][clash].iloc[0]!r} is also a candidate's id; give "
               "existing sites ids of their own")
        raise DataError(msg)
    units = pd.Series(mine["chargers"].to_numpy(dtype=np.int64), index=extra["site_id"].to_numpy())
    extra = with_site_columns(extra, spec, existing_units=units)
    extra["max_units"] = extra["existing_units"]
    return gpd.GeoDataFrame(pd.concat([sites, extra], ignore_index=True), crs=sites.crs)


def with_site_columns(sites: gpd.GeoDataFrame, spec: TierSpec, *, existing_units: pd.Series | None = None,
                      capacity: pd.Series | None = None) -> gpd.GeoDataFrame:
    """``sites`` with the per-site columns of :data:`SITE_COLUMNS` (the tier's defaults where not given)."""
    out = sites.copy()
    if "min_units" not in out:
        out["min_units"] = spec.min_units_per_site
    if "max_units" not in out:
        out["max_units"] = spec.max_units_per_site
    if "capacity_per_unit" not in out:
        out["capacity_per_unit"] = float(spec.capacity_per_unit)
    if "existing_units" not in out:
        out["existing_units"] = 0
    if "site_cost_cny" not in out:
        out["site_cost_cny"] = float(spec.site_cost_cny)
    if "unit_cost_cny" not in out:
        out["unit_cost_cny"] = float(spec.unit_cost_cny)
    if "forced_open" not in out:
        out["forced_open"] = False
    if "decision" not in out:
        out["decision"] = ""
    if existing_units is not None:
        out["existing_units"] = out["site_id"].map(existing_units).fillna(out["existing_units"]).astype(np.int64)
    if capacity is not None:
        out["capacity_per_unit"] = out["site_id"].map(capacity).fillna(out["capacity_per_unit"]).astype(float)
    return out


def demand_points(cells: gpd.GeoDataFrame, column: str, *, block: int, share: float = 1.0) -> pd.DataFrame:
    """Demand points of one tier: the cells, or blocks of ``block`` × ``block`` cells per district.

    A block's point is the demand-weighted mean of its cells' points.
    """
    weight = cells[column].to_numpy()
    if share != 1.0:
        weight = weight * share
    points = pd.DataFrame({"demand_id": cells["cell_id"], "district_code": cells["district_code"], "name": "",
                           "weight": weight, "x_m": cells["x_m"], "y_m": cells["y_m"]})
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
    return grouped[list(DEMAND_COLUMNS)]


def towns_beyond(places: gpd.GeoDataFrame | None, other: TierProblem | None, metric_crs: str) -> pd.DataFrame:
    """Towns with no candidate of ``other`` within its radius (all towns when ``other`` is None)."""
    columns = ["place_id", "name", "district_code", "x_m", "y_m", "lon", "lat"]
    if places is None or not len(places):
        return pd.DataFrame(columns=columns)
    projected = places.to_crs(metric_crs)
    towns = pd.DataFrame({"place_id": places["place_id"].to_numpy(), "name": places["name"].to_numpy(),
                          "district_code": places["district_code"].to_numpy(),
                          "x_m": projected.geometry.x.to_numpy(), "y_m": projected.geometry.y.to_numpy(),
                          "lon": places["lon"].to_numpy(), "lat": places["lat"].to_numpy()})
    if other is None:
        return towns
    near = other.costs(towns.rename(columns={"place_id": "demand_id"}))
    return towns[~towns["place_id"].isin(near["demand_id"])].reset_index(drop=True)


def _hub_demand(hubs: gpd.GeoDataFrame, spec: TierSpec, metric_crs: str) -> pd.DataFrame:
    projected = hubs.to_crs(metric_crs)
    weight = hubs[spec.hub_weight_column].astype(float).to_numpy()
    return pd.DataFrame({"demand_id": hubs["hub_id"].astype(str), "district_code": hubs["district_code"],
                         "name": hubs["name"].astype(str) if "name" in hubs else "",
                         "weight": weight * spec.demand_share if spec.demand_share != 1.0 else weight,
                         "x_m": projected.geometry.x.to_numpy(), "y_m": projected.geometry.y.to_numpy()})


def _hub_sites(hubs: gpd.GeoDataFrame, spec: TierSpec, inputs: PlanInputs,
               files: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The hubs as candidates, plus extra candidate sites, OSM features and existing stations (fixed)."""
    crs = inputs.scenario.region.metric_crs
    frames = [cand.point_candidates(hubs, id_column="hub_id", tier=spec.name,
                                    kind="hub:" + hubs["kind"].astype(str) if "kind" in hubs else "hub",
                                    metric_crs=crs)]
    extra = files.get("candidate_sites")
    if extra is not None and len(extra):
        frames.append(cand.point_candidates(extra, id_column="site_id", tier=spec.name, kind="candidate_site",
                                            metric_crs=crs))
    frames += hydrogen.supply_candidates(files, spec, crs)
    if inputs.osm_sites is not None and spec.osm_kinds:
        osm = cand.osm_candidates(inputs.osm_sites, tier=spec.name, kinds=spec.osm_kinds,
                                  boundaries=inputs.boundaries, metric_crs=crs)
        if len(osm):
            frames.append(osm)
    existing = capacity = None
    stations = files.get("existing_sites")
    if stations is not None and len(stations):
        station_sites = cand.point_candidates(stations, id_column="station_id", tier=spec.name,
                                              kind="existing_station", metric_crs=crs)
        frames.append(station_sites)
        existing = pd.Series(1, index=station_sites["site_id"].to_numpy())
        capacity = pd.Series(stations["capacity_kg_per_day"].astype(float).to_numpy(),
                             index=station_sites["site_id"].to_numpy())
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    return hydrogen.with_colocation(with_site_columns(sites, spec, existing_units=existing, capacity=capacity), spec)


def with_every_township(problem: TierProblem, inputs: PlanInputs, solved: dict[str, Any]) -> TierProblem:
    """``problem`` with the rule "every township with EVs gets a site", once the tiers before it are solved.

    A tier with ``every_township`` serves the townships that the tier it
    complements (``reach_towns_beyond``, solved before it) left without a
    site; without townships or the rule the problem is returned as it is.
    """
    spec = problem.spec
    if not spec.every_township or inputs.townships is None:
        return problem
    sites, blocks = every_township(spec, problem.sites, inputs, solved.get(spec.reach_towns_beyond or ""))
    added = ~sites["site_id"].isin(problem.sites["site_id"])
    if added.any():
        extra = sites[added].drop(columns=[*SITE_COLUMNS, "decision"], errors="ignore")
        sites = gpd.GeoDataFrame(pd.concat([sites[~added], with_site_columns(extra, spec)], ignore_index=True),
                                 crs=sites.crs)
    return dataclasses.replace(problem, sites=sites, blocks=(*problem.blocks, *blocks))


def every_township(spec: TierSpec, sites: gpd.GeoDataFrame, inputs: PlanInputs,
                   other: Any = None) -> tuple[gpd.GeoDataFrame, tuple]:
    """The rule "every township with EVs gets a site": candidates where a township has none, and the block.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        The tier's sites with ``township_code, township_name`` (:func:`siting.townships.address`).
    other : TierPlan, optional
        The solved plan of the tier this one complements: townships where it
        placed a site are served already.

    Returns
    -------
    tuple
        ``sites`` plus a candidate (``kind`` ``township``: the township's most
        populous cell, or its seat) in each township that needs a site and has
        none, and ``(block,)`` (an :class:`~siting.models.township_block.EverySiteGroupBlock`),
        or ``()`` when no township needs a site of this tier.
    """
    crs = inputs.scenario.region.metric_crs
    need = populated_townships(inputs.cells, inputs.townships)
    if other is not None:
        served = other.sites.loc[other.sites["status"] != "candidate", "township_code"]
        need = need[~need["township_code"].isin(set(served))]
    if not len(need):
        return sites, ()
    lacking = need.loc[~need["township_code"].isin(set(sites["township_code"])), "township_code"]
    if len(lacking):
        points = township_points(inputs.cells, inputs.townships, lacking, metric_crs=crs)
        extra = points.assign(site_id=spec.name + "-township-" + points["township_code"], tier=spec.name,
                              kind="township", name=points["township_name"])
        extra = gpd.GeoDataFrame(extra.reindex(columns=sites.columns.drop("geometry")),
                                 geometry=gpd.points_from_xy(extra["lon"], extra["lat"]), crs=sites.crs)
        sites = gpd.GeoDataFrame(pd.concat([sites, extra], ignore_index=True), crs=sites.crs)
    members = sites.groupby("township_code")["site_id"].apply(tuple)
    groups = tuple(SiteGroup(key=code, label=f"township {code} {name} (district {district})",
                             site_ids=members.get(code, ()))
                   for code, name, district in need[["township_code", "township_name", "district_code"]].itertuples(
                       index=False))
    section = spec.name if spec.builtin else f"tiers.{spec.name}"
    fix = (f"raise the {spec.name} target, lower {section}.min_chargers_per_site, "
           f"or set {section}.every_township = false")
    return sites, (EverySiteGroupBlock(groups=groups, fix=fix, noun="townships", name="every_township"),)
