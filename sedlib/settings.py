"""Where the study keeps its data, overridable by environment variables.

``SEDLIB_DATA_ROOT``
    Downloads, caches and results (default: ``data/`` of the repository when
    run from a checkout, else ``./data``).
``SEDLIB_TUT_META``
    An existing copy of the TUT event metadata (the tree with ``meta/`` and
    ``crossvaridation/``). Tests and CI point it at a local copy instead of
    downloading; unset, the metadata is looked for under the data root.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root when sedlib runs from a checkout (``pip install -e .``).
REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Root folder for downloads, caches and results."""
    env = os.environ.get("SEDLIB_DATA_ROOT")
    if env:
        return Path(env).expanduser()
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data"
    return Path.cwd() / "data"


def tut_meta_dir() -> Path:
    """Folder of the TUT event metadata (``SEDLIB_TUT_META`` or ``<data root>/tut-meta``)."""
    env = os.environ.get("SEDLIB_TUT_META")
    return Path(env).expanduser() if env else data_root() / "tut-meta"


def results_dir() -> Path:
    """Folder of aggregated results (``<data root>/results``)."""
    return data_root() / "results"
