"""Where the study keeps its data, overridable by environment variables.

``SEDLIB_DATA_ROOT``
    Downloads, caches and results (default: ``data/`` of the repository when
    run from a checkout, else ``./data``).
``SEDLIB_TUT_META``
    An existing copy of the TUT event metadata (the tree with ``meta/`` and
    ``crossvaridation/``). Tests and CI point it at a local copy instead of
    downloading; unset, the metadata is looked for under the data root.

A relative value is taken relative to the folder the user started the
command in: :func:`pin_paths` makes both absolute once, at the entry point,
so that child processes (papermill kernels, ``sedlib train``), which run in
the repository folder, see the same folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from sedlib.errors import ConfigError

#: Repository root when sedlib runs from a checkout (``pip install -e .``).
REPO_ROOT = Path(__file__).resolve().parents[1]


#: The environment variables that name folders.
PATH_VARIABLES = ("SEDLIB_DATA_ROOT", "SEDLIB_TUT_META")


def pin_paths() -> dict[str, str]:
    """Make :data:`PATH_VARIABLES` absolute in ``os.environ`` (against the current folder); the new values.

    Called once at an entry point (the command line, a sweep), so that every
    child process inherits the folders the user meant.
    """
    pinned = {}
    for name in PATH_VARIABLES:
        value = os.environ.get(name)
        if value:
            pinned[name] = os.environ[name] = str(Path(value).expanduser().absolute())
    return pinned


def data_root() -> Path:
    """Root folder for downloads, caches and results (absolute).

    Raises
    ------
    ConfigError
        When ``SEDLIB_DATA_ROOT`` names something that is not a folder, naming it.
    """
    env = os.environ.get("SEDLIB_DATA_ROOT")
    if env:
        root = Path(env).expanduser().absolute()
        if root.exists() and not root.is_dir():
            raise ConfigError(
                f"SEDLIB_DATA_ROOT={env} is not a folder: point it at one (or unset it)"
            )
        return root
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data"
    return Path.cwd() / "data"


def tut_meta_dir() -> Path:
    """Folder of the TUT event metadata (``SEDLIB_TUT_META`` or ``<data root>/tut-meta``)."""
    env = os.environ.get("SEDLIB_TUT_META")
    return Path(env).expanduser().absolute() if env else data_root() / "tut-meta"


def results_dir() -> Path:
    """Folder of aggregated results (``<data root>/results``)."""
    return data_root() / "results"


def env_count(name: str, meaning: str, unset: str) -> int | None:
    """The whole number of at least 1 in the environment variable ``name``; None when it is unset.

    Raises
    ------
    ConfigError
        Naming the variable, what it means (``meaning``) and what leaving it
        unset does (``unset``), when it is not a whole number of at least 1.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(
            f"{name} must be a whole number of at least 1 ({meaning}), got {text!r}; {unset}"
        )
    return int(text)
