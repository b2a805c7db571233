"""The interactive map of a plan (folium), self-contained and usable offline.

Layers, in the layer control:

- district colouring (radio buttons, one at a time): chargers per 1,000 EVs,
  share of demand covered per charger tier, chargers placed vs. the district's
  fair share of the target, or outlines only; each district's popup has all
  the figures in Chinese and English;
- district names (labels), the demand grid (EVs per km² on blocks of cells,
  with every tier's demand in the tooltip), an OpenStreetMap basemap (online);
- one layer per tier with sites sized by their chargers (popup: site id,
  district, tier, chargers, demand served, rank, coordinates);
- hydrogen stations (existing ■ and new ▲, with service-radius circles) and the
  demand hubs with lines to the stations that serve them.

Every vector layer is drawn on one canvas (``prefer_canvas``), which keeps
~10,000 sites responsive without clustering: clustering would hide the
per-site charger sizes a planner wants to see. Leaflet and plugin assets are
inlined from the ``folium-offline`` package, so the file opens with no
internet. Every string from a user's files is HTML-escaped.

This module never imports pulp: it renders the tables of a :class:`~siting.plan.Plan`.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from typing import TYPE_CHECKING

import branca
import folium
import numpy as np
import pandas as pd
import pyproj
from folium import plugins
from folium.elements import JSCSSMixin

from siting.basemaps import add_tianditu, tianditu_key
from siting.hydrogen import SOURCE_KIND, source_site_id
from siting.labels import Words, html_language, words
from siting.tables import charger_tiers, district_metrics, target_text
from siting.township_map import (
    SEARCH_CSS,
    SEARCH_JS,
    Attribution,
    TownshipSearch,
    township_layers,
)

if TYPE_CHECKING:
    from siting.allocate import TierPlan
    from siting.plan import Plan

#: CDN assets folium links to that the map does not use: dropped rather than inlined.
UNUSED_ASSETS = ("bootstrap", "awesome-markers", "awesome_markers", "fontawesome", "glyphicons", "awesome.rotate")
#: Side of a demand-grid block (cells are aggregated to about this size to keep the file small).
DEMAND_BLOCK_M = 1500.0
#: Decimal places of longitude/latitude in the map (1e-5° ≈ 1 m; 1e-4° ≈ 10 m for grid blocks).
SITE_DIGITS = 5
GRID_DIGITS = 4
#: The district colouring shown when the map opens.
DEFAULT_METRIC = "chargers_per_1000_evs"
NO_DATA_COLOUR = "#d9d9d9"
#: Fonts of the map's and report's text: Latin first, then CJK fonts of Linux, Windows and macOS.
FONT_FAMILIES = ('"Helvetica Neue",Arial,"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",'
                 '"WenQuanYi Micro Hei",sans-serif')


def render_map(plan: Plan) -> str:
    """The plan as one self-contained HTML document (UTF-8 text)."""
    fmap = build_map(plan)
    with _snippets_as_text():
        document = inline_assets(fmap.get_root().render())
    # the page's language picks the right CJK glyph variants (zh-CN: simplified Chinese forms)
    return document.replace("<html>", f"<html lang=\"{html_language(plan.scenario.language)}\">", 1)



class _Text:
    """A rendered snippet kept as text: what jinja2 makes of a template without template syntax."""

    def __init__(self, source: str) -> None:
        # jinja2 writes every newline as "\n" and drops one trailing newline (keep_trailing_newline=False)
        text = re.sub(r"\r\n?", "\n", source)
        self.text = text.removesuffix("\n")

    def render(self, *_args, **_kwargs) -> str:
        return self.text


@contextlib.contextmanager
def _snippets_as_text():
    """Render without compiling every rendered snippet as a template.

    branca's ``MacroElement.render`` wraps each element's rendered header,
    HTML and script in a new ``Element`` whose text is compiled as a jinja2
    template — about 21,000 compilations on the default plan, two thirds of
    the map's rendering time — only to be rendered back to itself. A name
    holding template syntax (``{{``, ``{%``) was evaluated there, or stopped
    the rendering with a syntax error. While this is active, snippets are
    kept as the text they are; the templates of the elements themselves,
    made before, are untouched.
    """
    template = branca.element.Template

    def snippet(source, *args, **kwargs):
        if isinstance(source, str) and not args and not kwargs:
            return _Text(source)
        return template(source, *args, **kwargs)

    branca.element.Template = snippet
    try:
        yield
    finally:
        branca.element.Template = template


def build_map(plan: Plan) -> folium.Map:
    """A folium map of the plan (assets still linked; see :func:`render_map`)."""
    w = words(plan.scenario.language)
    west, south, east, north = plan.boundaries.total_bounds
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, prefer_canvas=True,
                      control_scale=True, zoom_start=9)
    folium.TileLayer("OpenStreetMap", name=w["map.basemap.osm"], show=False, overlay=True,
                     control=True).add_to(fmap)
    key, _ = tianditu_key(plan.scenario)
    if key:
        add_tianditu(fmap, key, w)
    table = district_metrics(plan)
    scales = _district_scales(plan, table)
    district_layers = {}
    for metric, caption in district_captions(plan, w).items():
        layer = _district_layer(plan, table, metric, caption, scales.get(metric), w)
        layer.add_to(fmap)
        district_layers[metric] = layer
    _district_labels(plan, w).add_to(fmap)
    demand_layer, demand_classes = _demand_layer(plan, w)
    demand_layer.add_to(fmap)
    if plan.streets is not None and len(plan.streets):
        _street_layer(plan.streets, w).add_to(fmap)
    townships = township_layers(plan, w)
    if townships is not None:
        for layer in townships[:2]:
            layer.add_to(fmap)
    sites = plan.sites()
    tier_layers = {}
    for tier, tp in plan.tiers.items():
        tier_sites = sites[sites["tier"] == tier]
        if tp.spec.is_station:
            tier_layers[tier] = _station_layers(plan, tp, tier_sites, fmap, w)
        else:
            tier_layers[tier] = _charger_layer(tp, tier_sites, w)
            tier_layers[tier].add_to(fmap)
    for layer in _year_layers(plan, w):
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    plugins.Fullscreen(position="topleft", title=w["control.fullscreen"],
                       title_cancel=w["control.fullscreen_exit"]).add_to(fmap)
    plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                           primary_area_unit="sqkilometers", localization=w["control.measure_locale"]).add_to(fmap)
    _ControlWords(w).add_to(fmap)
    _SiteSearch(tier_layers, w).add_to(fmap)
    if townships is not None:
        TownshipSearch(townships[0], w).add_to(fmap)
    _OutlineMiniMap(district_layers[DEFAULT_METRIC], bounds=(west, south, east, north)).add_to(fmap)
    _LayerOrder(district_layers, demand_layer, townships=townships[0] if townships else None).add_to(fmap)
    if plan.scenario.region.attribution:
        Attribution(plan.scenario.region.attribution).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_title_html(plan, w)))
    fmap.get_root().html.add_child(folium.Element(_legend_html(plan, scales, demand_classes, w, sites,
                                                               extra=townships[2] if townships else "")))
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def district_captions(plan: Plan, w: Words) -> dict[str, str]:
    """Key → caption of each district colouring: per 1,000 EVs, covered per charger tier, vs. fair share, outlines."""
    captions = {"chargers_per_1000_evs": w["metric.chargers_per_1000_evs"]}
    for tier in charger_tiers(plan):
        captions[f"covered_{tier}"] = w("metric.covered", label=w.tier(plan.tiers[tier].spec).lower()
                                        if w.language == "en" else w.tier(plan.tiers[tier].spec))
    captions["vs_fair_share"] = w["metric.vs_fair_share"]
    captions["peak_kw"] = w["metric.peak_kw"]
    captions["outline"] = w["metric.outline"]
    return captions


# --- districts -----------------------------------------------------------------------------------------------------

def _district_scales(plan: Plan, table: pd.DataFrame) -> dict[str, branca.colormap.ColorMap]:
    scales = {}
    per_1000 = table["chargers_per_1000_evs"].dropna()
    high = float(per_1000.max()) if len(per_1000) else 1.0
    low = float(np.floor(per_1000.min() / 10) * 10) if len(per_1000) else 0.0  # the data's range: contrast
    scales["chargers_per_1000_evs"] = branca.colormap.linear.YlGnBu_09.scale(min(low, high - 1.0), max(high, 1.0))
    for tier in charger_tiers(plan):
        values = table[f"covered_{tier}"].dropna()
        low = float(np.floor(10 * values.min()) / 10) if len(values) else 0.0
        scales[f"covered_{tier}"] = branca.colormap.linear.RdYlGn_09.scale(min(low, 0.9), 1.0)
    ratio = table["vs_fair_share"].dropna()
    spread = float(np.abs(np.log2(ratio[ratio > 0])).max()) if (ratio > 0).any() else 1.0
    spread = min(max(spread, 0.5), 3.0)
    scales["vs_fair_share"] = branca.colormap.LinearColormap(
        ["#b2182b", "#ef8a62", "#f7f7f7", "#67a9cf", "#2166ac"], vmin=-spread, vmax=spread)
    peak = table["peak_kw"].dropna() / 1000 if "peak_kw" in table else pd.Series(dtype=float)
    scales["peak_kw"] = branca.colormap.linear.YlOrRd_09.scale(0.0, max(float(peak.max()) if len(peak) else 1.0, 1.0))
    return scales


def _metric_colour(metric: str, value: float, scale) -> str:
    if metric == "outline" or scale is None:
        return "#ffffff"
    if value is None or not np.isfinite(value):
        return NO_DATA_COLOUR
    if metric == "peak_kw":
        value = value / 1000  # the scale is in MW
    if metric == "vs_fair_share":
        value = np.log2(max(value, 1e-3))
        value = min(max(value, scale.vmin), scale.vmax)
    return scale(min(max(float(value), scale.vmin), scale.vmax))


def _percent(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f} %"


def _district_layer(plan: Plan, table: pd.DataFrame, metric: str, caption: str, scale, w: Words) -> folium.GeoJson:
    names = plan.boundaries[["district_code", "district_name", "district_name_en"]].fillna("")
    rows = table.merge(names, on="district_code", how="left")
    chargers = charger_tiers(plan)
    short = {t: plan.tiers[t].spec.name if plan.tiers[t].spec.builtin and w.language == "en"
             else w.tier(plan.tiers[t].spec) for t in chargers}
    stations = [t for t in plan.tiers if t not in chargers]
    features = []
    for row, geometry in zip(rows.to_dict("records"), plan.boundaries.geometry, strict=True):
        value = row[metric] if metric != "outline" else np.nan
        fill = _metric_colour(metric, value, scale)
        per_1000 = row["chargers_per_1000_evs"]
        features.append({
            "type": "Feature",
            "geometry": _rounded_geometry(geometry, SITE_DIGITS),
            "properties": {
                "district": _esc(district_label(row["district_name"], row["district_name_en"])),
                "code": _esc(row["district_code"]),
                "evs": f"{row['evs']:,.0f}",
                "chargers": _esc(f"{row['chargers']:,} (" + ", ".join(
                    f"{short[t]} {row[f'chargers_{t}']:,}" for t in chargers) + ")"),
                "per_1000": "–" if not np.isfinite(per_1000) else f"{per_1000:.1f}",
                "covered": _esc(", ".join(f"{short[t]} {_percent(row[f'covered_{t}'])}" for t in chargers)),
                "fair": ("–" if not np.isfinite(row["vs_fair_share"]) else
                         w("popup.fair_value", chargers=row["chargers"], fair=row["fair_share"],
                           ratio=row["vs_fair_share"])),
                "stations": _esc(", ".join(f"{w.tier(plan.tiers[t].spec)} {row[f'stations_{t}']}" for t in stations)),
                "style": {"fillColor": fill, "color": "#444", "weight": 1.2,
                          "fillOpacity": 0.05 if metric == "outline" else 0.45},
            },
        })
    fields = ["district", "code", "evs", "chargers", "per_1000", "covered", "fair", "stations"]
    aliases = [w["popup.district"], w["popup.code"], w["popup.evs"], w["popup.chargers"], w["popup.per_1000"],
               w["popup.covered"], w["popup.fair"], w["popup.stations"]]
    if not stations:
        fields, aliases = fields[:-1], aliases[:-1]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=w("map.districts", caption=caption.lower() if metric == "outline" and w.language == "en" else caption),
        overlay=False, show=metric == DEFAULT_METRIC,
        tooltip=folium.GeoJsonTooltip(fields=["district"], labels=False),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    )


def _district_labels(plan: Plan, w: Words) -> folium.FeatureGroup:
    labels = folium.FeatureGroup(name=w["map.district_names"], show=True)
    points = plan.boundaries.to_crs(plan.scenario.region.metric_crs).representative_point().to_crs("EPSG:4326")
    for row, point in zip(plan.boundaries.itertuples(), points, strict=True):
        zh, en = row.district_name, getattr(row, "district_name_en", "")
        zh, en = (_esc(zh), _esc(en)) if _text(zh) != _text(en) else (_esc(zh or en), "")
        folium.Marker([point.y, point.x], icon=folium.DivIcon(
            html=f"<div class='siting-label'>{zh}<br><span>{en}</span></div>", icon_size=(120, 30),
            icon_anchor=(60, 15), class_name="siting-label-icon"), interactive=False).add_to(labels)
    return labels


# --- demand grid ---------------------------------------------------------------------------------------------------

def _street_layer(streets, w: Words) -> folium.GeoJson:
    """The extract's drivable streets as thin grey lines: a base for the map even offline."""
    features = [{"type": "Feature", "geometry": _rounded_geometry(geometry, SITE_DIGITS),
                 "properties": {"name": _esc(name)}}
                for geometry, name in zip(streets.geometry, streets["name"], strict=True) if geometry is not None]
    return folium.GeoJson({"type": "FeatureCollection", "features": features}, name=w["map.layer.streets"],
                          style_function=lambda _: {"color": "#9a9a9a", "weight": 1, "opacity": 0.7},
                          tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False), show=True)


def _grid_tiers(plan: Plan) -> dict[str, TierPlan]:
    """Tiers whose demand is a column of the demand surface (shown in the grid's tooltip)."""
    return {t: tp for t, tp in plan.tiers.items() if tp.spec.demand in plan.cells.columns}


def demand_blocks(plan: Plan, *, block_m: float = DEMAND_BLOCK_M) -> pd.DataFrame:
    """The demand surface aggregated to square blocks of about ``block_m`` metres.

    Returns one row per block with EVs: ``block_row, block_col, x0_m, y0_m,
    x1_m, y1_m`` (block square in the scenario's metric CRS), ``area_km2``
    (land area of its cells), ``evs``, ``evs_per_km2`` and the demand-surface
    column of each tier that has one (``public_sessions_per_day`` …).
    """
    cell_m = float(plan.scenario.demand.cell_size_m)
    block = max(1, round(block_m / cell_m))
    cells = plan.cells
    keys = [cells["row"] // block, cells["col"] // block]
    columns = list(dict.fromkeys(["area_km2", "evs", *(tp.spec.demand for tp in _grid_tiers(plan).values())]))
    grouped = cells[columns].groupby(keys).sum()
    grouped.index.names = ["block_row", "block_col"]
    grouped = grouped[grouped["evs"] > 0].reset_index()
    side = block * cell_m
    grouped["x0_m"] = grouped["block_col"] * side
    grouped["y0_m"] = grouped["block_row"] * side
    grouped["x1_m"] = grouped["x0_m"] + side
    grouped["y1_m"] = grouped["y0_m"] + side
    grouped["evs_per_km2"] = grouped["evs"] / grouped["area_km2"].clip(lower=1e-6)
    return grouped


def _demand_layer(plan: Plan, w: Words) -> tuple[folium.GeoJson, list[tuple[float, float, str]]]:
    blocks = demand_blocks(plan)
    grid_tiers = _grid_tiers(plan)
    to_wgs84 = pyproj.Transformer.from_crs(plan.scenario.region.metric_crs, "EPSG:4326", always_xy=True)
    xs = np.stack([blocks["x0_m"], blocks["x1_m"], blocks["x1_m"], blocks["x0_m"], blocks["x0_m"]], axis=1)
    ys = np.stack([blocks["y0_m"], blocks["y0_m"], blocks["y1_m"], blocks["y1_m"], blocks["y0_m"]], axis=1)
    lons, lats = to_wgs84.transform(xs, ys)
    lons, lats = np.round(lons, GRID_DIGITS), np.round(lats, GRID_DIGITS)
    density = blocks["evs_per_km2"].to_numpy(dtype=float)
    bins = _nice_bins(density)
    colours = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
    classes = [(bins[i], bins[i + 1], colours[i]) for i in range(len(bins) - 1)]
    fill = [colours[i] for i in np.clip(np.searchsorted(bins, density, side="right") - 1, 0, len(bins) - 2)]
    features = []
    for i, row in enumerate(blocks.to_dict("records")):
        demand = " · ".join(f"{_short(tp.spec, w)} {row[tp.spec.demand] * tp.spec.demand_share:,.0f} "
                            f"{w.demand_unit(tp.spec.demand_unit)}" for tp in grid_tiers.values())
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [list(zip(lons[i].tolist(), lats[i].tolist()))]},
            "properties": {
                "evs": w("grid.evs", evs=row["evs"], density=row["evs_per_km2"]),
                "demand": _esc(demand),
                "style": {"fillColor": fill[i], "fillOpacity": 0.6, "weight": 0, "color": fill[i]},
            },
        })
    side_km = (blocks["x1_m"] - blocks["x0_m"]).iloc[0] / 1000 if len(blocks) else DEMAND_BLOCK_M / 1000
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=w("map.demand_grid", side_km=side_km), show=False,
        tooltip=folium.GeoJsonTooltip(fields=["evs", "demand"], labels=False),
    )
    return layer, classes


