"""The map's township layers: outlines coloured by chargers per 1,000 EVs, names, a search by name.

:func:`township_layers` gives, for a plan with townships, the township
polygons (popup: names, kind, EVs, chargers and sites per charger tier,
demand covered), a layer of township names and the legend block;
:class:`TownshipSearch` is a second search box (leaflet-search) that finds a
township by name or code, switches the layer on, zooms to it and opens its
popup; :class:`Attribution` adds a credit line (``region.attribution``, e.g.
OpenStreetMap's ODbL notice) to the map's attribution control.
:mod:`siting.render` places them; nothing here imports pulp.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import branca
import folium
import numpy as np
import shapely
from folium.elements import JSCSSMixin

from siting.labels import Words
from siting.tables import charger_tiers, township_metrics

#: leaflet-search, which the site and township searches use (inlined from folium-offline).
SEARCH_JS = [("Leaflet.Search.js", "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js")]
SEARCH_CSS = [("Leaflet.Search.css", "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css")]

if TYPE_CHECKING:
    from siting.plan import Plan

#: Fill of a township with EVs but no charging site, and of one without EVs.
UNSERVED_COLOUR = "#de2d26"
NO_EVS_COLOUR = "#d9d9d9"
#: Outline simplification before drawing, metres (the map file stays small; the GeoPackage keeps full detail).
SIMPLIFY_M = 30.0
DIGITS = 5


def township_layers(plan: Plan, w: Words) -> tuple[folium.GeoJson, folium.FeatureGroup, str] | None:
    """The township polygons, their names and the legend's HTML; None when the plan has no townships."""
    metrics = township_metrics(plan)
    if metrics is None:
        return None
    townships = plan.townships.merge(metrics, on="township_code", how="left")
    names = plan.boundaries.set_index("district_code")["district_name"]
    chargers = charger_tiers(plan)
    short = {t: t if plan.tiers[t].spec.builtin and w.language == "en" else w.tier(plan.tiers[t].spec)
             for t in chargers}
    scale = _scale(metrics)
    crs = plan.scenario.region.metric_crs
    outlines = townships.to_crs(crs).simplify(SIMPLIFY_M, preserve_topology=True).to_crs("EPSG:4326")
    features = []
    for row, geometry in zip(townships.to_dict("records"), outlines, strict=True):
        per_1000 = row["chargers_per_1000_evs"]
        if row["evs"] > 0 and row["charging_sites"] == 0:
            fill = UNSERVED_COLOUR
        elif not np.isfinite(per_1000):
            fill = NO_EVS_COLOUR
        else:
            fill = scale(min(max(float(per_1000), scale.vmin), scale.vmax))
        features.append({
            "type": "Feature",
            "geometry": _geometry(geometry),
            "properties": {
                "township": _esc(row["township_name"]),
                "search": _esc(f"{row['township_name']} {row['township_code']}"),
                "code": _esc(row["township_code"]),
                "district": _esc(f"{names.get(row['district_code'], '')} {row['district_code']}".strip()),
                "kind": _esc(w.get(f"township_kind.{row['township_kind']}", row["township_kind"])),
                "evs": f"{row['evs']:,.0f}",
                "chargers": _esc(f"{int(row['chargers']):,} (" + ", ".join(
                    f"{short[t]} {int(row[f'chargers_{t}']):,}" for t in chargers) + ")"),
                "sites": _esc(", ".join(f"{short[t]} {int(row[f'sites_{t}']):,}" for t in chargers)),
                "per_1000": "–" if not np.isfinite(per_1000) else f"{per_1000:.1f}",
                "covered": _esc(", ".join(f"{short[t]} {_percent(row[f'covered_{t}'])}" for t in chargers)),
                "style": {"fillColor": fill, "color": "#555", "weight": 0.8, "dashArray": "4 3",
                          "fillOpacity": 0.45},
            },
        })
    fields = ["township", "code", "district", "kind", "evs", "chargers", "sites", "per_1000", "covered"]
    aliases = [w["popup.township"], w["popup.code"], w["popup.district"], w["popup.kind"], w["popup.evs"],
               w["popup.chargers"], w["popup.sites"], w["popup.per_1000"], w["popup.covered"]]
    polygons = folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=w["map.townships"], show=False,
        tooltip=folium.GeoJsonTooltip(fields=["township"], labels=False),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    )
    return polygons, _labels(plan, w), _legend(scale, w)


