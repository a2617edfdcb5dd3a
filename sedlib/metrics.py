"""Segment-based F-score and error rate (Mesaros et al., 2016), vectorized.

Identical to ``sed_eval.sound_event.SegmentBasedMetrics`` evaluated file by
file (same segment rounding, same per-segment substitution / deletion /
insertion counting, same formulas), but computed on event rolls with numpy
in one pass over all files instead of a Python loop over segments.

Two deliberate differences in what is *reported*, both documented here and
in the book:

- ``macro_f`` is the mean F-score over **all** labels with an undefined
  F-score (a class with no reference or no system segments) counted as 0.
  That is how the paper's Table 4 follows from its Table 2; sed_eval's own
  class-wise average skips undefined classes instead.
- A class-wise error rate is undefined (NaN) for a class with no reference
  segments; sed_eval divides by ``Nref + eps`` and reports up to ~1e16
  there. ``macro_er`` averages the classes with reference segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label")
_EPS = np.spacing(1)  # sed_eval's eps in the rates
_DURATION_TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class SegmentMetrics:
    """Segment-based metrics of one evaluation.

    Attributes
    ----------
    micro_f, micro_precision, micro_recall : float
        Overall ("micro") scores from counts pooled over classes and segments.
    micro_er : float
        Overall error rate ``(S + D + I) / N_ref``.
    substitution_rate, deletion_rate, insertion_rate : float
        The three parts of ``micro_er``.
    macro_f : float
        Mean class-wise F over all labels, undefined counted as 0.
    macro_er : float
        Mean class-wise error rate over labels with reference segments.
    per_class : pandas.DataFrame
        Indexed by label: ``f, precision, recall, er, deletion_rate,
        insertion_rate, n_ref, n_sys, n_tp, n_fp, n_fn`` (counts in segments).
    n_files, n_segments : int
        Files evaluated and segments over all of them.
    time_resolution : float
        Segment length in seconds.
    """

    micro_f: float
    micro_precision: float
    micro_recall: float
    micro_er: float
    substitution_rate: float
    deletion_rate: float
    insertion_rate: float
    macro_f: float
    macro_er: float
    per_class: pd.DataFrame
    n_files: int
    n_segments: int
    time_resolution: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: scalars, and ``per_class`` as ``{label: {column: value}}``."""
        out: dict[str, Any] = {
            k: getattr(self, k) for k in self.__dataclass_fields__ if k != "per_class"
        }
        out = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in out.items()}
        table = self.per_class.astype(object).where(self.per_class.notna(), None)
        out["per_class"] = {str(lbl): row.to_dict() for lbl, row in table.iterrows()}
        return out


def _f_measure(tp: np.ndarray, n_sys: np.ndarray, n_ref: np.ndarray) -> tuple[np.ndarray, ...]:
    """Precision, recall and F as sed_eval computes them (NaN where undefined)."""
    tp, n_sys, n_ref = (np.asarray(a, dtype=np.float64) for a in (tp, n_sys, n_ref))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_sys > 0, tp / np.where(n_sys > 0, n_sys, 1.0), np.nan)
        recall = np.where(n_ref > 0, tp / np.where(n_ref > 0, n_ref, 1.0), np.nan)
        f = 2.0 * precision * recall / (precision + recall)
    f = np.where((precision == 0) & (recall == 0), 0.0, f)
    return precision, recall, f


@dataclass(frozen=True)
class _Events:
    """An event list as numpy arrays, validated."""

    filename: np.ndarray  # object
    onset: np.ndarray  # float64
    offset: np.ndarray  # float64
    label: np.ndarray  # int64 code into the label list
    name: str

    def describe(self, i: int, labels: Sequence[str]) -> str:
        return (
            f"(filename={self.filename[i]!r}, onset={float(self.onset[i])!r}, "
            f"offset={float(self.offset[i])!r}, event_label={labels[self.label[i]]!r})"
        )


