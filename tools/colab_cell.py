"""Put the Colab set-up cell first among the code cells of every chapter notebook.

``python tools/colab_cell.py`` inserts, or replaces with the current version,
one code cell before the first other code cell of each ``book/*.ipynb``. The
cell does nothing unless ``google.colab`` is importable. In Colab it clones
the repository (the chapters read the results committed under
``data/results/`` and the training chapter writes its run under ``data/``),
installs sedlib from that checkout next to Colab's own PyTorch, makes it
importable without restarting the runtime, and changes into ``book/`` as
the book's own build does. Its ``remove-cell`` tag keeps it out of the built
book. Running the tool again changes nothing; ``--check`` only reports the
notebooks that are not up to date (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-setup"
MARKER = "# Google Colab only:"
BRANCH = "main"


def repository_url(root: Path = ROOT) -> str:
    """The repository's address, from ``repository.url`` of ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def cell_source(url: str, branch: str = BRANCH) -> str:
    """The source of the Colab set-up cell for the repository at ``url``."""
    checkout = "/content/" + url.rsplit("/", 1)[-1]
    return f'''{MARKER} fetch the study and install sedlib. Elsewhere this does nothing.
try:
    import google.colab  # noqa: F401
except ImportError:
    pass
else:
    import os
    import subprocess
    import sys

    repository = "{url}"
    checkout = "{checkout}"
    if not os.path.isdir(checkout):
        clone = ["git", "clone", "--depth=1", "--branch={branch}", repository, checkout]
        subprocess.run(clone, check=True)
    # sedlib and its dependencies; Colab's own PyTorch already satisfies "torch>=2.2"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", checkout], check=True)
    sys.path.insert(0, checkout)  # importable now, without restarting the runtime
    os.chdir(os.path.join(checkout, "book"))  # where the book runs its chapters'''


def colab_cell(url: str) -> dict:
    """The notebook cell (nbformat 4.5) with :func:`cell_source` for ``url``."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": CELL_ID,
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": cell_source(url).splitlines(keepends=True),
    }


def is_colab_cell(cell: dict) -> bool:
    """Whether ``cell`` is a Colab set-up cell of this tool (any version)."""
    source = "".join(cell.get("source", []))
    return cell.get("cell_type") == "code" and (
        cell.get("id") == CELL_ID or source.startswith(MARKER)
    )


def with_colab_cell(notebook: dict, url: str) -> dict:
    """``notebook`` with exactly one, current Colab cell before its first other code cell.

    Parameters
    ----------
    notebook : dict
        A notebook in nbformat 4 JSON form; it is not modified.
    url : str
        The repository the cell clones.

    Returns
    -------
    dict
        A copy with the old Colab cells removed and the current one inserted.
    """
    cells = [c for c in notebook["cells"] if not is_colab_cell(c)]
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(first_code, colab_cell(url))
    return {**notebook, "cells": cells}


def dumps(notebook: dict) -> str:
    """Notebook JSON as Jupyter writes it (one-space indent, UTF-8, final newline)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def update(paths: list[Path], url: str, check: bool = False) -> list[Path]:
    """Bring the Colab cell of each notebook up to date.

    Parameters
    ----------
    paths : list of Path
        Notebooks to update.
    url : str
        The repository the cell clones.
    check : bool
        Only report, write nothing.

    Returns
    -------
    list of Path
        The notebooks that changed (or, with ``check``, would change).
    """
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = dumps(with_colab_cell(json.loads(text), url))
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: book/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if outdated")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))
    changed = update(paths, repository_url(), check=args.check)
    for path in changed:
        print(f"{'outdated' if args.check else 'updated'}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
