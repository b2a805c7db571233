"""Write one ``## `` section of docs/benchmarks.md in place, leaving the others alone."""

from __future__ import annotations

import multiprocessing
import platform
import re
import time
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nEach section is written by the script named in it; rerun that command to "
          "reproduce it. The machine is noisy: figures are medians, comparisons are ratios measured in the same run.\n")


def machine() -> str:
    """One line describing this machine."""
    import os
    load = os.getloadavg()[0]
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{date.today().isoformat()}, load average {load:.1f} at the start")


def replace_section(heading: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the section whose title is ``heading`` (without the ``## ``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", flags=re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def solver_versions() -> str:
    """``HiGHS x, PuLP y[, spopt z]`` from the installed packages' metadata (nothing is started)."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"HiGHS {version('highspy')}", f"PuLP {version('pulp')}"]
    try:
        parts.append(f"spopt {version('spopt')}")
    except PackageNotFoundError:
        pass
    return ", ".join(parts)


def in_forked_child(function, args: tuple, timeout_s: float) -> tuple[dict | None, float]:
    """``(function(*args), seconds)`` run in a forked child process, or ``(None, seconds)`` when it has not
    finished after ``timeout_s`` (the child is then stopped): for spopt, whose model building has no time limit."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        send.send(function(*args))

    start = time.perf_counter()
    process = context.Process(target=child)
    process.start()
    outcome = receive.recv() if receive.poll(timeout_s) else None
    process.join(1.0)
    if process.is_alive():
        process.terminate()
        process.join()
    return outcome, time.perf_counter() - start


def spopt_failure(model, error: Exception) -> str:
    """The status of an spopt solve that raised (spopt raises on any HiGHS status but optimal, its time limit
    included): ``"time limit"`` when HiGHS stopped there, else the error's name."""
    highs = getattr(model.problem, "solverModel", None)
    if highs is not None and highs.getModelStatus() == highs.getModelStatus().kTimeLimit:
        return "time limit"
    return f"error: {type(error).__name__}"


def mclp_method(result) -> str:
    """How ``MCLP.solve`` settled a plan, in words."""
    points = result.extra.get("lagrangian_points")
    if points is None:
        return "HiGHS"
    if points == 0:
        return "greedy and swaps, at the LP bound"
    closed = "closed the gap" if result.extra.get("method") == "lagrangian" else "then HiGHS"
    return f"Lagrangian search by components ({points} multiplier{'s' if points != 1 else ''}, {closed})"
