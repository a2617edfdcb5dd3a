"""papermill's command line, with kernel replies awaited in slices (see tools/kernel_wakeup.py)."""

from kernel_wakeup import install  # beside this script
from papermill.cli import papermill

if __name__ == "__main__":
    install()
    papermill()