def _nice_bins(values: np.ndarray) -> list[float]:
    """Class breaks at quantiles of ``values``, rounded to 2 significant digits, strictly increasing."""
    if not len(values):
        return [0.0, 1.0]
    quantiles = np.quantile(values, [0, 0.3, 0.5, 0.7, 0.85, 0.93, 0.97, 1.0])
    bins = [0.0]
    for q in quantiles[1:-1]:
        if q <= 0:
            continue
        digits = -int(np.floor(np.log10(q))) + 1
        rounded = float(round(q, digits))
        if rounded > bins[-1]:
            bins.append(rounded)
    top = float(np.max(values))
    bins.append(max(top, bins[-1] + 1.0) + 1e-9)
    return bins


# --- sites ---------------------------------------------------------------------------------------------------------

def _short(spec, w: Words) -> str:
    """A tier's name in running text: the built-in's name in English, else its label."""
    return spec.name if spec.builtin and w.language == "en" else w.tier(spec)


def _text(value) -> str:
    """A table cell as text (NaN and None: empty)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _has_places(sites: pd.DataFrame) -> bool:
    """Whether some site is a named place or comes from a file or OSM (not a bare demand cell)."""
    if not {"name", "kind", "source", "address"} <= set(sites.columns) or not len(sites):
        return False
    named = (sites["name"].fillna("").astype(str) != "") | (sites["address"].fillna("").astype(str) != "")
    return bool(named.any() or (~sites["source"].fillna("").isin(["", "cells"])).any())


def _charger_layer(tp: TierPlan, sites: pd.DataFrame, w: Words) -> folium.GeoJson:
    spec = tp.spec
    chargers = sites["chargers"].to_numpy(dtype=float)
    radius = np.clip(2.0 + np.sqrt(chargers), 2.5, 12.0).round(1)
    lon = sites["lon"].round(SITE_DIGITS).to_numpy()
    lat = sites["lat"].round(SITE_DIGITS).to_numpy()
    # name, kind, source and address only for a layer with real places (cells alone say nothing more)
    places = _has_places(sites)
    features = []
    for i, row in enumerate(sites.itertuples()):
        properties = {
            "siteId": _esc(row.site_id), "tier": _esc(_short(spec, w)),
            "district": _esc(district_label(row.district_name, row.district_name_en)),
            "chargers": int(row.chargers), "served": _esc(f"{row.demand_served:,.1f} {w.demand_unit(row.demand_unit)}"),
            "rank": int(row.rank), "lonlat": f"{lon[i]:.5f}, {lat[i]:.5f}",
            "power": _esc(_power_text(row)), "storage": _esc(_storage_text(row)),
            # a 光储充 site (storage and PV) has a thick dark outline
            "style": {"radius": float(radius[i]), **({"weight": 3, "color": "#000"}
                                                    if getattr(row, "storage_kw", 0) > 0 else {})},
        }
        if places:
            properties.update({"name": _esc(_text(row.name)), "kind": _esc(_text(row.kind)),
                               "source": _esc(w.source(_text(row.source))), "address": _esc(_text(row.address))})
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
                         "properties": properties})
    fields = ["siteId", "tier", "district", "chargers", "served", "rank", "lonlat", "power", "storage"]
    aliases = [w["popup.site"], w["popup.tier"], w["popup.district"], w["popup.chargers"], w["popup.served"],
               w["popup.rank"], w["popup.lonlat"], w["col.power_kw"], w["col.storage_kwh"]]
    if places:
        fields[1:1] = ["name", "kind", "source", "address"]
        aliases[1:1] = [w["popup.name"], w["popup.kind"], w["popup.source"], w["popup.address"]]
    placed = int(sites["chargers"].sum())
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=w("map.layer.chargers", label=w.tier(spec), sites=len(sites), units=placed),
        show=spec.shown,
        marker=folium.CircleMarker(radius=4, fill=True, color="#333", weight=0.5, fill_color=spec.colour,
                                   fill_opacity=0.75),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases) if features else None,  # folium refuses fields of no feature
    )


def _power_text(row) -> str:
    """``power_kw`` (peak ``peak_kw``) of a site row, or "" without power columns."""
    if not hasattr(row, "power_kw"):
        return ""
    return f"{row.power_kw:,.0f} kW (peak {row.peak_kw:,.0f} kW)"


def _storage_text(row) -> str:
    """Storage and PV of a 光储充 site, or "–"."""
    if getattr(row, "storage_kw", 0) <= 0:
        return "–"
    return f"{row.storage_kwh:,.0f} kWh / {row.storage_kw:,.0f} kW, PV {row.pv_kw:,.0f} kW"


def _station_layers(plan: Plan, tp: TierPlan, sites: pd.DataFrame, fmap: folium.Map, w: Words) -> folium.FeatureGroup:
    """Stations (new ▲, existing ■) with service-radius circles, and the tier's demand hubs."""
    spec = tp.spec
    label = w.tier(spec)
    n_new = int((sites["status"] == "new").sum())
    stations = folium.FeatureGroup(name=w("map.layer.stations", label=label, new=n_new, existing=len(sites) - n_new),
                                   show=spec.shown)
    circles = folium.FeatureGroup(name=w("map.layer.radius", label=label, radius_km=spec.radius_m / 1000),
                                  show=spec.shown)
    radius_m = spec.radius_m / plan.scenario.network.circuity
    for row in sites.itertuples():
        new = row.status == "new"
        colour = spec.colour if new else "#555555"
        popup = _popup_table({
            w["popup.station"]: row.site_id, w["popup.name"]: row.name, w["popup.status"]: w.status(row.status),
            w["popup.kind"]: _text(getattr(row, "kind", "")), w["popup.source"]: w.source(_text(getattr(row, "source", ""))),
            w["popup.address"]: _text(getattr(row, "address", "")),
            w["popup.tier"]: label,
            w["popup.district"]: district_label(row.district_name, row.district_name_en),
            w["popup.capacity_kg"]: f"{row.capacity_kg_per_day:,.0f}",
            w["popup.served_kg"]: f"{row.demand_served:,.0f}",
            w["popup.rank"]: row.rank, w["popup.lonlat"]: f"{row.lon:.5f}, {row.lat:.5f}",
            w["col.power_kw"]: _power_text(row), w["col.storage_kwh"]: _storage_text(row),
        })
        folium.Circle([row.lat, row.lon], radius=radius_m, color=colour, weight=1, fill=True, fill_opacity=0.04,
                      dash_array=None if new else "6 4", interactive=False).add_to(circles)
        symbol = "▲" if new else "■"
        icon = folium.DivIcon(html=f"<div style='font-size:22px;line-height:22px;color:{colour};"
                                   f"text-shadow:0 0 2px #fff,0 0 2px #fff'>{symbol}</div>",
                              icon_size=(22, 22), icon_anchor=(11, 11), class_name="siting-h2")
        # folium passes site_id on as options.siteId, which the site search reads
        folium.Marker([row.lat, row.lon], icon=icon, tooltip=_esc(f"{row.site_id} ({w.status(row.status)})"),
                      popup=folium.Popup(popup, max_width=340), site_id=_esc(row.site_id)).add_to(stations)
    circles.add_to(fmap)
    stations.add_to(fmap)
    if tp.hubs is not None:
        _hub_layer(tp, w).add_to(fmap)
    if tp.supply is not None:
        _supply_layer(tp, w).add_to(fmap)
    return stations


