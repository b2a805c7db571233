"""Exact methods at scale: a large Euclidean p-median (TSPLIB style) and covering models with 10⁵–10⁷ customers.

Usage::

    python benchmarks/exact.py [--pmedian] [--mclp] [--qingdao] [--capacitated] [--psclp] [--plain-time-limit 60]
                               [--no-write]
                               [--tsplib DIR] [--instances NAME,...] [--p 5,10,...]
                               [--unseen KIND:N:SEED[:SIDE],...] [--unseen-mclp SEED:RADIUS,...]
                               [--spopt NAME:P,...] [--spopt-timeout 300]

(no part named: all of them). Every timed run happens in a fresh child process
(``multiprocessing`` "spawn"), so that its peak resident memory (``ru_maxrss``
of the child) is its own; times are wall-clock seconds inside the child, from
the cost table to the proven result.

- *p-median*: no TSPLIB file is shipped (TSPLIB's licence is "free for
  research"), so the instances are generated in TSPLIB's style with fixed seeds — integer coordinates, distance
  the floor of the Euclidean distance (as the issue asks), every node a demand
  point and a candidate — in six shapes (see :func:`tsplib_style_points`):
  uniform (1,000 and 1,500 nodes), 20 Gaussian clusters (1,400), a lattice with
  repeated nodes (1,432), drilling-board rows (1,173), tight clusters on a
  sparse background (1,304). ``p`` ∈ 5, 10, 20, 50, 100, 200, 300, 400, 500. Plain HiGHS gets the same compact (radius) formulation
  without our heuristics and reductions; spopt's textbook model (one variable
  per pair) only on the cases of ``--spopt uniform-1000:10,...``. ``--tsplib DIR`` adds every ``*.tsp``
  file of DIR (real TSPLIB instances kept outside the repository;
  ``NODE_COORD_SECTION`` or bare "index x y" lines, same distance), named by
  the file's stem. ``--unseen uniform:1100:101,...`` runs only instances of
  those shapes, sizes and seeds (named ``uniform-1100-s101``), seeds the code was
  never tuned on, into their own section "Large p-median (unseen seeds)"; a
  fourth field sets the side of a uniform instance's square (``uniform:1250:13:60``:
  coordinates 0–59, very many equal distances and repeated nodes).
- *MCLP*: in the style of Cordeau, Furini & Ljubić (2019): 100 sites and
  10⁵, 10⁶ or 10⁷ customers uniform on a 30 × 30 square (seed 0), integer demands
  1–100, radius 3.5 (each site covers about 4 % of the square: coverage stays
  partial for these ``p``). Plain HiGHS gets the compact model on every
  customer (no aggregation). ``--unseen-mclp 21:3.0,22:4.5`` runs only ours
  on other seeds and radii (p = 5 … 25), into the section "MCLP at scale
  (unseen seeds)".
- *Qingdao*: the reduced public-tier MCLP of ``benchmarks/coverage.py`` at
  p = 300 (``--qingdao-p 100,200,300,500`` for more), 60 s limit.
- *CapacitatedMCLP* (``--capacitated``): the MCLP instances with 5–20 units of a capacity that lets 20 units
  serve 80 % of the demand (:data:`CAPACITY_SHARE`), distance weight 0; beside it the same model with its
  customers not merged, up to ``--plain-max-customers``.
- *Partial set covering* (``--psclp``): the fewest sites covering 50, 70 or 90 % of the demand weight on the
  MCLP instances (:data:`PSCLP_SHARES`); beside it plain HiGHS on the compact model, up to
  ``--plain-max-customers``.

Writes the sections "Large p-median (TSPLIB style)", "MCLP at scale", "CapacitatedMCLP at scale" and "Partial
set covering at scale" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import (  # noqa: E402
    in_forked_child,
    machine,
    mclp_method,
    replace_section,
    solver_versions,
)

P_VALUES = (5, 10, 20, 50, 100, 200, 300, 400, 500)
PMEDIAN_INSTANCES = {"uniform-1000": ("uniform", 1000, 1), "clustered-1400": ("clustered", 1400, 2),
                     "lattice-1432": ("lattice", 1432, 3), "drilling-1173": ("drilling", 1173, 4),
                     "dense-clusters-1304": ("dense-clusters", 1304, 5), "uniform-1500": ("uniform", 1500, 6)}
#: Published optima and times, (objective, seconds) per p: Duran-Mateluna, Alès & Elloumi (2023), "An efficient
#: Benders decomposition for the p-median problem", EJOR, Table 2 (rl1304, distance = floor of the Euclidean
#: distance; branch-and-Benders-cut with CPLEX 20.1 on an Intel Xeon W-2145), as transcribed in the public
#: repository alonpena/pmedian-benders (scripts/compare_paper.py), whose own exact solver matches every optimum.
PUBLISHED_PMEDIAN = {"rl1304": {5: (3_099_073, 2.8), 10: (2_134_295, 15.4), 20: (1_412_108, 2.3),
                                50: (795_012, 1.5), 100: (491_639, 2.4), 200: (268_573, 0.5),
                                300: (177_326, 0.5), 400: (128_332, 0.2), 500: (97_024, 0.4)}}
MCLP_P = (5, 10, 15, 20)
MCLP_SIZES = (100_000, 1_000_000, 10_000_000)
#: Coverage radius of those instances (each site covers about 4 % of the square).
CFL_RADIUS = 3.5
#: Sizes of the unseen MCLP seeds (``--unseen-mclp``).
UNSEEN_MCLP_SIZES = (100_000, 1_000_000)
#: CapacitatedMCLP on the same instances: new units in all, and each unit's capacity as a share of all demand
#: divided by the largest count (20 units can serve 80 % of the demand, 5 units 20 %).
CAPACITATED_UNITS = (5, 10, 15, 20)
CAPACITY_SHARE = 0.8
#: Shares of the demand weight the partial set covering instances must cover.
PSCLP_SHARES = (0.5, 0.7, 0.9)


# ---------------------------------------------------------------- instances
def tsplib_style_points(kind: str, n: int, seed: int, side: int = 10_000) -> np.ndarray:
    """Integer coordinates on a 10,000 square in one of TSPLIB's shapes.

    ``uniform``: uniform on a square of ``side`` (like the random instances;
    a small side gives many equal distances and repeated nodes); ``clustered``: 20
    Gaussian clusters, σ = 250; ``lattice``: nodes drawn from a regular grid,
    a few repeated (like u1060 / u1432: collinear rows, many equal distances);
    ``drilling``: rows of evenly spaced holes in rectangular blocks (like the
    drilling boards pcb1173 / fl1400 / d1291); ``dense-clusters``: 70 % of the
    nodes in 12 tight clusters (σ = 60), the rest sparse background (like fl1400
    and fl1577).
    """
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.integers(0, side, size=(n, 2))
    if kind == "clustered":
        centres = rng.uniform(1_000, 9_000, size=(20, 2))
        points = centres[rng.integers(0, 20, n)] + rng.normal(0.0, 250.0, size=(n, 2))
        return np.clip(np.round(points), 0, 10_000).astype(np.int64)
    if kind == "lattice":
        side = int(np.ceil(np.sqrt(n * 1.3)))
        grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), axis=-1).reshape(-1, 2) * (10_000 // side)
        picked = grid[rng.choice(len(grid), n - n // 50, replace=False)]
        return np.vstack([picked, picked[rng.choice(len(picked), n // 50, replace=False)]]).astype(np.int64)
    if kind == "drilling":
        blocks = []
        while sum(len(b) for b in blocks) < n:
            corner = rng.integers(0, 8_000, size=2)
            rows, cols = rng.integers(2, 8), rng.integers(5, 30)
            pitch = rng.choice([25, 50, 100])
            gap = rng.choice([100, 150, 300])
            holes = np.stack(np.meshgrid(np.arange(cols) * pitch, np.arange(rows) * gap), axis=-1).reshape(-1, 2)
            blocks.append(corner + holes)
        return np.clip(np.vstack(blocks)[:n], 0, 10_000).astype(np.int64)
    if kind == "dense-clusters":
        n_clustered = int(0.7 * n)
        centres = rng.uniform(500, 9_500, size=(12, 2))
        clustered = centres[rng.integers(0, 12, n_clustered)] + rng.normal(0.0, 60.0, size=(n_clustered, 2))
        background = rng.uniform(0, 10_000, size=(n - n_clustered, 2))
        return np.clip(np.round(np.vstack([clustered, background])), 0, 10_000).astype(np.int64)
    msg = f"unknown instance kind {kind!r}"
    raise ValueError(msg)


def read_tsplib_points(path: str | Path) -> np.ndarray:
    """The node coordinates of a TSPLIB ``.tsp`` file (or of bare "index x y" lines).

    With a ``NODE_COORD_SECTION`` the lines after it are read up to ``EOF`` or
    the next keyword; without one, every line of three numbers is a node.
    Coordinates stay floats (TSPLIB writes some as ``4.00320e+03``).
    """
    lines = Path(path).read_text().splitlines()
    start = next((k + 1 for k, line in enumerate(lines) if line.strip().upper().startswith("NODE_COORD_SECTION")), 0)
    coordinates = []
    for line in lines[start:]:
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not _is_number(fields[0]):
            if start:
                break
            continue
        coordinates.append((float(fields[1]), float(fields[2])))
    if not coordinates:
        msg = f"no node coordinates in {path}"
        raise ValueError(msg)
    return np.asarray(coordinates)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def instance_points(spec: tuple) -> np.ndarray:
    """The nodes of a benchmark instance: ``("tsplib", path)`` or the arguments of :func:`tsplib_style_points`."""
    if spec[0] == "tsplib":
        return read_tsplib_points(spec[1])
    return tsplib_style_points(*spec)


def unseen_instances(specs: str) -> dict[str, tuple]:
    """``"uniform:1100:101,uniform:1250:13:60"`` → instances of :func:`tsplib_style_points` by name (the
    optional fourth field is the uniform square's side)."""
    instances = {}
    for spec in specs.split(","):
        kind, n, seed, *side = spec.split(":")
        name = f"{kind}-{n}-s{seed}" + (f"-side{side[0]}" if side else "")
        instances[name] = (kind, int(n), int(seed), *(int(x) for x in side))
    return instances


def tsplib_instances(directory: str | Path) -> dict[str, tuple]:
    """Every ``*.tsp`` file of ``directory``, by file stem."""
    return {path.stem: ("tsplib", str(path)) for path in sorted(Path(directory).glob("*.tsp"))}


def floor_distances(points: np.ndarray) -> np.ndarray:
    """``floor`` of the Euclidean distance between every pair (dense: n ≤ 1,500 here, 18 MB)."""
    diff = points[:, None, :].astype(float) - points[None, :, :]
    return np.floor(np.sqrt((diff ** 2).sum(axis=-1)))


def cfl_style(n_customers: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers and 100 sites uniform on a 30 × 30 square, integer demands 1–100."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0.0, 30.0, size=(100, 2))
    customers = rng.uniform(0.0, 30.0, size=(n_customers, 2))
    return customers, sites, rng.integers(1, 101, n_customers).astype(float)


def coverage_pairs(customers: np.ndarray, sites: np.ndarray, radius: float):
    """The sparse cost table of the pairs within ``radius`` (two k-d trees; no Python list per pair: at 10⁷
    customers a query per site took 17.5 s and 3.6 GB, this 9.8 s and 2.1 GB)."""
    import pandas as pd
    from scipy.spatial import cKDTree

    from siting.models import SparseCost

    pairs = cKDTree(sites).sparse_distance_matrix(cKDTree(customers), radius, output_type="ndarray")
    return SparseCost(pd.RangeIndex(len(customers)), pd.RangeIndex(len(sites)), pairs["j"], pairs["i"], pairs["v"])


# ---------------------------------------------------------------- runs (in children)
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_pmedian_ours(spec: tuple, p: int, time_limit_s: float) -> dict:
    from siting.models import PMedian

    distance = floor_distances(instance_points(spec))
    start = time.perf_counter()
    result = PMedian.from_cost_matrix(distance, p=p).solve("highs", time_limit_s=time_limit_s)
    return {"status": result.status, "objective": result.objective, "bound": result.bound,
            "time_s": time.perf_counter() - start, "method": _pmedian_method(result),
            "nodes": result.extra.get("tree_nodes"), "peak_mb": _peak_mb()}


def _pmedian_method(result) -> str:
    """What settled the instance: the root Lagrangian bound, a tree search, the groups, or HiGHS on the reduced model."""
    if result.extra.get("method") == "benders branch-and-cut":
        return "Benders branch-and-cut" + (", HiGHS MIP on the master" if result.extra.get("proven_by_master_mip")
                                           else "")
    if result.extra.get("method") == "separated groups":
        return f"separated groups ({result.extra['groups']} groups, {result.extra['group_solves']} group solves)"
    if result.extra.get("tree_nodes") is not None:
        return "tree search"
    return "root Lagrangian bound" if result.n_variables == 0 else "HiGHS, reduced radius model"


def run_pmedian_spopt(spec: tuple, p: int, time_limit_s: float) -> dict:
    """spopt's textbook p-median (one assignment variable per pair) with HiGHS, as in the OR-Library benchmark."""
    from benchmarks.orlib_pmedian import run_spopt

    return {**run_spopt(floor_distances(instance_points(spec)), p, time_limit_s), "peak_mb": _peak_mb()}


def run_pmedian_plain(spec: tuple, p: int, time_limit_s: float) -> dict:
    """Plain HiGHS on the full radius formulation (Elloumi 2010), built straight into highspy."""
    import highspy

    distance = floor_distances(instance_points(spec))
    start = time.perf_counter()
    n = len(distance)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.5 / float(distance.sum()))
    inf = highspy.kHighsInf
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger.value,
                                                                       dtype=np.uint8))
    h.addRow(p, p, n, np.arange(n, dtype=np.int32), np.ones(n))
    # all rows at once: row (i, k) = Σ_{j at level k of i} y_j + z_ik − z_i,k−1 ≥ [k = 0]
    from scipy.sparse import coo_array

    order = np.argsort(distance, axis=1, kind="stable")
    row_sorted = np.take_along_axis(distance, order, axis=1)
    new_level = np.ones_like(row_sorted, dtype=bool)
    new_level[:, 1:] = row_sorted[:, 1:] != row_sorted[:, :-1]
    level = np.cumsum(new_level, axis=1) - 1
    n_levels = level[:, -1] + 1
    row_offset = np.r_[0, np.cumsum(n_levels)[:-1]]
    z_offset = np.r_[0, np.cumsum(n_levels - 1)[:-1]]
    n_rows, n_z = int(n_levels.sum()), int((n_levels - 1).sum())
    demand = np.repeat(np.arange(n), n)
    y_rows = (row_offset[:, None] + level).ravel()
    k_all = np.arange(n_rows) - np.repeat(row_offset, n_levels)
    i_all = np.repeat(np.arange(n), n_levels)
    has_z = k_all < n_levels[i_all] - 1
    z_col = n + z_offset[i_all] + k_all
    rows_ = np.concatenate([y_rows, np.flatnonzero(has_z), np.flatnonzero(k_all > 0)])
    cols_ = np.concatenate([order.ravel(), z_col[has_z], (z_col - 1)[k_all > 0]])
    vals_ = np.concatenate([np.ones(n * n), np.ones(int(has_z.sum())), -np.ones(int((k_all > 0).sum()))])
    del demand
    matrix = coo_array((vals_, (rows_, cols_)), shape=(n_rows, n + n_z)).tocsr()
    levels_flat = row_sorted[new_level]
    h.addVars(n_z, np.zeros(n_z), np.full(n_z, inf))
    z_cost = np.empty(n_z)
    z_cost[:] = (levels_flat[1:] - levels_flat[:-1])[has_z[:-1]] if n_z else 0.0
    h.changeColsCost(n_z, np.arange(n, n + n_z, dtype=np.int32), z_cost)
    h.addRows(n_rows, (k_all == 0).astype(float), np.full(n_rows, inf), matrix.nnz,
              matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32), matrix.data)
    offset = float(row_sorted[:, 0].sum())
    h.changeObjectiveOffset(offset)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    has = info.primal_solution_status == 2
    objective = info.objective_function_value if has else None
    bound = info.mip_dual_bound
    proven = status == highspy.HighsModelStatus.kOptimal
    return {"status": "optimal" if proven else "time limit", "objective": objective, "bound": bound,
            "time_s": time.perf_counter() - start, "peak_mb": _peak_mb()}


