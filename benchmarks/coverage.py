"""MCLP on the Qingdao public tier: siting's MCLP against spopt's MCLP and the greedy heuristic.

Usage::

    python benchmarks/coverage.py [--runs 3] [--spopt-runs 3] [--spopt-timeout 300] [--fixed-p 300]
        [--time-limit 600] [--no-write]

The instance is the public tier of the default scenario exactly as ``siting
plan`` builds it: :func:`siting.plan.plan_with` runs the plan once with an
``allocate`` that records the public tier's demand points, candidates and
cost settings (and solves it as usual), and the costs are
:func:`siting.costs.travel_costs` of those, as :func:`siting.allocate.allocate`
computes them. ``p`` is the number of public sites the capacitated plan
opened. All three methods get the same demand weights
(``public_sessions_per_day``), candidates, radius and ``p``; coverage is
recomputed from each method's chosen sites on the same cost table.

spopt needs the dense matrix (and builds its model with a Python loop over
every cell), so each spopt run happens in a child process stopped after
``--spopt-timeout`` seconds; the comparison is repeated on the exactly
equivalent reduced instance (demand points some candidate reaches, candidates
that reach some demand point) and there also with a smaller fixed p.

Writes the section "MCLP on the Qingdao public tier" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import (  # noqa: E402
    in_forked_child,
    machine,
    mclp_method,
    replace_section,
    solver_versions,
    spopt_failure,
)
from siting.allocate import allocate  # noqa: E402
from siting.models import MCLP, greedy_mclp  # noqa: E402
from siting.plan import plan_with  # noqa: E402
from siting.scenario import load_scenario  # noqa: E402

log = logging.getLogger("coverage")


def public_tier_instance() -> dict:
    """Demand, candidates, long cost table, radius and ``p`` of the default scenario's public tier."""
    scenario = load_scenario()
    captured: dict = {}

    def recording_allocate(problem, solver):
        plan = allocate(problem, solver)
        if problem.name == "public":
            captured.update(problem=problem, plan=plan)
        return plan

    start = time.perf_counter()
    plan_with(scenario, recording_allocate)
    plan_s = time.perf_counter() - start
    problem, plan = captured["problem"], captured["plan"]
    demand = problem.demand[(problem.demand["weight"] > 0)
                            | problem.demand["demand_id"].isin(problem.required)].reset_index(drop=True)
    candidates = problem.sites
    costs = problem.costs(demand)
    radius = problem.radius
    opened = plan.sites[plan.sites["selected"]]
    if (opened["status"] == "existing").any():
        msg = "the public tier has existing sites; this benchmark compares new sites only"
        raise SystemExit(msg)
    return {"scenario": scenario, "demand": demand, "candidates": candidates, "costs": costs, "radius": radius,
            "cost_kind": problem.spec.cost, "circuity": problem.circuity, "p": int(len(opened)),
            "plan_s": plan_s, "plan_status": plan.result.status}


def covered_weight(dense: np.ndarray, weights: np.ndarray, radius: float, sites: np.ndarray) -> float:
    """Demand weight within ``radius`` of at least one of ``sites`` (column positions)."""
    if len(sites) == 0:
        return 0.0
    return float(weights[(dense[:, sites] <= radius).any(axis=1)].sum())


def reduced(view: dict) -> dict:
    """The same covering problem without the demand points no candidate reaches and the candidates that reach none.

    Exact for coverage: what is dropped can neither cover nor be covered.
    """
    costs = view["costs"]
    demand = view["demand"][view["demand"]["demand_id"].isin(costs["demand_id"])].reset_index(drop=True)
    candidates = view["candidates"][view["candidates"]["site_id"].isin(costs["site_id"])].reset_index(drop=True)
    return {**view, "demand": demand, "candidates": candidates, "label": "reduced"}


def run_ours(view: dict, p: int, time_limit_s: float) -> dict:
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(view["costs"][["demand_id", "site_id", "cost"]],
                                  weights=view["demand"]["weight"].to_numpy(dtype=float), radius=view["radius"], p=p,
                                  demand_ids=view["demand"]["demand_id"], site_ids=view["candidates"]["site_id"])
    result = model.solve("highs", time_limit_s=time_limit_s)
    total = time.perf_counter() - start
    return {"selected": result.selected, "status": result.status, "bound": result.bound,
            "build_s": result.build_time_s, "solve_s": result.solve_time_s, "total_s": total,
            "variables": result.n_variables, "constraints": result.n_constraints,
            "settled_by": mclp_method(result)}


def run_greedy(view: dict, p: int) -> dict:
    start = time.perf_counter()
    result = greedy_mclp(view["costs"][["demand_id", "site_id", "cost"]],
                         weights=view["demand"]["weight"].to_numpy(dtype=float), radius=view["radius"], p=p,
                         demand_ids=view["demand"]["demand_id"], site_ids=view["candidates"]["site_id"])
    return {"selected": result.selected, "status": "heuristic", "total_s": time.perf_counter() - start}