def _supply_layer(tp: TierPlan, w: Words) -> folium.FeatureGroup:
    """Hydrogen supply sources (◆) with lines to the stations they supply (kg/day, CNY/kg on hover)."""
    layer = folium.FeatureGroup(name=w["map.h2_supply"])
    where = tp.sites.set_index("site_id")
    drawn = tp.supply.groupby("source_id")["kg_per_day"].sum()
    for flow in tp.supply.itertuples():
        source = source_site_id(tp.spec, flow.source_id)
        if source not in where.index or flow.station_id not in where.index or source == flow.station_id:
            continue
        a, b = where.loc[source], where.loc[flow.station_id]
        unit = flow.production_cny_per_kg + flow.transport_cny_per_kg
        folium.PolyLine([[a["lat"], a["lon"]], [b["lat"], b["lon"]]], color="#1a9850", weight=2, opacity=0.8,
                        tooltip=_esc(f"{flow.source_id} → {flow.station_id}: {flow.kg_per_day:,.0f} kg/day, "
                                     f"{flow.distance_km:,.1f} km, {unit:,.2f} CNY/kg")).add_to(layer)
    sources = where[where["kind"] == SOURCE_KIND]
    for site_id, row in sources.iterrows():
        source_id = str(site_id).removeprefix(f"{tp.spec.name}-source-")
        icon = folium.DivIcon(html="<div style='font-size:18px;line-height:18px;color:#1a9850;"
                                   "text-shadow:0 0 2px #fff,0 0 2px #fff'>◆</div>",
                              icon_size=(18, 18), icon_anchor=(9, 9))
        folium.Marker([row["lat"], row["lon"]], icon=icon,
                      tooltip=_esc(f"{w['map.h2_sources']}: {source_id} {row['name']} "
                                   f"({float(drawn.get(source_id, 0.0)):,.0f} kg/day)")).add_to(layer)
    return layer