def run_mclp_ours(n_customers: int, p: int, radius: float, time_limit_s: float, seed: int = 0) -> dict:
    from siting.models import MCLP

    customers, sites, weights = cfl_style(n_customers, seed)
    start = time.perf_counter()
    table = coverage_pairs(customers, sites, radius)
    result = MCLP.from_cost_matrix(table, weights=weights, radius=radius, p=p).solve("highs",
                                                                                    time_limit_s=time_limit_s)
    return {"status": result.status, "objective": result.objective, "bound": result.bound,
            "time_s": time.perf_counter() - start, "pairs": table.n_pairs, "method": mclp_method(result),
            "classes": result.extra.get("customer_classes"), "share": result.extra["coverage_share"],
            "peak_mb": _peak_mb()}


def run_capacitated(n_customers: int, units: int, radius: float, time_limit_s: float, merge: bool = True) -> dict:
    """CapacitatedMCLP on :func:`cfl_style` (distance weight 0: coverage only); ``merge=False``: the same model
    with every customer a row of its own (demand points not merged), as plain HiGHS gets it."""
    from unittest import mock

    import siting.models.capacitated as capacitated

    customers, sites, weights = cfl_style(n_customers)
    start = time.perf_counter()
    table = coverage_pairs(customers, sites, radius)
    capacity = CAPACITY_SHARE * float(weights.sum()) / CAPACITATED_UNITS[-1]
    model = capacitated.CapacitatedMCLP.from_cost_matrix(table, weights=weights, radius=radius, total_units=units,
                                                         capacity_per_unit=capacity, min_units=1, max_units=3,
                                                         distance_weight=0.0)
    with mock.patch.object(capacitated, "MERGE_AT_MOST", capacitated.MERGE_AT_MOST if merge else 0.0):
        result = model.solve("highs", time_limit_s=time_limit_s)
    return {"status": result.status, "objective": result.objective, "bound": result.bound, "gap": result.gap,
            "time_s": time.perf_counter() - start, "pairs": table.n_pairs,
            "classes": result.extra.get("demand_classes"), "share": result.extra["demand_served"] / weights.sum(),
            "variables": result.n_variables, "constraints": result.n_constraints, "peak_mb": _peak_mb()}


