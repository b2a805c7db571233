"""``report.html``: the one-page summary of a plan for the bureau.

Targets vs. placed per tier with the solver's status and gap, a per-district
table (Chinese and English names), and three plots made with matplotlib —
chargers vs. demand per district, demand covered per tier, hydrogen hub
coverage — embedded as inline SVG, so the page is one self-contained file
that prints on A4. Every string from a user's files is HTML-escaped.
"""

from __future__ import annotations

import functools
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siting.labels import Words, html_language, words
from siting.tables import charger_tiers, district_metrics, station_tiers, target_text, township_metrics

if TYPE_CHECKING:
    from siting.plan import Plan


def render_report(plan: Plan) -> str:
    """The plan's summary as one self-contained HTML document (UTF-8 text)."""
    s = plan.scenario
    w = words(s.language)
    title = _esc(s.title or s.name)
    table = district_metrics(plan).merge(
        plan.boundaries[["district_code", "district_name", "district_name_en"]], on="district_code", how="left")
    parts = [
        f"<h1>{title}</h1>",
        "<p class='sub'>" + w("report.subtitle", name=_esc(s.name), sha=_esc(s.content_hash[:12]),
                              districts=len(plan.boundaries), evs=table["evs"].sum()) + "</p>",
        f"<h2>{_esc(w['report.targets'])}</h2>",
        _tier_table(plan, w),
        *_rollout(plan, w),
        *_energy(plan, w),
        f"<h2>{_esc(w['report.per_district'])}</h2>",
        _district_table(plan, table, w),
        _township_section(plan, w),
        f"<h2>{_esc(w['report.charts'])}</h2>",
        "<div class='charts'>",
    ]
    cw, fonts = chart_words(s.language)
    if charger_tiers(plan):
        parts.append(_figure(lambda: _chargers_vs_demand_figure(plan, table, cw), w["report.fig.chargers"], fonts))
    parts.append(_figure(lambda: _coverage_figure(plan, cw), w["report.fig.coverage"], fonts))
    for tier in station_tiers(plan):
        if plan.tiers[tier].hubs is not None:
            parts.append(_figure(lambda tp=plan.tiers[tier]: _hub_figure(tp, cw), w("report.fig.hubs",
                                                                       label=w.tier(plan.tiers[tier].spec)), fonts))
    parts.append("</div>")
    parts.append(f"<p class='note'>{w['report.note']}</p>")
    if s.region.attribution:
        parts.append(f"<p class='note'>{_esc(w('report.credit', text=s.region.attribution))}</p>")
    return (f"<!DOCTYPE html><html lang='{html_language(s.language)}'><head><meta charset='utf-8'><title>{title} — "
            f"{_esc(w['report.title_suffix'])}</title><style>{_CSS}</style></head><body>" + "\n".join(parts)
            + "</body></html>\n")


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


def _township_section(plan: Plan, w: Words) -> str:
    """How many townships have EVs and how many of those have a charging site (empty without townships)."""
    metrics = township_metrics(plan)
    if metrics is None:
        return ""
    populated = metrics[metrics["evs"] > 0]
    unserved = populated[populated["charging_sites"] == 0]
    text = w("report.townships_served", townships=len(metrics), populated=len(populated),
             served=len(populated) - len(unserved))
    if len(unserved):
        names = plan.townships.set_index("township_code")["township_name"]
        text += " " + w("report.townships_unserved", names=", ".join(
            f"{names[c]} ({c})" for c in unserved["township_code"]))
    return (f"<h2>{_esc(w['report.townships'])}</h2><p>{_esc(text)} {_esc(w['report.townships_file'])}</p>")


