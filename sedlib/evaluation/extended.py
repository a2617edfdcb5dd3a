"""The evaluation of one run beyond the paper's fixed threshold.

Every run's record carries, next to the paper's metrics at threshold 0.5:

- ``tuned``: per-class thresholds chosen on each fold's validation files
  (:mod:`sedlib.evaluation.thresholds`) and the metrics of the pooled test
  predictions at those thresholds (each file scored with the thresholds of
  its own fold);
- ``threshold_free``: segment-based AP and ROC AUC per class and PSDS of
  the pooled test predictions (:mod:`sedlib.evaluation.threshold_free`).

A part that fails (e.g. a test set too small for a metric) is recorded as
``{"error": "..."}`` and the others are kept: a failure here never loses
the training it evaluates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from sedlib.evaluation.predictions import Predictions
from sedlib.evaluation.threshold_free import threshold_free_metrics
from sedlib.evaluation.thresholds import tune_thresholds
from sedlib.metrics import segment_based_metrics

log = logging.getLogger(__name__)


def extended_report(
    folds: Sequence[tuple[str, Predictions, Predictions]],
    *,
    threshold: float = 0.5,
    time_resolution: float = 1.0,
    psds_levels: int | None = 50,
    strict: bool = False,
) -> dict[str, Any]:
    """Tuned-threshold and threshold-free results of one run.

    A part that fails does not take the other, nor the run, with it: unless
    ``strict``, its entry is ``{"error": "<exception>: <message>"}`` (see
    :func:`failed_parts`) and a warning is logged.

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
    strict : bool
        Raise the error of a failing part instead of recording it.

    Returns
    -------
    dict
        ``{"tuned": {...}, "threshold_free": {...}}``, JSON-ready.
    """
    parts = {
        "tuned": lambda: tuned_report(folds, threshold=threshold, time_resolution=time_resolution),
        "threshold_free": lambda: threshold_free_report(
            Predictions.concat([test for _, _, test in folds]),
            time_resolution=time_resolution,
            psds_levels=psds_levels,
        ),
    }
    return {name: _guarded(name, part, strict) for name, part in parts.items()}


def failed_parts(report: dict[str, Any]) -> dict[str, str]:
    """``{part: error}`` of the parts of an extended report (or of a run record's) that failed.

    Examples
    --------
    >>> failed_parts({"tuned": {"seconds": 1.0}, "threshold_free": {"error": "TypeError: x"}})
    {'threshold_free': 'TypeError: x'}
    """
    return {
        name: str(part["error"])
        for name, part in report.items()
        if isinstance(part, dict) and "error" in part
    }


def _guarded(name: str, part: Callable[[], dict], strict: bool) -> dict:
    """``part()``, or ``{"error": ...}`` when it raises (unless ``strict``)."""
    try:
        return part()
    except Exception as err:
        if strict:
            raise
        log.warning("the %s evaluation failed and is left out of the record: %r", name, err)
        return {"error": f"{type(err).__name__}: {err}"}


def tuned_report(
    folds: Sequence[tuple[str, Predictions, Predictions]],
    *,
    threshold: float = 0.5,
    time_resolution: float = 1.0,
) -> dict[str, Any]:
    """Per-class thresholds tuned on each fold's validation files, and the pooled test metrics at them."""
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
    return {
        "thresholds": thresholds,
        "validation_f": validation_f,
        "evaluation": at_tuned.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
    }


def threshold_free_report(
    pooled: Predictions, *, time_resolution: float = 1.0, psds_levels: int | None = 50
) -> dict[str, Any]:
    """Threshold-free metrics of the pooled test predictions, with the seconds they took."""
    start = time.perf_counter()
    free = threshold_free_metrics(pooled, segment_length=time_resolution, psds_levels=psds_levels)
    return {**free.to_dict(), "seconds": round(time.perf_counter() - start, 2)}
