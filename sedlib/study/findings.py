"""The book's findings about the paper's gaps, as records: a gap to BCE on a rung, the pattern, the departure.

A *gap* is a challenger's macro (or micro) F minus BCE's, seed by seed on one
result set, with :data:`~sedlib.study.stats.RULE`'s interval and test. A table
of gaps is one family of tests: :func:`corrected` applies Holm's correction
to it, and a gap is *significant* when its corrected p-value is below
:data:`~sedlib.study.stats.ALPHA`. Only gaps whose evidence is usable
(:mod:`sedlib.study.evidence`) are tested; the others keep their numbers for
the tables and answer nothing.

The paper's finding has two gaps in macro F: the inverse frequency loss (IF)
falls 6.29 points below BCE, the duration robust loss with γ=4 rises 3.15
above it (Table 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import TypeVar

import numpy as np
import pandas as pd

from sedlib.study import paper
from sedlib.study.evidence import Evidence, paired_seeds
from sedlib.study.results import ResultSet
from sedlib.study.stats import ALPHA, PairedDifference, by_seed, holm, t_interval
from sedlib.training.config import TrainConfig

BASELINE_METHOD = "bce"
#: The differences to BCE the glance and the ladder show, in the order drawn.
LADDER_CHALLENGERS = ("duration_robust-g4", "duration_robust-g1", "inverse_frequency")
#: The two gaps the paper's finding rests on (its pattern), and the attribution study follows.
CHALLENGERS = ("inverse_frequency", "duration_robust-g4")
#: The settings the attribution study's arms change (chapter "Why the numbers differ").
ARM_SETTINGS = ("optimizer", "output_bias", "class_frames", "selection")


class Answer(Enum):
    """The answer the data give to a yes-or-no question of the book."""

    YES = "yes"
    NO = "no"
    OPEN = "not established"


def paper_gap(challenger: str, metric: str = "macro_f") -> float:
    """The paper's challenger − BCE in Table 4 (points of F); NaN for a method or metric it lacks.

    >>> round(paper_gap("inverse_frequency"), 2), round(paper_gap("duration_robust-g4"), 2)
    (-6.29, 3.15)
    """
    table = paper.table4()
    column = f"{metric}_percent"
    if challenger not in table.index or column not in table:
        return math.nan
    return float(table.loc[challenger, column] - table.loc[BASELINE_METHOD, column])


def gap_by_seed(table: pd.DataFrame, challenger: str, metric: str, seeds=None) -> pd.Series:
    """Challenger − BCE per seed in points (×100), from a per-run table; only ``seeds`` when given."""
    gap = (by_seed(table, challenger, metric) - by_seed(table, BASELINE_METHOD, metric)) * 100
    gap = gap.dropna()
    return gap if seeds is None else gap[gap.index.isin(seeds)]


def difference_over(values: pd.Series, null: float = 0.0) -> PairedDifference | None:
    """The rule's interval of per-seed values, None for fewer than 2 seeds."""
    return t_interval(values.to_numpy(), null=null) if len(values) >= 2 else None


class Tested:
    """A comparison over seeds that may enter its table's family of tests (see :func:`corrected`)."""

    difference: PairedDifference | None
    evidence: Evidence
    p_holm: float

    @property
    def tested(self) -> bool:
        """Whether it entered its table's family of tests (usable evidence)."""
        return self.evidence.usable and self.difference is not None

    @property
    def significant(self) -> bool:
        """The corrected test rejects ``difference.null``."""
        return self.tested and self.p_holm < ALPHA


@dataclass(frozen=True)
class Gap(Tested):
    """A challenger's gap to BCE on one result set.

    Attributes
    ----------
    result : ResultSet
        The rung.
    challenger, metric : str
        Method key, and ``macro_f`` or ``micro_f``.
    difference : PairedDifference or None
        Over the seeds the evidence shows (points); tested against ``null``.
        None when fewer than 2 seeds are shown.
    paper : float
        The paper's gap.
    evidence : Evidence
        The seeds it rests on, and what was left out.
    p_holm : float
        The test's p-value corrected over its table (NaN: not tested).
    """

    result: ResultSet
    challenger: str
    metric: str
    difference: PairedDifference | None
    paper: float
    evidence: Evidence
    p_holm: float = math.nan

    @property
    def side(self) -> int:
        """+1 above 0, −1 below 0 (beyond the corrected test of 0), 0 when not established."""
        if not self.significant or self.difference.null != 0:
            return 0
        return int(np.sign(self.difference.mean))

    @property
    def agrees(self) -> Answer:
        """Whether the gap lies on the paper's side of 0 (beyond the corrected test)."""
        if self.side == 0:
            return Answer.OPEN
        return Answer.YES if self.side == np.sign(self.paper) else Answer.NO

    @property
    def departs(self) -> Answer:
        """Tested against the paper's value (:func:`departures`): YES when the corrected test rejects it."""
        return Answer.YES if self.significant else Answer.OPEN


