"""Per-segment scores: what every threshold would detect, computed once.

A class is detected in a segment at threshold ``t`` exactly when some frame
of an event that touches the segment has a probability of at least ``t``.
With the segment rule of :mod:`sedlib.metrics` (an event from frame ``a`` to
``b`` covers segments ``floor(a hop / r)`` to ``ceil(b hop / r)``), that is
the largest probability among the frames whose own span covers the segment.
So one pass over the frames gives, for every segment and class, the score
above which it is detected, and the F-score of every class at every
threshold follows by counting: exactly the numbers that thresholding,
:func:`~sedlib.events.frames_to_events` and
:func:`~sedlib.metrics.segment_based_metrics` give one threshold at a time
(checked against them in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sedlib.evaluation.predictions import Predictions


def file_segment_scores(probs: np.ndarray, hop: float, duration: float, r: float) -> np.ndarray:
    """``(segments, classes)`` detection scores of one file (``-inf``: never detected)."""
    n_segments = int(np.ceil(duration * 1 / float(r)))
    scores = np.full((n_segments, probs.shape[1]), -np.inf)
    n = np.arange(probs.shape[0])
    first = np.floor((n * hop) * 1 / float(r)).astype(np.int64)
    stop = np.minimum(np.ceil(((n + 1) * hop) * 1 / float(r)).astype(np.int64), n_segments)
    for extra in range(int((stop - first).max(initial=0))):
        seg = first + extra
        take = seg < stop
        np.maximum.at(scores, seg[take], probs[take].astype(np.float64))
    return scores


def reference_segments(predictions: Predictions, r: float) -> list[np.ndarray]:
    """Boolean ``(segments, classes)`` reference activity per file, events cut at the file's end."""
    label_index = {label: k for k, label in enumerate(predictions.labels)}
    by_file = dict(tuple(predictions.reference.groupby("filename", sort=False)))
    rolls = []
    for name, duration in zip(predictions.files, predictions.durations, strict=True):
        n_segments = int(np.ceil(duration * 1 / float(r)))
        diff = np.zeros((n_segments + 1, len(predictions.labels)), dtype=np.int64)
        events = by_file.get(name)
        if events is not None and len(events):
            first = np.floor(events["onset"].to_numpy(np.float64) * 1 / float(r)).astype(np.int64)
            stop = np.ceil(events["offset"].to_numpy(np.float64) * 1 / float(r)).astype(np.int64)
            stop = np.minimum(stop, n_segments)
            cls = events["event_label"].map(label_index).to_numpy()
            keep = first < stop
            np.add.at(diff, (first[keep], cls[keep]), 1)
            np.add.at(diff, (stop[keep], cls[keep]), -1)
        rolls.append(np.cumsum(diff[:-1], axis=0) > 0)
    return rolls


def segment_scores(predictions: Predictions, r: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Detection scores and reference activity of every segment of every file.

    Returns
    -------
    (np.ndarray, np.ndarray)
        float64 ``(segments, classes)`` scores and boolean reference
        activity, the files' segments stacked in order.
    """
    scores = [
        file_segment_scores(p, predictions.hop, d, r)
        for p, d in zip(predictions.probs, predictions.durations, strict=True)
    ]
    n_classes = len(predictions.labels)
    empty = np.zeros((0, n_classes))
    return (
        np.concatenate(scores) if scores else empty,
        np.concatenate(reference_segments(predictions, r)) if scores else empty.astype(bool),
    )


def class_f_at(
    scores: np.ndarray, reference: np.ndarray, thresholds: Sequence[float]
) -> np.ndarray:
    """Segment-based F-score of every class at every threshold, undefined counted as 0.

    Parameters
    ----------
    scores, reference : np.ndarray
        From :func:`segment_scores`.
    thresholds : sequence of float
        Candidate thresholds.

    Returns
    -------
    np.ndarray
        ``(thresholds, classes)``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    out = np.zeros((len(t), scores.shape[1]))
    for c in range(scores.shape[1]):
        all_sorted = np.sort(scores[:, c])
        ref_sorted = np.sort(scores[reference[:, c], c])
        n_sys = len(all_sorted) - np.searchsorted(all_sorted, t, side="left")
        tp = len(ref_sorted) - np.searchsorted(ref_sorted, t, side="left")
        n_ref = int(reference[:, c].sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(n_sys > 0, tp / np.maximum(n_sys, 1), np.nan)
            recall = tp / n_ref if n_ref else np.full(len(t), np.nan)
            f = 2 * precision * recall / (precision + recall)
        f = np.where((precision == 0) & (recall == 0), 0.0, f)
        out[:, c] = np.nan_to_num(f, nan=0.0)
    return out