def dense_matrix(view: dict) -> np.ndarray:
    """The full demand × candidate matrix spopt needs; pairs out of reach lie beyond the radius."""
    costs = view["costs"]
    row = pd.Index(view["demand"]["demand_id"]).get_indexer(costs["demand_id"])
    col = pd.Index(view["candidates"]["site_id"]).get_indexer(costs["site_id"])
    dense = np.full((len(view["demand"]), len(view["candidates"])), 2.0 * view["radius"] + 1.0)
    np.minimum.at(dense, (row, col), costs["cost"].to_numpy())
    return dense


def run_spopt(view: dict, p: int, time_limit_s: float) -> dict:
    from spopt.locate import MCLP as SpoptMCLP

    site_ids = view["candidates"]["site_id"].to_numpy()
    weights = view["demand"]["weight"].to_numpy(dtype=float)
    start = time.perf_counter()
    dense = dense_matrix(view)
    model = SpoptMCLP.from_cost_matrix(dense, weights, service_radius=view["radius"], p_facilities=p)
    build = time.perf_counter() - start
    try:
        # results=False skips spopt's post-processing (client/facility lookups): in spopt's favour
        model = model.solve(pulp.HiGHS(msg=False, timeLimit=time_limit_s), results=False)
    except Exception as error:  # spopt raises on anything but "Optimal"
        return {"selected": [], "status": spopt_failure(model, error), "build_s": build,
                "total_s": time.perf_counter() - start}
    total = time.perf_counter() - start
    highs = model.problem.solverModel
    proven = highs.getModelStatus() == highs.getModelStatus().kOptimal
    chosen = [site_ids[j] for j, var in enumerate(model.fac_vars) if (var.varValue or 0.0) > 0.5]
    return {"selected": chosen, "status": "optimal" if proven else "time limit", "build_s": build,
            "total_s": total}


def run_spopt_with_timeout(view: dict, p: int, time_limit_s: float, timeout_s: float) -> dict:
    """spopt in a forked child, stopped after ``timeout_s`` (its model building has no time limit)."""
    outcome, seconds = in_forked_child(run_spopt, (view, p, time_limit_s), timeout_s)
    if outcome is None:
        return {"selected": [], "status": f"not finished in {timeout_s:g} s", "total_s": seconds, "unfinished": True}
    return outcome


