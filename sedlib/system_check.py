"""``sedlib check``: tell the user what to install when the system lacks something."""

from __future__ import annotations

import importlib
import shutil
import sys

SUPPORTED_PYTHON = ((3, 11), (3, 12))

#: (module to import, what it needs from the system, how to install it on Debian/Ubuntu)
_MODULES = (
    ("numpy", "NumPy", "pip install -r requirements/lock-cpu.txt"),
    ("torch", "PyTorch", "pip install torch==2.13.0 (see README: GPU variant)"),
    ("soundfile", "libsndfile (audio I/O)", "apt-get install libsndfile1"),
    ("soxr", "soxr (resampling)", "pip install -r requirements/lock-cpu.txt"),
    ("matplotlib", "matplotlib", "pip install -r requirements/lock-cpu.txt"),
)


def find_chromium() -> str | None:
    """Path of a Chromium or Chrome executable, or None."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next(filter(None, map(shutil.which, names)), None)


def run_checks(browser: bool = False) -> int:
    """Print one line per requirement; return 0 when all are met, 1 otherwise.

    Parameters
    ----------
    browser : bool
        Also require a Chromium for the browser tests of the built book.
    """
    problems = []
    version = sys.version_info[:2]
    if version not in SUPPORTED_PYTHON:
        problems.append(
            f"Python {version[0]}.{version[1]} is not supported; install Python 3.11 "
            "(e.g. `apt-get install python3.11 python3.11-venv` or `conda create -n sed python=3.11`)"
        )
    for module, what, fix in _MODULES:
        try:
            importlib.import_module(module)
        except (ImportError, OSError) as err:
            problems.append(f"{what} cannot be loaded ({err}); install it: {fix}")
    if browser and find_chromium() is None:
        problems.append(
            "no Chromium found for the browser tests; install it: apt-get install chromium"
        )
    for line in problems:
        print(f"MISSING: {line}", file=sys.stderr)
    if not problems:
        print(f"ok: Python {version[0]}.{version[1]}, " + ", ".join(m for m, _, _ in _MODULES))
    return 1 if problems else 0
