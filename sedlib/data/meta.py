"""TUT-format event metadata: read, validate, write, and per-class statistics.

One tab-separated file per split, with the header
``path  scene_label  event_start_time  event_end_time  event_label`` and one
row per event; ``path`` is relative to the folder that holds the audio.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib.errors import SedlibError
from sedlib.util.io import atomic_write_text

TUT_HEADER = ("path", "scene_label", "event_start_time", "event_end_time", "event_label")
META_COLUMNS = ("filename", "scene_label", "onset", "offset", "event_label")


class MetadataError(SedlibError, ValueError):
    """A metadata file is malformed; the message names the file and line."""


def read_meta(
    path: str | os.PathLike,
    labels: Iterable[str] | None = None,
    *,
    allow_duplicates: bool = False,
) -> pd.DataFrame:
    """Read a TUT-format metadata file.

    Parameters
    ----------
    path : path-like
        Tab-separated UTF-8 file with the TUT header (the header row may be
        absent; a byte-order mark is ignored).
    labels : iterable of str, optional
        When given, every event label must be one of these.
    allow_duplicates : bool
        Accept a line that repeats an earlier event (same file, scene, times
        and label). Refused by default: in hand-made metadata a repeated line
        is an editing mistake (the TUT metadata has none) that would count
        the event twice in :func:`class_stats`, and dropping it quietly could
        hide the line it replaced. The synthetic generator writes such pairs
        on purpose (two texture events of one class, both cut to the whole
        file), so :meth:`~sedlib.data.layout.Dataset.meta` accepts them in
        generated data sets.

    Returns
    -------
    pandas.DataFrame
        Columns ``filename, scene_label, onset, offset, event_label`` (times in
        seconds, float64), in file order. ``df.attrs["source"]`` holds the path
        and ``df.attrs["lines"]`` the line number of each row, for messages.

    Raises
    ------
    MetadataError
        On a line that is not UTF-8, has the wrong number of fields, a time
        that is not a finite non-negative number, an onset after its offset,
        an unknown label, or that repeats an earlier event (unless
        ``allow_duplicates``); the message gives ``file:line`` (and the line
        of the first copy).
    FileNotFoundError
        When the file does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "meta.txt"
    >>> _ = p.write_text("path\\tscene_label\\tevent_start_time\\tevent_end_time\\tevent_label\\n"
    ...                  "audio/a.wav\\thome\\t1.5\\t2.25\\tdishes\\n")
    >>> read_meta(p)
          filename scene_label  onset  offset event_label
    0  audio/a.wav        home    1.5    2.25      dishes
    """
    path = Path(path)
    known = None if labels is None else set(labels)
    rows: list[tuple] = []
    lines: list[int] = []
    seen: dict[tuple, int] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = _decode_line(raw, path, number)
            if not line.strip():
                continue
            fields = line.split("\t")
            if number == 1 and tuple(f.strip() for f in fields) == TUT_HEADER:
                continue
            row = _parse_row(fields, line, f"{path}:{number}", known)
            if row in seen and not allow_duplicates:
                raise MetadataError(
                    f"{path}:{number}: the event of line {seen[row]} again ({line!r}); an event "
                    "listed twice counts twice in the event statistics: remove one copy"
                )
            seen.setdefault(row, number)
            rows.append(row)
            lines.append(number)
    meta = pd.DataFrame(rows, columns=list(META_COLUMNS))
    meta["onset"] = meta["onset"].astype(np.float64)
    meta["offset"] = meta["offset"].astype(np.float64)
    meta.attrs["source"] = str(path)
    meta.attrs["lines"] = lines
    return meta


def _decode_line(raw: bytes, path: Path, number: int) -> str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MetadataError(
            f"{path}:{number}: not UTF-8 text (byte {raw[err.start]:#04x} at column {err.start + 1}); "
            "save the file as UTF-8"
        ) from None
    if number == 1:
        line = line.removeprefix("\ufeff")  # a byte-order mark is not part of the header
    return line.rstrip("\r\n")


def _parse_row(fields: list[str], line: str, where: str, known: set[str] | None) -> tuple:
    """One event row, validated; errors name ``where`` (``file:line``)."""
    if len(fields) != 5:
        raise MetadataError(
            f"{where}: expected 5 tab-separated fields {TUT_HEADER}, found {len(fields)}: {line!r}"
        )
    filename, scene, start, end, label = (f.strip() for f in fields)
    try:
        onset, offset = float(start), float(end)
    except ValueError:
        raise MetadataError(
            f"{where}: event times must be numbers, got {start!r} and {end!r}"
        ) from None
    if not (math.isfinite(onset) and math.isfinite(offset)) or onset < 0 or offset < 0:
        raise MetadataError(
            f"{where}: event times must be finite and >= 0, got {onset!r}, {offset!r}"
        )
    if onset > offset:
        raise MetadataError(f"{where}: onset {onset} is after offset {offset}")
    if not filename or not label:
        raise MetadataError(f"{where}: empty path or event label: {line!r}")
    if known is not None and label not in known:
        raise MetadataError(
            f"{where}: unknown event label {label!r}; known labels: {sorted(known)}"
        )
    return filename, scene, onset, offset, label


def write_meta(meta: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write events in the TUT format, atomically (a reader never sees half a file).

    Parameters
    ----------
    meta : pandas.DataFrame
        Columns ``filename, scene_label, onset, offset, event_label``.
    path : path-like
        Destination; parent folders are created.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise MetadataError(f"meta lacks column(s) {missing}")
    path = Path(path)
    lines = ["\t".join(TUT_HEADER)]
    for row in meta[list(META_COLUMNS)].itertuples(index=False):
        lines.append(
            f"{row.filename}\t{row.scene_label}\t{row.onset:.6f}\t{row.offset:.6f}\t{row.event_label}"
        )
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


#: Frame indices are kept below this (about 58,000 years of 20 ms frames), so
#: that an absurd event time cannot overflow an int64.
_MAX_FRAME = float(2**61)


def active_frame_bounds(onset, offset, hop: float) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last frame index of each event, as float64 (integral values) in [0, 2^61].

    Frame ``n`` covers ``[n * hop, (n + 1) * hop)`` and is active when its
    centre ``(n + 0.5) * hop`` lies in ``[onset, offset)``; an event shorter
    than a frame can therefore cover no frame, exactly as a frame-wise
    model sees it.
    """
    first = np.ceil(np.asarray(onset, dtype=np.float64) / hop - 0.5)
    stop = np.ceil(np.asarray(offset, dtype=np.float64) / hop - 0.5)
    return np.clip(first, 0.0, _MAX_FRAME), np.clip(stop, 0.0, _MAX_FRAME)


