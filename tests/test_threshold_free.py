"""Threshold-free metrics: sed_scores_eval as wired here against independent numpy references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from sedlib.evaluation import Predictions
from sedlib.evaluation.threshold_free import (
    ground_truth_events,
    quantise,
    score_dataframes,
    threshold_free_metrics,
)

LABELS = ["long", "short", "never"]
HOP = 0.02


def segment_table(probs, reference, files, durations, seg=1.0):
    """Per-class segment scores (max frame probability) and segment truth, written directly."""
    scores, truth = {c: [] for c in LABELS}, {c: [] for c in LABELS}
    for p, f, d in zip(probs, files, durations, strict=True):
        n_seg = int(np.ceil(d / seg - 1e-9))
        frame_start = np.arange(len(p)) * HOP
        for k in range(n_seg):
            lo, hi = k * seg, min((k + 1) * seg, d)
            inside = (frame_start < hi - 1e-9) & (frame_start + HOP > lo + 1e-9)
            ev = reference[reference["filename"] == f]
            for c, label in enumerate(LABELS):
                scores[label].append(p[inside, c].max())
                e = ev[ev["event_label"] == label]
                truth[label].append(bool(((e["onset"] < hi) & (e["offset"] > lo)).any()))
    return {c: np.array(v) for c, v in scores.items()}, {c: np.array(v) for c, v in truth.items()}


def reference_ap(score, positive):
    """AP as the sum over distinct thresholds of precision times the recall increase."""
    ap, last_recall = 0.0, 0.0
    for t in np.unique(score)[::-1]:
        detected = score >= t
        tp = (detected & positive).sum()
        recall = tp / positive.sum()
        ap += tp / detected.sum() * (recall - last_recall)
        last_recall = recall
    return ap


@pytest.fixture
def system():
    rng = np.random.default_rng(7)
    files, durations = ["a.wav", "b.wav", "c.wav"], [12.0, 9.5, 20.0]
    rows = [
        ("a.wav", 0.0, 9.0, "long"),
        ("a.wav", 3.2, 3.4, "short"),
        ("a.wav", 7.05, 7.2, "short"),
        ("b.wav", 1.0, 9.5, "long"),
        ("b.wav", 4.1, 4.3, "short"),
        ("c.wav", 12.0, 19.0, "long"),
        ("c.wav", 2.5, 2.7, "short"),
        ("c.wav", 2.6, 2.9, "short"),  # overlapping events of one class
    ]
    reference = pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])
    probs = []
    for f, d in zip(files, durations, strict=True):
        n = round(d / HOP)
        p = rng.random((n, 3)) * 0.6
        for _, on, off, label in (r for r in rows if r[0] == f):
            p[int(on / HOP) : int(off / HOP), LABELS.index(label)] += 0.4 * rng.random()
        probs.append(np.round(np.clip(p, 0, 1), 3))  # ties, as with float16 outputs
    return probs, files, durations, reference


def metrics(probs, files, durations, reference, **kwargs):
    return threshold_free_metrics(
        Predictions(files, probs, durations, LABELS, HOP, reference), **kwargs
    )


def test_segment_ap_and_auroc_match_independent_reference(system):
    probs, files, durations, reference = system
    got = metrics(probs, files, durations, reference, psds=False)
    scores, truth = segment_table(probs, reference, files, durations)
    for label in ("long", "short"):
        s, t = scores[label], truth[label]
        assert got.per_class.loc[label, "ap"] == pytest.approx(reference_ap(s, t), abs=1e-9)
        u = mannwhitneyu(s[t], s[~t]).statistic
        assert got.per_class.loc[label, "auroc"] == pytest.approx(u / (t.sum() * (~t).sum()))
    assert np.isnan(got.per_class.loc["never", "ap"])
    assert got.segment_ap == pytest.approx(got.per_class["ap"].mean())


def test_perfect_scores_reach_one_and_psds_orders_systems(system):
    probs, files, durations, reference = system
    perfect = []
    for p, f in zip(probs, files, strict=True):
        q = np.zeros_like(p)
        for row in reference[reference["filename"] == f].itertuples():
            q[
                round(row.onset / HOP) : round(row.offset / HOP),
                LABELS.index(row.event_label),
            ] = 1
        perfect.append(q)
    best = metrics(perfect, files, durations, reference)
    noisy = metrics(probs, files, durations, reference)
    rng = np.random.default_rng(0)
    chance = [rng.random(p.shape) for p in probs]
    blind = metrics(chance, files, durations, reference)
    assert best.segment_ap == pytest.approx(1.0) and best.segment_auroc == pytest.approx(1.0)
    for name in ("psds1", "psds2", "psds1_mean", "psds2_mean"):
        assert 0.0 <= blind.psds[name] < best.psds[name] <= 1.0 + 1e-9, (name, blind.psds)
        assert noisy.psds[name] <= best.psds[name], (name, noisy.psds)
    assert noisy.psds["psds1_mean"] < best.psds["psds1_mean"]
    assert best.psds["psds1_mean"] > 0.9


def test_score_frames_cover_the_file_and_errors_name_the_file(system):
    probs, files, durations, _ = system
    frames = score_dataframes(probs, files, LABELS, HOP, durations)
    assert frames["b.wav"]["offset"].iloc[-1] == pytest.approx(9.5)
    assert frames["a.wav"]["onset"].iloc[1] == pytest.approx(HOP)
    with pytest.raises(ValueError, match=r"c\.wav"):
        score_dataframes(probs, files, LABELS, HOP, [12.0, 9.5, 5.0])
    with pytest.raises(ValueError, match=r"a.wav.*\(frames, 2\)"):
        score_dataframes(probs, files, LABELS[:2], HOP)


def test_ground_truth_merges_overlaps_cuts_at_the_end_and_keeps_empty_files(system):
    *_, reference = system
    late = pd.DataFrame(
        [["a.wav", 11.5, 12.5, "long"], ["a.wav", 12.5, 13.0, "short"]], columns=reference.columns
    )
    truth = ground_truth_events(
        pd.concat([reference, late]), {"a.wav": 12.0, "c.wav": 20.0, "empty.wav": 5.0}
    )
    assert truth["empty.wav"] == []
    assert [e for e in truth["c.wav"] if e[2] == "short"] == [(2.5, 2.9, "short")]
    assert (11.5, 12.0, "long") in truth["a.wav"]  # cut at the end; the event after it is dropped
    assert all(e[1] <= 12.0 for e in truth["a.wav"])


def test_quantised_scores_detect_exactly_at_the_grid_thresholds():
    p = np.random.default_rng(1).random(10_000)
    q = quantise(p, 50)
    assert len(np.unique(q)) <= 51
    for k in range(1, 51):
        np.testing.assert_array_equal(q >= k / 50, p >= k / 50)
    assert quantise(np.array([0.02, 0.06, 1.0]), 50).tolist() == [0.02, 0.06, 1.0]


def test_psds_on_the_threshold_grid_is_close_to_the_exact_value(system):
    """The 50-threshold grid (as the DCASE evaluation) against every distinct score as a threshold."""
    probs, files, durations, reference = system
    grid = metrics(probs, files, durations, reference)
    exact = metrics(probs, files, durations, reference, psds_levels=None)
    assert grid.psds["psds_levels"] == 50 and exact.psds["psds_levels"] is None
    for name in ("psds1", "psds2", "psds1_mean", "psds2_mean"):
        assert grid.psds[name] == pytest.approx(exact.psds[name], abs=0.02), name
    assert grid.segment_ap == exact.segment_ap  # AP is always exact


def test_unknown_reference_label_is_named(system):
    probs, files, durations, reference = system
    bad = pd.concat(
        [reference, pd.DataFrame([["a.wav", 1.0, 2.0, "cat"]], columns=reference.columns)]
    )
    with pytest.raises(ValueError, match="cat"):
        metrics(probs, files, durations, bad)
