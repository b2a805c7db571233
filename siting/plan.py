"""Run a scenario end to end: inputs → demand → candidates → one model per tier.

:func:`run_plan` returns a :class:`Plan`, whose methods give the tidy tables
the exports and the map are made from. Nothing here writes files or imports
folium.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InfeasibleError, ScenarioError
from siting._tabular import recording_encodings
from siting.allocate import TierPlan, allocate
from siting.decisions import apply_decisions, check_all_applied, read_decisions
from siting.demand import build_demand_surface, geonames_places
from siting.hydrogen import SITE_SUPPLY_COLUMNS, station_rollout, with_supply
from siting.inputs import (read_boundaries, read_district_stats, read_existing_chargers, read_points,
                           read_population_layer)
from siting.models._base import OPTIMALITY_TOLERANCE
from siting.models.blocks import Budget
from siting.power import POWER_COLUMNS, GridHeadroom, district_power, read_zones, tier_power, tou_energy, zone_table
from siting.problem import PlanInputs, TierProblem, read_tier_files, tier_problem, with_every_township
from siting.scenario import SECTIONS, Scenario, Solver, network_file
from siting.townships import read_townships

log = logging.getLogger(__name__)

#: Threads for the tiers that share nothing (:func:`_solve_tiers`); the machine this was measured on has 2 cores.
TIER_WORKERS = 2

#: How a plan solves one tier's problem: :func:`~siting.allocate.allocate`, or a decomposition's queue.
Allocator = Callable[[TierProblem, Solver], TierPlan]

SITE_COLUMNS = ["site_id", "tier", "status", "district_code", "district_name", "lon", "lat", "chargers",
                "capacity_kg_per_day", "demand_served", "demand_unit", "kind", "name", "rank", "district_name_en",
                "cost_cny", "year", "township_code", "township_name", "source", "osm_id", "address", "units",
                "power_kw", "peak_kw", "storage_kw", "storage_kwh", "pv_kw", "v2g_ready", "zone_id", "energy_kwh_day",
                "supply_source", "station_cny_per_kg", "delivered_cost_cny_per_kg", "colocated"]


@dataclass(frozen=True)
class Plan:
    """A solved scenario: inputs, demand surface and one :class:`TierPlan` per tier."""

    scenario: Scenario
    boundaries: gpd.GeoDataFrame
    stats: pd.DataFrame
    cells: gpd.GeoDataFrame
    tiers: dict[str, TierPlan]
    timings_s: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    #: The road network used: source, CRS, nodes, edges (empty with ``network.source = "none"``).
    network: dict = field(default_factory=dict)
    #: Township polygons (``region.townships``), EPSG:4326; None when the scenario names none.
    townships: gpd.GeoDataFrame | None = None
    #: The streets of a local OSM extract (``network.source`` a .pbf or .osm file), lines in EPSG:4326, for the map.
    streets: gpd.GeoDataFrame | None = None
    #: Tiers of the scenario with nothing to plan (a target of 0, see :attr:`TierSpec.skipped`), in order.
    skipped: tuple[str, ...] = ()
    #: Encoding each table was read in (``utf-8``, ``utf-8-sig``, ``gb18030``, ``xlsx``), by scenario key.
    input_encodings: dict[str, str] = field(default_factory=dict)

    @property
    def specs(self) -> dict:
        """The :class:`~siting.tiers.TierSpec` of each planned tier, in the scenario's order."""
        return {name: tp.spec for name, tp in self.tiers.items()}

    def _names(self) -> pd.DataFrame:
        return self.boundaries[["district_code", "district_name", "district_name_en"]]

    def sites(self) -> gpd.GeoDataFrame:
        """Chosen and existing sites of every tier, in DESIGN.md's columns (EPSG:4326)."""
        frames = []
        for tier, tp in self.tiers.items():
            powered = tier_power(tp, self.scenario.grid)
            chosen = powered[powered["status"] != "candidate"]
            hydrogen = tp.spec.is_station
            frames.append(pd.DataFrame({
                "site_id": chosen["site_id"], "tier": tier, "status": chosen["status"],
                "district_code": chosen["district_code"], "lon": chosen["lon"], "lat": chosen["lat"],
                "chargers": 0 if hydrogen else chosen["units"],
                "capacity_kg_per_day": chosen["capacity"] if hydrogen else 0.0,
                "demand_served": chosen["demand_served"].round(3), "demand_unit": tp.demand_unit,
                "kind": chosen["kind"], "name": chosen["name"], "rank": chosen["rank"],
                # the cost of a new site (existing: none); the first year of a roll-out with units there
                "cost_cny": chosen["cost_cny"].where(chosen["status"] == "new") if "cost_cny" in chosen else np.nan,
                "year": chosen["year"] if "year" in chosen else pd.NA,
                "township_code": chosen.get("township_code", ""), "township_name": chosen.get("township_name", ""),
                "source": chosen.get("source", ""), "osm_id": chosen.get("osm_id", ""),
                "address": chosen.get("address", ""),
                "units": chosen["units"], **{c: chosen[c] for c in POWER_COLUMNS if c != "load_profile"},
                "zone_id": chosen["zone_id"] if "zone_id" in chosen else "",
                **{c: chosen.get(c, pd.NA) for c in SITE_SUPPLY_COLUMNS},
            }))
        table = pd.concat(frames, ignore_index=True).merge(self._names(), on="district_code", how="left")
        table["year"] = table["year"].astype("Int64")
        table = table.sort_values(["tier", "rank", "site_id"], key=self._tier_key).reset_index(drop=True)
        return gpd.GeoDataFrame(table[SITE_COLUMNS], geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                                crs="EPSG:4326")

    def candidates(self) -> pd.DataFrame:
        """Every candidate site with ``tier, selected, score, rank`` and location."""
        frames = [tp.sites.drop(columns=["geometry", "x_m", "y_m"]) for tp in self.tiers.values()]
        table = pd.concat(frames, ignore_index=True).merge(self._names(), on="district_code", how="left")
        table = table.rename(columns={"units": "chargers_or_stations"})
        for column in ("township_code", "township_name", "source", "osm_id", "address"):
            table[column] = table[column].fillna("") if column in table else ""
        table["demand_served"] = table["demand_served"].round(3)
        table["demand_in_reach"] = table["demand_in_reach"].round(3)
        table["score"] = table["score"].round(3)
        columns = ["site_id", "tier", "kind", "name", "district_code", "district_name", "lon", "lat", "status",
                   "selected", "chargers_or_stations", "capacity", "demand_served", "demand_in_reach", "score", "rank",
                   "decision", "township_code", "township_name", "source", "osm_id", "address"]
        return table[columns].sort_values(["tier", "rank"], key=self._tier_key).reset_index(drop=True)

    def phases(self) -> pd.DataFrame | None:
        """The roll-out: ``site_id, tier, year, chargers`` (cumulative at each year's end; a station counts 1).

        New sites only (existing ones have their units every year); None without ``[phases]``.
        """
        frames = []
        for tier, tp in self.tiers.items():
            if tp.phases is None:
                continue
            new = set(tp.sites.loc[tp.sites["status"] == "new", "site_id"])
            rows = tp.phases[tp.phases["site_id"].isin(new)]
            frames.append(pd.DataFrame({"site_id": rows["site_id"], "tier": tier, "year": rows["year"],
                                        "chargers": rows["units"]}))
        if not frames:
            return None
        table = pd.concat(frames, ignore_index=True)
        return table.sort_values(["tier", "site_id", "year"], key=self._tier_key).reset_index(drop=True)

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
                    "units": u, "unit": tp.spec.unit,
                    "demand": round(d, 3), "demand_served": round(s, 3), "demand_unit": tp.demand_unit,
                    "share_covered": round(s / d, 4) if d > 0 else None,
                    "share_of_target": round(u / tp.target, 4) if tp.target > 0 and not tp.spec.is_station else None,
                })
        table = pd.DataFrame(rows).merge(self._names(), on="district_code", how="left")
        power = district_power(self.sites(), self.scenario.grid)
        table = table.merge(power[["district_code", "tier", "peak_kw", "storage_kw", "flexible_kw"]],
                            on=["district_code", "tier"], how="left")
        for column in ("peak_kw", "storage_kw", "flexible_kw"):
            table[column] = table[column].fillna(0.0)
        evs = self.cells.groupby("district_code")["evs"].sum()
        table["evs"] = table["district_code"].map(evs).round(0)
        stations = [t for t, tp in self.tiers.items() if tp.spec.is_station]
        table["chargers_per_1000_evs"] = np.where(~table["tier"].isin(stations),
                                                  (1000 * table["units"] / table["evs"]).round(2), np.nan)
        columns = ["district_code", "district_name", "district_name_en", "tier", "sites", "units", "unit", "demand",
                   "demand_served", "demand_unit", "share_covered", "share_of_target", "evs", "chargers_per_1000_evs",
                   "peak_kw", "storage_kw", "flexible_kw"]
        return table[columns].sort_values(["district_code", "tier"], key=self._tier_key).reset_index(drop=True)

    def energy(self) -> pd.DataFrame:
        """Energy a day and its cost per tier and TOU period (:func:`siting.power.tou_energy`)."""
        frames = [tier_power(tp, self.scenario.grid).assign(tier=tier) for tier, tp in self.tiers.items()]
        built = pd.concat(frames, ignore_index=True)
        return tou_energy(built[built["status"] != "candidate"], self.scenario.grid)

    def zones(self) -> pd.DataFrame | None:
        """Per grid zone: headroom, coincident peak, storage, what is left (None without ``[grid] zones``)."""
        if self.scenario.grid.zones is None:
            return None
        zones = read_zones(self.scenario.grid.zones, metric_crs=self.scenario.region.metric_crs)
        return zone_table(pd.DataFrame(self.sites().drop(columns="geometry")), zones)

    def _tier_key(self, column: pd.Series) -> pd.Series:
        """Sort key: tiers in the scenario's order, other columns as they are."""
        return column.map({t: i for i, t in enumerate(self.tiers)}) if column.name == "tier" else column


