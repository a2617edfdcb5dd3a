"""Audio files known by their content: sha256 digests, computed once per version of a file.

A data set's identity (and the key of its feature cache) must change when an
audio file's sound changes, and only then: a copy, a ``touch`` or a new
checkout keeps it. So a file is known by the sha256 of its bytes. Hashing
every file at every run would cost seconds on the paper's data, so each
digest is kept in a small index (``<data root>/cache/content-index.json``)
under the file's absolute path, with its size, modification time, change
time (``st_ctime_ns``) and inode: a file whose stat is unchanged is not read
again, any other is hashed anew.

Size and modification time alone are no proof: ``cp -p`` over a file of the
same size, or an edit followed by ``touch -r``, keeps both (and the
generator fixes every file's time). The change time cannot be set back: any
write, copy or ``touch`` moves it to the present. A digest is trusted only
when the file's change time lies :data:`RACY_NS` before the moment it was
hashed, so that a write in the same clock tick as the hashing (change times
are kept at a coarse resolution) cannot go unseen; a file changed that
recently is hashed again next time.

The index is a cache of facts, never a source of them: a lost or corrupt
index only costs the hashing again, and the digests themselves (the data
identities) do not depend on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from sedlib.settings import data_root
from sedlib.util.io import write_json

log = logging.getLogger(__name__)

#: A digest is trusted only for a file whose change time is this much older than its hashing.
RACY_NS = 2_000_000_000


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def index_path() -> Path:
    """Where the digests are kept (``<data root>/cache/content-index.json``)."""

    return data_root() / "cache" / "content-index.json"


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _trusted(known, stat: os.stat_result) -> bool:
    """Whether an index entry ``[stamp, digest, hashed at (ns)]`` still tells this file's digest."""
    return (
        isinstance(known, list)
        and len(known) == 3
        and known[0] == _stamp(stat)
        and isinstance(known[2], int)
        and stat.st_ctime_ns < known[2] - RACY_NS
    )


def _read_index(path: Path) -> dict[str, list]:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        return index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        return {}


def content_digests(paths: Iterable[str | os.PathLike]) -> dict[str, str]:
    """The sha256 of each file, by absolute path; unchanged files are not read again.

    Parameters
    ----------
    paths : iterable of path-like
        Existing files.

    Returns
    -------
    dict
        ``{absolute path: sha256 hex}``.

    Raises
    ------
    FileNotFoundError
        When a file does not exist (raised by ``os.stat``, naming it).
    """
    index_file = index_path()
    index = _read_index(index_file)
    out, changed = {}, False
    for path in paths:
        key = str(Path(path).absolute())
        stat = os.stat(key)
        known = index.get(key)
        if _trusted(known, stat):
            out[key] = known[1]
            continue
        hashed_at = time.time_ns()  # before reading: a write after it moves the change time
        out[key] = file_sha256(key)
        index[key] = [_stamp(os.stat(key)), out[key], hashed_at]
        changed = True
    if changed:
        try:  # concurrent writers may drop each other's additions: they are only hashed again
            write_json(index_file, index, indent=None)
        except OSError as err:
            log.warning("could not keep the audio digests in %s (%s)", index_file, err)
    return out
