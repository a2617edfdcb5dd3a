"""The Jupyter Book: table of contents, clean notebooks, and a real build with warnings as errors."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import build

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def source_of(entry: str) -> Path:
    matches = [p for p in (ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb") if p.exists()]
    assert len(matches) == 1, f"_toc.yml entry {entry!r} needs exactly one .md or .ipynb file"
    return matches[0]


def test_toc_lists_existing_chapters_under_book():
    entries = toc_files()
    assert entries[0] == "book/intro"
    for entry in entries:
        assert entry.startswith("book/")
        source_of(entry)


def test_every_chapter_file_is_in_the_toc():
    listed = {str(source_of(e).relative_to(ROOT)) for e in toc_files()}
    on_disk = {
        str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*") if p.suffix in {".md", ".ipynb"}
    }
    assert on_disk == listed


def test_notebooks_are_committed_without_outputs():
    for nb_path in (ROOT / "book").glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        for i, cell in enumerate(nb["cells"], start=1):
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{nb_path.name} cell {i} has stored outputs"
                assert cell.get("execution_count") is None, (
                    f"{nb_path.name} cell {i} has an execution count"
                )


#: What a chapter may import of sedlib: the book's surface (sedlib.book), and the public API
#: of the science that chapters 01-03 show at work (see the docstring of sedlib.book).
CHAPTER_SURFACE = {
    "sedlib": {"book"},
    "sedlib.book": None,
    "sedlib.data": {"class_stats", "read_meta", "TUT_LABELS"},
    "sedlib.losses": None,
    "sedlib.loss_shares": None,
    "sedlib.training": {"train"},
    "sedlib.evaluation": {"Predictions"},
}


def chapter_imports(nb_path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from sedlib... import`` and ``import sedlib...`` in a chapter."""
    found = []
    for cell in json.loads(nb_path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sedlib"):
                found += [(node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                found += [(a.name, "") for a in node.names if a.name.startswith("sedlib")]
    return found


def outside_the_surface(nb_path: Path) -> list[str]:
    return [
        f"{module}.{name}"
        for module, name in chapter_imports(nb_path)
        if module not in CHAPTER_SURFACE
        or (CHAPTER_SURFACE[module] is not None and name not in CHAPTER_SURFACE[module])
    ]


def test_chapters_import_only_the_documented_surface(tmp_path):
    for nb_path in sorted((ROOT / "book").glob("*.ipynb")):
        assert not outside_the_surface(nb_path), f"{nb_path.name}: {outside_the_surface(nb_path)}"
    planted = tmp_path / "planted.ipynb"
    cell = {"cell_type": "code", "source": ["from sedlib.training.split import features_of\n"]}
    planted.write_text(json.dumps({"cells": [cell]}))
    assert outside_the_surface(planted) == ["sedlib.training.split.features_of"]


@pytest.mark.book
def test_book_builds_every_page(built_book):
    for entry in toc_files():
        page = built_book / f"{entry}.html"
        assert page.exists(), f"{page} missing"
        assert "Executing notebook failed" not in page.read_text()
    assert (built_book / "index.html").exists()


@pytest.mark.book
def test_executed_chapter_has_its_figures(built_book):
    html = (built_book / "book" / "02_loss_weights.html").read_text()
    figures = re.findall(r'<div class="sedlib-figure[^"]*"><svg[^>]+aria-label="[^"]+"', html)
    assert len(figures) >= 3  # inline SVG with alt text (sedlib.report.figures.figure_html)
    assert "weight, correct frame" in html  # the executed table


@pytest.mark.book
def test_training_chapter_ran_a_real_run(built_book):
    html = (built_book / "book" / "03_training.html").read_text()
    assert html.count('class="sedlib-figure') >= 2  # learning curves, example clip
    assert "F-score" in html and "error rate" in html and "mean_duration_s" in html
    from sedlib.settings import data_root
    from sedlib.training import RunRecord, TrainConfig

    runs = list((data_root() / "runs" / "book").glob("*/metrics.json"))
    assert runs, "the training chapter wrote no metrics.json"
    record = RunRecord.load(runs[0])
    book = TrainConfig.from_parameters(profile="book")
    steps = record.folds[0].steps_run
    assert record.provenance["git_commit"] and book.max_steps <= steps < book.max_steps + 10
    assert record.protocol == book.protocol and runs[0].parent.name.endswith(record.identity)
    assert "What the paper fixes" in html and "this study" in html  # the table of choices


@pytest.mark.book
def test_launch_buttons_and_bibliography(built_book):
    html = (built_book / "book" / "02_loss_weights.html").read_text()
    assert "mybinder.org" in html and "colab.research.google.com" in html
    refs = (built_book / "book" / "references.html").read_text()
    assert "sound event detection using duration robust loss function" in refs.lower()


@pytest.mark.book
def test_failing_notebook_is_named_with_its_cell(tmp_path):
    book = tmp_path / "mini"
    (book / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/broken\n"
    )
    (book / "book" / "intro.md").write_text("# Intro\n")
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    for folder in ("_ext", "images"):  # the configuration's local extension and favicon
        shutil.copytree(ROOT / "book" / folder, book / "book" / folder)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Broken"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["x = 1"],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["raise ValueError('bad gamma: -1')"],
        },
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (book / "book" / "broken.ipynb").write_text(json.dumps(nb))
    proc = build(book, tmp_path)
    assert proc.returncode != 0
    assert "FAILED book/broken.ipynb: cell 3 raised ValueError: bad gamma: -1" in proc.stderr


def test_the_training_notebook_takes_every_train_config_field_as_a_parameter():
    """The parameters cell of book/03_training.ipynb names every TrainConfig field, and nothing else
    but the profile and the output folder: a sweep's setting can never be dropped on the way."""
    import ast
    import json

    from sedlib.training import TrainConfig

    cells = json.loads((ROOT / "book" / "03_training.ipynb").read_text())["cells"]
    (cell,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assigned = [
        node.targets[0].id
        for node in ast.parse("".join(cell["source"])).body
        if isinstance(node, ast.Assign)
    ]
    assert sorted(assigned) == sorted([*TrainConfig.field_names(), "profile", "output_dir"])
