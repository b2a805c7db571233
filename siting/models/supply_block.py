"""Hydrogen supply in the location model: flows from sources to stations, and a capacity margin.

:class:`SupplyBlock` adds, for every (source ``s``, site ``j``) pair, a flow
``f_sj ≥ 0`` (kg/day) with::

    Σ_s f_sj = Σ_i x_ij                  every site j (its load: the demand it serves)
    Σ_j f_sj ≤ capacity_s                every source s

and subtracts ``μ · Σ f_sj · c_sj`` from the objective, where ``c_sj`` is the
production cost at ``s`` plus the transport to ``j`` (CNY/kg). ``μ`` is
``weight × (coverage scale)``: one CNY/kg of production and transport weighs as
much as ``weight`` (default 1 %) of one kg/day served. Serving demand therefore
always pays (``μ · max c_sj`` is kept below half the value of serving one
kg/day), coverage decides between plans unless they differ by less than about
``weight × spread of c_sj``, and the delivered cost then outweighs distance
(whose whole range is ``distance_weight`` = 5 % of a kg/day).

:class:`CapacityMargin` keeps a new station's load at most
``capacity / (1 + margin)`` (适度超前: stations sized ahead of the demand they serve).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pulp

from siting._errors import InfeasibleError
from siting.models.blocks import ModelVars

if TYPE_CHECKING:
    from siting.models.capacitated import CapacitatedMCLP

#: Default weight of one CNY/kg of production and transport, as a share of one kg/day of coverage.
SUPPLY_WEIGHT = 0.01


@dataclass(frozen=True, eq=False)
class SupplyBlock:
    """Stations draw what they serve from supply sources within the sources' capacity.

    Attributes
    ----------
    pairs : pandas.DataFrame
        ``source_id, site_id, distance_km, production_cny_per_kg, transport_cny_per_kg``: every pair a flow may use.
    capacity_kg_per_day : pandas.Series
        Per ``source_id``: the most it supplies, kg/day.
    weight : float
        Objective weight of one CNY/kg relative to one kg/day of coverage (see the module).
    """

    pairs: pd.DataFrame
    capacity_kg_per_day: pd.Series
    weight: float = SUPPLY_WEIGHT
    label: str = "supply_sources"
    name: str = "supply"
    splittable: bool = False
    #: Solve the tier to proven optimality (the plan tightens the MIP gap): a small model whose supply
    #: cost term makes the scenario's 1 % gap stop short of the optimum.
    exact: bool = True

    @property
    def description(self) -> str:
        return f"{self.label}: {float(self.capacity_kg_per_day.sum()):,.0f} kg/day of supply"

    @property
    def total_capacity(self) -> float:
        return float(self.capacity_kg_per_day.sum())

    def check(self, model: CapacitatedMCLP) -> None:
        """Refuse a least-cost target the sources cannot supply; warn when they cannot supply all demand."""
        demand = float(model.weights.sum())
        supply = self.total_capacity
        if model.objective == "cost" and model.min_coverage * demand > supply + 1e-6:
            need = model.min_coverage * demand
            msg = (f"{self.label} supply {supply:,.0f} kg/day in all, less than the {need:,.0f} kg/day that "
                   f"min_coverage = {model.min_coverage:g} asks the stations to serve (short by {need - supply:,.0f} "
                   "kg/day); add sources, raise their capacity_kg_per_day or lower min_coverage")
            raise InfeasibleError(msg)
        if supply + 1e-6 < demand:
            warnings.warn(f"{self.label} supply {supply:,.0f} kg/day in all, less than the {demand:,.0f} kg/day of "
                          f"demand: at most {supply:,.0f} kg/day can be served (short by {demand - supply:,.0f} "
                          "kg/day); add sources or raise their capacity_kg_per_day", stacklevel=2)

    def _positions(self, model: CapacitatedMCLP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Site position, source position and cost (CNY/kg) of every pair whose site is in the model."""
        site = model.cost.site_ids.get_indexer(self.pairs["site_id"])
        sources = pd.Index(self.capacity_kg_per_day.index)
        source = sources.get_indexer(self.pairs["source_id"])
        cost = (self.pairs["production_cny_per_kg"] + self.pairs["transport_cny_per_kg"]).to_numpy(float)
        keep = (site >= 0) & (source >= 0)
        return site[keep], source[keep], cost[keep]

    def mu(self, model: CapacitatedMCLP) -> float:
        """Objective weight of one CNY/kg·kg/day (see the module)."""
        _, _, cost = self._positions(model)
        top = float(cost.max()) if len(cost) else 1.0
        return model._coverage_scale * min(self.weight, 0.5 / max(top, 1e-9))

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        site, source, cost = self._positions(model)
        table = model.cost
        has_pairs = np.zeros(table.n_sites, dtype=bool)
        has_pairs[table.site] = True
        by_site: dict[int, list] = {}
        by_source: dict[int, list] = {}
        terms = []
        mu = self.mu(model)
        for k, (j, s, c) in enumerate(zip(site, source, cost, strict=True)):
            if not has_pairs[j]:
                continue
            f = pulp.LpVariable(f"supply_{k}", lowBound=0)
            by_site.setdefault(int(j), []).append(f)
            by_source.setdefault(int(s), []).append(f)
            terms.append((f, -mu * float(c)))
        order = np.argsort(table.site, kind="stable")
        bounds = np.searchsorted(table.site[order], np.arange(table.n_sites + 1))
        for j in np.flatnonzero(has_pairs):
            load = pulp.LpAffineExpression((v.assign[k], 1.0) for k in order[bounds[j]:bounds[j + 1]])
            flows = by_site.get(int(j), [])
            lp += pulp.lpSum(flows) - load == 0, f"supply_balance_{j}"
        for s, flows in by_source.items():
            lp += pulp.lpSum(flows) <= float(self.capacity_kg_per_day.iloc[s]), f"supply_capacity_{s}"
        lp.setObjective(lp.objective + pulp.LpAffineExpression(terms))

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """None: the solver starts without the greedy plan.

        The model compares a greedy plan with the solver's by
        :meth:`CapacitatedMCLP.objective_of`, which does not know this block's
        objective terms (the supply cost); a greedy plan would look better than
        it is and replace the solver's. Scaling the greedy service down to the
        sources' capacity would make it feasible (every source reaches every
        site); :func:`scaled_to_supply` does that, for when the model can price it.
        """
        return None

    def scaled_to_supply(self, model: CapacitatedMCLP, amount: np.ndarray) -> np.ndarray:
        """``amount`` (per pair) scaled down so that the total load fits the sources' capacity."""
        site, _, _ = self._positions(model)
        reachable = np.zeros(model.cost.n_sites, dtype=bool)
        reachable[site] = True
        amount = np.where(reachable[model.cost.site], amount, 0.0)
        total = float(amount.sum())
        if total > self.total_capacity:
            amount = amount * (self.total_capacity / total) * (1 - 1e-9)
        return amount