class _Timer:
    def __init__(self, report: Callable[[str], None] | None):
        self.timings: dict[str, float] = {}
        self.report = report

    @contextmanager
    def stage(self, name: str):
        if self.report:
            self.report(name)
        start = time.perf_counter()
        self.timings[name] = 0.0  # stages in the order they start, also when tiers run side by side
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
    return plan_with(scenario, allocate, report=report, workers=TIER_WORKERS)


def plan_with(scenario: Scenario, solve: Allocator, *, report: Callable[[str], None] | None = None,
              workers: int = 1) -> Plan:
    """:func:`run_plan` with each tier's problem solved by ``solve`` instead of :func:`~siting.allocate.allocate`.

    :mod:`siting.decompose` passes one that splits a tier by district. With
    ``workers`` above 1, tiers that share nothing are solved side by side in
    threads (``solve`` must then be safe to call from several threads).
    """
    with recording_encodings() as encodings:
        plan = _plan_with(scenario, solve, report, workers)
    return dataclasses.replace(plan, input_encodings=encodings_by_key(encodings, input_files(scenario)))


def _plan_with(scenario: Scenario, solve: Allocator, report: Callable[[str], None] | None, workers: int) -> Plan:
    timer = _Timer(report)
    s = scenario
    planned = [spec for spec in s.tiers if not spec.skipped]
    if not planned:
        msg = (f"{s.path}: every tier has a target of 0 ({', '.join(t.name for t in s.tiers)}): nothing to plan; "
               "set a target above 0 in [targets]")
        raise ScenarioError(msg)
    # a skipped tier's problem is still built when a planned tier looks at its candidates (reach_towns_beyond)
    looked_at = {spec.reach_towns_beyond for spec in planned}
    built = [spec for spec in s.tiers if not spec.skipped or spec.name in looked_at]
    with timer.stage("inputs"):
        boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
        stats = read_district_stats(s.region.district_stats, boundaries, ev_stock=s.demand.ev_stock)
        centres = (read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
                   if s.region.urban_centres else None)
        places = geonames_places(boundaries) if s.region.geonames_places else None
        population_layer = (read_population_layer(s.demand.population_layer, column=s.demand.population_column)
                            if s.demand.population_layer else None)
        files = {spec.name: read_tier_files(spec, boundaries, s.region.metric_crs) for spec in built}
        existing = (read_existing_chargers(s.region.existing_chargers, boundaries=boundaries,
                                           tiers={t.name: not t.is_station for t in s.tiers})
                    if s.region.existing_chargers else None)
        decisions = (read_decisions(s.decisions.file, tiers={t.name: t.target for t in s.tiers})
                     if s.decisions.file else None)
        townships = read_townships(s.region.townships, boundaries=boundaries) if s.region.townships else None
    network = osm_sites = osm_places = streets = None
    if s.network.source != "none":
        with timer.stage("network"):
            from siting.network import load_network, osm_features
            region = boundaries.to_crs("EPSG:4326").union_all()
            network = load_network(s, region)
            streets = street_layer(s, region)
            osm_places = _osm_places(s, region, built)
            osm_sites = osm_features(s, region) if s.network.osm_candidates or (
                osm_places is None and any("osm" in t.candidate_sources for t in built)) else None
    with timer.stage("demand surface"):
        cells = build_demand_surface(boundaries, stats, metric_crs=s.region.metric_crs, demand=s.demand,
                                     urban_centres=centres, places=places, population_layer=population_layer,
                                     townships=townships)
    inputs = PlanInputs(scenario=s, boundaries=boundaries, cells=cells, places=places, network=network,
                        osm_sites=osm_sites, files=files, existing_chargers=existing, townships=townships,
                        osm_places=osm_places)
    with timer.stage("candidates"):
        problems = build_problems(inputs, decisions, specs=built)
    tiers = _solve_tiers(problems, inputs, solve, timer, workers)
    return Plan(scenario=s, boundaries=boundaries, stats=stats, cells=cells, tiers=tiers,
                timings_s=timer.timings, input_hashes=input_hashes(s),
                network=network.summary() if network is not None else {}, townships=townships,
                skipped=tuple(spec.name for spec in s.tiers if spec.skipped), streets=streets)