def _year_layers(plan: Plan, w: Words) -> list[folium.FeatureGroup]:
    """With a roll-out: one layer per year with every site built by its end, coloured by tier, sized by units."""
    phases = plan.phases()
    if phases is None:
        return []
    where = plan.sites().set_index("site_id")[["lat", "lon"]]
    layers = []
    for year, rows in phases[phases["chargers"] > 0].groupby("year", sort=True):
        layer = folium.FeatureGroup(name=w("map.layer.year", year=int(year), sites=len(rows),
                                           units=int(rows["chargers"].sum())), show=False)
        for row in rows.itertuples():
            spec = plan.tiers[row.tier].spec
            lat, lon = where.loc[row.site_id]
            folium.CircleMarker([round(float(lat), SITE_DIGITS), round(float(lon), SITE_DIGITS)],
                                radius=float(np.clip(2.0 + np.sqrt(row.chargers), 2.5, 12.0)), weight=0.5,
                                color="#333", fill=True, fill_color=spec.colour, fill_opacity=0.75,
                                tooltip=_esc(f"{row.site_id}: {row.chargers} ({int(year)})")).add_to(layer)
        layers.append(layer)
    return layers


def _hub_layer(tp: TierPlan, w: Words) -> folium.FeatureGroup:
    hubs_table = tp.hubs
    weight = tp.spec.hub_weight_column
    hubs = folium.FeatureGroup(name=w("map.layer.hubs", label=w.tier(tp.spec), n=len(hubs_table)))
    served = tp.demand.set_index("demand_id")["served"]
    where = tp.sites.set_index("site_id")[["lon", "lat"]]
    flows = tp.assignment[tp.assignment["amount"] > 1e-6]
    hub_points = hubs_table.assign(hub_key=hubs_table["hub_id"].astype(str)).set_index("hub_key")
    for flow in flows.itertuples():
        if flow.demand_id not in hub_points.index or flow.site_id not in where.index:
            continue
        hub = hub_points.loc[flow.demand_id]
        site = where.loc[flow.site_id]
        folium.PolyLine([[hub["lat"], hub["lon"]], [site["lat"], site["lon"]]], color="#7b3294", weight=1.5,
                        opacity=0.8, dash_array="3 4",
                        tooltip=_esc(f"{flow.demand_id} → {flow.site_id}: {flow.amount:,.0f} "
                                     f"{w.demand_unit(tp.demand_unit)}")
                        ).add_to(hubs)
    for row in hubs_table.to_dict("records"):
        demand = float(row[weight]) * tp.spec.demand_share
        got = float(served.get(str(row["hub_id"]), 0.0))
        popup = _popup_table({
            w["popup.hub"]: row["hub_id"], w["popup.name"]: row.get("name", ""),
            w["popup.name_en"]: row.get("name_en", ""), w["popup.kind"]: row.get("kind", ""),
            w("popup.demand", unit=w.demand_unit(tp.demand_unit)): f"{demand:,.0f}",
            w("popup.hub_served", unit=w.demand_unit(tp.demand_unit)): f"{got:,.0f} ({_percent(got / demand if demand else 1)})",
            w["popup.lonlat"]: f"{row['lon']:.5f}, {row['lat']:.5f}",
        })
        folium.CircleMarker([row["lat"], row["lon"]], radius=4 + np.sqrt(demand) / 6, color="#7b3294",
                            weight=1, fill=True, fill_color="#c2a5cf" if got > 0 else "#ffffff", fill_opacity=0.9,
                            popup=folium.Popup(popup, max_width=340)).add_to(hubs)
    return hubs


