"""Constraint blocks: one rule of a location model, written once.

A block keeps together what a rule needs in every part of a solve:

* ``check(model)`` — refuse a model the rule makes infeasible before solving,
  with a message that names what is short and by how much;
* ``add_rows(lp, v, model)`` — its rows (and objective terms) in the PuLP problem,
  over the model's variables ``v`` (:class:`ModelVars`);
* ``repair(model, units, amount)`` — make a greedy plan satisfy the rule, or
  return None when it cannot (the solver then starts without it);
* ``splittable`` — whether a decomposition by district may split the rule
  (a city-wide budget may not; a per-site decision may).

:class:`~siting.models.capacitated.CapacitatedMCLP` takes a sequence of
blocks; spopt's ``FacilityModelBuilder.add_*_constraint`` helpers are the
model for this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pulp

if TYPE_CHECKING:
    from siting.models.capacitated import CapacitatedMCLP


@dataclass(frozen=True)
class ModelVars:
    """The decision variables of a capacitated covering model, by position.

    ``open_vars[j]`` and ``units[j]`` are PuLP variables, or ints for fixed
    (existing) sites; ``assign[k]`` is the amount served along pair ``k`` of the
    model's cost table.
    """

    open_vars: list
    units: list
    assign: list


@runtime_checkable
class Block(Protocol):
    """One rule of a model (see the module's description)."""

    name: str
    splittable: bool

    def check(self, model: CapacitatedMCLP) -> None: ...

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None: ...

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None: ...


@dataclass(frozen=True)
class Budget:
    """The new sites and units of a model may cost at most ``limit_cny``.

    Costs are the model's ``site_cost`` per opened new site and ``unit_cost``
    per new unit (final period). Not splittable: a district's share of a
    budget is not known before the plan is.
    """

    limit_cny: float
    label: str = "budget"
    name: str = "budget"
    splittable: bool = False

    @property
    def description(self) -> str:
        return f"a {self.label} of {self.limit_cny:,.0f} CNY"

    def check(self, model: CapacitatedMCLP) -> None:
        least = least_cost(model)
        if least > self.limit_cny + 1e-6:
            from siting._errors import InfeasibleError

            what = [] if model.total_units is None else [f"the target of {model.total_units:,} {model.unit_name}"]
            if model.forced_open.any():
                what.append(f"the {int(model.forced_open.sum()):,} required sites")
            msg = (f"{self.label} of {self.limit_cny:,.0f} CNY cannot pay for {' and '.join(what)}: they "
                   f"cost at least {least:,.0f} CNY (short by {least - self.limit_cny:,.0f} CNY); raise the "
                   "budget or lower the target")
            raise InfeasibleError(msg)

    def add_rows(self, lp: pulp.LpProblem, v: ModelVars, model: CapacitatedMCLP) -> None:
        terms = []
        for j in np.flatnonzero(model.existing_units == 0):
            if model.site_cost[j] > 0:
                terms.append((v.open_vars[j], float(model.site_cost[j])))
            if model.unit_cost[j] > 0:
                terms.append((v.units[j], float(model.unit_cost[j])))
        lp += pulp.LpAffineExpression(terms) <= self.limit_cny, self.name

    def repair(self, model: CapacitatedMCLP, units: np.ndarray,
               amount: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return (units, amount) if model.plan_cost(units) <= self.limit_cny + 1e-6 else None


def least_cost(model: CapacitatedMCLP) -> float:
    """A lower bound on what the model's new units and required sites cost, CNY (:func:`least_cost_of`)."""
    if model.site_cost is None:
        return 0.0
    return least_cost_of(site_cost=model.site_cost, unit_cost=model.unit_cost, min_units=model.min_units,
                         max_units=model.max_units, existing_units=model.existing_units,
                         forced_open=model.forced_open, total_units=model.total_units)


def least_cost_of(*, site_cost: np.ndarray, unit_cost: np.ndarray, min_units: np.ndarray, max_units: np.ndarray,
                  existing_units: np.ndarray, forced_open: np.ndarray, total_units: int | None) -> float:
    """A lower bound on the cost of placing ``total_units`` new units, CNY.

    Required sites at their minimum units, the other units at the cheapest
    unit cost, and as few of the cheapest other sites as can hold what the
    required sites cannot.
    """
    new = (existing_units == 0) & (max_units > 0)
    forced = forced_open & new
    forced_units = np.maximum(min_units, 1)[forced]
    cost = float((site_cost[forced] + forced_units * unit_cost[forced]).sum())
    if total_units is None:
        return cost
    rest = max(0, total_units - int(forced_units.sum()))
    others = new & ~forced
    if rest == 0 or not others.any():
        return cost
    cost += rest * float(unit_cost[others].min())
    spare = int((max_units[forced] - forced_units).clip(min=0).sum())  # room left at required sites
    room = int(max_units[others].max())
    sites = int(np.ceil(max(0, rest - spare) / max(room, 1)))
    cost += float(np.sort(site_cost[others])[:sites].sum())
    return cost
