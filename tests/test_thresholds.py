"""Per-class threshold tuning: curves against sed_eval, choices against a brute-force search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import sed_eval_segment_metrics

from sedlib.metrics import frames_to_events
from sedlib.thresholds import class_f_curves, tune_thresholds

LABELS = ["quiet", "loud", "absent"]
HOP = 0.02


@pytest.fixture
def system():
    """'quiet' events score about 0.3 over a 0.1 floor; 'loud' ones about 0.8."""
    rng = np.random.default_rng(3)
    files, durations = ["x.wav", "y.wav"], [20.0, 15.0]
    rows = [
        ("x.wav", 1.0, 2.5, "quiet"),
        ("x.wav", 6.0, 6.4, "quiet"),
        ("x.wav", 3.0, 9.0, "loud"),
        ("y.wav", 4.2, 5.0, "quiet"),
        ("y.wav", 10.0, 14.0, "loud"),
    ]
    reference = pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])
    probs = []
    for f, d in zip(files, durations, strict=True):
        p = 0.1 * rng.random((round(d / HOP), 3))
        for _, on, off, label in (r for r in rows if r[0] == f):
            level = 0.3 if label == "quiet" else 0.8
            p[int(on / HOP) : int(off / HOP), LABELS.index(label)] = level + 0.05 * rng.random()
        probs.append(p)
    return probs, files, durations, reference


def test_curves_match_sed_eval(system):
    probs, files, durations, reference = system
    curves = class_f_curves(probs, files, LABELS, reference, durations, HOP, candidates=[0.2, 0.5])
    for t in (0.2, 0.5):
        estimated = pd.concat(
            [frames_to_events(p, LABELS, t, HOP, f) for p, f in zip(probs, files, strict=True)]
        )
        ref = sed_eval_segment_metrics(
            reference, estimated, LABELS, 1.0, dict(zip(files, durations, strict=True))
        )
        classwise = ref.results_class_wise_metrics()
        for label in LABELS:
            expected = classwise[label]["f_measure"]["f_measure"]
            expected = 0.0 if np.isnan(expected) else expected
            assert curves.loc[t, label] == pytest.approx(expected)


def test_tuned_thresholds_find_the_quiet_class_and_keep_default_without_events(system):
    probs, files, durations, reference = system
    tuned = tune_thresholds(probs, files, LABELS, reference, durations, HOP)
    assert 0.1 < tuned.thresholds["quiet"] <= 0.3  # 0.5 would miss it entirely
    assert tuned.curves.loc[0.5, "quiet"] == 0.0
    assert tuned.thresholds["absent"] == 0.5
    # among the thresholds with the best F, the one closest to 0.5
    f = tuned.curves["loud"]
    best = f.index[f >= f.max() - 1e-12]
    assert tuned.thresholds["loud"] == best[np.argmin(np.abs(best - 0.5))] == 0.5
    for label in ("quiet", "loud"):
        assert tuned.curves.loc[tuned.thresholds[label], label] == tuned.curves[label].max()
    np.testing.assert_array_equal(tuned.as_array(LABELS), [tuned.thresholds[c] for c in LABELS])


def test_bad_candidates_are_named(system):
    probs, files, durations, reference = system
    with pytest.raises(ValueError, match="candidates"):
        class_f_curves(probs, files, LABELS, reference, durations, HOP, candidates=[0.0, 0.5])
