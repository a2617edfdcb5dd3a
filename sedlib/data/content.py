"""Audio files known by their content: sha256 digests, computed once per version of a file.

A data set's identity (and the key of its feature cache) must change when an
audio file's sound changes, and only then: a copy, a ``touch`` or a new
checkout keeps it. So a file is known by the sha256 of its bytes. Hashing
every file at every run would cost seconds on the paper's data, so each
digest is kept in a small index (``<data root>/cache/content-index.json``)
under the file's absolute path, size, modification time and inode: a file
whose stat is unchanged is not read again, any other is hashed anew.
The index is a cache of facts, never a source of them: a lost or corrupt
index only costs the hashing again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from sedlib.util.io import write_json

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def index_path() -> Path:
    """Where the digests are kept (``<data root>/cache/content-index.json``)."""
    from sedlib.settings import data_root

    return data_root() / "cache" / "content-index.json"


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


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
        stamp = _stamp(os.stat(key))
        known = index.get(key)
        if isinstance(known, list) and len(known) == 2 and known[0] == stamp:
            out[key] = known[1]
            continue
        out[key] = file_sha256(key)
        index[key] = [stamp, out[key]]
        changed = True
    if changed:
        try:  # concurrent writers may drop each other's additions: they are only hashed again
            write_json(index_file, index, indent=None)
        except OSError as err:
            log.warning("could not keep the audio digests in %s (%s)", index_file, err)
    return out
