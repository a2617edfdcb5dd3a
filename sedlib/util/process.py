"""Child processes that end with the process that started them.

A sweep starts one process per run (``sedlib train``, or a papermill
kernel). When the sweep ends, however it ends, its children must end too:
an orphan would keep training a run whose lock its sweep no longer holds.

- :func:`start_child` starts a child, marks it with the parent's pid
  (:data:`PARENT_ENV`) and remembers it; :func:`stop_children` ends the live
  ones (called when the sweep fails or is interrupted).
- :func:`die_with_parent`, called first thing in the child, asks Linux to kill
  it when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``: SIGKILL and
  SIGTERM of the sweep included), and elsewhere polls the parent's pid.
  (A papermill kernel watches its parent by itself: ipykernel's parent poller.)
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sedlib.errors import ConfigError

log = logging.getLogger(__name__)

#: Environment variable naming the pid of the process a child must not outlive.
PARENT_ENV = "SEDLIB_PARENT_PID"
#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1

_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


def start_child(command: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> int:
    """Run ``command`` (output into ``log_path``) as a child that dies with this process; its exit status."""
    env = {**env, PARENT_ENV: str(os.getpid())}
    with open(log_path, "w") as log_file:
        with _children_lock:  # started and known at once: stop_children never misses it
            child = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd, env=env
            )
            _children.add(child)
        try:
            return child.wait()
        finally:
            with _children_lock:
                _children.discard(child)
            if child.poll() is None:  # the wait was interrupted: do not leave it behind
                child.kill()
                child.wait()


def stop_children(grace_s: float = 5.0) -> None:
    """End every live child started by :func:`start_child` (SIGTERM, then SIGKILL after ``grace_s``)."""
    with _children_lock:
        live = [c for c in _children if c.poll() is None]
    for child in live:
        log.warning("ending child process %d (%s)", child.pid, " ".join(child.args[2:4]))
        child.terminate()
    deadline = time.monotonic() + grace_s
    for child in live:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def die_with_parent() -> None:
    """In a child of :func:`start_child`: end when the parent ends (no-op elsewhere).

    Raises
    ------
    SystemExit
        When the parent has already ended.
    ConfigError
        When :data:`PARENT_ENV` is not a pid, naming it.
    """
    value = os.environ.pop(PARENT_ENV, None)
    if not value:
        return
    try:
        parent = int(value)
    except ValueError:
        raise ConfigError(
            f"{PARENT_ENV} must be the pid of the process that started this one (sedlib sets "
            f"it for its children), got {value!r}: unset it"
        ) from None
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it ended before the signal was armed
        raise SystemExit(f"the process {parent} that started this one has ended")


def _watch_parent(parent: int, interval_s: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(interval_s)
    os._exit(1)
