"""Power on every site, the coincident peak, TOU energy, grid zones with headroom, 光储充 and V2G.

What a grid company asks first: how many kilowatts, where, and when. From a
solved tier (units per site) and the scenario's ``[grid]`` section:

* :func:`site_power` — per site ``power_kw`` (units × power per unit, by tier
  and station kind), ``peak_kw`` (its share of the coincident evening peak),
  ``energy_kwh_day``, and where the peak exceeds ``site_connection_kw`` a
  battery (``storage_kw`` = the excess, ``storage_kwh`` = it over the peak
  period's hours ÷ usable depth) and a PV canopy (``pv_kw``, 2 kW per charging
  space): the 光储充 station; ``v2g_ready`` where vehicles dwell long.
* :func:`tou_energy` — energy a day per tier split over the TOU periods, and its cost.
* :func:`district_power` — ``peak_kw`` and ``flexible_kw`` (V2G) per district and tier.
* :func:`read_zones` and :class:`GridHeadroom` — ``[grid] zones``: a
  :class:`ZoneHeadroom` block keeps each zone's coincident peak within the
  headroom the tiers solved before it left (tiers are solved one after the
  other, as :class:`siting.plan.TotalBudget` does for money).

Rules and defaults: ``docs/power.md`` and ``docs/costs.md`` §6–8.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from siting._errors import DataError, InfeasibleError
from siting.inputs import read_csv
from siting.tiers import TierSpec

if TYPE_CHECKING:
    from siting.models.blocks import ModelVars
    from siting.models.capacitated import CapacitatedMCLP
    from siting.problem import TierProblem
    from siting.scenario import Grid

#: Power of one charging pile at a station, kW: PV canopy spaces of a station = power_kw ÷ this (docs/power.md).
PILE_KW = 120.0
POWER_COLUMNS = ["power_kw", "peak_kw", "energy_kwh_day", "storage_kw", "storage_kwh", "pv_kw", "v2g_ready",
                 "load_profile"]
WGS84 = "EPSG:4326"


def unit_power(sites: pd.DataFrame, spec: TierSpec) -> pd.DataFrame:
    """Per site: ``kw_per_unit``, ``coincidence``, ``load_profile``, ``v2g_ready`` of one unit (by station kind)."""
    kw = np.full(len(sites), float(spec.power_kw_per_unit))
    factor = np.full(len(sites), float(spec.coincidence))
    profile = np.full(len(sites), spec.load_profile, dtype=object)
    v2g = np.full(len(sites), bool(spec.v2g_ready))
    if spec.station_kinds:
        hub_kind = sites["hub_kind"] if "hub_kind" in sites else pd.Series("", index=sites.index)
        for i, (kind, hub) in enumerate(zip(sites["kind"], hub_kind, strict=True)):
            station = spec.station_kind(str(hub)) or next((k for k in spec.station_kinds if k.name == kind), None)
            if station is not None:
                kw[i], factor[i], profile[i], v2g[i] = (station.power_kw, station.coincidence, station.load_profile,
                                                       station.v2g_ready)
    return pd.DataFrame({"kw_per_unit": kw, "coincidence": factor, "load_profile": profile, "v2g_ready": v2g},
                        index=sites.index)


def peak_hours(grid: Grid) -> int:
    """Hours of the period storage must bridge (``grid.peak_period``)."""
    return sum(1 for h in grid.tou_hours if h == grid.peak_period)


def site_power(sites: pd.DataFrame, spec: TierSpec, grid: Grid, *, site_energy_kwh: pd.Series | None = None
               ) -> pd.DataFrame:
    """The solved sites of one tier with :data:`POWER_COLUMNS` (candidates get zeros).

    Parameters
    ----------
    sites : pandas.DataFrame
        A tier plan's sites: ``site_id, status, units, kind`` (``hub_kind`` for station kinds).
    spec : TierSpec
    grid : Grid
        ``site_connection_kw``, TOU hours and storage rules.
    site_energy_kwh : pandas.Series, optional
        Energy a day per site id (hub tiers: vehicles served × kWh per vehicle); else units ×
        ``power_kw`` × ``full_load_hours_per_day``.
    """
    out = sites.copy()
    per = unit_power(out, spec)
    built = out["status"] != "candidate"
    units = np.where(built, np.maximum(out["units"].to_numpy(dtype=float), 1.0), 0.0)
    power = units * per["kw_per_unit"].to_numpy()
    peak = power * per["coincidence"].to_numpy()
    energy = power * spec.full_load_hours_per_day
    if site_energy_kwh is not None:
        given = out["site_id"].map(site_energy_kwh)
        energy = np.where(given.notna(), given.fillna(0.0).to_numpy(dtype=float), energy)
    energy = np.minimum(energy, power * 24.0)
    short = np.maximum(0.0, peak - grid.site_connection_kw)
    spaces = np.where(spec.is_station, power / PILE_KW, units)
    out["power_kw"] = power.round(1)
    out["peak_kw"] = peak.round(1)
    out["energy_kwh_day"] = np.asarray(energy, dtype=float).round(1)
    out["storage_kw"] = short.round(1)
    out["storage_kwh"] = (short * peak_hours(grid) / grid.storage_depth).round(1)
    out["pv_kw"] = np.where(short > 0, spaces * spec.pv_kw_per_unit, 0.0).round(1)
    out["v2g_ready"] = built & per["v2g_ready"].to_numpy(dtype=bool)
    out["load_profile"] = per["load_profile"].to_numpy()
    return out


def served_energy_kwh(tier_plan: Any) -> pd.Series | None:
    """Energy a day per site of a hub tier: Σ demand served × the hub's kWh per unit (None: not a hub tier)."""
    spec = tier_plan.spec
    if spec.kwh_per_demand_unit <= 0 or tier_plan.hubs is None or tier_plan.assignment is None:
        return None
    hubs = tier_plan.hubs
    per = hubs["kwh_per_vehicle_day"] if "kwh_per_vehicle_day" in hubs else pd.Series(np.nan, index=hubs.index)
    kwh = pd.Series(pd.to_numeric(per, errors="coerce").fillna(spec.kwh_per_demand_unit).to_numpy(dtype=float),
                    index=hubs["hub_id"].astype(str))
    a = tier_plan.assignment
    energy = a["amount"].to_numpy(dtype=float) * a["demand_id"].astype(str).map(kwh).fillna(
        spec.kwh_per_demand_unit).to_numpy(dtype=float)
    return pd.Series(energy, index=a["site_id"].to_numpy()).groupby(level=0).sum()


