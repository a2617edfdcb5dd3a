"""One on-disk layout for every data set, and the splits it offers by name.

A data set is a metadata folder and an audio folder (often the same)::

    <meta_dir>/meta/meta_development.txt           split "development"
    <meta_dir>/meta/meta_evaluation.txt            split "evaluation"
    <meta_dir>/crossvaridation/meta_fold0K_development.txt   split "foldK-development"
    <meta_dir>/crossvaridation/meta_fold0K_evaluation.txt    split "foldK-evaluation"
    <audio_dir>/<path column of the metadata>      the audio files

(``crossvaridation`` keeps the upstream spelling of the TUT metadata.) The
real TUT data, the synthetic default and the test fixtures all use it, so
one loader serves them all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from sedlib.data.content import content_digests
from sedlib.data.meta import MetadataError, read_meta
from sedlib.errors import ConfigError, DataError, MissingFileError
from sedlib.util.io import read_json_object

#: The 25 sound event classes of the study (TUT Sound Events 2016/2017 and
#: TUT Acoustic Scenes 2016 annotated by Imoto's group), in sorted order.
TUT_LABELS: tuple[str, ...] = (
    "(object) banging",
    "(object) impact",
    "(object) rustling",
    "(object) snapping",
    "(object) squeaking",
    "bird singing",
    "brakes squeaking",
    "breathing",
    "car",
    "children",
    "cupboard",
    "cutlery",
    "dishes",
    "drawer",
    "fan",
    "glass jingling",
    "keyboard typing",
    "large vehicle",
    "mouse clicking",
    "mouse wheeling",
    "people talking",
    "people walking",
    "washing dishes",
    "water tap running",
    "wind blowing",
)

N_FOLDS = 4


def split_file(split: str) -> str:
    """Relative path of a split's metadata file.

    Parameters
    ----------
    split : str
        ``"development"``, ``"evaluation"``, or ``"foldK-development"`` /
        ``"foldK-evaluation"`` with K in 1..4.

    Examples
    --------
    >>> split_file("fold2-evaluation")
    'crossvaridation/meta_fold02_evaluation.txt'
    """
    if split in ("development", "evaluation"):
        return f"meta/meta_{split}.txt"
    head, _, part = split.partition("-")
    if head.startswith("fold") and head[4:].isdigit() and part in ("development", "evaluation"):
        k = int(head[4:])
        if 1 <= k <= N_FOLDS:
            return f"crossvaridation/meta_fold{k:02d}_{part}.txt"
    raise ConfigError(f"unknown split {split!r}; known: {available_split_names()}")


def available_split_names() -> list[str]:
    """Every split name :func:`split_file` understands."""
    parts = ("development", "evaluation")
    return [*parts, *(f"fold{k}-{part}" for k in range(1, N_FOLDS + 1) for part in parts)]


def read_description(path: Path) -> dict:
    """A data set's ``dataset.json``: a JSON object whose ``name`` and ``labels``, if any, are valid.

    Raises
    ------
    sedlib.util.io.CorruptFileError
        When the file is not JSON (``file:line:column``) or not an object.
    MetadataError
        When ``name`` is not a string or ``labels`` is not a non-empty list of
        distinct names; the message names the file, the key and the culprit.
    """
    info = read_json_object(path, "data set description", "fix it, or generate the data set again")
    if "name" in info and not (isinstance(info["name"], str) and info["name"]):
        raise MetadataError(f"{path}: key 'name' must be a non-empty string, got {info['name']!r}")
    if "labels" in info:
        labels = info["labels"]
        if not (isinstance(labels, list) and labels) or not all(
            isinstance(x, str) and x for x in labels
        ):
            raise MetadataError(
                f"{path}: key 'labels' must be a non-empty list of class names, got {labels!r}"
            )
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise MetadataError(
                f"{path}: key 'labels' lists {twice} more than once; each class must appear once"
            )
    return info


@dataclass(frozen=True)
class Dataset:
    """A data set in the common layout.

    Parameters
    ----------
    name : str
        Short name, used in cache keys and results ("tut", "synthetic-small"...).
    meta_dir : Path
        Folder with ``meta/`` (and optionally ``crossvaridation/``).
    audio_dir : Path
        Folder the metadata's paths are relative to.
    labels : tuple of str
        Class list (column order of label rolls and model outputs).
    """

    name: str
    meta_dir: Path
    audio_dir: Path
    labels: tuple[str, ...] = TUT_LABELS
    info: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_folder(cls, root: str | Path, name: str | None = None) -> Dataset:
        """A data set whose metadata and audio share ``root`` (e.g. the synthetic one).

        ``root/dataset.json``, when present, supplies ``name``, ``labels`` and
        any generator information (kept in :attr:`info`).
        """
        root = Path(root)
        info = read_description(root / "dataset.json") if (root / "dataset.json").is_file() else {}
        labels = tuple(info.get("labels", TUT_LABELS))
        return cls(name or info.get("name", root.name), root, root, labels, info)

    def splits(self) -> list[str]:
        """The split names whose metadata file exists."""
        return [s for s in available_split_names() if (self.meta_dir / split_file(s)).is_file()]

    def meta(self, split: str) -> pd.DataFrame:
        """Events of one split (see :func:`split_file`), labels checked against :attr:`labels`.

        A line that repeats an earlier event is refused (see
        :func:`~sedlib.data.meta.read_meta`), except in a generated data set,
        whose generator writes such pairs on purpose.
        """
        path = self.meta_dir / split_file(split)
        if not path.is_file():
            raise MissingFileError(
                f"data set {self.name!r} has no split {split!r}: {path} does not exist"
            )
        generated = bool(self.info.get("settings"))
        return read_meta(path, labels=self.labels, allow_duplicates=generated)

    def audio_path(self, filename: str) -> Path:
        """Absolute path of an audio file named in the metadata."""
        return self.audio_dir / filename

    def files(self, split: str) -> list[str]:
        """Audio files of a split, in order of first appearance."""
        return list(dict.fromkeys(self.meta(split)["filename"]))

    def missing_audio(self, split: str) -> list[str]:
        """Files of a split whose audio is not on disk."""
        return [f for f in self.files(split) if not self.audio_path(f).is_file()]

    def check_audio(self, split: str) -> None:
        """Raise ``FileNotFoundError`` listing the first missing files, if any are missing."""
        self._refuse_missing(self.missing_audio(split), f"of split {split!r} ")

    def _refuse_missing(self, missing: list[str], where: str = "") -> None:
        if missing:
            shown = "\n  ".join(str(self.audio_path(f)) for f in missing[:5])
            raise MissingFileError(
                f"{len(missing)} audio file(s) {where}of data set {self.name!r} are missing, "
                f"e.g.:\n  {shown}"
            )

    def check_split(self, split: str) -> pd.DataFrame:
        """The events of a split, refusing a missing or empty one with a message naming its file."""
        meta = self.meta(split)
        if meta.empty:
            path = self.meta_dir / split_file(split)
            raise DataError(
                f"split {split!r} of data set {self.name!r} is empty: {path} lists no event"
            )
        return meta

    @cached_property
    def fingerprint(self) -> str:
        """Short hash of the metadata files (and, for a generated data set, of the generator's
        settings and of every audio file's content as generated), part of every cache key and
        run identity."""
        digest = hashlib.sha256()
        if self.info.get("settings"):  # generated: the audio depends on the generator too
            digest.update(json.dumps(self.info["settings"], sort_keys=True).encode())
        if self.info.get("audio_sha256"):  # and on the content of every file, as generated
            digest.update(json.dumps(self.info["audio_sha256"], sort_keys=True).encode())
        for split in self.splits():
            digest.update(split.encode())
            digest.update((self.meta_dir / split_file(split)).read_bytes())
        digest.update("\n".join(self.labels).encode())
        return digest.hexdigest()[:16]

    def audio_signature(self, files: list[str]) -> str:
        """Short hash of the content (sha256) of every audio file in ``files``, with its name.

        Replacing or truncating an audio file changes it; a copy or a
        ``touch`` does not. It is part of the feature cache key and of a
        run's identity (digests are kept per file version, see
        :mod:`sedlib.data.content`).

        Raises
        ------
        FileNotFoundError
            Naming the first few missing files.
        """
        names = sorted(set(files))
        self._refuse_missing([name for name in names if not self.audio_path(name).is_file()])
        digests = content_digests(self.audio_path(name) for name in names)
        digest = hashlib.sha256()
        for name in names:
            digest.update(f"{name}\0{digests[str(self.audio_path(name).absolute())]}\n".encode())
        return digest.hexdigest()[:16]
