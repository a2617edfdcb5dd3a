"""Headless Chromium for the browser tests, with the network cut and every request recorded.

Needs Debian's chromium and chromium-driver (``.ci/run`` installs them): the
tests skip without them, and fail in CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

#: Schemes a page may use without leaving the machine.
LOCAL_SCHEMES = ("data:", "blob:", "about:")


def chromium_paths() -> tuple[str, str] | None:
    """The Chromium binary and its driver, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(window_size: str = "1280,1600"):
    """A headless Chromium that reaches 127.0.0.1 only and logs console and network.

    Every host name resolves to nothing (``--host-resolver-rules``), so a page
    that needs a CDN fails here as it fails for an offline reader, whatever
    network the machine has. Skips the test without Chromium, fails in CI.

    Parameters
    ----------
    window_size : str
        ``"width,height"`` of the window in pixels.

    Returns
    -------
    selenium.webdriver.Chrome
    """
    paths = chromium_paths()
    if paths is None:
        message = "no chromium/chromedriver here (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs chromium and chromedriver: {message}")
        pytest.skip(message)
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
        f"--window-size={window_size}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(60)
    return driver


def open_page(driver, url: str) -> None:
    """Load ``url`` after dropping the logs of earlier pages, so that checks see this page only."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)


def requested_urls(driver) -> list[str]:
    """Every URL the browser requested since the last call (from the DevTools log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def requests_leaving(driver, base: str) -> list[str]:
    """The URLs requested since the last call that are neither under ``base`` nor local."""
    return [u for u in requested_urls(driver) if not u.startswith((base, *LOCAL_SCHEMES))]


def console_errors(driver) -> list[str]:
    """SEVERE console messages since the last call (JavaScript errors, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot_dir(tmp_path_factory) -> Path:
    """Where screenshots go: ``SEDLIB_SCREENSHOTS`` or pytest's temporary folder."""
    folder = Path(
        os.environ.get("SEDLIB_SCREENSHOTS", tmp_path_factory.getbasetemp() / "screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