def _solve_tiers(problems: dict[str, TierProblem], inputs: PlanInputs, solve: Allocator, timer: _Timer,
                 workers: int) -> dict[str, TierPlan]:
    """Every planned tier solved, in the scenario's order; tiers that share nothing on ``workers`` threads.

    A total budget or grid zones hand what one tier leaves to the next, so
    then the tiers run one after another. Otherwise a tier waits only for the
    tier it complements (``every_township`` after ``reach_towns_beyond``):
    the solver spends most of a tier's time in HiGHS, which releases the GIL,
    so on two cores the default plan's rural tier runs after the public one
    while the residential one runs beside them.
    """
    s = inputs.scenario
    budgets = TotalBudget(s.budget.total_cny, problems)
    grid = GridHeadroom.from_scenario(s)  # [grid] zones: each tier gets the headroom the earlier ones left
    planned = {name: problem for name, problem in problems.items() if not problem.spec.skipped}

    def solve_tier(name: str, solved: dict[str, TierPlan]) -> TierPlan:
        solved = {t: tp for t, tp in solved.items() if isinstance(tp, TierPlan)}  # not a queued district
        with timer.stage(name):
            problem = with_every_township(planned[name], inputs, solved)
            return with_supply_and_rollout(solve(grid.limit(budgets.limit(problem)), solver_for(problem, s.solver)),
                                           problem)

    tiers: dict[str, TierPlan] = {}
    if workers <= 1 or budgets.least or grid.zones is not None:
        for name in planned:
            tiers[name] = solve_tier(name, tiers)
            budgets.spend(tiers[name])
            if isinstance(tiers[name], TierPlan):  # not a queued district
                grid.spend(tier_power(tiers[name], s.grid))
        return tiers

    def after(name: str, first: Future | None) -> TierPlan:
        return solve_tier(name, {} if first is None else {planned[name].spec.reach_towns_beyond: first.result()})

    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for name, problem in planned.items():
            # a tier waits for one submitted before it, which a worker has taken already: no deadlock
            first = futures.get(problem.spec.reach_towns_beyond) if problem.spec.every_township else None
            futures[name] = pool.submit(after, name, first)
        try:
            return {name: future.result() for name, future in futures.items()}
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise


