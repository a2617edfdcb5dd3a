"""The book build on this machine, and each chapter's share of it.

Builds the book with ``tools/build_book.py`` (warnings as errors) into a
temporary folder, reads myst-nb's "Executed notebook in N seconds" lines, and
prints the execution time of every chapter next to the whole build. Chapters
are executed at every build (``execute_notebooks: force``); run the set-up
(``make setup``) first so that it is not part of the time.

Run: ``python benchmarks/bench_book.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = re.compile(r"(\S+\.ipynb): Executed notebook in ([0-9.]+) seconds")


def main() -> int:
    print(machine())
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "build_book.py"), "--path-output", out],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        total = time.perf_counter() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    if proc.returncode:
        print(log[-3000:], file=sys.stderr)
        return proc.returncode
    chapters = [(Path(m.group(1)).stem, float(m.group(2))) for m in EXECUTED.finditer(log)]
    rows = [
        {
            "chapter": name,
            "execution (s)": f"{seconds:.1f}",
            "share of build": f"{seconds / total:.0%}",
        }
        for name, seconds in chapters
    ]
    executed = sum(s for _, s in chapters)
    rows.append(
        {
            "chapter": "Markdown pages, Sphinx, HTML (rest)",
            "execution (s)": f"{total - executed:.1f}",
            "share of build": f"{(total - executed) / total:.0%}",
        }
    )
    rows.append(
        {"chapter": "**whole build**", "execution (s)": f"{total:.1f}", "share of build": "100%"}
    )
    print_table(rows, "Book build (tools/build_book.py, warnings as errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
