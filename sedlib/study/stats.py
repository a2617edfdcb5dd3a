"""Paired statistics over seeds: one interval rule for every claim, and Holm's correction.

Runs of two methods with the same seed share the data, the validation
hold-out and the initial weights, so differences are taken seed by seed.
Every claim of the book about a difference over seeds follows one rule
(:data:`RULE`):

- :func:`paired_difference`: the mean of the paired differences with its
  Student-t interval (:data:`CONFIDENCE`, n − 1 degrees of freedom) and the
  two-sided paired t-test of the mean against a null value (0, or the
  paper's number). A percentile bootstrap, used before, gives with 3 seeds
  exactly [min, max] of the three differences: a 75 % interval called 95 %.
- :func:`holm`: the p-values of one table of claims corrected together
  (Holm's step-down method), so that a table of 24 tests does not make about
  one false claim by chance; a claim stands on the corrected p-value.
- :func:`duration_gain_correlation`: per class, the gain of one method over
  another (mean over seeds) against the class's mean event duration, with
  Spearman's rank correlation and its permutation p-value. The paper argues
  that the duration robust loss helps short events: that predicts a negative
  correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sedlib.errors import DataError
from sedlib.study.summary import seed_values

#: The coverage of every interval of the book, and the level of every test (1 − it).
CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
#: The one interval rule for differences over paired seeds (named under every table).
RULE = "paired t-interval"


@dataclass(frozen=True)
class PairedDifference:
    """Difference ``b - a`` of a metric over paired seeds, with :data:`RULE`'s interval.

    Attributes
    ----------
    mean : float
        Mean difference.
    ci_low, ci_high : float
        Student-t interval of the mean difference (:data:`CONFIDENCE`).
    p : float
        Two-sided paired t-test of ``mean == null`` (uncorrected).
    n : int
        Number of paired seeds.
    wins : int
        Seeds where ``b`` is larger than ``a``.
    null : float
        The value tested against.
    """

    mean: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    wins: int
    null: float = 0.0


def t_interval(differences, *, null: float = 0.0) -> PairedDifference:
    """:data:`RULE` over one difference per seed.

    Differences that are all equal have a zero-width interval; the test then
    says whether they equal ``null`` (p = 1) or not (p = 0).

    Examples
    --------
    >>> got = t_interval([1.0, 2.0, 3.0])
    >>> round(got.ci_low, 3), round(got.ci_high, 3), round(got.p, 4)
    (-0.484, 4.484, 0.0742)
    """
    d = np.asarray(differences, dtype=np.float64)
    n = len(d)
    if n < 2:
        raise DataError(f"need at least 2 paired seeds, got {n}")
    mean, error = float(d.mean()), float(d.std(ddof=1) / np.sqrt(n))
    if error == 0:
        low = high = mean
        p = 1.0 if mean == null else 0.0
    else:
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * error
        low, high = mean - half, mean + half
        p = float(2 * stats.t.sf(abs(mean - null) / error, n - 1))
    return PairedDifference(mean, low, high, p, n, int((d > 0).sum()), null)


def paired_difference(
    a: pd.Series, b: pd.Series, *, null: float = 0.0, metric: str | None = None
) -> PairedDifference:
    """Mean of ``b - a`` over the seeds both have, with :data:`RULE`'s interval and test.

    Parameters
    ----------
    a, b : pandas.Series
        A metric per seed (index: seed) of the baseline and of the challenger.
    null : float
        The difference the test compares with (0: no difference).
    metric : str, optional
        The metric compared (default: the Series' name); undefined values follow
        :data:`sedlib.study.summary.UNDEFINED_RULE` (an undefined F counts as 0,
        another undefined value drops its seed from the pairs).

    Returns
    -------
    PairedDifference
    """

    a, b = (  # the summaries' rule for undefined values (an undefined F counts as 0)
        pd.Series(seed_values(s, metric or s.name), index=s.index) for s in (a, b)
    )
    joined = pd.concat({"a": a, "b": b}, axis=1).dropna()
    return t_interval(joined["b"] - joined["a"], null=null)


def holm(p_values) -> np.ndarray:
    """Holm's step-down correction of a family of p-values (NaN stays NaN, outside the family).

    The k-th smallest of m p-values is multiplied by m − k + 1, capped at 1,
    and made non-decreasing; a claim whose corrected p-value is below
    :data:`ALPHA` stands with a family-wise error rate of at most ALPHA.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(2).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    factors = len(order) - np.arange(len(order))
    adjusted[order] = np.maximum.accumulate(np.minimum(1.0, factors * p[order]))
    return adjusted


def by_seed(table: pd.DataFrame, method: str, metric: str) -> pd.Series:
    """One method's metric per seed from a per-run table with ``method`` and ``seed`` columns.

    Undefined values follow :data:`sedlib.study.summary.UNDEFINED_RULE`.
    """

    rows = table[table["method"] == method]
    if rows.empty:
        raise DataError(f"no runs of method {method!r}; have {sorted(table['method'].unique())}")
    values = rows.set_index("seed")[metric]
    return pd.Series(seed_values(values, metric), index=values.index, name=metric)


@dataclass
class DurationCorrelation:
    """Rank correlation between per-class gains and mean event durations.

    Attributes
    ----------
    rho : float
        Spearman's rank correlation.
    p_permutation : float
        Two-sided permutation p-value of ``rho``.
    n_classes : int
        Classes used.
    gains : pandas.DataFrame
        Per class: ``duration``, ``gain``, sorted by duration.
    """

    rho: float
    p_permutation: float
    n_classes: int
    gains: pd.DataFrame


def duration_gain_correlation(
    gain: pd.Series, durations: pd.Series, *, n_perm: int = 20_000, seed: int = 0
) -> DurationCorrelation:
    """Spearman correlation of a per-class gain with the class's mean event duration.

    Parameters
    ----------
    gain : pandas.Series
        Per-class gain (e.g. F of E3 minus F of E1, mean over seeds), by label.
    durations : pandas.Series
        Mean event duration per label.
    n_perm : int
        Permutations of the gains for the p-value.
    seed : int
        Seed of the permutations.

    Returns
    -------
    DurationCorrelation
    """
    frame = pd.concat({"duration": durations, "gain": gain}, axis=1, join="inner").dropna()
    if len(frame) < 3:
        raise DataError(f"need at least 3 classes with a gain and a duration, got {len(frame)}")
    x = stats.rankdata(frame["duration"])
    y = stats.rankdata(frame["gain"])
    rho = float(np.corrcoef(x, y)[0, 1]) if y.std() > 0 else 0.0
    rng = np.random.default_rng(seed)
    x, y = x - x.mean(), y - y.mean()  # a permutation keeps y's mean and norm
    perms = np.array([rng.permutation(y) for _ in range(n_perm)])
    perm_rho = (perms @ x) / (np.linalg.norm(y) * np.linalg.norm(x) + 1e-300)
    p_value = float((np.sum(np.abs(perm_rho) >= abs(rho) - 1e-12) + 1) / (n_perm + 1))
    return DurationCorrelation(
        rho=rho,
        p_permutation=p_value,
        n_classes=len(frame),
        gains=frame.sort_values("duration"),
    )
