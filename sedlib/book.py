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
  :mod:`~sedlib.report.attribution`, :mod:`~sedlib.report.glance`,
  :mod:`~sedlib.report.difficulty`, and the one way to name a rung
  (:func:`rung_label`) and to write an interval (:func:`interval`).
"""

from __future__ import annotations

from IPython.display import Markdown
from myst_nb import glue as myst_glue

from sedlib.cli import how_to_make
from sedlib.report import attribution, difficulty, figures, glance, tables
from sedlib.report.names import describe_ladder, interval, rule_note, rung_label, short_name, signed
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

__all__ = [
    "BASELINE_METHODS",
    "CALIBRATION_WINDOW",
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
    "conclusion_rung",
    "departures",
    "describe_ladder",
    "difficulty",
    "e2_weight_range",
    "figures",
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
    "unmeasured",
    "with_method",
    "with_partner",
]  # fmt: skip


def glue(name: str, value) -> None:
    """Make ``value`` (words, or a number already formatted) the text of ``{glue:md}`name``` in the
    chapter's Markdown (myst-nb's glue: works in the built book, in JupyterLab and under papermill)."""
    myst_glue(name, Markdown(str(value)), display=False)


def missing(*grids: str) -> str:
    """The book's one message for result sets not made yet, with the commands that make them."""
    return tables.no_results(*how_to_make(*grids))
