"""Paired statistics against scipy and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sedlib.study.stats import by_seed, duration_gain_correlation, holm, paired_difference


def test_paired_difference_is_the_paired_t_interval_and_test():
    a = pd.Series([0.10, 0.20, 0.15, 0.30, 0.25], index=[0, 1, 2, 3, 4])
    b = pd.Series([0.14, 0.21, 0.22, 0.29, 0.35], index=[0, 1, 2, 3, 4])
    got = paired_difference(a, b)
    diff = (b - a).to_numpy()
    low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
    assert (got.mean, got.ci_low, got.ci_high) == pytest.approx((diff.mean(), low, high))
    assert got.p == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert got.n == 5 and got.wins == 4
    against = paired_difference(a, b, null=0.1)  # tested against another value
    assert against.p == pytest.approx(stats.ttest_1samp(diff, 0.1).pvalue)


def test_three_seeds_no_longer_give_their_range_as_a_95_percent_interval():
    a = pd.Series([0.1, 0.2, 0.3, 0.9], index=[0, 1, 2, 7])  # seed 7 has no partner
    b = pd.Series([0.45, 0.4, 0.5], index=[2, 1, 0])
    got = paired_difference(a, b)
    diff = np.array([0.4, 0.2, 0.15])
    assert got.n == 3 and got.mean == pytest.approx(0.25)
    assert got.ci_low < diff.min() and got.ci_high > diff.max()  # wider than [min, max]
    same = paired_difference(a, a)
    assert (same.ci_low, same.ci_high, same.p) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="2 paired seeds"):
        paired_difference(a, pd.Series([0.5], index=[0]))


def test_holm_matches_a_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    assert holm(p)[:4].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm(p)[4]) and holm([0.9, 0.8]).tolist() == [1.0, 1.0]  # 0.8 x 2, capped at 1


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
