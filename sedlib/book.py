"""What the book's chapters use: the one surface they import (``from sedlib import book``).

The chapters hold the narrative; they read result sets, ask the study for
its findings (records of numbers, enums and booleans), lay them out with the
report's tables and figures, and write their sentences in Markdown, where
:func:`glue` puts the numbers and the words the data select.

- Results: :func:`load_ladder`, :func:`joined`, :func:`sweep_sources`, :func:`missing`.
- Findings: :func:`ladder_gaps`, :func:`patterns`, :func:`departures`,
  :func:`cause_findings`, :func:`cause_rungs`, :func:`unmeasured`,
  :func:`paper_like`, :func:`paper_like_sets`, :func:`sgd_learning_rate`,
  :func:`calibrated_offset`, :func:`e2_weight_range`, with the answers they
  give (:class:`Answer`, :class:`Verdict`) and the rule's constants.
- Layout: the modules :mod:`~sedlib.report.figures`, :mod:`~sedlib.report.tables`,
  :mod:`~sedlib.report.widgets` (the γ slider), :mod:`~sedlib.report.attribution`,
  :mod:`~sedlib.report.glance`, :mod:`~sedlib.report.difficulty`, and the one way to
  name a rung (:func:`rung_label`) and to write an interval (:func:`interval`).
- Data and runs as the chapters see them: :func:`get_dataset` (a data set by
  name) and :func:`tut_meta_dir` (where the real TUT metadata is, if anywhere),
  for the chapters that describe the data; :func:`chapter_run` (the run of the
  training chapter's parameters) and :func:`features_of` (a split's features as
  the training read them, for its example clip); :data:`CLIP_FRAMES` (the frames
  of a 10 s clip, which bound E2's per-clip weights).

Chapters 01 to 03 show the science at work, so they also call its public
API directly: :mod:`sedlib.losses`, :mod:`sedlib.loss_shares`, :mod:`sedlib.data`
(``class_stats``, ``read_meta``, ``TUT_LABELS``), :func:`sedlib.training.train`
and :class:`sedlib.evaluation.Predictions`. ``tests/test_book.py`` checks that
no chapter imports anything else of sedlib.
"""

from __future__ import annotations

from IPython.display import Markdown

from sedlib.cli import how_to_make
from sedlib.data.registry import get_dataset
from sedlib.report import attribution, difficulty, figures, glance, tables, widgets
from sedlib.report.names import describe_ladder, interval, rule_note, rung_label, short_name, signed
from sedlib.report.training import chapter_run
from sedlib.settings import tut_meta_dir
from sedlib.study import paper
from sedlib.study.attribution import (
    EXPLAINS_SHARE,
    PARTLY_SHARE,
    Verdict,
    cause_findings,
    cause_rungs,
    e2_weight_range,
    paper_like,
    paper_like_sets,
    unmeasured,
)
from sedlib.study.choices import CALIBRATION_WINDOW, calibrated_offset, sgd_learning_rate
from sedlib.study.evidence import MIN_MARKED, MIN_SEEDS, Problem
from sedlib.study.findings import (
    Answer,
    conclusion_rung,
    departures,
    ladder_gaps,
    paper_gap,
    patterns,
)
from sedlib.study.results import joined, load_ladder, sweep_sources, with_partner
from sedlib.study.summary import BASELINE_METHODS, PAPER_METHODS, method_key, with_method
from sedlib.training.split import CLIP_FRAMES, features_of

__all__ = [
    "BASELINE_METHODS",
    "CALIBRATION_WINDOW",
    "CLIP_FRAMES",
    "EXPLAINS_SHARE",
    "MIN_MARKED",
    "MIN_SEEDS",
    "PAPER_METHODS",
    "PARTLY_SHARE",
    "Answer",
    "Problem",
    "Verdict",
    "attribution",
    "calibrated_offset",
    "cause_findings",
    "cause_rungs",
    "chapter_run",
    "conclusion_rung",
    "departures",
    "describe_ladder",
    "difficulty",
    "e2_weight_range",
    "features_of",
    "figures",
    "get_dataset",
    "glance",
    "glue",
    "interval",
    "joined",
    "ladder_gaps",
    "load_ladder",
    "method_key",
    "missing",
    "paper",
    "paper_gap",
    "paper_like",
    "paper_like_sets",
    "patterns",
    "rule_note",
    "rung_label",
    "sgd_learning_rate",
    "short_name",
    "signed",
    "sweep_sources",
    "tables",
    "tut_meta_dir",
    "unmeasured",
    "widgets",
    "with_method",
    "with_partner",
]  # fmt: skip


def glue(name: str, value) -> None:
    """Make ``value`` (words, or a number already formatted) the text of ``{glue:md}`name``` in the
    chapter's Markdown (myst-nb's glue: works in the built book, in JupyterLab and under papermill)."""
    # myst-nb (the book's extras) only where a chapter glues: chapters 01-03 use this module
    # without it too, e.g. in Colab, which installs sedlib alone
    from myst_nb import glue as myst_glue

    myst_glue(name, Markdown(str(value)), display=False)


def missing(*grids: str) -> str:
    """The book's one message for result sets not made yet, with the commands that make them."""
    return tables.no_results(*how_to_make(*grids))
