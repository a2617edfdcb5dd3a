"""sedlib: sound event detection with a duration robust loss.

The science sits on top, in small modules that import nothing else from sedlib:

- :mod:`sedlib.features`: 64-band log-mel energies (40 ms window, 20 ms hop);
- :mod:`sedlib.model`: the CRNN of the paper's Table 3;
- :mod:`sedlib.losses`: BCE (E1), inverse-frequency BCE (E2), the duration
  robust loss (E3) and later imbalance losses, with a registry by name;
- :mod:`sedlib.events`: frame probabilities to events, events to frame labels;
- :mod:`sedlib.metrics`: segment-based F-score and error rate, identical to
  ``sed_eval`` and vectorized;
- :mod:`sedlib.loss_shares`: what a loss does to each frame and each class.

Below them, layers a newcomer finds by name (imports only point down):
:mod:`sedlib.data` (data sets, metadata, audio, downloads, the feature cache),
:mod:`sedlib.evaluation` (predictions, thresholds, threshold-free metrics),
:mod:`sedlib.training` (configuration, protocols, the loop, run records),
:mod:`sedlib.study` (grids, sweeps, results, statistics, the findings the
book states), :mod:`sedlib.report` (the tables and figures of the chapters),
and on top the command line (:mod:`sedlib.cli`) and :mod:`sedlib.book`, the
one surface the chapters import.

Modules are imported lazily so that ``import sedlib`` (and the command line)
stays fast. The names most users call are available here too:
``sedlib.TrainConfig``, ``sedlib.run_grid``, ``sedlib.Predictions``..."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_SUBMODULES = (
    "features",
    "model",
    "losses",
    "metrics",
    "loss_shares",
    "data",
    "evaluation",
    "training",
    "study",
    "report",
    "settings",
    "provenance",
)

#: Public names re-exported here, and the module that defines each.
_NAMES = {
    "TrainConfig": "sedlib.training.config",
    "RunRecord": "sedlib.training.record",
    "Predictions": "sedlib.evaluation.predictions",
    "run_grid": "sedlib.study.sweep",
    "load_ladder": "sedlib.study.results",
    "segment_based_metrics": "sedlib.metrics",
    "get_loss": "sedlib.losses",
    "log_mel": "sedlib.features",
    "CRNN": "sedlib.model",
}

__all__ = ["__version__", *_SUBMODULES, *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"sedlib.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'sedlib' has no attribute {name!r}")
