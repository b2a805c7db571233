"""A Lagrangian bound for maximal covering that splits the problem by the sites that pay for themselves.

Relax the cardinality row ``Σ y ≤ p`` of the (reduced) MCLP with a multiplier
``λ ≥ 0``: each site then costs ``λ``, and

    L(λ) = λ·p + max_S ( covered weight of S − λ·|S| )

bounds the MCLP from above for every ``λ``. A site whose customers weigh no
more than ``λ`` in all can never pay for itself, so some optimum of the
relaxed problem leaves it closed; the sites that can pay fall apart into
connected components (sites sharing a customer), and the relaxed problem is
solved component by component, exactly, as small MIPs. Unlike the linear
relaxation, this bound is the value of the *integer* problems, so it closes
most of the LP gap on city-scale instances where a few hundred sites out of
thousands are chosen on a grid of demand cells (reduced Qingdao public tier,
p = 300: LP 70,257, HiGHS's root 70,201, ``L(λ)`` at the LP's multiplier
70,068 for an optimum of 70,062).

The relaxed problem's optimum ``S(λ)`` is also a plan: with ``|S(λ)| = p``
it is optimal for the MCLP (its coverage equals ``L(λ)``), otherwise it is
topped up (greedy) or thinned (greedy among its sites) to ``p`` sites and
polished by swaps. The multiplier moves in one dimension, starting from the
LP's dual value. The next one is the best plan's own price — midway between
the most that opening one more site gains and the least that closing one
loses — which near the optimum is where the relaxed problem opens ``p``
sites (Qingdao, p = 300: 88.1 gives 293 sites, bound 70,068; the plan's
price 86.24 gives 300 sites with coverage equal to the bound, so that plan
is optimal). When that price lies outside the bracket known so far, the
multiplier moves by growing steps until ``|S(λ)|`` brackets ``p``, then to
where the two supporting lines of the convex function ``L`` cross. The
best plan so far is offered to each component's MIP as its first incumbent.
The first point is a scout: its components get :data:`SCOUT_S` seconds, and
if they stop there its bound still counts and its plan's price still leads to
the next multiplier (it is not taken as a supporting line).

The search is only used where it splits the problem: when the largest
component holds at most :data:`LARGEST_COMPONENT_SHARE` of the paying sites
and at most :data:`LARGEST_COMPONENT_SITES` sites (otherwise, e.g. when the
100-site instances of Cordeau, Furini & Ljubić form one component, the
problem goes straight to HiGHS).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import bmat, csc_array, csr_array, hstack, identity
from scipy.sparse.csgraph import connected_components

from siting.models._base import _offer_start, relative_gap
from siting.models._coverage_reduce import reduce_coverage
from siting.models._heuristics import (
    covered_weight,
    greedy_coverage,
    interchange_coverage,
    site_mask,
)

log = logging.getLogger(__name__)

LARGEST_COMPONENT_SHARE = 0.6
# A prize-collecting MIP of 511 sites takes HiGHS 15–30 s on the Qingdao grid; one of 1,279 (p = 500) does not
# finish in 50 s, and the solver does better with the time.
LARGEST_COMPONENT_SITES = 1000
FIRST_STEP = 0.01  # relative change of the multiplier before |S(λ)| brackets p; doubles each time
MAX_POINTS = 8
#: Seconds the first point's components may take: on the Qingdao tier at p = 300 the largest needs 19 s to prove
#: its optimum at the linear relaxation's multiplier, but 4 s give a plan whose price leads to the multiplier
#: that proves the MCLP's optimum (15–21 s in all instead of 32 s).
SCOUT_S = 4.0
EXACT_GAP = 1e-9  # relative gap taken as none: the plan is the optimum
WORKERS = min(2, os.cpu_count() or 1)  # components solved at once


@dataclass(frozen=True)
class RelaxedPlan:
    """The relaxed problem at one multiplier.

    Attributes
    ----------
    multiplier : float
        ``λ``, the price of a site.
    bound : float
        ``L(λ)``, an upper bound on the covered weight of any ``p`` sites
        (from each component's proven dual bound, valid even when a component
        stopped at the deadline).
    sites : numpy.ndarray of int
        The best sites found for the relaxed problem (the optimum when ``proven``).
    proven : bool
        Every component solved to optimality.
    """

    multiplier: float
    bound: float
    sites: np.ndarray
    proven: bool


@dataclass(frozen=True)
class LagrangianOutcome:
    """Best plan of ``p`` sites found, its covered weight, and the best bound ``min L(λ)``."""

    sites: np.ndarray
    value: float
    bound: float
    points: int


def paying_components(covers: csr_array, weights: np.ndarray, multiplier: float) -> list[np.ndarray]:
    """Sites that can pay ``multiplier`` for themselves, grouped by the customers they share.

    Parameters
    ----------
    covers : scipy.sparse.csr_array
        ``customer × site``, non-zero where the site covers the customer.
    weights : numpy.ndarray
        Customer weights (non-negative).
    multiplier : float
        Price of a site.

    Returns
    -------
    list of numpy.ndarray
        Site positions of each component, largest first.
    """
    site_weight = covers.T.astype(float) @ weights
    paying = np.flatnonzero(site_weight > multiplier)
    if len(paying) == 0:
        return []
    sub = csr_array(covers[:, paying], dtype=float)
    graph = bmat([[None, sub], [sub.T, None]]).tocsr()
    _, label = connected_components(graph, directed=False)
    site_label = label[covers.shape[0]:]
    order = np.argsort(site_label, kind="stable")
    cuts = np.flatnonzero(np.diff(site_label[order])) + 1
    groups = [paying[part] for part in np.split(order, cuts)]
    return sorted(groups, key=len, reverse=True)


def splits(covers: csr_array, weights: np.ndarray, multiplier: float) -> bool:
    """Whether the paying sites fall into components small enough for :func:`lagrangian_search`."""
    groups = paying_components(covers, weights, multiplier)
    n_paying = sum(len(g) for g in groups)
    return len(groups) > 1 and len(groups[0]) <= min(LARGEST_COMPONENT_SHARE * n_paying, LARGEST_COMPONENT_SITES)


def relaxed_plan(covers: csr_array, weights: np.ndarray, p: int, multiplier: float,
                 deadline: float | None = None, start: np.ndarray | None = None) -> RelaxedPlan:
    """Solve ``max covered weight − multiplier·|S|`` exactly, one component of paying sites at a time.

    Parameters
    ----------
    covers : scipy.sparse.csr_array
        ``customer × site`` coverage.
    weights : numpy.ndarray
        Customer weights.
    p : int
        The MCLP's number of sites (enters the bound only).
    multiplier : float
        Price of a site, ``λ ≥ 0``.
    deadline : float, optional
        ``time.perf_counter()`` value after which components stop at their
        best bound (the bound stays valid, ``proven`` becomes False).
    start : numpy.ndarray of int, optional
        Sites of a known plan, offered to each component's MIP as its first
        incumbent (a plan optimal at a nearby multiplier halved the time of
        the largest component of the Qingdao tier: 13–16 s instead of 30–33 s).
    """
    is_start = site_mask(covers.shape[1], start)
    by_site = csc_array(covers, dtype=float)

    def solve_component(sites: np.ndarray) -> tuple[float, np.ndarray, bool]:
        customers = np.unique(by_site[:, sites].tocsc().indices)
        # without the other sites, more customers share a covering set and more sites are dominated
        block = reduce_coverage(by_site[customers][:, sites], weights[customers], 0, np.zeros(0, dtype=np.int64))
        upper, open_local, exact = _prize_collecting(block.covers, block.weights, multiplier, deadline,
                                                     np.flatnonzero(is_start[sites[block.sites]]))
        return upper, sites[block.sites[open_local]], exact

    # HiGHS releases the GIL while it solves: components run side by side, the largest first
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        solved = list(pool.map(solve_component, paying_components(covers, weights, multiplier)))
    bound = multiplier * p + sum(upper for upper, _, _ in solved)
    chosen = [np.zeros(0, dtype=np.int64)] + [sites for _, sites, _ in solved]
    return RelaxedPlan(multiplier=float(multiplier), bound=float(bound), sites=np.sort(np.concatenate(chosen)),
                       proven=all(exact for _, _, exact in solved))


def lagrangian_search(covers: csr_array, weights: np.ndarray, p: int, incumbent: np.ndarray, *,
                      multiplier: float, tolerance: float, deadline: float | None = None,
                      exact_until: float | None = None) -> LagrangianOutcome:
    """Move ``λ`` from ``multiplier`` until a plan of ``p`` sites is proven within ``tolerance`` of ``min L(λ)``.

    Parameters
    ----------
    covers : scipy.sparse.csr_array
        ``customer × site`` coverage of the reduced problem.
    weights : numpy.ndarray
        Customer weights.
    p : int
        Sites to open, at most.
    incumbent : numpy.ndarray of int
        The best plan known (kept if nothing better is found).
    multiplier : float
        First ``λ``: the linear relaxation's dual value of the cardinality row.
    tolerance : float
        Relative gap at which to stop.
    deadline : float, optional
        ``time.perf_counter()`` value at which to stop with what is known.
    exact_until : float, optional
        Until this ``time.perf_counter()`` value, a plan within ``tolerance``
        does not stop the search: it goes on for a zero gap (the exact
        optimum, not one within 10⁻⁴ of it) while that is cheap. None: stop
        at ``tolerance``.
    """
    best = np.asarray(incumbent, dtype=np.int64)
    best_value = covered_weight(covers, weights, best)
    bound = np.inf
    below: tuple[float, float, int] | None = None  # (λ, L, |S|) with |S| ≥ p
    above: tuple[float, float, int] | None = None  # with |S| ≤ p
    lam, step, points = float(multiplier), FIRST_STEP, 0
    while points < MAX_POINTS and (deadline is None or time.perf_counter() < deadline):
        clock = time.perf_counter()
        scouting = points == 0
        point_deadline = deadline
        if scouting:  # the first point may stop early: its bound counts, its plan's price leads on
            point_deadline = clock + SCOUT_S if deadline is None else min(deadline, clock + SCOUT_S)
        point = relaxed_plan(covers, weights, p, lam, point_deadline, start=best)
        points += 1
        bound = min(bound, point.bound)
        plan = _to_p_sites(covers, weights, point.sites, p)
        value = covered_weight(covers, weights, plan)
        log.debug("λ %.6g: L %.6f with %d sites (%s), plan of p sites %.6f, %.1f s", lam, point.bound,
                  len(point.sites), "proven" if point.proven else "stopped", value, time.perf_counter() - clock)
        if value > best_value:
            best, best_value = plan, value
        gap = relative_gap(best_value, bound)
        gap = np.inf if gap is None else gap
        within = gap <= tolerance and (exact_until is None or time.perf_counter() >= exact_until)
        if gap <= EXACT_GAP or within or not (point.proven or scouting):
            break
        k = len(point.sites)
        if point.proven:  # a stopped point's bound is valid, but not a supporting line of L
            if k <= p:
                above = (lam, point.bound, k)
            if k >= p:
                below = (lam, point.bound, k)
        next_lam = _price_between(covers, weights, best)
        low = below[0] if below is not None else 0.0
        high = above[0] if above is not None else np.inf
        if not low < next_lam < high:
            # the best plan's own price lies on the wrong side: move by steps, then between the two sides
            if below is not None and above is not None:
                next_lam = _crossing(below, above, p)
                if next_lam is None:
                    break
            else:
                next_lam = lam * (1 - step) if k < p else lam * (1 + step)
                step *= 2
        if next_lam < 0 or np.isclose(next_lam, lam, rtol=1e-9, atol=1e-12):
            break
        lam = next_lam
    return LagrangianOutcome(sites=best, value=float(best_value), bound=float(bound), points=points)


def lp_multiplier(covers: csr_array, weights: np.ndarray, p: int) -> tuple[float, float]:
    """The linear relaxation's value and the dual value of its cardinality row ``Σ y ≤ p`` (interior point)."""
    import highspy

    n_customers, n_sites = covers.shape
    highs = _coverage_highs(covers, weights, 0.0, integer=False)
    highs.addRow(-highspy.kHighsInf, float(p), n_sites, np.arange(n_sites, dtype=np.int32), np.ones(n_sites))
    highs.setOptionValue("solver", "ipm")
    highs.run()
    return -float(highs.getInfo().objective_function_value), abs(float(highs.getSolution().row_dual[n_customers]))