def _tier_table(plan: Plan, w: Words) -> str:
    rows = []
    for tp in plan.tiers.values():
        r = tp.result
        sites = int((tp.sites["status"] != "candidate").sum())
        demand = float(tp.demand["demand"].sum())
        met = tp.units_placed == tp.target or tp.spec.open_target
        status_class = "ok" if r.status == "optimal" else "warn" if r.status != "feasible" else ""
        gap = "–" if r.gap is None else f"{100 * r.gap:.2f} %"
        rows.append(
            f"<tr><td>{_esc(w.tier(tp.spec))}</td><td class='n'>{target_text(tp)}</td>"
            f"<td class='n {'ok' if met else 'warn'}'>{tp.units_placed:,}</td><td>{_esc(w['unit.' + tp.spec.unit])}</td>"
            f"<td class='n'>{sites:,}</td><td class='n'>{demand:,.0f} {_esc(w.demand_unit(tp.demand_unit))}</td>"
            f"<td class='n'>{_pct(tp.coverage)}</td><td class='{status_class}'>{_esc(w.status(r.status))}</td>"
            f"<td class='n'>{gap}</td><td class='n'>{tp.cost_cny:,.0f}</td><td>{_esc(r.solver)}</td>"
            f"<td class='n'>{r.solve_time_s:,.1f} s</td><td class='n'>{r.n_variables:,} × {r.n_constraints:,}</td></tr>")
    head = "".join(f"<th>{_esc(w[f'report.col.{key}'])}</th>" for key in
                   ("tier", "target", "placed")) + "<th></th>" + "".join(
        f"<th>{_esc(w[f'report.col.{key}'])}</th>" for key in
        ("sites", "demand", "covered", "status", "gap", "cost", "solver", "solve_time", "size"))
    return "<table><tr>" + head + "</tr>" + "".join(rows) + "</table>"


def _energy(plan: Plan, w: Words) -> list[str]:
    """Energy a day and its cost per time-of-use period, all tiers together and per tier."""
    try:
        table = plan.energy()
    except (AttributeError, KeyError):
        return []
    if table is None or not len(table) or table["energy_kwh_day"].sum() <= 0:
        return []
    total = table.groupby("period", sort=False).agg(hours=("hours", "first"), price=("price_cny_per_kwh", "first"),
                                                    energy=("energy_kwh_day", "sum"), cost=("cost_cny_day", "sum"))
    tiers = list(dict.fromkeys(table["tier"]))
    per_tier = table.pivot_table(index="period", columns="tier", values="energy_kwh_day", aggfunc="sum", sort=False)
    head = ("<tr>" + "".join(f"<th>{_esc(w[f'report.col.{k}'])}</th>" for k in ("period", "hours", "price"))
            + "".join(f"<th>{_esc(w.tier(plan.tiers[t].spec))}</th>" for t in tiers if t in plan.tiers)
            + f"<th>{_esc(w['report.col.energy'])}</th><th>{_esc(w['report.col.energy_cost'])}</th></tr>")
    rows = []
    for period, r in total.iterrows():
        rows.append(f"<tr><td>{_esc(w.get(f'period.{period}', period))}</td><td class='n'>{int(r['hours'])}</td><td class='n'>{r['price']:.3f}</td>"
                    + "".join(f"<td class='n'>{per_tier.loc[period, t]:,.0f}</td>" for t in tiers if t in plan.tiers)
                    + f"<td class='n'>{r['energy']:,.0f}</td><td class='n'>{r['cost']:,.0f}</td></tr>")
    rows.append(f"<tr class='total'><td>{_esc(w['report.total'])}</td><td class='n'>{int(total['hours'].sum())}</td>"
                "<td></td>" + "".join(f"<td class='n'>{per_tier[t].sum():,.0f}</td>" for t in tiers if t in plan.tiers)
                + f"<td class='n'>{total['energy'].sum():,.0f}</td><td class='n'>{total['cost'].sum():,.0f}</td></tr>")
    return [f"<h2>{_esc(w['report.energy'])}</h2>", f"<p class='note'>{_esc(w['report.energy_note'])}</p>",
            "<table>" + head + "".join(rows) + "</table>"]


def _rollout(plan: Plan, w: Words) -> list[str]:
    """The roll-out table: per year and tier, cumulative new units, sites and coverage (none without phases)."""
    rows = []
    for tp in plan.tiers.values():
        if tp.phases is None:
            continue
        new = set(tp.sites.loc[tp.sites["status"] == "new", "site_id"])
        phases = tp.phases[tp.phases["site_id"].isin(new)]
        served = tp.result.extra.get("period_served") or []
        total = float(tp.demand["demand"].sum())
        for k, (year, group) in enumerate(phases.groupby("year", sort=True)):
            share = served[k] / total if k < len(served) and total > 0 else float("nan")
            rows.append(f"<tr><td>{int(year)}</td><td>{_esc(w.tier(tp.spec))}</td>"
                        f"<td class='n'>{int(group['units'].sum()):,}</td><td>{_esc(w['unit.' + tp.spec.unit])}</td>"
                        f"<td class='n'>{int((group['units'] > 0).sum()):,}</td><td class='n'>{_pct(share)}</td></tr>")
    if not rows:
        return []
    head = (f"<tr><th>{_esc(w['report.col.year'])}</th><th>{_esc(w['report.col.tier'])}</th>"
            f"<th>{_esc(w['report.col.placed'])}</th><th></th><th>{_esc(w['report.col.sites'])}</th>"
            f"<th>{_esc(w['report.col.covered'])}</th></tr>")
    return [f"<h2>{_esc(w['report.rollout'])}</h2>", f"<p class='note'>{_esc(w['report.rollout_note'])}</p>",
            "<table>" + head + "".join(rows) + "</table>"]


