"""The ``sedlib`` command line (also ``python -m sedlib``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from sedlib import __version__

DESCRIPTION = """\
Sound event detection with a duration robust loss: the command line of the
executable study of Akiyama, Imoto et al. Run a subcommand with --help for
its options."""


def _cmd_info(args: argparse.Namespace) -> int:
    from sedlib import provenance, settings

    record = provenance.collect(include_device=not args.no_device)
    record["settings"] = {
        "data_root": str(settings.data_root()),
        "tut_meta": str(settings.tut_meta_dir()),
        "results": str(settings.results_dir()),
    }
    print(json.dumps(record, indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from sedlib.system_check import run_checks

    return run_checks(browser=args.browser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sedlib", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sedlib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="print versions, device and data locations as JSON")
    info.add_argument(
        "--no-device", action="store_true", help="do not import torch to probe the device"
    )
    info.set_defaults(func=_cmd_info)

    check = sub.add_parser("check", help="check that the system has what the study needs")
    check.add_argument("--browser", action="store_true", help="also require a headless Chromium")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sedlib`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
