"""Summaries of a grid's results: method keys and names, means with confidence intervals over seeds.

A result table (one row per run, see :mod:`sedlib.study.results`) is
reduced here to one row per method (loss and γ): the mean over seeds and
the half-width of its 95% confidence interval from Student's t distribution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sedlib.training.config import GAMMA_LOSSES

METRICS = ("macro_f", "micro_f", "macro_er", "micro_er")


#: The methods of the paper's Table 4, in its order.
PAPER_METHODS = ("bce", "inverse_frequency", "duration_robust-g1", "duration_robust-g4")
#: The later imbalance losses of the ``baselines`` grid.
BASELINE_METHODS = ("focal-g2", "class_balanced", "asymmetric")


def method_key(loss: str, gamma: float | None) -> str:
    """``bce``, ``inverse_frequency``, ``duration_robust-g<γ>`` (the keys of :mod:`sedlib.study.paper`), ``focal-g<γ>``...

    Examples
    --------
    >>> method_key("duration_robust", 4.0), method_key("bce", None)
    ('duration_robust-g4', 'bce')
    """
    if loss in GAMMA_LOSSES:
        return f"{loss}-g{float(gamma):g}"
    return loss


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


_BASELINE_NAMES = {
    "class_balanced": "class-balanced BCE (β=0.9999)",
    "asymmetric": "asymmetric loss (γ+=0, γ−=4, clip 0.05)",
}


def method_name(method: str) -> str:
    """Readable name of a method key: the paper's names, then the later baselines."""
    from sedlib.study import paper

    names = paper.methods()
    if method in names:
        return names[method]
    loss, gamma = parse_method_key(method)
    if loss == "focal":
        return f"α-balanced focal (γ={gamma:g}, α=0.25)"
    if loss == "duration_robust":
        return f"duration robust (γ={gamma:g})"
    return _BASELINE_NAMES.get(method, method)


_SHORT = {
    "bce": "BCE",
    "inverse_frequency": "IF",
    "class_balanced": "CB",
    "asymmetric": "ASL",
}


def short_name(method: str) -> str:
    """Short label for tables: ``BCE``, ``IF``, ``DR γ=1``, ``focal γ=2``, ``CB``, ``ASL``."""
    loss, gamma = parse_method_key(method)
    if loss == "duration_robust":
        return f"DR γ={gamma:g}"
    if loss == "focal":
        return f"focal γ={gamma:g}"
    return _SHORT.get(method, method)


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean, half-width of its t confidence interval, and the number of finite values.

    The half-width is NaN for fewer than two values.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    if n == 1:
        return float(x[0]), float("nan"), 1
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean()), float(half), n


def format_mean_ci(values, scale: float = 100.0, digits: int = 1) -> str:
    """``"mean ± half-width"`` of a metric over seeds (scaled, e.g. to percent); ``–`` when empty.

    Examples
    --------
    >>> format_mean_ci([0.10, 0.12, 0.14])
    '12.0 ± 5.0'
    """
    mean, half, n = mean_ci(values)
    if n == 0:
        return "–"
    if not np.isfinite(half):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def with_method(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``method`` column."""
    if "method" in table:
        return table
    gammas = table["gamma"] if "gamma" in table else pd.Series(np.nan, index=table.index)
    return table.copy().assign(  # copy: one block, no fragmentation warning
        method=[method_key(loss, g) for loss, g in zip(table["loss"], gammas, strict=True)]
    )


def summarize(table: pd.DataFrame, metrics=METRICS, confidence: float = 0.95) -> pd.DataFrame:
    """One row per method: ``<metric>_mean``, ``<metric>_ci`` (half-width) and ``n_seeds``."""
    rows = {}
    for method, group in with_method(table).groupby("method", sort=False):
        row = {}
        for metric in metrics:
            mean, half, _ = mean_ci(group[metric], confidence)
            row[f"{metric}_mean"], row[f"{metric}_ci"] = mean, half
        row["n_seeds"] = group["seed"].nunique()
        rows[method] = row
    return pd.DataFrame(rows).T


def per_class(table: pd.DataFrame, metric: str = "f", confidence: float = 0.95) -> pd.DataFrame:
    """Per-class mean (and CI half-width) of a per-class metric over seeds; rows labels, columns (method, stat).

    ``metric`` is the prefix of the per-class columns of the grid table: ``f``
    and ``er`` (threshold 0.5), ``tuned_f`` (tuned thresholds), ``ap``
    (segment-based average precision).

    An undefined class-wise F (no reference or no detection) counts as 0, as in
    the macro average; an undefined error rate stays undefined.
    """
    prefix = f"{metric}:"
    columns = [c for c in table.columns if c.startswith(prefix)]
    out = {}
    for method, group in with_method(table).groupby("method", sort=False):
        values = group[columns].astype(float)
        if metric in ("f", "tuned_f"):
            values = values.fillna(0.0)
        for column in columns:
            mean, half, _ = mean_ci(values[column], confidence)
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
