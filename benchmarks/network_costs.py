"""Road-network costs at city scale: siting's multi-source pass against osmnx per pair.

With no Qingdao extract offline, the network is generated: a perturbed grid of
``--nodes`` intersections about 200 m apart, two-way streets with 8 % of the
blocks' sides missing, edge lengths the jittered straight line × 1.0–1.3
(~100–300 m), speeds of five road classes. Demand points and candidate sites
are scattered near random nodes (up to 60 m off, so snapping counts).

Measured, in the same process:

* siting: :func:`siting.network.RoadNetwork.from_edges` (the CSR matrices,
  built once) and :func:`siting.network.network_costs` — snapping, batched
  multi-source Dijkstra with the cut-off, the long table — ``--runs`` times;
* baseline: ``osmnx.shortest_path`` (networkx Dijkstra) for ``--pairs`` sampled
  (demand, site) pairs within the straight-line cut-off, extrapolated to every
  pair within the straight-line cut-off (a lower bound of what a per-pair
  approach needs). The sampled pairs' costs are compared with ours.

Run ``python benchmarks/network_costs.py --write`` to update the
"Road-network costs" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, replace_section  # noqa: E402
from siting.network import RoadNetwork, network_costs  # noqa: E402

SPACING_M = 200.0
SPEEDS_KMH = np.array([30.0, 30.0, 40.0, 50.0, 60.0])  # residential ×2, tertiary, secondary, primary


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_grid(n_nodes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node coordinates and directed edges ``u, v, length_m, time_s`` of a perturbed grid."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_nodes)))
    rows, cols = np.divmod(np.arange(side * side), side)
    xy = np.column_stack([cols, rows]) * SPACING_M + rng.uniform(-40, 40, (side * side, 2))
    right = np.flatnonzero(cols < side - 1)
    up = np.flatnonzero(rows < side - 1)
    a = np.concatenate([right, up])
    b = np.concatenate([right + 1, up + side])
    keep = rng.random(len(a)) > 0.08
    a, b = a[keep], b[keep]
    length = np.hypot(*(xy[a] - xy[b]).T) * rng.uniform(1.0, 1.3, len(a))
    speed = SPEEDS_KMH[rng.integers(0, len(SPEEDS_KMH), len(a))] / 3.6
    u, v = np.concatenate([a, b]), np.concatenate([b, a])
    length = np.concatenate([length, length])
    return xy, u, v, length, length / np.concatenate([speed, speed])


def scatter(xy: np.ndarray, n: int, prefix: str, rng: np.random.Generator, id_column: str) -> pd.DataFrame:
    at = rng.integers(0, len(xy), n)
    points = xy[at] + rng.uniform(-60, 60, (n, 2))
    return pd.DataFrame({id_column: [f"{prefix}{i}" for i in range(n)], "x_m": points[:, 0], "y_m": points[:, 1]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--sites", type=int, default=5_000)
    parser.add_argument("--demand", type=int, default=15_000)
    parser.add_argument("--cutoff-m", type=float, default=3_000.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=50, help="sampled pairs for the osmnx baseline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    command = "python benchmarks/network_costs.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    xy, u, v, length, travel_s = make_grid(args.nodes, args.seed)
    generate_s = time.perf_counter() - t0
    demand = scatter(xy, args.demand, "d", rng, "demand_id")
    sites = scatter(xy, args.sites, "s", rng, "site_id")
    edge_m = length[: len(length) // 2]
    print(f"graph: {len(xy):,} nodes, {len(u):,} directed edges (median {np.median(edge_m):.0f} m, "
          f"5–95 % {np.percentile(edge_m, 5):.0f}–{np.percentile(edge_m, 95):.0f} m), generated in {generate_s:.1f} s")

    t0 = time.perf_counter()
    network = RoadNetwork.from_edges(xy, u, v, length, travel_s, source="generated grid", crs="EPSG:32651",
                                     default_speed_kmh=30.0)
    csr_s = time.perf_counter() - t0
    print(f"CSR matrices: {csr_s:.2f} s")

    times, costs = [], None
    for run in range(args.runs):
        gc.collect()
        t0 = time.perf_counter()
        costs = network_costs(demand, sites, network, radius=args.cutoff_m)
        times.append(time.perf_counter() - t0)
        print(f"run {run + 1}: network_costs {times[-1]:.2f} s, {len(costs):,} pairs")
    t0 = time.perf_counter()
    time_costs = network_costs(demand, sites, network, radius=args.cutoff_m / (40 / 3.6), cost="time")
    time_cost_s = time.perf_counter() - t0
    ours_peak_mb = peak_rss_mb()
    ours_s = statistics.median(times)
    print(f"median {ours_s:.2f} s; time costs ({args.cutoff_m / (40 / 3.6):.0f} s cut-off) {time_cost_s:.2f} s, "
          f"{len(time_costs):,} pairs; peak RSS so far {ours_peak_mb:.0f} MB")

    # baseline: osmnx.shortest_path per pair, on a networkx graph of the same roads
    import networkx as nx
    import osmnx as ox
    straight_pairs = cKDTree(sites[["x_m", "y_m"]].to_numpy()).query_ball_point(
        demand[["x_m", "y_m"]].to_numpy(), r=args.cutoff_m)
    n_straight = int(sum(len(p) for p in straight_pairs))
    t0 = time.perf_counter()
    graph = nx.MultiDiGraph(crs="EPSG:32651")
    graph.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(xy))
    graph.add_edges_from((a, b, {"length": w}) for a, b, w in zip(u.tolist(), v.tolist(), length.tolist(),
                                                                    strict=True))
    nx_build_s = time.perf_counter() - t0
    tree = cKDTree(xy)
    d_snap, d_node = tree.query(demand[["x_m", "y_m"]].to_numpy())
    s_snap, s_node = tree.query(sites[["x_m", "y_m"]].to_numpy())
    candidates = [(i, j) for i, p in enumerate(straight_pairs) for j in p]
    sample = [candidates[k] for k in rng.choice(len(candidates), size=min(args.pairs, len(candidates)),
                                                replace=False)]
    ours = costs.set_index(["demand_id", "site_id"])["cost"]
    per_pair, mismatches = [], 0
    for i, j in sample:
        t0 = time.perf_counter()
        route = ox.shortest_path(graph, int(d_node[i]), int(s_node[j]), weight="length")
        route_m = (sum(min(e["length"] for e in graph[a][b].values()) for a, b in zip(route[:-1], route[1:],
                                                                                       strict=True))
                   if route else np.inf)
        per_pair.append(time.perf_counter() - t0)
        expected = d_snap[i] + route_m + s_snap[j]
        key = (demand["demand_id"].iat[i], sites["site_id"].iat[j])
        got = ours.get(key, np.inf)
        if not (np.isclose(got, expected) or (expected > args.cutoff_m and got == np.inf)):
            mismatches += 1
    pair_s = statistics.median(per_pair)
    baseline_s = pair_s * n_straight
    nx_per_pair = []
    for i, j in sample:
        t0 = time.perf_counter()
        with contextlib.suppress(nx.NetworkXNoPath):
            nx.shortest_path_length(graph, int(d_node[i]), int(s_node[j]), weight="length")
        nx_per_pair.append(time.perf_counter() - t0)
    nx_pair_s = statistics.median(nx_per_pair)
    print(f"networkx.shortest_path_length: median {nx_pair_s * 1000:.2f} ms per pair = "
          f"{nx_pair_s * n_straight:,.0f} s extrapolated")
    print(f"osmnx.shortest_path: median {pair_s * 1000:.1f} ms per pair × {n_straight:,} pairs within "
          f"{args.cutoff_m:.0f} m straight = {baseline_s:,.0f} s (networkx graph built in {nx_build_s:.1f} s); "
          f"{mismatches} mismatches in {len(sample)} sampled pairs")

    if args.write:
        body = f"""\
