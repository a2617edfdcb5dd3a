"""The launch buttons: Binder's repo2docker configuration installs the pinned CPU
environment and sedlib, and the buttons of the built pages point at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version
from test_environment import LOCK, read_lock

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def requirement_lines(path: Path) -> list[str]:
    """The lines of a pip requirements file without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_binder_python_is_the_study_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert (BINDER / "runtime.txt").read_text().strip() == "python-" + python.split("=", 1)[1]


def test_binder_installs_the_lock_with_the_cpu_build_of_torch():
    lines = requirement_lines(BINDER / "requirements.txt")
    nested = [line.split(None, 1)[1] for line in lines if line.startswith("-r ")]
    assert [(BINDER / n).resolve() for n in nested] == [LOCK], "binder must install the lock"
    assert f"--extra-index-url {TORCH_CPU_INDEX}" in lines
    torch = [line for line in lines if line.startswith("torch==")]
    assert len(torch) == 1, "one extra torch pin: the CPU build of the lock's version"
    version = Version(torch[0].split("==", 1)[1])
    assert version.local == "cpu" and version.public == read_lock()["torch"]
    others = set(lines) - {*torch, f"--extra-index-url {TORCH_CPU_INDEX}", f"-r {nested[0]}"}
    assert not others, f"binder/requirements.txt pins more than the lock: {others}"


def test_binder_post_build_installs_sedlib_from_the_checkout():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs binder/postBuild as a program"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    assert "pip install --no-cache-dir --no-deps -e ." in text  # dependencies: the lock
    subprocess.run(["bash", "-n", str(post_build)], check=True)


def test_launch_buttons_open_jupyterlab_on_binder_and_colab():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert buttons["notebook_interface"] == "jupyterlab"
    assert buttons["colab_url"] == "https://colab.research.google.com"
    repository = config["repository"]
    assert repository["url"].startswith("https://github.com/") and repository["branch"] == "main"


@pytest.mark.book
def test_built_pages_link_to_binder_and_colab_for_their_notebook(built_book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    slug = config["repository"]["url"].removeprefix("https://github.com/")
    html = (built_book / "book" / "02_loss_weights.html").read_text()
    notebook = "book/02_loss_weights.ipynb"
    assert f"https://mybinder.org/v2/gh/{slug}/main?urlpath=lab/tree/{notebook}" in html
    assert f"https://colab.research.google.com/github/{slug}/blob/main/{notebook}" in html


def pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=15).close()
    except (urllib.error.URLError, OSError):
        return False
    return True


@pytest.mark.slow
def test_binder_environment_resolves_from_pypi(tmp_path):
    """pip resolves every pin but torch (PyTorch's CPU index is not checked here) to itself."""
    if not pypi_reachable():
        if os.environ.get("CI"):
            pytest.fail("CI needs PyPI to resolve the Binder environment")
        pytest.skip("PyPI is not reachable")
    pins = {name: version for name, version in read_lock().items() if name != "torch"}
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    report = tmp_path / "report.json"
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    proc = subprocess.run(
        [*pip, "--report", str(report), "-r", str(requirements)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    resolved = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert resolved == pins, "the lock is not closed: pip would install other versions or more"