def _to_events(events: pd.DataFrame, labels: Sequence[str], name: str) -> _Events:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(events).__name__}")
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
    codes = pd.Index([str(lbl) for lbl in labels]).get_indexer(label_text)
    if (codes < 0).any():
        unknown = sorted(set(label_text[codes < 0]))
        raise ValueError(
            f"{name}: unknown event label(s) {unknown}; known labels: {sorted(labels)}"
        )
    out = _Events(events["filename"].to_numpy(dtype=object), onset, offset, codes, name)
    bad = ~(np.isfinite(onset) & np.isfinite(offset)) | (onset < 0) | (offset < 0)
    if bad.any():
        raise ValueError(
            f"{name}: invalid time in event {out.describe(int(np.flatnonzero(bad)[0]), labels)} "
            "(times must be finite and >= 0)"
        )
    reversed_ = onset > offset
    if reversed_.any():
        raise ValueError(
            f"{name}: onset after offset in event {out.describe(int(np.flatnonzero(reversed_)[0]), labels)}"
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
    checked = _to_events(events, labels, name)
    return events.assign(onset=checked.onset, offset=checked.offset)


def _file_lengths(
    reference: _Events,
    estimated: _Events,
    labels: Sequence[str],
    file_durations: Mapping[str, float] | None,
) -> pd.Series:
    """Evaluated length in seconds per file, in a fixed (sorted) file order."""
    if file_durations is None:
        both = pd.Series(
            np.concatenate([reference.offset, estimated.offset]),
            index=np.concatenate([reference.filename, estimated.filename]),
        )
        return both.groupby(level=0, sort=True).max().astype(np.float64)
    durations = pd.Series(dict(file_durations), dtype=np.float64).sort_index()
    if durations.isna().any() or (durations < 0).any():
        bad = durations[durations.isna() | (durations < 0)].index[0]
        raise ValueError(f"file_durations[{bad!r}] = {durations[bad]!r} is not a valid duration")
    for events in (reference, estimated):
        code = durations.index.get_indexer(events.filename)
        if (code < 0).any():
            unknown = sorted(set(events.filename[code < 0]))
            raise ValueError(
                f"{events.name} has events in file(s) missing from file_durations: {unknown[:5]}"
            )
        too_long = events.offset > durations.to_numpy()[code] + _DURATION_TOLERANCE_S
        if too_long.any():
            i = int(np.flatnonzero(too_long)[0])
            raise ValueError(
                f"{events.name}: event {events.describe(i, labels)} ends after its file's duration "
                f"{float(durations.iloc[code[i]])!r} s"
            )
    return durations


def _segment_roll(
    events: _Events,
    n_classes: int,
    files: pd.Index,
    file_start: np.ndarray,
    file_segments: np.ndarray,
    time_resolution: float,
) -> np.ndarray:
    """Boolean roll ``(total segments, classes)``; each file occupies its own row block."""
    total = int(file_segments.sum())
    diff = np.zeros((total + 1, n_classes), dtype=np.int32)
    if len(events.onset):
        file_code = files.get_indexer(events.filename)
        # sed_eval: floor(onset / r) .. ceil(offset / r), truncated to the file's segments.
        first = np.floor(events.onset * 1 / float(time_resolution)).astype(np.int64)
        stop = np.ceil(events.offset * 1 / float(time_resolution)).astype(np.int64)
        stop = np.minimum(stop, file_segments[file_code])
        keep = first < stop
        base = file_start[file_code][keep]
        cls = events.label[keep]
        np.add.at(diff, (base + first[keep], cls), 1)
        np.add.at(diff, (base + stop[keep], cls), -1)
    return np.cumsum(diff[:-1], axis=0, dtype=np.int32) > 0


def segment_based_metrics(
    reference: pd.DataFrame,
    estimated: pd.DataFrame,
    labels: Sequence[str],
    *,
    time_resolution: float = 1.0,
    file_durations: Mapping[str, float] | pd.Series | None = None,
) -> SegmentMetrics:
    """Segment-based micro and macro F-score and error rate over many files.

    Parameters
    ----------
    reference, estimated : pandas.DataFrame
        Event lists with columns ``filename, onset, offset, event_label``
        (onset and offset in seconds). Overlapping events of one class are
        allowed. Every file with a known duration is evaluated, also those
        with no events at all.
    labels : sequence of str
        All event labels; the macro average runs over all of them.
    time_resolution : float
        Segment length in seconds (the paper: 1 s).
    file_durations : mapping of filename to seconds, optional
        The real length of each file. Strongly recommended: without it the
        evaluated length of a file stops at its last reference or estimated
        event (sed_eval's default), which hides false negatives and false
        positives after that point, and files without events are skipped.

    Returns
    -------
    SegmentMetrics
        Micro and macro scores and the per-class table.

    Raises
    ------
    ValueError
        On malformed events (see :func:`validate_events`), a file missing
        from ``file_durations``, or an event ending after its file.

    Examples
    --------
    >>> ref = pd.DataFrame({"filename": ["a"], "onset": [0.5], "offset": [2.2],
    ...                     "event_label": ["dog"]})
    >>> est = pd.DataFrame({"filename": ["a"], "onset": [0.9], "offset": [1.1],
    ...                     "event_label": ["dog"]})
    >>> m = segment_based_metrics(ref, est, ["dog", "cat"], file_durations={"a": 4.0})
    >>> round(m.micro_f, 3), m.macro_f
    (0.8, 0.4)
    """
    if not time_resolution > 0:
        raise ValueError(f"time_resolution must be positive, got {time_resolution!r}")
    labels = [str(lbl) for lbl in labels]
    if len(set(labels)) != len(labels) or not labels:
        raise ValueError(f"labels must be a non-empty list of unique names, got {labels}")
    ref_events = _to_events(reference, labels, "reference")
    est_events = _to_events(estimated, labels, "estimated")
    lengths = _file_lengths(ref_events, est_events, labels, file_durations)
    file_segments = np.ceil(lengths.to_numpy() * 1 / float(time_resolution)).astype(np.int64)
    file_start = np.cumsum(file_segments) - file_segments
    total = int(file_segments.sum())
    roll_args = (len(labels), lengths.index, file_start, file_segments, time_resolution)
    ref = _segment_roll(ref_events, *roll_args)
    sys = _segment_roll(est_events, *roll_args)
    hit = ref & sys

    # Overall: substitutions, deletions and insertions counted segment by segment.
    n_ref_seg, n_sys_seg, n_tp_seg = ref.sum(1), sys.sum(1), hit.sum(1)
    subs = int((np.minimum(n_ref_seg, n_sys_seg) - n_tp_seg).sum())
    dels = int(np.maximum(0, n_ref_seg - n_sys_seg).sum())
    ins = int(np.maximum(0, n_sys_seg - n_ref_seg).sum())
    n_ref, n_sys, n_tp = int(n_ref_seg.sum()), int(n_sys_seg.sum()), int(n_tp_seg.sum())
    micro_p, micro_r, micro_f = (float(v) for v in _f_measure(n_tp, n_sys, n_ref))
    if n_ref > 0:
        rates = [float(c / (n_ref + _EPS)) for c in (subs, dels, ins)]
        micro_er = rates[0] + rates[1] + rates[2]
    else:
        rates, micro_er = [np.nan] * 3, np.nan

    # Class-wise.
    tp, c_ref, c_sys = hit.sum(0), ref.sum(0), sys.sum(0)
    fn, fp = c_ref - tp, c_sys - tp
    precision, recall, f = _f_measure(tp, c_sys, c_ref)
    with np.errstate(invalid="ignore", divide="ignore"):
        del_rate = np.where(c_ref > 0, fn / (c_ref + _EPS), np.nan)
        ins_rate = np.where(c_ref > 0, fp / (c_ref + _EPS), np.nan)
    er = del_rate + ins_rate
    per_class = pd.DataFrame(
        {
            "f": f,
            "precision": precision,
            "recall": recall,
            "er": er,
            "deletion_rate": del_rate,
            "insertion_rate": ins_rate,
            "n_ref": c_ref.astype(np.int64),
            "n_sys": c_sys.astype(np.int64),
            "n_tp": tp.astype(np.int64),
            "n_fp": fp.astype(np.int64),
            "n_fn": fn.astype(np.int64),
        },
        index=pd.Index(labels, name="event_label"),
    )
    defined_er = er[c_ref > 0]
    return SegmentMetrics(
        micro_f=micro_f,
        micro_precision=micro_p,
        micro_recall=micro_r,
        micro_er=float(micro_er),
        substitution_rate=rates[0],
        deletion_rate=rates[1],
        insertion_rate=rates[2],
        macro_f=float(np.nan_to_num(f, nan=0.0).mean()),
        macro_er=float(defined_er.mean()) if defined_er.size else float("nan"),
        per_class=per_class,
        n_files=len(lengths),
        n_segments=total,
        time_resolution=float(time_resolution),
    )


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
