"""Why the numbers depart from the paper: the effect of each cause, and a verdict from the numbers.

Each candidate cause is one setting changed alone (an *arm*) against the
baseline grid (today's defaults), on one rung (data set, protocol, model).
The paper's finding has two gaps to BCE, in macro F:

- the inverse frequency loss (IF) falls far below BCE (−6.29 points);
- the duration robust loss with γ=4 (DR) rises above it (+3.15 points).

On this study's rungs IF rises above BCE. An arm *explains* a gap's
departure when it moves the gap towards the paper's by more than its
uncertainty (and ends closer to it) and brings it from the wrong side of
zero to the paper's side; it *partly explains* it when it moves the gap
towards the paper beyond its uncertainty otherwise (the sign stays, or was
already the paper's); it *does not explain* it otherwise. The uncertainty is the bootstrap interval
of the change of the gap over paired seeds: seed s of the arm against seed
s of the baseline, which share data, hold-out and initial weights (see
:func:`sedlib.study.stats.paired_difference`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from sedlib.study import paper
from sedlib.study.stats import PairedDifference, by_seed, paired_difference

#: The methods of the attribution study and the gaps it follows (challenger, baseline).
BASELINE_METHOD = "bce"
CHALLENGERS = ("inverse_frequency", "duration_robust-g4")

VERDICTS = ("explains", "partly explains", "does not explain")


def paper_gap(challenger: str, metric: str = "macro_f") -> float:
    """The paper's challenger − BCE in Table 4 (points of F)."""
    table = paper.table4()
    column = {"macro_f": "macro_f_percent", "micro_f": "micro_f_percent"}[metric]
    return float(table.loc[challenger, column] - table.loc[BASELINE_METHOD, column])


def gap_by_seed(table: pd.DataFrame, challenger: str, metric: str) -> pd.Series:
    """Challenger − BCE per seed (in points, ×100), from a per-run table."""
    gap = by_seed(table, challenger, metric) - by_seed(table, BASELINE_METHOD, metric)
    return (gap * 100).dropna()


@dataclass
class GapChange:
    """How an arm changes one gap (challenger − BCE), against the baseline.

    Attributes
    ----------
    challenger : str
        Method key.
    baseline_gap, arm_gap : float
        Mean gap over seeds in the baseline and in the arm (points).
    change : PairedDifference
        Arm gap − baseline gap over paired seeds (points).
    paper : float
        The paper's gap.
    verdict : str
        One of :data:`VERDICTS`.
    """

    challenger: str
    baseline_gap: float
    arm_gap: float
    change: PairedDifference
    paper: float
    verdict: str


def gap_verdict(baseline_gap: float, arm_gap: float, change: PairedDifference, paper: float) -> str:
    """The verdict of the module docstring for one gap.

    Examples
    --------
    >>> from sedlib.study.stats import PairedDifference
    >>> moved = PairedDifference(-9.0, -12.0, -6.0, 0.25, 3, 0)
    >>> gap_verdict(6.0, -3.0, moved, -6.29), gap_verdict(6.0, 2.0, moved, -6.29)
    ('explains', 'partly explains')
    """
    towards = paper - baseline_gap
    beyond = change.ci_high < 0 if towards < 0 else change.ci_low > 0
    closer = abs(arm_gap - paper) < abs(baseline_gap - paper)
    if not (beyond and closer):
        return "does not explain"
    flipped = (baseline_gap > 0) != (paper > 0) and (arm_gap > 0) == (paper > 0)
    return "explains" if flipped else "partly explains"


def gap_change(
    base: pd.DataFrame, arm: pd.DataFrame, challenger: str, metric: str = "macro_f"
) -> GapChange:
    """The change an arm makes to challenger − BCE, with its verdict.

    Parameters
    ----------
    base, arm : pandas.DataFrame
        Per-run tables (``method``, ``seed`` and the metric; fractions) of
        the baseline grid and of the arm's grid, on one rung.
    challenger : str
        ``inverse_frequency`` or ``duration_robust-g4``.
    metric : {"macro_f", "micro_f"}
        The F-score compared.
    """
    base_gap, arm_gap = gap_by_seed(base, challenger, metric), gap_by_seed(arm, challenger, metric)
    change = paired_difference(base_gap, arm_gap)
    reference = paper_gap(challenger, metric)
    return GapChange(
        challenger,
        float(base_gap.mean()),
        float(arm_gap.mean()),
        change,
        reference,
        gap_verdict(float(base_gap.mean()), float(arm_gap.mean()), change, reference),
    )


