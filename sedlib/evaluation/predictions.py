"""Frame probabilities of a set of files, with what is needed to score them.

A :class:`Predictions` object is the one input of every evaluation beyond
training: the paper's metrics at a threshold, thresholds tuned per class,
threshold-free metrics and the extended report. It holds, for every file,
the ``(frames, classes)`` probabilities, the file's duration, and the
reference events, so it can be saved next to a run and scored later
without the audio or the model.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib.errors import DataError
from sedlib.events import EVENT_COLUMNS, frames_to_events
from sedlib.metrics import SegmentMetrics, segment_based_metrics
from sedlib.util.io import CorruptFileError, atomic_write_bytes


@dataclass
class Predictions:
    """Probabilities of every file of a split, its durations and its reference events.

    Attributes
    ----------
    files : list of str
        File names, in order.
    probs : list of np.ndarray
        float32 ``(frames, classes)`` per file; frame ``n`` covers
        ``[n * hop, (n + 1) * hop)`` seconds.
    durations : np.ndarray
        float64 ``(files,)``: length of each file in seconds.
    labels : tuple of str
        Class names (columns of ``probs``).
    hop : float
        Frame hop in seconds.
    reference : pandas.DataFrame
        Annotated events of these files (``filename, onset, offset, event_label``).
    groups : list of str
        Which part each file comes from (e.g. its cross-validation fold); one
        name for all when there is a single part.
    """

    files: list[str]
    probs: list[np.ndarray]
    durations: np.ndarray
    labels: tuple[str, ...]
    hop: float
    reference: pd.DataFrame
    groups: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files = [str(f) for f in self.files]
        self.durations = np.asarray(self.durations, dtype=np.float64)
        self.labels = tuple(str(lbl) for lbl in self.labels)
        if not self.groups:
            self.groups = ["all"] * len(self.files)
        if not (len(self.files) == len(self.probs) == len(self.durations) == len(self.groups)):
            raise DataError(
                f"{len(self.files)} files, {len(self.probs)} probability arrays, "
                f"{len(self.durations)} durations and {len(self.groups)} groups: they must match"
            )
        if len(set(self.files)) != len(self.files):
            twice = sorted({f for f in self.files if self.files.count(f) > 1})
            groups = sorted({g for f, g in zip(self.files, self.groups, strict=True) if f in twice})
            raise DataError(
                f"file(s) {twice[:5]} appear more than once in the predictions (groups {groups})"
            )
        for name, p, duration in zip(self.files, self.probs, self.durations, strict=True):
            if p.ndim != 2 or p.shape[1] != len(self.labels):
                raise DataError(
                    f"probabilities of {name!r} have shape {p.shape}, expected (frames, {len(self.labels)})"
                )
            if p.shape[0] * self.hop > duration + self.hop:
                raise DataError(
                    f"{name!r}: {p.shape[0]} frames of {self.hop} s do not fit in its duration {duration} s"
                )
        missing = [c for c in EVENT_COLUMNS if c not in self.reference.columns]
        if missing:
            raise DataError(f"reference lacks column(s) {missing}")
        unknown = sorted(set(self.reference["event_label"].astype(str)) - set(self.labels))
        if unknown:
            raise DataError(f"reference has labels the system does not know: {unknown}")
        self.reference = self.reference[self.reference["filename"].isin(set(self.files))][
            list(EVENT_COLUMNS)
        ].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def file_durations(self) -> dict[str, float]:
        """``{filename: seconds}``."""
        return dict(zip(self.files, map(float, self.durations), strict=True))

    def events(self, threshold: float | Sequence[float] = 0.5) -> pd.DataFrame:
        """Detected events of every file at a threshold (one for all classes or one per class)."""
        parts = [
            frames_to_events(p, self.labels, threshold, self.hop, f)
            for p, f in zip(self.probs, self.files, strict=True)
        ]
        if not parts:
            return pd.DataFrame(columns=list(EVENT_COLUMNS))
        return pd.concat(parts, ignore_index=True)

    def segment_metrics(
        self, threshold: float | Sequence[float] = 0.5, time_resolution: float = 1.0
    ) -> SegmentMetrics:
        """The paper's segment-based metrics of these predictions at ``threshold``."""
        return segment_based_metrics(
            self.reference,
            self.events(threshold),
            self.labels,
            time_resolution=time_resolution,
            file_durations=self.file_durations,
        )

    @classmethod
    def concat(cls, parts: Sequence[Predictions]) -> Predictions:
        """Pool predictions of disjoint file sets (e.g. the test folds of a cross-validation)."""
        if not parts:
            raise DataError("nothing to pool")
        first = parts[0]
        for part in parts[1:]:
            if part.labels != first.labels or part.hop != first.hop:
                raise DataError("pooled predictions must share labels and hop")
        return cls(
            files=[f for p in parts for f in p.files],
            probs=[x for p in parts for x in p.probs],
            durations=np.concatenate([p.durations for p in parts]),
            labels=first.labels,
            hop=first.hop,
            reference=pd.concat([p.reference for p in parts], ignore_index=True),
            groups=[g for p in parts for g in p.groups],
        )

    def save(self, path: str | Path) -> None:
        """Write to one compressed ``.npz``, atomically, losslessly (float32).

        Lossless, so that a run resumed from stored predictions scores exactly
        as an uninterrupted one.
        """
        arrays = {f"p{i}": np.asarray(p, dtype=np.float32) for i, p in enumerate(self.probs)}
        ref = self.reference
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            **arrays,
            files=np.array(self.files, dtype=str),
            groups=np.array(self.groups, dtype=str),
            durations=self.durations,
            labels=np.array(self.labels, dtype=str),
            hop=np.float64(self.hop),
            ref_filename=np.array(ref["filename"], dtype=str),
            ref_onset=ref["onset"].to_numpy(np.float64),
            ref_offset=ref["offset"].to_numpy(np.float64),
            ref_label=np.array(ref["event_label"], dtype=str),
        )
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Predictions:
        """Read what :meth:`save` wrote; a damaged file raises an error naming it."""
        try:
            with np.load(path) as z:
                files = [str(f) for f in z["files"]]
                reference = pd.DataFrame(
                    {
                        "filename": [str(f) for f in z["ref_filename"]],
                        "onset": z["ref_onset"],
                        "offset": z["ref_offset"],
                        "event_label": [str(lbl) for lbl in z["ref_label"]],
                    }
                )
                loaded = cls(
                    files=files,
                    probs=[z[f"p{i}"].astype(np.float32) for i in range(len(files))],
                    durations=z["durations"],
                    labels=tuple(str(lbl) for lbl in z["labels"]),
                    hop=float(z["hop"]),
                    reference=reference,
                    groups=[str(g) for g in z["groups"]],
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise CorruptFileError(
                f"{path}: these stored predictions cannot be read ({err})"
            ) from None
        _check_finite(loaded, path)
        return loaded


def _check_finite(predictions: Predictions, path: str | Path) -> None:
    """Refuse stored probabilities that are not finite, naming the file, audio file, frame and class."""
    for name, p in zip(predictions.files, predictions.probs, strict=True):
        bad = np.argwhere(~np.isfinite(p))
        if len(bad):
            frame, column = (int(v) for v in bad[0])
            raise CorruptFileError(
                f"{path}: the stored probabilities of {name!r} hold {p[frame, column]} at frame "
                f"{frame}, class {predictions.labels[column]!r} ({len(bad)} non-finite value(s)); "
                "delete it (and the fold.json next to it) and run again"
            )
