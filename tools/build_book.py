"""Build the Jupyter Book with warnings as errors, and name what broke.

``python tools/build_book.py [--path-output DIR]`` runs ``jupyter-book build`` on
the repository root. When a notebook fails, it prints the notebook, the
number of the failing cell, its source and the error, taken from the
reports jupyter-book writes, and exits non-zero: a broken chapter never
ships as a silently empty page.

A busy machine makes the build slower, never failed. The training chapter's
run (minutes) is trained first, in a process of its own, with its progress
printed as it happens (:func:`train_chapter_run`); the chapter then reads
the finished run. That process, like every notebook cell
(:mod:`sedlib.util.kernel_wakeup`), is stopped only when it neither computes nor
prints for ``execute.timeout`` seconds (``_config.yml``): a slow machine
gives it the time it needs, a hung one is still stopped. An interrupted
training resumes from its last finished epoch at the next build.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from sedlib.util.kernel_wakeup import kernel_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The chapter whose run the build trains before the book (an entry of ``_toc.yml``).
TRAINING_CHAPTER = "book/03_training"
#: What a failed or stopped build says about the work already done.
RESUMES = "a rerun resumes the training chapter's run from its last finished epoch"
KEPT = "; the training chapter's run has finished and is kept: a rerun reads it"


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
                f"FAILED {rel}: {where} timed out after {timeout.group('seconds')} s in which "
                "its kernel neither computed nor printed (execute.timeout in _config.yml)"
                f"\n--- cell source ---\n{source}\n---"
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


def toc_files(root: Path) -> list[str]:
    """Every ``file`` entry of the book's ``_toc.yml`` (its root included)."""
    import yaml

    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((root / "_toc.yml").read_text()))
    return found


def idle_limit(root: Path) -> float:
    """``execute.timeout`` of the book's ``_config.yml``: the longest a kernel may stay idle and silent."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    return float((config.get("execute") or {}).get("timeout") or 900)


def notebook_parameters(notebook: Path) -> dict:
    """The values of a notebook's ``parameters`` cell (literal assignments, as papermill reads them).

    Raises
    ------
    ValueError
        When there is no such cell, or a value is not a literal (naming the line).
    """
    cells = json.loads(notebook.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError(f"{notebook} has no cell tagged 'parameters'")
    values = {}
    for node in ast.parse("".join(tagged[0]["source"])).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"{notebook}, parameters cell line {node.lineno}: not NAME = VALUE")
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(
                f"{notebook}, parameters cell line {node.lineno}: "
                f"{node.targets[0].id} is not a literal value"
            ) from None
    return values


class ProgressLines:
    """A child's terminal output (progress bars redrawn with carriage returns) as log lines.

    Each state of a bar that has settled (a second old, or followed by
    another) becomes one line, the bar itself left out; a bar that moves
    fast prints a line at most every ``every_s`` seconds, and its last state.
    Other output passes as it is.
    """

    BAR = re.compile(r"^(?P<what>.*?):\s+\d+%\|.*?\|\s*(?P<done>\d+)/(?P<total>\d+)")

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self.buffer = ""
        self.pending: tuple[re.Match, str, float] | None = None
        self.printed: dict[str, float] = {}

    def feed(self, text: str) -> list[str]:
        """The lines to print after ``text`` arrived."""
        self.buffer += text
        *segments, self.buffer = re.split(r"[\r\n]", self.buffer)
        lines = []
        for segment in filter(None, (s.strip() for s in segments)):
            bar = self.BAR.match(segment)
            if self.pending and not (bar and _same_state(bar, self.pending[0])):
                lines += self._settle(final=not bar or bar["what"] != self.pending[0]["what"])
            if bar:
                self.pending = (bar, re.sub(r"\|[^|]*\|", "", segment), time.monotonic())
            else:
                lines.append(segment)
        return lines

    def tick(self) -> list[str]:
        """The pending bar's line, once it has settled for a second."""
        if self.pending and time.monotonic() - self.pending[2] >= 1.0:
            return self._settle(final=False)
        return []

    def flush(self) -> list[str]:
        """Whatever is left (the child has ended)."""
        lines = self.feed("\n")
        return lines + (self._settle(final=True) if self.pending else [])

    def _settle(self, final: bool) -> list[str]:
        bar, line, _ = self.pending
        self.pending = None
        last = bar["done"] == bar["total"]
        now = time.monotonic()
        if final or last or now - self.printed.get(bar["what"], -1e9) >= self.every_s:
            self.printed[bar["what"]] = now
            return [re.sub(r"\s+", " ", line)]
        return []


