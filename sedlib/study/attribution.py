"""Why the numbers depart from the paper: each cause's arm against its baseline, and a verdict from the numbers.

Each candidate cause is one setting changed alone (an *arm*) against the
baseline grid (today's defaults), on one *rung* (data set, protocol,
model). Cause 5 compares the baseline on harder data with the baseline on
the data as generated; cause 6 the baseline at the paper's full width with
the baseline at a narrower one. For each gap the paper's finding rests on
(IF − BCE and DR γ=4 − BCE), the arm's *change* of the gap is arm gap −
baseline gap over paired seeds (seed s of the arm against seed s of the
baseline: they share data, hold-out and initial weights), with
:data:`~sedlib.study.stats.RULE`'s interval and test.

The verdict rule (:func:`verdict_of`). Let d be the distance from the
baseline's gap to the paper's and *share* the change over d (1: the arm
brings the gap to the paper's value; above 1 it overshoots):

- *explains*: the change is significant after Holm's correction over the
  chapter's table of verdicts, towards the paper, and its share lies within
  :data:`EXPLAINS_SHARE` of 1 (the arm's gap lands within half the distance
  of the paper's: it moves at least half-way and overshoots by less);
- *partly explains*: the same with a share within 1 − :data:`PARTLY_SHARE`
  of 1 (at least a quarter of the way);
- *does not explain*: the whole interval of the share lies below
  :data:`PARTLY_SHARE`, or beyond 2 − :data:`PARTLY_SHARE` (the data rule
  out even a partial explanation);
- *not established*: anything else (the interval is too wide to say);
- *no verdict*: the comparison cannot be made (:mod:`sedlib.study.evidence`:
  runs that did not converge, a model that marks no event, superseded or
  mixed result sets, fewer than 3 seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import pandas as pd

from sedlib.losses import DEFAULT_C, inverse_frequency_weights
from sedlib.study.choices import split_difficulty
from sedlib.study.evidence import Evidence, paired_seeds
from sedlib.study.findings import (
    ARM_SETTINGS,
    BASELINE_METHOD,
    CHALLENGERS,
    Tested,
    arm_settings,
    corrected,
    difference_over,
    gap_by_seed,
    paper_gap,
)
from sedlib.study.grids import CAUSE_GRIDS, Cause, Grid
from sedlib.study.results import ResultSet, load_ladder
from sedlib.study.stats import PairedDifference, by_seed, paired_difference

#: The share of the distance to the paper an arm must cover (and not overshoot by more than 1 − it)
#: to explain a gap, or to partly explain it.
EXPLAINS_SHARE, PARTLY_SHARE = 0.5, 0.25
BASELINE_GRID = CAUSE_GRIDS[0].name
ARM_GRIDS: tuple[Grid, ...] = tuple(g for g in CAUSE_GRIDS if g.cause)
#: Settings that follow from an arm's own (SGD's momentum exists only with SGD).
_FOLLOWING = {"optimizer": ("momentum",)}
#: The paper's CRNN width (cause 6).
FULL_CHANNELS = 128


class Verdict(Enum):
    """What an arm does to a gap's departure from the paper (the module docstring's rule)."""

    EXPLAINS = "explains"
    PARTLY = "partly explains"
    DOES_NOT = "does not explain"
    OPEN = "not established"
    NONE = "no verdict"


@dataclass(frozen=True)
class ArmFinding(Tested):
    """How one arm changes one gap on one rung, and the verdict.

    Attributes
    ----------
    cause : Cause
        The cause the arm tests.
    arm : str
        The arm's grid (causes 1–4); empty for causes 5 and 6, whose arm is
        ``changed``'s data (harder) or width (the paper's).
    baseline, changed : ResultSet
        The baseline's result set (the rung) and the arm's.
    challenger : str
        The gap's challenger (IF or DR γ=4).
    baseline_gap, arm_gap : float
        Mean gap over the seeds shown (points).
    difference : PairedDifference or None
        Arm gap − baseline gap over the seeds shown (``evidence.shown``).
    paper : float
        The paper's gap.
    evidence : Evidence
        The seeds the finding rests on and what was left out.
    p_holm : float
        Corrected over the chapter's table (NaN: not tested).
    verdict : Verdict
    """

    cause: Cause
    arm: str
    baseline: ResultSet
    changed: ResultSet
    challenger: str
    baseline_gap: float
    arm_gap: float
    difference: PairedDifference | None
    paper: float
    evidence: Evidence
    p_holm: float = math.nan
    verdict: Verdict = Verdict.NONE

    @property
    def distance(self) -> float:
        """The paper's gap − the baseline's (points)."""
        return self.paper - self.baseline_gap

    @property
    def share(self) -> float:
        """The change as a share of :attr:`distance` (1: the arm lands on the paper's gap)."""
        return (
            self.difference.mean / self.distance if self.difference and self.distance else math.nan
        )


def verdict_of(found: ArmFinding) -> Verdict:
    """The module docstring's rule, on a finding whose ``p_holm`` is set.

    Examples
    --------
    >>> from sedlib.study.evidence import Evidence
    >>> from sedlib.study.stats import PairedDifference
    >>> ok = Evidence((0, 1, 2), (0, 1, 2), frozenset())
    >>> moved = PairedDifference(-9.0, -12.0, -6.0, 0.01, 3, 0)
    >>> found = ArmFinding(Cause.OUTPUT_BIAS, "", None, None, "x", 6.0, -3.0, moved, -6.29, ok, 0.01)
    >>> verdict_of(found).value, verdict_of(replace(found, p_holm=0.2)).value
    ('explains', 'not established')
    """
    if not found.tested or not found.distance:
        return Verdict.NONE if not found.tested else Verdict.OPEN
    share = found.share
    low, high = sorted(
        v / found.distance for v in (found.difference.ci_low, found.difference.ci_high)
    )
    if found.significant and share > 0:
        if abs(1 - share) <= 1 - EXPLAINS_SHARE:
            return Verdict.EXPLAINS
        if abs(1 - share) <= 1 - PARTLY_SHARE:
            return Verdict.PARTLY
    outside = high < PARTLY_SHARE or low > 2 - PARTLY_SHARE
    return Verdict.DOES_NOT if outside else Verdict.OPEN


def arm_finding(
    cause: Cause,
    arm: str,
    baseline: ResultSet,
    changed: ResultSet,
    challenger: str,
    metric: str = "macro_f",
) -> ArmFinding:
    """The change an arm makes to one gap, before the correction and the verdict (:func:`judge`)."""
    methods = (BASELINE_METHOD, challenger)
    evidence = paired_seeds([(baseline, methods), (changed, methods)])
    base = gap_by_seed(baseline.table, challenger, metric, evidence.shown)
    other = gap_by_seed(changed.table, challenger, metric, evidence.shown)
    change = (other - base).dropna()
    return ArmFinding(
        cause, arm, baseline, changed, challenger,
        float(base.mean()), float(other.mean()), difference_over(change),
        paper_gap(challenger, metric), evidence,
    )  # fmt: skip


def judge(findings: list[ArmFinding]) -> list[ArmFinding]:
    """Holm's correction over the findings (one table), then each one's verdict."""
    return [replace(f, verdict=verdict_of(f)) for f in corrected(findings)]


# ---------------------------------------------------------------------------- rungs
@dataclass
class CauseRung:
    """A baseline result set and the arms run on the same rung."""

    baseline: ResultSet
    arms: dict[str, ResultSet] = field(default_factory=dict)


def same_data(a: ResultSet, b: ResultSet) -> bool:
    """Whether two result sets ran on the same data (by fingerprint, however it was spelled)."""
    return a.header["data"].get("fingerprint") == b.header["data"].get("fingerprint")


def same_rung(baseline: ResultSet, arm: ResultSet, grid: Grid) -> bool:
    """Same data and the same shared settings, except those the arm's grid sets."""
    skip = {"dataset", *grid.settings}.union(*(_FOLLOWING.get(k, ()) for k in grid.settings))
    return same_data(baseline, arm) and _settings_but(baseline, *skip) == _settings_but(arm, *skip)


def cause_rungs(root: Path | None = None) -> list[CauseRung]:
    """Every baseline result set with the arms found on its rung, in ladder order."""
    arm_sets = {grid.name: load_ladder(grid.name, root) for grid in ARM_GRIDS}

    def arms(base: ResultSet) -> dict[str, ResultSet]:
        found = {g.name: [s for s in arm_sets[g.name] if same_rung(base, s, g)] for g in ARM_GRIDS}
        return {
            name: max(sets, key=lambda s: s.header["runs"]) for name, sets in found.items() if sets
        }

    return [CauseRung(base, arms(base)) for base in load_ladder(BASELINE_GRID, root)]


def _settings_but(result: ResultSet, *keys: str) -> dict:
    settings = {k: v for k, v in result.header["settings"].items() if k not in keys}
    settings["model"] = {k: v for k, v in settings.get("model", {}).items() if k not in keys}
    return settings


def difficulty_pairs(sets: list[ResultSet]) -> list[tuple[ResultSet, ResultSet]]:
    """(as generated, harder) baseline sets with equal settings: the harder's data is the other's
    with every event some dB quieter against its background (cause 5)."""
    pairs = []
    for hard in sets:
        name, offset = split_difficulty(hard.header["data"]["name"])
        pairs += [
            (easy, hard)
            for easy in sets
            if offset
            and easy.header["data"]["name"] == name
            and _settings_but(easy, "dataset") == _settings_but(hard, "dataset")
        ]
    return pairs


def channels(result: ResultSet) -> int:
    """The CRNN's channels of a result set's runs."""
    return result.header["settings"].get("model", {}).get("channels", FULL_CHANNELS)


def capacity_pairs(sets: list[ResultSet]) -> list[tuple[ResultSet, ResultSet]]:
    """(narrow, full width) baseline sets on the same data with equal settings but the model's
    channels and the training budget (cause 6: the paper's width is the arm)."""
    budget = ("channels", "epochs", "max_steps")
    return [
        (narrow, wide)
        for wide in sets
        for narrow in sets
        if channels(wide) == FULL_CHANNELS > channels(narrow)
        and same_data(wide, narrow)
        and _settings_but(wide, *budget) == _settings_but(narrow, *budget)
    ]


# ---------------------------------------------------------------------------- the chapter's table
def cause_findings(root: Path | None = None, metric: str = "macro_f") -> list[ArmFinding]:
    """Every cause on every rung where it was measured, both gaps, judged as one table.

    Causes 1–4: each arm against ``cause-baseline`` on its rung
    (:func:`cause_rungs`). Cause 5: the baseline on harder data against the
    baseline as generated (:func:`difficulty_pairs`). Cause 6: the baseline at
    the paper's width against a narrower one (:func:`capacity_pairs`).
    """
    arms = [
        (grid.cause, grid.name, rung.baseline, rung.arms[grid.name])
        for rung in cause_rungs(root)
        for grid in ARM_GRIDS
        if grid.name in rung.arms
    ]
    baselines = load_ladder(BASELINE_GRID, root)
    arms += [(Cause.DIFFICULTY, "", *pair) for pair in difficulty_pairs(baselines)]
    arms += [(Cause.CAPACITY, "", *pair) for pair in capacity_pairs(baselines)]
    return judge([arm_finding(*arm, c, metric) for arm in arms for c in CHALLENGERS])


def unmeasured(findings: list[ArmFinding]) -> list[Cause]:
    """The causes with no finding yet."""
    return [cause for cause in Cause if cause not in {f.cause for f in findings}]


def method_effects(base: ResultSet, arm: ResultSet, metric: str = "macro_f") -> pd.DataFrame:
    """Per method: the baseline's and the arm's means, and arm − baseline over paired seeds (points).

    Returns
    -------
    pandas.DataFrame
        ``method``, ``baseline``, ``arm``, ``effect`` (a :class:`PairedDifference`, None under 2
        seeds) and ``evidence`` (the seeds shown: :attr:`Evidence.shown`).
    """
    rows = []
    for method in (BASELINE_METHOD, *CHALLENGERS):
        evidence = paired_seeds([(base, (method,)), (arm, (method,))])
        a, b = (by_seed(s.table, method, metric) * 100 for s in (base, arm))
        a, b = a[a.index.isin(evidence.shown)], b[b.index.isin(evidence.shown)]
        effect = paired_difference(a, b) if len(evidence.shown) >= 2 else None
        rows.append({"method": method, "baseline": a.mean(), "arm": b.mean(), "effect": effect,
                     "evidence": evidence})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- the paper-like settings
@dataclass(frozen=True)
class PaperLike:
    """The paper-like settings: those of the arms that explain a gap on some rung, combined.

    Attributes
    ----------
    settings : dict
        Setting -> value (empty when no arm explains).
    arms : tuple of str
        The arm grids they come from.
    findings : tuple of ArmFinding
        The verdicts they rest on (their provenance: rungs and result sets).
    """

    settings: dict
    arms: tuple[str, ...]
    findings: tuple[ArmFinding, ...]


def arm_settings_of(arms: tuple[str, ...]) -> dict:
    """The attribution settings (:data:`ARM_SETTINGS`) of the arm grids named in ``arms``, combined."""
    return {
        k: v
        for g in ARM_GRIDS
        if g.name in arms
        for k, v in g.settings.items()
        if k in ARM_SETTINGS
    }


def paper_like(findings: list[ArmFinding]) -> PaperLike:
    """The settings of every arm grid (causes 1–4) with an "explains" verdict among ``findings``."""
    explains = tuple(f for f in findings if f.arm and f.verdict is Verdict.EXPLAINS)
    arms = tuple(g.name for g in ARM_GRIDS if g.name in {f.arm for f in explains})
    return PaperLike(arm_settings_of(arms), arms, explains)


def paper_like_sets(root: Path | None = None) -> list[ResultSet]:
    """The result sets of the ``paper`` grid made with some attribution setting changed, in ladder order."""
    return [s for s in load_ladder("paper", root) if arm_settings(s)]


# ---------------------------------------------------------------------------- E2's N_m, per clip
@dataclass(frozen=True)
class WeightRange:
    """The range of E2's class weight ``C / (N_m + C)`` under one reading of N_m.

    Attributes
    ----------
    C : float
        E2's constant.
    most_frames : int
        The largest N_m of the reading (a whole clip per clip; the most active class per data set).
    lowest, highest : float
        The weights at ``most_frames`` and at N_m = 0.
    """

    C: float
    most_frames: int
    lowest: float
    highest: float

    @property
    def ratio(self) -> float:
        """How much more the least active class weighs than the most active one."""
        return self.highest / self.lowest


def e2_weight_range(most_frames: int, C: float = DEFAULT_C) -> WeightRange:
    """E2's weights from N_m = 0 to ``most_frames`` (:func:`sedlib.losses.inverse_frequency_weights`).

    Per clip, N_m is at most the clip's frames (500 in a 10 s clip), so with
    C = 500 every weight lies in [0.5, 1]: per-clip E2 is within a factor 2 of
    BCE by construction.

    >>> found = e2_weight_range(500)
    >>> found.lowest, found.highest, found.ratio
    (0.5, 1.0, 2.0)
    """
    lowest, highest = (float(w) for w in inverse_frequency_weights([most_frames, 0], C))
    return WeightRange(C, most_frames, lowest, highest)
