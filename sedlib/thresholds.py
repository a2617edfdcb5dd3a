"""Per-class detection thresholds tuned on the validation split.

The paper applies one threshold, 0.5, to every class and every loss. A loss
that shifts the output probabilities (a focal factor pushes them towards
0.5) can then win or lose for calibration alone. Tuning one threshold per
class on held-out development files, and only then scoring the evaluation
split, separates the two effects.

A class's segment-based F-score depends only on its own threshold, so the
search is one pass over a grid of candidate thresholds applied to all
classes at once, and an independent choice per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sedlib.metrics import frames_to_events, segment_based_metrics

#: Candidate thresholds: 0.02, 0.04, ..., 0.98.
DEFAULT_CANDIDATES = tuple(np.round(np.arange(0.02, 0.99, 0.02), 2))


@dataclass
class TunedThresholds:
    """Thresholds per class and the validation F-scores they were chosen from.

    Attributes
    ----------
    thresholds : dict
        ``{label: threshold}``.
    curves : pandas.DataFrame
        Validation F-score per candidate threshold (rows) and class (columns),
        undefined counted as 0.
    """

    thresholds: dict[str, float]
    curves: pd.DataFrame

    def as_array(self, labels: Sequence[str]) -> np.ndarray:
        """Thresholds in the order of ``labels``."""
        return np.array([self.thresholds[str(label)] for label in labels], dtype=np.float64)


def class_f_curves(
    probs: Sequence[np.ndarray],
    files: Sequence[str],
    labels: Sequence[str],
    reference: pd.DataFrame,
    durations: Sequence[float],
    hop: float = 0.02,
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    time_resolution: float = 1.0,
) -> pd.DataFrame:
    """Segment-based F-score of every class at every candidate threshold.

    Parameters
    ----------
    probs : sequence of np.ndarray
        ``(frames, classes)`` probabilities per file.
    files, labels : sequence of str
        File names (order of ``probs``) and class names (columns).
    reference : pandas.DataFrame
        Annotations of those files.
    durations : sequence of float
        File durations in seconds.
    hop : float
        Frame hop in seconds.
    candidates : sequence of float
        Thresholds to try, each in (0, 1].
    time_resolution : float
        Segment length in seconds.

    Returns
    -------
    pandas.DataFrame
        Rows: candidates; columns: labels; undefined F counted as 0.
    """
    candidates = [float(t) for t in candidates]
    if not candidates or min(candidates) <= 0 or max(candidates) > 1:
        raise ValueError(f"candidates must be non-empty and lie in (0, 1], got {candidates}")
    labels = [str(lbl) for lbl in labels]
    wanted = reference[reference["filename"].isin(set(files))]
    file_durations = dict(zip(files, map(float, durations), strict=True))
    rows = {}
    for t in candidates:
        estimated = pd.concat(
            [frames_to_events(p, labels, t, hop, f) for p, f in zip(probs, files, strict=True)],
            ignore_index=True,
        )
        result = segment_based_metrics(
            wanted,
            estimated,
            labels,
            time_resolution=time_resolution,
            file_durations=file_durations,
        )
        rows[t] = result.per_class["f"].astype(float).fillna(0.0)
    curves = pd.DataFrame(rows).T
    curves.index.name = "threshold"
    return curves[labels]


def tune_thresholds(
    probs: Sequence[np.ndarray],
    files: Sequence[str],
    labels: Sequence[str],
    reference: pd.DataFrame,
    durations: Sequence[float],
    hop: float = 0.02,
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    time_resolution: float = 1.0,
    default: float = 0.5,
) -> TunedThresholds:
    """Choose each class's threshold to maximise its F-score on these (validation) files.

    Ties are broken towards ``default``; a class whose F-score is 0 at every
    candidate (e.g. no validation event) keeps ``default``.

    Parameters
    ----------
    probs, files, labels, reference, durations, hop, candidates, time_resolution
        As in :func:`class_f_curves`.
    default : float
        The threshold kept when tuning has nothing to go on (the paper's 0.5).

    Returns
    -------
    TunedThresholds
    """
    curves = class_f_curves(
        probs, files, labels, reference, durations, hop, candidates, time_resolution
    )
    grid = curves.index.to_numpy(dtype=np.float64)
    chosen = {}
    for label in curves.columns:
        f = curves[label].to_numpy()
        if f.max() <= 0:
            chosen[label] = float(default)
            continue
        best = np.flatnonzero(f >= f.max() - 1e-12)
        chosen[label] = float(grid[best[np.argmin(np.abs(grid[best] - default))]])
    return TunedThresholds(chosen, curves)
