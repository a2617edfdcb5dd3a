"""``python -m sedlib``: the same as the ``sedlib`` command."""

import sys

from sedlib.cli import main

sys.exit(main())
