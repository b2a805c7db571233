"""The ``siting`` command line.

``siting plan [SCENARIO.toml] [--out DIR]`` runs a scenario (the built-in
Qingdao 2025 scenario by default) and writes its map and site lists to
``DIR`` (default ``maps/<scenario name>/``). Errors a user can fix are one line
on stderr and a non-zero exit, never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from siting._errors import SitingError
from siting.labels import translate_error

EXIT_USER_ERROR = 2
EXIT_RUNS_FAILED = 1  # siting sweep: some runs failed (recorded in sweep.csv), the others completed
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``siting`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C
    status = _StatusLine(quiet=args.quiet)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s: %(message)s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = args.func(args, status)
        except SitingError as exc:
            status.clear()
            if args.debug:
                raise
            w = _words(args)
            print(w("cli.error", message=translate_error(str(exc), w.language)), file=sys.stderr)
            code = EXIT_USER_ERROR
        except KeyboardInterrupt:
            status.clear()
            print(_words(args)["cli.interrupted"], file=sys.stderr)
            code = EXIT_INTERRUPTED
        except Exception as exc:  # anything else is our bug: say so in one line
            status.clear()
            if args.debug:
                raise
            print(_words(args)("cli.internal", message=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
            code = EXIT_INTERNAL_ERROR
    for w in caught:
        if issubclass(w.category, UserWarning) and "siting" in (w.filename or "") or w.category is UserWarning:
            words = _words(args)
            print(words("cli.warning", message=translate_error(str(w.message), words.language)), file=sys.stderr)
    return code


def _words(args: argparse.Namespace):
    """The words of the run's language: ``--lang``, else the scenario's ``language`` (if it can be read), else English.

    Used for the error and warning lines, so it never raises: a scenario that
    cannot be read gives English.
    """
    from siting.labels import LANGUAGES, words

    language = getattr(args, "lang", None)
    if language is None and getattr(args, "command", None) in ("plan", "sweep"):
        try:
            import tomllib

            from siting.scenario import builtin_scenario_path

            path = args.scenario if args.scenario is not None else builtin_scenario_path()
            language = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("language")
            for text in getattr(args, "sets", None) or ():
                key, _, value = text.partition("=")
                if key.strip() == "language":
                    language = value.strip().strip('"')
        except Exception:  # an unreadable scenario: its own error says so, in English
            language = None
    return words(language if language in LANGUAGES else "en")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siting", description="Plan charging and hydrogen infrastructure.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    sub = parser.add_subparsers(dest="command")
    plan = sub.add_parser("plan", help="run a scenario and write its map and site lists")
    plan.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: built-in Qingdao 2025)")
    plan.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>/)")
    plan.add_argument("--decisions", type=Path, metavar="FILE",
                      help="the planner's decisions: candidates.csv or plan.xlsx with the decision column filled in")
    plan.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                      help="override a scenario key for this run, e.g. public.radius_m=900 or targets.rural_chargers=0 "
                           "(repeatable; same keys and checks as `siting sweep --set`)")
    plan.add_argument("--lang", choices=("zh", "en"),
                      help="language of the map, report, workbook and terminal (default: the scenario's `language`)")
    plan.add_argument("--decompose", action="store_true",
                      help="split each charger tier by district and solve the districts as Dask tasks (docs/sweeps.md)")
    _dask_arguments(plan)
    sweep = sub.add_parser("sweep", help="run a scenario for every combination of parameter values, on Dask")
    sweep.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: built-in Qingdao 2025)")
    sweep.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="a scenario key and the values to sweep, e.g. public.radius_m=600,900,1200 (repeatable)")
    sweep.add_argument("--variants", type=Path, metavar="CSV",
                       help="listed variants: one column per scenario key, one row per run")
    sweep.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>_sweep/)")
    _dask_arguments(sweep)
    sweep.set_defaults(func=_sweep)
    compare = sub.add_parser("compare", help="compare two plan folders: changes per district and tier, map")
    compare.add_argument("dir_a", type=Path, help="the first plan folder (A)")
    compare.add_argument("dir_b", type=Path, help="the second plan folder (B), compared with A")
    compare.add_argument("--out", type=Path, help="where to write compare.html (default: DIR_B/compare.html)")
    compare.add_argument("--changed-only", action="store_true", help="list only districts and tiers that changed")
    compare.set_defaults(func=_compare)
    init = sub.add_parser("init", help="write a scenario folder for a Chinese prefecture or county (docs/init.md)")
    init.add_argument("place", help="prefecture or county: Chinese name (青岛市, 胶州市, 即墨区) or 6-digit code")
    init.add_argument("--out", type=Path, required=True, help="the folder to write (scenario.toml and its inputs)")
    for tier in ("public", "residential", "rural"):
        init.add_argument(f"--{tier}", type=int, metavar="N", help=f"{tier} chargers (default: a per-EV rule)")
    init.add_argument("--hydrogen", type=int, metavar="N",
                      help="new hydrogen stations (default 0; above 0 placeholder hubs are written)")
    init.set_defaults(func=_init)
    for command in (plan, compare, sweep, init):
        # SUPPRESS: a subcommand's own default must not undo `siting --quiet plan`
        command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress display")
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks and debug logging")
    plan.set_defaults(func=_plan)
    return parser


def _dask_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    command.add_argument("--workers", type=int, metavar="N",
                         help="worker processes of the local cluster (default: one per core)")


def _plan(args: argparse.Namespace, status: _StatusLine) -> int:
    from siting.export import write_plan
    from siting.plan import run_plan
    from siting.render import render_map
    from siting.scenario import load_scenario, with_decisions

    start = time.perf_counter()
    overrides = plan_overrides(args.sets)
    if overrides:
        from siting.scenario import builtin_scenario_path
        from siting.sweep import load_variant

        scenario = load_variant(args.scenario if args.scenario is not None else builtin_scenario_path(), overrides)
    else:
        scenario = load_scenario(args.scenario)
    if args.lang is not None:
        scenario = scenario.replace(language=args.lang)
    if args.decisions is not None:
        scenario = with_decisions(scenario, args.decisions)
    out_dir = args.out if args.out is not None else Path("maps") / scenario.name
    report = lambda stage: status.show(f"{scenario.name}: {stage} …")  # noqa: E731
    if args.decompose:
        from siting._dask import dask_client
        from siting.decompose import decompose_plan

        status.show(f"{scenario.name}: starting Dask …")
        with dask_client(args.scheduler, workers=args.workers) as client:
            plan = decompose_plan(scenario, client=client, report=report)
    elif args.scheduler or args.workers is not None:
        msg = "--scheduler and --workers apply to decomposed plans; add --decompose (or use `siting sweep`)"
        raise SitingError(msg)
    else:
        plan = run_plan(scenario, report=report)
    extra = {}
    status.show(f"{scenario.name}: map …")
    t = time.perf_counter()
    map_html = render_map(plan)
    extra["map"] = round(time.perf_counter() - t, 3)
    status.show(f"{scenario.name}: writing {out_dir} …")
    write_plan(plan, out_dir, map_html=map_html, timings_s=extra, overrides=dict(overrides))
    status.clear()
    _print_summary(plan, out_dir, time.perf_counter() - start)
    return 0


def plan_overrides(sets: list[str]) -> tuple[tuple[str, object], ...]:
    """``--set KEY=VALUE`` texts of ``siting plan`` as overrides: one value per key, each key once.

    Raises
    ------
    ScenarioError
        A text that is not KEY=VALUE, a key given twice, or several values for one key.
    """
    from siting._errors import ScenarioError
    from siting.sweep import expand, parse_set

    parsed = [parse_set(text) for text in sets]
    for key, values in parsed:
        if len(values) > 1:
            msg = (f"--set {key}={','.join(map(str, values))}: siting plan takes one value per key; "
                   "use `siting sweep --set` to run several")
            raise ScenarioError(msg)
    variants = expand(parsed)  # refuses a key given twice
    return variants[0].overrides if variants else ()


def _sweep(args: argparse.Namespace, status: _StatusLine) -> int:
    from siting._dask import dask_client
    from siting._errors import ScenarioError
    from siting.scenario import load_scenario
    from siting.sweep import (SWEEP_CSV, SWEEP_PNG, Variant, expand, load_variant, parse_set, read_variants,
                              run_sweep)

    scenario = load_scenario(args.scenario)
    if not args.sets and not args.variants:
        msg = "siting sweep needs at least one --set KEY=V1,V2,... or --variants FILE.csv"
        raise ScenarioError(msg)
    listed = read_variants(args.variants) if args.variants else [Variant(())]
    combos = expand([parse_set(text) for text in args.sets])
    variants = [Variant(a.overrides + b.overrides) for a in listed for b in combos]
    for variant in variants:  # every override checked before a cluster starts
        load_variant(scenario.path, variant.overrides)
    out_dir = args.out if args.out is not None else Path("maps") / f"{scenario.name}_sweep"
    start = time.perf_counter()
    status.show(f"{scenario.name}: starting Dask for {len(variants)} runs …")
    with dask_client(args.scheduler, workers=args.workers) as client:
        table = run_sweep(scenario.path, variants, out_dir, client=client,
                          progress=lambda text: status.show(f"{scenario.name}: {text} …"))
    status.clear()
    failed = int((table["outcome"] == "failed").sum())
    print(f"{scenario.name}: {len(table)} runs in {time.perf_counter() - start:.1f} s → {out_dir}/{SWEEP_CSV}, "
          f"{SWEEP_PNG}")
    tiers = [spec.name for spec in scenario.tiers
             if f"{spec.name}_coverage" in table and table[f"{spec.name}_coverage"].notna().any()]
    width = max(len("run"), *(len(r) for r in table["run"])) + 2
    print(f"  {'run':<{width}}{'outcome':<9}" + "".join(f"{t:>13}" for t in tiers))
    for _, row in table.iterrows():
        cells = "".join(f"{_percent(row[tier + '_coverage']):>13}" for tier in tiers)
        print(f"  {row['run']:<{width}}{row['outcome']:<9}{cells}")
        if row["error"]:
            print(f"    error: {row['error']}")
    if failed:
        print(f"  {failed} of {len(table)} runs failed (see {out_dir / SWEEP_CSV}); the others are complete",
              file=sys.stderr)
        return EXIT_RUNS_FAILED
    return 0


def _percent(share: float | None) -> str:
    return "" if share is None or share != share else f"{100 * share:.1f}%"  # NaN != NaN: a failed run


def _compare(args: argparse.Namespace, status: _StatusLine) -> int:
    from siting.compare import compare_plans, format_comparison, write_comparison

    status.show("compare: reading plans …")
    comparison = compare_plans(args.dir_a, args.dir_b)
    out_file = args.out if args.out is not None else args.dir_b / "compare.html"
    status.show(f"compare: writing {out_file} …")
    write_comparison(comparison, out_file)
    status.clear()
    print(format_comparison(comparison, changed_only=args.changed_only))
    print(f"map of sites added and removed: {out_file}")
    return 0


def _init(args: argparse.Namespace, status: _StatusLine) -> int:
    from siting.init import build_scenario

    status.show(f"init {args.place} …")
    start = time.perf_counter()
    path = build_scenario(args.place, args.out, public=args.public, residential=args.residential,
                          rural=args.rural, hydrogen=args.hydrogen)
    status.clear()
    print(f"{path} written in {time.perf_counter() - start:.1f} s; run: siting plan {path}")
    return 0


def _print_summary(plan, out_dir: Path, seconds: float) -> None:
    from siting.labels import words

    w = words(plan.scenario.language)
    print(w("cli.written", name=plan.scenario.name, out=out_dir, seconds=seconds))
    header = [w[f"cli.col.{key}"] for key in ("tier", "target", "placed", "sites", "covered", "status")]
    print("  " + _pad(header[0], 14) + "".join(_pad(h, n, right=True) for h, n in zip(header[1:5], (9, 9, 7, 9),
                                                                                     strict=True)) + "  " + header[5])
    for tier, tp in plan.tiers.items():
        gap = "" if tp.result.gap is None else w("cli.gap", gap=100 * tp.result.gap)
        sites = int((tp.sites["status"] != "candidate").sum())
        name = tier if w.language == "en" else w.tier(tp.spec)
        target = "–" if tp.spec.open_target else f"{tp.target:,}"  # no target: the fewest that serve every hub
        print(f"  {_pad(name, 14)}{target:>9}{tp.units_placed:>9,}{sites:>7,}{100 * tp.coverage:>8.1f}%  "
              f"{w.status(tp.result.status)}{gap}")
    for tier in plan.skipped:
        spec = plan.scenario.tier(tier)
        print(w("cli.skipped", tier=tier if w.language == "en" else w.tier(spec)))
    print(w("cli.open", path=out_dir / "map.html"))


def _pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    fill = " " * max(0, width - used)
    return fill + text if right else text + fill


class _StatusLine:
    """A one-line live status on a terminal: the stage and its running time, redrawn every second.

    Silent when quiet or when the stream is not a terminal (a pipe, a log file, CI).
    """

    def __init__(self, *, quiet: bool, stream=None, interval_s: float = 1.0):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.width = 0
        self.interval_s = interval_s
        self._text = ""
        self._since = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._text, self._since = text, time.perf_counter()
            self._draw()
        if self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="siting-status", daemon=True)
            self._ticker.start()

    def clear(self) -> None:
        if not self.enabled:
            return
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        with self._lock:
            self._text = ""
            if self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
                self.width = 0

    def _tick(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                if self._text:
                    self._draw()

    def _draw(self) -> None:
        line = f"{self._text} {time.perf_counter() - self._since:.0f} s"
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
