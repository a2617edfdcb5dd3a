"""Summaries of a grid's results: method keys and names, means with confidence intervals over seeds.

A result table (one row per run, see :mod:`sedlib.study.results`) is
reduced here to one row per method (loss and γ): the mean over seeds and
the half-width of its 95% confidence interval from Student's t distribution.

Undefined values (a metric a run could not compute) follow one rule in every
summary, :data:`UNDEFINED_RULE` (applied by :func:`seed_values`; chapters show
the sentence under their tables):

- an undefined **F-score** counts as 0. F is undefined when a run (or a
  class) has no detection or no reference: a system that detects nothing has
  recall 0, and 0 is what the paper's macro F already counts for an undefined
  class-wise F (its Table 4 follows from its Table 2 that way). Dropping the
  seed instead would average only the seeds that detected something and make
  the method look better the more often it fails;
- any other undefined metric (an error rate without reference segments, an
  AP or PSDS without events) has no honest stand-in value: it is left out of
  the mean, its n counts only the seeds where it is defined, and the number
  left out is shown (``"40.0 ± 12.0 (2 of 3 seeds)"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sedlib.losses import GAMMA_LOSSES
from sedlib.training.config import method_key

METRICS = ("macro_f", "micro_f", "macro_er", "micro_er")

#: How every summary of this module treats undefined values; a sentence for under a table.
UNDEFINED_RULE = (
    "Undefined values: an undefined F-score (no detection or no reference) counts as 0, as in "
    "the paper's macro F; an undefined error rate or other metric is left out of its mean, "
    "which then says over how many seeds it was taken (n of N)."
)


#: The methods of the paper's Table 4, in its order.
PAPER_METHODS = ("bce", "inverse_frequency", "duration_robust-g1", "duration_robust-g4")
#: The later imbalance losses of the ``baselines`` grid.
BASELINE_METHODS = ("focal-g2", "class_balanced", "asymmetric")


def parse_method_key(key: str) -> tuple[str, float | None]:
    """The loss and γ of a method key (γ None for the losses without one).

    Examples
    --------
    >>> parse_method_key("duration_robust-g0.25"), parse_method_key("inverse_frequency")
    (('duration_robust', 0.25), ('inverse_frequency', None))
    """
    loss, sep, gamma = key.rpartition("-g")
    if sep and loss in GAMMA_LOSSES:
        return loss, float(gamma)
    return key, None


def is_f_score(metric) -> bool:
    """Whether a result column is an F-score (``macro_f``, ``tuned_micro_f``, ``f:<label>``...);
    False for anything but a string.

    Examples
    --------
    >>> is_f_score("micro_f"), is_f_score("tuned_f:fan"), is_f_score("macro_er"), is_f_score(None)
    (True, True, False, False)
    """
    base = str(metric).split(":", 1)[0].removeprefix("tuned_")
    return isinstance(metric, str) and base in ("f", "macro_f", "micro_f")


def seed_values(values, metric: str | None = None) -> np.ndarray:
    """A metric's values over seeds with :data:`UNDEFINED_RULE` applied (float array).

    Parameters
    ----------
    values : array-like or pandas.Series
        One value per seed; None or NaN where undefined.
    metric : str, optional
        The metric (result column) the values are of; default the Series' name.
        Undefined F-scores become 0, other undefined values stay NaN (left out).
    """
    if metric is None:
        metric = getattr(values, "name", None)
    x = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
    x = x.to_numpy(dtype=np.float64, copy=True)
    x[np.isinf(x)] = np.nan
    if is_f_score(metric):
        x = np.nan_to_num(x, nan=0.0)
    return x


def mean_ci(values, *, metric: str | None = None) -> tuple[float, float, int]:
    """Mean, half-width of its 95 % t confidence interval, and the number of values it is over.

    :data:`UNDEFINED_RULE` applies (see :func:`seed_values`; ``metric``
    defaults to the Series' name): undefined F-scores count as 0, other
    undefined values are left out of the mean and of n. The half-width is
    NaN for fewer than two values.
    """
    x = seed_values(values, metric)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    if n == 1:
        return float(x[0]), float("nan"), 1
    half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean()), float(half), n


def format_mean_ci(
    values, scale: float = 100.0, digits: int = 1, *, metric: str | None = None
) -> str:
    """``"mean ± half-width"`` of a metric over seeds (scaled, e.g. to percent); ``–`` when empty.

    :data:`UNDEFINED_RULE` applies; when values were left out the text says
    over how many seeds the mean is, e.g. ``"45.0 ± 63.5 (2 of 3 seeds)"``.

    Examples
    --------
    >>> format_mean_ci([0.10, 0.12, 0.14])
    '12.0 ± 5.0'
    >>> format_mean_ci([None, 0.40, 0.50], metric="micro_f")
    '30.0 ± 65.7'
    >>> format_mean_ci([None, 0.40, 0.50], metric="micro_er")
    '45.0 ± 63.5 (2 of 3 seeds)'
    """
    total = len(seed_values(values, metric))
    mean, half, n = mean_ci(values, metric=metric)
    if n == 0:
        return "–"
    text = f"{mean * scale:.{digits}f}"
    if np.isfinite(half):
        text += f" ± {half * scale:.{digits}f}"
    return text + (f" ({n} of {total} seeds)" if n < total else "")


def with_method(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``method`` column."""
    if "method" in table:
        return table
    gammas = table["gamma"] if "gamma" in table else pd.Series(np.nan, index=table.index)
    return table.copy().assign(  # copy: one block, no fragmentation warning
        method=[method_key(loss, g) for loss, g in zip(table["loss"], gammas, strict=True)]
    )


def summarize(table: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """One row per method: ``<metric>_mean``, ``<metric>_ci`` (half-width), ``<metric>_n`` and ``n_seeds``.

    :data:`UNDEFINED_RULE` applies: ``<metric>_n`` is the number of seeds the
    mean is over (fewer than ``n_seeds`` when undefined values were left out).
    """
    rows = {}
    for method, group in with_method(table).groupby("method", sort=False):
        row = {}
        for metric in metrics:
            mean, half, n = mean_ci(group[metric], metric=metric)
            row[f"{metric}_mean"], row[f"{metric}_ci"], row[f"{metric}_n"] = mean, half, n
        row["n_seeds"] = group["seed"].nunique()
        rows[method] = row
    return pd.DataFrame(rows).T


def per_class(table: pd.DataFrame, metric: str = "f") -> pd.DataFrame:
    """Per-class mean (and CI half-width) of a per-class metric over seeds; rows labels, columns (method, stat).

    ``metric`` is the prefix of the per-class columns of the grid table: ``f``
    and ``er`` (threshold 0.5), ``tuned_f`` (tuned thresholds), ``ap``
    (segment-based average precision).

    :data:`UNDEFINED_RULE` applies: an undefined class-wise F (no reference or
    no detection) counts as 0, as in the macro average; an undefined error
    rate is left out of its class's mean.
    """
    prefix = f"{metric}:"
    columns = [c for c in table.columns if c.startswith(prefix)]
    out = {}
    for method, group in with_method(table).groupby("method", sort=False):
        for column in columns:
            mean, half, _ = mean_ci(group[column], metric=column)
            out[(method, "mean"), column[len(prefix) :]] = mean
            out[(method, "ci"), column[len(prefix) :]] = half
    frame = pd.Series(out).unstack(0)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["method", "stat"])
    return frame


def short_vs_long(class_f: pd.Series, durations: pd.Series, k: int = 10) -> dict[str, float]:
    """Mean F of the ``k`` classes with the shortest and the ``k`` with the longest mean event duration.

    Parameters
    ----------
    class_f : pandas.Series
        Per-class F-score (undefined counted as 0 beforehand), indexed by label.
    durations : pandas.Series
        Mean event duration per label (e.g. ``class_stats(meta)["mean_duration"]``).
    k : int
        Classes in each group.
    """
    order = durations.reindex(class_f.index).sort_values().index
    return {
        "short_mean_f": float(class_f[order[:k]].mean()),
        "long_mean_f": float(class_f[order[-k:]].mean()),
    }