def tier_power(tier_plan: Any, grid: Grid) -> pd.DataFrame:
    """A solved tier's sites with :data:`POWER_COLUMNS` (:func:`site_power`, energy from the hubs when it can)."""
    return site_power(tier_plan.sites, tier_plan.spec, grid, site_energy_kwh=served_energy_kwh(tier_plan))


def period_shares(grid: Grid, profile: str) -> pd.Series:
    """Share of a day's energy in each TOU period: by hours ("flat") or over the valley hours only ("valley")."""
    hours = pd.Series(list(grid.tou_hours)).value_counts().reindex(list(grid.tou_periods), fill_value=0)
    if profile == "valley":
        hours = hours.where(hours.index.isin(grid.valley_periods), 0)
    return hours / hours.sum()


def tou_energy(sites: pd.DataFrame, grid: Grid) -> pd.DataFrame:
    """Energy a day and its cost per tier and TOU period.

    ``sites`` has ``tier, energy_kwh_day, load_profile`` (:func:`site_power`).
    Returns ``tier, period, hours, price_cny_per_kwh, energy_kwh_day, cost_cny_day``.
    """
    prices = dict(zip(grid.tou_periods, grid.tou_prices_cny_per_kwh, strict=True))
    hours = pd.Series(list(grid.tou_hours)).value_counts()
    rows = []
    for tier, group in sites.groupby("tier", sort=False):
        energy = pd.Series(0.0, index=list(grid.tou_periods))
        for profile, part in group.groupby("load_profile"):
            energy += period_shares(grid, str(profile)) * float(part["energy_kwh_day"].sum())
        for period in grid.tou_periods:
            rows.append({"tier": tier, "period": period, "hours": int(hours.get(period, 0)),
                         "price_cny_per_kwh": prices[period], "energy_kwh_day": round(float(energy[period]), 1),
                         "cost_cny_day": round(float(energy[period]) * prices[period], 1)})
    return pd.DataFrame(rows, columns=["tier", "period", "hours", "price_cny_per_kwh", "energy_kwh_day",
                                       "cost_cny_day"])


