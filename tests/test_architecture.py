"""The shape of the package: layers that only import downwards, no cycles, short functions,
one output policy, lint over every file, runnable examples."""

from __future__ import annotations

import ast
import doctest
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sedlib"

#: Layers, bottom first. A module may import its own layer or a lower one, never a higher one.
LAYERS = {
    0: (
        "sedlib.features",
        "sedlib.model",
        "sedlib.losses",
        "sedlib.events",
        "sedlib.metrics",
        "sedlib.loss_shares",
    ),
    1: ("sedlib.errors", "sedlib.util", "sedlib.settings", "sedlib.provenance"),
    2: ("sedlib.data",),
    3: ("sedlib.evaluation",),
    4: ("sedlib.training",),
    5: ("sedlib.study",),
    6: ("sedlib.report",),
    7: ("sedlib.cli", "sedlib.system_check", "sedlib.__main__", "sedlib.book"),
}
#: The science, the foundation: it imports nothing of sedlib but itself.
CORE = LAYERS[0]
#: Functions allowed over the length limit, with the reason.
LONG_FUNCTIONS: dict[str, str] = {}
MAX_LINES = 60
#: Modules that talk to a terminal: the rest of the library logs and shows progress bars.
#: (The kernel wake-up prints into the log of the notebook execution it is installed in.)
FRONT_ENDS = {"sedlib.cli", "sedlib.system_check", "sedlib.util.kernel_wakeup"}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Every sedlib module ``name`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative imports are not used in sedlib; resolve anyway
                base = ".".join([*name.split(".")[: -node.level], node.module])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    known = modules()
    return {m for m in found if m in known and m != name}


def layer(name: str) -> int:
    for rank, prefixes in LAYERS.items():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return rank
    if name == "sedlib":
        return 8  # the package's own entry point re-exports from every layer
    raise AssertionError(f"{name} belongs to no layer; add it to LAYERS")


def test_every_module_has_a_layer():
    for name in modules():
        layer(name)


def test_imports_only_point_down_and_the_core_imports_only_the_core():
    graph = {name: imports(name, path) for name, path in modules().items()}
    for name, targets in graph.items():
        for target in targets:
            if target == "sedlib":
                continue
            assert layer(target) <= layer(name), (
                f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
            )
        if name in CORE:
            outside = {t for t in targets if t != "sedlib" and t not in CORE}
            assert not outside, f"core module {name} imports {outside}"


def test_no_import_cycles():
    graph = {name: imports(name, path) - {"sedlib"} for name, path in modules().items()}
    # a package imports its submodules (__init__ re-exports): that is containment, not a cycle
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt] if nxt in stack else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def code_lines(node: ast.FunctionDef) -> int:
    """Lines of a function without its docstring (numpydoc documentation is not complexity)."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        if isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
    return lines


def test_functions_are_short():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = code_lines(node)
                qualified = f"{name}.{node.name}"
                if lines > MAX_LINES and qualified not in LONG_FUNCTIONS:
                    long.append(f"{qualified}: {lines} lines")
    assert not long, (
        "functions over the limit (split them or name them in LONG_FUNCTIONS):\n" + "\n".join(long)
    )


def test_the_library_logs_instead_of_printing():
    printing = []
    for name, path in modules().items():
        if name in FRONT_ENDS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printing.append(f"{name}:{node.lineno}")
    assert not printing, f"print() in the library: {printing}"


def test_ruff_covers_every_file_of_the_package():
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    for path in modules().values():
        assert str(path) in listed, f"ruff does not check {path.relative_to(ROOT)}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_numpydoc_examples_run(name):
    if name in ("sedlib.__main__",):
        pytest.skip("runs the command line when imported")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        if test.examples:
            runner.run(test)
    assert runner.failures == 0, (
        f"{runner.failures} example(s) of {name} failed (run with -s to see them)"
    )


#: The command line: the only modules that know the book's files and the spelling of options.
COMMAND_LINE = {"sedlib.cli", "sedlib.__main__"}
#: A book path, or a string that starts with an option of ``sedlib`` or is a ``sedlib``
#: command (``"--grid"``, ``f"--set {key}={value}"``, ``f"--{key} {value}"``,
#: ``"sedlib sweep --grid ..."``): what builds a command line. A message may still name
#: the option a user gave, in its prose; other programs' options (git's) are theirs.
_BOOK_PATH = re.compile(r"(^|[\s/\"'`(])book/|\.ipynb\b")
_FLAG = re.compile(r"^\s*`?(sedlib( [a-z-]+)+ )?(--[a-z][a-z0-9-]*|--$)")