# --- controls, title, legend ---------------------------------------------------------------------------------------

class _SiteSearch(JSCSSMixin, folium.MacroElement):
    """Search box (leaflet-search) over every tier's sites by site id; shows the tier and opens the popup."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var tiers = { {%- for tier, name in this.layers.items() %}{{ tier|tojson }}: {{ name }},{% endfor %} };
            // leaflet-search adds its layer to the map: hand it a view of the tiers,
            // not a group, which would switch every tier on
            var all = {
                addTo: function() { return this; },
                eachLayer: function(fn, context) {
                    for (var tier in tiers) { tiers[tier].eachLayer(fn, context); }
                    return this;
                }
            };
            var search = new L.Control.Search({
                layer: all, propertyName: "siteId", initial: false, zoom: 15, position: "topleft", tooltipLimit: 15,
                textPlaceholder: {{ this.placeholder|tojson }}, textErr: {{ this.not_found|tojson }},
                textCancel: {{ this.cancel|tojson }}, marker: false,
                moveToLocation: function(latlng, title, map) { map.setView(latlng, 15); }
            });
            search.on("search:locationfound", function(e) {
                for (var tier in tiers) {
                    if (tiers[tier].hasLayer(e.layer) && !map.hasLayer(tiers[tier])) { map.addLayer(tiers[tier]); }
                }
                // a click opens the popup bound to the tier layer (GeoJSON sites) or to the marker itself
                if (e.layer) { e.layer.fire("click", {latlng: e.layer.getLatLng()}, true); }
            });
            map.addControl(search);
        })();
        {% endmacro %}
    """)
    default_js = SEARCH_JS
    default_css = SEARCH_CSS

    def __init__(self, layers: dict[str, folium.map.Layer], w: Words):
        super().__init__()
        self._name = "SiteSearch"
        self.layers = {tier: layer.get_name() for tier, layer in layers.items()}
        self.placeholder = w["search.placeholder"]
        self.not_found = w["search.not_found"]
        self.cancel = w["search.cancel"]