def tou_summary(table: pd.DataFrame) -> dict:
    """Per tier, for plan.json: energy and cost a day in total and per TOU period."""
    out = {}
    for tier, group in table.groupby("tier", sort=False):
        out[str(tier)] = {
            "energy_kwh_day": round(float(group["energy_kwh_day"].sum()), 1),
            "energy_cost_cny_day": round(float(group["cost_cny_day"].sum()), 1),
            "by_period": {str(r.period): {"hours": int(r.hours), "energy_kwh_day": float(r.energy_kwh_day),
                                          "cost_cny_day": float(r.cost_cny_day)} for r in group.itertuples()},
        }
    return out


def district_power(sites: pd.DataFrame, grid: Grid) -> pd.DataFrame:
    """``district_code, tier, power_kw, peak_kw, storage_kw, flexible_kw`` of the built sites.

    ``flexible_kw``: V2G-ready power × ``grid.v2g_plugged_share`` (docs/costs.md §8).
    """
    table = sites.assign(flexible_kw=np.where(sites["v2g_ready"].astype(bool), sites["power_kw"], 0.0)
                         * grid.v2g_plugged_share)
    grouped = table.groupby(["district_code", "tier"], sort=False)[
        ["power_kw", "peak_kw", "storage_kw", "flexible_kw"]].sum().round(1)
    return grouped.reset_index()


# --- grid zones ------------------------------------------------------------------------------------------

def read_zones(path: Path, *, metric_crs: str) -> gpd.GeoDataFrame:
    """Grid zones: ``zone_id, headroom_kw`` and a polygon, in ``metric_crs``.

    A GeoJSON/GPKG of polygons, or a CSV/XLSX of points ``lon, lat, radius_m``
    (a circle around a substation).

    Raises
    ------
    DataError
        One line naming the file, row, column and the fix.
    """
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json", ".gpkg", ".shp"):
        try:
            layer = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several types
            msg = f"{path}: cannot read the zones ({exc}); give a GeoJSON/GPKG of polygons or a CSV"
            raise DataError(msg) from None
        if layer.crs is None:
            msg = f"{path}: the zones have no CRS; set one (e.g. EPSG:4326)"
            raise DataError(msg)
        table = pd.DataFrame(layer.drop(columns=layer.geometry.name))
        geometry = layer.to_crs(metric_crs).geometry
        _require(path, table, ["zone_id", "headroom_kw"])
    else:
        table = read_csv(path, text=["zone_id"])
        _require(path, table, ["zone_id", "headroom_kw", "lon", "lat", "radius_m"])
        for column in ("lon", "lat", "radius_m"):
            table[column] = _number(path, table, column)
        points = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84).to_crs(metric_crs)
        geometry = points.buffer(table["radius_m"].to_numpy())
    table["headroom_kw"] = _number(path, table, "headroom_kw")
    table["zone_id"] = table["zone_id"].astype(str)
    if table["zone_id"].duplicated().any():
        msg = f"{path}: zone_id {table['zone_id'][table['zone_id'].duplicated()].iloc[0]!r} appears twice; make ids unique"
        raise DataError(msg)
    return gpd.GeoDataFrame(table[["zone_id", "headroom_kw"]].reset_index(drop=True),
                            geometry=list(geometry), crs=metric_crs)


