"""Everything a run needs, checked before its first epoch.

A run never fails after an hour for a reason knowable at second one:
:func:`preflight` resolves the device, checks that the output folder is
writable, that every split the protocol needs exists and lists events,
builds (or loads) the features of every split (which checks every audio
file against its annotations), checks the validation hold-out, the model
and the loss options, and computes the run's identity.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sedlib.data.layout import Dataset, split_file
from sedlib.losses import get_loss
from sedlib.model import CRNN
from sedlib.training.config import TrainConfig
from sedlib.training.split import FoldPlan, features_of, protocol_folds, validation_files


@dataclass
class RunPlan:
    """A checked run: configuration, data, device, trainings and identity."""

    config: TrainConfig
    dataset: Dataset
    device: torch.device
    folds: list[FoldPlan]
    data: dict[str, str]
    identity: str


def data_identity(dataset: Dataset, protocol: str) -> dict[str, str]:
    """The data part of a run's identity: metadata fingerprint and signature of the audio it uses."""
    files: set[str] = set()
    for fold in protocol_folds(protocol):
        for split in (fold.train_split, fold.test_split):
            files.update(dataset.files(split))
    return {"fingerprint": dataset.fingerprint, "audio": dataset.audio_signature(sorted(files))}


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; a CUDA device must be present."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"TrainConfig.device = {device!r} but CUDA is not available here")
    return dev


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write a file into it, or raise naming it."""
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise PermissionError(f"cannot write the run's results into {folder}: {err}") from None


def check_splits(dataset: Dataset, folds: list[FoldPlan], protocol: str) -> None:
    """Every split of the protocol exists and lists events."""
    for fold in folds:
        for split in (fold.train_split, fold.test_split):
            path = dataset.meta_dir / split_file(split)
            if not path.is_file():
                other = "dev-eval" if protocol == "folds" else "folds"
                raise FileNotFoundError(
                    f"protocol {protocol!r} needs split {split!r} of data set {dataset.name!r}, "
                    f"but {path} does not exist (use protocol {other!r}, or a data set that has it)"
                )
            dataset.check_split(split)


def preflight(
    config: TrainConfig,
    run_dir: str | os.PathLike,
    dataset: Dataset | None = None,
    progress: bool = True,
) -> RunPlan:
    """Check everything a run needs; return its plan.

    Raises
    ------
    ValueError, FileNotFoundError, PermissionError, RuntimeError
        Naming the parameter, file, folder or split at fault.
    """
    from sedlib.data.registry import get_dataset

    device = resolve_device(config.device)
    check_writable(Path(run_dir))
    ds = dataset if dataset is not None else get_dataset(config.dataset, progress=progress)
    folds = protocol_folds(config.protocol)
    check_splits(ds, folds, config.protocol)
    for fold in folds:
        for split in (fold.train_split, fold.test_split):
            features_of(ds, split, progress)  # audio present, readable and as long as annotated
        held = validation_files(ds, fold.train_split, config.val_fraction)
        if len(held) >= len(ds.files(fold.train_split)):
            raise ValueError(
                f"split {fold.train_split!r}: no file left for training after the validation hold-out"
            )
    try:
        CRNN(n_classes=len(ds.labels), **config.model)
    except (TypeError, ValueError) as err:
        raise ValueError(f"TrainConfig.model = {config.model!r}: {err}") from None
    get_loss(config.loss, **config.loss_params(np.ones(len(ds.labels), dtype=np.int64)))
    from sedlib.evaluation.threshold_free import _sed_scores_eval

    _sed_scores_eval()  # needed after training: missing, it would fail only then
    data = data_identity(ds, config.protocol)
    return RunPlan(config, ds, device, folds, data, config.identity(device.type, data))
