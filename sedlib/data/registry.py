"""Data sets by name: ``synthetic-small``, ``synthetic-paper``, ``synthetic-tut-timeline``, ``tut``, or a folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sedlib.data.layout import Dataset
from sedlib.data.naming import synthetic_name
from sedlib.errors import ConfigError, MissingFileError
from sedlib.settings import data_root, tut_meta_dir

_SYNTHETIC = re.compile(
    r"^synthetic-(small|paper|tut-timeline)(?:-ebr(-?\d+(?:\.\d+)?))?(?:-seed(\d+))?$"
)


def _synthetic_parts(text: str) -> tuple[str, float, int] | None:
    """(preset, offset, seed) of a generated data set's name; None for any other name."""
    match = _SYNTHETIC.match(text)
    if not match:
        return None
    return match.group(1), float(match.group(2) or 0), int(match.group(3) or 0)


def dataset_names() -> list[str]:
    """The names :func:`get_dataset` understands (besides folders)."""
    return ["synthetic-small", "synthetic-paper", "synthetic-tut-timeline", "tut"]


def canonical_name(name: str | Path) -> str:
    """``name`` as any process understands it: a data set name in its one spelling, a folder absolute.

    A generated data set's name is spelled by :func:`synthetic_name` (so
    ``synthetic-small-ebr0-seed0`` is ``synthetic-small``). A relative folder
    is taken relative to the current folder, once: child processes (which run
    in the repository folder) get the absolute path.

    Examples
    --------
    >>> canonical_name("synthetic-small-ebr-0-seed0"), canonical_name("/data/sets/mine")
    ('synthetic-small', '/data/sets/mine')
    """
    text = str(name)
    parts = _synthetic_parts(text)
    if parts:
        return synthetic_name(parts[0], parts[2], parts[1])
    if text == "tut":
        return text
    return str(Path(text).expanduser().absolute())


def get_dataset(name: str | Path, *, create: bool = True, progress: bool = True) -> Dataset:
    """The data set called ``name``.

    Parameters
    ----------
    name : str or path
        ``"synthetic-<preset>[-ebr<dB>][-seed<N>]"`` (generated on first use
        when ``create``; ``-ebr-12``: every event 12 dB quieter against its
        background, a harder task), ``"tut"`` (the real data, fetched by ``sedlib data tut``),
        or a folder in the common layout.
    create : bool
        Generate a missing synthetic data set.
    progress : bool
        Show progress bars while generating.

    Returns
    -------
    Dataset
    """

    text = str(name)
    parts = _synthetic_parts(text)
    if parts:
        # local: the generator imports scipy.signal, +1.5 s for every command (measured)
        from sedlib.data.synthetic import default_root, generate

        preset, offset, seed = parts
        root = default_root(preset, seed, offset)
        if not (root / "dataset.json").is_file() and not create:
            difficulty = f", every event {offset:g} dB against its background" if offset else ""
            raise MissingFileError(
                f"{text} is not generated yet: generate it (`sedlib data synthetic`: "
                f"preset {preset}, seed {seed}{difficulty})"
            )
        return generate(root, preset, seed, progress=progress, create=create, ebr_offset_db=offset)
    if text == "tut":
        meta = tut_meta_dir()
        if not (meta / "meta" / "meta_development.txt").is_file():
            given = os.environ.get("SEDLIB_TUT_META")
            where = f"SEDLIB_TUT_META={given} holds" if given else f"{meta} holds"
            raise MissingFileError(
                f"no TUT metadata: {where} no meta/meta_development.txt; run `sedlib data tut` "
                "first" + (", or point SEDLIB_TUT_META at a copy of the metadata" if given else "")
            )
        return Dataset("tut", meta, data_root() / "tut")
    path = Path(text).expanduser()
    if (path / "meta").is_dir():
        return Dataset.from_folder(path)
    raise ConfigError(
        f"unknown data set {text!r}; use one of {dataset_names()} or a folder with meta/"
    )
