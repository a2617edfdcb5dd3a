"""Paired statistics against scipy and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sedlib.study.stats import by_seed, duration_gain_correlation, paired_difference


def test_paired_difference_mean_interval_and_exact_wilcoxon():
    a = pd.Series([0.10, 0.20, 0.15, 0.30, 0.25], index=[0, 1, 2, 3, 4])
    b = pd.Series([0.14, 0.21, 0.22, 0.29, 0.35], index=[0, 1, 2, 3, 4])
    got = paired_difference(a, b)
    diff = (b - a).to_numpy()
    assert got.mean == pytest.approx(diff.mean())
    assert got.ci_low <= diff.mean() <= got.ci_high
    assert diff.min() <= got.ci_low and got.ci_high <= diff.max()
    assert got.p_wilcoxon == pytest.approx(stats.wilcoxon(diff, method="exact").pvalue)
    assert got.n == 5 and got.wins == 4


def test_paired_difference_pairs_by_seed_and_knows_its_floor():
    a = pd.Series([0.1, 0.2, 0.3, 0.9], index=[0, 1, 2, 7])  # seed 7 has no partner
    b = pd.Series([0.45, 0.4, 0.5], index=[2, 1, 0])
    got = paired_difference(a, b)
    assert got.n == 3 and got.mean == pytest.approx(0.25)
    assert got.p_wilcoxon == pytest.approx(0.25)  # 2 / 2^3: the best 3 seeds can give
    assert paired_difference(a, a).p_wilcoxon == 1.0
    with pytest.raises(ValueError, match="2 paired seeds"):
        paired_difference(a, pd.Series([0.5], index=[0]))


def test_by_seed_names_missing_methods():
    table = pd.DataFrame({"method": ["bce", "bce"], "seed": [0, 1], "macro_f": [0.1, 0.2]})
    assert by_seed(table, "bce", "macro_f").to_dict() == {0: 0.1, 1: 0.2}
    with pytest.raises(ValueError, match="focal"):
        by_seed(table, "focal", "macro_f")


def test_duration_correlation_matches_spearman_and_detects_a_trend():
    rng = np.random.default_rng(0)
    labels = [f"c{i}" for i in range(25)]
    durations = pd.Series(np.exp(rng.normal(0, 1.5, 25)), index=labels)
    gain = pd.Series(-np.log(durations.to_numpy()) + rng.normal(0, 0.5, 25), index=labels)
    got = duration_gain_correlation(gain, durations, n_perm=5000)
    assert got.rho == pytest.approx(stats.spearmanr(durations, gain).statistic)
    assert got.rho < -0.7 and got.p_permutation < 0.01
    noise = pd.Series(rng.normal(0, 1, 25), index=labels)
    assert duration_gain_correlation(noise, durations, n_perm=5000).p_permutation > 0.01
    assert got.gains["duration"].is_monotonic_increasing and got.n_classes == 25


def test_compare_to_baseline_table():
    from sedlib.study.stats import compare_to_baseline

    table = pd.DataFrame(
        {
            "method": ["bce"] * 3 + ["focal-g2"] * 3,
            "seed": [0, 1, 2] * 2,
            "macro_f": [0.1, 0.2, 0.3, 0.2, 0.3, 0.5],
        }
    )
    got = compare_to_baseline(table, "bce", ["focal-g2"], ["macro_f"])
    assert got.loc[("focal-g2", "macro_f"), "mean"] == pytest.approx(0.4 / 3)
    assert got.loc[("focal-g2", "macro_f"), "wins"] == 3