def compare(view: dict, p: int, args: argparse.Namespace) -> dict:
    """Ours, greedy and spopt on one instance and ``p``; coverage recomputed on the same matrix."""
    weights = view["demand"]["weight"].to_numpy(dtype=float)
    log.info("%s instance: %d demand points x %d candidates, %d pairs within reach, p=%d", view["label"],
             len(view["demand"]), len(view["candidates"]), len(view["costs"]), p)
    runs: dict[str, list[dict]] = {"siting MCLP (HiGHS)": [], "greedy_mclp": [], "spopt MCLP (HiGHS)": []}
    for k in range(max(args.runs, args.spopt_runs)):
        if k < args.runs:
            runs["siting MCLP (HiGHS)"].append(run_ours(view, p, args.time_limit))
            runs["greedy_mclp"].append(run_greedy(view, p))
        if k < args.spopt_runs and not (runs["spopt MCLP (HiGHS)"] and
                                        runs["spopt MCLP (HiGHS)"][-1].get("unfinished")):
            runs["spopt MCLP (HiGHS)"].append(run_spopt_with_timeout(view, p, args.time_limit, args.spopt_timeout))
        log.info("run %d: %s", k + 1, {name: (r[-1]["status"], round(r[-1]["total_s"], 2))
                                       for name, r in runs.items() if len(r) > k})
    dense = dense_matrix(view)
    position = {site: k for k, site in enumerate(view["candidates"]["site_id"])}
    rows = []
    for name, results in runs.items():
        first = results[0]
        sites = np.array([position[s] for s in first["selected"]], dtype=np.int64)
        rows.append({
            "method": name, "status": first["status"], "sites": len(sites),
            "covered": None if first.get("unfinished") else covered_weight(dense, weights, view["radius"], sites),
            "time_s": statistics.median(r["total_s"] for r in results), "times": [r["total_s"] for r in results],
            "build_s": first.get("build_s"), "solve_s": first.get("solve_s"), "bound": first.get("bound"),
            "variables": first.get("variables"), "constraints": first.get("constraints"),
            "unfinished": bool(first.get("unfinished")), "settled_by": first.get("settled_by"),
        })
    return {"label": view["label"], "p": p, "shape": dense.shape, "pairs": len(view["costs"]),
            "total_weight": float(weights.sum()), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of ours and of the greedy heuristic")
    parser.add_argument("--spopt-runs", type=int, default=3, help="timed runs of spopt (each instance and p)")
    parser.add_argument("--time-limit", type=float, default=600.0, help="solver limit per solve, both MIPs (s)")
    parser.add_argument("--spopt-timeout", type=float, default=300.0,
                        help="wall-clock limit per spopt run, model building included (s)")
    parser.add_argument("--fixed-p", type=int, default=300,
                        help="a second, smaller p on the reduced instance, where the choice of sites matters")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    instance = public_tier_instance()
    full = {**instance, "label": "full"}
    small = reduced(full)
    comparisons = [compare(full, instance["p"], args), compare(small, min(args.fixed_p, len(small["candidates"])), args)]
    body = render(comparisons, instance, args, argv)
    print(body)
    if not args.no_write:
        replace_section("MCLP on the Qingdao public tier", body)
    return 0


def render(comparisons: list[dict], instance: dict, args: argparse.Namespace, argv: list[str] | None) -> str:
    command = "python benchmarks/coverage.py " + " ".join(sys.argv[1:] if argv is None else argv)
    unit = "m" if instance["cost_kind"] == "distance" else "s"
    full = comparisons[0]
    lines = [
        f"Command: `{command.strip()}` — {machine()}; {solver_versions()}.",
        "",
        f"Instance: the public tier of the default scenario (`{instance['scenario'].name}`) as `siting plan` builds "
        f"it — {full['shape'][0]:,} demand points (weight `public_sessions_per_day`, {full['total_weight']:,.0f} "
        f"sessions/day in all), {full['shape'][1]:,} candidates, {full['pairs']:,} pairs within the radius of "
        f"{instance['radius']:g} {unit} ({instance['cost_kind']}, circuity {instance['circuity']:g}). "
        f"p = {instance['p']:,} is the number of public sites the capacitated plan opened (plan status "
        f"{instance['plan_status']}). The *reduced* instance drops the demand points no candidate reaches and the "
        "candidates that reach no demand point — the same covering problem (nothing dropped can cover or be "
        "covered), with a dense matrix spopt can build in reasonable time; on it p is set to "
        f"{args.fixed_p} (a documented fixed p), where the choice of sites matters.",
        "",
        "Ours: `MCLP.from_cost_matrix(long_table, weights=w, radius=r, p=p, demand_ids=..., site_ids=...)"
        ".solve(\"highs\")`. spopt: `spopt.locate.MCLP.from_cost_matrix(dense, w, service_radius=r, "
        "p_facilities=p)` on the dense matrix it needs (pairs out of reach beyond the radius; building it is "
        "timed), `.solve(pulp.HiGHS(...), results=False)`, run in a child process stopped after "
        f"{args.spopt_timeout:g} s. Greedy: `greedy_mclp`. Coverage is recomputed from each method's sites on the "
        f"same matrix; times are wall-clock seconds including model building, median of {args.runs} runs (ours, "
        f"greedy) and up to {args.spopt_runs} (spopt; one if it did not finish).",
        "",
        "| instance | demand × candidates | p | method | status | sites | covered (sessions/day) | share | time s "
        "(median) | runs s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        for r in c["rows"]:
            covered = "–" if r["covered"] is None else f"{r['covered']:,.1f}"
            share = "–" if r["covered"] is None else f"{r['covered'] / c['total_weight']:.2%}"
            lines.append(f"| {c['label']} | {c['shape'][0]:,} × {c['shape'][1]:,} | {c['p']:,} | {r['method']} "
                         f"| {r['status']} | {r['sites']:,} | {covered} | {share} | {r['time_s']:.2f} "
                         f"| {', '.join(f'{t:.2f}' for t in r['times'])} |")
    lines.append("")
    for c in comparisons:
        ours, greedy, spopt = c["rows"]
        model = (f"{ours['variables']:,} variables, {ours['constraints']:,} constraints" if ours["variables"]
                 else f"no MIP built: {ours['settled_by']}")
        text = (f"- {c['label']}, p = {c['p']:,}: ours reductions and start {ours['build_s']:.2f} s + search and "
                f"solve {ours['solve_s']:.2f} s ({model}); ours − greedy "
                f"{ours['covered'] - greedy['covered']:+,.1f} sessions/day")
        if spopt["unfinished"]:
            text += (f"; spopt did not finish within {args.spopt_timeout:g} s, so spopt / ours > "
                     f"{spopt['time_s'] / ours['time_s']:.0f}×")
        elif spopt["covered"] is not None:
            text += (f"; ours − spopt {ours['covered'] - spopt['covered']:+,.1f} sessions/day; time spopt / ours = "
                     f"{spopt['time_s'] / ours['time_s']:.1f}× (goal ≥ 5×)")
        lines.append(text + ".")
    return "\n".join(lines)


def _num(value) -> str:
    return "–" if value is None else f"{value:,.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
