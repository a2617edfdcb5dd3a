"""Scoring frame probabilities: one :class:`Predictions` object in, every measure out.

- :mod:`~sedlib.evaluation.predictions`: the probabilities, durations and
  reference events of a set of files (saved next to every run);
- :mod:`~sedlib.evaluation.segments`: per-segment detection scores, from which
  the F-score at every threshold follows;
- :mod:`~sedlib.evaluation.thresholds`: per-class thresholds tuned on validation files;
- :mod:`~sedlib.evaluation.threshold_free`: segment AP / ROC AUC and PSDS;
- :mod:`~sedlib.evaluation.extended`: all of the above for one run, pooled over folds.
"""

from sedlib.evaluation.predictions import Predictions

__all__ = ["Predictions"]
