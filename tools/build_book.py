"""Build the Jupyter Book with warnings as errors, and name what broke.

``python tools/build_book.py [--path-output DIR]`` runs ``jupyter-book build`` on
the repository root. When a notebook fails, it prints the notebook, the
number of the failing cell, its source and the error, taken from the
reports jupyter-book writes, and exits non-zero: a broken chapter never
ships as a silently empty page.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failing_cell(notebook: Path, cell_source: str) -> int | None:
    """1-based index of the code cell whose source is ``cell_source``.

    ``cell_source`` may also be nbclient's preview of a long cell (its first
    and last five lines as two Python lists around a ``...`` line), as a
    cell time-out report shows it.
    """
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    head, tail = _preview_lines(cell_source)
    for i, cell in enumerate(cells, start=1):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") != "code":
            continue
        if source.strip() == cell_source.strip():
            return i
        lines = source.strip().split("\n")
        if head and lines[: len(head)] == head and lines[-len(tail) :] == tail:
            return i
    return None


def _preview_lines(preview: str) -> tuple[list[str], list[str]]:
    """First and last lines of a long cell from nbclient's preview (empty lists otherwise)."""
    parts = preview.strip().split("\n...\n")
    if len(parts) != 2:
        return [], []
    try:
        head, tail = (ast.literal_eval(part) for part in parts)
    except (ValueError, SyntaxError):
        return [], []
    if not (isinstance(head, list) and isinstance(tail, list) and head and tail):
        return [], []
    return [str(x) for x in head], [str(x) for x in tail]


#: nbclient's report of a cell that ran past ``execute.timeout`` (``CellTimeoutError``).
TIMEOUT = re.compile(
    r"A cell timed out while it was being executed, after (?P<seconds>[\d.]+) seconds\."
    r".*?Here is a preview of the cell contents:\n-+\n(?P<source>.*?)\n-+\n",
    re.S,
)


def report_failures(output: Path, root: Path = ROOT) -> list[str]:
    """One message per notebook that failed to execute, from jupyter-book's reports.

    A cell that raised is named with its error; a cell that ran past the
    per-cell time limit (``execute.timeout`` of ``_config.yml``) is named as
    timed out, with the limit.
    """
    messages = []
    for log in sorted((output / "html" / "reports").rglob("*.err.log")):
        text = ANSI.sub("", log.read_text(errors="replace"))
        rel = log.relative_to(output / "html" / "reports").with_suffix("").with_suffix(".ipynb")
        notebook = root / rel
        timeout = TIMEOUT.search(text)
        if timeout:
            source = timeout.group("source")
            index = failing_cell(notebook, source)
            where = f"cell {index}" if index else "a cell"
            messages.append(
                f"FAILED {rel}: {where} timed out after {timeout.group('seconds')} s "
                f"(execute.timeout in _config.yml)\n--- cell source ---\n{source}\n---"
            )
            continue
        match = re.search(r"executing the following cell:\n-+\n(.*?)\n-+\n", text, re.S)
        source = match.group(1) if match else ""
        index = failing_cell(notebook, source) if match else None
        error_lines = [ln for ln in text.splitlines() if re.match(r"^\w*(Error|Exception)\b", ln)]
        error = error_lines[-1] if error_lines else text.strip().splitlines()[-1]
        where = f"cell {index}" if index else "a cell"
        messages.append(f"FAILED {rel}: {where} raised {error}\n--- cell source ---\n{source}\n---")
    return messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the book's root (with _config.yml and _toc.yml)"
    )
    parser.add_argument(
        "--path-output",
        type=Path,
        default=None,
        help="the book goes to PATH/_build/html (default: the root)",
    )
    args = parser.parse_args()
    root = args.root.resolve()
    output = (args.path_output or root).resolve() / "_build"
    reports = output / "html" / "reports"
    for old in reports.rglob("*.err.log") if reports.exists() else []:
        old.unlink()
    start = time.perf_counter()
    jupyter_book = Path(sys.executable).with_name(
        "jupyter-book"
    )  # the venv's, also when not activated
    cmd = [
        str(jupyter_book),
        "build",
        str(root),
        "--path-output",
        str(output.parent),
        "-W",
        "--keep-going",
    ]
    proc = subprocess.run(cmd, cwd=root)
    elapsed = time.perf_counter() - start
    failures = report_failures(output, root)
    for message in failures:
        print(message, file=sys.stderr)
    if proc.returncode or failures:
        print(
            f"book build FAILED after {elapsed:.0f} s (warnings are errors; see above)",
            file=sys.stderr,
        )
        return proc.returncode or 1
    print(f"book built in {elapsed:.0f} s: open {output / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
