"""sedlib: sound event detection with a duration robust loss.

The science of the study lives here, in small modules with one job each:

- :mod:`sedlib.features`: 64-band log-mel energies (40 ms window, 20 ms hop);
- :mod:`sedlib.model`: the CRNN of the paper's Table 3;
- :mod:`sedlib.losses`: BCE (E1), inverse-frequency BCE (E2) and the duration
  robust loss (E3), plus a registry to configure runs by name;
- :mod:`sedlib.metrics`: segment-based F-score and error rate, identical to
  ``sed_eval`` and vectorized.

Modules are imported lazily so that ``import sedlib`` (and the command line)
stays fast and does not pull in torch or librosa until they are needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "features",
    "model",
    "losses",
    "metrics",
    "data",
    "train",
    "sweep",
    "paper",
    "settings",
    "provenance",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"sedlib.{name}")
    raise AttributeError(f"module 'sedlib' has no attribute {name!r}")
