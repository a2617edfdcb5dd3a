"""Generate the procedural, duration-imbalanced default data set, offline.

Three presets write the common on-disk layout (see :mod:`sedlib.data.layout`):

``small``
    About 16 min of audio (12 development, 4 evaluation) in 30 s files, for
    the book build and CI; every class gets a few events per split.
``paper``
    The real sizes: 192 min development (the paper's figure), 74 min evaluation
    (the evaluation metadata's, not in the paper), office scenes in
    30 s files and the other scenes in 4.5 min recordings as in TUT.
``tut-timeline``
    Audio rendered on the real TUT annotation timelines read from the
    metadata (``meta_dir``), so that the label imbalance is exactly the
    paper's; the metadata files are copied verbatim.

In ``small`` and ``paper`` every class occurs in its real scenes at its
real rate (events per minute of that scene) with its real log-normal
duration distribution (see :mod:`sedlib.data.synthetic.classes`). Events of
different classes overlap freely, as in real scenes; each is mixed into a
scene background at a random event-to-background ratio. The same seed
gives bit-identical files, whatever the number of worker processes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib import __version__
from sedlib.data.layout import N_FOLDS, TUT_LABELS, Dataset, available_split_names, split_file
from sedlib.data.meta import read_meta, write_meta
from sedlib.data.naming import check_ebr_offset, synthetic_name
from sedlib.data.synthetic.classes import CLASS_FACTS, DEV_SCENE_MINUTES, EVAL_SCENE_MINUTES, SCENES
from sedlib.data.synthetic.sounds import (
    BACKGROUND_LEVEL,
    MODELS,
    background,
    ebr_range_db,
    event_gain,
)
from sedlib.errors import ConfigError, DataError, FolderTakenError, MissingFileError
from sedlib.settings import data_root, tut_meta_dir
from sedlib.util.io import atomic_write_bytes, read_json_object, write_json
from sedlib.util.lock import FileLock
from sedlib.util.parallel import map_jobs

#: Bumped whenever the generated audio changes for a given seed.
GENERATOR_VERSION = 1
#: Modification time of every generated audio file (2000-01-01 UTC): see ``_render_and_write``.
FIXED_MTIME = 946_684_800
SAMPLE_RATE = 44100
OFFICE_FILE_S = 30.0


@dataclass(frozen=True)
class Preset:
    """Size of a generated data set."""

    dev_minutes: float
    eval_minutes: float
    recording_s: float  # length of the non-office recordings
    min_events: tuple[int, int]  # at least this many events per class (development, evaluation)


PRESETS = {
    "small": Preset(dev_minutes=12.0, eval_minutes=4.0, recording_s=30.0, min_events=(8, 3)),
    "paper": Preset(dev_minutes=192.0, eval_minutes=74.0, recording_s=270.0, min_events=(0, 0)),
}
TIMELINE = "tut-timeline"


def default_root(preset: str, seed: int, ebr_offset_db: float = 0.0) -> Path:
    """``<data root>/synthetic/<name>``, the name as :func:`dataset_name` gives it (without ``synthetic-``)."""

    return (
        data_root()
        / "synthetic"
        / dataset_name(preset, seed, ebr_offset_db).removeprefix("synthetic-")
    )


def dataset_name(preset: str, seed: int, ebr_offset_db: float = 0.0) -> str:
    """``synthetic-<preset>[-ebr<offset>]-seed<seed>``, e.g. ``synthetic-tut-timeline-ebr-12-seed0``."""
    return f"{synthetic_name(preset, 0, ebr_offset_db)}-seed{seed}"


# ----------------------------------------------------------------------------- timelines
def _file_plan(split: str, preset: Preset) -> list[tuple[str, str, float]]:
    """(filename, scene, seconds) of every file of a split."""
    total = preset.dev_minutes if split == "development" else preset.eval_minutes
    scene_minutes = DEV_SCENE_MINUTES if split == "development" else EVAL_SCENE_MINUTES
    scale = total / sum(scene_minutes.values())
    files = []
    for scene in SCENES:
        seconds = scene_minutes[scene] * scale * 60
        file_s = OFFICE_FILE_S if scene == "office" else preset.recording_s
        n_files = max(1, round(seconds / file_s))
        length = round(seconds / n_files, 2)
        for i in range(n_files):
            files.append((f"audio/{scene}/{split[:3]}_{scene}_{i:03d}.wav", scene, length))
    return files


def _draw_events(
    split: str, preset: Preset, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Event timeline of one split (real per-scene rates and duration distributions) and file lengths."""
    plan = _file_plan(split, preset)
    rows = []

    def add(facts, filename, scene, length):
        duration = float(np.exp(rng.normal(facts.log_mu, facts.log_sigma)))
        duration = min(max(duration, 0.04), facts.max_s, length)
        onset = float(rng.uniform(0.0, length - duration))
        rows.append((filename, scene, round(onset, 3), round(onset + duration, 3), facts.label))

    for filename, scene, length in plan:
        for facts in CLASS_FACTS:
            if scene in facts.dev_events:
                for _ in range(rng.poisson(facts.rate_per_minute(scene) * length / 60)):
                    add(facts, filename, scene, length)
    floor = preset.min_events[0 if split == "development" else 1]
    counts = pd.Series([r[4] for r in rows]).value_counts()
    for facts in CLASS_FACTS:
        candidates = [p for p in plan if p[1] in facts.dev_events]
        for _ in range(max(0, floor - int(counts.get(facts.label, 0)))):
            add(facts, *candidates[rng.integers(len(candidates))])
    meta = pd.DataFrame(rows, columns=["filename", "scene_label", "onset", "offset", "event_label"])
    # a long event clipped to its file leaves its onset no room: two draws of one class in one
    # file can round to the same line, which the metadata reader refuses (an exact duplicate)
    meta = meta.drop_duplicates(ignore_index=True)
    file_order = meta["filename"].map({name: i for i, (name, _, _) in enumerate(plan)})
    meta = (
        meta.assign(_order=file_order)
        .sort_values(["_order", "onset", "event_label"])
        .drop(columns="_order")
    )
    return meta.reset_index(drop=True), {name: length for name, _, length in plan}


