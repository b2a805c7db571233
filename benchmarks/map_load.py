"""Size, load time and responsiveness of a plan's ``map.html`` in headless Debian chromium (offline).

    .venv/bin/python benchmarks/map_load.py maps/qingdao_2025/map.html [--runs 5] [--screenshots DIR] [--write]

Each run opens the file in a fresh page (file://, no network) and measures the
time until the layer control is built (the map is usable), then switches every
site layer on and measures the redraw, and a zoom in and out with all sites
shown. Console errors, failed requests and network requests are counted.
Prints a Markdown table; ``--write`` also puts it in the ``## Map`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def measure(path: Path, runs: int, screenshots: Path | None) -> dict:
    loads, toggles, zooms, problems = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for run in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url))
            start = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_selector(".leaflet-control-layers-overlays label")
            page.evaluate(FRAME)
            loads.append(time.perf_counter() - start)
            if screenshots and run == 0:
                page.screenshot(path=str(screenshots / "map-open.png"))
            start = time.perf_counter()
            for label in page.locator(".leaflet-control-layers-overlays label").all():
                text = label.inner_text()
                # a charger tier's layer, in English or Chinese ("… (60 sites, 3,000 chargers)" / "…，3,000 台）")
                if ("chargers)" in text or "台）" in text) and not label.locator("input").is_checked():
                    label.click()
            page.evaluate(FRAME)
            toggles.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.evaluate("""async () => {
                const map = Object.values(window).find(v => v instanceof L.Map);
                const settle = () => new Promise(done => map.once("zoomend", () => done()));
                let wait = settle(); map.setZoom(map.getZoom() + 2, {animate: false}); await wait;
                wait = settle(); map.setZoom(map.getZoom() - 2, {animate: false}); await wait;
            }""")
            page.evaluate(FRAME)
            zooms.append(time.perf_counter() - start)
            if screenshots and run == 0:
                page.screenshot(path=str(screenshots / "map-all-sites.png"))
            page.close()
        browser.close()
    return {"size_mb": path.stat().st_size / 1e6, "load_s": loads, "toggle_s": toggles, "zoom_s": zooms,
            "problems": problems}


def table(result: dict) -> str:
    lines = ["| figure | value |", "|---|---|", f"| `map.html` size | {result['size_mb']:.1f} MB (limit 15 MB) |"]
    for key, label in (("load_s", "open → layer control drawn (limit 5 s)"),
                       ("toggle_s", "switch on every charger tier"), ("zoom_s", "zoom +2 and back, all sites shown")):
        values = result[key]
        lines.append(f"| {label} | median {statistics.median(values):.2f} s, max {max(values):.2f} s "
                     f"({len(values)} runs) |")
    lines.append(f"| console errors, failed or network requests | {len(result['problems'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--write", action="store_true", help="write the ## Map section of docs/benchmarks.md")
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    result = measure(args.map, args.runs, args.screenshots)
    text = table(result)
    print(text)
    for problem in result["problems"][:10]:
        print(f"  {problem}")
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import machine, replace_section

        command = " ".join(["python benchmarks/map_load.py", str(args.map), "--runs", str(args.runs)])
        replace_section("Map", f"Command: `{command}` (after `siting plan`) — {machine()}; Debian chromium, "
                               f"headless, offline (file://).\n\n{text}\n")


if __name__ == "__main__":
    main()
