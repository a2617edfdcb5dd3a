"""Result summaries: confidence intervals against scipy, grouping by method, undefined F as 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sedlib.results import mean_ci, method_key, per_class, summarize


def test_mean_ci_matches_scipy_t_interval():
    x = np.array([0.11, 0.14, 0.09, 0.13, 0.12])
    mean, half, n = mean_ci(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert n == 5 and mean == pytest.approx(x.mean()) and half == pytest.approx((hi - lo) / 2)
    assert np.isnan(mean_ci([0.3])[1]) and mean_ci([0.3])[0] == 0.3
    assert mean_ci([np.nan, 1.0, 3.0])[2] == 2


def table() -> pd.DataFrame:
    rows = []
    for loss, gamma, base in (
        ("bce", np.nan, 0.10),
        ("duration_robust", 4.0, 0.12),
        ("duration_robust", 1.0, 0.11),
    ):
        for seed in range(3):
            rows.append(
                {
                    "loss": loss,
                    "gamma": gamma,
                    "seed": seed,
                    "macro_f": base + 0.01 * seed,
                    "micro_f": 2 * base,
                    "macro_er": 1.0,
                    "micro_er": 0.9,
                    "f:fan": 0.5 + seed * 0.1,
                    "f:mouse clicking": np.nan if seed else 0.3,
                    "er:fan": 0.8,
                    "er:mouse clicking": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_summarize_groups_by_method():
    s = summarize(table())
    assert list(s.index) == ["bce", "duration_robust-g4", "duration_robust-g1"]
    assert s.loc["bce", "macro_f_mean"] == pytest.approx(0.11)
    assert s.loc["duration_robust-g4", "n_seeds"] == 3
    assert method_key("duration_robust", 0.25) == "duration_robust-g0.25"


def test_per_class_counts_undefined_f_as_zero():
    pc = per_class(table(), "f")
    assert pc.loc["mouse clicking", ("bce", "mean")] == pytest.approx(0.1)  # (0.3 + 0 + 0) / 3
    assert pc.loc["fan", ("bce", "mean")] == pytest.approx(0.6)
    er = per_class(table(), "er")
    assert np.isnan(er.loc["mouse clicking", ("bce", "mean")])


def test_short_vs_long_groups_by_duration():
    from sedlib.results import short_vs_long

    f = pd.Series({"a": 0.0, "b": 0.1, "c": 0.5, "d": 0.9})
    d = pd.Series({"a": 0.1, "b": 0.2, "c": 10.0, "d": 30.0})
    assert short_vs_long(f, d, k=2) == {
        "short_mean_f": pytest.approx(0.05),
        "long_mean_f": pytest.approx(0.7),
    }
