"""Training the CRNN with a named loss under a named protocol, resumably.

- :mod:`~sedlib.training.config`: :class:`TrainConfig`, the only source of defaults, and a run's identity;
- :mod:`~sedlib.training.split`: which files each training trains, validates and tests on;
- :mod:`~sedlib.training.preflight`: every input checked before the first epoch;
- :mod:`~sedlib.training.loop`: epochs, validation, model selection;
- :mod:`~sedlib.training.checkpoint`: resumable, atomic checkpoints;
- :mod:`~sedlib.training.inference`: the kept model over whole files -> Predictions;
- :mod:`~sedlib.training.convergence`: whether a training converged, in optimizer steps;
- :mod:`~sedlib.training.folder`: :class:`~sedlib.training.folder.RunFolder`, a run's folder for both engines;
- :mod:`~sedlib.training.run`: :func:`train`, one run from start to record;
- :mod:`~sedlib.training.batched`: many trainings as one stacked model;
- :mod:`~sedlib.training.record`: :class:`RunRecord`, the versioned ``metrics.json``.
"""

from sedlib.training.config import PROFILES, PROTOCOLS, TrainConfig, run_name
from sedlib.training.record import RunRecord
from sedlib.training.run import Interrupted, train

__all__ = ["PROFILES", "PROTOCOLS", "Interrupted", "RunRecord", "TrainConfig", "run_name", "train"]
