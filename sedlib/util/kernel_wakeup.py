"""How notebook executions wait on a kernel: in slices of a second, and as long as it works.

Every notebook execution of the study installs it before its first cell:
the book build (its Sphinx extension ``kernel_wakeup``, in the build's own
process), ``tools/run_papermill.py`` (``make execute``), and the papermill
executor of ``sedlib sweep``. :func:`install` makes both changes below; it
needs the book's extras (jupyter_client, nbclient), imported only when called.

Slices (:func:`install_slices`).

On a loaded machine the asyncio poll of jupyter_client's ZMQ channels
sometimes misses the wake-up for a reply that has already arrived: nbclient
(the book build, papermill) then waits for the whole cell timeout before it
looks again and finds the reply, or forever where there is no timeout, as in
papermill's default. Measured here with two busy cores: 3 of 25 and 7 of 40
executions of chapter 02 stalled for the full 30 s timeout given (ipykernel 7.4
and 6.31, pyzmq 27.3 and 26.4 alike), and one execution without a timeout
hung for 14 minutes until killed. Waiting in slices leaves messages and their
order unchanged.

A limit on idleness, not on time (:func:`install_cell_limit`). nbclient's
per-cell ``timeout`` (``execute.timeout`` of the book's ``_config.yml``) is
a wall-clock limit: a cell that takes 140 s on an idle machine took more
than 900 s with the cores busy, and the build failed although the kernel
was working all along. With this change the limit counts only the time in
which the kernel neither computes (its processes' CPU time grows by less
than :data:`WORKING_CPU_SHARE` of the time that passed) nor sends a message:
a slow kernel goes on, one that is hung (waiting on nothing, silent) is
still stopped after ``timeout`` seconds, and while a cell outlives its limit
the build prints how long it has run and how much CPU its kernel used.

The ``zmq.error.ZMQError: Socket operation on non-socket`` a kernel logs
after a cell timed out is a consequence of the stop, not its cause: at the
timeout nbclient shuts the kernel down, which closes its sockets, and the
interrupted cell's reply then meets a closed socket (reproduced with an 8 s
cell under a 3 s limit; the same cell without a limit logs nothing).
"""

from __future__ import annotations

import asyncio
import sys
import time
from queue import Empty

#: The longest single wait for a message, in seconds.
SLICE_SECONDS = 1.0
#: A kernel whose processes used at least this share of one core since the last look is working.
WORKING_CPU_SHARE = 0.01


def install() -> None:
    """Wait for messages in slices, and limit a cell's idleness instead of its time (idempotent).

    Examples
    --------
    >>> install()
    >>> from nbclient import NotebookClient
    >>> NotebookClient._async_handle_timeout.__name__
    'handle_timeout_unless_working'
    """
    install_slices()
    install_cell_limit()


