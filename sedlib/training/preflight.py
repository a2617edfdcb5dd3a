"""Everything a run needs, checked before its first epoch.

A run never fails after an hour for a reason knowable at second one:
:func:`preflight` resolves the device, checks that the output folder is
writable, that every split the protocol needs exists and lists events,
that the splits keep test files out of training (and, across folds,
partition the development files), that the metrics' segments are no
shorter than a frame, builds (or loads) the features of every split
(which checks every audio file against its annotations), checks the
validation hold-out, passes a training clip of the features' shape
through the model, checks the loss options, and computes the run's
identity.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sedlib.data.cache import FeatureConfig
from sedlib.data.layout import Dataset, split_file
from sedlib.losses import get_loss
from sedlib.model import CRNN
from sedlib.training.config import TrainConfig
from sedlib.training.split import (
    CLIP_FRAMES,
    FoldPlan,
    check_protocol_splits,
    features_of,
    protocol_folds,
    validation_files,
)


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


def check_writable(folder: Path, what: str = "the run's results", after: str = "") -> None:
    """Create ``folder`` and write a file into it, or raise ``PermissionError`` naming it and ``what``."""
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise PermissionError(f"cannot write {what} into {folder}: {err}{after}") from None


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


def check_time_resolution(time_resolution: float, hop: float) -> None:
    """Refuse segments shorter than one frame hop: more segments than frames, nothing to gain.

    The segment-based metrics allocate one cell per segment and class; at
    ``1e-9`` s they would ask for terabytes after the training.
    """
    if not time_resolution >= hop:
        raise ValueError(
            f"TrainConfig.time_resolution = {time_resolution!r}: the segments of the metrics "
            f"must be at least one frame hop ({hop} s) long (the paper uses 1.0 s)"
        )


def build_model(config: TrainConfig, n_classes: int) -> CRNN:
    """The run's model, or ``ValueError`` naming ``TrainConfig.model``."""
    try:
        return CRNN(n_classes=n_classes, **config.model)
    except (TypeError, ValueError) as err:
        raise ValueError(f"TrainConfig.model = {config.model!r}: {err}") from None


def check_model_input(config: TrainConfig, model: CRNN, n_mels: int) -> None:
    """One training clip of the data's shape through the model, on CPU, or ``ValueError``.

    Catches a model whose input does not match the features (``n_mels``)
    before anything of the run is written, not at its first batch.
    """
    shape = (1, CLIP_FRAMES, n_mels)
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(shape))
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"TrainConfig.model = {config.model!r}: a training clip of this data set "
            f"({CLIP_FRAMES} frames of {n_mels} mel bands) does not pass through the model: {err}"
        ) from None


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
    check_protocol_splits(ds, config.protocol)
    check_time_resolution(config.time_resolution, FeatureConfig().hop_length_s)
    model = build_model(config, len(ds.labels))
    for fold in folds:
        for split in (fold.train_split, fold.test_split):
            # audio present, readable and as long as annotated
            n_mels = features_of(ds, split, progress).features.shape[1]
        held = validation_files(ds, fold.train_split, config.val_fraction)
        if len(held) >= len(ds.files(fold.train_split)):
            raise ValueError(
                f"split {fold.train_split!r}: no file left for training after the validation hold-out"
            )
    check_model_input(config, model, n_mels)
    get_loss(config.loss, **config.loss_params(np.ones(len(ds.labels), dtype=np.int64)))
    from sedlib.evaluation.threshold_free import _sed_scores_eval

    _sed_scores_eval()  # needed after training: missing, it would fail only then
    data = data_identity(ds, config.protocol)
    return RunPlan(config, ds, device, folds, data, config.identity(device.type, data))