class _ControlWords(folium.MacroElement):
    """The map's own controls in the plan's language: zoom buttons' and the measure button's tooltips."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var container = {{ this._parent.get_name() }}.getContainer();
            var titles = {{ this.titles|tojson }};
            for (var selector in titles) {
                container.querySelectorAll(selector).forEach(function(el) {
                    el.title = titles[selector];
                    el.setAttribute("aria-label", titles[selector]);
                });
            }
        })();
        {% endmacro %}
    """)

    def __init__(self, w: Words):
        super().__init__()
        self._name = "ControlWords"
        self.titles = {".leaflet-control-zoom-in": w["control.zoom_in"],
                       ".leaflet-control-zoom-out": w["control.zoom_out"],
                       ".leaflet-control-measure-toggle": w["control.measure"]}


class _OutlineMiniMap(JSCSSMixin, folium.MacroElement):
    """An overview map of the district outlines (no tiles, so it works offline)."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var outline = L.geoJson({{ this.source }}.toGeoJSON(), {
                style: {color: "#444", weight: 1, fillColor: "#9ecae1", fillOpacity: 0.4}, interactive: false});
            new L.Control.MiniMap(outline, {position: "bottomright", toggleDisplay: false,
                                            zoomLevelFixed: {{ this.zoom }}, width: 170, height: 170}
                                 ).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)
    default_js = [("Control_MiniMap_js",
                   "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1/Control.MiniMap.js")]
    default_css = [("Control_MiniMap_css",
                    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1/Control.MiniMap.css")]

    def __init__(self, source: folium.GeoJson, *, bounds: tuple[float, float, float, float], size_px: int = 170):
        super().__init__()
        self._name = "OutlineMiniMap"
        self.source = source.get_name()
        west, south, east, north = bounds
        # a fixed zoom at which the whole region spans about 60 % of the overview
        span_deg = max(east - west, (north - south) * 1.3, 1e-3)
        self.zoom = int(np.clip(np.floor(np.log2(0.6 * size_px * 360 / (256 * span_deg))), 0, 18))


class _LayerOrder(folium.MacroElement):
    """Keep district polygons and the demand grid below the sites, and switch the district legend.

    All vector layers share one canvas, drawn in the order they were added: a
    layer switched on later would otherwise cover the sites and take their clicks.
    """

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var districts = { {%- for key, name in this.districts.items() %}{{ key|tojson }}: {{ name }},{% endfor %} };
            var demand = {{ this.demand }};
            function current() {
                for (var key in districts) { if (map.hasLayer(districts[key])) { return key; } }
                return null;
            }
            function reorder() {
                {%- if this.townships %}
                var townships = {{ this.townships }};
                if (map.hasLayer(townships)) { townships.bringToBack(); }
                var townshipLegend = document.getElementById("siting-legend-townships");
                if (townshipLegend) { townshipLegend.style.display = map.hasLayer(townships) ? "block" : "none"; }
                {%- endif %}
                if (map.hasLayer(demand)) { demand.bringToBack(); }
                var key = current();
                if (key) { districts[key].bringToBack(); }
                document.querySelectorAll(".siting-legend-metric").forEach(function(el) {
                    el.style.display = el.dataset.metric === key ? "block" : "none";
                });
                var grid = document.getElementById("siting-legend-demand");
                if (grid) { grid.style.display = map.hasLayer(demand) ? "block" : "none"; }
            }
            map.on("baselayerchange overlayadd overlayremove", reorder);
            reorder();
        })();
        {% endmacro %}
    """)

    def __init__(self, districts: dict[str, folium.GeoJson], demand: folium.GeoJson, *,
                 townships: folium.GeoJson | None = None):
        super().__init__()
        self._name = "LayerOrder"
        self.districts = {key: layer.get_name() for key, layer in districts.items()}
        self.demand = demand.get_name()
        self.townships = townships.get_name() if townships is not None else None


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def district_label(name, name_en) -> str:
    """``"市南区 Shinan"``; one name when the other is missing or the same (plain text, not escaped)."""
    name, name_en = _text(name), _text(name_en)
    return name if not name_en or name_en == name else f"{name} {name_en}".strip()


