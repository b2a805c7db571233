"""Online basemaps for ``map.html``: 天地图 (Tianditu), when the planner gives a key.

The map works offline and carries no basemap tiles by default. With a
Tianditu key (``[map] tianditu_key`` in the scenario, or the environment
variable ``SITING_TIANDITU_KEY``) it gets Tianditu's vector map and its
annotation (place names) as two online layers. Tianditu's tiles are in
CGCS2000, which agrees with WGS84 to well within a metre at city scale, so the
plan's points sit where they belong (unlike GCJ-02 basemaps such as AMap's).
The ``_w`` services are Web Mercator tiles, the tiling Leaflet uses.

The key is part of the tile URLs in ``map.html`` (the browser needs it);
``plan.json`` records it only masked.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import folium

from siting.scenario import mask_secret

if TYPE_CHECKING:
    from siting.labels import Words
    from siting.scenario import Scenario

#: The environment variable read when the scenario gives no key.
TIANDITU_ENV = "SITING_TIANDITU_KEY"
#: WMTS GetTile URL of a Tianditu Web-Mercator layer (``vec``: vector map, ``cva``: Chinese annotation).
TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                "&TILECOL={{x}}&tk={key}")
TIANDITU_ATTRIBUTION = "&copy; <a href='https://www.tianditu.gov.cn/'>天地图 Tianditu</a>"


def tianditu_key(scenario: Scenario) -> tuple[str, str]:
    """The Tianditu key in use and where it came from.

    Returns
    -------
    (str, str)
        ``(key, source)``: the scenario's ``map.tianditu_key`` (source
        ``"scenario"``), else the environment variable ``SITING_TIANDITU_KEY``
        (source ``"SITING_TIANDITU_KEY"``), else ``("", "")``: no Tianditu layers.
    """
    key = scenario.map.tianditu_key.strip()
    if key:
        return key, "scenario"
    key = os.environ.get(TIANDITU_ENV, "").strip()
    return (key, TIANDITU_ENV) if key else ("", "")


def basemap_record(scenario: Scenario) -> dict:
    """What ``plan.json`` says about online basemaps: ``{"tianditu": {"key": "****1a2b", "from": ...}}`` or ``{}``."""
    key, source = tianditu_key(scenario)
    return {"tianditu": {"key": mask_secret(key), "from": source}} if key else {}


def add_tianditu(fmap: folium.Map, key: str, w: Words) -> None:
    """Add Tianditu's vector map and its annotation to ``fmap`` as two online layers (shown)."""
    for layer, name in (("vec", "map.basemap.tianditu_vector"), ("cva", "map.basemap.tianditu_labels")):
        folium.TileLayer(tiles=TIANDITU_URL.format(layer=layer, key=key), attr=TIANDITU_ATTRIBUTION, name=w[name],
                         subdomains="01234567", max_zoom=18, max_native_zoom=18, overlay=True, control=True,
                         show=True).add_to(fmap)
