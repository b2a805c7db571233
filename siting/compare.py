"""Compare two plan folders: what changed per district and tier, and where.

``siting compare DIR_A DIR_B`` reads the ``sites.csv``, ``districts.csv`` and
``plan.json`` that ``siting plan`` wrote into each folder, prints per district
and tier the change in sites, chargers (stations for hydrogen) and demand
covered, and writes ``compare.html``: a map of the sites added, removed and
resized from A to B, with the tables. Sites are matched by ``site_id`` (ids
are derived from the demand grid and input ids, so the same place has the same
id in both plans when the grid is the same).
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import folium
import numpy as np
import pandas as pd

from siting._errors import DataError
from siting.render import inline_assets

REQUIRED_FILES = ("sites.csv", "districts.csv", "plan.json")
CHANGE_COLOURS = {"added": "#1a9850", "removed": "#d73027", "resized": "#fdae61", "unchanged": "#999999"}


@dataclass(frozen=True)
class PlanFolder:
    """The tables of one written plan."""

    path: Path
    record: dict
    sites: pd.DataFrame
    districts: pd.DataFrame
    boundaries: object | None  # GeoDataFrame of the districts layer of sites.gpkg, when readable
    #: The planner's decisions the plan honoured (``site_id, tier, decision`` from candidates.csv).
    decisions: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return str(self.record.get("scenario", self.path.name))

    def tier_info(self) -> dict[str, dict]:
        """Per tier in the plan's order: ``label``, ``colour``, ``station`` (from plan.json)."""
        info = {}
        for tier, record in (self.record.get("tiers") or {}).items():
            station = record.get("kind") == "station" or record.get("unit") == "stations"
            info[tier] = {"label": record.get("label") or tier, "colour": record.get("colour") or "#333333",
                          "station": station}
        return info


def _tier_info(a: PlanFolder, b: PlanFolder) -> dict[str, dict]:
    """Tiers of both plans (A's order, then B's new ones) with label, colour and whether they count stations."""
    info = a.tier_info()
    info.update({t: v for t, v in b.tier_info().items() if t not in info})
    return info


@dataclass(frozen=True)
class Comparison:
    """Plan B against plan A.

    Attributes
    ----------
    a, b : PlanFolder
    districts : pandas.DataFrame
        Per district and tier: ``sites_a, sites_b, sites_change, units_a,
        units_b, units_change, demand_served_a, demand_served_b,
        share_covered_a, share_covered_b, share_covered_change`` (shares 0–1).
    tiers : pandas.DataFrame
        The same summed per tier (shares from the tier totals).
    sites : pandas.DataFrame
        Every site of either plan: ``site_id, tier, change`` (added, removed,
        resized, unchanged), ``chargers_a, chargers_b`` (units: chargers, or 1
        per hydrogen station), location and district.
    """

    a: PlanFolder
    b: PlanFolder
    districts: pd.DataFrame
    tiers: pd.DataFrame
    sites: pd.DataFrame


def read_plan_folder(path: Path) -> PlanFolder:
    """Read the files of a plan folder written by ``siting plan``.

    Raises
    ------
    DataError
        When the folder or one of its files is missing or unreadable.
    """
    path = Path(path)
    if not path.is_dir():
        msg = f"{path}: not a folder; give a folder written by `siting plan`"
        raise DataError(msg)
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        msg = f"{path}: no {', '.join(missing)}; give a folder written by `siting plan`"
        raise DataError(msg)
    try:
        record = json.loads((path / "plan.json").read_text(encoding="utf-8"))
        sites = pd.read_csv(path / "sites.csv", encoding="utf-8-sig", dtype={"district_code": str, "site_id": str},
                            keep_default_na=False, na_values=[""])
        districts = pd.read_csv(path / "districts.csv", encoding="utf-8-sig", dtype={"district_code": str},
                                keep_default_na=False, na_values=[""])
    except (ValueError, OSError) as exc:
        msg = f"{path}: cannot read the plan ({exc}); write it again with `siting plan`"
        raise DataError(msg) from None
    for table, name, columns in ((sites, "sites.csv", ("site_id", "tier", "district_code", "lon", "lat", "chargers")),
                                 (districts, "districts.csv", ("district_code", "tier", "sites", "units", "demand",
                                                               "demand_served"))):
        absent = [c for c in columns if c not in table.columns]
        if absent:
            msg = f"{path / name}: no column {', '.join(absent)}; write the plan again with this version of siting"
            raise DataError(msg)
    return PlanFolder(path=path, record=record, sites=sites, districts=districts,
                      boundaries=_read_boundaries(path / "sites.gpkg"), decisions=_read_decisions(path))


