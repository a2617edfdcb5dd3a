"""Shared fixtures and helpers for the sedlib tests."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

LABELS = [f"class_{i:02d}" for i in range(8)]
ROOT = Path(__file__).resolve().parents[1]
#: The repository's training notebook: the ``--notebook`` of the papermill executor.
TRAINING_NOTEBOOK = ROOT / "book" / "03_training.ipynb"


def build(root: Path, out: Path) -> subprocess.CompletedProcess:
    """Build a Jupyter Book with the project's build script (warnings are errors).

    No time limit: a busy machine builds slower, and the build stops a hung
    kernel or training by itself (``execute.timeout`` limits idleness).
    """
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_book.py"),
            "--root",
            str(root),
            "--path-output",
            str(out),
        ],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The whole book, built once per test session; its HTML folder.

    ``SEDLIB_BOOK_HTML`` names an HTML folder already built from this checkout
    (``.ci/run`` sets it to the ``_build/html`` of its ``make book``) and
    skips the second build.
    """
    given = os.environ.get("SEDLIB_BOOK_HTML")
    if given:
        html = Path(given)
        assert (html / "index.html").is_file(), f"SEDLIB_BOOK_HTML={given}: no built book there"
        return html
    out = tmp_path_factory.mktemp("book")
    proc = build(ROOT, out)
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the tests of one module (see ``chromium.start_chromium``)."""
    from chromium import start_chromium

    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served on 127.0.0.1: its base URL."""
    from http_fixture import FileServer

    with FileServer(built_book) as server:
        yield server.url


def book_pages() -> list[str]:
    """Every page of the book in the order of ``_toc.yml`` (paths without suffix)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="session")
def tut_meta() -> Path:
    """The real TUT event metadata, from the SEDLIB_TUT_META setting (skipped when absent)."""
    path = os.environ.get("SEDLIB_TUT_META")
    if not path or not (Path(path) / "meta" / "meta_development.txt").is_file():
        pytest.skip("the real TUT metadata is not available (set SEDLIB_TUT_META)")
    return Path(path)


def random_event_lists(
    seed: int, n_files: int = 6, labels: list[str] = LABELS
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Reference and estimated events with the awkward cases the metrics must get right.

    Overlapping same-class events, events touching the file start and end,
    zero-length events, a class never in the reference, a class never
    estimated, a file with no reference events, non-integer durations.
    """
    rng = np.random.default_rng(seed)
    durations = {
        f"file_{i}.wav": float(np.round(rng.uniform(3.0, 40.0), 3)) for i in range(n_files)
    }
    never_ref, never_est = labels[-1], labels[-2]

    def draw(kind: str) -> pd.DataFrame:
        rows = []
        for k, (name, dur) in enumerate(durations.items()):
            if kind == "ref" and k == 0:
                continue  # a file with no reference events at all
            pool = [lbl for lbl in labels if lbl != (never_ref if kind == "ref" else never_est)]
            for _ in range(rng.integers(1, 12)):
                label = str(rng.choice(pool))
                onset = float(rng.uniform(0, dur))
                offset = min(dur, onset + float(rng.exponential(2.0)))
                rows.append((name, onset, offset, label))
            # touch the start and the end of the file
            rows.append((name, 0.0, float(rng.uniform(0, dur)), str(rng.choice(pool))))
            rows.append((name, float(rng.uniform(0, dur)), dur, str(rng.choice(pool))))
            # same-class overlap and an instantaneous event
            label = str(rng.choice(pool))
            rows.append((name, 1.0, min(dur, 2.5), label))
            rows.append((name, 2.0, min(dur, 3.2), label))
            rows.append((name, dur / 2, dur / 2, str(rng.choice(pool))))
        return pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])

    return draw("ref"), draw("est"), durations


def sed_eval_segment_metrics(
    reference: pd.DataFrame,
    estimated: pd.DataFrame,
    labels: list[str],
    time_resolution: float,
    durations: dict[str, float] | None,
):
    """Evaluate with sed_eval, file by file, the reference implementation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sed_eval

    metrics = sed_eval.sound_event.SegmentBasedMetrics(
        event_label_list=list(labels), time_resolution=time_resolution
    )
    files = (
        sorted(durations)
        if durations
        else sorted(set(reference.filename) | set(estimated.filename))
    )
    for name in files:
        ref = reference[reference.filename == name].to_dict("records")
        est = estimated[estimated.filename == name].to_dict("records")
        metrics.evaluate(ref, est, evaluated_length_seconds=durations[name] if durations else None)
    return metrics


#: The tiny data set of the hostile-input tests: 8 files of 30 s, every class at least once.
TINY_PRESET = (2.0, 0.5, 30.0, (1, 1))
TINY_SEED = 2


@pytest.fixture(scope="module")
def module_data_root(tmp_path_factory):
    """One data root (feature cache, runs) for a module, also seen by child processes.

    Modules use it with ``pytestmark = pytest.mark.usefixtures("module_data_root")``.
    """
    root = tmp_path_factory.mktemp("data-root")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEDLIB_DATA_ROOT", str(root))
        yield root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """8 files, 4 folds; never modified (tests change copies of it)."""
    from sedlib.data.synthetic import generate
    from sedlib.data.synthetic.generate import Preset

    folder = tmp_path_factory.mktemp("tiny") / "tiny"
    return generate(folder, Preset(*TINY_PRESET), seed=TINY_SEED, jobs=1, progress=False)


def mini_book(folder: Path, chapters: dict[str, dict | None], timeout: int | None = None) -> Path:
    """A book of the repository's configuration with only ``chapters``; its root.

    ``chapters`` maps a name under ``book/`` to a notebook (a dict), or to
    None for the repository's own chapter of that name. ``timeout`` replaces
    ``execute.timeout`` of ``_config.yml``.
    """
    import json
    import re
    import shutil

    (folder / "book").mkdir(parents=True)
    config_text = (ROOT / "_config.yml").read_text()
    if timeout is not None:
        config_text, n = re.subn(r"(?m)^(\s+timeout:)\s*\d+", rf"\g<1> {timeout}", config_text)
        assert n == 1, "_config.yml has no execute.timeout to replace"
    (folder / "_config.yml").write_text(config_text)
    entries = "".join(f"  - file: book/{name}\n" for name in chapters)
    (folder / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{entries}")
    (folder / "book" / "intro.md").write_text("# Intro\n")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    for name in ("_ext", "images", "_static"):  # the configuration's extensions, favicon, CSS
        shutil.copytree(ROOT / "book" / name, folder / "book" / name)
    for name, notebook in chapters.items():
        target = folder / "book" / f"{name}.ipynb"
        if notebook is None:
            shutil.copy(ROOT / "book" / f"{name}.ipynb", target)
        else:
            target.write_text(json.dumps(notebook))
    return folder