def _popup_table(values: dict) -> str:
    rows = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{_esc(k)}</th>"
                   f"<td>{_esc(v)}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _esc(value) -> str:
    """A value from a user's file as HTML text (names render as text, never as markup)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value))


def _title_html(plan: Plan, w: Words) -> str:
    s = plan.scenario
    rows = []
    for tp in plan.tiers.values():
        gap = "" if tp.result.gap is None else w("title.gap", gap=100 * tp.result.gap)
        rows.append(f"<tr><td><span class='siting-dot' style='background:{tp.spec.colour}'></span>"
                    f"{_esc(w.tier(tp.spec))}</td><td class='n'>{target_text(tp)}</td>"
                    f"<td class='n'>{tp.units_placed:,}</td><td>{_esc(w['unit.' + tp.spec.unit])}</td>"
                    f"<td class='n'>{100 * tp.coverage:.1f} %</td><td>{_esc(w.status(tp.result.status))}{gap}</td></tr>")
    title = _esc(s.title or s.name)
    return (
        "<div id='siting-title' class='siting-box' style='top:10px;left:54px'>"
        f"<div style='font-size:15px;font-weight:bold'>{title}</div>"
        f"<div style='color:#555'>{_esc(w('title.scenario', name=s.name))}</div>"
        f"<table><tr><th style='text-align:left'>{_esc(w['title.tier'])}</th><th>{_esc(w['title.target'])}</th>"
        f"<th>{_esc(w['title.placed'])}</th><th></th><th>{_esc(w['title.covered'])}</th>"
        f"<th style='text-align:left'>{_esc(w['title.solver'])}</th></tr>" + "".join(rows) + "</table></div>"
        + _STYLE
    )


_STYLE = """<style>
.leaflet-container{font-family:FONTS}
.siting-box{position:fixed;z-index:1000;background:rgba(255,255,255,.95);padding:6px 10px;border-radius:4px;
  box-shadow:0 1px 4px rgba(0,0,0,.4);font:12px FONTS}
