"""Lagrangian lower bound, reductions and tree search for the p-median (Beasley 1993).

Relaxing "each demand point is served once" with multipliers ``λ`` gives

    L(λ) = Σ_i λ_i + min_{|S| = p} Σ_{j∈S} v_j,   v_j = Σ_i min(0, w_i c_ij − λ_i),

a lower bound for every ``λ``; subgradient steps push it towards the LP bound.
With ``M_ij = w_i c_ij − λ_i`` and an upper bound ``UB``, every solution in
which demand point ``i`` is served by site ``j`` costs at least

    L(λ) + max(0, M_ij) + (v_j − v_last  if j is outside the Lagrangian choice),

so pairs (and sites) whose bound exceeds ``UB`` cannot appear in a solution
better than ``UB`` and are left out of the exact model. Likewise closing a
chosen site costs at least ``v_first_out − v_j``.

For few medians the LP gap of the p-median is wide (about 1 % on OR-Library's
pmed36–pmed39) and a MIP solver spends minutes on LPs of 10⁴ rows. There
:func:`tree_search` is faster: a depth-first branch-and-bound on "site open /
site closed" whose node bound is the same relaxation with the node's sites
forced in or out, re-optimised from the parent's multipliers in a few dozen
vectorised steps, with the penalty tests above fixing more sites at each node
(Beasley 1993, section 3).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siting.models._heuristics import interchange_pmedian
from siting.models._sorted import DenseCosts, SortedCosts


@dataclass(frozen=True)
class Reduction:
    """What the Lagrangian bound proves about solutions better than the upper bound."""

    lower_bound: float
    allowed: np.ndarray  # demand × site: may serve each other in an improving solution
    closed: np.ndarray  # sites closed in every improving solution
    opened: np.ndarray  # sites open in every improving solution
    iterations: int
    chosen: np.ndarray  # the relaxation's sites at the best multipliers (a good start for a heuristic)
    multipliers: np.ndarray
    sorted_costs: SortedCosts | None = None  # the weighted costs sorted per demand point, for reuse


@dataclass(frozen=True)
class TreeSearch:
    """Outcome of :func:`tree_search`."""

    sites: np.ndarray  # best solution found (site positions)
    objective: float
    lower_bound: float  # proven: no solution costs less (the threshold when the search is complete)
    complete: bool
    nodes: int


def _choose(v: np.ndarray, is_fixed: np.ndarray, n_free: int) -> tuple[np.ndarray, float, float]:
    """The fixed sites and the ``n_free`` others with the smallest ``v``.

    Returns the chosen mask, the largest ``v`` among the free chosen sites and
    the smallest ``v`` among the free sites left out (``inf`` when none). Closed
    sites carry ``v = inf``.
    """
    chosen = is_fixed.copy()
    if n_free <= 0:
        return chosen, -np.inf, float(v[~is_fixed].min(initial=np.inf))
    free = np.flatnonzero(~is_fixed)
    free_v = v[free]
    if n_free < len(free):
        part = np.argpartition(free_v, n_free)
        picked = part[:n_free]
        first_out = float(free_v[part[n_free]])
    else:
        picked, first_out = np.arange(len(free)), np.inf
    chosen[free[picked]] = True
    return chosen, float(free_v[picked].max()), first_out


def _evaluate(costs: SortedCosts | DenseCosts, lam: np.ndarray, is_fixed: np.ndarray, is_closed: np.ndarray,
              n_free: int):
    """``L(λ)`` with its ``v``, chosen mask, the penalty reference values and the pairs below ``λ``."""
    v, pairs = costs.reduced_sums(lam)
    v[is_closed] = np.inf
    chosen, last_in, first_out = _choose(v, is_fixed, n_free)
    bound = float(lam.sum() + v[chosen].sum())
    return bound, v, chosen, last_in, first_out, pairs


def _ascent(
    costs: SortedCosts | DenseCosts,
    active: np.ndarray,
    lam: np.ndarray,
    is_fixed: np.ndarray,
    is_closed: np.ndarray,
    n_free: int,
    target: float,
    *,
    threshold: float,
    max_iterations: int,
    patience: int,
    factor: float,
    stop_gap: float = 0.0,
    dense: np.ndarray | None = None,
) -> tuple[float, np.ndarray, int]:
    """Maximise ``L(λ)`` by subgradient steps; returns (best bound, its λ, iterations).

    ``is_fixed`` sites are always chosen, ``is_closed`` never; ``active`` marks
    demand points with positive weight (the others keep their multiplier).
    Stops once the bound exceeds ``threshold``, or when the step has shrunk to
    nothing.
    """
    best_lam, best_bound = lam, -np.inf
    stall, iterations = 0, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (returned)
        bound, _, chosen, _, _, pairs = _evaluate(costs, lam, is_fixed, is_closed, n_free)
        if iterations == 1 or bound > best_bound + 1e-9 * max(1.0, abs(best_bound)):
            best_bound, best_lam, stall = bound, lam, 0
        else:
            stall += 1
            if stall >= patience:
                factor, stall = factor / 2.0, 0
        if best_bound > threshold or factor < 1e-4 or best_bound >= target - stop_gap * abs(target):
            break
        if dense is not None and np.count_nonzero(chosen) * len(lam) < pairs.n_pairs:
            # few medians: reading their columns is cheaper than sweeping the pairs below λ
            served = np.count_nonzero(dense[:, chosen] < lam[:, None], axis=1)
        else:
            served = costs.served(pairs, chosen)
        gradient = np.where(active, 1.0 - served, 0.0)
        norm = float(gradient @ gradient)
        if norm == 0:
            break  # the relaxed solution is feasible, hence optimal
        step = factor * max(target - bound, 1e-9 * max(1.0, abs(target))) / norm
        lam = np.maximum(lam + step * gradient, 0.0)
    return best_bound, best_lam, iterations


def lagrangian_reduction(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed: np.ndarray,
    upper_bound: float,
    start: np.ndarray,
    *,
    threshold: float,
    max_iterations: int = 3000,
    patience: int = 30,
    sorted_costs: SortedCosts | None = None,
    stop_gap: float = 0.0,
) -> Reduction:
    """Subgradient optimisation of ``L(λ)``, then the pairs and sites it rules out.

    Parameters
    ----------
    cost : numpy.ndarray
        Dense ``demand × site`` costs (finite).
    weights : numpy.ndarray
        Demand weights.
    p : int
        Number of open sites, fixed ones included.
    fixed : numpy.ndarray of int
        Sites open in every solution.
    upper_bound : float
        Cost of a known solution.
    start : numpy.ndarray
        Starting multipliers (e.g. each point's weighted cost in that solution).
    threshold : float
        A pair or site is ruled out when its bound exceeds this value (the
        upper bound, or just under it when costs are integral).
    max_iterations : int
        Subgradient steps at most.
    patience : int
        Steps without improvement before the step size halves.
    sorted_costs : SortedCosts, optional
        ``SortedCosts(weights[:, None] * cost)``, if already built.
    """
    weighted = weights[:, None] * cost
    costs = SortedCosts(weighted) if sorted_costs is None else sorted_costs
    n_free = p - len(fixed)
    is_fixed = np.zeros(cost.shape[1], dtype=bool)
    is_fixed[fixed] = True
    no_closed = np.zeros(cost.shape[1], dtype=bool)
    _, best_lam, iterations = _ascent(
        costs, weights > 0, start.astype(float), is_fixed, no_closed, n_free, upper_bound, threshold=threshold,
        max_iterations=max_iterations, patience=patience, factor=2.0, stop_gap=stop_gap,
        dense=weighted if isinstance(costs, SortedCosts) else None)
    bound, v, chosen, last_in, first_out, _ = _evaluate(costs, best_lam, is_fixed, no_closed, n_free)
    reduced = weighted - best_lam[:, None]
    # cost of forcing an unchosen site open: it replaces the last free chosen one
    open_penalty = np.where(chosen, 0.0, v - last_in)
    closed = ~chosen & (bound + open_penalty > threshold)
    close_penalty = np.where(chosen & ~is_fixed, first_out - v, 0.0)
    opened = chosen & ~is_fixed & (bound + close_penalty > threshold)
    allowed = (bound + open_penalty[None, :] + np.maximum(reduced, 0.0)) <= threshold
    allowed[:, closed] = False
    return Reduction(lower_bound=bound, allowed=allowed, closed=closed, opened=opened, iterations=iterations,
                     chosen=np.flatnonzero(chosen), multipliers=best_lam, sorted_costs=costs)


def tree_search(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed: np.ndarray,
    closed: np.ndarray,
    sites: np.ndarray,
    multipliers: np.ndarray,
    *,
    threshold: Callable[[float], float],
    deadline: float | None = None,
    node_iterations: int = 30,
    sorted_costs: SortedCosts | None = None,
    stop: threading.Event | None = None,
) -> TreeSearch:
    """Depth-first branch-and-bound with Lagrangian bounds: prove ``sites`` optimal or find better.

    Each node forces some sites open and some closed; its bound is ``L(λ)``
    over the sites not closed, with the open ones always chosen, improved by
    up to ``node_iterations`` subgradient steps from the parent's ``λ``. A node
    is pruned when its bound exceeds ``threshold(best objective)``; otherwise
    the penalty tests fix more sites, the relaxation's choice is tried as a
    solution, and the search branches on the chosen free site that is most
    expensive to close (closed child, open child).

    Parameters
    ----------
    cost, weights, p
        As for :func:`lagrangian_reduction` (costs finite).
    fixed : numpy.ndarray of int
        Sites open in every solution worth finding (existing sites, sites the
        root reduction opened).
    closed : numpy.ndarray of bool
        Sites in no solution worth finding (the root reduction's).
    sites : numpy.ndarray of int
        The incumbent solution.
    multipliers : numpy.ndarray
        Starting ``λ`` (the root's best).
    threshold : callable
        ``threshold(objective)``: a bound above it cannot lead to a solution
        worth having (just under ``objective`` — by one unit less a hair for
        integral data).
    deadline : float, optional
        ``time.perf_counter()`` value at which to stop; the result is then
        incomplete and its bound is the smallest bound of the open nodes.
    sorted_costs : SortedCosts, optional
        ``SortedCosts(weights[:, None] * cost)``, if already built.
    stop : threading.Event, optional
        Set from another thread to end the search as at the deadline.

    Returns
    -------
    TreeSearch
        When ``complete``, no solution costs less than ``lower_bound``.
    """
    columns = np.flatnonzero(~closed)
    weighted = weights[:, None] * cost[:, columns]
    by_site = np.ascontiguousarray(weighted.T)
    active = weights > 0
    n_columns = len(columns)
    best_sites = np.asarray(sites, dtype=np.int64)
    best = float(weights @ cost[:, best_sites].min(axis=1))
    root_fixed = np.zeros(n_columns, dtype=bool)
    root_fixed[np.searchsorted(columns, fixed)] = True
    # (sites forced open, sites forced closed, λ, bound of the parent) in local column positions
    stack = [(root_fixed, np.zeros(n_columns, dtype=bool), multipliers.astype(float), -np.inf)]
    nodes = 0
    while stack:
        if (deadline is not None and time.perf_counter() > deadline) or (stop is not None and stop.is_set()):
            break
        is_open, is_closed, lam, parent_bound = stack.pop()
        limit = threshold(best)
        if parent_bound > limit:
            continue
        nodes += 1
        n_free = p - int(is_open.sum())
        keep = np.flatnonzero(~is_closed)
        if len(keep) < p:
            continue
        if n_free == 0 or len(keep) == p:
            candidate = keep if n_free else np.flatnonzero(is_open)
            value = float(weighted[:, candidate].min(axis=1).sum())
            if value < best and value <= limit:
                best, best_sites = _improve(cost, weights, columns[candidate], fixed, sorted_costs)
            continue
        # the columns left are few (the root reduction closed most): a dense pass beats the sorted pairs here
        sub = DenseCosts(by_site[keep].T)
        sub_open = is_open[keep]
        none_closed = np.zeros(len(keep), dtype=bool)
        _, lam, _ = _ascent(sub, active, lam, sub_open, none_closed, n_free, best, threshold=limit,
                            max_iterations=node_iterations, patience=10, factor=1.0)
        bound, v, chosen, last_in, first_out, _ = _evaluate(sub, lam, sub_open, none_closed, n_free)
        if bound > limit:
            continue
        value = float(sub.by_site[chosen].min(axis=0).sum())
        if value < best and value <= limit:
            best, best_sites = _improve(cost, weights, columns[keep[chosen]], fixed, sorted_costs)
            limit = threshold(best)
            if bound > limit:
                continue
        is_closed = is_closed.copy()
        is_closed[keep[~chosen & (bound + v - last_in > limit)]] = True
        close_penalty = np.where(chosen & ~sub_open, first_out - v, -np.inf)
        is_open = is_open.copy()
        is_open[keep[close_penalty + bound > limit]] = True
        branchable = np.flatnonzero(np.isfinite(close_penalty) & (close_penalty + bound <= limit))
        if len(branchable) == 0:
            stack.append((is_open, is_closed, lam, bound))
            continue
        site = keep[branchable[np.argmax(close_penalty[branchable])]]
        closed_child = is_closed.copy()
        closed_child[site] = True
        open_child = is_open.copy()
        open_child[site] = True
        stack.append((is_open, closed_child, lam, bound))
        stack.append((open_child, is_closed, lam, bound))
    complete = not stack
    lower = threshold(best)
    if not complete:
        lower = min([lower] + [entry[3] for entry in stack])
    return TreeSearch(sites=best_sites, objective=best, lower_bound=min(lower, best), complete=complete, nodes=nodes)


def _improve(cost: np.ndarray, weights: np.ndarray, sites: np.ndarray, fixed: np.ndarray,
             sorted_costs: SortedCosts | None = None) -> tuple[float, np.ndarray]:
    """A new incumbent, polished by the interchange heuristic."""
    sites = interchange_pmedian(cost, weights, np.asarray(sites, dtype=np.int64), fixed, sorted_costs=sorted_costs)
    return float(weights @ cost[:, sites].min(axis=1)), sites