def method_effects(base: pd.DataFrame, arm: pd.DataFrame, metric: str = "macro_f") -> pd.DataFrame:
    """Per method: the arm's mean, and arm − baseline over paired seeds (points)."""
    rows = []
    for method in (BASELINE_METHOD, *CHALLENGERS):
        a, b = by_seed(base, method, metric) * 100, by_seed(arm, method, metric) * 100
        effect = paired_difference(a, b)
        rows.append(
            {
                "method": method,
                "metric": metric,
                "baseline": float(a.mean()),
                "arm": float(b.mean()),
                "effect": effect.mean,
                "ci_low": effect.ci_low,
                "ci_high": effect.ci_high,
                "seeds": effect.n,
            }
        )
    return pd.DataFrame(rows)


def attribution_table(
    base: pd.DataFrame, arms: dict[str, pd.DataFrame], metric: str = "macro_f"
) -> pd.DataFrame:
    """One row per arm and gap: the gaps, their paired change with its interval, and the verdict.

    Parameters
    ----------
    base : pandas.DataFrame
        Per-run table of the baseline grid.
    arms : dict
        Arm name -> per-run table of that arm's grid (same rung).
    metric : {"macro_f", "micro_f"}
        The F-score compared.
    """
    rows = []
    for name, arm in arms.items():
        for challenger in CHALLENGERS:
            found = gap_change(base, arm, challenger, metric)
            rows.append(
                {
                    "arm": name,
                    "challenger": challenger,
                    "gap": f"{challenger} − {BASELINE_METHOD}",
                    "baseline_gap": found.baseline_gap,
                    "arm_gap": found.arm_gap,
                    "change": found.change.mean,
                    "ci_low": found.change.ci_low,
                    "ci_high": found.change.ci_high,
                    "seeds": found.change.n,
                    "paper_gap": found.paper,
                    "verdict": found.verdict,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- the audio's difficulty
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


def pattern_gaps(table: pd.DataFrame, metric: str = "macro_f") -> dict[str, PairedDifference]:
    """IF − BCE and DR γ=4 − BCE over paired seeds (points), each with its bootstrap 95% interval.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-run table (``method``, ``seed``, the metric as a fraction).
    metric : {"macro_f", "micro_f"}
        The F-score compared.

    Returns
    -------
    dict
        Challenger key -> :class:`~sedlib.study.stats.PairedDifference` of its gap to BCE.
    """
    found = {}
    for challenger in CHALLENGERS:
        gap = gap_by_seed(table, challenger, metric)
        found[challenger] = paired_difference(pd.Series(0.0, index=gap.index), gap)
    return found


def on_papers_side(challenger: str, gap: PairedDifference, metric: str = "macro_f") -> bool:
    """Whether a gap to BCE lies on the paper's side of 0 beyond its interval."""
    return bool(gap.ci_low > 0 if paper_gap(challenger, metric) > 0 else gap.ci_high < 0)


def pattern_holds(table: pd.DataFrame, metric: str = "macro_f") -> dict[str, bool]:
    """Whether a result set shows the paper's pattern, gap by gap, beyond the paired interval.

    The paper's pattern: IF falls below BCE (its 95% interval of IF − BCE
    over seeds lies below 0) and DR γ=4 rises above it (the interval of
    DR − BCE lies above 0). Takes the arguments of :func:`pattern_gaps`;
    returns, per challenger key, whether its gap is on the paper's side
    beyond its interval.
    """
    return {c: on_papers_side(c, gap, metric) for c, gap in pattern_gaps(table, metric).items()}
