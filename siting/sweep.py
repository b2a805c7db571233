"""Scenario sweeps: one plan per combination of parameter values, each a Dask task.

A sweep takes a scenario file and overrides of its keys (``public.radius_m =
600, 900, 1200``), runs :func:`~siting.plan.run_plan` for every variant as a
task on a ``dask.distributed`` cluster, writes each variant's plan folder
(exactly what ``siting plan`` writes) and then ``sweep.csv`` (one row per run:
parameters, per-tier coverage, units, status, gap, time, error) and
``sweep.png`` (coverage against the swept parameter, per tier).

Tasks receive the scenario path and the overrides, not data: each worker
reads the inputs itself, so the workers need the package and the files (a
shared folder on a multi-node cluster; see ``docs/sweeps.md``). A run that
fails is a row with its error; the others go on. A run folder whose
``plan.json`` has the variant's scenario hash and the same input hashes is
complete: a re-run reuses it.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import logging
import math
import os
import re
import time
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from siting._errors import ScenarioError, SitingError
from siting.scenario import Scenario, load_scenario, scenario_from_dict

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

SWEEP_CSV = "sweep.csv"
SWEEP_PNG = "sweep.png"


@dataclass(frozen=True)
class Variant:
    """One run of a sweep: the scenario keys it overrides (``section.key``) and their values."""

    overrides: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        """The run's folder name, made from its overrides (``public.radius_m=600__targets.public_chargers=30000``)."""
        if not self.overrides:
            return "base"
        name = "__".join(f"{key}={format_value(value)}" for key, value in self.overrides)
        name = re.sub(r"[^A-Za-z0-9._=+-]", "_", name)
        if len(name) > 120:  # keep folder names short; the hash keeps them distinct
            digest = hashlib.sha256(name.encode()).hexdigest()[:10]
            name = f"{name[:100]}-{digest}"
        return name


def format_value(value: Any) -> str:
    """A value as written in ``--set`` (TOML spelling for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (``600``, ``0.5``, ``true``, ``"cbc"``), or else the bare text as a string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"public.radius_m=600,900"`` → ``("public.radius_m", [600, 900])``.

    Raises
    ------
    ScenarioError
        If there is no ``=``, no key or an empty value.
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    items = [v.strip() for v in values.split(",")]
    if not sep or not key or not all(items):
        msg = f"--set {text!r}: write KEY=VALUE[,VALUE...] with a scenario key, e.g. public.radius_m=600,900,1200"
        raise ScenarioError(msg)
    return key, [parse_value(v) for v in items]


def expand(sets: Sequence[tuple[str, Sequence[Any]]]) -> list[Variant]:
    """Every combination of the values of ``sets`` (the last key varies fastest).

    Raises
    ------
    ScenarioError
        If a key is given twice.
    """
    keys = [key for key, _ in sets]
    for key in keys:
        if keys.count(key) > 1:
            msg = f"--set {key}: given twice; list all its values in one --set {key}=V1,V2"
            raise ScenarioError(msg)
    return [Variant(tuple(zip(keys, combo, strict=True))) for combo in itertools.product(*(v for _, v in sets))]


def read_variants(path: str | Path) -> list[Variant]:
    """A listed set of variants: a CSV file with one column per scenario key and one row per run.

    An empty cell leaves that key at the scenario's value.

    Raises
    ------
    ScenarioError
        If the file cannot be read or has no rows.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        msg = f"{path}: cannot read the variants file ({exc.strerror}); check the path"
        raise ScenarioError(msg) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        msg = f"{path}: not a CSV file ({exc}); give one column per scenario key, one row per run"
        raise ScenarioError(msg) from None
    if not rows:
        msg = f"{path}: no variants; give a header of scenario keys (public.radius_m,...) and one row per run"
        raise ScenarioError(msg)
    return [Variant(tuple((k.strip(), parse_value(v)) for k, v in row.items() if k and v is not None and v.strip()))
            for row in rows]


