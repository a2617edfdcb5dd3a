"""The built book as a reader sees it, at a desktop (1280 px) and a phone (390 px) width.

On every page of the table of contents, in headless Chromium:

- nothing is wider than the content column, except inside a container whose
  class says it scrolls (:data:`SCROLLERS`); at 1280 px no table scrolls at all;
- no text of a figure is drawn under :data:`MIN_PX` CSS pixels (the figures
  are inline SVG with real text, see ``sedlib.report.figures.figure_html``);
- every figure has alt text, every results table a CSV link that resolves;
- a full-page screenshot is written to ``_build/screenshots/<page>_<width>.png``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.request import urlopen

import pytest
from chromium import open_page
from conftest import book_pages

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
WIDTHS = (1280, 390)
MIN_PX = 9.0
#: Classes of containers meant to scroll sideways (their content may be wider than the column).
SCROLLERS = (
    ".sedlib-scroll",
    ".pst-scrollable-table-container",
    ".cell_output .output.text_html",
    'mjx-container[display="true"]',
)
#: Pages whose results tables must each carry a CSV link (``sedlib.report.tables.table_html``).
RESULTS_PAGES = (
    "book/intro",
    "book/04_results",
    "book/05_why_the_numbers_differ",
    "book/06_gamma_sweep",
    "book/07_beyond_the_paper",
)
pytestmark = pytest.mark.book

TOO_WIDE = """
const scrollers = arguments[0];
const strictTables = arguments[1];
const col = document.querySelector('article.bd-article') || document.querySelector('article');
const box = col.getBoundingClientRect();
const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
  + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
const hits = [];
for (const el of col.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const inside = el.parentElement && el.parentElement.closest(scrollers);
  if (strictTables && el.tagName === 'TABLE' && r.width > box.width + 1) {
    hits.push(`${name(el)} table ${Math.round(r.width)} px in a ${Math.round(box.width)} px column`);
    continue;
  }
  if (inside && col.contains(inside)) continue;
  if (r.left < box.left - 1 || r.right > box.right + 1) {
    hits.push(`${name(el)}: ${Math.round(r.left - box.left)}..${Math.round(r.right - box.left)} px `
      + `in a ${Math.round(box.width)} px column: ${(el.textContent || '').trim().slice(0, 50)}`);
  }
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  hits.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${window.innerWidth}`);
}
return {column: box.width, hits: hits.slice(0, 20)};
"""

FIGURE_TEXT = """
const sizes = [];
for (const svg of document.querySelectorAll('article .sedlib-figure svg')) {
  const r = svg.getBoundingClientRect();
  const vb = svg.viewBox && svg.viewBox.baseVal;
  const scale = vb && vb.width ? r.width / vb.width : 1;
  for (const t of svg.querySelectorAll('text')) {
    if (!t.textContent.trim()) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * scale;
    sizes.push([px, t.textContent.trim().slice(0, 30)]);
  }
}
return sizes;
"""

ALT = """
const bad = [];
for (const img of document.querySelectorAll('article img')) {
  const alt = (img.getAttribute('alt') || '').trim();
  if (!alt || /no description has been provided/i.test(alt)) bad.push(img.getAttribute('src'));
}
for (const svg of document.querySelectorAll('article .sedlib-figure svg')) {
  if (!(svg.getAttribute('aria-label') || '').trim()) bad.push('inline svg without aria-label');
}
const raster = Array.from(document.querySelectorAll('article .cell_output img'))
  .map(i => i.getAttribute('src')).filter(s => /\\.(png|jpe?g)$/i.test(s || ''));
return {bad: bad, raster: raster};
"""


def show_at(driver, url: str, width: int) -> None:
    """Open ``url`` in a viewport ``width`` CSS pixels wide (a phone's below 600) and let it settle."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    open_page(driver, url)
    driver.execute_async_script("document.fonts.ready.then(() => arguments[0](true))")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('.math'))"
            ".every(e => e.querySelector('mjx-container'))"
        )
    )


def full_screenshot(driver, path: Path) -> None:
    """A PNG of the whole page, beyond the viewport."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", book_pages())
def test_page_fits_its_column_and_its_figures_read(browser, site, page, width):
    show_at(browser, f"{site}{page}.html", width)
    full_screenshot(browser, SHOTS / f"{page.replace('/', '_')}_{width}.png")
    wide = browser.execute_script(TOO_WIDE, ", ".join(SCROLLERS), width >= 1000)
    assert wide["hits"] == [], f"{page} at {width} px: wider than the column:\n" + "\n".join(
        wide["hits"]
    )
    sizes = browser.execute_script(FIGURE_TEXT)
    small = sorted(s for s in sizes if s[0] < MIN_PX - 0.05)
    assert small == [], f"{page} at {width} px: figure text under {MIN_PX} px: {small[:5]}"
    alt = browser.execute_script(ALT)
    assert alt["bad"] == [], f"{page}: figures without alt text: {alt['bad']}"
    assert alt["raster"] == [], (
        f"{page}: raster figures (their text cannot be checked): {alt['raster']}"
    )


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_every_results_table_links_its_csv(browser, site, page):
    show_at(browser, f"{site}{page}.html", 1280)
    bare = browser.execute_script(
        "return Array.from(document.querySelectorAll('article .cell_output table'))"
        ".filter(t => !t.closest('.sedlib-table')).length"
    )
    assert bare == 0, f"{page}: {bare} results table(s) without a CSV link"
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('article .sedlib-table')).map(d => {"
        "const a = d.querySelector('.sedlib-download a'); return a ? a.href : null; })"
    )
    assert None not in links, f"{page}: a results table without a CSV link"
    for href in links:
        with urlopen(href) as response:
            head = response.read().decode().splitlines()[0]
        assert "," in head, f"{page}: {href} is not a CSV"