def _same_state(bar: re.Match, other: re.Match) -> bool:
    return (bar["what"], bar["done"]) == (other["what"], other["done"])


def run_watched(command: list[str], *, idle_s: float, prefix: str, cwd: Path) -> int | None:
    """Run ``command``, printing its progress; stop it once it neither computes nor prints for ``idle_s``.

    Returns
    -------
    int or None
        Its exit status; None when it was stopped as hung.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    chunks: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_into, args=(child.stdout, chunks), daemon=True)
    reader.start()
    lines = ProgressLines()
    active, cpu = time.monotonic(), kernel_cpu_seconds(child.pid)
    try:
        while child.poll() is None or reader.is_alive() or not chunks.empty():
            try:
                text = chunks.get(timeout=1.0)
            except queue.Empty:
                text = ""
            shown = lines.feed(text) + lines.tick()
            for line in shown:
                print(f"{prefix}{line}", flush=True)
            now, used = time.monotonic(), kernel_cpu_seconds(child.pid)
            if text or (used is not None and cpu is not None and used - cpu > 1e-2):
                active = now
            cpu = used if used is not None else cpu
            if child.poll() is None and now - active >= idle_s:
                _stop(child)
                return None
        for line in lines.flush():
            print(f"{prefix}{line}", flush=True)
        return child.wait()
    finally:
        if child.poll() is None:  # interrupted (Ctrl-C): no training goes on without the build
            _stop(child)


def _read_into(stream, chunks: queue.Queue) -> None:
    for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
        chunks.put(chunk.decode("utf-8", errors="replace"))


def _stop(child: subprocess.Popen) -> None:
    """End a child and its own children."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for process in psutil.Process(child.pid).children(recursive=True):
            process.kill()
    child.kill()
    child.wait()


def train_chapter_run(root: Path, output: Path) -> int:
    """Train the run of the training chapter (when the book has it), showing its progress; 0 when done.

    The run is the one the chapter's parameters name (:func:`notebook_parameters`,
    :func:`sedlib.report.training.chapter_run`), trained by ``sedlib train`` in
    its own process (:func:`run_watched`), in the chapter's folder; a finished
    run is left as it is. A failure is printed with what a rerun does.
    """
    if TRAINING_CHAPTER not in toc_files(root):
        return 0
    from sedlib.cli import train_command
    from sedlib.report.training import chapter_run

    notebook = root / f"{TRAINING_CHAPTER}.ipynb"
    with contextlib.chdir(notebook.parent):  # where the chapter's kernel runs
        run = chapter_run(notebook_parameters(notebook), progress=True)
    if (run.folder / "metrics.json").is_file():
        print(f"{TRAINING_CHAPTER}: its run has finished earlier ({run.folder})")
        return 0
    output.mkdir(parents=True, exist_ok=True)
    config_file = output / "training-chapter-config.json"
    config_file.write_text(json.dumps(asdict(run.config)))
    limit = idle_limit(root)
    print(f"{TRAINING_CHAPTER}: training its run {run.folder.name} first (progress below)")
    status = run_watched(
        train_command(config_file, run.folder.absolute()),
        idle_s=limit,
        prefix=f"{TRAINING_CHAPTER}: ",
        cwd=notebook.parent,
    )
    if status == 0:
        return 0
    what = (
        f"was stopped: it neither computed nor printed for {limit:g} s (execute.timeout in "
        "_config.yml)"
        if status is None
        else f"failed (exit {status}; its output is above)"
    )
    print(
        f"FAILED {TRAINING_CHAPTER}: the training of {run.folder} {what}; {RESUMES}",
        file=sys.stderr,
    )
    return status or 1


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
    status = train_chapter_run(root, output)
    if status:
        return status
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
            f"book build FAILED after {elapsed:.0f} s (warnings are errors; see above)"
            + (KEPT if TRAINING_CHAPTER in toc_files(root) else ""),
            file=sys.stderr,
        )
        return proc.returncode or 1
    print(f"book built in {elapsed:.0f} s: open {output / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