def _read_decisions(path: Path) -> pd.DataFrame:
    """The planner's decisions the plan was made with: ``site_id, tier, decision`` (none: empty)."""
    file = path / "candidates.csv"
    empty = pd.DataFrame({"site_id": pd.Series(dtype=str), "tier": pd.Series(dtype=str),
                          "decision": pd.Series(dtype=str)})
    if not file.is_file():
        return empty
    try:
        table = pd.read_csv(file, encoding="utf-8-sig", usecols=lambda c: c in ("site_id", "tier", "decision"),
                            dtype=str, keep_default_na=False)
    except (ValueError, OSError):
        return empty
    if "decision" not in table:
        return empty
    return table[table["decision"].str.strip() != ""].reset_index(drop=True)


def _read_boundaries(gpkg: Path):
    if not gpkg.is_file():
        return None
    import geopandas as gpd

    try:
        return gpd.read_file(gpkg, layer="districts", engine="pyogrio")
    except Exception:  # an optional backdrop: the comparison works without it
        return None


def compare_plans(dir_a: Path, dir_b: Path) -> Comparison:
    """Compare plan B (``dir_b``) with plan A (``dir_a``); see :class:`Comparison`."""
    a, b = read_plan_folder(dir_a), read_plan_folder(dir_b)
    return Comparison(a=a, b=b, districts=_district_changes(a, b), tiers=_tier_changes(a, b),
                      sites=_site_changes(a, b))


def _district_changes(a: PlanFolder, b: PlanFolder) -> pd.DataFrame:
    keys = ["district_code", "tier"]
    values = ["sites", "units", "demand", "demand_served"]
    left = a.districts[keys + values].groupby(keys, sort=False).sum()
    right = b.districts[keys + values].groupby(keys, sort=False).sum()
    table = _outer(left, right).fillna(0.0).reset_index()
    names = pd.concat([a.districts, b.districts])
    names = names.drop_duplicates("district_code").set_index("district_code")
    table["district_name"] = table["district_code"].map(names.get("district_name", pd.Series(dtype=str)))
    table["district_name_en"] = table["district_code"].map(names.get("district_name_en", pd.Series(dtype=str)))
    table = _with_changes(table)
    order = {t: i for i, t in enumerate(_tier_info(a, b))}
    table = table.sort_values(["district_code", "tier"], key=lambda c: c.map(order) if c.name == "tier" else c)
    return table.reset_index(drop=True)


def _tier_changes(a: PlanFolder, b: PlanFolder) -> pd.DataFrame:
    values = ["sites", "units", "demand", "demand_served"]
    left = a.districts.groupby("tier", sort=False)[values].sum()
    right = b.districts.groupby("tier", sort=False)[values].sum()
    table = _outer(left, right).fillna(0.0).reset_index()
    table = _with_changes(table)
    order = {t: i for i, t in enumerate(_tier_info(a, b))}
    return table.sort_values("tier", key=lambda c: c.map(order)).reset_index(drop=True)


