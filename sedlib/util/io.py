"""Files the study writes: atomically, as plain JSON, and read back with errors that name them."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sedlib.errors import SedlibError


class CorruptFileError(SedlibError, ValueError):
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


def read_json_object(
    path: str | os.PathLike, what: str = "JSON file", advice: str = "fix it"
) -> dict[str, Any]:
    """Read a JSON file that must hold an object (names to values).

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, for messages ("configuration file").
    advice : str
        What to do about a bad file, for messages.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    CorruptFileError
        When it is not UTF-8 JSON (the message gives ``file:line:column``) or
        holds something other than an object (a list, a number...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.json"
    >>> _ = p.write_text('{"epochs": 2,\\n "lr": }')
    >>> read_json_object(p, "configuration file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sedlib.util.io.CorruptFileError: ...c.json:2:8: this configuration file is not valid JSON (Expecting value); fix it
    """
    path = Path(path)
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise CorruptFileError(
            f"{path}: this {what} is not UTF-8 text (byte {err.start}); {advice}"
        ) from None
    except json.JSONDecodeError as err:
        raise CorruptFileError(
            f"{path}:{err.lineno}:{err.colno}: this {what} is not valid JSON ({err.msg}); {advice}"
        ) from None
    if not isinstance(value, dict):
        raise CorruptFileError(
            f'{path}: this {what} must hold a JSON object ({{"name": value, ...}}), '
            f"not a {type(value).__name__}; {advice}"
        )
    return value


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The settings of a ``--config`` file: a JSON object of ``TrainConfig`` fields.

    Raises
    ------
    FileNotFoundError, CorruptFileError
        Naming the file (and the line and column of a JSON syntax error).
    """
    return read_json_object(
        path, "configuration file", 'fix it: it must be one JSON object, e.g. {"epochs": 2}'
    )