def _scale(metrics) -> branca.colormap.ColorMap:
    values = metrics["chargers_per_1000_evs"].replace([np.inf, -np.inf], np.nan).dropna()
    high = float(np.quantile(values, 0.95)) if len(values) else 1.0
    return branca.colormap.linear.YlGnBu_09.scale(0.0, max(high, 1.0))


def _labels(plan: Plan, w: Words) -> folium.FeatureGroup:
    labels = folium.FeatureGroup(name=w["map.township_names"], show=False)
    points = plan.townships.to_crs(plan.scenario.region.metric_crs).representative_point().to_crs("EPSG:4326")
    for name, point in zip(plan.townships["township_name"], points, strict=True):
        folium.Marker([round(point.y, DIGITS), round(point.x, DIGITS)], icon=folium.DivIcon(
            html=f"<div class='siting-township-label'>{_esc(name)}</div>", icon_size=(100, 16), icon_anchor=(50, 8),
            class_name="siting-label-icon"), interactive=False).add_to(labels)
    return labels


def _legend(scale, w: Words) -> str:
    stops = np.linspace(scale.vmin, scale.vmax, 9)
    colours = ", ".join(scale(float(v)) for v in stops)
    ramp = f"<span class='siting-ramp' style='background:linear-gradient(to right, {colours})'></span>"
    return (f"<div id='siting-legend-townships' style='display:none'><b>{_esc(w['legend.townships'])}</b>"
            f"<div>{scale.vmin:,.0f} {ramp} {scale.vmax:,.0f}+</div><div style='color:#555'>"
            f"<span class='siting-dot' style='background:{UNSERVED_COLOUR};border-radius:0'></span>"
            f"{_esc(w['legend.township_unserved'])} &nbsp; "
            f"<span class='siting-dot' style='background:{NO_EVS_COLOUR};border-radius:0'></span>"
            f"{_esc(w['legend.no_demand'])}</div>"
            "<style>.siting-township-label{font:11px sans-serif;color:#333;text-align:center;white-space:nowrap;"
            "text-shadow:0 0 3px #fff,0 0 3px #fff}</style></div>")


class TownshipSearch(JSCSSMixin, folium.MacroElement):
    """A search box over the township polygons by name or code: zooms to the township and opens its popup."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var townships = {{ this.layer }};
            // leaflet-search adds its layer to the map: hand it a view, so that searching does not switch it on
            var view = {
                addTo: function() { return this; },
                eachLayer: function(fn, context) { townships.eachLayer(fn, context); return this; }
            };
            var search = new L.Control.Search({
                layer: view, propertyName: "search", initial: false, position: "topleft", tooltipLimit: 15, firstTipSubmit: true,
                textPlaceholder: {{ this.placeholder|tojson }}, textErr: {{ this.not_found|tojson }}, marker: false,
                moveToLocation: function(latlng, title, map) {
                    if (latlng.layer && latlng.layer.getBounds) { map.fitBounds(latlng.layer.getBounds()); }
                    else { map.setView(latlng, 13); }
                }
            });
            search.on("search:locationfound", function(e) {
                if (!map.hasLayer(townships)) { map.addLayer(townships); }
                if (e.layer) { e.layer.fire("click", {latlng: e.latlng || e.layer.getBounds().getCenter()}, true); }
            });
            map.addControl(search);
        })();
        {% endmacro %}
    """)
    default_js = SEARCH_JS
    default_css = SEARCH_CSS

    def __init__(self, layer: folium.GeoJson, w: Words):
        super().__init__()
        self._name = "TownshipSearch"
        self.layer = layer.get_name()
        self.placeholder = w["search.township_placeholder"]
        self.not_found = w["search.township_not_found"]


class Attribution(folium.MacroElement):
    """A credit line in the map's attribution control (bottom right), e.g. "© OpenStreetMap contributors (ODbL)"."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = _esc(text)


def _geometry(geometry) -> dict:
    rounded = shapely.transform(geometry, lambda xy: np.round(xy, DIGITS))
    return json.loads(shapely.to_geojson(rounded))


def _percent(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f} %"


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value))
