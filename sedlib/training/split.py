"""Which files a run trains, validates and tests on, under each protocol.

``folds`` (the paper's data): for each of the 4 cross-validation folds of
the development set, train on the other three (minus a validation hold-out)
and test on the fold; the four test folds together are every development
file once. ``dev-eval``: train on the development set (minus the hold-out),
test on the evaluation set. Everything here is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from sedlib.data.cache import SplitFeatures, build_features
from sedlib.data.layout import N_FOLDS, Dataset, split_file
from sedlib.errors import ConfigError, DataError
from sedlib.training.config import DEV_EVAL, FOLDS, PROTOCOLS

#: Frames of a training clip: the paper's 10 s clips at 20 ms.
CLIP_FRAMES = 500
#: A file's last, shorter clip is kept when it has at least this many frames.
MIN_CLIP_FRAMES = 50


@dataclass
class Clips:
    """Fixed-length training clips as tensors.

    Attributes
    ----------
    features : torch.Tensor
        float32 ``(clips, frames, n_mels)``.
    labels : torch.Tensor
        float32 ``(clips, frames, classes)``, 0 or 1.
    mask : torch.Tensor
        bool ``(clips, frames)``, False on padding (files shorter than a clip).
    file_index, start_frame : torch.Tensor
        int64 ``(clips,)``: where each clip comes from.
    """

    features: object
    labels: object
    mask: object
    file_index: object
    start_frame: object

    def __len__(self) -> int:
        return int(self.features.shape[0])


def cut_clips(
    features: SplitFeatures, clip_frames: int = CLIP_FRAMES, min_frames: int = MIN_CLIP_FRAMES
) -> Clips:
    """The training clips of a split's features, as tensors (see :meth:`SplitFeatures.clip_starts`).

    A file shorter than a clip is padded with its quietest frame, labelled inactive
    and masked.
    """
    starts = features.clip_starts(clip_frames, min_frames)
    n_clips, n_mels, n_classes = len(starts), features.features.shape[1], features.labels.shape[1]
    feats = np.zeros((n_clips, clip_frames, n_mels), dtype=np.float32)
    labels = np.zeros((n_clips, clip_frames, n_classes), dtype=np.float32)
    mask = np.zeros((n_clips, clip_frames), dtype=bool)
    for c, (i, start) in enumerate(starts):
        f, lab = features.file(i)
        take = min(clip_frames, len(f) - start)
        feats[c, :take] = f[start : start + take]
        labels[c, :take] = lab[start : start + take]
        mask[c, :take] = True
        if take < clip_frames:  # pad with the file's quietest frame, labelled inactive
            feats[c, take:] = f.min(axis=0)
    index = np.array(starts, dtype=np.int64).reshape(-1, 2)
    return Clips(
        torch.from_numpy(feats),
        torch.from_numpy(labels),
        torch.from_numpy(mask),
        torch.from_numpy(index[:, 0].copy()),
        torch.from_numpy(index[:, 1].copy()),
    )


def count_class_frames(targets: np.ndarray) -> np.ndarray:
    """Number of active frames per class, ``N_m``, summed over all clips and frames.

    Parameters
    ----------
    targets : array-like
        Binary frame labels ``(..., frames, classes)`` of the training set.

    Returns
    -------
    np.ndarray
        int64 counts ``(classes,)``.
    """
    arr = np.asarray(targets)
    if arr.ndim < 1:
        raise DataError("targets must have a class axis")
    return (arr > 0.5).reshape(-1, arr.shape[-1]).sum(axis=0).astype(np.int64)


@dataclass(frozen=True)
class FoldPlan:
    """One training of a run: its name and the splits it trains and tests on."""

    name: str
    train_split: str
    test_split: str


def protocol_folds(protocol: str) -> list[FoldPlan]:
    """The trainings of a protocol, in order.

    Examples
    --------
    >>> [f.name for f in protocol_folds("folds")]
    ['fold1', 'fold2', 'fold3', 'fold4']
    >>> protocol_folds("dev-eval")
    [FoldPlan(name='dev-eval', train_split='development', test_split='evaluation')]
    """
    if protocol == FOLDS:
        return [
            FoldPlan(f"fold{k}", f"fold{k}-development", f"fold{k}-evaluation")
            for k in range(1, N_FOLDS + 1)
        ]
    if protocol == DEV_EVAL:
        return [FoldPlan(DEV_EVAL, "development", "evaluation")]
    raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")


def check_protocol_splits(dataset: Dataset, protocol: str) -> None:
    """Refuse splits that would test a model on files it trained on, or pool a file twice.

    Every training's test files must be neither training nor validation files
    of it (the validation files are drawn from the training split). Under
    ``folds``, the test folds must partition the development files (each in
    exactly one test fold) and each fold's training split must be the
    development files outside its test fold.

    Raises
    ------
    DataError
        Naming every offending file (the first 12) with its folds and splits.
    """
    folds = protocol_folds(protocol)
    files = {s: set(dataset.files(s)) for f in folds for s in (f.train_split, f.test_split)}
    problems = []
    for fold in folds:
        problems += _named(
            files[fold.train_split] & files[fold.test_split],
            f"both a training and a test file of {fold.name} ({split_file(fold.train_split)} "
            f"and {split_file(fold.test_split)})",
        )
    if protocol == FOLDS:
        problems += _partition_problems(dataset, folds, files)
    if problems:
        more = f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise DataError(
            f"the splits of protocol {protocol!r} in {dataset.meta_dir} are inconsistent "
            f"({len(problems)} problem(s)):\n  " + "\n  ".join(problems[:12]) + more
        )


def _partition_problems(dataset: Dataset, folds: list[FoldPlan], files: dict) -> list[str]:
    """What keeps the folds' test files from partitioning the development files."""
    test_of: dict[str, list[str]] = {}
    for fold in folds:
        for name in files[fold.test_split]:
            test_of.setdefault(name, []).append(f"{fold.name} ({split_file(fold.test_split)})")
    problems = [
        f"{name}: a test file of {' and of '.join(where)} (a file must be in one test fold)"
        for name, where in sorted(test_of.items())
        if len(where) > 1
    ]
    if "development" not in dataset.splits():
        return problems
    dev, where = set(dataset.files("development")), split_file("development")
    problems += _named(
        set(test_of) - dev, f"in a test fold but not in the development split ({where})"
    )
    problems += _named(dev - set(test_of), f"a development file ({where}) in no test fold")
    for fold in folds:
        train, test = files[fold.train_split], files[fold.test_split]
        problems += _named(
            train - dev,
            f"a training file of {fold.name} ({split_file(fold.train_split)}) not in {where}",
        )
        problems += _named(
            dev - test - train,
            f"a development file outside the test fold of {fold.name} missing from its training "
            f"split ({split_file(fold.train_split)})",
        )
    return problems


