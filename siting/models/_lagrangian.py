"""Lagrangian lower bound and reductions for the p-median (Beasley 1993).

Relaxing "each demand point is served once" with multipliers ``λ`` gives

    L(λ) = Σ_i λ_i + min_{|S| = p} Σ_{j∈S} v_j,   v_j = Σ_i min(0, w_i c_ij − λ_i),

a lower bound for every ``λ``; subgradient steps push it towards the LP bound.
With ``M_ij = w_i c_ij − λ_i`` and an upper bound ``UB``, every solution in
which demand point ``i`` is served by site ``j`` costs at least

    L(λ) + max(0, M_ij) + (v_j − v_last  if j is outside the Lagrangian choice),

so pairs (and sites) whose bound exceeds ``UB`` cannot appear in a solution
better than ``UB`` and are left out of the exact model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def _choose(v: np.ndarray, fixed: np.ndarray, n_free: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed sites and the ``n_free`` others with the smallest ``v``; returns (chosen mask, order of free sites)."""
    free_v = v.copy()
    free_v[fixed] = np.inf
    order = np.argsort(free_v, kind="stable")
    chosen = np.zeros(len(v), dtype=bool)
    chosen[fixed] = True
    chosen[order[:n_free]] = True
    return chosen, order


def _subgradient(
    weighted: np.ndarray,
    n_free: int,
    fixed: np.ndarray,
    upper_bound: float,
    lam: np.ndarray,
    *,
    threshold: float,
    max_iterations: int,
    patience: int,
    factor: float,
    banned: np.ndarray | None = None,
) -> tuple[float, np.ndarray, int]:
    """Maximise ``L(λ)`` by subgradient steps; returns (best bound, its λ, iterations).

    ``fixed`` sites are always chosen, ``banned`` ones never; it stops early
    once the bound exceeds ``threshold``.
    """
    positive_weight = weighted.any(axis=1)
    best_lam, best_bound = lam.copy(), -np.inf
    stall, iterations = 0, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (returned)
        reduced = weighted - lam[:, None]
        v = np.minimum(reduced, 0.0).sum(axis=0)
        if banned is not None:
            v[banned] = np.inf
        chosen, _ = _choose(v, fixed, n_free)
        bound = float(lam.sum() + v[chosen].sum())
        if iterations == 1 or bound > best_bound + 1e-9 * max(1.0, abs(best_bound)):
            best_bound, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= patience:
                factor, stall = factor / 2.0, 0
        if best_bound > threshold or factor < 1e-4:
            break
        served = (reduced[:, chosen] < 0).sum(axis=1)
        gradient = np.where(positive_weight, 1.0 - served, 0.0)
        norm = float(gradient @ gradient)
        if norm == 0:
            break  # the relaxed solution is feasible, hence optimal
        step = factor * max(upper_bound - bound, 1e-9 * max(1.0, abs(upper_bound))) / norm
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
    probe_iterations: int = 150,
) -> Reduction:
    """Subgradient optimisation of ``L(λ)``, then the pairs and sites it rules out.

    After the main phase every site still undecided is probed: the bound is
    re-optimised (a few steps from the best ``λ``) with the site forced open,
    or forced closed if the relaxation opens it; a bound above ``threshold``
    closes (opens) the site for good.

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
        Subgradient steps at most in the main phase.
    patience : int
        Steps without improvement before the step size halves.
    probe_iterations : int
        Subgradient steps at most per probed site (0: no probing).
    """
    weighted = weights[:, None] * cost
    n_free = p - len(fixed)
    best_bound, best_lam, iterations = _subgradient(
        weighted, n_free, fixed, upper_bound, start.astype(float), threshold=threshold,
        max_iterations=max_iterations, patience=patience, factor=2.0)
    reduced = weighted - best_lam[:, None]
    v = np.minimum(reduced, 0.0).sum(axis=0)
    chosen, order = _choose(v, fixed, n_free)
    bound = float(best_lam.sum() + v[chosen].sum())
    is_fixed = np.zeros(len(v), dtype=bool)
    is_fixed[fixed] = True
    # cost of forcing an unchosen site open: it replaces the last free chosen one
    last_in = v[order[n_free - 1]] if n_free > 0 else np.inf
    first_out = v[order[n_free]] if n_free < len(v) - len(fixed) else np.inf
    open_penalty = np.where(chosen, 0.0, v - last_in)
    closed = ~chosen & (bound + open_penalty > threshold)
    close_penalty = np.where(chosen & ~is_fixed, first_out - v, 0.0)
    opened = chosen & ~is_fixed & (bound + close_penalty > threshold)
    if probe_iterations > 0 and bound <= threshold:
        closed, opened = _probe(weighted, best_lam, fixed, n_free, upper_bound, threshold, chosen,
                                closed, opened, probe_iterations, patience)
    allowed = (bound + open_penalty[None, :] + np.maximum(reduced, 0.0)) <= threshold
    allowed[:, closed] = False
    return Reduction(lower_bound=bound, allowed=allowed, closed=closed, opened=opened, iterations=iterations,
                     chosen=np.flatnonzero(chosen), multipliers=best_lam)


def _probe(weighted, lam, fixed, n_free, upper_bound, threshold, chosen, closed, opened,
           max_iterations, patience):
    """Force each undecided site open (or closed) and see whether the bound passes the threshold."""
    closed, opened = closed.copy(), opened.copy()
    columns = np.flatnonzero(~closed)
    local = {int(site): k for k, site in enumerate(columns)}
    sub = weighted[:, columns]
    fixed_local = np.array([local[int(j)] for j in fixed], dtype=np.int64)
    # the least promising sites first: closing them shrinks the others' probes
    candidates = [int(j) for j in columns if not chosen[j] and not opened[j]]
    for site in candidates:
        forced = np.append(fixed_local, local[site])
        bound, _, _ = _subgradient(sub, n_free - 1, forced, upper_bound, lam, threshold=threshold,
                                   max_iterations=max_iterations, patience=max(5, patience // 3), factor=0.5)
        if bound > threshold:
            closed[site] = True
    columns_now = ~closed[columns]
    for site in [int(j) for j in columns if chosen[j] and not opened[j] and j not in set(fixed.tolist())]:
        banned = ~columns_now.copy()
        banned[local[site]] = True
        bound, _, _ = _subgradient(sub, n_free, fixed_local, upper_bound, lam, threshold=threshold,
                                   max_iterations=max_iterations, patience=max(5, patience // 3), factor=0.5,
                                   banned=banned)
        if bound > threshold:
            opened[site] = True
    return closed, opened
