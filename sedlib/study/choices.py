"""Values a study stage chose, read from the result sets that chose them, with their provenance.

- SGD's learning rate (:func:`sgd_learning_rate`): the ``sgd-lr`` grid's BCE
  runs at several rates; the best validation macro F (the held-out
  development files; the test score is never used) is chosen. The
  ``cause-sgd`` grid runs at it.
- The audio's difficulty (:func:`calibrated_offset`): the ``calibration``
  grid's BCE runs at several event-to-background offsets; the offset whose
  BCE lands nearest the paper's, in units of :data:`CALIBRATION_WINDOW`
  (the larger of its distances in macro and micro F), is chosen; it lies
  *within* the windows when that distance is at most 1.

A choice names the result sets it rests on, and whether their runs
converged (:mod:`sedlib.training.convergence`): one chosen on runs that did
not is a choice, not a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sedlib.errors import ConfigError
from sedlib.study import paper
from sedlib.study.results import ResultSet, load_ladder

#: How close BCE must land to the paper's BCE for a difficulty to count as calibrated (points).
CALIBRATION_WINDOW = {"micro_f": 5.0, "macro_f": 4.0}


@dataclass(frozen=True)
class Candidate:
    """One value a stage tried.

    Attributes
    ----------
    value : float
        The learning rate, or the offset (dB).
    result : ResultSet
        The result set of its runs.
    score : float
        What the choice ranks: validation macro F (%) for a learning rate
        (higher is better), distance to the paper in windows for an offset
        (lower is better).
    chosen : bool
    """

    value: float
    result: ResultSet
    score: float
    chosen: bool = False


@dataclass(frozen=True)
class Choice:
    """A value chosen by a stage, with every candidate it was chosen among."""

    value: float
    candidates: tuple[Candidate, ...]

    @property
    def sources(self) -> list[str]:
        """The result sets it rests on, as ``<grid>/<slug>``."""
        return [f"{c.result.grid}/{c.result.slug}" for c in self.candidates]

    @property
    def converged(self) -> bool:
        """Whether every run it was chosen on converged."""
        return all(bool(c.result.table["converged"].all()) for c in self.candidates)

    @property
    def seeds(self) -> int:
        """The fewest seeds behind a candidate."""
        return min(int(c.result.table["seed"].nunique()) for c in self.candidates)

    @property
    def chosen(self) -> Candidate:
        """The chosen candidate."""
        return next(c for c in self.candidates if c.chosen)


def _choose(candidates: list[Candidate], best) -> Choice | None:
    if not candidates:
        return None
    winner = best(candidates, key=lambda c: c.score)
    marked = tuple(Candidate(c.value, c.result, c.score, c is winner) for c in candidates)
    return Choice(winner.value, marked)


def sgd_learning_rate(root: Path | None = None) -> Choice | None:
    """SGD's learning rate: the best validation macro F among the ``sgd-lr`` sets; None before any."""
    candidates = [
        Candidate(float(s.header["settings"]["lr"]), s, float(s.table["val_macro_f"].mean() * 100))
        for s in load_ladder("sgd-lr", root)
    ]
    return _choose(sorted(candidates, key=lambda c: c.value), max)


_DIFFICULTY = re.compile(r"-ebr(-?\d+(?:\.\d+)?)")


def split_difficulty(data_name: str) -> tuple[str, float]:
    """A synthetic data set's name without its difficulty, and the difficulty (dB; 0 when none).

    Examples
    --------
    >>> split_difficulty("synthetic-tut-timeline-ebr-20-seed0")
    ('synthetic-tut-timeline-seed0', -20.0)
    >>> split_difficulty("synthetic-small-seed0")
    ('synthetic-small-seed0', 0.0)
    """
    match = _DIFFICULTY.search(data_name)
    if match is None:
        return data_name, 0.0
    return data_name[: match.start()] + data_name[match.end() :], float(match.group(1))


def calibration_distance(result: ResultSet) -> float:
    """How far BCE's mean macro and micro F lie from the paper's, in units of their windows (the larger)."""
    printed = paper.table4().loc["bce"]
    return max(
        abs(result.table[metric].mean() * 100 - printed[f"{metric}_percent"]) / window
        for metric, window in CALIBRATION_WINDOW.items()
    )


def calibrated_offset(root: Path | None = None) -> Choice | None:
    """The offset whose BCE lands nearest the paper's among the ``calibration`` sets; None before any."""
    candidates = [
        Candidate(split_difficulty(s.header["data"]["name"])[1], s, calibration_distance(s))
        for s in load_ladder("calibration", root)
    ]
    return _choose(sorted(candidates, key=lambda c: -c.value), min)


def chosen_value(grid: str, setting: str, root: Path | None = None) -> float:
    """The value of ``setting`` chosen by the ``grid`` stage (``sgd-lr``'s ``lr``), for a grid that runs at it.

    Raises
    ------
    ConfigError
        When that stage has no result set yet, naming it.
    """
    choose = {("sgd-lr", "lr"): sgd_learning_rate}[(grid, setting)]
    found = choose(root)
    if found is None:
        raise ConfigError(
            f"the {setting} of this grid is chosen by the {grid!r} grid, which has no result set "
            "yet: run that stage first (tools/attribution.sh screen)"
        )
    return found.value
