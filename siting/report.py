"""``report.html``: the one-page summary of a plan for the bureau.

Targets vs. placed per tier with the solver's status and gap, a per-district
table (Chinese and English names), and three plots made with matplotlib —
chargers vs. demand per district, demand covered per tier, hydrogen hub
coverage — embedded as inline SVG, so the page is one self-contained file
that prints on A4. Every string from a user's files is HTML-escaped.
"""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siting.render import CHARGER_TIERS, TIER_COLOURS, TIER_LABELS, district_metrics

if TYPE_CHECKING:
    from siting.plan import Plan


def render_report(plan: Plan) -> str:
    """The plan's summary as one self-contained HTML document (UTF-8 text)."""
    s = plan.scenario
    title = _esc(s.title or s.name)
    table = district_metrics(plan).merge(
        plan.boundaries[["district_code", "district_name", "district_name_en"]], on="district_code", how="left")
    parts = [
        f"<h1>{title}</h1>",
        f"<p class='sub'>scenario <b>{_esc(s.name)}</b> · scenario file sha256 {_esc(s.content_hash[:12])}… · "
        f"{len(plan.boundaries)} districts · {table['evs'].sum():,.0f} EVs</p>",
        "<h2>Targets and what the plan placed</h2>",
        _tier_table(plan),
        "<h2>Per district</h2>",
        _district_table(table),
        "<h2>Charts</h2>",
        "<div class='charts'>",
        _figure(_chargers_vs_demand_figure(plan, table),
                "Each district's share of a tier's chargers beside its share of that tier's demand."),
        _figure(_coverage_figure(plan), "Share of each tier's demand within reach of a site with spare capacity."),
    ]
    if "hydrogen" in plan.tiers and plan.hubs is not None:
        parts.append(_figure(_hub_figure(plan), "Hydrogen demand hubs: demand and the part the stations serve."))
    parts.append("</div>")
    parts.append("<p class='note'>Status <i>optimal</i> means the solver proved optimality; <i>feasible</i> means it "
                 "stopped within the scenario's MIP gap (shown). Demand units differ by tier: sessions/day (public, "
                 "rural), EVs with a home parking place (residential), kg/day (hydrogen). “Fair share” splits the "
                 "charger target by the districts' EVs. Written by siting; see plan.json for the full record.</p>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title} — siting report</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n")


_CSS = """
body{font:13px/1.4 "Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;max-width:1050px;margin:20px auto;
  padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:18px 0 6px;border-bottom:1px solid #ccc}
.sub{color:#555;margin:0 0 8px}.note{color:#555;font-size:12px}
table{border-collapse:collapse;margin:4px 0}th,td{padding:2px 7px;border-bottom:1px solid #e4e4e4}
th{text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:1px solid #999}
.ok{color:#1a7f37}.warn{color:#b35900}
.charts{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}figure{margin:0;flex:0 1 auto}
figcaption{font-size:12px;color:#555;max-width:600px}figure svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}figure{break-inside:avoid}}
"""


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value))


def _pct(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f} %"


def _tier_table(plan: Plan) -> str:
    rows = []
    for tier, tp in plan.tiers.items():
        r = tp.result
        unit = "stations" if tier == "hydrogen" else "chargers"
        sites = int((tp.sites["status"] != "candidate").sum())
        demand = float(tp.demand["demand"].sum())
        met = tp.units_placed == tp.target
        status_class = "ok" if r.status == "optimal" else "warn" if r.status != "feasible" else ""
        gap = "–" if r.gap is None else f"{100 * r.gap:.2f} %"
        rows.append(
            f"<tr><td>{_esc(TIER_LABELS.get(tier, tier))}</td><td class='n'>{tp.target:,}</td>"
            f"<td class='n {'ok' if met else 'warn'}'>{tp.units_placed:,}</td><td>{unit}</td>"
            f"<td class='n'>{sites:,}</td><td class='n'>{demand:,.0f} {_esc(tp.demand_unit)}</td>"
            f"<td class='n'>{_pct(tp.coverage)}</td><td class='{status_class}'>{_esc(r.status)}</td>"
            f"<td class='n'>{gap}</td><td>{_esc(r.solver)}</td><td class='n'>{r.solve_time_s:,.1f} s</td>"
            f"<td class='n'>{r.n_variables:,} × {r.n_constraints:,}</td></tr>")
    return ("<table><tr><th>Tier</th><th>Target</th><th>Placed</th><th></th><th>Sites</th><th>Demand</th>"
            "<th>Covered</th><th>Status</th><th>Gap</th><th>Solver</th><th>Solve time</th>"
            "<th>Variables × constraints</th></tr>" + "".join(rows) + "</table>")