def sedlib_options() -> set[str]:
    """Every option string of the ``sedlib`` command line and its subcommands."""
    import argparse

    from sedlib.cli import build_parser

    options, parsers = set(), [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            options.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
    return options


def _builds_a_command(text: str, options: set[str], formatted: bool) -> bool:
    """``text`` starts with an option of sedlib (or, ``formatted``, is the ``--`` of ``f"--{key}"``)."""
    match = _FLAG.match(text)
    return bool(match) and (match.group(3) in options or (formatted and text == "--"))


def command_line_literals(path: Path, options: set[str]) -> list[str]:
    """The strings of a module that name a book path or build a command line, with their lines."""
    tree = ast.parse(path.read_text())
    inside = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            first = node.values[0] if node.values else None
            start = first.value if isinstance(first, ast.Constant) else ""
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in inside:
                continue
            texts = start = node.value
            texts = [texts]
        else:
            continue
        if any(_BOOK_PATH.search(t) for t in texts):
            found.append(f"{node.lineno}: book path {''.join(texts)[:50]!r}")
        if _builds_a_command(start, options, isinstance(node, ast.JoinedStr)):
            found.append(f"{node.lineno}: command line {''.join(texts)[:50]!r}")
    return found


def below_command_line_violations(package: Path = PACKAGE) -> list[str]:
    """Every book path and command-line string in a module below the command line."""
    out, options = [], sedlib_options()
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in COMMAND_LINE:
            out += [f"{name}:{hit}" for hit in command_line_literals(path, options)]
    return out


def test_only_the_command_line_knows_the_book_and_the_option_spellings():
    violations = below_command_line_violations()
    assert not violations, (
        "book paths or command-line flags below the command line (pass them from sedlib.cli):\n"
        + "\n".join(violations)
    )


@pytest.mark.parametrize(
    "planted",
    [
        'NOTEBOOK = "book/03_training.ipynb"\n',
        'def command(key, value):\n    return f"--set {key}={value}"\n',
        'ARGS = ["train", "--config"]\n',
        'def command(grid):\n    return f"sedlib sweep --grid {grid}"\n',
        'def option(key, value):\n    return f"--{key} {value}"\n',
    ],
)
def test_the_command_line_rule_finds_a_planted_violation(tmp_path, planted):
    package = tmp_path / "sedlib"
    (package / "study").mkdir(parents=True)
    (package / "cli.py").write_text('FLAGS = ["--grid", "book/x.ipynb"]\n')  # allowed there
    (package / "study" / "planted.py").write_text(
        '"""A module below the command line."""\n\n'
        'MESSAGE = "give it again with --force"\nGIT = ["git", "status", "--porcelain"]\n' + planted
    )
    (hit,) = below_command_line_violations(package)
    assert hit.startswith("sedlib.study.planted:")


def test_every_exception_of_sedlib_is_a_sedlib_error():
    from sedlib.errors import SedlibError

    found = []
    for name in modules():
        if name == "sedlib.__main__":
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and not attr.startswith("_")
            ):
                found.append(value)
                assert issubclass(value, SedlibError), f"{name}.{attr} is not a SedlibError"
    assert len(found) >= 15  # the kinds of sedlib.errors and those of the modules


def test_no_module_imports_a_private_name_of_another():
    """Two modules share public names only (the two training engines share RunFolder)."""
    found = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sedlib"):
                found += [
                    f"{name} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not found, found
