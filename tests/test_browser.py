"""The built book in a real browser: no JavaScript errors, no missing images, a working γ slider.

Needs Debian's chromium and chromium-driver (``.ci/run`` installs them); skipped
locally without them, an error in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from http_fixture import FileServer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser():
    paths = chromium_paths()
    if paths is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI needs chromium and chromedriver (apt-get install chromium chromium-driver)"
            )
        pytest.skip("no chromium/chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(built_book):
    with FileServer(built_book) as server:
        yield server.url


def pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def own_errors(driver, base: str) -> list[str]:
    """Console errors, except failed loads of external resources (a CDN is unreachable offline)."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        if message.startswith("http") and not message.startswith(base):
            continue
        errors.append(message)
    return errors


@pytest.mark.parametrize("page", pages())
def test_page_has_no_js_errors_and_no_missing_images(browser, site, page, tmp_path_factory):
    browser.get(f"{site}{page}.html")
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src'))"
    )
    assert broken == [], f"{page}: images that did not load: {broken}"
    assert own_errors(browser, site) == [], f"{page}: JavaScript errors"
    assert browser.find_element("css selector", "article h1").text.strip(), (
        f"{page}: no visible title"
    )
    shots = Path(
        os.environ.get("SEDLIB_SCREENSHOTS", tmp_path_factory.getbasetemp() / "screenshots")
    )
    shots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shots / f"{page.replace('/', '_')}.png"))


def test_gamma_slider_redraws_the_plot(browser, site):
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{site}book/02_loss_weights.html")
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
    assert own_errors(browser, site) == []