def _district_table(table: pd.DataFrame) -> str:
    rows = []
    for row in table.itertuples():
        same = str(row.district_name_en).strip() == str(row.district_name).strip()
        cells = [f"<td>{_esc(row.district_name)}</td><td>{'' if same else _esc(row.district_name_en)}</td>",
                 f"<td class='n'>{row.evs:,.0f}</td>"]
        cells += [f"<td class='n'>{getattr(row, f'chargers_{t}'):,}</td>" for t in CHARGER_TIERS]
        per_1000 = "–" if not np.isfinite(row.chargers_per_1000_evs) else f"{row.chargers_per_1000_evs:.1f}"
        cells.append(f"<td class='n'>{per_1000}</td>")
        cells += [f"<td class='n'>{_pct(getattr(row, f'covered_{t}'))}</td>" for t in CHARGER_TIERS]
        fair = "–" if not np.isfinite(row.vs_fair_share) else f"{row.vs_fair_share:.2f}×"
        cells.append(f"<td class='n'>{fair}</td><td class='n'>{row.hydrogen_stations}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total_evs = table["evs"].sum()
    totals = [int(table[f"chargers_{t}"].sum()) for t in CHARGER_TIERS]
    per_1000 = 1000 * sum(totals) / total_evs if total_evs > 0 else float("nan")
    rows.append("<tr class='total'><td>Total</td><td></td>"
                f"<td class='n'>{total_evs:,.0f}</td>" + "".join(f"<td class='n'>{v:,}</td>" for v in totals)
                + f"<td class='n'>{per_1000:.1f}</td><td></td><td></td><td></td><td class='n'>1.00×</td>"
                f"<td class='n'>{int(table['hydrogen_stations'].sum())}</td></tr>")
    head = ("<tr><th>District</th><th></th><th>EVs</th><th>Public</th><th>Residential</th><th>Rural</th>"
            "<th>per 1,000 EVs</th><th>Public covered</th><th>Residential covered</th><th>Rural covered</th>"
            "<th>vs. fair share</th><th>New H₂ stations</th></tr>")
    return "<table>" + head + "".join(rows) + "</table>"


# --- charts --------------------------------------------------------------------------------------------------------

def _label(row) -> str:
    """An English district label for a chart (CJK glyphs may be missing from the plotting fonts)."""
    name = row.get("district_name_en")
    text = str(name) if isinstance(name, str) and name.strip() else str(row["district_code"])
    return text.replace("$", r"\$")  # no mathtext from user names


def _new_figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


def _chargers_vs_demand_figure(plan: Plan, table: pd.DataFrame):
    summary = plan.districts()
    tiers = [t for t in CHARGER_TIERS if t in plan.tiers]
    labels = [_label(row) for _, row in table.iterrows()]
    fig = _new_figure(7.5, 1.2 + 0.32 * len(labels))
    axes = fig.subplots(1, len(tiers), sharey=True, squeeze=False)[0]
    y = np.arange(len(labels))
    for ax, tier in zip(axes, tiers, strict=True):
        rows = summary[summary["tier"] == tier].set_index("district_code").reindex(table["district_code"])
        units = rows["units"].fillna(0).to_numpy(dtype=float)
        demand = rows["demand"].fillna(0).to_numpy(dtype=float)
        unit_share = units / units.sum() if units.sum() > 0 else units
        demand_share = demand / demand.sum() if demand.sum() > 0 else demand
        ax.barh(y - 0.2, 100 * unit_share, height=0.4, color=TIER_COLOURS[tier], label="chargers")
        ax.barh(y + 0.2, 100 * demand_share, height=0.4, color="#bbbbbb", label="demand")
        ax.set_title(TIER_LABELS[tier], fontsize=10)
        ax.set_xlabel("% of the tier", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    return fig


def _coverage_figure(plan: Plan):
    tiers = list(plan.tiers)
    fig = _new_figure(4.4, 2.8)
    ax = fig.subplots()
    coverage = [100 * plan.tiers[t].coverage for t in tiers]
    bars = ax.bar(range(len(tiers)), coverage, color=[TIER_COLOURS.get(t, "#777") for t in tiers])
    for bar, value in zip(bars, coverage, strict=True):
        ax.annotate(f"{value:.1f} %", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(tiers)), [t.capitalize() for t in tiers], fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("demand covered (%)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_title("Demand covered by tier", fontsize=9)
    return fig


def _hub_figure(plan: Plan):
    tp = plan.tiers["hydrogen"]
    served = tp.demand.set_index("demand_id")["served"]
    hubs = plan.hubs.copy()
    hubs["served"] = hubs["hub_id"].astype(str).map(served).fillna(0.0).to_numpy(dtype=float)
    hubs = hubs.sort_values("demand_kg_per_day", ascending=True)
    labels = [str(h).replace("$", r"\$") for h in hubs["hub_id"]]
    fig = _new_figure(4.4, 1.0 + 0.22 * len(hubs))
    ax = fig.subplots()
    y = np.arange(len(hubs))
    ax.barh(y, hubs["demand_kg_per_day"], color="#e7d4e8", label="demand")
    ax.barh(y, hubs["served"], height=0.5, color="#7b3294", label="served")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("kg/day", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    ax.set_title(f"Hydrogen hubs: {100 * tp.coverage:.1f} % of demand served", fontsize=9)
    return fig


def _figure(fig, caption: str) -> str:
    return f"<figure>{_svg(fig)}<figcaption>{_esc(caption)}</figcaption></figure>"


def _svg(fig) -> str:
    """The figure as inline SVG, text kept as text (the browser's fonts show any script), byte-stable."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "siting", "font.size": 8}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]
