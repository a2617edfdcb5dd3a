"""What may enter a claim: the runs and seeds a comparison over seeds can rest on.

A claim of the book (a gap, a verdict, a pattern, the glance) compares runs
seed by seed. It rests only on runs that trained and result sets that say so:

- a run that did not converge (:mod:`sedlib.training.convergence`) never
  enters: its seed is left out of the comparison, and the claim says over how
  many seeds it stands;
- a run whose test output marks (almost) no event, fewer labels than
  :data:`MIN_MARKED` of those of the reference, or whose micro F is undefined,
  makes the comparison invalid: a model that predicts nothing explains nothing;
- a result set aggregated before the convergence criterion is *superseded*,
  and one whose runs span more than one training-code version is *mixed*
  (unless a recorded check says the versions are equivalent), or whose runs
  were trained by both engines with dropout on (different masks): none enters;
- a comparison needs at least :data:`MIN_SEEDS` paired seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from sedlib.study.results import ResultSet

#: The fewest paired seeds a claim rests on.
MIN_SEEDS = 3
#: A run's test output must mark at least this share of the reference's labels (segment, class).
MIN_MARKED = 0.05


class Problem(Enum):
    """Why a comparison leaves runs out or cannot be made (the value: as a table says it)."""

    SUPERSEDED = "superseded"  # aggregated before the convergence criterion
    MIXED_CODE = "mixed code"  # runs of more than one training-code version
    MIXED_ENGINES = "mixed engines"  # runs of the single and the batched engine, with dropout
    NOT_CONVERGED = "not converged"  # some runs did not converge: their seeds left out
    NO_EVENTS = "a model marks no event"  # a run marks (almost) no event: the comparison is invalid
    FEW_SEEDS = "too few seeds"  # fewer than MIN_SEEDS paired seeds remain


#: Problems that make a comparison invalid whatever its seeds.
BLOCKING = frozenset(
    {Problem.SUPERSEDED, Problem.MIXED_CODE, Problem.MIXED_ENGINES, Problem.NO_EVENTS}
)


@dataclass(frozen=True)
class Evidence:
    """The seeds a comparison rests on, and what was wrong with the rest.

    Attributes
    ----------
    seeds : tuple of int
        The paired seeds whose every run compared converged: what a claim rests on.
    common : tuple of int
        Every seed the compared runs have in common.
    problems : frozenset of Problem
        Why seeds were left out, or why the comparison cannot be made.
    """

    seeds: tuple[int, ...]
    common: tuple[int, ...]
    problems: frozenset[Problem]

    @property
    def usable(self) -> bool:
        """Whether a claim may rest on it."""
        return not (self.problems & (BLOCKING | {Problem.FEW_SEEDS}))

    @property
    def shown(self) -> tuple[int, ...]:
        """The seeds a table shows: those a claim rests on, else (marked unusable) all in common."""
        return self.seeds if self.usable else self.common


def set_problems(result: ResultSet) -> set[Problem]:
    """What keeps a whole result set out of claims (superseded, mixed code or engines)."""
    found = {
        Problem.SUPERSEDED: result.superseded,
        Problem.MIXED_CODE: result.mixed_code,
        Problem.MIXED_ENGINES: result.mixed_engines,
    }
    return {problem for problem, holds in found.items() if holds}


def run_marks_events(rows: pd.DataFrame) -> pd.Series:
    """Per run: its micro F is defined and it marks at least :data:`MIN_MARKED` of the reference."""
    marked = rows["marked"] if "marked" in rows else pd.Series(1.0, index=rows.index)
    return rows["micro_f"].notna() & ~(marked < MIN_MARKED)


def paired_seeds(uses: Sequence[tuple[ResultSet, Sequence[str]]]) -> Evidence:
    """The evidence of a comparison of some methods of some result sets, seed by seed.

    Parameters
    ----------
    uses : sequence of (ResultSet, sequence of str)
        Each result set with the method keys the comparison reads from it.

    Returns
    -------
    Evidence
    """
    problems: set[Problem] = set().union(*(set_problems(result) for result, _ in uses))
    runs = [result.table[result.table["method"] == m] for result, methods in uses for m in methods]
    common = set.intersection(*(set(r["seed"].astype(int)) for r in runs)) if runs else set()
    ok = (set(r.loc[r["converged"].astype(bool), "seed"].astype(int)) for r in runs)
    kept = tuple(sorted(common.intersection(*ok)))
    if any(not run_marks_events(r[r["seed"].isin(common)]).all() for r in runs):
        problems.add(Problem.NO_EVENTS)
    if len(kept) < len(common):
        problems.add(Problem.NOT_CONVERGED)
    if len(kept) < MIN_SEEDS:
        problems.add(Problem.FEW_SEEDS)
    return Evidence(kept, tuple(sorted(common)), frozenset(problems))
