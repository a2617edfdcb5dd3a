"""Threshold-free evaluation of frame probabilities with ``sed_scores_eval``.

The paper scores every loss at one threshold (0.5). A loss that changes how
calibrated the outputs are can win or lose there for reasons that have
nothing to do with detection. The metrics here integrate over all
thresholds instead, using `sed_scores_eval <https://github.com/fgnt/sed_scores_eval>`_
(Ebbers et al., ICASSP 2022), the maintained reference implementation:

- segment-based average precision (AP) and area under the ROC curve per
  class, on the same 1 s segments as the paper's F-score (a segment's score
  is the largest frame probability in it);
- the polyphonic sound detection score (PSDS, Bilen et al., 2020), an
  intersection-based, event-level measure, in the two DCASE scenarios:
  PSDS1 (DTC = GTC = 0.7, no cross-trigger penalty: exact localisation) and
  PSDS2 (DTC = GTC = 0.1, CTTC = 0.3, alpha_ct = 0.5: recognition, tolerant
  localisation), both with alpha_st = 1 and a maximum eFPR of 100 per hour;
  with alpha_st = 1 a system whose classes differ widely scores 0, so both
  are also given with alpha_st = 0 (``psds1_mean``, ``psds2_mean``: the
  area under the mean of the per-class curves).

Frame ``n`` of a file covers ``[n * hop, (n + 1) * hop)`` seconds, as in
:func:`sedlib.events.frames_to_events`.

PSDS is computed on a fixed grid of thresholds, as the DCASE evaluation
(``psds_eval``, 50 thresholds) does: scores are floored to multiples of
``1 / psds_levels`` before the event-level statistics, which leaves the
detections at every grid threshold exactly as they were and cuts the
number of operating points from one per distinct score (hundreds of
thousands at the study's scale, tens of minutes per run) to at most
``psds_levels``. ``psds_levels=None`` gives the exact, slow computation;
the tests bound the difference. Scenarios with the same detection criteria
share their intermediate statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sedlib.errors import DataError
from sedlib.evaluation.predictions import Predictions

#: DCASE PSDS scenarios (task 4 since 2021).
PSDS_SCENARIOS = {
    "psds1": {"dtc_threshold": 0.7, "gtc_threshold": 0.7, "alpha_ct": 0.0, "alpha_st": 1.0},
    "psds2": {
        "dtc_threshold": 0.1,
        "gtc_threshold": 0.1,
        "cttc_threshold": 0.3,
        "alpha_ct": 0.5,
        "alpha_st": 1.0,
    },
}
PSDS_SCENARIOS |= {
    f"{name}_mean": {**params, "alpha_st": 0.0} for name, params in list(PSDS_SCENARIOS.items())
}


@dataclass
class ThresholdFreeMetrics:
    """Threshold-free scores of one system on one split.

    Attributes
    ----------
    segment_ap, segment_auroc : float
        Mean over classes with reference segments of the per-class segment-based
        average precision and ROC AUC.
    psds, per_class
        See below; PSDS is computed over the classes with reference events.
    psds : dict
        ``{"psds1": value, "psds2": value, "psds1_mean": value, "psds2_mean": value}``
        (empty when not computed).
    per_class : pandas.DataFrame
        Indexed by label: ``ap``, ``auroc`` (NaN for a class without reference segments).
    """

    segment_ap: float
    segment_auroc: float
    psds: dict
    per_class: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready dictionary (undefined values as None)."""
        per_class = {
            label: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
            for label, row in self.per_class.iterrows()
        }
        return {
            "segment_ap": self.segment_ap,
            "segment_auroc": self.segment_auroc,
            **self.psds,
            "per_class": per_class,
        }


