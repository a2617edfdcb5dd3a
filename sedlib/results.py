"""Summaries of sweep results: means with confidence intervals over seeds, beside the paper.

A grid's table (``<data root>/results/<grid>.csv``, one row per run, written
by :func:`sedlib.sweep.aggregate`) is reduced here to one row per method
(loss and γ): the mean over seeds and the half-width of its 95% confidence
interval from Student's t distribution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

METRICS = ("macro_f", "micro_f", "macro_er", "micro_er")


def load_grid(grid: str, results_root: Path | None = None) -> pd.DataFrame | None:
    """The per-run table of a grid, or None when it has not been produced yet."""
    from sedlib.settings import results_dir

    path = (Path(results_root) if results_root else results_dir()) / f"{grid}.csv"
    return pd.read_csv(path) if path.is_file() else None


def method_key(loss: str, gamma: float | None) -> str:
    """``bce``, ``inverse_frequency``, ``duration_robust-g<γ>`` (the keys of :mod:`sedlib.paper`), ``focal-g<γ>``..."""
    from sedlib.losses import GAMMA_LOSSES

    if loss in GAMMA_LOSSES:
        return f"{loss}-g{float(gamma):g}"
    return loss


_BASELINE_NAMES = {
    "class_balanced": "class-balanced BCE (β=0.9999)",
    "asymmetric": "asymmetric loss (γ+=0, γ−=4, clip 0.05)",
}


def method_name(method: str) -> str:
    """Readable name of a method key: the paper's names, then the later baselines."""
    from sedlib import paper

    names = paper.methods()
    if method in names:
        return names[method]
    if method.startswith("focal-g"):
        return f"α-balanced focal (γ={method[len('focal-g') :]}, α=0.25)"
    if method.startswith("duration_robust-g"):
        return f"duration robust (γ={method[len('duration_robust-g') :]})"
    return _BASELINE_NAMES.get(method, method)


_SHORT = {
    "bce": "BCE",
    "inverse_frequency": "IF",
    "class_balanced": "CB",
    "asymmetric": "ASL",
}


def short_name(method: str) -> str:
    """Short label for tables: ``BCE``, ``IF``, ``DR γ=1``, ``focal γ=2``, ``CB``, ``ASL``."""
    if method.startswith("duration_robust-g"):
        return f"DR γ={method[len('duration_robust-g') :]}"
    if method.startswith("focal-g"):
        return f"focal γ={method[len('focal-g') :]}"
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


def with_method(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``method`` column."""
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
