"""The run the training chapter trains: its configuration, data set and folder, from its parameters.

The chapter's training cell and the book build (which trains the same run
first, in a process of its own, showing its progress) both ask this module,
so they can never train two different runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from sedlib.data.layout import Dataset
from sedlib.data.registry import get_dataset
from sedlib.training.config import TrainConfig
from sedlib.training.run import default_run_dir

#: The group of the chapter's runs in the runs folder (``<data root>/runs/<group>/``).
GROUP = "book"


class ChapterRun(NamedTuple):
    """What the training chapter trains."""

    config: TrainConfig
    dataset: Dataset
    folder: Path


def chapter_run(parameters: Mapping[str, Any], *, progress: bool = False) -> ChapterRun:
    """The run of the training chapter's parameters (its parameters cell, as papermill set them).

    Parameters
    ----------
    parameters : mapping
        ``profile``, ``output_dir`` and every :class:`TrainConfig` field (None:
        the default), e.g. the chapter's ``globals()``.
    progress : bool
        Show progress bars while a missing generated data set is made.

    Returns
    -------
    ChapterRun
        The configuration, the data set (generated when missing) and the run
        folder: ``output_dir``, else the run's folder of group :data:`GROUP`
        (``<data root>/runs/<group>/<run>-<identity>``).

    Raises
    ------
    KeyError
        When ``parameters`` lacks a setting (naming it).
    """
    needed = ("profile", "output_dir", *TrainConfig.field_names())
    missing = [name for name in needed if name not in parameters]
    if missing:
        raise KeyError(f"the training chapter's parameters lack {missing}")
    settings = {name: parameters[name] for name in TrainConfig.field_names()}
    config = TrainConfig.from_parameters(profile=parameters["profile"], **settings)
    dataset = get_dataset(config.dataset, progress=progress)
    output_dir = parameters["output_dir"]
    folder = Path(output_dir) if output_dir else default_run_dir(config, GROUP, dataset)
    return ChapterRun(config, dataset, folder)