@dataclass(frozen=True)
class CapacityMargin:
    """A new site serves at most ``capacity / (1 + margin)``: capacity planned ahead of demand (适度超前)."""

    margin: float
    label: str = "capacity_margin"
    name: str = "capacity_margin"
    splittable: bool = True

    @property
    def description(self) -> str:
        return f"{self.label} of {100 * self.margin:g} %"

    def check(self, model: CapacitatedMCLP) -> None:
        return None

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        table = model.cost
        order = np.argsort(table.site, kind="stable")
        bounds = np.searchsorted(table.site[order], np.arange(table.n_sites + 1))
        for j in np.flatnonzero(model.existing_units == 0):
            pairs = order[bounds[j]:bounds[j + 1]]
            if not len(pairs):
                continue
            load = pulp.LpAffineExpression((v.assign[k], 1.0) for k in pairs)
            lp += load <= float(model.capacity_per_unit[j]) / (1 + self.margin) * v.units[j], f"margin_{j}"

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Scale each new site's service down to its capacity over ``1 + margin``."""
        table = model.cost
        load = np.bincount(table.site, weights=amount, minlength=table.n_sites)
        limit = model.capacity_per_unit * units / (1 + self.margin)
        factor = np.where((model.existing_units == 0) & (load > limit), limit / np.maximum(load, 1e-12), 1.0)
        return units, amount * factor[table.site] * np.where(factor[table.site] < 1, 1 - 1e-9, 1.0)
