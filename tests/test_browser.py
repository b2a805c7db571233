"""The map and the report in a real browser: Debian's chromium driven by Playwright, offline (file://).

Checks what a planner would notice: no console errors, each tier in the layer
control, the sites drawn, a non-blank picture, a quick load, names with markup
shown as text, and the site search.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests._plans import HOSTILE_CODE, HOSTILE_DISTRICT, HOSTILE_TITLE, plan_once

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOAD_LIMIT_S = 5.0
TIER_LABELS = ("Public chargers", "Residential chargers", "Rural chargers", "Hydrogen stations")

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser "
                "tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: pip install "
                               "-e '.[test]'")


def layer_label(page, name: str):
    """The layer control's entry of a tier's layer (``"Public chargers (60 sites, …)"``), not a district colouring
    that names the tier ("Share of public chargers demand covered": Playwright's has_text ignores case)."""
    return page.locator(".leaflet-control-layers label", has_text=re.compile(rf"^\s*{re.escape(name)} \("))


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    return plan_once(tmp_path_factory, "base")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Page:
    """A page that records every console error, page error, failed request, network request and dialog."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url}"))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
                     else self.problems.append(f"network request: {r.url}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def load(self, path: Path) -> float:
        start = time.perf_counter()
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_selector(".leaflet-control-layers-overlays label", timeout=LOAD_LIMIT_S * 1000)
        return time.perf_counter() - start

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()


def test_map_loads_offline_quickly_without_errors(page, plan_dir):
    seconds = page.load(plan_dir / "map.html")
    page.page.wait_for_timeout(300)
    assert seconds < LOAD_LIMIT_S
    assert page.problems == []


def test_each_tier_is_in_the_layer_control(page, plan_dir):
    page.load(plan_dir / "map.html")
    labels = [t.strip() for t in page.page.locator(".leaflet-control-layers label").all_inner_texts()]
    for tier in TIER_LABELS:
        assert any(label.startswith(tier) for label in labels), (tier, labels)
    assert sum(label.startswith("Districts:") for label in labels) >= 3  # the switchable colourings
    assert any(label.startswith("Demand grid") for label in labels)


def test_sites_are_drawn(page, plan_dir):
    page.load(plan_dir / "map.html")
    sites = pd.read_csv(plan_dir / "sites.csv", encoding="utf-8-sig")
    counts = page.page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const out = {circles: 0, stations: 0};
        map.eachLayer(l => {
            if (l instanceof L.CircleMarker && l.feature && l.feature.properties.siteId) out.circles += 1;
            if (l instanceof L.Marker && l.options.siteId) out.stations += 1;
        });
        return out;
    }""")
    shown = sites[sites["tier"].isin(["public"])]  # residential and rural start switched off
    assert counts["circles"] == len(shown)
    assert counts["stations"] == int((sites["tier"] == "hydrogen").sum())
    layer_label(page.page, "Residential chargers").click()
    more = page.page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let n = 0;
        map.eachLayer(l => { if (l instanceof L.CircleMarker && l.feature && l.feature.properties.siteId) n += 1; });
        return n;
    }""")
    assert more == len(shown) + int((sites["tier"] == "residential").sum())
    assert page.problems == []


def test_screenshot_is_not_blank(page, plan_dir):
    from matplotlib.image import imread

    def shot() -> np.ndarray:
        page.page.wait_for_timeout(300)
        return imread(io.BytesIO(page.page.screenshot()), format="png")[..., :3]

    page.load(plan_dir / "map.html")
    with_sites = shot()
    colours = np.unique((with_sites * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # polygons, sites, labels and controls, not one flat colour
    layer_label(page.page, "Public chargers").click()
    without_sites = shot()
    changed = np.abs(with_sites - without_sites).sum(axis=-1) > 0.1
    assert changed.sum() > 1000  # the public sites covered that many pixels


def test_names_with_markup_show_as_text(page, plan_dir):
    page.load(plan_dir / "map.html")
    p = page.page
    assert HOSTILE_TITLE in p.locator("#siting-title").inner_text()
    assert any(HOSTILE_DISTRICT in t for t in p.locator(".siting-label").all_inner_texts())
    popup = p.evaluate("""(code) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let target = null;
        map.eachLayer(l => { if (l.feature && l.feature.properties.code === code && l.getBounds) target = l; });
        target.fire("click", {latlng: target.getBounds().getCenter()}, true);
        return document.querySelector(".leaflet-popup-content").innerText;
    }""", HOSTILE_CODE)
    assert HOSTILE_DISTRICT in popup
    assert p.locator("img[src='x']").count() == 0 and p.locator("b", has_text="$bold$").count() == 0
    assert page.problems == []  # no alert() dialog, no error


def test_search_finds_a_site_by_id_and_opens_its_popup(page, plan_dir):
    sites = pd.read_csv(plan_dir / "sites.csv", encoding="utf-8-sig", dtype={"site_id": str})
    site_id = sites.loc[sites["tier"] == "rural", "site_id"].iloc[0]  # a tier that starts switched off
    page.load(plan_dir / "map.html")
    p = page.page
    p.locator(".search-button").click()
    p.locator("input.search-input").first.click()
    p.keyboard.type(site_id, delay=10)
    p.wait_for_selector(".search-tip")
    p.keyboard.press("Enter")
    p.wait_for_selector(".leaflet-popup-content")
    assert site_id in p.locator(".leaflet-popup-content").inner_text()
    assert layer_label(p, "Rural chargers").locator("input").is_checked()
    assert page.problems == []


def test_report_renders_without_errors(page, plan_dir):
    page.page.goto((plan_dir / "report.html").resolve().as_uri(), wait_until="load")
    assert page.page.locator("svg").count() == 3
    assert HOSTILE_TITLE in page.page.locator("h1").inner_text()
    assert page.page.locator("img[src='x']").count() == 0
    assert page.problems == []


def test_compare_map_renders_without_errors(page, plan_dir, tmp_path_factory, tmp_path):
    from siting.compare import compare_plans, write_comparison

    other = plan_once(tmp_path_factory, "more-public", targets={"public_chargers": 3500})
    out = write_comparison(compare_plans(plan_dir, other), tmp_path / "compare.html")
    page.load(out)
    labels = page.page.locator(".leaflet-control-layers label").all_inner_texts()
    assert any("Sites added" in label for label in labels)
    assert page.problems == []



# --- the Chinese map and report (issue 15) --------------------------------------------------------------------------

#: Draws every character of the page (text, control tooltips, the search box's placeholder) that is not Latin in
#: each font the page uses, and compares it with the drawing of code points no font has (U+10FFFD, U+10FFFC): a
#: character drawn like them is a missing glyph (a box, "tofu").
MISSING_GLYPHS_JS = """(selectors) => {
    const texts = [document.body.innerText, document.title];
    document.querySelectorAll("[title]").forEach(el => texts.push(el.title));
    document.querySelectorAll("input[placeholder]").forEach(el => texts.push(el.placeholder));
    const chars = [...new Set([...texts.join("")].filter(c => c.codePointAt(0) >= 0x2E80))];
    const canvas = document.createElement("canvas");
    canvas.width = 48; canvas.height = 48;
    const ctx = canvas.getContext("2d", {willReadFrequently: true});
    const draw = (ch, font) => {
        ctx.clearRect(0, 0, 48, 48); ctx.font = font; ctx.fillStyle = "#000"; ctx.textBaseline = "top";
        ctx.fillText(ch, 4, 4);
        return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(",");
    };
    const fonts = [...new Set(selectors.map(s => document.querySelector(s)).filter(Boolean)
                                .map(el => { const st = getComputedStyle(el); return `${st.fontSize} ${st.fontFamily}`; }))];
    const out = {chars: chars.join(""), fonts: fonts, missing: [], tofuSeen: true};
    for (const font of fonts) {
        const tofu = draw("\\u{10FFFD}", font);
        // the check can fail: two unknown code points draw the same non-empty box
        out.tofuSeen = out.tofuSeen && tofu === draw("\\u{10FFFC}", font) && tofu !== draw(" ", font);
        for (const ch of chars) { if (draw(ch, font) === tofu) out.missing.push(font + ": " + ch); }
    }
    return out;
}"""


def platform_fonts(page, selector: str) -> set[str]:
    """The fonts Chromium drew the text of ``selector`` with (DevTools' "Rendered fonts")."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"] for f in fonts}


@pytest.fixture(scope="module")
def zh_plan_dir(tmp_path_factory) -> Path:
    return plan_once(tmp_path_factory, "zh", args=("--lang", "zh"))


def test_chinese_map_speaks_chinese_in_every_control(page, zh_plan_dir):
    page.load(zh_plan_dir / "map.html")
    p = page.page
    assert p.evaluate("document.documentElement.lang") == "zh-CN"
    labels = [t.strip() for t in p.locator(".leaflet-control-layers label").all_inner_texts()]
    for tier in ("公共充电桩", "居民区充电桩", "农村充电桩", "加氢站"):
        assert any(label.startswith(tier) for label in labels), (tier, labels)
    assert sum(label.startswith("区县：") for label in labels) >= 3
    assert any(label.startswith("需求网格") for label in labels)
    title = p.locator("#siting-title").inner_text()
    assert "目标" in title and "已布局" in title and "最优" in title
    assert "站点" in p.locator("#siting-legend").inner_text()
    assert p.locator("input.search-input").first.get_attribute("placeholder") == "站点编号…"
    assert p.locator(".leaflet-control-zoom-in").get_attribute("title") == "放大"
    assert p.locator(".leaflet-control-zoom-out").get_attribute("title") == "缩小"
    assert p.locator(".leaflet-control-measure-toggle").get_attribute("title") == "测量距离和面积"
    assert "全屏" in p.locator(".leaflet-control-zoom-fullscreen").get_attribute("title")
    popup = p.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let site = null;
        map.eachLayer(l => { if (l instanceof L.CircleMarker && l.feature && l.feature.properties.siteId) site = l; });
        site.fire("click", {latlng: site.getLatLng()}, true);
        return document.querySelector(".leaflet-popup-content").innerText;
    }""")
    for word in ("站点", "类别", "区县", "充电桩", "服务需求", "次/日"):
        assert word in popup, (word, popup)
    english = [w for w in ("Public chargers", "Districts:", "Demand grid", "Target", "Placed", "Sites", "Zoom in",
                           "sessions/day") if w in p.locator("body").inner_text()]
    assert english == []
    assert page.problems == []


def test_chinese_map_has_no_missing_glyphs(page, zh_plan_dir):
    page.load(zh_plan_dir / "map.html")
    p = page.page
    p.evaluate("""() => {  // open a district popup too, so that its words are checked
        const map = Object.values(window).find(v => v instanceof L.Map);
        let d = null;
        map.eachLayer(l => { if (l.feature && l.feature.properties.code && l.getBounds) d = l; });
        d.fire("click", {latlng: d.getBounds().getCenter()}, true);
    }""")
    result = p.evaluate(MISSING_GLYPHS_JS, ["#siting-title", "#siting-legend", ".leaflet-control-layers",
                                           ".leaflet-popup-content", ".siting-label", "input.search-input"])
    assert result["tofuSeen"], result["fonts"]
    assert len(result["chars"]) > 50  # the page is Chinese: many distinct characters were checked
    assert result["missing"] == []
    # and the CJK text is drawn with a CJK font (DevTools' "Rendered fonts")
    assert any("CJK" in f or "Han" in f or "YaHei" in f for f in platform_fonts(p, "#siting-title"))
    assert any("CJK" in f or "Han" in f or "YaHei" in f for f in platform_fonts(p, ".leaflet-control-layers-overlays label span span"))


def test_chinese_report_has_no_missing_glyphs(page, zh_plan_dir):
    p = page.page
    p.goto((zh_plan_dir / "report.html").resolve().as_uri(), wait_until="load")
    assert p.evaluate("document.documentElement.lang") == "zh-CN"
    assert p.locator("svg").count() == 3
    body = p.locator("body").inner_text()
    for word in ("目标与规划布局", "分区县", "图表", "合计", "公共充电桩", "各类需求覆盖率"):
        assert word in body, word
    assert not [w for w in ("Targets and what", "Per district", "Total", "Demand covered by tier", "% of the tier")
                if w in body]
    result = p.evaluate(MISSING_GLYPHS_JS, ["h1", "h2", "table", "figcaption", "svg text"])
    assert result["tofuSeen"], result["fonts"]
    assert len(result["chars"]) > 50 and result["missing"] == []
    assert any("CJK" in f or "Han" in f or "YaHei" in f for f in platform_fonts(p, "h2"))
    p.evaluate("""() => [...document.querySelectorAll("svg text")].find(t => /[\u4e00-\u9fff]/.test(t.textContent))
                          .setAttribute("data-cjk", "1")""")
    assert any("CJK" in f or "Han" in f or "YaHei" in f for f in platform_fonts(p, "svg text[data-cjk]"))
    assert page.problems == []


def test_the_missing_glyph_check_finds_a_box(page, zh_plan_dir):
    page.load(zh_plan_dir / "map.html")
    p = page.page
    p.evaluate("""() => { document.querySelector("#siting-title").insertAdjacentText("beforeend", "\\u{10FFFB}"); }""")
    result = p.evaluate(MISSING_GLYPHS_JS, ["#siting-title"])
    assert [m[-1] for m in result["missing"]] == ["\U0010fffb"]