Command: `{command}` — {machine()}.

Issue 5's goal: a drive network of Qingdao's size (≈ 200,000 nodes), 5,000 candidates, 15,000 demand
points, 3 km cut-off in ≤ 60 s and ≤ 4 GB. No Qingdao extract is available offline, so the network is
generated: a perturbed grid of {len(xy):,} nodes and {len(u):,} directed edges (two-way streets, 8 % of
block sides missing), edge lengths median {np.median(edge_m):.0f} m (5–95 %:
{np.percentile(edge_m, 5):.0f}–{np.percentile(edge_m, 95):.0f} m), five speed classes (30–60 km/h).
{args.demand:,} demand points and {args.sites:,} sites lie up to 60 m off random nodes.

| step | median | note |
|---|---|---|
| CSR matrices from the edges (once per plan) | {csr_s:.2f} s | `RoadNetwork.from_edges` |
| `network_costs`, distance, {args.cutoff_m:,.0f} m cut-off | **{ours_s:.2f} s** | {args.runs} runs (min {min(times):.2f}, max {max(times):.2f}); snapping, batched multi-source Dijkstra, table of {len(costs):,} pairs |
| `network_costs`, time, {args.cutoff_m / (40 / 3.6):.0f} s cut-off | {time_cost_s:.2f} s | 1 run; {len(time_costs):,} pairs |
| `osmnx.shortest_path` per pair (baseline) | {pair_s * 1000:.1f} ms/pair | {len(sample)} sampled pairs within {args.cutoff_m:,.0f} m straight; networkx graph built in {nx_build_s:.1f} s |
| baseline extrapolated to the {n_straight:,} pairs within {args.cutoff_m:,.0f} m straight | {baseline_s:,.0f} s | a lower bound: a per-pair approach also needs those pairs found |
| `networkx.shortest_path_length` per pair | {nx_pair_s * 1000:.2f} ms/pair | same pairs; extrapolated: {nx_pair_s * n_straight:,.0f} s |

One `osmnx.shortest_path(G, orig, dest)` call first checks the weight attribute of every edge of the
graph, which dominates at this size; passing lists of origins and destinations checks once and then
costs what bare networkx does. The fair per-pair baseline is therefore networkx's:
the multi-source pass is **{nx_pair_s * n_straight / ours_s:,.0f}× faster** than it
({baseline_s / ours_s:,.0f}× faster than one osmnx call per pair). 
Peak memory (RSS) of the process after the generation and our passes, before the networkx graph is
built: **{ours_peak_mb:,.0f} MB**. The sampled pairs' costs agree with osmnx's routes (+ the same
snapping legs): {mismatches} mismatches in {len(sample)}.
"""
        replace_section("Road-network costs", body)
        print("docs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
