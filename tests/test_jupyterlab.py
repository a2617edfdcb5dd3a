"""The loss chapter in JupyterLab, as a reader uses it: open the notebook, run all cells
from the Run menu, move the ipywidgets γ slider with the keyboard, and see its figure
redrawn by the kernel.

JupyterLab (the venv's, so its kernel is the venv's Python with sedlib) serves a
copy of the notebook on 127.0.0.1 with a random token, offline (no news, no
update check, no extension manager); headless Chromium reaches nothing else.
Screenshots before and after go to ``SEDLIB_SCREENSHOTS`` (or pytest's temporary
folder). Skipped locally without Chromium, an error in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from chromium import console_errors, open_page, requests_leaving, screenshot_dir, start_chromium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "book/02_loss_weights.ipynb"
pytestmark = pytest.mark.book
CODE_CELL_OF = "./ancestor::div[contains(concat(' ', @class, ' '), ' jp-CodeCell ')]"
CODE_CELLS = """
return window.jupyterapp.shell.currentWidget.content.model.toJSON().cells
  .filter(cell => cell.cell_type === 'code')
  .map(cell => ({
    count: cell.execution_count,
    errors: cell.outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
  }));
"""


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server: its base URL (ending in /) and token."""

    url: str
    token: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(lab: Lab, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll the server's status API until it answers; fail early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{lab.url}api/status?token={lab.token}", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)  # the next poll; the deadline bounds the wait
    pytest.fail(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, lab: Lab) -> list[str]:
    """Shut the server and its kernels down; the command lines of processes that had to be killed."""
    children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    request = urllib.request.Request(f"{lab.url}api/shutdown?token={lab.token}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=10).close()
        proc.wait(timeout=30)
    except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=15)
    leftovers = []
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftovers.append(" ".join(process.cmdline()))
            process.kill()
    return leftovers


@pytest.fixture
def lab(tmp_path) -> Iterator[Lab]:
    """JupyterLab serving a copy of the loss chapter (the repository's file stays untouched)."""
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    shutil.copy(ROOT / NOTEBOOK, root / NOTEBOOK)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    lab = Lab(f"http://127.0.0.1:{free_port()}/", secrets.token_urlsafe(24))
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    for name in ("CONFIG", "DATA", "RUNTIME"):  # no user kernels or settings from outside
        env[f"JUPYTER_{name}_DIR"] = str(tmp_path / name.lower())
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--allow-root",  # CI containers run as root
        "--ip=127.0.0.1",
        f"--port={lab.url.rsplit(':', 1)[1].rstrip('/')}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={lab.token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the notebook's model
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(lab, proc, log, timeout=90)
        yield lab
    finally:
        leftovers = stop(proc, lab)
    assert not leftovers, f"processes left running after the server stopped: {leftovers}"


def wait_for(driver, timeout: float, what: str, condition: Callable, state: Callable = str):
    """``condition(driver)`` once truthy, or a failure that names ``what`` and ``state()``."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        pytest.fail(f"JupyterLab: no {what} after {timeout} s {state()}".rstrip())


def kernel_status(driver) -> str | None:
    """The notebook's kernel status as its execution indicator shows it (idle, busy, ...)."""
    status = driver.find_elements("css selector", ".jp-Notebook-ExecutionIndicator")
    return status[0].get_attribute("data-status") if status else None


def kernel_idle(driver) -> bool:
    return kernel_status(driver) == "idle"


def answer_kernel_dialog(driver) -> bool:
    """Answer a "Select Kernel" dialog with its default, the notebook's kernel; True if one was open.

    JupyterLab asks when the kernel is slow to start on a loaded machine, also after the
    kernel showed idle: the dialog then swallows a Run All Cells request."""
    for dialog in driver.find_elements("css selector", ".jp-Dialog"):
        if "kernel" in dialog.text.lower():
            accept = dialog.find_elements("css selector", ".jp-mod-accept")
            if accept:
                accept[0].click()
            return True
    return False


def kernel_started(driver) -> bool:
    """Idle kernel for the opened notebook, no "Select Kernel" dialog open (it is answered)."""
    return not answer_kernel_dialog(driver) and kernel_idle(driver)


def code_cells(driver) -> list[dict]:
    """Execution count and errors of every code cell of the open notebook, from its model."""
    return driver.execute_script(CODE_CELLS)


def run_all_cells(driver) -> None:
    """Run > Run All Cells, from the menu bar."""
    menus = driver.find_elements("css selector", ".lm-MenuBar-item")
    run = [m for m in menus if m.text.strip() == "Run"]
    assert run, f"no Run menu in the menu bar: {[m.text for m in menus]}"
    run[0].click()
    item = wait_for(
        driver,
        10,
        "'Run All Cells' in the Run menu",
        lambda d: d.find_element("css selector", '.lm-Menu-item[data-command="runmenu:run-all"]'),
    )
    item.click()


def start_all_cells(driver, tries: int = 3) -> None:
    """Run All Cells until the kernel takes them (a loaded JupyterLab can drop the first request)."""
    from selenium.common.exceptions import ElementClickInterceptedException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def started(d) -> bool:  # a status other than busy (e.g. while the page loads) is no start
        if answer_kernel_dialog(d):  # it swallowed the request: click again
            raise TimeoutException("a Select Kernel dialog was open")
        return kernel_status(d) == "busy" or any(c["count"] for c in code_cells(d))

    for _ in range(tries):
        try:
            WebDriverWait(driver, 60).until(lambda d: not answer_kernel_dialog(d))
            run_all_cells(driver)
            WebDriverWait(driver, 60).until(started)
            return
        except (TimeoutException, ElementClickInterceptedException):  # a dialog took the click
            continue
    pytest.fail(f"JupyterLab: Run All Cells started no cell in {tries} tries of 60 s")


def slider_or_all_run(driver):
    """The chapter's slider once shown; True once every code cell ran and the kernel is idle."""
    sliders = driver.find_elements("css selector", ".jp-OutputArea .widget-slider")
    if sliders:
        return sliders[0]
    return kernel_idle(driver) and all(c["count"] for c in code_cells(driver))


def redrawn(readout, figure: Callable, old_text: str, old_figure: tuple | None) -> Callable:
    """A wait condition: the readout and the figure both differ from before, the kernel idle."""

    def condition(driver) -> bool:
        now = figure()
        return (
            readout.text != old_text
            and now is not None
            and now != old_figure
            and kernel_idle(driver)
        )

    return condition


def test_gamma_slider_redraws_its_figure_in_jupyterlab(lab, tmp_path_factory):
    from selenium.webdriver.common.keys import Keys

    shots = screenshot_dir(tmp_path_factory)
    driver = start_chromium("1400,1000")
    try:
        open_page(driver, f"{lab.url}lab/tree/{NOTEBOOK}?token={lab.token}")
        wait_for(driver, 120, "idle kernel for the opened notebook", kernel_started)
        start_all_cells(driver)
        # a busy machine runs the cells slower: wait while they run (30 min at most), and stop
        # as soon as every cell has run without a slider
        found = wait_for(
            driver,
            1800,
            "ipywidgets slider in an output area after Run All Cells",
            slider_or_all_run,
            lambda: f"(cells: {code_cells(driver)})",
        )
        assert found is not True, f"every cell ran, no slider: {code_cells(driver)}"
        slider = found
        cell = slider.find_element("xpath", CODE_CELL_OF)  # the slider's own output area

        def figure(_driver=None) -> tuple[str, ...] | None:
            # an image, or the book's inline SVG figure (sedlib.report.figures.figure_html)
            images = cell.find_elements(
                "css selector", ".jp-OutputArea img, .jp-OutputArea .sedlib-figure svg"
            )
            return (
                tuple(i.get_attribute("src") or i.get_attribute("innerHTML") for i in images)
                or None
            )

        wait_for(driver, 120, "figure in the slider's cell", figure)
        wait_for(driver, 300, "idle kernel after Run All Cells", kernel_idle)
        cells = code_cells(driver)
        assert not [e for c in cells for e in c["errors"]], f"cells raised errors: {cells}"
        assert all(c["count"] for c in cells), f"cells that did not run: {cells}"
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
        driver.save_screenshot(str(shots / "jupyterlab_before.png"))

        handle = slider.find_element("css selector", ".noUi-handle")
        readout = slider.find_element("css selector", ".widget-readout")
        text, shown = readout.text, figure()
        values = [float(text)]
        for _ in range(3):  # one key at a time, as a reader looks at each new figure
            handle.send_keys(Keys.ARROW_RIGHT)
            wait_for(
                driver,
                60,
                f"new readout and new figure after ARROW_RIGHT from γ = {text}",
                redrawn(readout, figure, text, shown),
                lambda: f"(readout {readout.text}, kernel idle: {kernel_idle(driver)})",
            )
            text, shown = readout.text, figure()
            values.append(float(text))
        driver.save_screenshot(str(shots / "jupyterlab_after.png"))
        assert values == sorted(set(values)), f"ARROW_RIGHT should raise γ step by step: {values}"
        assert console_errors(driver) == [], "JavaScript errors in JupyterLab"
        assert requests_leaving(driver, lab.url) == [], "JupyterLab requested outside 127.0.0.1"
    except BaseException:
        driver.save_screenshot(str(shots / "jupyterlab_failure.png"))
        raise
    finally:
        driver.quit()