def run_capacitated_unmerged(n_customers: int, units: int, radius: float, time_limit_s: float) -> dict:
    """:func:`run_capacitated` with every customer a row of its own."""
    return run_capacitated(n_customers, units, radius, time_limit_s, merge=False)


def run_mclp_plain(n_customers: int, p: int, radius: float, time_limit_s: float) -> dict:
    """Plain HiGHS on the compact MCLP, one row per customer, built straight into highspy."""
    import highspy

    customers, sites, weights = cfl_style(n_customers)
    start = time.perf_counter()
    h, m, n = _plain_covering(customers, sites, weights, radius, time_limit_s)
    h.setOptionValue("mip_rel_gap", 0.5 / float(weights.sum()))
    h.changeColsCost(n, np.arange(m, m + n, dtype=np.int32), -weights)
    h.addRow(-highspy.kHighsInf, p, m, np.arange(m, dtype=np.int32), np.ones(m))
    h.run()
    info = h.getInfo()
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    has = info.primal_solution_status == 2
    return {"status": "optimal" if proven else "time limit", "objective": -info.objective_function_value if has else None,
            "bound": -info.mip_dual_bound, "time_s": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _plain_covering(customers: np.ndarray, sites: np.ndarray, weights: np.ndarray, radius: float,
                    time_limit_s: float):
    """A highspy model with a binary ``y`` per site, a ``u ∈ [0, 1]`` per customer and the rows
    ``u_i ≤ Σ_(j covers i) y_j`` (no cost, no other row yet); returns it and the numbers of sites and customers."""
    import highspy
    from scipy.sparse import csr_array

    table = coverage_pairs(customers, sites, radius)
    m, n = len(sites), len(customers)
    covers = csr_array((np.ones(table.n_pairs), (table.demand, table.site)), shape=(n, m))
    covers.sum_duplicates()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.addVars(m + n, np.zeros(m + n), np.ones(m + n))
    h.changeColsIntegrality(m, np.arange(m, dtype=np.int32), np.full(m, highspy.HighsVarType.kInteger.value,
                                                                       dtype=np.uint8))
    counts = np.diff(covers.indptr)
    starts = (covers.indptr[:-1] + np.arange(n)).astype(np.int32)
    index = np.empty(covers.nnz + n, dtype=np.int32)
    value = np.empty(covers.nnz + n)
    pos_u = starts + counts
    mask = np.ones(covers.nnz + n, dtype=bool)
    mask[pos_u] = False
    index[mask], value[mask] = covers.indices, -1.0
    index[pos_u], value[pos_u] = m + np.arange(n), 1.0
    h.addRows(n, np.full(n, -highspy.kHighsInf), np.zeros(n), len(index), starts, index, value)
    return h, m, n


def run_psclp_ours(n_customers: int, share: float, radius: float, time_limit_s: float) -> dict:
    """Partial set covering: ``LSCP(coverage=share)`` on :func:`cfl_style`."""
    from siting.models import LSCP

    customers, sites, weights = cfl_style(n_customers)
    start = time.perf_counter()
    table = coverage_pairs(customers, sites, radius)
    result = LSCP.from_cost_matrix(table, radius=radius, weights=weights, coverage=share).solve(
        "highs", time_limit_s=time_limit_s)
    return {"status": result.status, "objective": result.objective, "bound": result.bound,
            "time_s": time.perf_counter() - start, "pairs": table.n_pairs,
            "classes": result.extra["customer_classes"], "heuristic": result.extra["heuristic_sites"],
            "share": result.extra["coverage_share"], "peak_mb": _peak_mb()}


def run_psclp_plain(n_customers: int, share: float, radius: float, time_limit_s: float) -> dict:
    """Plain HiGHS on the compact partial set covering model, one row per customer."""
    import highspy

    customers, sites, weights = cfl_style(n_customers)
    start = time.perf_counter()
    h, m, n = _plain_covering(customers, sites, weights, radius, time_limit_s)
    h.changeColsCost(m, np.arange(m, dtype=np.int32), np.ones(m))
    h.addRow(share * float(weights.sum()), highspy.kHighsInf, n, np.arange(m, m + n, dtype=np.int32), weights)
    h.run()
    info = h.getInfo()
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    has = info.primal_solution_status == 2
    return {"status": "optimal" if proven else "time limit", "objective": info.objective_function_value if has else None,
            "bound": info.mip_dual_bound, "time_s": time.perf_counter() - start, "peak_mb": _peak_mb()}


def run_qingdao(p: int, time_limit_s: float) -> dict:
    from benchmarks.coverage import public_tier_instance, reduced
    from siting.models import MCLP

    view = reduced({**public_tier_instance(), "label": "reduced"})
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(view["costs"][["demand_id", "site_id", "cost"]],
                                  weights=view["demand"]["weight"].to_numpy(dtype=float), radius=view["radius"],
                                  p=p, demand_ids=view["demand"]["demand_id"], site_ids=view["candidates"]["site_id"])
    result = model.solve("highs", time_limit_s=time_limit_s)
    return {"status": result.status, "objective": result.objective, "bound": result.bound,
            "time_s": time.perf_counter() - start, "shape": (len(view["demand"]), len(view["candidates"])),
            "classes": result.extra.get("customer_classes"), "dominated": result.extra.get("sites_dominated"),
            "method": mclp_method(result), "peak_mb": _peak_mb()}


def in_child(function, *args) -> dict:
    """Run ``function(*args)`` in a fresh interpreter and return its dict."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(function, args)


# ---------------------------------------------------------------- report
def fmt(value, digits: int = 0) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmedian", action="store_true")
    parser.add_argument("--mclp", action="store_true")
    parser.add_argument("--qingdao", action="store_true")
    parser.add_argument("--time-limit", type=float, default=60.0, help="limit for ours per run (s)")
    parser.add_argument("--plain-time-limit", type=float, default=60.0, help="limit for plain HiGHS per run (s)")
    parser.add_argument("--plain-p", default="10,100,500", help="p-median p values plain HiGHS is run on")
    parser.add_argument("--spopt", default="", metavar="NAME:P,...",
                        help="p-median cases (instance name and p) spopt is run on (default: none)")
    parser.add_argument("--spopt-timeout", type=float, default=300.0,
                        help="spopt per run, building included (s; stopped after it)")
    parser.add_argument("--plain-max-customers", type=int, default=100_000,
                        help="MCLP sizes plain HiGHS is run on (at 10⁶ rows its presolve ignores the time limit)")
    parser.add_argument("--tsplib", default=None, metavar="DIR",
                        help="also run the p-median on every *.tsp file of DIR (not shipped: TSPLIB's licence)")
    parser.add_argument("--instances", default="",
                        help="p-median instances to run (comma-separated names; default: all)")
    parser.add_argument("--p", default="", help="p-median p values (comma-separated; default: all nine)")
    parser.add_argument("--unseen", default="", metavar="KIND:N:SEED[:SIDE],...",
                        help="p-median: run only these generated instances (shapes of tsplib_style_points) and "
                             "write them to their own section")
    parser.add_argument("--unseen-mclp", default="", metavar="SEED:RADIUS,...",
                        help="MCLP: run ours only, on these seeds and radii of the Cordeau–Furini–Ljubić style, and "
                             "write them to their own section")
    parser.add_argument("--capacitated", action="store_true",
                        help="CapacitatedMCLP on the MCLP instances of the Cordeau–Furini–Ljubić style")
    parser.add_argument("--psclp", action="store_true",
                        help="partial set covering (LSCP with a coverage share) on the same instances")
    parser.add_argument("--runs", type=int, default=1,
                        help="p-median runs of ours per case (the table shows the run of median time)")
    parser.add_argument("--qingdao-p", default="300", help="p values of the Qingdao MCLP runs (comma-separated)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    every = not (args.pmedian or args.mclp or args.qingdao or args.unseen_mclp or args.capacitated or args.psclp)
    command = "python benchmarks/exact.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    header = f"Command: `{command.strip()}` — {machine()}; {solver_versions()}."
    if every or args.pmedian:
        body = pmedian_section(args, header)
        print(body)
        if not args.no_write:
            replace_section("Large p-median (unseen seeds)" if args.unseen else "Large p-median (TSPLIB style)",
                            body)
    if every or args.mclp or args.qingdao:
        body = mclp_section(args, header, run_cfl=every or args.mclp, with_qingdao=every or args.qingdao)
        print(body)
        if not args.no_write:
            replace_section("MCLP at scale", body)
    if every or args.capacitated:
        body = capacitated_section(args, header)
        print(body)
        if not args.no_write:
            replace_section("CapacitatedMCLP at scale", body)
    if every or args.psclp:
        body = psclp_section(args, header)
        print(body)
        if not args.no_write:
            replace_section("Partial set covering at scale", body)
    if args.unseen_mclp:
        body = unseen_mclp_section(args, header)
        print(body)
        if not args.no_write:
            replace_section("MCLP at scale (unseen seeds)", body)
    return 0


def pmedian_section(args: argparse.Namespace, header: str) -> str:
    load_before = os.getloadavg()[0]
    plain_p = {int(x) for x in args.plain_p.split(",") if x}
    p_values = tuple(int(x) for x in args.p.split(",") if x) or P_VALUES
    instances = dict(PMEDIAN_INSTANCES)
    if args.tsplib:
        instances.update(tsplib_instances(args.tsplib))
    if args.instances:
        instances = {name: instances[name] for name in args.instances.split(",")}
    if args.unseen:
        instances = unseen_instances(args.unseen)
    spopt_cases = {(case.rsplit(":", 1)[0], int(case.rsplit(":", 1)[1])) for case in args.spopt.split(",") if case}
    rows, times, spopt_runs = [], [], []
    for name, spec in instances.items():
        for p in p_values:
            ours = median_run(run_pmedian_ours, (spec, p, args.time_limit), args.runs)
            times.append(ours["time_s"])
            plain = in_child(run_pmedian_plain, spec, p, args.plain_time_limit) if p in plain_p else None
            print(name, p, ours, plain, flush=True)
            rows.append((name, p, ours, plain))
            if (name, p) in spopt_cases:
                spopt, seconds = in_forked_child(run_pmedian_spopt, (spec, p, args.time_limit), args.spopt_timeout)
                print(name, p, "spopt", spopt, seconds, flush=True)
                spopt_runs.append((name, p, ours, spopt, seconds))
    load_after = os.getloadavg()[0]
    lines = [header, "", f"1-minute load average {load_before:.1f} at the start, {load_after:.1f} at the end "
             "(2 cores, shared with other jobs)."
             + (f" Ours: each case run {args.runs} times; the row is the run of median time, its range in "
                "brackets." if args.runs > 1 else " Ours: one run per case."), "",
             "No TSPLIB file is shipped with the repository (TSPLIB's licence is \"free for research\"; no package "
             "on PyPI ships u1060, rl1304, fl1400 …), so the instances are generated in TSPLIB's style with fixed "
             "seeds: "
             "integer coordinates on a 10,000 × 10,000 square, distance = floor of the Euclidean distance, every node "
             "a demand point and a candidate. `uniform-1000` / `uniform-1500`: uniform (seeds 1, 6); "
             "`clustered-1400`: 20 Gaussian clusters, σ = 250 (seed 2); `lattice-1432`: nodes drawn from a regular "
             "44 × 44 grid, 2 % repeated (like u1060 / u1432: collinear rows, very many equal distances; seed 3); "
             "`drilling-1173`: rows of evenly spaced holes in rectangular blocks (like pcb1173 / d1291; seed 4); "
             "`dense-clusters-1304`: 70 % of the nodes in 12 tight clusters (σ = 60), the rest sparse background "
             "(like fl1400 / fl1577; seed 5). "
             + (f"Also the real TSPLIB files {', '.join(n for n, s in instances.items() if s[0] == 'tsplib')} "
                f"(`--tsplib`, read from a local directory: TSPLIB's licence is \"free for research\", so the "
                "files are not shipped with the repository; same floor distance). " if args.tsplib else "")
             + (f"This run: only {', '.join(instances)} (`--unseen`: shape, size and seed in the name; seeds never "
                "used while the code was tuned; `-sideS`: uniform on an S × S square instead). " if args.unseen else "")
             + "Ours: `PMedian.from_cost_matrix(distance, p=p).solve(\"highs\")`. "
             "Plain HiGHS: the same "
             "radius formulation on all pairs, no heuristic and no reduction, "
             + (f"{args.plain_time_limit:g} s limit, run for p ∈ {sorted(plain_p)}. " if plain_p else
                "not run in this table (`--plain-p`). ")
             + "spopt: see the end of the section.", "",
             "Published: optimum and time of Duran-Mateluna, Alès & Elloumi (2023, EJOR, Table 2; CPLEX 20.1, "
             "Intel Xeon W-2145), where the instance is theirs.", "",
             "| instance | p | ours status | objective | bound | time s | method | peak MB | published optimum | "
             "published s | plain HiGHS | plain objective | plain bound | plain s | plain peak MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, p, ours, plain in rows:
        method = ours["method"] + (f" ({ours['nodes']} nodes)" if ours.get("nodes") else "")
        plain_cells = ("not run", "–", "–", "–", "–") if plain is None else (
            plain["status"], fmt(plain["objective"]), fmt(plain["bound"]), f"{plain['time_s']:.1f}",
            f"{plain['peak_mb']:.0f}")
        published = PUBLISHED_PMEDIAN.get(name, {}).get(p)
        published_cells = ("–", "–") if published is None else (fmt(published[0]), f"{published[1]:.1f}")
        lines.append(f"| {name} | {p} | {ours['status']} | {fmt(ours['objective'])} | {fmt(ours['bound'])} | "
                     f"{ours['time_s']:.2f}{_time_range(ours)} | {method} | {ours['peak_mb']:.0f} | " + " | ".join(published_cells)
                     + " | " + " | ".join(plain_cells) + " |")
    proven = sum(r[2]["status"] == "optimal" for r in rows)
    worst = max(rows, key=lambda r: r[2]["time_s"])
    fast = sum(r[2]["status"] == "optimal" and r[2]["time_s"] <= 15.0 for r in rows)
    per_instance = "; ".join(
        f"{name} {sum(r[2]['status'] == 'optimal' for r in rows if r[0] == name)}/{len(p_values)}, median "
        f"{statistics.median(r[2]['time_s'] for r in rows if r[0] == name):.2f} s" for name in instances)
    lines += ["", f"- Proven optimal: {proven} of {len(rows)} ({fast} within 15 s); ours median "
              f"{statistics.median(times):.2f} s, max {worst[2]['time_s']:.2f} s ({worst[0]}, p = {worst[1]}); "
              "goal (issue 14): each ≤ 15 s, median ≤ 2 s.",
              f"- Per instance (proven, median time): {per_instance}.",
              _published_summary(rows)]
    lines += _spopt_lines(spopt_runs, args)
    return "\n".join(lines)


def _spopt_lines(runs: list, args: argparse.Namespace) -> list[str]:
    """One line per case spopt was run on (``--spopt``)."""
    if not runs:
        return ["- spopt: not run in this table (`--spopt NAME:P`); its textbook model has one variable per pair "
                "(10⁶–2·10⁶ here)."]
    lines = [f"- spopt (`spopt.locate.PMedian.from_cost_matrix` + `pulp.HiGHS`, {args.time_limit:g} s solver limit, "
             f"stopped after {args.spopt_timeout:g} s in all, building included):"]
    for name, p, ours, spopt, seconds in runs:
        if spopt is None:
            theirs = f"not finished in {args.spopt_timeout:g} s"
        else:
            theirs = (f"{spopt['status']}, objective {fmt(spopt['objective'])}, {spopt['total_s']:.1f} s, "
                      f"peak {spopt['peak_mb']:,.0f} MB")
        lines.append(f"  - {name}, p = {p}: {theirs}; ours {ours['status']}, {fmt(ours['objective'])}, "
                     f"{ours['time_s']:.2f} s, peak {ours['peak_mb']:,.0f} MB (spopt took "
                     f"{'over ' if spopt is None else ''}{seconds / ours['time_s']:.0f}× our time).")
    return lines


def median_run(function, args: tuple, runs: int) -> dict:
    """``function(*args)`` run ``runs`` times, each in a fresh interpreter: the run of median time, with the
    range of the times as ``time_range``."""
    results = sorted((in_child(function, *args) for _ in range(max(runs, 1))), key=lambda r: r["time_s"])
    chosen = dict(results[(len(results) - 1) // 2])
    chosen["time_range"] = (results[0]["time_s"], results[-1]["time_s"])
    return chosen


def _time_range(result: dict) -> str:
    low, high = (f"{t:.2f}" for t in result.get("time_range", (result["time_s"], result["time_s"])))
    return f" ({low}–{high})" if high != low else ""


def _published_summary(rows: list) -> str:
    """One line: our optima against the published ones, and the times side by side."""
    matched = [(name, p, ours) for name, p, ours, _ in rows if p in PUBLISHED_PMEDIAN.get(name, {})]
    if not matched:
        return ("- Published reference (not rerun here): Duran-Mateluna, Alès & Elloumi's branch-and-Benders-cut "
                "with CPLEX needs at most about 15 s for TSPLIB instances of this size (issue 14); run with "
                "`--tsplib` on a directory holding rl1304.tsp to compare case by case.")
    equal = sum(ours["status"] == "optimal" and abs(ours["objective"] - PUBLISHED_PMEDIAN[name][p][0]) < 0.5
                for name, p, ours in matched)
    ours_median = statistics.median(ours["time_s"] for _, _, ours in matched)
    theirs_median = statistics.median(PUBLISHED_PMEDIAN[name][p][1] for name, p, _ in matched)
    return (f"- Against the published optima: {equal} of {len(matched)} proven equal; median time ours "
            f"{ours_median:.2f} s, published {theirs_median:.2f} s (their machine and CPLEX; ours this shared "
            "2-core machine and HiGHS).")


def mclp_section(args: argparse.Namespace, header: str, *, run_cfl: bool, with_qingdao: bool) -> str:
    load_before = os.getloadavg()[0]
    lines = [header, ""]
    if run_cfl:
        rows = _cfl_runs(args, MCLP_P, run_mclp_ours, run_mclp_plain)
        lines += ["Instances in the style of Cordeau, Furini & Ljubić (2019): 100 sites and 10⁵, 10⁶ or 10⁷ customers "
                  "uniform on a 30 × 30 square (seed 0), integer demands 1–100, radius 3.5, cardinality p. Ours: "
                  "`MCLP.from_cost_matrix(table, weights=d, radius=3.5, p=p).solve(\"highs\")` on the sparse table of "
                  "pairs within the radius (the k-d tree query is timed) — customers with identical covering sets "
                  "merged, dominated sites dropped, then the Lagrangian search by components where the paying "
                  "sites split, HiGHS otherwise (docs/exact.md). Plain HiGHS: the compact model with one row per "
                  f"customer, {args.plain_time_limit:g} s limit. Both stop at a gap below half a demand unit "
                  "(integral data: the optimum is exact).", "",
                  "| customers | p | pairs | classes | ours status | covered | share | time s | method | peak MB | "
                  "plain HiGHS | plain covered | plain bound | plain s | plain peak MB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n, p, ours, plain in rows:
            plain_cells = _plain_cells(plain)
            lines.append(f"| {n:,} | {p} | {ours['pairs']:,} | {ours['classes']:,} | {ours['status']} | "
                         f"{fmt(ours['objective'])} | {ours['share']:.1%} | {ours['time_s']:.2f} | "
                         f"{ours['method']} | {ours['peak_mb']:.0f} | " + " | ".join(plain_cells) + " |")
        lines += ["", f"Plain HiGHS is run up to {args.plain_max_customers:,} customers: in the first run of this "
                  "benchmark the plain model with 10⁶ rows was still in HiGHS after 14 minutes against its 60 s limit "
                  "(1.6 GB resident) and was stopped."]
        lines += ["", "Published reference: Cordeau, Furini & Ljubić (2019, EJOR) solve MCLP and partial set "
                  "covering instances of this generator with up to 2·10⁷ customers by branch-and-Benders-cut with "
                  "CPLEX; their per-instance times could not be retrieved offline for this note (the stored copies "
                  "of the paper give its abstract and formulation, not its result tables), so none is quoted here "
                  "(to be added from the paper's tables, with their hardware)."]
    if with_qingdao:
        for p in (int(x) for x in args.qingdao_p.split(",") if x):
            q = in_child(run_qingdao, p, args.time_limit)
            print("qingdao", p, q, flush=True)
            lines += ["", f"Qingdao public tier, reduced instance of `benchmarks/coverage.py` ({q['shape'][0]:,} demand "
                      f"points × {q['shape'][1]:,} candidates), p = {p}, {args.time_limit:g} s limit: status "
                      f"**{q['status']}**, covered {fmt(q['objective'], 1)}, bound {fmt(q['bound'], 1)}, "
                      f"{q['time_s']:.1f} s, peak {q['peak_mb']:.0f} MB ({q['classes']:,} customer classes, "
                      f"{q['dominated']:,} dominated sites dropped; {q['method']})."]
    lines += ["", f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."]
    return "\n".join(lines)


def _cfl_runs(args: argparse.Namespace, values: tuple, run_ours, run_plain) -> list[tuple]:
    """``(customers, value, ours, plain)`` for each size of :data:`MCLP_SIZES` and each value (p, units, share):
    ``run_ours(n, value, CFL_RADIUS, limit)`` in a fresh child, ``run_plain`` likewise up to
    ``--plain-max-customers`` (None above)."""
    rows = []
    for n in MCLP_SIZES:
        for value in values:
            ours = in_child(run_ours, n, value, CFL_RADIUS, args.time_limit)
            plain = (in_child(run_plain, n, value, CFL_RADIUS, args.plain_time_limit)
                     if n <= args.plain_max_customers else None)
            print(n, value, ours, plain, flush=True)
            rows.append((n, value, ours, plain))
    return rows


def _plain_cells(plain: dict | None) -> tuple[str, ...]:
    """Status, objective, bound, seconds and peak MB of a plain (unreduced) run, or "not run"."""
    if plain is None:
        return ("not run", "–", "–", "–", "–")
    return (plain["status"], fmt(plain["objective"]), fmt(plain["bound"]), f"{plain['time_s']:.1f}",
            f"{plain['peak_mb']:.0f}")


def capacitated_section(args: argparse.Namespace, header: str) -> str:
    """CapacitatedMCLP on the MCLP instances, ours (demand points merged) beside the same model unmerged."""
    load_before = os.getloadavg()[0]
    rows = _cfl_runs(args, CAPACITATED_UNITS, run_capacitated, run_capacitated_unmerged)
    lines = [header, "", "The instances of \"MCLP at scale\" (seed 0, radius 3.5) with capacities: "
             f"`CapacitatedMCLP.from_cost_matrix(table, weights=d, radius=3.5, total_units=u, capacity_per_unit=c, "
             f"min_units=1, max_units=3, distance_weight=0)` with c = {CAPACITY_SHARE:g} × total demand / "
             f"{CAPACITATED_UNITS[-1]}, so {CAPACITATED_UNITS[-1]} units can serve {CAPACITY_SHARE:.0%} of the "
             "demand; `.solve(\"highs\")`, gap 10⁻⁴, the k-d tree query timed. Ours merges the customers that reach "
             "the same sites (at the same value per unit served: with distance weight 0, the same sites) into one "
             "demand point of their summed weight and splits its assignment back by weight (exact), and links each "
             "pair to its site's units (`x_ij ≤ w_i · n_j`, where the capacity row does not imply it). Unmerged: the "
             "same model with one demand row per customer (`MERGE_AT_MOST = 0`), "
             f"{args.plain_time_limit:g} s limit.", "",
             "| customers | units | pairs | demand classes | ours status | served | share | bound | time s | "
             "rows × columns | peak MB | unmerged status | unmerged served | unmerged bound | unmerged s | "
             "unmerged peak MB |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, units, ours, plain in rows:
        plain_cells = _plain_cells(plain)
        lines.append(f"| {n:,} | {units} | {ours['pairs']:,} | {fmt(ours['classes'])} | {ours['status']} | "
                     f"{fmt(ours['objective'])} | {ours['share']:.1%} | {fmt(ours['bound'])} | {ours['time_s']:.2f} | "
                     f"{ours['constraints']:,} × {ours['variables']:,} | {ours['peak_mb']:.0f} | "
                     + " | ".join(plain_cells) + " |")
    lines += ["", "With a distance weight above 0 the value of serving a customer depends on its own distances, so "
              "customers merge only where they reach the same sites at the same distances (co-located points); "
              "such a model keeps a row per customer (docs/exact.md).",
              "", f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."]
    return "\n".join(lines)


def psclp_section(args: argparse.Namespace, header: str) -> str:
    """Partial set covering on the MCLP instances, ours beside plain HiGHS on the compact model."""
    load_before = os.getloadavg()[0]
    rows = _cfl_runs(args, PSCLP_SHARES, run_psclp_ours, run_psclp_plain)
    lines = [header, "", "The instances of \"MCLP at scale\" (seed 0, radius 3.5): the fewest sites that cover at "
             "least a share of the demand weight, `LSCP.from_cost_matrix(table, radius=3.5, weights=d, "
             "coverage=share).solve(\"highs\")`, the k-d tree query timed. Ours: the MCLP's exact reductions "
             "(customers with the same covering sites merged, dominated sites dropped), the fewest sites greedy "
             "and swaps reach the share with as the start, then HiGHS on the class model. Plain HiGHS: the "
             f"compact model with one row per customer, {args.plain_time_limit:g} s limit. spopt has no partial "
             "set covering model.", "",
             "| customers | share asked | pairs | classes | ours status | sites | bound | greedy + swaps sites | "
             "share covered | time s | peak MB | plain HiGHS | plain sites | plain bound | plain s | plain peak MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, share, ours, plain in rows:
        lines.append(f"| {n:,} | {share:.0%} | {ours['pairs']:,} | {ours['classes']:,} | {ours['status']} | "
                     f"{fmt(ours['objective'])} | {fmt(ours['bound'])} | {ours['heuristic']} | {ours['share']:.1%} | "
                     f"{ours['time_s']:.2f} | {ours['peak_mb']:.0f} | " + " | ".join(_plain_cells(plain)) + " |")
    lines += ["", "Published reference: Cordeau, Furini & Ljubić (2019) solve partial set covering on this "
              "generator by branch-and-Benders-cut with CPLEX; their result tables are not in the stored copies "
              "of the paper, so no time of theirs is quoted.",
              "", f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."]
    return "\n".join(lines)


def unseen_mclp_section(args: argparse.Namespace, header: str) -> str:
    """Ours on other seeds and radii of :func:`cfl_style`, 10⁵ and 10⁶ customers, p = 5 … 25."""
    load_before = os.getloadavg()[0]
    rows = []
    for spec in args.unseen_mclp.split(","):
        seed_text, radius_text = spec.split(":")
        seed, radius = int(seed_text), float(radius_text)
        for n in UNSEEN_MCLP_SIZES:
            for p in MCLP_P + (25,):
                ours = in_child(run_mclp_ours, n, p, radius, args.time_limit, seed)
                print(seed, radius, n, p, ours, flush=True)
                rows.append((seed, radius, n, p, ours))
    lines = [header, "", "Instances of the same generator as \"MCLP at scale\" with seeds and radii chosen after the "
             "code was written (`--unseen-mclp SEED:RADIUS,...`); ours only, "
             f"{args.time_limit:g} s limit, the k-d tree query timed.", "",
             "| seed | radius | customers | p | pairs | classes | status | covered | bound | share | time s | method | "
             "peak MB |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for seed, radius, n, p, ours in rows:
        lines.append(f"| {seed} | {radius:g} | {n:,} | {p} | {ours['pairs']:,} | {ours['classes']:,} | "
                     f"{ours['status']} | {fmt(ours['objective'])} | {fmt(ours['bound'])} | {ours['share']:.1%} | "
                     f"{ours['time_s']:.2f} | {ours['method']} | {ours['peak_mb']:.0f} |")
    proven = sum(r[4]["status"] == "optimal" for r in rows)
    times = [r[4]["time_s"] for r in rows]
    lines += ["", f"- Proven optimal: {proven} of {len(rows)}; median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s.",
              f"- 1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
