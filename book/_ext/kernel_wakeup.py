"""Sphinx extension: the book's notebook executions wait for kernel replies in slices.

It installs :mod:`sedlib.util.kernel_wakeup` in the build's process, before
any notebook executes: without it, a missed socket wake-up on a busy machine
made a chapter wait for the whole cell timeout (900 s), and a cell that
computes longer than ``execute.timeout`` failed the build.
"""

from sedlib.util.kernel_wakeup import install


def setup(app):
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
