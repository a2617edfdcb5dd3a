"""The record of a finished run (``metrics.json``): one versioned schema, loaded and saved here.

Readers use the typed fields and properties of :class:`RunRecord`
(``record.macro_f``, ``record.device_used``, ``record.history``...) instead
of string paths into nested dictionaries. A record written by an older
version of the study is refused, naming the version that reads it;
nothing upgrades a file behind the reader's back.

Schema history: 1 (sedlib 0.1: one training, development -> evaluation,
train/eval splits in the configuration); 2 (this one: a protocol, one
:class:`FoldRecord` per training, the run's identity and resolved settings).
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from sedlib.errors import SedlibError
from sedlib.evaluation.extended import failed_parts
from sedlib.training.convergence import Convergence, assess, criterion
from sedlib.util.io import read_json, write_json

SCHEMA_VERSION = 2
RECORD = "metrics.json"


class SchemaError(SedlibError, ValueError):
    """A record of another schema version; the message says how to upgrade it."""


@dataclass
class FoldRecord:
    """One training of a run (one fold, or the single development -> evaluation training)."""

    name: str
    train_split: str
    test_split: str
    train_files: int
    validation_files: int
    test_files: int
    train_clips: int
    class_frames: dict[str, int]
    epochs_run: int
    best_epoch: int
    history: list[dict]
    train_seconds: float
    validation: dict = field(default_factory=dict)
    steps_run: int | None = None
    best_step: int | None = None
    stop_reason: str | None = None
    convergence: dict | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str = "fold record") -> FoldRecord:
        """Build from a record's content; a missing or unknown key raises naming ``source`` and the key.

        Raises
        ------
        SchemaError
            When ``data`` is not an object, lacks a field or has one this version does not know.
        """
        if not isinstance(data, dict):
            raise SchemaError(f"{source}: expected a JSON object, found {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        required = {
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        }
        unknown, missing = sorted(set(data) - names), sorted(required - set(data))
        if unknown or missing:
            raise SchemaError(
                f"{source}: not a fold record of this sedlib "
                f"(unknown key(s) {unknown}, missing key(s) {missing})"
            )
        return cls(**data)


@dataclass
class RunRecord:
    """Everything a finished run measured, with its configuration and provenance.

    Attributes
    ----------
    run : str
        Short name (``duration_robust-g4-s3``).
    identity : str
        Hash of the resolved settings and the data (see
        :meth:`sedlib.training.config.TrainConfig.identity`).
    config : dict
        The configuration as asked (``TrainConfig`` fields).
    resolved : dict
        The settings as used (defaults filled, device resolved).
    dataset : dict
        ``name``, ``fingerprint`` (metadata) and ``audio`` (signature of the audio files).
    evaluation : dict
        The paper's metrics of the pooled test predictions at the run's threshold.
    tuned, threshold_free : dict
        See :mod:`sedlib.evaluation.extended`.
    folds : list of FoldRecord
        One per training.
    model_parameters : int
        Trainable parameters.
    probability_histograms : dict
        Per-class histograms of the test probabilities on active and inactive frames.
    timing, provenance : dict
        Seconds; code version, packages, machine, device.
    schema : int
        :data:`SCHEMA_VERSION`.
    """

    run: str
    identity: str
    config: dict
    resolved: dict
    dataset: dict
    evaluation: dict
    tuned: dict
    threshold_free: dict
    folds: list[FoldRecord]
    model_parameters: int
    probability_histograms: dict
    timing: dict
    provenance: dict
    schema: int = SCHEMA_VERSION

    # ------------------------------------------------------------------ typed views
    @property
    def protocol(self) -> str:
        return self.config["protocol"]

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def loss(self) -> str:
        return self.resolved["loss"]

    @property
    def gamma(self) -> float | None:
        return self.resolved["gamma"]

    @property
    def macro_f(self) -> float:
        return self.evaluation["macro_f"]

    @property
    def micro_f(self) -> float:
        return self.evaluation["micro_f"]

    @property
    def epochs_run(self) -> int:
        """Most epochs any training of the run ran."""
        return max(f.epochs_run for f in self.folds)

    @property
    def best_epochs(self) -> list[int]:
        return [f.best_epoch for f in self.folds]

    def convergence(self) -> list[Convergence]:
        """Each training's convergence by the study's criterion, measured from its history.

        Records of a budget in epochs (no steps in their history) count an
        epoch as ``ceil(train_clips / batch_size)`` steps.
        """
        warmup, patience = criterion(self.resolved)
        batch = int(self.resolved["batch_size"])
        return [
            assess(f.history, warmup, patience, steps_per_epoch=-(-f.train_clips // batch))
            for f in self.folds
        ]

    @property
    def converged(self) -> bool:
        """Whether every training of the run converged (:mod:`sedlib.training.convergence`)."""
        return all(c.converged for c in self.convergence())

    @property
    def device_used(self) -> str:
        return str(self.provenance.get("device", {}).get("used", "unknown"))

    @property
    def seconds_per_epoch(self) -> float:
        """Training seconds (validation included) per epoch, over all trainings."""
        epochs = sum(f.epochs_run for f in self.folds)
        return sum(f.train_seconds for f in self.folds) / max(epochs, 1)

    @property
    def history(self) -> pd.DataFrame:
        """Every epoch of every training, with a ``fold`` column."""
        rows = [{"fold": f.name, **h} for f in self.folds for h in f.history]
        return pd.DataFrame(rows)

    @property
    def per_class(self) -> pd.DataFrame:
        """Per-class metrics of the test predictions at the run's threshold (rows: labels)."""
        return pd.DataFrame(self.evaluation["per_class"]).T

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (the file's content)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "record") -> RunRecord:
        """Build from the file's content, refusing other schema versions."""
        version = data.get("schema", 1)
        if version != SCHEMA_VERSION:
            raise SchemaError(
                f"{source} has schema version {version}, this sedlib reads {SCHEMA_VERSION}: "
                "schema 1 was written by sedlib 0.1; sedlib 0.2.0 (git tag v0.2.0) upgrades it "
                f"with `sedlib migrate {source}`, or train the run again"
            )
        names = {f.name for f in fields(cls)}
        missing = names - set(data) - {"schema"}
        if missing:
            raise SchemaError(f"{source} lacks {sorted(missing)}; it is not a complete run record")
        values = {k: v for k, v in data.items() if k in names}
        values["folds"] = _fold_records(data["folds"], source)
        return cls(**values)

    def save(self, path: str | Path) -> None:
        """Write atomically (a reader never sees half a record)."""
        write_json(path, self.to_dict())

    @property
    def failed_parts(self) -> dict[str, str]:
        """Parts of the evaluation beyond the paper that failed: ``{"threshold_free": "TypeError: ..."}``.

        Such a part is stored as ``{"error": ...}`` and its metrics are absent
        (readers get NaN); the paper's metrics (:attr:`evaluation`) are complete.
        """
        return failed_parts({"tuned": self.tuned, "threshold_free": self.threshold_free})

    @classmethod
    def load(cls, path: str | Path) -> RunRecord:
        """Read a run's ``metrics.json`` (a folder is taken as the run folder)."""
        path = Path(path)
        if path.is_dir():
            path = path / RECORD
        return cls.from_dict(read_json(path, "run record"), source=str(path))


def _fold_records(folds: Any, source: str) -> list[FoldRecord]:
    """The ``folds`` of a record: a non-empty list of fold records, errors naming ``folds[i]``."""
    if not isinstance(folds, list) or not folds:
        raise SchemaError(
            f"{source}: 'folds' must list the run's trainings (at least one), found {folds!r}"
        )
    return [FoldRecord.from_dict(f, f"{source}: folds[{i}]") for i, f in enumerate(folds)]
