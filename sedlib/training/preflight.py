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
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from sedlib.data.layout import Dataset, split_file
from sedlib.data.registry import get_dataset
from sedlib.errors import ConfigError, DataError, MissingFileError, NotWritableError, StateError
from sedlib.evaluation import threshold_free
from sedlib.features import FeatureConfig
from sedlib.losses import get_loss
from sedlib.model import CRNN
from sedlib.training.config import DEV_EVAL, FOLDS, TrainConfig, device_kind
from sedlib.training.loop import planned_steps, steps_per_epoch
from sedlib.training.split import (
    CLIP_FRAMES,
    MIN_CLIP_FRAMES,
    FoldPlan,
    check_protocol_splits,
    features_of,
    protocol_folds,
    validation_files,
)


class RunPlan:
    """One run resolved once: its configuration, data set, trainings, data identity and identity.

    Made once per run (by the caller, or by :func:`preflight` and
    :func:`sedlib.training.run.train` when they are given a configuration),
    checked by :func:`preflight` and executed by :func:`sedlib.training.run.train`.
    The data set and the identity are resolved at their first use and kept, so
    a run reads the digests of its audio files once, however often its
    identity is asked for.

    Parameters
    ----------
    config : TrainConfig
        The run's configuration (its names are canonical from construction).
    dataset : Dataset, optional
        The data set to use instead of resolving ``config.dataset``.
    progress : bool
        Show progress bars while the data set is made.

    Attributes
    ----------
    folds : list of FoldPlan
        The trainings of the protocol.
    device_type : str
        ``cpu`` or ``cuda``: the kind of device the identity is computed for.
    device : torch.device or None
        The device the run trains on; set by :func:`preflight`.
    """

    def __init__(
        self, config: TrainConfig, dataset: Dataset | None = None, *, progress: bool = True
    ) -> None:
        self.config = config
        self.folds: list[FoldPlan] = protocol_folds(config.protocol)
        self.device_type = device_kind(config.device)
        self.device: torch.device | None = None
        self._dataset = dataset
        self._progress = progress

    def resolve_dataset(self, create: bool = True) -> Dataset:
        """The run's data set, resolved at the first call (``create``: generate it if missing)."""
        if self._dataset is None:
            self._dataset = get_dataset(self.config.dataset, create=create, progress=self._progress)
        return self._dataset

    @property
    def dataset(self) -> Dataset:
        """The run's data set (generated when it is a missing generated one)."""
        return self.resolve_dataset(create=True)

    @cached_property
    def data(self) -> dict[str, str]:
        """The data part of the identity (see :func:`data_identity`), computed once."""
        return data_identity(self.dataset, self.config.protocol)

    @cached_property
    def identity(self) -> str:
        """The run's identity (:meth:`TrainConfig.identity`), computed once."""
        return self.config.identity(self.device_type, self.data)


def data_identity(dataset: Dataset, protocol: str) -> dict[str, str]:
    """The data part of a run's identity: metadata fingerprint and signature of the audio it uses."""
    files: set[str] = set()
    for fold in protocol_folds(protocol):
        for split in (fold.train_split, fold.test_split):
            files.update(dataset.files(split))
    return {"fingerprint": dataset.fingerprint, "audio": dataset.audio_signature(sorted(files))}


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; a CUDA device must be present."""
    dev = torch.device(device_kind(device) if device == "auto" else device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StateError(f"TrainConfig.device = {device!r} but CUDA is not available here")
    return dev


def check_writable(folder: Path, what: str = "the run's results", after: str = "") -> None:
    """Create ``folder`` and write a file into it, or raise ``PermissionError`` naming it and ``what``."""
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise NotWritableError(f"cannot write {what} into {folder}: {err}{after}") from None


def check_splits(dataset: Dataset, folds: list[FoldPlan], protocol: str) -> None:
    """Every split of the protocol exists and lists events."""
    for fold in folds:
        for split in (fold.train_split, fold.test_split):
            path = dataset.meta_dir / split_file(split)
            if not path.is_file():
                other = DEV_EVAL if protocol == FOLDS else FOLDS
                raise MissingFileError(
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
        raise ConfigError(
            f"TrainConfig.time_resolution = {time_resolution!r}: the segments of the metrics "
            f"must be at least one frame hop ({hop} s) long (the paper uses 1.0 s)"
        )


def build_model(config: TrainConfig, n_classes: int) -> CRNN:
    """The run's model, or ``ValueError`` naming ``TrainConfig.model``."""
    try:
        return CRNN(n_classes=n_classes, **config.model)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"TrainConfig.model = {config.model!r}: {err}") from None


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
        raise ConfigError(
            f"TrainConfig.model = {config.model!r}: a training clip of this data set "
            f"({CLIP_FRAMES} frames of {n_mels} mel bands) does not pass through the model: {err}"
        ) from None


def training_clips(dataset: Dataset, split: str, held_out: list[str]) -> int:
    """How many training clips a split gives once ``held_out`` is set aside (as ``prepare_fold`` cuts them)."""
    features = features_of(dataset, split, progress=False)
    train = features.subset([f for f in features.files if f not in set(held_out)])
    return len(train.clip_starts(CLIP_FRAMES, MIN_CLIP_FRAMES))


def check_budget(config: TrainConfig, training: str, n_clips: int) -> None:
    """Refuse a budget that ends before the warm-up: the training would keep no model.

    Raises
    ------
    ConfigError
        Naming ``warmup_steps``, the training and its steps per epoch.
    """
    per_epoch = steps_per_epoch(n_clips, config.batch_size)
    most = planned_steps(config, per_epoch)
    if most < config.warmup_steps:
        raise ConfigError(
            f"TrainConfig.warmup_steps = {config.warmup_steps}: training {training!r} makes "
            f"{per_epoch} steps an epoch and at most {most} in all (max_steps "
            f"{config.max_steps}, epochs {config.epochs}), so no validation after the warm-up "
            "would be kept; raise max_steps or epochs, or lower warmup_steps"
        )


def preflight(
    config: TrainConfig | RunPlan,
    run_dir: str | os.PathLike,
    dataset: Dataset | None = None,
    progress: bool = True,
) -> RunPlan:
    """Check everything a run needs; return its plan (``config`` itself when it is one).

    Raises
    ------
    ValueError, FileNotFoundError, PermissionError, RuntimeError
        Naming the parameter, file, folder or split at fault.
    """
    plan = config if isinstance(config, RunPlan) else RunPlan(config, dataset, progress=progress)
    config = plan.config
    plan.device = resolve_device(config.device)
    check_writable(Path(run_dir))
    ds = plan.dataset
    folds = plan.folds
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
            raise DataError(
                f"split {fold.train_split!r}: no file left for training after the validation hold-out"
            )
        check_budget(config, fold.name, training_clips(ds, fold.train_split, held))
    check_model_input(config, model, n_mels)
    get_loss(config.loss, **config.loss_params(np.ones(len(ds.labels), dtype=np.int64)))
    threshold_free.check_available()  # needed after training: missing, it would fail only then
    plan.identity  # noqa: B018 (the data identity, once, after the audio is checked)
    return plan