def _timeline_lengths(meta: pd.DataFrame) -> dict[str, float]:
    """File lengths for the real timelines: 30 s / 10 s clips of the scene data sets, else the last event + 1 s."""
    lengths = {}
    for filename, last in meta.groupby("filename", sort=False)["offset"].max().items():
        if "acoustic-scenes-2016" in filename:
            length = 30.0
        elif "acoustic-scenes-2017" in filename:
            length = 10.0
        else:
            length = float(math.ceil(last) + 1)
        lengths[filename] = max(length, math.ceil(last * 100) / 100)  # never cut an annotated event
    return lengths


# ----------------------------------------------------------------------------- rendering
def render_file(
    events: pd.DataFrame,
    scene: str,
    length_s: float,
    sr: int,
    seed: tuple[int, ...],
    ebr_offset_db: float = 0.0,
) -> np.ndarray:
    """Mix one file: scene background plus every event at a random event-to-background ratio.

    ``ebr_offset_db`` shifts every event's ratio by that many dB (negative:
    quieter events, a harder task); the random draws are the same whatever
    the offset, so only the events' gains change.

    Returns float32 samples peaking at most at 0.9 (random gain 0 to -6 dB below that).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n = round(length_s * sr)
    mix = background(scene, n, sr, rng) * BACKGROUND_LEVEL
    for event in events.itertuples(index=False):
        start, stop = round(event.onset * sr), min(round(event.offset * sr), n)
        if stop - start < 8:
            continue
        lo, hi = ebr_range_db(event.event_label)
        gain = event_gain(rng.uniform(lo, hi) + ebr_offset_db)
        mix[start:stop] += gain * MODELS[event.event_label](stop - start, sr, rng)
    peak = np.max(np.abs(mix)) + 1e-12
    return (mix / peak * 0.9 * 10 ** (-rng.uniform(0, 6) / 20)).astype(np.float32)


def _render_and_write(job: tuple) -> str:
    path, events, scene, length_s, sr, seed, ebr_offset_db = job
    import soundfile

    audio = render_file(events, scene, length_s, sr, seed, ebr_offset_db)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # no two generators share one
    soundfile.write(str(tmp), audio, sr, subtype="PCM_16", format="WAV")
    # the same seed gives the same bytes; a fixed time gives the same audio signature too, so a
    # data set generated again (e.g. on another machine) keeps the identity of its runs
    os.utime(tmp, (FIXED_MTIME, FIXED_MTIME))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.replace(path)
    return digest


# ----------------------------------------------------------------------------- entry point
def generate(
    root: str | Path | None = None,
    preset: str | Preset = "small",
    seed: int = 0,
    *,
    sr: int = SAMPLE_RATE,
    jobs: int | None = None,
    meta_dir: str | Path | None = None,
    progress: bool = True,
    force: bool = False,
    create: bool = True,
    ebr_offset_db: float = 0.0,
) -> Dataset:
    """Write a synthetic data set in the common layout and return it.

    Parameters
    ----------
    root : path-like, optional
        Output folder (default ``<data root>/synthetic/<preset>-seed<seed>``).
    preset : {"small", "paper", "tut-timeline"} or Preset
        Size and kind of data set (see the module docstring); a
        :class:`Preset` gives a custom size (named "custom").
    seed : int
        Seed of everything random; the same seed gives bit-identical files.
    sr : int
        Sample rate of the written audio (44.1 kHz as TUT).
    jobs : int, optional
        Worker processes for rendering (default: all cores).
    meta_dir : path-like, optional
        For ``tut-timeline``: the TUT metadata folder (default: the
        ``SEDLIB_TUT_META`` setting).
    progress : bool
        Show a progress bar.
    force : bool
        Regenerate even when a complete data set with the same settings exists,
        and write into a ``root`` that holds another data set (replacing it).
    create : bool
        False: only return an existing data set with these settings; never write
        (a reader must not re-render a data set behind its user's back).
    ebr_offset_db : float
        Difficulty: every event's event-to-background ratio shifted by this
        many dB (0: the generator's ratios; -10: every event 10 dB quieter).

    Returns
    -------
    Dataset
        The generated data set (``Dataset.from_folder(root)``).

    Raises
    ------
    FileExistsError
        When ``root`` (given, and not the preset's default folder) holds
        another data set and ``force`` is False (see :func:`refuse_overwrite`).
    """
    sizes, preset = _resolve_preset(preset)
    if isinstance(ebr_offset_db, bool) or not isinstance(ebr_offset_db, int | float):
        raise ConfigError(f"ebr_offset_db must be a number of dB, got {ebr_offset_db!r}")
    check_ebr_offset(ebr_offset_db)  # finite, bounded, and spelled back exactly by the name
    own = root is None or Path(root) == default_root(preset, seed, ebr_offset_db)
    root = Path(root) if root is not None else default_root(preset, seed, ebr_offset_db)
    settings = {
        "preset": preset,
        "sizes": asdict(sizes) if sizes else None,
        "seed": int(seed),
        "sr": int(sr),
        "generator_version": GENERATOR_VERSION,
    }
    if sizes is not None:
        settings["folds"] = N_FOLDS  # cross-validation folds drawn over the development files
    if ebr_offset_db:  # only when set: the default data sets keep their identity
        settings["ebr_offset_db"] = float(ebr_offset_db)
    marker = root / "dataset.json"
    current = _existing(marker, settings, force, create)
    if current is not None:
        return current
    if not (force or own):
        refuse_overwrite(root, settings)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / ".generating.lock", f"generation of {root}", blocking=True):
        current = _existing(marker, settings, force, create)  # another process may have made it
        if current is not None:
            return current
        return _generate(root, marker, settings, sizes, preset, seed, sr, jobs, meta_dir, progress)


def refuse_overwrite(root: Path, settings: dict) -> None:
    """Raise ``FileExistsError`` naming ``root`` when it holds a data set other than ``settings``'.

    A data set is a ``dataset.json`` (generated with other settings) or any
    metadata file of the common layout. The preset's default folder is
    sedlib's own and is regenerated without asking (e.g. after a generator
    update); a folder with audio but no metadata is an interrupted
    generation, and is completed.
    """
    marker = root / "dataset.json"
    if marker.is_file():
        differing = _differing(read_json_object(marker, "data set description"), settings)
        what = f"a data set described by {marker} ({differing or 'its settings'} differ)"
    else:
        found = [split_file(s) for s in available_split_names() if (root / split_file(s)).is_file()]
        if not found:
            return
        what = f"a data set with metadata {found[:3]}{' ...' if len(found) > 3 else ''}"
    raise FolderTakenError(
        f"{root} already holds {what}; generating here would overwrite it: choose another "
        "folder, or pass force=True (`sedlib data synthetic --force`) to replace it"
    )


def _existing(marker: Path, settings: dict, force: bool, create: bool) -> Dataset | None:
    """The data set already at ``marker``'s folder with these settings, if any."""
    if not marker.is_file() or force:
        if not create:
            raise MissingFileError(f"{marker.parent} holds no generated data set (create=False)")
        return None
    differing = _differing(read_json_object(marker, "data set description"), settings)
    if not differing:
        return Dataset.from_folder(marker.parent)
    if not create:
        raise DataError(
            f"{marker.parent} was generated with other settings ({differing} differ); "
            "generate it again with `sedlib data synthetic ... --force`"
        )
    return None


def _differing(description: dict, settings: dict) -> list[str]:
    """The settings a data set's description stores otherwise (compared as stored: tuples are lists)."""
    stored = description.get("settings")
    stored = stored if isinstance(stored, dict) else {}
    ours, gone = json.loads(json.dumps(settings)), object()
    return sorted(k for k in set(stored) | set(ours) if stored.get(k, gone) != ours.get(k, gone))


def _generate(root, marker, settings, sizes, preset, seed, sr, jobs, meta_dir, progress) -> Dataset:
    start = time.perf_counter()
    splits, lengths, scenes = _timelines(sizes, seed, meta_dir)
    render = _render_jobs(
        root, splits, lengths, scenes, sr, seed, settings.get("ebr_offset_db", 0.0)
    )
    digests = map_jobs(_render_and_write, render, jobs, progress, desc="rendering audio")
    _write_metadata(root, splits, copy_verbatim=sizes is None)
    info = {
        "name": dataset_name(preset, seed, settings.get("ebr_offset_db", 0.0)),
        "kind": "synthetic",
        "settings": settings,
        "timeline_meta_dir": str(meta_dir) if sizes is None else None,
        "labels": list(TUT_LABELS),
        "file_durations": {k: lengths[k] for k in sorted(lengths)},
        # the content of every file: part of the data set's fingerprint (see Dataset.fingerprint)
        "audio_sha256": dict(
            sorted(zip((str(Path(j[0]).relative_to(root)) for j in render), digests, strict=True))
        ),
        "sedlib_version": __version__,
        "generation_seconds": round(time.perf_counter() - start, 1),
    }
    write_json(marker, info)
    return Dataset.from_folder(root)


def _resolve_preset(preset: str | Preset) -> tuple[Preset | None, str]:
    """Sizes (None for the real timelines) and the preset's name."""
    if isinstance(preset, Preset):
        return preset, "custom"
    if preset in PRESETS:
        return PRESETS[preset], preset
    if preset == TIMELINE:
        return None, preset
    raise ConfigError(
        f"unknown preset {preset!r}; choose one of {[*PRESETS, TIMELINE]} or a Preset"
    )


def _render_jobs(
    root: Path, splits: dict, lengths: dict, scenes: dict, sr: int, seed: int, ebr_offset_db: float
) -> list:
    """One rendering job per audio file; folds reuse the development files, rendered once."""
    jobs: dict[str, tuple] = {}  # by file: the first split that lists it renders it
    for split_index, meta in enumerate(splits.values()):
        by_file = dict(tuple(meta.groupby("filename", sort=False)))
        for file_index, name in enumerate(meta.attrs["files"]):
            events = by_file.get(name, meta.iloc[:0])
            seed_key = (int(seed), GENERATOR_VERSION, split_index, file_index)
            job = (root / name, events, scenes[name], lengths[name], sr, seed_key, ebr_offset_db)
            jobs.setdefault(name, job)
    return list(jobs.values())


def _write_metadata(root: Path, splits: dict, copy_verbatim: bool) -> None:
    for split, meta in splits.items():
        if copy_verbatim:
            atomic_write_bytes(root / split_file(split), Path(meta.attrs["source"]).read_bytes())
        else:
            write_meta(meta, root / split_file(split))


def draw_folds(
    meta: pd.DataFrame, scenes: dict[str, str], seed: int, n_folds: int = N_FOLDS
) -> dict:
    """Cross-validation splits of a development set: files dealt to folds scene by scene.

    The files of each scene are shuffled (seeded) and dealt round-robin, the
    deal continuing from scene to scene, so every fold holds about a quarter
    of every scene and of the files, as in the TUT folds.

    Parameters
    ----------
    meta : pandas.DataFrame
        Development events with ``attrs["files"]`` (every development file).
    scenes : dict
        Scene of every file.
    seed : int
        Seed of the shuffle.
    n_folds : int
        Number of folds.

    Returns
    -------
    dict
        ``{"fold<k>-development": events, "fold<k>-evaluation": events}`` for
        k = 1..n_folds, each with ``attrs["files"]``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), GENERATOR_VERSION, 4099]))
    files = list(meta.attrs["files"])
    fold_of, dealt = {}, 0
    for scene in sorted({scenes[f] for f in files}):
        members = sorted(f for f in files if scenes[f] == scene)
        for name in rng.permutation(members):  # the deal goes on across scenes: folds stay even
            fold_of[str(name)] = dealt % n_folds + 1
            dealt += 1
    out = {}
    for k in range(1, n_folds + 1):
        test = [f for f in files if fold_of.get(f) == k]
        for part, chosen in (
            ("development", [f for f in files if f not in set(test)]),
            ("evaluation", test),
        ):
            events = meta[meta["filename"].isin(set(chosen))].reset_index(drop=True)
            events.attrs["files"] = chosen
            out[f"fold{k}-{part}"] = events
    return out


def _timelines(sizes: Preset | None, seed: int, meta_dir):
    """Events per split (with ``attrs["files"]``, every file of the split), file lengths and scenes.

    ``sizes`` None means the real TUT timelines read from ``meta_dir``.
    """
    if sizes is None:
        meta_dir = Path(meta_dir) if meta_dir is not None else tut_meta_dir()
        splits = {}
        for split in available_split_names():
            path = meta_dir / split_file(split)
            if path.is_file():
                splits[split] = read_meta(path, labels=TUT_LABELS)
                splits[split].attrs["files"] = list(dict.fromkeys(splits[split]["filename"]))
        if "development" not in splits or "evaluation" not in splits:
            raise MissingFileError(
                f"no TUT metadata in {meta_dir} (expected {split_file('development')})"
            )
        everything = pd.concat(splits.values())
        lengths = _timeline_lengths(everything)
        scenes = everything.groupby("filename")["scene_label"].first().to_dict()
        return splits, lengths, scenes
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), GENERATOR_VERSION, 7919]))
    splits, lengths, scenes = {}, {}, {}
    for split in ("development", "evaluation"):
        meta, split_lengths = _draw_events(split, sizes, rng)
        meta.attrs["files"] = list(split_lengths)
        splits[split] = meta
        lengths.update(split_lengths)
        for filename, scene, _ in _file_plan(split, sizes):
            scenes[filename] = scene
    # after development and evaluation: their rendering seeds depend on the split order
    splits.update(draw_folds(splits["development"], scenes, seed))
    return splits, lengths, scenes
