"""The errors sedlib raises on purpose: one tree, rooted at :class:`SedlibError`.

Every kind also keeps the built-in exception it used to be (a
:class:`ConfigError` is a ``ValueError``, a :class:`MissingFileError` a
``FileNotFoundError``...), so code that catches the built-in still catches
it. The command line prints a :class:`SedlibError` as one line, without a
traceback. Messages name the parameter, file, line or folder at fault.
"""

from __future__ import annotations


class SedlibError(Exception):
    """An error of a setting, of data, of a file or of a folder, reported to the user."""


class ConfigError(SedlibError, ValueError):
    """A setting, option or argument outside its range; the message names it and the rule."""


class DataError(SedlibError, ValueError):
    """Data (metadata, audio, features, splits, predictions, results) that cannot be used as it
    is, e.g. annotations and audio that disagree; the message names the lines, files or splits."""


class MissingFileError(SedlibError, FileNotFoundError):
    """A file or folder the operation needs does not exist."""


class NotWritableError(SedlibError, PermissionError):
    """A folder the operation writes into cannot be written."""


class FolderTakenError(SedlibError, FileExistsError):
    """A folder already holds something the operation would overwrite."""


class NoSpaceError(SedlibError, OSError):
    """Not enough free disk space for the operation."""


class StateError(SedlibError, RuntimeError):
    """A run, folder or machine is not in the state the operation needs (another run's
    folder, a missing CUDA device, a failed child process)."""