def _coverage_highs(block: csr_array, weights: np.ndarray, price: float, *, integer: bool = True):
    """HiGHS model ``min price·Σ y − Σ w u``, ``u_i − Σ_{j covers i} y_j ≤ 0``, all in [0, 1] (sites first)."""
    import highspy

    n_customers, n_sites = block.shape
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    n = n_sites + n_customers
    highs.addVars(n, np.zeros(n), np.ones(n))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.r_[np.full(n_sites, price), -weights])
    if integer:
        highs.changeColsIntegrality(n_sites, np.arange(n_sites, dtype=np.int32), np.ones(n_sites, dtype=np.uint8))
    rows = hstack([-csr_array(block, dtype=float), identity(n_customers, format="csr")]).tocsr()
    highs.addRows(n_customers, np.full(n_customers, -highspy.kHighsInf), np.zeros(n_customers), rows.nnz,
                  rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32), rows.data)
    return highs


def _price_between(covers: csr_array, weights: np.ndarray, sites: np.ndarray) -> float:
    """Midway between the best gain of opening one more site and the least loss of closing one of ``sites``.

    Near an optimal plan of ``p`` sites this is close to the multiplier at
    which the relaxed problem opens ``p`` sites (reduced Qingdao tier, p =
    300: 86.19 and 86.29 for the best plan, where the relaxed plan has 300
    sites at 86.5; the linear relaxation's dual value is 88.1).
    """
    by_site = csc_array(covers, dtype=float)
    is_open = site_mask(by_site.shape[1], sites)
    count = by_site @ is_open.astype(float)
    gain = by_site.T @ np.where(count == 0, weights, 0.0)
    loss = by_site.T @ np.where(count == 1, weights, 0.0)
    if is_open.all() or not is_open.any():
        return np.nan
    return float((gain[~is_open].max() + loss[is_open].min()) / 2)