def _named(names: set[str], what: str) -> list[str]:
    return [f"{name}: {what}" for name in sorted(names)]


def validation_files(dataset: Dataset, split: str, fraction: float, seed: int = 0) -> list[str]:
    """The training files held out for validation.

    ``round(fraction * n)`` of the ``n`` files of each scene (at most ``n - 1``),
    drawn with a fixed seed (the same for every run), and at least one file
    overall.
    """
    meta = dataset.meta(split)
    scene_of = meta.groupby("filename", sort=False)["scene_label"].first()
    if len(scene_of) < 2:
        raise DataError(
            f"split {split!r} of {dataset.name!r} has {len(scene_of)} file(s); need 2 to hold one out for validation"
        )
    rng = np.random.default_rng(seed)
    by_scene = {
        scene: sorted(scene_of.index[scene_of == scene]) for scene in sorted(scene_of.unique())
    }
    held = []
    for files in by_scene.values():
        held += list(
            rng.choice(files, size=min(round(len(files) * fraction), len(files) - 1), replace=False)
        )
    if not held:
        largest = max(by_scene.values(), key=len)
        held = [str(rng.choice(largest))]
    return sorted(str(f) for f in held)


def features_of(dataset: Dataset, split: str, progress: bool = True) -> SplitFeatures:
    """A split's features; a cross-validation split is cut from the development features.

    The folds of a development set list the same events as the development
    metadata, so their features and label rolls are those of the development
    split; this is checked, and a fold that differs is computed on its own.
    """
    if split.startswith("fold") and "development" in dataset.splits():
        meta, dev_meta = dataset.meta(split), dataset.meta("development")
        files = set(meta["filename"])
        same = dev_meta[dev_meta["filename"].isin(files)]
        if _same_events(meta, same):
            return build_features(dataset, "development", progress=progress).subset(
                list(dict.fromkeys(meta["filename"]))
            )
    return build_features(dataset, split, progress=progress)


def _same_events(a, b) -> bool:
    columns = ["filename", "onset", "offset", "event_label"]
    key = lambda m: m[columns].sort_values(columns).to_numpy().tolist()  # noqa: E731
    return len(a) == len(b) and key(a) == key(b)


@dataclass
class Normalizer:
    """Per-band standardisation with training statistics."""

    mean: object  # torch.Tensor (n_mels,)
    std: object

    @classmethod
    def fit(cls, clips: Clips) -> Normalizer:
        """Mean and standard deviation of every band over the valid frames of the clips."""
        valid = clips.features[clips.mask]
        return cls(valid.mean(0), valid.std(0).clamp_min(1e-5))

    def __call__(self, x):
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


@dataclass
class FoldData:
    """Everything one training needs: features of its files, clips, normaliser, frame counts."""

    plan: FoldPlan
    train: SplitFeatures
    validation: SplitFeatures
    test: SplitFeatures
    train_meta: pd.DataFrame
    test_meta: pd.DataFrame
    clips: Clips
    norm: Normalizer
    class_frames: np.ndarray


def prepare_fold(
    dataset: Dataset, plan: FoldPlan, val_fraction: float, progress: bool = True
) -> FoldData:
    """Features, validation hold-out, training clips and normaliser of one training (deterministic)."""
    every = features_of(dataset, plan.train_split, progress)
    held_out = validation_files(dataset, plan.train_split, val_fraction)
    train = every.subset([f for f in every.files if f not in set(held_out)])
    clips = cut_clips(train)
    return FoldData(
        plan=plan,
        train=train,
        validation=every.subset(held_out),
        test=features_of(dataset, plan.test_split, progress),
        train_meta=dataset.meta(plan.train_split),
        test_meta=dataset.meta(plan.test_split),
        clips=clips,
        norm=Normalizer.fit(clips),
        class_frames=count_class_frames(train.labels),
    )