Family = TypeVar("Family", bound=Tested)


def corrected(family: list[Family]) -> list[Family]:
    """The same records with ``p_holm`` set by Holm's correction over those that are tested."""
    p = [item.difference.p if item.tested else math.nan for item in family]
    return [replace(item, p_holm=float(q)) for item, q in zip(family, holm(p), strict=True)]


def gap(result: ResultSet, challenger: str, metric: str = "macro_f", null: float = 0.0) -> Gap:
    """One gap on one result set, not yet corrected (see :func:`corrected`)."""
    evidence = paired_seeds([(result, (BASELINE_METHOD, challenger))])
    values = gap_by_seed(result.table, challenger, metric, evidence.shown)
    return Gap(
        result,
        challenger,
        metric,
        difference_over(values, null),
        paper_gap(challenger, metric),
        evidence,
    )


def has_methods(result: ResultSet, methods) -> bool:
    """Whether a result set ran every method of ``methods``."""
    return set(methods) <= set(result.table["method"])


def ladder_gaps(
    sets: list[ResultSet],
    challengers=LADDER_CHALLENGERS,
    metric: str = "macro_f",
    against_paper: bool = False,
) -> list[Gap]:
    """Every challenger's gap to BCE on every rung that ran both, corrected as one table.

    Parameters
    ----------
    sets : list of ResultSet
        The rungs, in ladder order (:func:`~sedlib.study.results.load_ladder`).
    challengers : sequence of str
        Method keys compared with BCE (those a rung lacks are skipped).
    metric : str
        ``macro_f`` or ``micro_f``.
    against_paper : bool
        Test each gap against the paper's value instead of 0 (:func:`departures`).
    """
    found = [
        gap(result, challenger, metric, paper_gap(challenger, metric) if against_paper else 0.0)
        for result in sets
        for challenger in challengers
        if has_methods(result, (BASELINE_METHOD, challenger))
    ]
    return corrected(found)


@dataclass(frozen=True)
class Pattern:
    """Whether one rung shows the paper's pattern: IF below BCE and DR γ=4 above it."""

    result: ResultSet
    gaps: tuple[Gap, ...]

    @property
    def holds(self) -> Answer:
        """YES when every gap lies on the paper's side, NO when one lies on the other, else OPEN."""
        answers = {g.agrees for g in self.gaps}
        if Answer.NO in answers:
            return Answer.NO
        return Answer.YES if answers == {Answer.YES} else Answer.OPEN


def patterns(sets: list[ResultSet], metric: str = "macro_f") -> list[Pattern]:
    """The pattern on each result set that ran the paper's methods, its gaps corrected as one table."""
    sets = [s for s in sets if has_methods(s, (BASELINE_METHOD, *CHALLENGERS))]
    gaps = ladder_gaps(sets, CHALLENGERS, metric)
    return [Pattern(s, tuple(g for g in gaps if g.result is s)) for s in sets]


def departures(sets: list[ResultSet], metric: str = "macro_f") -> list[Gap]:
    """Each rung's gaps tested against the paper's value: significant means it departs from it.

    One table: the tests are corrected together.
    """
    return ladder_gaps(sets, CHALLENGERS, metric, against_paper=True)


def arm_settings(result: ResultSet) -> dict:
    """The attribution settings (:data:`ARM_SETTINGS`) in which a result set departs from the defaults."""
    defaults = TrainConfig()
    return {
        key: result.setting(key)
        for key in ARM_SETTINGS
        if result.setting(key) is not None and result.setting(key) != getattr(defaults, key)
    }


def conclusion_rung(gaps: list[Gap]) -> ResultSet | None:
    """The rung a conclusion rests on: among the rungs with tested gaps, the closest to the paper
    (:attr:`~sedlib.study.results.ResultSet.fidelity`), made with the default settings if one is."""
    tested = {id(g.result): g.result for g in gaps if g.tested}.values()
    ranked = sorted(tested, key=lambda s: (not arm_settings(s), s.fidelity))
    return ranked[-1] if ranked else None