def variant_hash(content_hash: str, overrides: Sequence[tuple[str, Any]]) -> str:
    """The scenario hash of a variant: the file's own hash when nothing is overridden."""
    if not overrides:
        return content_hash
    text = content_hash + "\n" + json.dumps(sorted([k, v] for k, v in overrides), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def load_variant(path: str | Path, overrides: Sequence[tuple[str, Any]]) -> Scenario:
    """The scenario file with ``overrides`` applied, validated like a file.

    The result's ``content_hash`` is :func:`variant_hash` (written to
    ``plan.json`` as ``scenario_sha256``).

    Raises
    ------
    ScenarioError
        Naming the ``--set`` key and value at fault, or the file.
    """
    base = load_scenario(path)
    data = tomllib.loads(base.path.read_text(encoding="utf-8"))
    # each override alone first, so that an error names the key that caused it
    for key, value in overrides:
        try:
            scenario_from_dict(base.path, _apply(data, [(key, value)]), base.content_hash)
        except ScenarioError as exc:
            reason = str(exc).removeprefix(f"{base.path}: ")
            msg = f"--set {key}={format_value(value)}: {reason}"
            raise ScenarioError(msg) from None
    try:
        return scenario_from_dict(base.path, _apply(data, overrides), variant_hash(base.content_hash, overrides))
    except ScenarioError as exc:
        given = " ".join(f"{k}={format_value(v)}" for k, v in overrides)
        msg = f"--set {given}: {str(exc).removeprefix(f'{base.path}: ')}"
        raise ScenarioError(msg) from None


def _apply(data: dict, overrides: Sequence[tuple[str, Any]]) -> dict:
    data = copy.deepcopy(data)
    for key, value in overrides:
        parts = key.split(".")
        if len(parts) > 2 or not all(parts):
            msg = f"{key!r} is not a scenario key; write SECTION.KEY (e.g. public.radius_m) or a top-level key"
            raise ScenarioError(msg)
        if len(parts) == 1:
            data[key] = value
        else:
            section = data.setdefault(parts[0], {})
            if isinstance(section, dict):
                section[parts[1]] = value
            else:  # the scenario validation names the problem
                data[parts[0]] = {parts[1]: value}
    return data


def run_sweep(scenario_path: str | Path, variants: Sequence[Variant], out_dir: str | Path, *,
              client: Client | None = None, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run every variant, write its plan folder, ``sweep.csv`` and ``sweep.png``; return the sweep table.

    Parameters
    ----------
    scenario_path : str or Path
        The scenario file the variants override.
    variants : sequence of Variant
        From :func:`expand` or :func:`read_variants`.
    out_dir : str or Path
        One folder per run (:attr:`Variant.name`) is written here, and the
        sweep's table and plot.
    client : distributed.Client, optional
        Where the runs go, one task each. None: one after another in this process.
    progress : callable, optional
        Called with a line of progress text.

    Raises
    ------
    ScenarioError
        Before anything runs, if an override names an unknown key or a bad value.
    """
    scenario_path = Path(scenario_path).resolve()
    out_dir = Path(out_dir)
    scenarios = [load_variant(scenario_path, v.overrides) for v in variants]
    names = [v.name for v in variants]
    for name in names:
        if names.count(name) > 1:
            msg = f"two variants have the same overrides ({name}); list each run once"
            raise ScenarioError(msg)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    pending = []
    for variant, scenario in zip(variants, scenarios, strict=True):
        record = completed_record(out_dir / variant.name, scenario)
        if record is not None:
            rows[variant.name] = sweep_row(variant, record, outcome="reused", tiers=scenario.tiers)
        else:
            pending.append(variant)
    if rows and progress:
        progress(f"sweep: {len(rows)} of {len(variants)} runs already complete")
    tiers_of = {v.name: sc.tiers for v, sc in zip(variants, scenarios, strict=True)}
    for variant, outcome in _execute(scenario_path, pending, out_dir, client, progress, len(rows), len(variants)):
        for message in outcome["warnings"]:
            warnings.warn(f"{variant.name}: {message}", UserWarning, stacklevel=2)
        if outcome["error"] is None:
            rows[variant.name] = sweep_row(variant, outcome["record"], outcome="ok", wall_s=outcome["wall_s"],
                                           tiers=tiers_of[variant.name])
        else:
            rows[variant.name] = sweep_row(variant, None, outcome="failed", wall_s=outcome["wall_s"],
                                           error=outcome["error"], tiers=tiers_of[variant.name])
    table = _table([rows[v.name] for v in variants], variants)
    _write_atomic(out_dir / SWEEP_CSV, lambda path: table.to_csv(path, index=False, encoding="utf-8-sig",
                                                                  lineterminator="\n"))
    _write_atomic(out_dir / SWEEP_PNG, lambda path: plot_sweep(table, variants, path))
    return table


def _execute(scenario_path, pending, out_dir, client, progress, done, total):
    """Yield ``(variant, outcome)`` as runs finish: Dask tasks, or in this process without a client."""
    if client is None:
        for variant in pending:
            yield variant, run_variant(str(scenario_path), variant.overrides, str(out_dir / variant.name))
            done += 1
            if progress:
                progress(f"sweep: {done} of {total} runs done")
        return
    from distributed import as_completed

    futures = {client.submit(run_variant, str(scenario_path), variant.overrides, str(out_dir / variant.name),
                             pure=False, key=f"siting-sweep-{variant.name}-{os.urandom(4).hex()}"): variant
               for variant in pending}
    for future in as_completed(futures):
        variant = futures[future]
        try:
            outcome = future.result()
        except Exception as exc:  # the worker died, or the task could not run there
            outcome = {"record": None, "error": f"task failed on Dask: {type(exc).__name__}: {exc}",
                       "wall_s": math.nan, "warnings": []}
        done += 1
        if progress:
            progress(f"sweep: {done} of {total} runs done")
        yield variant, outcome


def run_variant(scenario_path: str, overrides: Sequence[tuple[str, Any]], run_dir: str) -> dict:
    """Run one variant and write its plan folder (the Dask task of a sweep).

    Returns
    -------
    dict
        ``record`` (the run's ``plan.json``, or None), ``error`` (one line, or
        None), ``wall_s`` and ``warnings`` (messages raised during the run).
    """
    from siting.export import write_plan
    from siting.plan import run_plan
    from siting.render import render_map

    start = time.perf_counter()
    record = error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plan = run_plan(load_variant(scenario_path, overrides))
            t = time.perf_counter()
            map_html = render_map(plan)
            write_plan(plan, Path(run_dir), map_html=map_html, timings_s={"map": round(time.perf_counter() - t, 3)})
            record = json.loads((Path(run_dir) / "plan.json").read_text(encoding="utf-8"))
        except SitingError as exc:
            error = _one_line(str(exc))
        except Exception as exc:  # a bug: recorded like any failure, so that the other runs go on
            error = _one_line(f"internal error: {type(exc).__name__}: {exc}")
    messages = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))
    return {"record": record, "error": error, "wall_s": round(time.perf_counter() - start, 3), "warnings": messages}


def completed_record(run_dir: Path, scenario: Scenario) -> dict | None:
    """The ``plan.json`` of ``run_dir`` if it is this variant's complete plan (same scenario and input hashes)."""
    from siting.plan import input_hashes

    try:
        record = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("scenario_sha256") != scenario.content_hash:
        return None
    try:
        inputs = input_hashes(scenario)
    except OSError:
        return None
    return record if record.get("input_sha256") == inputs else None


def sweep_row(variant: Variant, record: dict | None, *, outcome: str, tiers: Sequence, wall_s: float = 0.0,
              error: str | None = None) -> dict:
    """One row of ``sweep.csv`` from a run's ``plan.json`` record (None for a failed run).

    ``tiers`` are the run's :class:`~siting.tiers.TierSpec`: a column group each.
    """
    row: dict[str, Any] = {"run": variant.name, **dict(variant.overrides), "outcome": outcome}
    records = record["tiers"] if record else {}
    for spec in tiers:
        tier, units = spec.name, spec.unit
        t = records.get(tier, {})
        row[f"{tier}_coverage"] = t.get("coverage")
        row[f"{tier}_{units}"] = t.get("placed")
        row[f"{tier}_sites"] = t.get("sites")
        row[f"{tier}_status"] = t.get("status")
        row[f"{tier}_gap"] = t.get("gap")
    row["time_s"] = round(sum(record["timings_s"].values()), 3) if record else None
    row["wall_s"] = wall_s
    row["scenario_sha256"] = record["scenario_sha256"] if record else None
    row["error"] = error or ""
    return row


def _table(rows: list[dict], variants: Sequence[Variant]) -> pd.DataFrame:
    keys = list(dict.fromkeys(k for v in variants for k, _ in v.overrides))
    fixed = ["run", *keys, "outcome"]
    rest = [c for c in rows[0] if c not in fixed] if rows else []
    table = pd.DataFrame(rows, columns=fixed + rest)
    counts = [c for c in table.columns if c.endswith(("_chargers", "_stations", "_sites")) and c not in keys]
    return table.astype({c: "Int64" for c in counts})  # whole numbers, empty for a failed run


def plot_sweep(table: pd.DataFrame, variants: Sequence[Variant], path: Path) -> None:
    """Coverage per tier against the first swept numeric key, one line per combination of the other keys."""
    import matplotlib

    with matplotlib.rc_context({"font.size": 8}):
        _plot(table, variants).savefig(path, format="png", dpi=100, metadata={"Software": None})


def _plot(table: pd.DataFrame, variants: Sequence[Variant]):
    from matplotlib.figure import Figure

    keys = list(dict.fromkeys(k for v in variants for k, _ in v.overrides))
    done = table[table["outcome"] != "failed"]
    tiers = [c.removesuffix("_coverage") for c in table.columns if c.endswith("_coverage") and c not in keys]
    tiers = [t for t in tiers if done[f"{t}_coverage"].notna().any()] if len(done) else []
    numeric = [k for k in keys if pd.to_numeric(done[k], errors="coerce").notna().all() and done[k].nunique() > 1]
    x_key = numeric[0] if numeric else None
    others = [k for k in keys if k != x_key]
    fig = Figure(figsize=(3.2 * max(1, len(tiers)), 3.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(tiers)), squeeze=False)[0]
    for ax, tier in zip(axes, tiers, strict=False):
        groups = done.groupby(others, sort=False, dropna=False) if others else [((), done)]
        for label, group in groups:
            label = label if isinstance(label, tuple) else (label,)
            if x_key is not None:
                group = group.sort_values(x_key)
                x = pd.to_numeric(group[x_key])
            else:
                x = range(len(group))
            text = ", ".join(f"{k.split('.')[-1]}={format_value(v)}" for k, v in zip(others, label, strict=True))
            ax.plot(x, 100 * group[f"{tier}_coverage"].astype(float), marker="o", label=text or None)
        ax.set_title(tier)
        ax.set_xlabel(x_key if x_key is not None else "run")
        ax.set_ylabel("demand covered (%)")
        ax.grid(alpha=0.3)
        if others and ax is axes[0]:
            ax.legend(fontsize=7)
    if not tiers:
        axes[0].text(0.5, 0.5, "no run completed", ha="center", va="center")
        axes[0].set_axis_off()
    return fig


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())
