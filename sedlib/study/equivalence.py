"""Whether two versions of the training code train the same numbers: recorded checks, read here.

A result set should hold runs of one training code (one
:func:`sedlib.provenance.code_fingerprint`). When its runs were trained by
two versions (a long grid that spans commits, an arm that shares runs with
an older set), the set is still one experiment if the versions are
*equivalent*: trained on the same probe (:data:`PROBE`), they give the same
histories, kept models and metrics. ``tools/code_equivalence.py A B`` runs
the probe under both commits and writes the check as
``<results>/code-equivalence/<fingerprint A>__<fingerprint B>.json``;
:func:`equivalent` reads those checks.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path
from typing import Any

from sedlib.study.results import results_root
from sedlib.util.io import read_json

FOLDER = "code-equivalence"

#: The probe: one run of each loss family, single and batched engines, folds of unequal
#: length, through the warm-up, selection and early stopping (a narrow model, seconds a run),
#: with the default dropout, so that a change to either engine's masks is seen.
PROBE: list[dict[str, Any]] = [
    {"loss": "bce", "seed": 0},
    {"loss": "inverse_frequency", "seed": 1, "class_frames": "clip", "output_bias": "zero"},
    {"loss": "duration_robust", "gamma": 4.0, "seed": 2},
]
PROBE_SETTINGS: dict[str, Any] = {
    "protocol": "folds",
    "device": "cpu",
    "batch_size": 4,
    "max_steps": 12,
    "warmup_steps": 4,
    "patience_steps": 4,
    "model": {"channels": 4, "gru_units": 8, "fc_units": 8, "dropout": 0.3},
}


def check_name(a: str, b: str) -> str:
    """The file name of the check of fingerprints ``a`` and ``b`` (order-free)."""
    first, second = sorted((a, b))
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{first}__{second}") + ".json"


def equivalent(fingerprints: list[str], root: Path | None = None) -> bool:
    """Whether every pair of ``fingerprints`` has a recorded check that found them equal.

    One fingerprint is trivially equivalent to itself; ``"unknown"`` is
    equivalent to nothing.
    """
    unique = sorted(set(fingerprints))
    folder = results_root(root) / FOLDER
    checks = [folder / check_name(a, b) for a, b in combinations(unique, 2)]
    return "unknown" not in unique and all(
        path.is_file() and read_json(path, "code equivalence check").get("equal") is True
        for path in checks
    )