def _osm_places(s: Scenario, region, specs: list) -> gpd.GeoDataFrame | None:
    """OSM places of the local network file when a tier takes candidates from ``"osm"`` (else None)."""
    if not any("osm" in spec.candidate_sources for spec in specs):
        return None
    from siting.candidate_sources import load_osm_places
    return load_osm_places(s, region)


def street_layer(s: Scenario, region) -> gpd.GeoDataFrame | None:
    """The drivable streets of the scenario's local OSM extract, as light map lines (None without one)."""
    path = network_file(s)
    if path is None or not path.name.lower().endswith((".pbf", ".osm", ".osm.bz2")):
        return None
    from siting.osm_pbf import read_drive_graph, street_lines

    try:
        lines = street_lines(read_drive_graph(path, region=region))
    except Exception as exc:  # the map's backdrop only: the plan is made without it
        log.warning("no street layer from %s: %s", path, exc)
        return None
    return lines.assign(geometry=lines.geometry.simplify(1e-5))


def build_problems(inputs: PlanInputs, decisions: pd.DataFrame | None = None, *,
                   specs: list | None = None) -> dict[str, TierProblem]:
    """Every tier's problem (of ``specs``, default all), with the planner's decisions applied, before any is solved.

    Raises
    ------
    DataError
        A decision naming a site that is no candidate of any tier.
    """
    s = inputs.scenario
    problems: dict[str, TierProblem] = {}
    used: set = set()
    for spec in s.tiers if specs is None else specs:
        problem = tier_problem(spec, inputs, problems)
        if decisions is not None:
            sites, applied = apply_decisions(problem.sites, decisions, spec=spec, path=s.decisions.file,
                                             boundaries=inputs.boundaries, metric_crs=s.region.metric_crs)
            problem = dataclasses.replace(problem, sites=sites)
            used |= applied
        problems[spec.name] = problem
    if decisions is not None:
        check_all_applied(decisions, used, s.decisions.file)
    if any(p.spec.candidate_sites is not None for p in problems.values()):
        from siting.candidate_sources import check_unique_ids
        check_unique_ids({name: p.sites for name, p in problems.items()})
    return problems