def install_slices() -> None:
    """Make ``jupyter_client``'s asyncio channels wait for a message in slices (idempotent).

    ``get_msg(timeout)`` keeps its meaning: it returns the next message, or
    raises :class:`queue.Empty` once ``timeout`` seconds have passed without
    one (``None``: wait as long as it takes), but it never waits on the socket
    for longer than :data:`SLICE_SECONDS` at a time.

    Examples
    --------
    >>> install_slices()
    >>> from jupyter_client.channels import AsyncZMQSocketChannel
    >>> AsyncZMQSocketChannel.get_msg.__name__
    'get_msg_in_slices'
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "__name__", "") == "get_msg_in_slices":
        return
    original = AsyncZMQSocketChannel.get_msg

    async def get_msg_in_slices(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SLICE_SECONDS if deadline is None else deadline - time.monotonic()
            try:
                return await original(self, timeout=max(0.0, min(SLICE_SECONDS, left)))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    AsyncZMQSocketChannel.get_msg = get_msg_in_slices


class CellWatch:
    """When the kernel running one cell last worked: computed (CPU time) or sent a message."""

    def __init__(self, pid: int | None, cell_index: int) -> None:
        self.pid = pid
        self.cell_index = cell_index
        self.started = self.checked = self.active = time.monotonic()
        self.cpu_start = self.cpu = kernel_cpu_seconds(pid)

    def spoke(self) -> None:
        """The kernel sent a message for the cell (output, display, status)."""
        self.active = time.monotonic()

    def idle_seconds(self) -> float:
        """Seconds since the kernel last computed or spoke (its CPU time is read now)."""
        now, cpu = time.monotonic(), kernel_cpu_seconds(self.pid)
        if cpu is not None and self.cpu is not None:
            if cpu - self.cpu >= max(WORKING_CPU_SHARE * (now - self.checked), 1e-3):
                self.active = now
            self.cpu, self.checked = cpu, now
        return now - self.active

    def report(self, timeout: float) -> str:
        """One line for the build's log: the cell outlives its limit, but its kernel works."""
        # (the CPU time is unknown from the start or never: ``cpu`` and ``cpu_start`` go together)
        cpu = "" if self.cpu is None else f", {self.cpu - self.cpu_start:.0f} s of CPU"
        return (
            f"cell {self.cell_index + 1} is still running after "
            f"{time.monotonic() - self.started:.0f} s{cpu}: its kernel works, so it goes on "
            f"(the limit of {timeout:g} s stops a kernel that neither computes nor prints)"
        )


def kernel_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds used by a process and its children, living and ended (None when unknown)."""
    if pid is None:
        return None
    try:
        import psutil

        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.Error:  # ended meanwhile: counted by its parent once waited for
                continue
            total += child_times.user + child_times.system
        return total
    except Exception:  # no psutil, or the kernel has ended: only its messages count
        return None


def _kernel_pid(client) -> int | None:
    """The pid of a client's kernel when it runs on this machine (None otherwise)."""
    pid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pid", None)
    return pid if isinstance(pid, int) else None


def install_cell_limit() -> None:
    """Make nbclient's per-cell ``timeout`` limit a kernel's idleness, not its time (idempotent).

    When a cell has run for ``timeout`` seconds, nbclient asks
    ``_async_handle_timeout`` what to do; the cell is now failed (or
    interrupted, as nbclient is configured) only when its kernel has not
    computed nor sent a message for ``timeout`` seconds (:class:`CellWatch`).
    Otherwise the build's log says so (:meth:`CellWatch.report`, to stderr)
    and the wait goes on.
    """
    from nbclient import NotebookClient

    if NotebookClient._async_handle_timeout.__name__ == "handle_timeout_unless_working":
        return
    execute_cell = NotebookClient.async_execute_cell
    process_message = NotebookClient.process_message
    handle_timeout = NotebookClient._async_handle_timeout

    async def execute_cell_watched(self, cell, cell_index, *args, **kwargs):
        self._cell_watch = CellWatch(_kernel_pid(self), cell_index)
        try:
            return await execute_cell(self, cell, cell_index, *args, **kwargs)
        finally:
            self._cell_watch = None

    def process_message_watched(self, msg, cell, cell_index):
        watch = getattr(self, "_cell_watch", None)
        if watch is not None:
            watch.spoke()
        return process_message(self, msg, cell, cell_index)

    async def handle_timeout_unless_working(self, timeout, cell=None):
        watch = getattr(self, "_cell_watch", None)
        if watch is None or watch.idle_seconds() >= timeout:
            return await handle_timeout(self, timeout, cell)
        print(watch.report(timeout), file=sys.stderr, flush=True)
        await asyncio.sleep(min(SLICE_SECONDS, timeout))  # no busy loop when the wait left is short
        return None

    NotebookClient.async_execute_cell = execute_cell_watched
    NotebookClient.process_message = process_message_watched
    NotebookClient._async_handle_timeout = handle_timeout_unless_working
