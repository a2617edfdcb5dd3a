"""Wait for a kernel's messages in slices of a second, so that a missed wake-up costs a second.

Tooling of the book build and of notebook executions (the book's Sphinx
extension ``book/_ext/kernel_wakeup.py``, ``tools/run_papermill.py``, and the
papermill executor of ``sedlib sweep`` run from a checkout), not of the library.

On a loaded machine the asyncio poll of jupyter_client's ZMQ channels
sometimes misses the wake-up for a reply that has already arrived: nbclient
(the book build, papermill) then waits for the whole cell timeout before it
looks again and finds the reply, or forever where there is no timeout, as in
papermill's default. Measured here with two busy cores: 3 of 25 and 7 of 40
executions of chapter 02 stalled for the full 30 s timeout given (ipykernel 7.4
and 6.31, pyzmq 27.3 and 26.4 alike), and one execution without a timeout
hung for 14 minutes until killed. Waiting in slices leaves messages and their
order unchanged.
"""

from __future__ import annotations

import time
from queue import Empty

#: The longest single wait for a message, in seconds.
SLICE_SECONDS = 1.0


def install() -> None:
    """Make ``jupyter_client``'s asyncio channels wait for a message in slices (idempotent).

    ``get_msg(timeout)`` keeps its meaning: it returns the next message, or
    raises :class:`queue.Empty` once ``timeout`` seconds have passed without
    one (``None``: wait as long as it takes), but it never waits on the socket
    for longer than :data:`SLICE_SECONDS` at a time.

    Examples
    --------
    >>> install()
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