def _require(path: Path, table: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = f"{path}: missing column '{missing[0]}' (has: {', '.join(map(str, table.columns))}); add it"
        raise DataError(msg)


def _number(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(table[column].astype(str).str.replace(",", "").str.strip(), errors="coerce")
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if column not in ("lon", "lat") and bad.any():
        i = int(np.argmax(bad.to_numpy()))
        msg = f"{path}: row {i + 2}, column '{column}': {table[column].iloc[i]!r} is not a number ≥ 0; fix the value"
        raise DataError(msg)
    if bad.any() and column in ("lon", "lat"):
        i = int(np.argmax(values.isna().to_numpy()))
        msg = f"{path}: row {i + 2}, column '{column}': {table[column].iloc[i]!r} is not a number; fix the value"
        raise DataError(msg)
    return values.astype(float)


def zone_of(sites: pd.DataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """The zone of each site (``x_m, y_m`` in the zones' CRS): the first zone containing it, else ""."""
    points = gpd.GeoDataFrame(sites[["x_m", "y_m"]].reset_index(drop=True),
                              geometry=gpd.points_from_xy(sites["x_m"], sites["y_m"]), crs=zones.crs)
    joined = gpd.sjoin(points, zones[["zone_id", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    return pd.Series(joined["zone_id"].fillna("").astype(str).to_numpy(), index=sites.index)


@dataclass(frozen=True)
class ZoneHeadroom:
    """Each zone's coincident peak, net of the sites' storage, stays within the headroom left (kW).

    A site draws ``min(units × peak per unit, site_connection_kw)`` at the
    peak: above its connection it gets storage for the rest (:func:`site_power`).
    The model picks, per site in a zone, whether it is such a 光储充 site (a
    binary; the draw is then the connection) or not (the draw is its peak).
    ``site_zone`` and ``peak_per_unit`` map site ids to their zone and one
    unit's peak; ``headroom_kw`` maps zone ids to what is left. Not splittable:
    a zone may span districts.
    """

    site_zone: dict
    peak_per_unit: dict
    headroom_kw: dict
    site_connection_kw: float
    name: str = "grid_zones"
    splittable: bool = False

    def _rows(self, model: CapacitatedMCLP) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for j, site in enumerate(model.cost.site_ids):
            zone = self.site_zone.get(site, "")
            if zone:
                rows.setdefault(zone, []).append(j)
        return rows

    def _draw(self, model: CapacitatedMCLP, j: int, units: float) -> float:
        return min(self.peak_per_unit.get(model.cost.site_ids[j], 0.0) * units, self.site_connection_kw)

    def existing_kw(self, model: CapacitatedMCLP, members: list[int]) -> float:
        return float(sum(self._draw(model, j, model.existing_units[j]) for j in members))

    def check(self, model: CapacitatedMCLP) -> None:
        for zone, members in self._rows(model).items():
            load = self.existing_kw(model, members)
            forced = [j for j in members if model.existing_units[j] == 0 and model.forced_open is not None
                      and model.forced_open[j]]
            load += sum(self._draw(model, j, max(1, int(model.min_units[j]))) for j in forced)
            if load > self.headroom_kw[zone] + 1e-6:
                msg = (f"grid zone {zone}: existing and required sites draw {load:,.0f} kW at the peak (net of "
                       f"storage), above the {self.headroom_kw[zone]:,.0f} kW of headroom left (short by "
                       f"{load - self.headroom_kw[zone]:,.0f} kW); raise its headroom_kw")
                raise InfeasibleError(msg)
        self._check_room(model)

    def _room(self, model: CapacitatedMCLP, members: list[int], left: float) -> int:
        """Most new units the zone's sites can hold within ``left`` kW (largest sites first, greedily)."""
        room = 0
        for j in sorted(members, key=lambda j: -int(model.max_units[j])):
            per = self.peak_per_unit.get(model.cost.site_ids[j], 0.0)
            if model.existing_units[j] > 0 or left <= 0:
                continue
            top = int(model.max_units[j])
            if per <= 0:
                room += top
                continue
            units = top if min(per * top, self.site_connection_kw) <= left else int(left // per)
            if units < max(1, int(model.min_units[j])):
                continue
            room += units
            left -= min(per * units, self.site_connection_kw)
        return room

    def _check_room(self, model: CapacitatedMCLP) -> None:
        if model.total_units is None:
            return
        rows = self._rows(model)
        inside = {j for members in rows.values() for j in members}
        free = sum(int(model.max_units[j]) for j in range(len(model.cost.site_ids))
                   if j not in inside and model.existing_units[j] == 0)
        rooms = {z: self._room(model, m, self.headroom_kw[z] - self.existing_kw(model, m)) for z, m in rows.items()}
        room = free + sum(rooms.values())
        if room < model.total_units:
            short = model.total_units - room
            per = max(self.peak_per_unit.values(), default=0.0)
            tight = sorted(rows, key=lambda z: self.headroom_kw[z])[:3]
            names = ", ".join(f"{z} ({self.headroom_kw[z]:,.0f} kW left, room for {rooms[z]:,})" for z in tight)
            msg = (f"grid zones leave room for only {room:,} of the {model.total_units:,} {model.unit_name} "
                   f"(short by {short:,}, about {short * per:,.0f} kW of headroom); tightest zones: {names}; raise "
                   "their headroom_kw or lower the target")
            raise InfeasibleError(msg)

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        c = self.site_connection_kw
        for zone, members in self._rows(model).items():
            terms, fixed = [], self.existing_kw(model, members)
            for j in members:
                unit = v.units[j]
                if model.existing_units[j] > 0 or isinstance(unit, int | np.integer):
                    continue
                per = self.peak_per_unit.get(model.cost.site_ids[j], 0.0)
                big = per * float(model.max_units[j])
                if big <= c:  # never above its connection: the draw is the peak
                    terms.append((unit, per))
                    continue
                draw = pulp.LpVariable(f"zone_draw_{j}", lowBound=0)
                stored = pulp.LpVariable(f"zone_storage_{j}", cat="Binary")
                lp += draw >= per * unit - big * stored, f"zone_draw_peak_{j}"
                lp += draw >= c * stored, f"zone_draw_conn_{j}"
                terms.append((draw, 1.0))
            if terms:
                lp += pulp.LpAffineExpression(terms) <= self.headroom_kw[zone] - fixed, f"zone_{zone}"

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        for zone, members in self._rows(model).items():
            load = sum(self._draw(model, j, units[j]) for j in members)
            if load > self.headroom_kw[zone] + 1e-6:
                return None
        return units, amount


class GridHeadroom:
    """``[grid] zones`` over the tiers, solved one after another (as :class:`siting.plan.TotalBudget`).

    Each tier gets the headroom the tiers before it left, as a
    :class:`ZoneHeadroom` block; after it is solved its sites' coincident peak
    (:func:`site_power`) is taken off. Without zones, nothing changes.
    """

    def __init__(self, zones: gpd.GeoDataFrame | None, grid: Grid):
        self.zones = zones
        self.grid = grid
        self.left = dict(zip(zones["zone_id"], zones["headroom_kw"].astype(float), strict=True)) \
            if zones is not None else {}

    @classmethod
    def from_scenario(cls, scenario: Any) -> GridHeadroom:
        g = scenario.grid
        zones = read_zones(g.zones, metric_crs=scenario.region.metric_crs) if g.zones is not None else None
        return cls(zones, g)

    def limit(self, problem: TierProblem) -> TierProblem:
        """``problem`` with a ``zone_id`` per site and the zones' headroom left as a block."""
        if self.zones is None:
            return problem
        sites = problem.sites.copy()
        sites["zone_id"] = zone_of(sites, self.zones).to_numpy()
        per = unit_power(sites, problem.spec)
        peak = (per["kw_per_unit"] * per["coincidence"]).to_numpy()
        block = ZoneHeadroom(site_zone=dict(zip(sites["site_id"], sites["zone_id"], strict=True)),
                             peak_per_unit=dict(zip(sites["site_id"], peak, strict=True)),
                             headroom_kw=dict(self.left), site_connection_kw=self.grid.site_connection_kw)
        return dataclasses.replace(problem, sites=sites, blocks=(*problem.blocks, block))

    def spend(self, sites: pd.DataFrame) -> None:
        """Take a solved tier's peak (sites with ``zone_id, peak_kw``, :func:`site_power`) off its zones."""
        if self.zones is None or "zone_id" not in sites:
            return
        inside = sites[sites["zone_id"] != ""]
        used = (inside["peak_kw"] - inside["storage_kw"]).groupby(inside["zone_id"]).sum()
        for zone, kw in used.items():
            self.left[zone] = self.left[zone] - float(kw)


def zone_table(sites: pd.DataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per zone: ``zone_id, headroom_kw, peak_kw, storage_kw, net_peak_kw, headroom_left_kw``."""
    built = sites[sites.get("zone_id", pd.Series("", index=sites.index)).astype(str) != ""]
    sums = built.groupby("zone_id")[["peak_kw", "storage_kw"]].sum()
    table = zones[["zone_id", "headroom_kw"]].copy()
    table["peak_kw"] = table["zone_id"].map(sums["peak_kw"]).fillna(0.0).round(1)
    table["storage_kw"] = table["zone_id"].map(sums["storage_kw"]).fillna(0.0).round(1)
    table["net_peak_kw"] = (table["peak_kw"] - table["storage_kw"]).round(1)
    table["headroom_left_kw"] = (table["headroom_kw"] - table["net_peak_kw"]).round(1)
    return pd.DataFrame(table)
