"""An exclusive, non-blocking lock on a file, released when its process ends."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from sedlib.errors import SedlibError


class LockedError(SedlibError, RuntimeError):
    """Another process holds the lock; the message names it."""


class FileLock:
    """``with FileLock(path, what):`` holds an exclusive lock, or raises :class:`LockedError` at once.

    The lock is an ``fcntl.flock`` on ``path``: the kernel releases it when
    the holding process ends, so a crash never leaves a stale lock. The file
    records who holds it (host, pid, since) for the error message.

    Parameters
    ----------
    path : path-like
        The lock file (its folder is created).
    what : str
        What the lock protects, for the error message.
    blocking : bool
        Wait for the lock instead of raising.
    """

    def __init__(
        self, path: str | os.PathLike, what: str = "this resource", blocking: bool = False
    ):
        self.path = Path(path)
        self.what = what
        self.blocking = blocking
        self._handle = None

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockedError(f"{self.what} is in use by {holder} (lock {self.path})") from None
        handle.seek(0)
        handle.truncate()
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        handle.write(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": since}))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
