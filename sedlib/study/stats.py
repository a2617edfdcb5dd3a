"""Paired statistics over seeds, and whether a gain goes to short events.

Runs of two methods with the same seed share the data, the validation
hold-out and the initial weights, so differences are taken seed by seed:

- :func:`paired_difference`: mean difference of a metric between two methods
  over the seeds they share, a bootstrap confidence interval of that mean
  (resampling seeds), and the exact two-sided Wilcoxon signed-rank p-value.
  With n seeds the smallest attainable p-value is 2 / 2^n (0.25 for 3 seeds,
  0.002 for 10): with few seeds no difference can be "significant", and
  the interval is the honest summary.
- :func:`duration_gain_correlation`: per class, the gain of one method over
  another (mean over seeds) against the class's mean event duration, with
  Spearman's rank correlation and its permutation p-value. The paper argues
  that the duration robust loss helps short events: that predicts a negative
  correlation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sedlib.errors import DataError


@dataclass
class PairedDifference:
    """Difference ``b - a`` of a metric over paired seeds.

    Attributes
    ----------
    mean : float
        Mean difference.
    ci_low, ci_high : float
        Percentile bootstrap interval of the mean difference.
    p_wilcoxon : float
        Exact two-sided Wilcoxon signed-rank p-value (1.0 when all differences are 0).
    n : int
        Number of paired seeds.
    wins : int
        Seeds where ``b`` is better (larger) than ``a``.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    n: int
    wins: int

    def to_dict(self) -> dict:
        """Plain dictionary."""
        return asdict(self)


def paired_difference(
    a: pd.Series,
    b: pd.Series,
    *,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
    metric: str | None = None,
) -> PairedDifference:
    """Mean of ``b - a`` over the seeds both have, with a bootstrap CI and a Wilcoxon test.

    Parameters
    ----------
    a, b : pandas.Series
        A metric per seed (index: seed) of the baseline and of the challenger.
    confidence : float
        Coverage of the bootstrap interval.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling.
    metric : str, optional
        The metric compared (default: the Series' name); undefined values follow
        :data:`sedlib.study.summary.UNDEFINED_RULE` (an undefined F counts as 0,
        another undefined value drops its seed from the pairs).

    Returns
    -------
    PairedDifference
    """
    from sedlib.study.summary import seed_values

    a, b = (  # the summaries' rule for undefined values (an undefined F counts as 0)
        pd.Series(seed_values(s, metric or s.name), index=s.index) for s in (a, b)
    )
    joined = pd.concat({"a": a, "b": b}, axis=1).dropna()
    if len(joined) < 2:
        raise DataError(f"need at least 2 paired seeds, got {len(joined)}")
    diff = (joined["b"] - joined["a"]).to_numpy(dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    tail = (1 - confidence) / 2
    if np.allclose(diff, 0):
        p_value = 1.0
    else:
        p_value = float(stats.wilcoxon(diff, alternative="two-sided", method="exact").pvalue)
    return PairedDifference(
        mean=float(diff.mean()),
        ci_low=float(np.quantile(means, tail)),
        ci_high=float(np.quantile(means, 1 - tail)),
        p_wilcoxon=p_value,
        n=len(diff),
        wins=int((diff > 0).sum()),
    )


def by_seed(table: pd.DataFrame, method: str, metric: str) -> pd.Series:
    """One method's metric per seed from a per-run table with ``method`` and ``seed`` columns.

    Undefined values follow :data:`sedlib.study.summary.UNDEFINED_RULE`.
    """
    from sedlib.study.summary import seed_values

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
    perms = np.array([rng.permutation(y) for _ in range(n_perm)])
    perm_rho = ((perms - perms.mean(1, keepdims=True)) @ (x - x.mean())) / (
        np.linalg.norm(perms - perms.mean(1, keepdims=True), axis=1) * np.linalg.norm(x - x.mean())
        + 1e-300
    )
    p_value = float((np.sum(np.abs(perm_rho) >= abs(rho) - 1e-12) + 1) / (n_perm + 1))
    return DurationCorrelation(
        rho=rho,
        p_permutation=p_value,
        n_classes=len(frame),
        gains=frame.sort_values("duration"),
    )


def compare_to_baseline(
    table: pd.DataFrame,
    baseline: str,
    methods: list[str],
    metrics: list[str],
    **kwargs,
) -> pd.DataFrame:
    """:func:`paired_difference` of every method against ``baseline`` for every metric.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-run table with ``method``, ``seed`` and the metric columns.
    baseline : str
        Method subtracted (e.g. ``"bce"``).
    methods, metrics : list of str
        Methods compared, metrics compared (columns of ``table``).
    **kwargs
        Passed to :func:`paired_difference`.

    Returns
    -------
    pandas.DataFrame
        Rows ``(method, metric)``, columns of :class:`PairedDifference`.
    """
    rows = {}
    for method in methods:
        for metric in metrics:
            rows[(method, metric)] = paired_difference(
                by_seed(table, baseline, metric), by_seed(table, method, metric), **kwargs
            ).to_dict()
    frame = pd.DataFrame(rows).T
    frame.index.names = ["method", "metric"]
    return frame
