"""The cost–coverage trade-off of the default plan's public tier: a sweep over the site cost.

Builds the default Qingdao scenario's public-tier problem once (the plan's own
stages), then solves it for each site cost in the sweep (every other input
unchanged: 40,000 chargers at 35,000 CNY each, κ = 0.03) and records the sites
opened, the demand covered, the cost and the solver's status. Writes the chart
``docs/img/cost_frontier.png`` and the section "Cost–coverage frontier" of
docs/benchmarks.md.

Usage::

    python benchmarks/cost_frontier.py [--site-costs 0,100000,200000,400000,800000,1600000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, replace_section, solver_versions  # noqa: E402
from siting.allocate import allocate  # noqa: E402
from siting.plan import plan_with  # noqa: E402
from siting.scenario import Solver, load_scenario  # noqa: E402

CHART = Path(__file__).resolve().parents[1] / "docs" / "img" / "cost_frontier.png"


def public_problem():
    """The default scenario's public-tier problem, as the plan builds it (the other tiers not solved)."""
    captured = {}

    class _Stop(Exception):
        pass

    def capture(problem, solver):
        captured["problem"] = problem
        raise _Stop

    try:
        plan_with(load_scenario(), capture)
    except _Stop:
        pass
    return dataclasses.replace(captured["problem"], years=(), period_targets=())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-costs", default="0,100000,200000,400000,800000,1600000")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md and the chart")
    args = parser.parse_args()
    header = machine()
    problem = public_problem()
    rows = []
    for site_cost in (float(v) for v in args.site_costs.split(",")):
        variant = dataclasses.replace(problem, sites=problem.sites.assign(site_cost_cny=site_cost))
        start = time.perf_counter()
        plan = allocate(variant, Solver(name="highs", time_limit_s=args.time_limit, mip_gap=0.01))
        wall = time.perf_counter() - start
        new = plan.sites[plan.sites["status"] == "new"]
        rows.append({"site_cost_cny": site_cost, "sites": len(new), "candidates": len(plan.sites),
                     "coverage": plan.coverage, "cost_cny": plan.cost_cny, "status": plan.result.status,
                     "gap": plan.result.gap, "wall_s": wall})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    if not args.write:
        return
    _chart(table)
    lines = ["| site cost (CNY) | sites opened | of candidates | demand covered | tier cost (bn CNY) | status | gap | "
             "solve wall (s) |", "|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.site_cost_cny:,.0f} | {r.sites:,} | {100 * r.sites / r.candidates:.0f} % | "
                     f"{100 * r.coverage:.2f} % | {r.cost_cny / 1e9:.3f} | {r.status} | "
                     f"{100 * (r.gap or 0):.2f} % | {r.wall_s:.1f} |")
    body = (f"`python benchmarks/cost_frontier.py --write` — {header}; {solver_versions()}.\n\n"
            "The default plan's public tier (40,000 chargers at 35,000 CNY, κ = 0.03, gap 1 %, time limit "
            f"{args.time_limit:g} s) solved for each site cost. Chart: `docs/img/cost_frontier.png` "
            "(docs/model.md).\n\n" + "\n".join(lines))
    replace_section("Cost–coverage frontier (public tier)", body)


def _chart(table: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(table["site_cost_cny"] / 1e3, table["sites"], marker="o")
    left.set_xlabel("site cost (thousand CNY)")
    left.set_ylabel("public sites opened")
    left.grid(alpha=0.3)
    right.plot(table["cost_cny"] / 1e9, 100 * table["coverage"], marker="o")
    for r in table.itertuples():
        right.annotate(f"{r.site_cost_cny / 1e3:,.0f}k", (r.cost_cny / 1e9, 100 * r.coverage), fontsize=7,
                       xytext=(3, 3), textcoords="offset points")
    right.set_xlabel("public tier cost (billion CNY)")
    right.set_ylabel("public demand covered (%)")
    right.grid(alpha=0.3)
    fig.suptitle("Qingdao public tier: where to build as sites cost more", fontsize=10)
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=110, metadata={"Software": None})


if __name__ == "__main__":
    main()
