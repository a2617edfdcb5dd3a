"""Sphinx extension: the book's notebook executions wait for kernel replies in slices.

See ``tools/kernel_wakeup.py`` (loaded from the checkout's ``tools/``, beside
``book/``): without it, a missed socket wake-up on a busy machine made a
chapter wait for the whole cell timeout (900 s).
"""

import importlib.util
from pathlib import Path

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "kernel_wakeup.py"


def setup(app):
    spec = importlib.util.spec_from_file_location("sedlib_tools_kernel_wakeup", _TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