def label_roll(
    events: pd.DataFrame, labels: list[str], n_frames: int, hop: float = 0.02
) -> np.ndarray:
    """Frame-level label roll of one file.

    Parameters
    ----------
    events : pandas.DataFrame
        The file's events (``onset, offset, event_label``).
    labels : list of str
        Class order of the roll's columns; every event label must be among them.
    n_frames : int
        Frames of the file (``features.n_frames``); events are cut at the end.
    hop : float
        Frame hop in seconds.

    Returns
    -------
    np.ndarray
        uint8 ``(n_frames, len(labels))``, 1 where the class is active
        (overlapping events of one class merge).
    """
    roll = np.zeros((n_frames + 1, len(labels)), dtype=np.int32)
    if len(events):
        index = pd.Index(labels).get_indexer(events["event_label"])
        if (index < 0).any():
            unknown = sorted(set(events["event_label"][index < 0]))
            raise MetadataError(f"unknown event label(s) {unknown}; known labels: {labels}")
        bounds = active_frame_bounds(events["onset"], events["offset"], hop)
        first, stop = (np.minimum(b, n_frames).astype(np.int64) for b in bounds)
        keep = first < stop
        np.add.at(roll, (first[keep], index[keep]), 1)
        np.add.at(roll, (stop[keep], index[keep]), -1)
    return (np.cumsum(roll[:-1], axis=0) > 0).astype(np.uint8)


def class_stats(meta: pd.DataFrame, frame_hop: float = 0.02) -> pd.DataFrame:
    """Per-class event statistics, as in the paper's Table 1 and Fig. 2.

    Parameters
    ----------
    meta : pandas.DataFrame
        Events as returned by :func:`read_meta`.
    frame_hop : float
        Frame hop in seconds for ``n_frames``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``event_label``, sorted by label: ``n_events``,
        ``mean_duration`` and ``total_duration`` (seconds, summed over events),
        and ``n_frames``, the frames in which the class is active in the
        frame-level label rolls (overlapping events of one class counted
        once): the ``N_m`` of the inverse frequency loss.
    """
    durations = meta["offset"] - meta["onset"]
    grouped = meta.assign(duration=durations).groupby("event_label", sort=True)
    stats = grouped.agg(
        n_events=("duration", "size"),
        mean_duration=("duration", "mean"),
        total_duration=("duration", "sum"),
    )
    first, stop = active_frame_bounds(meta["onset"], meta["offset"], frame_hop)
    spans = pd.DataFrame(
        {
            "file": meta["filename"].to_numpy(),
            "label": meta["event_label"].to_numpy(),
            "first": first,
            "stop": stop,
        }
    )
    stats["n_frames"] = (
        union_lengths(spans, ["label", "file"]).groupby(level=0).sum().reindex(stats.index)
    )
    stats["n_frames"] = stats["n_frames"].fillna(0).astype(np.int64)
    return stats


def union_lengths(spans: pd.DataFrame, by: list[str]) -> pd.Series:
    """Total length of the union of the intervals ``[first, stop)`` in each group of ``by``.

    Overlapping intervals of one group count once. Memory and time grow with
    the number of intervals, not with their lengths, so an event that ends
    after a billion seconds costs no more than any other.

    Parameters
    ----------
    spans : pandas.DataFrame
        Columns ``by`` plus ``first`` and ``stop`` (numbers, ``first <= stop``).
    by : list of str
        Grouping columns.

    Returns
    -------
    pandas.Series
        Indexed by the groups (a MultiIndex for several columns), float64 lengths.
    """
    ordered = spans.sort_values([*by, "first"], kind="stable")
    # the furthest end reached by the earlier intervals of the same group
    reach = ordered.groupby(by, sort=False)["stop"].cummax()
    before = reach.groupby([ordered[c] for c in by], sort=False).shift(1)
    start = np.maximum(ordered["first"], before.fillna(-np.inf))
    covered = (ordered["stop"] - start).clip(lower=0.0)
    return covered.groupby([ordered[c] for c in by], sort=True).sum().astype(np.float64)
