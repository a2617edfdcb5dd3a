"""papermill's command line, with kernel replies awaited in slices (see sedlib.util.kernel_wakeup)."""

from papermill.cli import papermill

from sedlib.util.kernel_wakeup import install

if __name__ == "__main__":
    install()
    papermill()