.siting-box td.n{text-align:right;padding-left:6px}
.siting-dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:5px;vertical-align:middle}
.siting-ramp{display:inline-block;width:150px;height:10px;vertical-align:middle;border:1px solid #999}
.siting-label-icon{pointer-events:none}
.siting-label{font:bold 12px FONTS;color:#222;text-align:center;white-space:nowrap;
  text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff}
.siting-label span{font-weight:normal;font-size:11px}
.leaflet-popup-content table,.leaflet-tooltip{font:12px FONTS}
.leaflet-popup-content th{text-align:left;padding-right:8px;vertical-align:top}
</style>""".replace("FONTS", FONT_FAMILIES)


def _ramp(scale, *, steps: int = 9) -> str:
    stops = np.linspace(scale.vmin, scale.vmax, steps)
    colours = ", ".join(scale(float(v)) for v in stops)
    return f"<span class='siting-ramp' style='background:linear-gradient(to right, {colours})'></span>"


def _legend_html(plan: Plan, scales: dict, demand_classes: list[tuple[float, float, str]], w: Words,
                 sites: pd.DataFrame, *, extra: str = "") -> str:
    parts = [f"<b>{_esc(w['legend.sites'])}</b>"]
    for tp in plan.tiers.values():
        if not tp.spec.is_station:
            parts.append(f"<div><span class='siting-dot' style='background:{tp.spec.colour}'></span>"
                         f"{_esc(w.tier(tp.spec))}</div>")
    chargers = sites.loc[sites["chargers"] > 0, "chargers"]
    low, high = (int(chargers.min()), int(chargers.max())) if len(chargers) else (1, 10)
    middle = max(low, int(round(np.sqrt(low * high))))
    parts.append("<div style='color:#555'>" + _esc(w("legend.size", low=low, high=high))
                 + "".join(f"<span class='siting-dot' style='width:{2 * r:.0f}px;height:{2 * r:.0f}px;"
                           f"border-radius:{r:.0f}px;background:#aaa;margin:0 3px'></span>"
                           for r in np.clip(2 + np.sqrt([low, middle, high]), 2.5, 12.0)) + ")</div>")
    for tp in plan.tiers.values():
        if tp.spec.is_station:
            label = _esc(w.tier(tp.spec))
            parts.append(f"<div><span style='color:{tp.spec.colour}'>▲</span> {label}: {_esc(w['legend.station_new'])}"
                         f" &nbsp; <span style='color:#555'>■</span> {_esc(w['legend.station_existing'])}</div>")
            if tp.hubs is not None:
                parts.append(f"<div><span style='color:#7b3294'>●</span> {_esc(w['legend.hub'])}</div>")
    for metric, caption in district_captions(plan, w).items():
        scale = scales.get(metric)
        if scale is None:
            body = f"<div style='color:#555'>{_esc(w['legend.outlines'])}</div>"
        elif metric == "vs_fair_share":
            low_ratio, high_ratio = 2 ** scale.vmin, 2 ** scale.vmax
            body = (f"<div>{low_ratio:.2g}× {_ramp(scale)} {high_ratio:.2g}×</div><div style='color:#555'>"
                    f"{_esc(w['legend.fair'])}</div>")
        elif metric.startswith("covered"):
            body = f"<div>{100 * scale.vmin:.0f} % {_ramp(scale)} 100 %</div>"
        else:
            body = f"<div>{scale.vmin:,.0f} {_ramp(scale)} {scale.vmax:,.0f}</div>"
        parts.append(f"<div class='siting-legend-metric' data-metric='{_esc(metric)}' style='display:none'>"
                     f"<b>{_esc(w('map.districts', caption=caption))}</b>{body}<div style='color:#555'>"
                     f"<span class='siting-dot' style='background:{NO_DATA_COLOUR};border-radius:0'></span>"
                     f"{_esc(w['legend.no_demand'])}</div></div>")
    swatches = "".join(f"<span title='{low:,.0f}–{high:,.0f}' style='display:inline-block;width:18px;"
                       f"height:10px;background:{colour}'></span>" for low, high, colour in demand_classes)
    parts.append(f"<div id='siting-legend-demand' style='display:none'><b>{_esc(w['legend.grid'])}</b><div>"
                 f"{demand_classes[0][0]:,.0f} {swatches} {demand_classes[-1][1]:,.0f}</div></div>")
    parts.append(extra)
    return ("<div id='siting-legend' class='siting-box' style='bottom:40px;left:10px;max-width:330px'>"
            + "".join(parts) + "</div>")


def _rounded_geometry(geometry, digits: int) -> dict:
    import shapely

    rounded = shapely.transform(geometry, lambda xy: np.round(xy, digits))
    return json.loads(shapely.to_geojson(rounded))


_RELATIVE_URL = re.compile(r"url\((?!\s*['\"]?(?:data:|https?:|#))[^)]*\)")
_ASSET = re.compile(r'<script src="(https?://[^"]+)"></script>|<link rel="stylesheet" href="(https?://[^"]+)"/>')


def inline_assets(document: str) -> str:
    """Replace CDN ``<script src>``/``<link>`` tags by inline copies from ``folium-offline``.

    Assets the map does not use (Bootstrap, icon fonts) are dropped; jQuery
    stays (folium's popups need it).

    Raises
    ------
    RuntimeError
        When an asset has no offline copy (folium and folium-offline versions differ).
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
        if script:
            return f"<script>{content}</script>"
        # images beside a stylesheet are not inlined: a relative url() would be a failed file:// request
        return f"<style>{_RELATIVE_URL.sub('url(data:,)', content)}</style>"

    return _ASSET.sub(replace, document)
