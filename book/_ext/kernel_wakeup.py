"""Sphinx extension: the book's notebook executions wait for kernel replies in slices.

See :mod:`sedlib.util.kernel_wakeup`: without it, a missed socket wake-up on a
busy machine made a chapter wait for the whole cell timeout (900 s).
"""

from sedlib.util.kernel_wakeup import install


def setup(app):
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
