"""Feature cache: log-mel features and frame label rolls, computed once per file.

``build_features(dataset, split)`` computes the log-mel energies of every
audio file of a split in parallel (with a progress bar), aligns a
frame-level label roll with them, and stores both in one ``.npz`` under
``<data root>/cache/<data set>/<metadata fingerprint>-<feature key>/<split>-<audio signature>.npz``.
A change of the metadata, of any feature parameter, or of any audio file
(its content, not its time: see :mod:`sedlib.data.content`) makes a new entry, so an old one is never
used by mistake. Entries are written atomically; an entry that cannot be
read is rebuilt, with a warning that names it.

While building, every file's annotations are checked against its audio: an
event that ends more than one hop after the end of the audio means a
truncated or wrong file, and is refused with a message naming the metadata
line and the audio file.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib.data.audio import AudioError, audio_info, load_audio
from sedlib.data.layout import Dataset, split_file
from sedlib.data.meta import label_roll
from sedlib.errors import DataError
from sedlib.features import FeatureConfig, log_mel
from sedlib.settings import data_root
from sedlib.util.io import atomic_write_bytes, read_json, write_json
from sedlib.util.parallel import map_jobs

log = logging.getLogger(__name__)

#: Bumped whenever the stored arrays change meaning.
CACHE_VERSION = 2


def feature_key(config: FeatureConfig) -> str:
    """Short stable hash of the feature parameters and the cache version: part of a cache entry's folder."""
    text = json.dumps({**asdict(config), "cache_version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class SplitFeatures:
    """Features and label rolls of every file of one split, concatenated along time.

    Attributes
    ----------
    features : np.ndarray
        float32 ``(total frames, n_mels)``.
    labels : np.ndarray
        uint8 ``(total frames, classes)``.
    offsets : np.ndarray
        int64 ``(files + 1,)``: file ``i`` spans frames ``offsets[i]:offsets[i+1]``.
    files : list of str
        Audio files in metadata order.
    durations : np.ndarray
        float64 ``(files,)``: length of each file in seconds.
    label_names : tuple of str
        Column order of ``labels``.
    config : FeatureConfig
        How the features were computed.
    """

    features: np.ndarray
    labels: np.ndarray
    offsets: np.ndarray
    files: list[str]
    durations: np.ndarray
    label_names: tuple[str, ...]
    config: FeatureConfig

    def file(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Features and label roll of file ``i``."""
        sl = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        return self.features[sl], self.labels[sl]

    @property
    def file_durations(self) -> dict[str, float]:
        """``{filename: seconds}``, for the metrics."""
        return dict(zip(self.files, map(float, self.durations), strict=True))

    def subset(self, files: list[str]) -> SplitFeatures:
        """The files ``files`` of this split, in their original order."""
        wanted = set(files)
        keep = [i for i, f in enumerate(self.files) if f in wanted]
        parts = [self.file(i) for i in keep]
        lengths = [len(x) for x, _ in parts]
        return SplitFeatures(
            features=np.concatenate([x for x, _ in parts]) if parts else self.features[:0],
            labels=np.concatenate([y for _, y in parts]) if parts else self.labels[:0],
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            files=[self.files[i] for i in keep],
            durations=self.durations[keep],
            label_names=self.label_names,
            config=self.config,
        )

    def clip_starts(self, clip_frames: int, min_frames: int) -> list[tuple[int, int]]:
        """``(file, start frame)`` of each clip.

        Each file is cut into consecutive clips of ``clip_frames``; a remainder
        of at least ``min_frames`` becomes one more clip aligned with the end of
        the file (overlapping the previous one), so no audio is dropped and no
        padding is needed; a file shorter than a clip gives one padded clip.
        """
        starts = []
        for i in range(len(self.files)):
            n = int(self.offsets[i + 1] - self.offsets[i])
            if n <= clip_frames:
                starts.append((i, 0))
                continue
            full = n // clip_frames
            starts += [(i, k * clip_frames) for k in range(full)]
            if n - full * clip_frames >= min_frames:
                starts.append((i, n - clip_frames))
        return starts


def cache_dir(dataset: Dataset, config: FeatureConfig, root: Path | None = None) -> Path:
    """Folder of the cache entries of ``dataset`` under ``config``."""

    base = Path(root) if root is not None else data_root() / "cache"
    return base / dataset.name / f"{dataset.fingerprint}-{feature_key(config)}"


def cache_path(
    dataset: Dataset, split: str, config: FeatureConfig, root: Path | None = None
) -> Path:
    """The cache entry of one split: its key covers metadata, features and audio."""
    signature = dataset.audio_signature(dataset.files(split))
    return cache_dir(dataset, config, root) / f"{split}-{signature}.npz"


def _featurize(job: tuple[str, FeatureConfig]) -> tuple[np.ndarray, float]:
    path, config = job

    y, sr = load_audio(path, config.sr)
    try:
        feats = log_mel(
            y,
            sr,
            n_mels=config.n_mels,
            win_length_s=config.win_length_s,
            hop_length_s=config.hop_length_s,
        )
    except ValueError as err:  # e.g. a file shorter than one hop: name it
        raise AudioError(f"audio file {path} ({len(y) / sr:.4f} s): {err}") from None
    return feats, len(y) / sr


def build_features(
    dataset: Dataset,
    split: str,
    config: FeatureConfig | None = None,
    *,
    cache_root: Path | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> SplitFeatures:
    """Features and label rolls of one split, from the cache or computed now.

    Parameters
    ----------
    dataset : Dataset
        The data set.
    split : str
        A split name (see :func:`sedlib.data.layout.split_file`).
    config : FeatureConfig, optional
        Feature parameters; the paper's by default.
    cache_root : path, optional
        Cache folder (default ``<data root>/cache``).
    jobs : int, optional
        Worker processes (default: all cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    SplitFeatures

    Raises
    ------
    FileNotFoundError
        When audio files of the split are missing (the first few are listed).
    sedlib.data.audio.AudioError
        When an audio file is corrupt (named in the message).
    DataError
        When an event ends more than one hop after the end of its audio file.
    ValueError
        When the split lists no event.
    """
    config = config or FeatureConfig()
    meta = dataset.check_split(split)
    dataset.check_audio(split)
    path = cache_path(dataset, split, config, cache_root)
    if path.is_file():
        cached = _load(path, config)
        if cached is not None:
            return cached
    files = list(dict.fromkeys(meta["filename"]))
    rates = {audio_info(dataset.audio_path(f))[0] for f in files}
    if rates - {config.sr}:
        log.warning(
            "%s/%s: resampling audio from %s Hz to %d Hz",
            dataset.name,
            split,
            sorted(rates - {config.sr}),
            config.sr,
        )
    start = time.perf_counter()
    results = map_jobs(
        _featurize,
        [(str(dataset.audio_path(f)), config) for f in files],
        jobs,
        progress,
        f"log-mel {dataset.name}/{split}",
    )
    durations = np.array([d for _, d in results], dtype=np.float64)
    check_annotations_fit_audio(meta, dict(zip(files, durations, strict=True)), dataset, config)
    by_file = dict(tuple(meta.groupby("filename", sort=False)))
    labels = [
        label_roll(by_file[f], list(dataset.labels), len(feats), config.hop_length_s)
        for f, (feats, _) in zip(files, results, strict=True)
    ]
    lengths = np.array([len(feats) for feats, _ in results], dtype=np.int64)
    out = SplitFeatures(
        features=np.concatenate([feats for feats, _ in results]).astype(np.float32),
        labels=np.concatenate(labels).astype(np.uint8),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        files=files,
        durations=durations,
        label_names=tuple(dataset.labels),
        config=config,
    )
    _store(path, out, dataset, split, time.perf_counter() - start)
    return out


def check_annotations_fit_audio(
    meta: pd.DataFrame, durations: dict[str, float], dataset: Dataset, config: FeatureConfig
) -> None:
    """Refuse an event that ends more than one hop after the end of its audio file.

    Shorter overshoots (the TUT evaluation metadata has events ending at
    10.000023 s in 10 s files) are cut at the end of the file, as sed_eval does.

    Raises
    ------
    DataError
        Naming the metadata file and line, the event and the audio file with its length.
    """
    length = meta["filename"].map(durations).to_numpy(dtype=np.float64)
    over = meta["offset"].to_numpy(dtype=np.float64) - length
    bad = np.flatnonzero(over > config.hop_length_s)
    if not len(bad):
        return
    i = int(bad[np.argmax(over[bad])])
    row = meta.iloc[i]
    lines = meta.attrs.get("lines")
    where = f"{meta.attrs.get('source', 'metadata')}:{lines[i] if lines else '?'}"
    raise DataError(
        f"{where}: event {row['event_label']!r} {row['onset']:g}-{row['offset']:g} s ends "
        f"{over[i]:.3f} s after the end of its audio {dataset.audio_path(row['filename'])} "
        f"({length[i]:.3f} s); the file is truncated or not the annotated one "
        f"({len(bad)} event(s) of this split are affected)"
    )


def _store(path: Path, data: SplitFeatures, dataset: Dataset, split: str, seconds: float) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        features=data.features,
        labels=data.labels,
        offsets=data.offsets,
        files=np.array(data.files, dtype=str),
        durations=data.durations,
        label_names=np.array(data.label_names, dtype=str),
    )
    atomic_write_bytes(path, buffer.getvalue())
    info = {
        "dataset": dataset.name,
        "audio_dir": str(dataset.audio_dir),
        "split": split,
        "metadata": str(dataset.meta_dir / split_file(split)),
        "fingerprint": dataset.fingerprint,
        "config": asdict(data.config),
        "cache_version": CACHE_VERSION,
        "files": len(data.files),
        "frames": int(data.offsets[-1]),
        "build_seconds": round(seconds, 2),
    }
    write_json(path.with_suffix(".json"), info)
    for stale in path.parent.glob(f"{split}-*.npz"):  # entries of audio that has changed since
        owner = _entry_audio_dir(stale)  # (not those of a copy of the data set in another folder)
        if stale != path and (owner in (None, info["audio_dir"]) or not Path(owner).is_dir()):
            stale.unlink(missing_ok=True)
            stale.with_suffix(".json").unlink(missing_ok=True)


def _entry_audio_dir(path: Path) -> str | None:
    """The audio folder a cache entry was built from (None when its description is unreadable).

    Copies of a data set in other folders share a cache folder (same name and
    metadata) but have entries of their own; building one must not delete
    the entries of the others (unless their folder is gone).
    """
    try:
        return str(read_json(path.with_suffix(".json"), "cache entry description")["audio_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load(path: Path, config: FeatureConfig) -> SplitFeatures | None:
    """A cache entry, or None (with a warning naming it) when it cannot be read."""
    try:
        with np.load(path) as z:
            return SplitFeatures(
                features=z["features"],
                labels=z["labels"],
                offsets=z["offsets"],
                files=[str(f) for f in z["files"]],
                durations=z["durations"],
                label_names=tuple(str(s) for s in z["label_names"]),
                config=config,
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log.warning("feature cache %s is corrupt (%s); rebuilding it", path, err)
        return None
