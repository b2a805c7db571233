"""The interactive map of a plan (folium), self-contained and usable offline.

Layers: districts (choropleth of chargers per 1,000 EVs), one toggleable layer
per tier with sites sized by their chargers, hydrogen stations (existing and new
with distinct symbols and service-radius circles) and the demand hubs. Leaflet
and plugin assets are inlined from the ``folium-offline`` package, so the file
opens with no internet; no tile layer is needed (an OpenStreetMap basemap is
offered, off by default, when online).

This module never imports pulp: it renders the tables of a :class:`~siting.plan.Plan`.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import branca
import folium
import numpy as np
import pandas as pd
from folium import plugins

if TYPE_CHECKING:
    from siting.plan import Plan

TIER_COLOURS = {"public": "#1f77b4", "residential": "#2ca02c", "rural": "#ff7f0e", "hydrogen": "#d62728"}
TIER_LABELS = {"public": "Public chargers", "residential": "Residential chargers", "rural": "Rural chargers",
               "hydrogen": "Hydrogen stations"}
#: CDN assets folium links to that the map does not use: dropped rather than inlined.
UNUSED_ASSETS = ("bootstrap", "awesome-markers", "awesome_markers", "fontawesome", "glyphicons", "awesome.rotate")
#: Tiers shown when the map opens (the others are a click away in the layer control).
SHOWN_TIERS = ("public", "hydrogen")


def render_map(plan: Plan) -> str:
    """The plan as one self-contained HTML document."""
    fmap = build_map(plan)
    return inline_assets(fmap.get_root().render())


def build_map(plan: Plan) -> folium.Map:
    """A folium map of the plan (assets still linked; see :func:`render_map`)."""
    west, south, east, north = plan.boundaries.total_bounds
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, prefer_canvas=True,
                      control_scale=True, zoom_start=9)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap basemap (online)", show=False, overlay=False,
                     control=True).add_to(fmap)
    _districts_layer(plan).add_to(fmap)
    sites = plan.sites()
    for tier in plan.tiers:
        if tier == "hydrogen":
            _hydrogen_layers(plan, sites[sites["tier"] == tier], fmap)
        else:
            _charger_layer(tier, sites[sites["tier"] == tier]).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    plugins.Fullscreen().add_to(fmap)
    plugins.MeasureControl(primary_length_unit="kilometers").add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_title_html(plan)))
    fmap.get_root().html.add_child(folium.Element(_legend_html(plan)))
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def _districts_layer(plan: Plan) -> folium.GeoJson:
    summary = plan.districts()
    chargers = summary[summary["tier"] != "hydrogen"].groupby("district_code")["units"].sum()
    evs = summary.groupby("district_code")["evs"].first()
    per_1000 = (1000 * chargers / evs).round(1)
    gdf = plan.boundaries[["district_code", "district_name", "district_name_en", "geometry"]].copy()
    gdf["chargers"] = gdf["district_code"].map(chargers).fillna(0).astype(int)
    gdf["evs"] = gdf["district_code"].map(evs).fillna(0).astype(int)
    gdf["chargers_per_1000_evs"] = gdf["district_code"].map(per_1000).fillna(0.0)
    gdf = _escaped(gdf)
    values = gdf["chargers_per_1000_evs"].to_numpy(dtype=float)
    scale = branca.colormap.linear.YlGnBu_09.scale(float(values.min()), float(max(values.max(), values.min() + 1)))
    scale.caption = "Chargers per 1,000 EVs (all charger tiers)"
    fields = ["district_code", "district_name", "district_name_en", "chargers", "evs", "chargers_per_1000_evs"]
    aliases = ["Code", "District", "District (en)", "Chargers", "EVs (2025)", "Chargers per 1,000 EVs"]
    return folium.GeoJson(
        gdf.to_json(),
        name="Districts: chargers per 1,000 EVs",
        style_function=lambda f: {"fillColor": scale(f["properties"]["chargers_per_1000_evs"]), "color": "#444",
                                  "weight": 1.2, "fillOpacity": 0.35},
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["district_name", "district_name_en"], aliases=["", ""]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    )


def _charger_layer(tier: str, sites: pd.DataFrame) -> folium.GeoJson:
    colour = TIER_COLOURS[tier]
    table = sites[["site_id", "tier", "district_code", "district_name", "chargers", "demand_served", "demand_unit",
                   "rank", "lon", "lat", "geometry"]].copy()
    table["demand_served"] = table["demand_served"].round(1)
    table["radius_px"] = np.clip(2.0 + np.sqrt(table["chargers"].to_numpy(dtype=float)), 2.5, 12.0).round(1)
    table = _escaped(table)
    fields = ["site_id", "tier", "district_name", "chargers", "demand_served", "demand_unit", "rank", "lon", "lat"]
    aliases = ["Site", "Tier", "District", "Chargers", "Demand served", "Unit", "Rank", "Lon", "Lat"]
    placed = int(sites["chargers"].sum())
    return folium.GeoJson(
        table.to_json(),
        name=f"{TIER_LABELS[tier]} ({len(sites):,} sites, {placed:,} chargers)",
        show=tier in SHOWN_TIERS,
        marker=folium.CircleMarker(radius=4, fill=True, weight=1),
        style_function=lambda f, c=colour: {"radius": f["properties"]["radius_px"], "color": "#333",
                                            "fillColor": c, "fillOpacity": 0.75, "weight": 0.5},
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    )


def _hydrogen_layers(plan: Plan, sites: pd.DataFrame, fmap: folium.Map) -> None:
    tier_plan = plan.tiers["hydrogen"]
    stations = folium.FeatureGroup(name=f"{TIER_LABELS['hydrogen']} ({len(sites)}: "
                                        f"{int((sites['status'] == 'new').sum())} new)")
    radius_m = tier_plan.radius_m / plan.scenario.network.circuity
    for row in sites.itertuples():
        new = row.status == "new"
        colour = TIER_COLOURS["hydrogen"] if new else "#555555"
        popup = _popup_table({
            "Station": row.site_id, "Name": row.name, "Status": row.status, "District": row.district_name,
            "Capacity (kg/day)": f"{row.capacity_kg_per_day:,.0f}", "Demand served (kg/day)": f"{row.demand_served:,.0f}",
            "Rank": row.rank, "Lon, lat": f"{row.lon:.5f}, {row.lat:.5f}",
        })
        folium.Circle([row.lat, row.lon], radius=radius_m, color=colour, weight=1, fill=True, fill_opacity=0.05,
                      dash_array=None if new else "6 4").add_to(stations)
        symbol = "▲" if new else "■"
        icon = folium.DivIcon(html=f"<div style='font-size:22px;line-height:22px;color:{colour};"
                                   f"text-shadow:0 0 2px #fff,0 0 2px #fff'>{symbol}</div>",
                              icon_size=(22, 22), icon_anchor=(11, 11), class_name="siting-h2")
        folium.Marker([row.lat, row.lon], icon=icon, tooltip=html.escape(f"{row.site_id} ({row.status})"),
                      popup=folium.Popup(popup, max_width=320)).add_to(stations)
    stations.add_to(fmap)
    if plan.hubs is not None:
        hubs = folium.FeatureGroup(name=f"Hydrogen demand hubs ({len(plan.hubs)})")
        served = tier_plan.demand.set_index("demand_id")["served"]
        for row in plan.hubs.itertuples():
            got = float(served.get(str(row.hub_id), 0.0))
            popup = _popup_table({
                "Hub": row.hub_id, "Name": getattr(row, "name", ""), "Kind": getattr(row, "kind", ""),
                "Demand (kg/day)": f"{row.demand_kg_per_day:,.0f}", "Served (kg/day)": f"{got:,.0f}",
                "Lon, lat": f"{row.lon:.5f}, {row.lat:.5f}",
            })
            folium.CircleMarker([row.lat, row.lon], radius=4 + np.sqrt(row.demand_kg_per_day) / 6, color="#7b3294",
                                weight=1, fill=True, fill_color="#c2a5cf", fill_opacity=0.9,
                                popup=folium.Popup(popup, max_width=320)).add_to(hubs)
        hubs.add_to(fmap)


def _popup_table(values: dict) -> str:
    rows = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _escaped(gdf):
    """String columns HTML-escaped: names from user files render as text, never as markup."""
    out = gdf.copy()
    for column in out.columns:
        if column != "geometry" and out[column].dtype == object:
            out[column] = out[column].map(lambda v: html.escape(v) if isinstance(v, str) else v)
    return out


def _title_html(plan: Plan) -> str:
    s = plan.scenario
    rows = []
    for tier, tp in plan.tiers.items():
        unit = "stations" if tier == "hydrogen" else "chargers"
        rows.append(f"<tr><td>{html.escape(TIER_LABELS[tier])}</td><td style='text-align:right'>{tp.target:,}</td>"
                    f"<td style='text-align:right'>{tp.units_placed:,}</td><td>{unit}</td>"
                    f"<td style='text-align:right'>{100 * tp.coverage:.1f} %</td>"
                    f"<td>{html.escape(tp.result.status)}</td></tr>")
    title = html.escape(s.title or s.name)
    return (
        "<div id='siting-title' style='position:fixed;top:10px;left:60px;z-index:1000;background:white;"
        "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.4);font:12px sans-serif'>"
        f"<div style='font-size:15px;font-weight:bold'>{title}</div>"
        f"<div style='color:#555'>scenario {html.escape(s.name)}</div>"
        "<table><tr><th style='text-align:left'>Tier</th><th>Target</th><th>Placed</th><th></th>"
        "<th>Demand covered</th><th>Solver</th></tr>" + "".join(rows) + "</table></div>"
    )


def _legend_html(plan: Plan) -> str:
    items = "".join(
        f"<div><span style='display:inline-block;width:11px;height:11px;border-radius:6px;background:{c};"
        f"margin-right:5px'></span>{html.escape(TIER_LABELS[t])}</div>"
        for t, c in TIER_COLOURS.items() if t in plan.tiers and t != "hydrogen")
    items += ("<div>▲ new hydrogen station &nbsp; ■ existing (dashed circle: service radius)</div>"
              "<div><span style='color:#7b3294'>●</span> hydrogen demand hub</div>"
              "<div style='color:#555'>circle size ∝ √chargers</div>")
    return ("<div id='siting-legend' style='position:fixed;bottom:60px;left:10px;z-index:1000;background:white;"
            "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.4);font:12px sans-serif'>"
            f"<b>Legend</b>{items}</div>")


_ASSET = re.compile(r'<script src="(https?://[^"]+)"></script>|<link rel="stylesheet" href="(https?://[^"]+)"/>')


def inline_assets(document: str) -> str:
    """Replace CDN ``<script src>``/``<link>`` tags by inline copies from ``folium-offline``.

    Assets the map does not use (Bootstrap, icon fonts, jQuery) are dropped.
    """
    from offlinefolium.elements import _res as assets

    def replace(match: re.Match) -> str:
        script, style = match.groups()
        url = script or style
        if any(word in url for word in UNUSED_ASSETS):
            return ""
        if url not in assets:
            msg = f"no offline copy of map asset {url}; update folium-offline to folium's version"
            raise RuntimeError(msg)
        content = assets[url].replace("</script", "<\\/script")
        return f"<script>{content}</script>" if script else f"<style>{content}</style>"

    return _ASSET.sub(replace, document)
