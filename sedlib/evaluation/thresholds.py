"""Per-class detection thresholds tuned on the validation split.

The paper applies one threshold, 0.5, to every class and every loss. A loss
that shifts the output probabilities (a focal factor pushes them towards
0.5) can then win or lose for calibration alone. Tuning one threshold per
class on held-out development files, and only then scoring the test files,
separates the two effects.

A class's segment-based F-score depends only on its own threshold. Every
segment's detection score is computed once (:mod:`sedlib.evaluation.segments`),
so the F-score of every class at every candidate threshold follows by
counting, identical to scoring each candidate with the paper's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sedlib.errors import ConfigError
from sedlib.evaluation.predictions import Predictions
from sedlib.evaluation.segments import class_f_at, segment_scores

#: Candidate thresholds: 0.02, 0.04, ..., 0.98.
DEFAULT_CANDIDATES = tuple(float(t) for t in np.round(np.arange(0.02, 0.99, 0.02), 2))


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
    predictions: Predictions,
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    time_resolution: float = 1.0,
) -> pd.DataFrame:
    """Segment-based F-score of every class at every candidate threshold.

    Parameters
    ----------
    predictions : Predictions
        Probabilities, durations and reference events of the files.
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
        raise ConfigError(f"candidates must be non-empty and lie in (0, 1], got {candidates}")
    scores, reference = segment_scores(predictions, time_resolution)
    return pd.DataFrame(
        class_f_at(scores, reference, candidates),
        index=pd.Index(candidates, name="threshold"),
        columns=list(predictions.labels),
    )


def tune_thresholds(
    predictions: Predictions,
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    time_resolution: float = 1.0,
    default: float = 0.5,
) -> TunedThresholds:
    """Choose each class's threshold to maximise its F-score on these (validation) files.

    Ties are broken towards ``default``; a class whose F-score is 0 at every
    candidate (e.g. no validation event) keeps ``default``.

    Parameters
    ----------
    predictions : Predictions
        The validation files.
    candidates, time_resolution
        As in :func:`class_f_curves`.
    default : float
        The threshold kept when tuning has nothing to go on (the paper's 0.5).

    Returns
    -------
    TunedThresholds
    """
    curves = class_f_curves(predictions, candidates, time_resolution)
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
