"""The Colab launch button: every chapter starts with the set-up cell of tools/colab_cell.py,
which does nothing outside Colab and, in Colab, clones the repository and installs sedlib."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = "/content/duration-robust-sed"

_spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
colab_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_cell)

# Runs a cell's source with every way of starting a process, os.chdir and the
# existence check of the checkout replaced by recorders; writes what was called.
RECORDER = r"""
import importlib.util, json, os, subprocess, sys

source, result_file, checkout_exists = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
calls = []

def recorder(name):
    def record(*args, **kwargs):
        calls.append([name, *(list(a) if isinstance(a, (list, tuple)) else a for a in args)])
        return subprocess.CompletedProcess(args, 0)
    return record

for name in ("run", "Popen", "call", "check_call", "check_output"):
    setattr(subprocess, name, recorder(name))
os.system = recorder("system")
os.chdir = recorder("chdir")
isdir = os.path.isdir
os.path.isdir = lambda p: checkout_exists if str(p).startswith("/content") else isdir(p)
try:
    colab = importlib.util.find_spec("google.colab") is not None
except ModuleNotFoundError:
    colab = False
path_before = list(sys.path)
with open(source) as f:
    exec(compile(f.read(), "colab-cell", "exec"), {"__name__": "__main__"})
with open(result_file, "w") as f:
    json.dump({"colab": colab, "calls": calls, "path_added": sys.path[: len(sys.path) - len(path_before)]}, f)
"""


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


def run_cell(tmp_path: Path, *, in_colab: bool, checkout_exists: bool = False):
    """Run the current Colab cell in a fresh interpreter; its output and what it called."""
    cell = tmp_path / "cell.py"
    cell.write_text(colab_cell.cell_source(colab_cell.repository_url()))
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    if in_colab:  # an importable google.colab, as in a Colab runtime
        package = tmp_path / "fake" / "google" / "colab"
        package.mkdir(parents=True)
        (package.parent / "__init__.py").write_text("")
        (package / "__init__.py").write_text("")
        env["PYTHONPATH"] = str(tmp_path / "fake")
    result = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(recorder), str(cell), str(result), "1" if checkout_exists else "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(result.read_text())


def test_every_chapter_starts_with_the_current_colab_cell():
    expected = colab_cell.colab_cell(colab_cell.repository_url())
    for path in chapters():
        cells = json.loads(path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code[0] == expected, f"{path.name}: run `python tools/colab_cell.py`"
        assert sum(colab_cell.is_colab_cell(c) for c in cells) == 1, path.name
        assert "remove-cell" in code[0]["metadata"]["tags"]  # not shown in the built book


def test_the_cell_clones_the_repository_of_the_launch_buttons():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert colab_cell.repository_url() == url
    assert f'repository = "{url}"' in colab_cell.cell_source(url)
    assert config["repository"]["branch"] == colab_cell.BRANCH


def test_outside_colab_the_cell_does_nothing(tmp_path):
    proc, seen = run_cell(tmp_path, in_colab=False)
    assert not seen["colab"], "google.colab must not be importable for this test"
    assert seen["calls"] == [], "the cell started a process or changed folder outside Colab"
    assert seen["path_added"] == []
    assert proc.stdout == "" and proc.stderr == ""


@pytest.mark.parametrize("checkout_exists", [False, True])
def test_in_colab_the_cell_clones_installs_and_enters_the_book(tmp_path, checkout_exists):
    proc, seen = run_cell(tmp_path, in_colab=True, checkout_exists=checkout_exists)
    assert seen["colab"]
    url = colab_cell.repository_url()
    clone = ["run", ["git", "clone", "--depth=1", "--branch=main", url, CHECKOUT]]
    install = ["run", [sys.executable, "-m", "pip", "install", "--quiet", "-e", CHECKOUT]]
    chdir = ["chdir", f"{CHECKOUT}/book"]
    expected = [install, chdir] if checkout_exists else [clone, install, chdir]
    assert seen["calls"] == expected
    assert seen["path_added"] == [CHECKOUT]  # sedlib importable before a runtime restart
    assert proc.stdout == "" and proc.stderr == ""


def test_tool_inserts_once_replaces_old_versions_and_keeps_the_rest(tmp_path):
    original = json.loads((ROOT / "book" / "03_training.ipynb").read_text())
    others = [c for c in original["cells"] if not colab_cell.is_colab_cell(c)]
    stale = colab_cell.colab_cell("https://example.org/old/repo")
    stale["id"] = "renamed"  # an older version, recognised by its first line
    path = tmp_path / "03_training.ipynb"
    path.write_text(colab_cell.dumps({**original, "cells": [*others[:3], stale, *others[3:]]}))

    url = colab_cell.repository_url()
    assert colab_cell.update([path], url) == [path]
    assert colab_cell.update([path], url) == []  # idempotent
    cells = json.loads(path.read_text())["cells"]
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    assert cells[first_code] == colab_cell.colab_cell(url)
    assert [c for c in cells if not colab_cell.is_colab_cell(c)] == others
    assert "parameters" in cells[first_code + 1]["metadata"]["tags"]  # papermill's cell intact
