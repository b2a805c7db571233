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
