"""Hypothesis strategies that produce near-valid and broken input files."""

from __future__ import annotations

import json

from hypothesis import strategies as st

SCENARIO_KEYS = {
    "": ["name", "title", "region", "targets", "demand", "public", "solver", "bogus"],
    "region": ["boundaries", "district_stats", "metric_crs", "urban_centres", "geonames_places"],
    "targets": ["public_chargers", "residential_chargers", "rural_chargers", "hydrogen_new_stations"],
    "demand": ["cell_size_m", "ev_stock", "home_parking_share", "population_layer"],
    "public": ["radius_m", "min_chargers_per_site", "max_chargers_per_site", "capacity_per_charger"],
    "solver": ["name", "time_limit_s", "mip_gap"],
}
VALUES = st.one_of(
    st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.text(max_size=12), st.sampled_from(["EPSG:32651", "EPSG:4326", "highs", "cbc", "nope.csv", ""]),
    st.lists(st.integers(), max_size=3),
)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value) if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"


@st.composite
def scenario_text(draw) -> str:
    """TOML-ish text: mostly well-formed tables with wrong keys and values, sometimes garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    lines = []
    for section, keys in SCENARIO_KEYS.items():
        if section and draw(st.booleans()):
            lines.append(f"[{section}]")
        elif section:
            continue
        for key in draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True)):
            if key in SCENARIO_KEYS and section == "":
                continue
            lines.append(f"{key} = {_toml_value(draw(VALUES))}")
    return "\n".join(lines) + "\n"


CELL = st.one_of(st.integers(-10**6, 10**7).map(str), st.floats().map(str),
                 st.sampled_from(["A", "B", "C", "", "nan", "inf", "-1", "1e400", "0.5", "120.2", "36.2"]),
                 st.text(max_size=6))


@st.composite
def _table(draw, headers: list[str]) -> bytes:
    chosen = draw(st.lists(st.sampled_from(headers + ["extra", ""]), min_size=0, max_size=len(headers) + 1))
    rows = draw(st.lists(st.lists(CELL, min_size=len(chosen), max_size=len(chosen)), max_size=4))
    text = "\n".join([",".join(chosen)] + [",".join(r) for r in rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def csv_bytes():
    return st.one_of(_table(["district_code", "population", "urban_share", "ev_stock"]), st.binary(max_size=64))


def points_csv_bytes():
    return st.one_of(_table(["hub_id", "name", "lon", "lat", "demand_kg_per_day", "district_code"]),
                     st.binary(max_size=64))


@st.composite
def geojson_bytes(draw) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=80))
    features = []
    for _ in range(draw(st.integers(0, 3))):
        x, y = draw(st.floats(-200, 200)), draw(st.floats(-100, 100))
        size = draw(st.floats(0, 2))
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        if draw(st.booleans()):
            ring = ring[:draw(st.integers(0, 4))]
        geometry = draw(st.sampled_from([
            {"type": "Polygon", "coordinates": [ring]},
            {"type": "Point", "coordinates": [x, y]},
            None,
            {"type": "Polygon", "coordinates": []},
        ]))
        props = {draw(st.sampled_from(["district_code", "code", "name"])): draw(CELL)}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()