def _outer(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Both tables side by side on their index; shared columns get ``_a``/``_b`` suffixes."""
    return left.merge(right, how="outer", left_index=True, right_index=True, suffixes=("_a", "_b"))


def _with_changes(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in ("sites", "units"):
        out[f"{column}_a"] = out[f"{column}_a"].astype(int)
        out[f"{column}_b"] = out[f"{column}_b"].astype(int)
        out[f"{column}_change"] = out[f"{column}_b"] - out[f"{column}_a"]
    for side in ("a", "b"):
        demand = out[f"demand_{side}"].to_numpy(dtype=float)
        served = out[f"demand_served_{side}"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"share_covered_{side}"] = np.where(demand > 0, served / demand, np.nan)
    out["demand_served_change"] = out["demand_served_b"] - out["demand_served_a"]
    out["share_covered_change"] = out["share_covered_b"] - out["share_covered_a"]
    return out


def _site_changes(a: PlanFolder, b: PlanFolder) -> pd.DataFrame:
    columns = ["site_id", "tier", "district_code", "district_name", "lon", "lat", "chargers"]
    stations = [t for t, info in _tier_info(a, b).items() if info["station"]]

    def units(sites: pd.DataFrame) -> pd.DataFrame:
        table = sites[[c for c in columns if c in sites.columns]].copy()
        table["chargers"] = np.where(table["tier"].isin(stations), 1, table["chargers"]).astype(int)
        return table.drop_duplicates("site_id").set_index("site_id")

    left, right = units(a.sites), units(b.sites)
    both = _outer(left, right[["chargers"]])
    only_b = right.index.difference(left.index)
    for column in ("tier", "district_code", "district_name", "lon", "lat"):
        if column in right.columns:
            both.loc[only_b, column] = right.loc[only_b, column]
    both[["chargers_a", "chargers_b"]] = both[["chargers_a", "chargers_b"]].fillna(0).astype(int)
    change = np.select([both["chargers_a"] == 0, both["chargers_b"] == 0, both["chargers_a"] != both["chargers_b"]],
                       ["added", "removed", "resized"], default="unchanged")
    both["change"] = change
    return both.reset_index().rename(columns={"index": "site_id"})


# --- the terminal table --------------------------------------------------------------------------------------------

def format_comparison(comparison: Comparison, *, changed_only: bool = False) -> str:
    """The comparison as a plain-text table for a terminal (CJK names aligned)."""
    lines = [f"{comparison.a.name} ({comparison.a.path}) → {comparison.b.name} ({comparison.b.path})", ""]
    header = ["district", "tier", "sites", "Δ sites", "chargers/stations", "Δ", "covered", "Δ pp"]
    rows = []
    for row in comparison.districts.itertuples():
        if changed_only and not (row.sites_change or row.units_change or abs(row.demand_served_change) > 1e-6):
            continue
        name = " ".join(str(v) for v in (row.district_name, row.district_name_en) if isinstance(v, str) and v)
        rows.append(_row(name or row.district_code, row))
    rows.append(None)
    for row in comparison.tiers.itertuples():
        rows.append(_row("all districts", row))
    widths = [max(_width(r[i]) for r in [header, *[r for r in rows if r]]) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(cells):
        return "  ".join(_pad(c, widths[i], right=i in right) for i, c in enumerate(cells)).rstrip()

    lines.append(fmt(header))
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join("-" * w for w in widths) if r is None else fmt(r))
    counts = comparison.sites["change"].value_counts()
    lines.append("")
    lines.append(f"sites added {counts.get('added', 0):,}, removed {counts.get('removed', 0):,}, "
                 f"resized {counts.get('resized', 0):,}, unchanged {counts.get('unchanged', 0):,}")
    lines.extend(decision_lines(comparison))
    return "\n".join(lines)


def decision_lines(comparison: Comparison) -> list[str]:
    """What B's planner decisions changed against A: required sites added, excluded sites removed."""
    decisions = comparison.b.decisions
    if decisions is None or not len(decisions):
        return []
    change = comparison.sites.set_index("site_id")["change"]
    lines = ["", f"decisions in B: {len(decisions):,}"]
    for decision, rows in decisions.groupby("decision", sort=True):
        effect = rows["site_id"].map(change).fillna("not in either plan").value_counts()
        parts = ", ".join(f"{n:,} {what}" for what, n in effect.items())
        lines.append(f"  {decision} {len(rows):,}: {parts}")
    return lines


def _row(name: str, row) -> list[str]:
    return [
        name, row.tier,
        f"{row.sites_a:,} → {row.sites_b:,}", f"{row.sites_change:+,}",
        f"{row.units_a:,} → {row.units_b:,}", f"{row.units_change:+,}",
        f"{_pct(row.share_covered_a)} → {_pct(row.share_covered_b)}",
        "–" if not np.isfinite(row.share_covered_change) else f"{100 * row.share_covered_change:+.1f}",
    ]


def _pct(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.1f} %"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


# --- compare.html --------------------------------------------------------------------------------------------------

def render_comparison(comparison: Comparison) -> str:
    """``compare.html``: a self-contained map of sites added, removed and resized, with the tables."""
    sites = comparison.sites
    west, south, east, north = sites["lon"].min(), sites["lat"].min(), sites["lon"].max(), sites["lat"].max()
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, prefer_canvas=True,
                      control_scale=True, zoom_start=9)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap basemap (online)", show=False, overlay=True).add_to(fmap)
    boundaries = comparison.b.boundaries if comparison.b.boundaries is not None else comparison.a.boundaries
    if boundaries is not None:
        folium.GeoJson(
            _boundary_features(boundaries), name="Districts",
            style_function=lambda f: {"color": "#444", "weight": 1.2, "fillColor": "#ffffff", "fillOpacity": 0.05},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(fmap)
    for change in ("unchanged", "resized", "removed", "added"):
        chosen = sites[sites["change"] == change]
        if len(chosen):
            _change_layer(change, chosen, _tier_info(comparison.a, comparison.b)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_compare_panel(comparison)))
    fmap.fit_bounds([[south, west], [north, east]])
    return inline_assets(fmap.get_root().render())


def _boundary_features(boundaries) -> dict:
    import shapely

    features = []
    for row in boundaries.to_crs("EPSG:4326").itertuples():
        name = " ".join(str(v) for v in (getattr(row, "district_name", ""), getattr(row, "district_name_en", ""))
                        if isinstance(v, str) and v)
        geometry = shapely.transform(row.geometry, lambda xy: np.round(xy, 5))
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geometry)),
                         "properties": {"name": html.escape(name or str(row.district_code))}})
    return {"type": "FeatureCollection", "features": features}


