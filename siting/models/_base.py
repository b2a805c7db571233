"""What every location model shares: sparse cost tables, solving, results.

A cost table is sparse: one row per (demand, site) pair that can be served, so
that no dense demand × site matrix is needed. Models are PuLP problems solved by
HiGHS (default) or CBC; the status reported is ``"optimal"`` only when the
solver proved optimality to its default tolerance, otherwise ``"feasible"``
with the relative gap between objective and bound.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pulp

from siting._errors import SolverError

#: Relative gap at or below which a solution counts as proven optimal
#: (HiGHS's and CBC's own default ``mip_rel_gap``).
OPTIMALITY_TOLERANCE = 1e-4

SOLVERS = ("highs", "cbc")


@dataclass(frozen=True)
class SparseCost:
    """A sparse demand × site cost table with positional indices.

    Attributes
    ----------
    demand_ids, site_ids : pandas.Index
        Labels of demand points and sites, in positional order.
    demand, site : numpy.ndarray of int
        Positional index of the demand point and the site of each pair.
    cost : numpy.ndarray of float
        Cost of each pair (distance in metres, time in seconds, …).
    """

    demand_ids: pd.Index
    site_ids: pd.Index
    demand: np.ndarray
    site: np.ndarray
    cost: np.ndarray

    @property
    def n_demand(self) -> int:
        return len(self.demand_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def n_pairs(self) -> int:
        return len(self.cost)

    @classmethod
    def from_input(
        cls,
        cost: Any,
        *,
        demand_ids: Any | None = None,
        site_ids: Any | None = None,
        max_cost: float | None = None,
    ) -> SparseCost:
        """Build from a dense 2-D array/DataFrame or a long table.

        Parameters
        ----------
        cost : array-like or pandas.DataFrame
            Either a dense matrix (rows demand, columns sites; a DataFrame's
            index and columns become the labels) or a long table with columns
            ``demand_id, site_id, cost``. Non-finite costs mean "unreachable"
            and are dropped.
        demand_ids, site_ids : sequence, optional
            Full label lists for a long table, so that demand points or sites
            with no pair are still known to the model. Default: the labels
            that occur in the table, sorted.
        max_cost : float, optional
            Drop pairs whose cost exceeds this value (a radius or cut-off).
        """
        if isinstance(cost, SparseCost):
            out = cost
        elif isinstance(cost, pd.DataFrame) and {"demand_id", "site_id", "cost"} <= set(cost.columns):
            out = cls._from_long(cost, demand_ids, site_ids)
        else:
            out = cls._from_dense(cost, demand_ids, site_ids)
        return out.within(max_cost) if max_cost is not None else out

    @classmethod
    def _from_dense(cls, cost: Any, demand_ids: Any, site_ids: Any) -> SparseCost:
        if isinstance(cost, pd.DataFrame):
            demand_ids = cost.index if demand_ids is None else demand_ids
            site_ids = cost.columns if site_ids is None else site_ids
        matrix = np.asarray(cost, dtype=float)
        if matrix.ndim != 2:
            msg = f"cost must be a 2-D demand × site matrix or a long table; got {matrix.ndim} dimensions"
            raise ValueError(msg)
        rows, cols = np.nonzero(np.isfinite(matrix))
        return cls(
            demand_ids=pd.Index(range(matrix.shape[0]) if demand_ids is None else demand_ids),
            site_ids=pd.Index(range(matrix.shape[1]) if site_ids is None else site_ids),
            demand=rows.astype(np.int64),
            site=cols.astype(np.int64),
            cost=matrix[rows, cols],
        )

    @classmethod
    def _from_long(cls, table: pd.DataFrame, demand_ids: Any, site_ids: Any) -> SparseCost:
        table = table[np.isfinite(table["cost"].to_numpy(dtype=float))]
        d_index = pd.Index(sorted(table["demand_id"].unique()) if demand_ids is None else demand_ids)
        s_index = pd.Index(sorted(table["site_id"].unique()) if site_ids is None else site_ids)
        demand = d_index.get_indexer(table["demand_id"])
        site = s_index.get_indexer(table["site_id"])
        if (demand < 0).any() or (site < 0).any():
            msg = "cost table names demand_id or site_id values missing from demand_ids/site_ids"
            raise ValueError(msg)
        if not d_index.is_unique or not s_index.is_unique:
            msg = "demand_ids and site_ids must be unique"
            raise ValueError(msg)
        return cls(d_index, s_index, demand.astype(np.int64), site.astype(np.int64),
                   table["cost"].to_numpy(dtype=float))

    def within(self, max_cost: float) -> SparseCost:
        """Keep only the pairs with ``cost <= max_cost``."""
        keep = self.cost <= max_cost
        if keep.all():
            return self  # (frozen: sharing is safe, and a copy of 10⁷ pairs is most of a GB)
        return SparseCost(self.demand_ids, self.site_ids, self.demand[keep], self.site[keep], self.cost[keep])

    def to_frame(self) -> pd.DataFrame:
        """The long table ``demand_id, site_id, cost``."""
        return pd.DataFrame({
            "demand_id": self.demand_ids[self.demand],
            "site_id": self.site_ids[self.site],
            "cost": self.cost,
        })


@dataclass(frozen=True)
class SolveResult:
    """The outcome of solving a location model.

    Attributes
    ----------
    model : str
        Model name (``"PMedian"``, ``"MCLP"`` …).
    status : str
        ``"optimal"`` (proven), ``"feasible"`` (a solution, gap > tolerance),
        ``"infeasible"``, ``"unbounded"`` or ``"not_solved"``.
    objective, bound, gap : float or None
        Objective of the solution, best proven bound, relative gap
        ``|objective - bound| / max(|objective|, 1e-9)``.
    selected : list
        Labels of the chosen sites (new and existing).
    assignment : pandas.DataFrame
        Tidy table ``demand_id, site_id, cost, amount``: how much of each
        demand point's weight each site serves.
    sites : pandas.DataFrame
        One row per site: ``site_id, selected, existing, units, load``
        (``units`` is the number of chargers/stations for integer-count models,
        1 or 0 otherwise).
    solver : str
    build_time_s, solve_time_s : float
    n_variables, n_constraints : int
    """

    model: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    selected: list
    assignment: pd.DataFrame
    sites: pd.DataFrame
    solver: str
    build_time_s: float
    solve_time_s: float
    n_variables: int
    n_constraints: int
    extra: dict = field(default_factory=dict)

    @property
    def is_solution(self) -> bool:
        return self.status in ("optimal", "feasible")

    def summary(self) -> dict:
        """The scalar fields, JSON-ready."""
        return {
            "model": self.model,
            "solver": self.solver,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "build_time_s": round(self.build_time_s, 3),
            "solve_time_s": round(self.solve_time_s, 3),
            "n_variables": self.n_variables,
            "n_constraints": self.n_constraints,
            "n_selected": len(self.selected),
            **self.extra,
        }


@dataclass(frozen=True)
class SolverOutcome:
    """What a solver run says, independent of the model."""

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_time_s: float


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / max(|objective|, 1e-9)``, or None if either is unknown."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


def check_solver(name: str) -> str:
    """Normalise a solver name and check that it is installed.

    Raises
    ------
    SolverError
        If the name is unknown or the solver is not available.
    """
    key = str(name).lower()
    if key not in SOLVERS:
        msg = f"unknown solver {name!r}; use one of {', '.join(SOLVERS)}"
        raise SolverError(msg)
    solver = pulp.HiGHS(msg=False) if key == "highs" else pulp.PULP_CBC_CMD(msg=False)
    if not solver.available():
        other = [s for s in SOLVERS if s != key]
        hint = "pip install highspy" if key == "highs" else "pip install pulp (it bundles CBC)"
        msg = f"solver {key!r} is not installed ({hint}); or set [solver] name to {other[0]!r}"
        raise SolverError(msg)
    return key


def solve_problem(
    problem: pulp.LpProblem,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    has_integers: bool = True,
    warm_start: bool = False,
    highs_options: dict[str, Any] | None = None,
) -> SolverOutcome:
    """Solve a PuLP problem and report an honest status, bound and gap.

    ``"optimal"`` is reported only when the solver finished with a gap no larger
    than :data:`OPTIMALITY_TOLERANCE`; a solution stopped by the time limit or by
    a looser ``mip_gap`` is ``"feasible"`` with its gap.

    With ``warm_start=True`` the variables' current values (set with
    ``LpVariable.setInitialValue``) are handed to the solver as a starting
    solution. HiGHS receives the model in bulk (one ``addRows`` call) rather
    than row by row, which matters for models with 10⁵ rows and more;
    ``highs_options`` are passed to it verbatim (``Highs.setOptionValue``).
    """
    key = check_solver(solver)
    start = time.perf_counter()
    if key == "highs":
        outcome = _solve_highs(problem, time_limit_s, mip_gap, has_integers, warm_start, highs_options)
    else:
        outcome = _solve_cbc(problem, time_limit_s, mip_gap, has_integers, warm_start)
    return SolverOutcome(*outcome, solve_time_s=time.perf_counter() - start)


def _bulk_highs_class() -> type:
    """A ``pulp.HiGHS`` that passes the model in bulk, with its constant, and can warm start."""
    import highspy

    class BulkHiGHS(pulp.HiGHS):
        def __init__(self, *, warm_start: bool = False, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.warm_start = warm_start

        def buildSolverModel(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
            highs = lp.solverModel
            inf = highspy.kHighsInf
            sense = -1.0 if lp.sense == pulp.LpMaximize else 1.0
            variables = lp.variables()
            n_cols = len(variables)
            for i, var in enumerate(variables):
                var.index = i
            objective = lp.objective if lp.objective is not None else {}
            col_cost = np.fromiter((sense * objective.get(v, 0.0) for v in variables), float, n_cols)
            col_lower = np.fromiter((-inf if v.lowBound is None else v.lowBound for v in variables), float, n_cols)
            col_upper = np.fromiter((inf if v.upBound is None else v.upBound for v in variables), float, n_cols)
            highs.addVars(n_cols, col_lower, col_upper)
            highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), col_cost)
            constant = getattr(lp.objective, "constant", 0.0) or 0.0
            if constant:
                highs.changeObjectiveOffset(sense * float(constant))
            if self.mip:
                integer = np.array([v.index for v in variables if v.cat == pulp.LpInteger], dtype=np.int32)
                if len(integer):
                    kinds = np.full(len(integer), highspy.HighsVarType.kInteger.value, dtype=np.uint8)
                    highs.changeColsIntegrality(len(integer), integer, kinds)
            constraints = list(lp._constraints.values())
            n_rows = len(constraints)
            starts = np.zeros(n_rows, dtype=np.int32)
            row_lower = np.empty(n_rows)
            row_upper = np.empty(n_rows)
            index: list[int] = []
            value: list[float] = []
            for r, constraint in enumerate(constraints):
                starts[r] = len(index)
                for var, coefficient in constraint.items():
                    if coefficient != 0:
                        index.append(var.index)
                        value.append(coefficient)
                constraint.index = r
                lb, ub = constraint.getLb(), constraint.getUb()
                row_lower[r] = -inf if lb is None else lb
                row_upper[r] = inf if ub is None else ub
            if n_rows:
                highs.addRows(n_rows, row_lower, row_upper, len(index), starts,
                              np.array(index, dtype=np.int32), np.array(value, dtype=float))

        def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
            if self.warm_start:
                start = np.array([v.varValue or 0.0 for v in lp.variables()], dtype=float)
                _offer_start(lp.solverModel, start)
            lp.solverModel.run()

    return BulkHiGHS


def _offer_start(highs: Any, start: np.ndarray) -> None:
    """Hand ``start`` (one value per column) to HiGHS's branch-and-bound as a user solution.

    HiGHS checks it and keeps it as the incumbent if it is feasible. Given
    before the run (``Highs.setSolution``) with presolve on, HiGHS 1.16 was
    seen to return a wrong "optimal"; offered through the MIP callback it
    enters after presolve, in the original space, the way HiGHS's own
    heuristics' solutions do.
    """
    import highspy

    offered = False

    def offer(callback_type, _message, _data_out, data_in, _user_data) -> None:
        nonlocal offered
        if callback_type == highspy.cb.HighsCallbackType.kCallbackMipUserSolution and not offered:
            data_in.setSolution(start)
            offered = True

    highs.setCallback(offer, None)
    highs.startCallback(highspy.cb.HighsCallbackType.kCallbackMipUserSolution)


def _solve_highs(problem, time_limit_s, mip_gap, has_integers, warm_start=False, highs_options=None):
    options = {"timeLimit": time_limit_s, "gapRel": mip_gap, "msg": False}
    solver_class = _bulk_highs_class()
    with _quiet_stdout():  # HiGHS prints its banner before PuLP can switch output off
        problem.solve(solver_class(warm_start=warm_start, **(highs_options or {}),
                                   **{k: v for k, v in options.items() if v is not None}))
    highs = problem.solverModel
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    sense = -1.0 if problem.sense == pulp.LpMaximize else 1.0
    has_solution = problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if not has_solution:
        return _no_solution_status(problem.status), None, None, None
    objective = pulp.value(problem.objective)
    objective = 0.0 if objective is None else float(objective)
    reported = sense * float(info.objective_function_value)
    if not math.isclose(reported, objective, rel_tol=1e-6, abs_tol=1e-6):
        # the values handed back do not match the objective HiGHS reports: trust neither status nor bound
        return "feasible", objective, None, None
    if has_integers and info.mip_node_count >= 0:
        bound = sense * float(info.mip_dual_bound)
    else:
        bound = objective if model_status == highs.getModelStatus().kOptimal else None
    return _status_from_gap(objective, bound), objective, bound, relative_gap(objective, bound)


def _solve_cbc(problem, time_limit_s, mip_gap, has_integers, warm_start=False):
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "cbc.log"
        options = {"timeLimit": time_limit_s, "gapRel": mip_gap}
        problem.solve(pulp.PULP_CBC_CMD(msg=False, logPath=str(log_path), warmStart=warm_start,
                                        **{k: v for k, v in options.items() if v is not None}))
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
    if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return _no_solution_status(problem.status), None, None, None
    objective = pulp.value(problem.objective)
    objective = 0.0 if objective is None else float(objective)
    gap = _cbc_gap(log)
    if gap is None:
        gap = 0.0 if (problem.sol_status == pulp.LpSolutionOptimal and "Optimal solution found" in log
                      and "gap tolerance" not in log) else None
    bound = None
    if gap is not None:
        direction = 1.0 if problem.sense == pulp.LpMaximize else -1.0
        bound = objective + direction * gap * max(abs(objective), 1e-9)
    status = "optimal" if gap is not None and gap <= OPTIMALITY_TOLERANCE else "feasible"
    return status, objective, bound, gap


@contextlib.contextmanager
def _quiet_stdout():
    """Silence writes to file descriptor 1 (C libraries print there directly).

    Solves may run in threads side by side (the plan's tiers): the first to
    enter redirects the descriptor, the last to leave restores it.
    """
    with _QUIET_LOCK:
        if _QUIET_STATE["depth"] == 0:
            sys.stdout.flush()
            _QUIET_STATE["saved"] = os.dup(1)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
        _QUIET_STATE["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET_STATE["depth"] -= 1
            if _QUIET_STATE["depth"] == 0:
                sys.stdout.flush()
                os.dup2(_QUIET_STATE["saved"], 1)
                os.close(_QUIET_STATE["saved"])


_QUIET_LOCK = threading.Lock()
_QUIET_STATE = {"depth": 0, "saved": -1}


def _cbc_gap(log: str) -> float | None:
    match = re.search(r"^Gap:\s+([-0-9.eE+]+)", log, flags=re.MULTILINE)
    return abs(float(match.group(1))) if match else None


def _status_from_gap(objective: float, bound: float | None) -> str:
    gap = relative_gap(objective, bound)
    if gap is not None and gap <= OPTIMALITY_TOLERANCE:
        return "optimal"
    # absolute tolerance for objectives at or near zero
    if bound is not None and abs(objective - bound) <= 1e-6:
        return "optimal"
    return "feasible"


def _no_solution_status(pulp_status: int) -> str:
    return {
        pulp.LpStatusInfeasible: "infeasible",
        pulp.LpStatusUnbounded: "unbounded",
    }.get(pulp_status, "not_solved")