def solver_for(problem: TierProblem, solver: Solver) -> Solver:
    """``solver``, with its MIP gap tightened to proven optimality when a block of the problem asks for it
    (``exact = True``: a small model whose objective terms make a 1 % gap stop short, e.g. hydrogen supply)."""
    if any(getattr(block, "exact", False) for block in problem.blocks):
        return dataclasses.replace(solver, mip_gap=min(solver.mip_gap, OPTIMALITY_TOLERANCE))
    return solver


def with_supply_and_rollout(plan: TierPlan, problem: TierProblem) -> TierPlan:
    """A solved tier with its hydrogen supply and delivered costs, and its roll-out after its hubs' fleet years
    (:mod:`siting.hydrogen`; a tier without supply sources, fuel stations or hub years is returned as it is)."""
    if not isinstance(plan, TierPlan):  # a district queued by a decomposition
        return plan
    plan = with_supply(plan, problem.blocks, problem.spec)
    return station_rollout(plan, problem.hubs, problem.years)


class TotalBudget:
    """``[budget] total_cny`` over the tiers, solved one after another.

    Before any tier is solved the targets' least costs are checked against the
    budget (an impossible budget says by how much it is short); each tier then
    gets what the tiers before it left, less the least cost of the tiers after
    it, as a :class:`~siting.models.blocks.Budget` block.
    """

    def __init__(self, total_cny: float, problems: dict[str, TierProblem]):
        self.total_cny = float(total_cny)
        self.least = {name: p.least_cost() for name, p in problems.items()} if total_cny > 0 else {}
        self.spent = 0.0
        if self.least and sum(self.least.values()) > self.total_cny + 1e-6:
            need = sum(self.least.values())
            parts = ", ".join(f"{name} ≥ {cost:,.0f}" for name, cost in self.least.items() if cost > 0)
            msg = (f"budget.total_cny of {self.total_cny:,.0f} CNY cannot pay for the targets: they cost at least "
                   f"{need:,.0f} CNY ({parts}; short by {need - self.total_cny:,.0f} CNY); raise the budget or "
                   "lower targets")
            raise InfeasibleError(msg)

    def limit(self, problem: TierProblem) -> TierProblem:
        """``problem`` with the part of the total budget it may spend, as a block."""
        if not self.least:
            return problem
        later = sum(cost for name, cost in self.least.items() if name in self._after(problem.name))
        available = self.total_cny - self.spent - later
        block = Budget(available, label=f"budget.total_cny (what is left for the {problem.name} tier)",
                       name="total_budget")
        return dataclasses.replace(problem, blocks=(*problem.blocks, block))

    def spend(self, plan: TierPlan) -> None:
        if self.least:
            self.spent += plan.cost_cny

    def _after(self, name: str) -> list[str]:
        names = list(self.least)
        return names[names.index(name) + 1:]