def _change_layer(change: str, sites: pd.DataFrame, tiers: dict[str, dict]) -> folium.GeoJson:
    features = []
    for row in sites.itertuples():
        info = tiers.get(str(row.tier), {"station": False, "colour": "#333"})
        unit = "station" if info["station"] else "chargers"
        size = max(row.chargers_a, row.chargers_b)
        radius = 6.0 if info["station"] else float(np.clip(2.0 + np.sqrt(size), 2.5, 12.0))
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(row.lon), 5), round(float(row.lat), 5)]},
            "properties": {
                "siteId": html.escape(str(row.site_id)), "tier": html.escape(str(row.tier)),
                "district": html.escape(str(row.district_name) if isinstance(row.district_name, str) else ""),
                "change": change, "chargers": f"{row.chargers_a:,} → {row.chargers_b:,} {unit}",
                "style": {"radius": radius, "fillColor": CHANGE_COLOURS[change],
                          "color": info["colour"]},
            },
        })
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=f"Sites {change} ({len(sites):,})", show=change != "unchanged",
        marker=folium.CircleMarker(radius=4, fill=True, weight=1.5, fill_opacity=0.85),
        popup=folium.GeoJsonPopup(fields=["siteId", "tier", "district", "change", "chargers"],
                                  aliases=["Site", "Tier", "District", "Change", "A → B"]),
    )


def _compare_panel(comparison: Comparison) -> str:
    esc = html.escape
    tiers = _tier_info(comparison.a, comparison.b)
    tier_rows = "".join(
        f"<tr><td>{esc(tiers.get(r.tier, {}).get('label', r.tier))}</td><td class='n'>{r.sites_a:,} → {r.sites_b:,}</td>"
        f"<td class='n'>{r.units_a:,} → {r.units_b:,} ({r.units_change:+,})</td>"
        f"<td class='n'>{_pct(r.share_covered_a)} → {_pct(r.share_covered_b)}</td></tr>"
        for r in comparison.tiers.itertuples())
    district_rows = "".join(
        f"<tr><td>{esc(str(r.district_name) if isinstance(r.district_name, str) else r.district_code)}</td>"
        f"<td>{esc(str(r.district_name_en) if isinstance(r.district_name_en, str) else '')}</td>"
        f"<td>{esc(r.tier)}</td><td class='n'>{r.sites_change:+,}</td><td class='n'>{r.units_change:+,}</td>"
        f"<td class='n'>{_pct(r.share_covered_a)} → {_pct(r.share_covered_b)}</td></tr>"
        for r in comparison.districts.itertuples()
        if r.sites_change or r.units_change or abs(r.demand_served_change) > 1e-6)
    counts = comparison.sites["change"].value_counts()
    legend = " ".join(f"<span style='color:{c}'>●</span> {k} ({counts.get(k, 0):,})"
                      for k, c in CHANGE_COLOURS.items())
    return (
        "<style>.cmp{position:fixed;z-index:1000;background:rgba(255,255,255,.95);padding:6px 10px;border-radius:4px;"
        "box-shadow:0 1px 4px rgba(0,0,0,.4);font:12px sans-serif}.cmp td.n{text-align:right;padding-left:8px}"
        ".cmp th{text-align:left}.cmp details{max-height:45vh;overflow:auto}</style>"
        "<div class='cmp' style='top:10px;left:54px;max-width:560px'>"
        f"<div style='font-size:14px;font-weight:bold'>{esc(comparison.a.name)} → {esc(comparison.b.name)}</div>"
        f"<div style='color:#555'>A: {esc(str(comparison.a.path))}<br>B: {esc(str(comparison.b.path))}</div>"
        "<table><tr><th>Tier</th><th>Sites</th><th>Chargers / stations</th><th>Covered</th></tr>"
        f"{tier_rows}</table><div>{legend}</div>"
        "<details><summary>Changes per district</summary><table><tr><th>District</th><th></th><th>Tier</th>"
        f"<th>Δ sites</th><th>Δ units</th><th>Covered</th></tr>{district_rows}</table></details>"
        + "".join(f"<div>{esc(line.strip())}</div>" for line in decision_lines(comparison) if line.strip())
        + "</div>"
    )


def write_comparison(comparison: Comparison, out_file: Path) -> Path:
    """Write ``compare.html`` to ``out_file`` atomically (a temporary file renamed into place)."""
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    document = render_comparison(comparison)
    handle, temporary = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(document)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out_file