def _crossing(below: tuple[float, float, int], above: tuple[float, float, int], p: int) -> float | None:
    """Where the supporting lines ``L_a + (p − k_a)(λ − λ_a)`` of the two points meet (None if they cannot)."""
    (lam_a, value_a, k_a), (lam_b, value_b, k_b) = below, above
    slope_a, slope_b = p - k_a, p - k_b
    if slope_a == slope_b:
        return None
    lam = (value_b - value_a + slope_a * lam_a - slope_b * lam_b) / (slope_a - slope_b)
    low, high = min(lam_a, lam_b), max(lam_a, lam_b)
    if not low < lam < high:
        return None
    return float(lam)


def _to_p_sites(covers: csr_array, weights: np.ndarray, sites: np.ndarray, p: int) -> np.ndarray:
    """Top ``sites`` up to ``p`` (greedy) or keep the ``p`` of them a greedy prefers, then swap."""
    if len(sites) > p:
        kept = greedy_coverage(covers[:, sites], weights, p)
        sites = sites[kept]
    elif len(sites) < p:
        sites = greedy_coverage(covers, weights, p, fixed=sites)
    return interchange_coverage(covers, weights, sites)


def _prize_collecting(block: csr_array, weights: np.ndarray, price: float, deadline: float | None,
                      start: np.ndarray) -> tuple[float, np.ndarray, bool]:
    """``max Σ w_i u_i − price·Σ y_j``, ``u_i ≤ Σ_{j covers i} y_j``: upper bound, open sites, proven."""
    n_sites = block.shape[1]
    if n_sites == 1:
        return float(weights.sum()) - price, np.array([0]), True
    import highspy

    highs = _coverage_highs(block, weights, price)
    highs.setOptionValue("mip_rel_gap", 1e-7)
    if deadline is not None:
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    if len(start):
        y = site_mask(n_sites, start).astype(float)
        _offer_start(highs, np.r_[y, (block @ y > 0).astype(float)])
    highs.run()
    info = highs.getInfo()
    solved = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    if info.primal_solution_status != 2:  # no feasible point: the empty plan, and the LP-free bound
        return float(np.clip(block.T @ weights - price, 0.0, None).sum()), np.zeros(0, dtype=np.int64), False
    y = np.asarray(highs.getSolution().col_value[:n_sites])
    return -float(info.mip_dual_bound), np.flatnonzero(y > 0.5), solved
