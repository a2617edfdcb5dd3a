"""Display names: how the chapters write a method, a result set and a ladder of result sets.

The study layer (:mod:`sedlib.study`) knows methods by their keys
(``duration_robust-g4``) and result sets by their headers; the words and
abbreviations the tables and figures show are made here.
"""

from __future__ import annotations

import pandas as pd

from sedlib.study import paper
from sedlib.study.attribution import channels
from sedlib.study.evidence import Evidence, Problem, set_problems
from sedlib.study.findings import arm_settings
from sedlib.study.results import ResultSet
from sedlib.study.stats import RULE
from sedlib.study.summary import parse_method_key
from sedlib.training.config import DEFAULT_PATIENCE_STEPS

#: The names of the methods without γ that the paper does not name: (readable, short).
_NAMES = {
    "bce": (None, "BCE"),
    "inverse_frequency": (None, "IF"),
    "class_balanced": ("class-balanced BCE (β=0.9999)", "CB"),
    "asymmetric": ("asymmetric loss (γ+=0, γ−=4, clip 0.05)", "ASL"),
}
#: The names of the losses that take γ, as templates: (readable, short).
_GAMMA_NAMES = {
    "duration_robust": ("duration robust (γ={gamma:g})", "DR γ={gamma:g}"),
    "focal": ("α-balanced focal (γ={gamma:g}, α=0.25)", "focal γ={gamma:g}"),
}


def _name(method: str, kind: int) -> str | None:
    """Name ``kind`` (0: readable, 1: short) of a method key; None where there is none."""
    loss, gamma = parse_method_key(method)
    if loss in _GAMMA_NAMES:
        return _GAMMA_NAMES[loss][kind].format(gamma=gamma)
    return _NAMES.get(method, (None, None))[kind]


def method_name(method: str) -> str:
    """Readable name of a method key: the paper's names, then the later baselines."""
    return paper.methods().get(method) or _name(method, 0) or method


def short_name(method: str) -> str:
    """Short label for tables: ``BCE``, ``IF``, ``DR γ=1``, ``focal γ=2``, ``CB``, ``ASL``."""
    return _name(method, 1) or method


def describe_ladder(sets: list[ResultSet]) -> pd.DataFrame:
    """One row per rung (its :func:`rung_label`): minutes of audio, frame imbalance, runs converged, code."""
    rows = [
        {
            "min": round(float(s.header["data"]["audio_minutes"])),
            "imbalance": f"{float(s.header['data']['frame_imbalance']):,.0f}x",
            "runs converged": f"{int(s.table['converged'].sum())} of {len(s.table)}",
            "training code": "not recorded"
            if "not recorded" in s.code_versions
            else f"{len(s.code_versions)} version(s)",
        }
        for s in sets
    ]
    return pd.DataFrame(rows, index=pd.Index([rung_label(s) for s in sets], name="rung"))


#: How a rung made with an attribution setting other than the default is named.
ATTRIBUTION_NAMES = {
    "optimizer": "SGD",
    "output_bias": "zero output bias",
    "class_frames": "per-clip N_m",
    "selection": "last epoch",
}


def rung_label(result: ResultSet) -> str:
    """The book's one name of a rung: data, protocol, width, budget, seeds, departures, marks.

    A budget in steps names its patience when it is not today's
    (:data:`~sedlib.training.config.DEFAULT_PATIENCE_STEPS`), so a set trained
    under another stopping rule is never read as one of today's.

    The attribution study's settings (:func:`sedlib.study.findings.arm_settings`)
    are named when they are not the defaults, so that a rung made with them
    is never read as a rung of the defaults; a superseded or mixed result
    set says so (:mod:`sedlib.study.evidence`).
    """
    settings = result.header["settings"]
    data = result.header["data"]["name"].removesuffix("-seed0")
    steps, epochs = settings.get("max_steps"), settings.get("epochs")
    budget = f"{steps} steps" if steps else f"{epochs} epochs"
    patience = settings.get("patience_steps")
    if steps and patience is not None and patience != DEFAULT_PATIENCE_STEPS:  # another rule
        budget += f" (patience {patience})" if patience else " (no early stopping)"
    parts = [data, result.header["protocol"], f"{channels(result)} ch", budget,
             f"{result.header['seeds']} seeds"]  # fmt: skip
    parts += [ATTRIBUTION_NAMES[key] for key in arm_settings(result)]
    marks = [p.value for p in Problem if p in set_problems(result)]
    return ", ".join(parts) + (f" ({', '.join(marks)})" if marks else "")


def signed(value: float, digits: int = 1) -> str:
    """A difference in points: ``+1.2``, ``−0.3`` (never ``−0.0``).

    >>> signed(1.234), signed(-0.04), signed(-2.0)
    ('+1.2', '+0.0', '−2.0')
    """
    text = f"{value:+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text.replace("-", "−")


def interval(found, digits: int = 1) -> str:
    """The book's one way to write an estimate with its interval: ``+1.2 [−0.3, +2.8]``; ``–`` for none.

    Parameters
    ----------
    found : PairedDifference or None
        Any record with ``mean``, ``ci_low`` and ``ci_high``.

    >>> from sedlib.study.stats import t_interval
    >>> interval(t_interval([1.0, 2.0, 3.0]))
    '+2.0 [−0.5, +4.5]'
    """
    if found is None:
        return "–"
    return f"{signed(found.mean, digits)} [{signed(found.ci_low, digits)}, {signed(found.ci_high, digits)}]"


def seeds_text(evidence: Evidence) -> str:
    """The seeds a row of a table rests on: ``"10"``, ``"9 of 10"``, or why none (``"none: superseded"``).

    A superseded set's runs did not converge by definition, and a claim without converged seeds
    has too few: those follow and are not repeated.

    >>> seeds_text(Evidence((0, 1, 2), (0, 1, 2, 3), frozenset({Problem.NOT_CONVERGED})))
    '3 of 4'
    >>> seeds_text(Evidence((), (0, 1, 2), frozenset({Problem.SUPERSEDED, Problem.NOT_CONVERGED,
    ...     Problem.FEW_SEEDS, Problem.NO_EVENTS})))
    'none: superseded, a model marks no event'
    """
    if evidence.usable:
        kept, common = len(evidence.seeds), len(evidence.common)
        return f"{kept}" if kept == common else f"{kept} of {common}"
    implied = {Problem.FEW_SEEDS} | (
        {Problem.NOT_CONVERGED} if Problem.SUPERSEDED in evidence.problems else set()
    )
    shown = [p for p in Problem if p in evidence.problems - implied] or [Problem.FEW_SEEDS]
    return "none: " + ", ".join(p.value for p in shown)


def p_text(p: float) -> str:
    """A corrected p-value for a table; ``–`` when not tested.

    >>> p_text(0.01234), p_text(float("nan"))
    ('0.012', '–')
    """
    return "–" if p != p else f"{p:.3f}"


def rule_note(items) -> str:
    """The line under every table of differences: the rule, and the seeds its rows rest on (Markdown).

    Parameters
    ----------
    items : list of records with ``evidence`` (gaps, arm findings)
    """
    counts = sorted({len(i.evidence.shown) for i in items}) or [0]
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return (
        f"*Mean difference over paired seeds [95 % {RULE}], n = {n} seeds; p-values corrected by "
        "Holm's method over the table. A result set aggregated before the convergence criterion is "
        "marked superseded; runs that did not converge enter no claim.*"
    )