def score_dataframes(
    probs: Sequence[np.ndarray],
    files: Sequence[str],
    labels: Sequence[str],
    hop: float,
    durations: Sequence[float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Frame probabilities as ``sed_scores_eval`` score data frames, keyed by file.

    Parameters
    ----------
    probs : sequence of np.ndarray
        ``(frames, classes)`` per file.
    files : sequence of str
        File names, one per array.
    labels : sequence of str
        Class names, one per column.
    hop : float
        Frame hop in seconds.
    durations : sequence of float, optional
        File durations; the last frame's end is clipped to them.

    Returns
    -------
    dict of pandas.DataFrame
        Columns ``onset, offset, <label>...``, one row per frame.
    """
    create_score_dataframe = _sed_scores_eval().base_modules.scores.create_score_dataframe
    if len(probs) != len(files):
        raise DataError(f"{len(probs)} probability arrays for {len(files)} files")
    out = {}
    for k, (p, name) in enumerate(zip(probs, files, strict=True)):
        p = np.asarray(p, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != len(labels):
            raise DataError(
                f"probabilities of {name!r} have shape {p.shape}, expected (frames, {len(labels)})"
            )
        edges = np.arange(p.shape[0] + 1) * hop
        if durations is not None:
            end = float(durations[k])
            if end <= edges[-2]:
                raise DataError(
                    f"{name!r}: {p.shape[0]} frames of {hop} s do not fit in its duration {end} s"
                )
            edges[-1] = end
        out[str(name)] = _WritableScores(create_score_dataframe(p, edges, list(labels)))
    return out


class _WritableScores(pd.DataFrame):
    """Score frame whose ``to_numpy`` returns a writable copy.

    sed_scores_eval 0.0.4 hands ``scores[classes].to_numpy()`` to Cython
    functions typed with writable memoryviews; under pandas 3's copy-on-write
    that array is a read-only view and the call fails with "buffer source
    array is read-only". A copy per file costs microseconds.
    """

    @property
    def _constructor(self):
        return _WritableScores

    def to_numpy(self, *args, **kwargs) -> np.ndarray:
        return np.array(super().to_numpy(*args, **kwargs), copy=True)


def ground_truth_events(reference: pd.DataFrame, durations: dict[str, float]) -> dict[str, list]:
    """``{file: [(onset, offset, label), ...]}`` for every file, events cut at the file's end.

    Overlapping events of one class are merged (sed_scores_eval requires it);
    events that start at or after the end of their file are dropped, as the
    segment-based metrics drop them.
    """
    events: dict[str, list] = {str(f): [] for f in durations}
    for row in reference.itertuples(index=False):
        name = str(row.filename)
        if name not in events:
            continue
        offset = min(float(row.offset), float(durations[name]))
        if offset > row.onset:
            events[name].append((float(row.onset), offset, str(row.event_label)))
    return {k: _merge_overlaps(v) for k, v in events.items()}


def quantise(probs: np.ndarray, levels: int) -> np.ndarray:
    """Scores floored to multiples of ``1 / levels``: thresholds on that grid detect exactly as before.

    Examples
    --------
    >>> quantise(np.array([0.0, 0.019, 0.02, 0.999, 1.0]), 50)
    array([0.  , 0.  , 0.02, 0.98, 1.  ])
    """
    # the small offset keeps a value that lies on the grid (0.02 * 50 = 1.0000000000000002) on it
    return np.floor(np.asarray(probs, dtype=np.float64) * levels + 1e-9) / levels


def threshold_free_metrics(
    predictions: Predictions,
    segment_length: float = 1.0,
    psds: bool = True,
    psds_levels: int | None = 50,
) -> ThresholdFreeMetrics:
    """Segment-based AP and ROC AUC per class, and PSDS1/PSDS2, over all thresholds.

    Parameters
    ----------
    predictions : Predictions
        Probabilities, durations and reference events of the evaluated files.
    segment_length : float
        Segment length of AP and AUC (the paper's F-score uses 1 s).
    psds : bool
        Also compute the PSDS of :data:`PSDS_SCENARIOS`.
    psds_levels : int or None
        Thresholds of the PSDS grid (scores floored to multiples of
        ``1 / psds_levels``; the DCASE evaluation uses 50). None: every
        distinct score is a threshold (exact, and slow at the study's scale).

    Returns
    -------
    ThresholdFreeMetrics
    """
    sse = _sed_scores_eval()
    labels = list(predictions.labels)
    durations = predictions.file_durations
    truth = ground_truth_events(predictions.reference, durations)
    present = {label for events in truth.values() for *_, label in events}
    if not present:
        raise DataError("the reference has no event in these files: nothing to evaluate")
    # classes without reference events have no AP, AUC or PSDS curve: leave them out
    kept = [k for k, c in enumerate(labels) if c in present]
    names = [labels[k] for k in kept]
    probs = [np.asarray(p)[:, kept] for p in predictions.probs]
    scores = score_dataframes(
        probs, predictions.files, names, predictions.hop, predictions.durations
    )
    kwargs = {"segment_length": segment_length}
    ap, _ = sse.segment_based.average_precision(scores, truth, durations, **kwargs)
    auroc, _ = sse.segment_based.auroc(scores, truth, durations, **kwargs)
    per_class = pd.DataFrame(
        {
            "ap": [float(ap[c]) if c in present else np.nan for c in labels],
            "auroc": [float(auroc[c]) if c in present else np.nan for c in labels],
        },
        index=pd.Index(labels, name="event_label"),
    )
    results: dict[str, float] = {}
    if psds:
        if psds_levels is not None:
            probs = [quantise(p, psds_levels) for p in probs]
            scores = score_dataframes(
                probs, predictions.files, names, predictions.hop, predictions.durations
            )
        results = _psds_scenarios(sse, scores, truth, durations, cross_trigger=len(names) > 1)
        results["psds_levels"] = psds_levels
    return ThresholdFreeMetrics(
        segment_ap=float(per_class["ap"].mean()),
        segment_auroc=float(per_class["auroc"].mean()),
        psds=results,
        per_class=per_class,
    )


def _psds_scenarios(
    sse, scores: dict, truth: dict, durations: dict, cross_trigger: bool = True
) -> dict[str, float]:
    """Every scenario of :data:`PSDS_SCENARIOS`; those with equal criteria share their statistics.

    With a single evaluated class (``cross_trigger`` False) no detection can
    cross-trigger another class: the cross-trigger criterion is dropped
    (``alpha_ct`` 0), which is the scenario's value there. Passing it would
    make sed_scores_eval 0.0.4 index an empty dictionary of cross-trigger
    statistics (``TypeError: unhashable type: 'numpy.ndarray'``).
    """
    intersection = sse.intersection_based
    results, deltas_by_criteria = {}, {}
    for name, scenario in PSDS_SCENARIOS.items():
        params = scenario if cross_trigger else _without_cross_trigger(scenario)
        criteria = tuple(
            params.get(k) for k in ("dtc_threshold", "gtc_threshold", "cttc_threshold")
        )
        if criteria not in deltas_by_criteria:
            deltas_by_criteria[criteria] = intersection.intermediate_statistics_deltas(
                scores,
                truth,
                dtc_threshold=params["dtc_threshold"],
                gtc_threshold=params["gtc_threshold"],
                cttc_threshold=params.get("cttc_threshold"),
            )
        value, *_ = intersection.psds(
            scores, truth, durations, deltas=deltas_by_criteria[criteria], max_efpr=100.0, **params
        )
        results[name] = float(value)
    return results


def _without_cross_trigger(params: dict) -> dict:
    """A PSDS scenario without its cross-trigger criterion (one class: nothing to cross-trigger).

    Examples
    --------
    >>> sorted(_without_cross_trigger(PSDS_SCENARIOS["psds2"]).items())
    [('alpha_ct', 0.0), ('alpha_st', 1.0), ('dtc_threshold', 0.1), ('gtc_threshold', 0.1)]
    """
    out = {k: v for k, v in params.items() if k != "cttc_threshold"}
    out["alpha_ct"] = 0.0
    return out


def _sed_scores_eval():
    """The package, imported without the pkg_resources deprecation notice of its sed_eval dependency."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated", category=UserWarning
        )
        package = importlib.import_module("sed_scores_eval")
        for name in ("base_modules.scores", "segment_based", "intersection_based"):
            importlib.import_module(f"sed_scores_eval.{name}")
    return package


def check_available() -> None:
    """Import what the threshold-free metrics need (``sed_scores_eval``), or raise ``ImportError``.

    A run scores them after its training: the preflight calls this so that
    a missing package fails at the first second, not after the last epoch.
    """
    _sed_scores_eval()


def _merge_overlaps(events: list) -> list:
    """Merge overlapping or touching events of the same class (sed_scores_eval requires it)."""
    merged: list = []
    for on, off, label in sorted(events, key=lambda e: (e[2], e[0], e[1])):
        if merged and merged[-1][2] == label and on <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], off), label)
        else:
            merged.append((on, off, label))
    return sorted(merged)
