"""Modules of sedlib 0.1 that moved in 0.2: importing an old name gives the new module, with a warning.

``import sedlib.train`` still works and is ``sedlib.training.run``; the
warning names the new place so that code can be updated.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module -> new module.
MOVED = {
    "sedlib.train": "sedlib.training.run",
    "sedlib.sweep": "sedlib.study.sweep",
    "sedlib.results": "sedlib.study.summary",
    "sedlib.stats": "sedlib.study.stats",
    "sedlib.paper": "sedlib.study.paper",
    "sedlib.analysis": "sedlib.evaluation.extended",
    "sedlib.thresholds": "sedlib.evaluation.thresholds",
    "sedlib.threshold_free": "sedlib.evaluation.threshold_free",
    "sedlib.weights": "sedlib.loss_shares",
    "sedlib.widgets": "sedlib.report.widgets",
}


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        warnings.warn(
            f"{spec.name} moved to {self.new} in sedlib 0.2; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:  # the new module is already executed
        return None


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _MovedLoader(MOVED[fullname]))
        return None


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
