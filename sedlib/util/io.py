"""Files the study writes: atomically, as plain JSON, and read back with errors that name them."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


class CorruptFileError(ValueError):
    """A file the study wrote cannot be read back; the message names it and says what to do."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, never half of either; an
    interrupted write leaves no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that :func:`json.dumps` accepts with ``allow_nan=False``.

    Numpy scalars and arrays become Python numbers and lists, tuples become
    lists, dictionary keys become strings and non-finite floats become None.

    Examples
    --------
    >>> json_safe({"a": np.float32(0.5), 1: [float("nan"), (2, 3)]})
    {'a': 0.5, '1': [None, [2, 3]]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, value: Any, *, indent: int | None = 1) -> None:
    """Write ``value`` as JSON, atomically, non-finite numbers as null."""
    text = json.dumps(json_safe(value), indent=indent, allow_nan=False)
    atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a JSON file the study wrote.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CorruptFileError
        When it is not valid UTF-8 JSON; the message names the file.
    """
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(
            f"{path}: this {what} is corrupt ({err}); delete it (and what depends on it) "
            "and run again"
        ) from None