def _district_table(plan: Plan, table: pd.DataFrame, w: Words) -> str:
    chargers = charger_tiers(plan)
    stations = station_tiers(plan)
    rows = []
    for row in table.to_dict("records"):
        same = str(row["district_name_en"]).strip() == str(row["district_name"]).strip()
        cells = [f"<td>{_esc(row['district_name'])}</td><td>{'' if same else _esc(row['district_name_en'])}</td>",
                 f"<td class='n'>{row['evs']:,.0f}</td>"]
        cells += [f"<td class='n'>{row[f'chargers_{t}']:,}</td>" for t in chargers]
        per_1000 = row["chargers_per_1000_evs"]
        cells.append(f"<td class='n'>{'–' if not np.isfinite(per_1000) else f'{per_1000:.1f}'}</td>")
        cells += [f"<td class='n'>{_pct(row[f'covered_{t}'])}</td>" for t in chargers]
        fair = "–" if not np.isfinite(row["vs_fair_share"]) else f"{row['vs_fair_share']:.2f}×"
        cells.append(f"<td class='n'>{fair}</td>")
        cells += [f"<td class='n'>{row[f'stations_{t}']}</td>" for t in stations]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total_evs = table["evs"].sum()
    totals = [int(table[f"chargers_{t}"].sum()) for t in chargers]
    per_1000 = 1000 * sum(totals) / total_evs if total_evs > 0 else float("nan")
    rows.append(f"<tr class='total'><td>{_esc(w['report.total'])}</td><td></td>"
                f"<td class='n'>{total_evs:,.0f}</td>" + "".join(f"<td class='n'>{v:,}</td>" for v in totals)
                + f"<td class='n'>{per_1000:.1f}</td>" + "<td></td>" * len(chargers) + "<td class='n'>1.00×</td>"
                + "".join(f"<td class='n'>{int(table[f'stations_{t}'].sum())}</td>" for t in stations) + "</tr>")
    labels = {t: w.tier(plan.tiers[t].spec) for t in plan.tiers}
    head = (f"<tr><th>{_esc(w['report.col.district'])}</th><th></th><th>{_esc(w['report.col.evs'])}</th>"
            + "".join(f"<th>{_esc(labels[t])}</th>" for t in chargers)
            + f"<th>{_esc(w['report.col.per_1000'])}</th>"
            + "".join(f"<th>{_esc(w('report.col.covered_tier', label=labels[t]))}</th>" for t in chargers)
            + f"<th>{_esc(w['report.col.fair'])}</th>"
            + "".join(f"<th>{_esc(w('report.col.stations', label=labels[t]))}</th>" for t in stations) + "</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


# --- charts --------------------------------------------------------------------------------------------------------

#: Fonts with Chinese glyphs that matplotlib may find (Linux, Windows, macOS), in order of preference.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC",
             "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei")
_CJK_FILES = re.compile(r"NotoSansCJK|NotoSansSC|SourceHanSans|msyh|PingFang|wqy-|simhei", re.IGNORECASE)


def chart_words(language: str) -> tuple[Words, list[str]]:
    """The words of the charts and the fonts to draw them with.

    The plan's language when it is English or matplotlib has a font with its
    glyphs; English otherwise, so that a chart never shows missing-glyph boxes.
    """
    if language == "en":
        return words("en"), []
    font = cjk_font()
    return (words(language), ["DejaVu Sans", font]) if font else (words("en"), [])


