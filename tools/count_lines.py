"""Count sedlib's code lines by layer: lines of Python that are not blank, a comment or a docstring.

``python tools/count_lines.py [--root DIR]`` prints one line per layer (the
layers of ``tests/test_architecture.py``: the science core, then data,
evaluation, training, study, report and the front ends) and the total; the
issues report the package's size with it, before and after a change
(``git stash`` or a worktree of the base gives the "before").

``python tools/count_lines.py --since REV`` prints, for each commit after
``REV`` that changed ``sedlib/`` (merges left out), the code lines it added
against its first parent, so that a round's growth can be told apart by the
change that made it.
"""

from __future__ import annotations

import argparse
import ast
import io
import subprocess
import tarfile
import tempfile
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("features", "model", "losses", "events", "metrics", "loss_shares")
BASE = ("errors", "util", "settings", "provenance")
PACKAGES = ("data", "evaluation", "training", "study", "report")


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring.

    >>> code_lines("'''Doc.'''\\n\\n# a comment\\nx = 1  # and code\\n")
    1
    """
    skip: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                          tokenize.DEDENT, tokenize.ENDMARKER):  # fmt: skip
            continue
        code.update(range(token.start[0], token.end[0] + 1))
    return len(code - skip)


def layer_of(path: Path, package: Path) -> str:
    """The layer a module of ``package`` belongs to (its top-level name)."""
    top = path.relative_to(package).parts[0].removesuffix(".py")
    if top in CORE:
        return "core (science)"
    if top in BASE:
        return "base (errors, util, settings, provenance)"
    if top in PACKAGES:
        return top
    return "front (cli, system_check, __init__, ...)"


def count(root: Path = ROOT) -> Counter:
    """Code lines per layer of ``root/sedlib``."""
    package = root / "sedlib"
    found: Counter = Counter()
    for path in sorted(package.rglob("*.py")):
        found[layer_of(path, package)] += code_lines(path.read_text(encoding="utf-8"))
    return found


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def count_at(rev: str) -> int:
    """sedlib's code lines in all at commit ``rev``."""
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(git("archive", rev, "sedlib"))) as archive:
            archive.extractall(folder, filter="data")
        return sum(count(Path(folder)).values())


def per_commit(since: str) -> None:
    """Each non-merge commit after ``since`` that changed sedlib: its code lines added, then the sum."""
    commits = git("rev-list", "--reverse", "--no-merges", f"{since}..HEAD", "--", "sedlib")
    total = 0
    for commit in commits.decode().split():
        delta = count_at(commit) - count_at(f"{commit}^")
        total += delta
        subject = git("log", "-1", "--format=%s", commit).decode().strip()
        print(f"{delta:+6d}  {commit[:7]}  {subject[:100]}")
    print(f"{total:+6d}  in all ({count_at(since)} at {since}, {count_at('HEAD')} now)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="a checkout (default: this one)")
    parser.add_argument("--since", help="list the lines each commit after this one added")
    args = parser.parse_args()
    if args.since:
        return per_commit(args.since)
    found = count(args.root)
    for name, lines in sorted(found.items(), key=lambda item: -item[1]):
        print(f"{lines:6d}  {name}")
    print(f"{sum(found.values()):6d}  sedlib in all")


if __name__ == "__main__":
    main()
