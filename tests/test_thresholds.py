"""Per-class threshold tuning: curves against sed_eval and against scoring every threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import sed_eval_segment_metrics

from sedlib.evaluation import Predictions
from sedlib.evaluation.thresholds import class_f_curves, tune_thresholds
from sedlib.events import frames_to_events

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
    return Predictions(files, probs, durations, LABELS, HOP, reference)


def test_curves_match_sed_eval(system):
    curves = class_f_curves(system, candidates=[0.2, 0.5])
    for t in (0.2, 0.5):
        estimated = pd.concat(
            [
                frames_to_events(p, LABELS, t, HOP, f)
                for p, f in zip(system.probs, system.files, strict=True)
            ]
        )
        ref = sed_eval_segment_metrics(
            system.reference, estimated, LABELS, 1.0, system.file_durations
        )
        classwise = ref.results_class_wise_metrics()
        for label in LABELS:
            expected = classwise[label]["f_measure"]["f_measure"]
            expected = 0.0 if np.isnan(expected) else expected
            assert curves.loc[t, label] == pytest.approx(expected)


@pytest.mark.parametrize("r", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_counting_equals_scoring_every_threshold(r, seed):
    """The segment-score shortcut gives exactly what thresholding and scoring each candidate gives.

    Files whose length is not a multiple of the hop or of the segment, events
    past the end of their file, overlapping events and near-tie probabilities.
    """
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d"]
    files, durations, probs, rows = [], [], [], []
    for k in range(5):
        duration = float(np.round(rng.uniform(3, 25), 3))
        frames = int(duration / HOP)
        p = np.clip(rng.random((frames, 4)) ** 2 + rng.normal(0, 0.02, (frames, 4)), 0, 1)
        p[rng.random(frames) < 0.3, 0] = 0.5  # exactly on a candidate
        files.append(f"f{k}.wav"), durations.append(duration), probs.append(p)
        for _ in range(rng.integers(1, 8)):
            on = float(rng.uniform(0, duration))
            rows.append(
                (f"f{k}.wav", on, on + float(rng.exponential(2.0)), str(rng.choice(labels[:3])))
            )
    reference = pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])
    predictions = Predictions(files, probs, durations, labels, HOP, reference)
    candidates = [0.02, 0.1, 0.25, 0.5, 0.77, 0.98, 1.0]
    fast = class_f_curves(predictions, candidates, time_resolution=r)
    for t in candidates:
        slow = predictions.segment_metrics(t, r).per_class["f"].astype(float).fillna(0.0)
        np.testing.assert_array_equal(fast.loc[t].to_numpy(), slow.to_numpy())


def test_tuned_thresholds_find_the_quiet_class_and_keep_default_without_events(system):
    tuned = tune_thresholds(system)
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
    with pytest.raises(ValueError, match="candidates"):
        class_f_curves(system, candidates=[0.0, 0.5])
