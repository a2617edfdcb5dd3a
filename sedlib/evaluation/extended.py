"""The evaluation of one run beyond the paper's fixed threshold.

Every run's record carries, next to the paper's metrics at threshold 0.5:

- ``tuned``: per-class thresholds chosen on each fold's validation files
  (:mod:`sedlib.evaluation.thresholds`) and the metrics of the pooled test
  predictions at those thresholds (each file scored with the thresholds of
  its own fold);
- ``threshold_free``: segment-based AP and ROC AUC per class and PSDS of
  the pooled test predictions (:mod:`sedlib.evaluation.threshold_free`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from sedlib.evaluation.predictions import Predictions
from sedlib.evaluation.threshold_free import threshold_free_metrics
from sedlib.evaluation.thresholds import tune_thresholds
from sedlib.metrics import segment_based_metrics


def extended_report(
    folds: Sequence[tuple[str, Predictions, Predictions]],
    *,
    threshold: float = 0.5,
    time_resolution: float = 1.0,
    psds_levels: int | None = 50,
) -> dict[str, Any]:
    """Tuned-threshold and threshold-free results of one run.

    Parameters
    ----------
    folds : sequence of (name, validation, test)
        Per fold (one under the development -> evaluation protocol): its
        name, the predictions of its validation files and of its test files.
    threshold : float
        The run's fixed threshold, kept for a class that tuning cannot inform.
    time_resolution : float
        Segment length in seconds.
    psds_levels : int or None
        Threshold grid of PSDS (see :func:`~sedlib.evaluation.threshold_free.threshold_free_metrics`).

    Returns
    -------
    dict
        ``{"tuned": {...}, "threshold_free": {...}}``, JSON-ready.
    """
    start = time.perf_counter()
    thresholds, validation_f, detected = {}, {}, []
    for name, validation, test in folds:
        tuned = tune_thresholds(validation, time_resolution=time_resolution, default=threshold)
        thresholds[name] = tuned.thresholds
        validation_f[name] = {label: float(tuned.curves[label].max()) for label in test.labels}
        detected.append(test.events(tuned.as_array(test.labels)))
    pooled = Predictions.concat([test for _, _, test in folds])
    at_tuned = segment_based_metrics(
        pooled.reference,
        pd.concat(detected, ignore_index=True),
        pooled.labels,
        time_resolution=time_resolution,
        file_durations=pooled.file_durations,
    )
    tuning_seconds = time.perf_counter() - start
    start = time.perf_counter()
    free = threshold_free_metrics(pooled, segment_length=time_resolution, psds_levels=psds_levels)
    return {
        "tuned": {
            "thresholds": thresholds,
            "validation_f": validation_f,
            "evaluation": at_tuned.to_dict(),
            "seconds": round(tuning_seconds, 2),
        },
        "threshold_free": {**free.to_dict(), "seconds": round(time.perf_counter() - start, 2)},
    }
