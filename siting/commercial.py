"""Commercial fleets: hub files, station kinds per site, and the rule "a vehicle uses its own kind of station".

A hub tier with :attr:`~siting.tiers.TierSpec.station_kinds` (the built-in
commercial tier) reads a hub file ``hub_id, name, kind, lon, lat, vehicles[,
kwh_per_vehicle_day]``. Each hub is a candidate site of the station kind that
serves its hub kind (``port`` → ``swap``, depots and delivery → ``charge``,
:class:`~siting.scenario.Commercial`); the site gets that kind's capacity
(vehicles a day) and cost per station. :class:`KindMatch` keeps swap trucks at
swap stations and charging vehicles at charge stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from siting._errors import DataError
from siting._tabular import to_number
from siting.tiers import TierSpec

if TYPE_CHECKING:
    from siting.models.blocks import ModelVars
    from siting.models.capacitated import CapacitatedMCLP


def check_hubs(hubs: gpd.GeoDataFrame, spec: TierSpec) -> gpd.GeoDataFrame:
    """The hub file of a tier with station kinds, checked: every ``kind`` served, ``kwh_per_vehicle_day`` ≥ 0.

    Raises
    ------
    DataError
        One line naming the file, row, column, value and the fix.
    """
    path = spec.hubs
    if "kind" not in hubs:
        msg = f"{path}: missing column 'kind' (port, logistics, delivery, bus_depot, sanitation …); add it"
        raise DataError(msg)
    known = [k for s in spec.station_kinds for k in s.hub_kinds]
    kinds = hubs["kind"].astype(str).str.strip()
    bad = ~kinds.isin(known)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        msg = (f"{path}: row {i + 2}, column 'kind': {hubs['kind'].iloc[i]!r} is not a hub kind any station "
               f"serves ({', '.join(known)}); fix the value or add it to commercial.charge_hub_kinds")
        raise DataError(msg)
    out = hubs.copy()
    out["kind"] = kinds
    if "kwh_per_vehicle_day" in out:
        values = to_number(out["kwh_per_vehicle_day"])
        blank = out["kwh_per_vehicle_day"].isna() | (out["kwh_per_vehicle_day"].astype(str).str.strip() == "")
        wrong = ~blank & (values.isna() | ~np.isfinite(values) | (values < 0))
        if wrong.any():
            i = int(np.argmax(wrong.to_numpy()))
            msg = (f"{path}: row {i + 2}, column 'kwh_per_vehicle_day': {out['kwh_per_vehicle_day'].iloc[i]!r} "
                   "is not a number ≥ 0; fix the value or leave it empty")
            raise DataError(msg)
        out["kwh_per_vehicle_day"] = values.astype(float)
    return out


def with_station_kinds(sites: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, spec: TierSpec) -> gpd.GeoDataFrame:
    """``sites`` with each hub site's station kind: ``kind``, ``capacity_per_unit``, ``unit_cost_cny``.

    Sites that are no hub (extra candidates) keep the tier's defaults and the kind ``charge``… of the
    first station kind; the model then lets any hub's vehicles use them only if kinds match.
    """
    out = sites.copy()
    hub_kind = pd.Series(hubs["kind"].astype(str).to_numpy(), index=f"{spec.name}-" + hubs["hub_id"].astype(str))
    kinds = out["site_id"].map(hub_kind)
    station = kinds.map(lambda k: spec.station_kind(k) if isinstance(k, str) else None)
    fallback = spec.station_kinds[0]
    station = station.where(station.notna(), fallback)
    out["hub_kind"] = kinds.fillna("").to_numpy()
    out["kind"] = [s.name for s in station]
    out["capacity_per_unit"] = [float(s.capacity_per_unit) for s in station]
    out["unit_cost_cny"] = [float(s.cost_cny) for s in station]
    out["site_cost_cny"] = 0.0
    return out


@dataclass(frozen=True)
class KindMatch:
    """A hub's vehicles are served only by sites of the station kind its hub kind needs.

    ``demand_kind`` maps demand ids to the station kind they need; ``site_kind``
    maps site ids to the kind they are. Pairs that do not match carry nothing.
    Splittable: the rule is per pair.
    """

    demand_kind: dict
    site_kind: dict
    name: str = "station_kind"
    splittable: bool = True

    def _mismatched(self, model: CapacitatedMCLP) -> np.ndarray:
        cost = model.cost
        need = np.array([self.demand_kind.get(d, "") for d in cost.demand_ids], dtype=object)[cost.demand]
        have = np.array([self.site_kind.get(s, "") for s in cost.site_ids], dtype=object)[cost.site]
        return need != have

    def check(self, model: CapacitatedMCLP) -> None:
        """Refuse a least-cost model whose coverage share cannot be met with matching stations alone."""
        from siting._errors import InfeasibleError

        cost = model.cost
        reached = np.zeros(cost.n_demand, dtype=bool)
        reached[cost.demand[~self._mismatched(model)]] = True
        total = float(model.weights.sum())
        if model.objective != "cost" or total <= 0:
            return
        share = float(model.weights[reached].sum()) / total
        if share + 1e-9 < model.min_coverage:
            i = int(np.argmax(~reached & (model.weights > 0)))
            hub = cost.demand_ids[i]
            msg = (f"only {100 * share:.1f} % of the vehicles have a station of their kind within the radius "
                   f"(hub {hub} needs a {self.demand_kind.get(hub, '?')} station; short by "
                   f"{float(model.weights[~reached].sum()):,.0f} vehicles); raise commercial.radius_m or lower "
                   "commercial.min_coverage")
            raise InfeasibleError(msg)

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        for k in np.flatnonzero(self._mismatched(model)):
            var = v.assign[k]
            if isinstance(var, pulp.LpVariable):
                var.upBound = 0

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        bad = self._mismatched(model)
        return None if (amount[bad] > 1e-9).any() else (units, amount)


def kind_match(hubs: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, spec: TierSpec) -> KindMatch:
    """The :class:`KindMatch` block of a tier with station kinds."""
    need = {str(h): spec.station_kind(str(k)).name for h, k in zip(hubs["hub_id"], hubs["kind"], strict=True)}
    return KindMatch(demand_kind=need, site_kind=dict(zip(sites["site_id"], sites["kind"], strict=True)))
