"""Waiting for kernel messages in slices: a missed socket wake-up costs a slice, not the timeout."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from queue import Empty

import pytest
from jupyter_client.channels import AsyncZMQSocketChannel

from sedlib.util import kernel_wakeup

ROOT = Path(__file__).resolve().parents[1]


class MissedWakeupSocket:
    """A socket whose message has arrived but whose poll only notices it when its wait ends."""

    def __init__(self, arrives_after: float | None):
        self.arrives_at = None if arrives_after is None else time.monotonic() + arrives_after
        self.waits: list[float | None] = []

    async def poll(self, timeout_ms):
        self.waits.append(timeout_ms)
        if timeout_ms is None:
            await asyncio.sleep(3600)  # the lost wake-up: nothing ever comes
        await asyncio.sleep(timeout_ms / 1000)
        return int(self.arrives_at is not None and time.monotonic() >= self.arrives_at)


class Channel:
    def __init__(self, socket):
        self.socket = socket

    async def _recv(self):
        return {"msg": "reply"}


@pytest.fixture(autouse=True)
def short_slices(monkeypatch):
    kernel_wakeup.install()
    monkeypatch.setattr(kernel_wakeup, "SLICE_SECONDS", 0.05)


def get_msg(channel, timeout):
    return asyncio.run(asyncio.wait_for(AsyncZMQSocketChannel.get_msg(channel, timeout), 10))


def test_without_a_timeout_the_message_is_found_within_a_slice():
    socket = MissedWakeupSocket(arrives_after=0.2)
    start = time.monotonic()
    assert get_msg(Channel(socket), None) == {"msg": "reply"}
    assert time.monotonic() - start < 1.0
    assert None not in socket.waits and max(socket.waits) <= 50


def test_a_timeout_still_raises_empty_when_nothing_comes():
    start = time.monotonic()
    with pytest.raises(Empty):
        get_msg(Channel(MissedWakeupSocket(arrives_after=None)), 0.3)
    assert 0.3 <= time.monotonic() - start < 1.0


def test_zero_timeout_asks_once():
    socket = MissedWakeupSocket(arrives_after=None)
    with pytest.raises(Empty):
        get_msg(Channel(socket), 0)
    assert socket.waits == [0]


def test_installing_twice_wraps_once():
    first = AsyncZMQSocketChannel.get_msg
    kernel_wakeup.install()
    assert AsyncZMQSocketChannel.get_msg is first


def test_the_book_extension_and_the_sweep_install_it_in_their_process():
    """The Sphinx extension (imported by its module name, as Sphinx does) and the papermill
    executor's ``before_notebooks`` install both changes, from the package, in a fresh process."""
    check = (
        "import sys\n"
        "from jupyter_client.channels import AsyncZMQSocketChannel as C\n"
        "from nbclient import NotebookClient as N\n"
        "def names():\n"
        "    return (C.get_msg.__name__, N._async_handle_timeout.__name__)\n"
        "before = names()\n"
        f"sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "import kernel_wakeup\n"
        "kernel_wakeup.setup(None)\n"
        "print(before, names())\n"
    )
    installed = "('get_msg_in_slices', 'handle_timeout_unless_working')"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"('get_msg', '_async_handle_timeout') {installed}"
    sweep = "from sedlib.cli import sweep_caller\n" + check.split("before = names()\n")[0]
    sweep += "sweep_caller().before_notebooks()\nprint(names())\n"
    out = subprocess.run([sys.executable, "-c", sweep], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == installed