def input_files(s: Scenario) -> dict[str, Path]:
    """Every file the scenario names, by its scenario key (``region.district_stats``, ``tiers.taxi.demand`` …)."""
    files: dict[str, Path] = {}
    sections = {name: getattr(s, name) for name in SECTIONS}
    sections.update({f"tiers.{name}": table for name, table in s.extra_tiers.items()})
    for section, value in sections.items():
        for f in dataclasses.fields(value):
            path = getattr(value, f.name)
            if isinstance(path, Path):
                files[f"{section}.{f.name}"] = path
    return files


def encodings_by_key(encodings: dict[str, str], files: dict[str, Path]) -> dict[str, str]:
    """``{path: encoding}`` as recorded while reading, keyed by scenario key (a file the scenario does not
    name directly by its file name), so that ``plan.json`` holds no absolute paths."""
    keys = {path.resolve(): key for key, path in files.items()}
    out = {}
    for path, encoding in encodings.items():
        resolved = Path(path).resolve()
        out[keys.get(resolved, resolved.name)] = encoding
    return dict(sorted(out.items()))


def input_hashes(s: Scenario) -> dict[str, str]:
    """SHA-256 of every input file the scenario names (the scenario file included)."""
    paths: dict[str, Path | None] = {
        "scenario": s.path, "boundaries": s.region.boundaries, "district_stats": s.region.district_stats,
        "urban_centres": s.region.urban_centres, "demand_hubs": s.hydrogen.demand_hubs,
        "existing_stations": s.hydrogen.existing_stations, "candidate_sites": s.hydrogen.candidate_sites,
        "population_layer": s.demand.population_layer, "network": network_file(s),
        "existing_chargers": s.region.existing_chargers, "decisions": s.decisions.file,
        "townships": s.region.townships, "supply_sources": s.hydrogen.supply_sources,
        "fuel_stations": s.hydrogen.fuel_stations,
    }
    for spec in s.tiers:
        if not spec.builtin and spec.hubs is not None:
            paths[f"{spec.name}_demand_hubs"] = spec.hubs
        if spec.candidate_sites is not None and not spec.is_station and spec.candidates != "hubs":
            paths[f"{spec.name}_candidate_sites"] = spec.candidate_sites
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items() if p is not None}
