"""How many CPU threads a training uses: one, unless the user says otherwise.

PyTorch's default, one thread per core, makes every operation wait for all
cores: beside other work, one busy core makes a CPU training 10-30x slower
(``benchmarks/RESULTS.md``; the book's training chapter took 57 s a step
instead of about 2 beside one busy process). One thread keeps a training at
its own core's speed whatever the other cores do; a sweep uses more cores
with more trainings (``--jobs``, shards, SLURM). ``SEDLIB_THREADS=n`` gives
a training ``n`` threads (e.g. an idle many-core machine); when
``OMP_NUM_THREADS`` is set, torch already follows it and it is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from sedlib.settings import env_count

#: The environment variable that sets a CPU training's threads.
THREADS = "SEDLIB_THREADS"


def training_threads() -> int | None:
    """The threads of a CPU training: :data:`THREADS`, else 1; None when ``OMP_NUM_THREADS`` decides.

    Raises
    ------
    ConfigError
        Naming the variable, when it is not a whole number of at least 1.
    """
    threads = env_count(THREADS, "the CPU threads of one training", "unset it for one thread")
    if threads is not None:
        return threads
    return None if os.environ.get("OMP_NUM_THREADS", "").strip() else 1


@contextmanager
def cpu_threads(device: torch.device) -> Iterator[None]:
    """Train on :func:`training_threads` threads when ``device`` is the CPU; restore torch's count after."""
    threads = training_threads() if device.type == "cpu" else None
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
