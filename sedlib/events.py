"""Event lists: checked once into numpy arrays, and made from frame probabilities.

An event list is a DataFrame with columns ``filename, onset, offset,
event_label`` (the layout of sed_eval and of the TUT metadata).
:class:`EventList` holds one checked list as arrays, so that a reference
scored many times is converted once (:func:`sedlib.metrics.segment_based_metrics`
takes either); :func:`frames_to_events` turns frame-wise probabilities into
events at a threshold (the paper's Eq. 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label")


@dataclass(frozen=True)
class EventList:
    """An event list checked once and held as numpy arrays, ready to be scored many times.

    Build it with :meth:`from_frame`; :func:`segment_based_metrics` accepts it
    wherever it accepts a DataFrame, so a reference scored against many
    systems (or thresholds) is converted only once.

    Attributes
    ----------
    filename : np.ndarray
        Object array of file names.
    onset, offset : np.ndarray
        float64 times in seconds.
    label : np.ndarray
        int64 index of each event's label in ``labels``.
    labels : tuple of str
        The label list the codes refer to.
    name : str
        How to call this list in messages ("reference", "estimated"...).
    """

    filename: np.ndarray
    onset: np.ndarray
    offset: np.ndarray
    label: np.ndarray
    labels: tuple[str, ...]
    name: str = "events"

    @classmethod
    def from_frame(
        cls, events: pd.DataFrame, labels: Sequence[str], name: str = "events"
    ) -> EventList:
        """Check an event DataFrame (see :func:`validate_events`) and convert it."""
        return as_event_list(events, labels, name)

    def __len__(self) -> int:
        return len(self.onset)

    def describe(self, i: int) -> str:
        """Event ``i`` as text, for error messages."""
        return (
            f"(filename={self.filename[i]!r}, onset={float(self.onset[i])!r}, "
            f"offset={float(self.offset[i])!r}, event_label={self.labels[self.label[i]]!r})"
        )


def as_event_list(events: pd.DataFrame, labels: Sequence[str], name: str) -> EventList:
    """``events`` as an :class:`EventList` (checked; an EventList of the same labels passes through)."""
    if isinstance(events, EventList):
        if list(events.labels) != [str(lbl) for lbl in labels]:
            raise ValueError(f"{name} was prepared for other labels: {list(events.labels)}")
        return events
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame or an EventList, got {type(events).__name__}"
        )
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; expected {list(EVENT_COLUMNS)}")
    times = []
    for col in ("onset", "offset"):
        try:
            times.append(pd.to_numeric(events[col], errors="raise").to_numpy(dtype=np.float64))
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name}: column {col!r} is not numeric ({err})") from err
    onset, offset = times
    label_text = events["event_label"].astype(str)
    labels = tuple(str(lbl) for lbl in labels)
    codes = pd.Index(labels).get_indexer(label_text)
    if (codes < 0).any():
        unknown = sorted(set(label_text[codes < 0]))
        raise ValueError(
            f"{name}: unknown event label(s) {unknown}; known labels: {sorted(labels)}"
        )
    out = EventList(events["filename"].to_numpy(dtype=object), onset, offset, codes, labels, name)
    bad = ~(np.isfinite(onset) & np.isfinite(offset)) | (onset < 0) | (offset < 0)
    if bad.any():
        raise ValueError(
            f"{name}: invalid time in event {out.describe(int(np.flatnonzero(bad)[0]))} "
            "(times must be finite and >= 0)"
        )
    reversed_ = onset > offset
    if reversed_.any():
        raise ValueError(
            f"{name}: onset after offset in event {out.describe(int(np.flatnonzero(reversed_)[0]))}"
        )
    return out


def validate_events(
    events: pd.DataFrame, labels: Sequence[str], name: str = "events"
) -> pd.DataFrame:
    """Check an event list and return it with float64 times.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns ``filename, onset, offset, event_label``; extra columns are kept.
    labels : sequence of str
        The allowed event labels.
    name : str
        How to call this list in error messages ("reference", "estimated"...).

    Returns
    -------
    pandas.DataFrame
        A copy with ``onset`` and ``offset`` as float64.

    Raises
    ------
    ValueError
        On a missing column, a non-finite or negative time, an onset after
        its offset, or a label not in ``labels``; the message names the event.
    """
    checked = as_event_list(events, labels, name)
    return events.assign(onset=checked.onset, offset=checked.offset)


def frames_to_events(
    probs: Any,
    labels: Sequence[str],
    threshold: float | Sequence[float] = 0.5,
    hop: float = 0.02,
    filename: str = "",
) -> pd.DataFrame:
    """Turn frame-wise class probabilities into an event list.

    A class is active in frame ``n`` when its probability is at least the
    threshold (Eq. 1 of the paper); each run of active frames becomes one
    event from ``start * hop`` to ``end * hop`` seconds.

    Parameters
    ----------
    probs : array-like
        ``(frames, classes)`` probabilities in [0, 1] (numpy or torch).
    labels : sequence of str
        Class names, one per column.
    threshold : float or sequence of float
        Detection threshold, one for all classes (the paper: 0.5) or one per class.
    hop : float
        Frame hop in seconds (20 ms).
    filename : str
        Written into the ``filename`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``filename, onset, offset, event_label``, sorted by onset.

    Examples
    --------
    >>> p = np.array([[0.1, 0.9], [0.7, 0.9], [0.2, 0.4]])
    >>> frames_to_events(p, ["a", "b"], filename="x.wav")
      filename  onset  offset event_label
    0    x.wav   0.00    0.04           b
    1    x.wav   0.02    0.04           a
    """
    if hasattr(probs, "detach"):
        probs = probs.detach().cpu().numpy()
    probs = np.asarray(probs, dtype=np.float64)
    labels = [str(lbl) for lbl in labels]
    if probs.ndim != 2 or probs.shape[1] != len(labels):
        raise ValueError(
            f"probs must be (frames, {len(labels)} classes) to match labels, got shape {probs.shape}"
        )
    if not np.isfinite(probs).all():
        idx = np.argwhere(~np.isfinite(probs))[0]
        raise ValueError(
            f"probs has a non-finite value at frame {idx[0]}, class {labels[idx[1]]!r}"
        )
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        idx = np.argwhere((probs < 0) | (probs > 1))[0]
        raise ValueError(
            f"probs must lie in [0, 1]; frame {idx[0]}, class {labels[idx[1]]!r} has {probs[tuple(idx)]}"
        )
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim > 1 or (thr.ndim == 1 and thr.shape[0] != len(labels)):
        raise ValueError(
            f"threshold must be a scalar or one value per class ({len(labels)}), got shape {thr.shape}"
        )
    if not (np.isfinite(thr).all() and (thr >= 0).all() and (thr <= 1).all()):
        raise ValueError(f"threshold must lie in [0, 1], got {threshold!r}")
    if not hop > 0:
        raise ValueError(f"hop must be positive, got {hop!r}")
    active = probs >= thr
    padded = np.zeros((probs.shape[0] + 2, len(labels)), dtype=np.int8)
    padded[1:-1] = active
    change = np.diff(padded, axis=0).T  # (classes, frames + 1), class-major order
    starts = np.argwhere(change == 1)
    ends = np.argwhere(change == -1)
    events = pd.DataFrame(
        {
            "filename": filename,
            "onset": starts[:, 1] * hop,
            "offset": ends[:, 1] * hop,
            "event_label": np.asarray(labels, dtype=object)[starts[:, 0]],
        }
    )
    return events.sort_values(["onset", "event_label"], kind="stable").reset_index(drop=True)
