"""Run by `make` with the system Python before anything is installed.

Stops with a message that says what to install when the interpreter is too
old or too new, or when it cannot create virtual environments.
"""

import sys

SUPPORTED = ((3, 11), (3, 12))


def main() -> int:
    found = sys.version_info[:2]
    if found not in SUPPORTED:
        print(
            f"error: {sys.executable} is Python {found[0]}.{found[1]}; this study needs Python 3.11 "
            "(3.12 also works).\n  Debian/Ubuntu: apt-get install python3.11 python3.11-venv, then "
            "`make PYTHON=python3.11 ...`\n  conda: conda env create -f environment.yml",
            file=sys.stderr,
        )
        return 1
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        print(
            f"error: {sys.executable} cannot create virtual environments (no venv/ensurepip).\n"
            f"  Debian/Ubuntu: apt-get install python{found[0]}.{found[1]}-venv",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