@functools.cache
def cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` matplotlib can use, or None.

    matplotlib keeps a cache of the system's fonts made when it first ran; a
    CJK font installed later (``apt-get install fonts-noto-cjk``) is looked
    for among the system's font files and added.
    """
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    name = known()
    if name is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILES.search(Path(path).name):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file: skip it
                    continue
        name = known()
    return name


def _label(row, w: Words) -> str:
    """A district's label in a chart: its Chinese name in a Chinese chart, else the English name (or the code)."""
    name = row.get("district_name") if w.language == "zh" else row.get("district_name_en")
    text = str(name) if isinstance(name, str) and name.strip() else str(row["district_code"])
    return text.replace("$", r"\$")  # no mathtext from user names


def _new_figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


def _chargers_vs_demand_figure(plan: Plan, table: pd.DataFrame, w: Words):
    summary = plan.districts()
    tiers = charger_tiers(plan)
    labels = [_label(row, w) for _, row in table.iterrows()]
    fig = _new_figure(7.5, 1.2 + 0.32 * len(labels))
    axes = fig.subplots(1, len(tiers), sharey=True, squeeze=False)[0]
    y = np.arange(len(labels))
    for ax, tier in zip(axes, tiers, strict=True):
        rows = summary[summary["tier"] == tier].set_index("district_code").reindex(table["district_code"])
        units = rows["units"].fillna(0).to_numpy(dtype=float)
        demand = rows["demand"].fillna(0).to_numpy(dtype=float)
        unit_share = units / units.sum() if units.sum() > 0 else units
        demand_share = demand / demand.sum() if demand.sum() > 0 else demand
        spec = plan.tiers[tier].spec
        ax.barh(y - 0.2, 100 * unit_share, height=0.4, color=spec.colour, label=w["chart.chargers"])
        ax.barh(y + 0.2, 100 * demand_share, height=0.4, color="#bbbbbb", label=w["chart.demand"])
        ax.set_title(_plain(w.tier(spec)), fontsize=10)
        ax.set_xlabel(w["chart.share"], fontsize=9)
        ax.tick_params(labelsize=9)
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    return fig


def _coverage_figure(plan: Plan, w: Words):
    tiers = list(plan.tiers)
    fig = _new_figure(4.4, 2.8)
    ax = fig.subplots()
    coverage = [100 * plan.tiers[t].coverage for t in tiers]
    bars = ax.bar(range(len(tiers)), coverage, color=[plan.tiers[t].spec.colour for t in tiers])
    for bar, value in zip(bars, coverage, strict=True):
        ax.annotate(f"{value:.1f} %", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    names = [t.capitalize() if w.language == "en" else w.tier(plan.tiers[t].spec) for t in tiers]
    ax.set_xticks(range(len(tiers)), [_plain(n) for n in names], fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel(w["chart.covered_axis"], fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_title(w["chart.covered_title"], fontsize=9)
    return fig


def _plain(text: str) -> str:
    """A label for a chart: no mathtext from user text."""
    return str(text).replace("$", r"\$")


def _hub_figure(tp, w: Words):
    served = tp.demand.set_index("demand_id")["served"]
    weight = tp.spec.hub_weight_column
    hubs = tp.hubs.copy()
    hubs["demand"] = hubs[weight].astype(float) * tp.spec.demand_share
    hubs["served"] = hubs["hub_id"].astype(str).map(served).fillna(0.0).to_numpy(dtype=float)
    hubs = hubs.sort_values("demand", ascending=True)
    labels = [str(h).replace("$", r"\$") for h in hubs["hub_id"]]
    fig = _new_figure(4.4, 1.0 + 0.22 * len(hubs))
    ax = fig.subplots()
    y = np.arange(len(hubs))
    ax.barh(y, hubs["demand"], color="#e7d4e8", label=w["chart.demand"])
    ax.barh(y, hubs["served"], height=0.5, color="#7b3294", label=w["chart.served"])
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(_plain(w.demand_unit(tp.demand_unit)), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    ax.set_title(_plain(w("chart.hubs_title", label=w.tier(tp.spec), share=100 * tp.coverage)), fontsize=9)
    return fig


def _figure(build, caption: str, fonts: list[str]) -> str:
    """A chart made by ``build()`` (drawn with ``fonts``, the default fonts when empty) with its caption."""
    import matplotlib

    style = {"svg.fonttype": "none", "svg.hashsalt": "siting", "font.size": 8}
    if fonts:  # fonts are fixed when a text is made: set them before building the figure
        style["font.family"] = fonts  # a list: matplotlib falls back glyph by glyph
    with matplotlib.rc_context(style):
        svg = _svg(build())
    return f"<figure>{svg}<figcaption>{_esc(caption)}</figcaption></figure>"


def _svg(fig) -> str:
    """The figure as inline SVG, text kept as text (the browser's fonts show any script), byte-stable."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]
