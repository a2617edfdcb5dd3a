"""The built book in a real browser, offline: no JavaScript errors, no missing images,
math typeset without a CDN, no request that leaves the site, a working γ slider.

Chromium runs with every host name unresolvable (see ``chromium.py``), as for a
reader without a network; it is skipped locally without Chromium, an error in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import (
    console_errors,
    open_page,
    requests_leaving,
    screenshot_dir,
)
from conftest import book_pages

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book

UNTYPESET_MATH = """
return Array.from(document.querySelectorAll('.math'))
  .filter(e => !e.querySelector('mjx-container'))
  .map(e => e.textContent.trim().slice(0, 60));
"""

# Text outside code and outside typeset math that still looks like TeX: \( \[ or $...$.
RAW_TEX = r"""
const root = document.querySelector('article') || document.body;
const skip = 'pre, code, script, style, mjx-container';
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
const tex = /\\\(|\\\[|\$[^$\s][^$]*\$/;
const hits = [];
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (!node.parentElement.closest(skip) && tex.test(node.textContent)) {
    hits.push(node.textContent.trim().slice(0, 80));
  }
}
return hits;
"""


def wait_for_math(driver, page: str, timeout: float = 30) -> None:
    """Wait until MathJax has typeset every math element and its fonts have loaded."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout).until(lambda d: d.execute_script(UNTYPESET_MATH) == [])
    except TimeoutException:
        left = driver.execute_script(UNTYPESET_MATH)
        pytest.fail(f"{page}: {len(left)} formulas not typeset after {timeout} s: {left[:3]}")
    driver.execute_async_script("document.fonts.ready.then(() => arguments[0](true))")


def check_page(driver, base: str, page: str) -> None:
    """Math typeset, no raw TeX, every image loaded, no console error, no request off ``base``."""
    wait_for_math(driver, page)
    assert driver.execute_script(RAW_TEX) == [], f"{page}: raw TeX visible"
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src'))"
    )
    assert broken == [], f"{page}: images that did not load: {broken}"
    assert console_errors(driver) == [], f"{page}: JavaScript errors"
    assert requests_leaving(driver, base) == [], f"{page}: requests that leave the site"


@pytest.mark.parametrize("page", book_pages())
def test_page_works_offline(browser, site, page, tmp_path_factory):
    open_page(browser, f"{site}{page}.html")
    check_page(browser, site, page)
    assert browser.find_element("css selector", "article h1").text.strip(), (
        f"{page}: no visible title"
    )
    shot = screenshot_dir(tmp_path_factory) / f"{page.replace('/', '_')}.png"
    browser.save_screenshot(str(shot))


def test_math_is_typeset_from_the_site_itself(browser, site):
    open_page(browser, f"{site}book/02_loss_weights.html")
    check_page(browser, site, "02_loss_weights")
    formulas = browser.find_elements("css selector", ".math mjx-container")
    assert len(formulas) >= 10, "the loss chapter should show its formulas typeset"
    scripts = browser.execute_script(
        "return Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s))"
    )
    assert scripts and all(s.startswith(f"{site}_static/mathjax/") for s in scripts), scripts


def test_book_reads_from_files_without_a_server(browser, built_book):
    base = built_book.as_uri() + "/"
    open_page(browser, f"{base}book/02_loss_weights.html")
    check_page(browser, base, "02_loss_weights (file://)")
    assert browser.find_elements("css selector", ".math mjx-container")


def test_gamma_slider_redraws_the_plot(browser, site):
    from selenium.webdriver.common.keys import Keys

    open_page(browser, f"{site}book/02_loss_weights.html")
    slider = browser.find_element("css selector", ".sedlib-gamma-slider input[type=range]")
    root = browser.find_element("css selector", ".sedlib-gamma-slider")
    before_gamma = root.get_attribute("data-gamma")
    before_curve = browser.find_element(
        "css selector", ".sedlib-gamma-slider polyline.curve-2"
    ).get_attribute("points")
    bars_before = [
        r.get_attribute("width") for r in browser.find_elements("css selector", ".share-e3")
    ]
    slider.click()
    for _ in range(4):
        slider.send_keys(Keys.ARROW_RIGHT)
    after_gamma = root.get_attribute("data-gamma")
    after_curve = browser.find_element(
        "css selector", ".sedlib-gamma-slider polyline.curve-2"
    ).get_attribute("points")
    assert after_gamma != before_gamma
    assert after_curve != before_curve, "moving the slider did not change the plotted curve"
    assert (
        browser.find_element("css selector", ".sedlib-gamma-slider .gamma-value").text
        == after_gamma
    )
    bars_after = [
        r.get_attribute("width") for r in browser.find_elements("css selector", ".share-e3")
    ]
    if bars_before:
        assert bars_after != bars_before, "moving the slider did not change the per-class shares"
    assert console_errors(browser) == []
    assert requests_leaving(browser, site) == []
