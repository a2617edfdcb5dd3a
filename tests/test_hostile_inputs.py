"""Hostile inputs: every case of the issue "results mixed up, errors late or without a place".

Each test asserts the fixed behaviour on a tiny synthetic data set (8 files,
1 epoch, 8 channels). Before: the code of df452af; after: this code.

| case | before (df452af) | after |
|---|---|---|
| 1. smoke runs vs the paper grid | a run folder was ``<grid>/<run name>``; a run of another grid was reused, and a finished run counted as finished, when loss, γ, seed and the parameters given on the command line matched: the smoke grid's 1-epoch, 8-channel runs were copied into the paper grid, a run made with ``--epochs 2`` was skipped later without it | a run folder is ``<grid>/<run name>-<identity>`` (hash of every resolved setting, the metadata and the audio); reuse needs an equal identity |
| 2. changed audio, copies of a data set | the feature cache was keyed by the metadata only: replaced, truncated, touched or deleted audio kept its old features; two folders with the same ``dataset.json`` and metadata shared entries; a corrupt entry raised from ``np.load`` | the key includes the content (sha256) of every audio file (a ``touch`` changes nothing); copies with other sound get entries of their own (building one keeps the other's); a deleted file is named; a corrupt entry is rebuilt with a warning naming it |
| 3. ``sedlib train`` with undefined micro F | a finished run whose micro F is undefined (None) crashed the summary line: exit 1 | prints ``undefined``, exit 0 |
| 4. failed re-execution | papermill wrote into the finished run's folder before a failure or a mismatch showed; a failing run raised at once, without the other runs' aggregate | executions happen in ``<grid>/.work/<key>`` and are promoted only when finished with the planned identity; the sweep aggregates the others, then raises ``SweepError`` naming each failed run and its notebook; ``train()`` refuses a folder holding another identity before writing |
| 5a. epochs 0, γ = inf, lr NaN | accepted; failed in (or after) the first epoch, or trained nonsense | ``ValueError`` naming ``TrainConfig.<field>`` when the configuration is made |
| 5b. unwritable output folder | found when the first checkpoint was written (or an ``OSError`` of ``mkdir``) | ``PermissionError`` naming the folder, before the data is read |
| 5c. empty evaluation / fold metadata | found after training | ``ValueError`` naming the split and its file, before the first epoch |
| 5d. wav shorter than its annotations | silently cut; trained and scored on wrong labels | ``DataError`` naming ``metadata:line`` and the audio file (test and training splits) |
| 5e. non-UTF-8 metadata, UTF-8 BOM | ``UnicodeDecodeError`` without a line; a BOM made the header an event | ``MetadataError`` naming ``file:line``; the BOM is ignored |
| 5f. corrupt cache / ``metrics.json``, old schema | ``np.load`` / ``json`` errors without advice; old records read as new | cache rebuilt with a warning; ``CorruptFileError`` naming the file; ``SchemaError`` naming the version that upgrades it (sedlib 0.2.0's ``sedlib migrate``) |
| 5g. events at 1e9 s, durations 1e12 s | ``class_stats`` and the metrics allocated one cell per frame / segment (memory error) | time and memory grow with the number of events; an infinite duration is refused naming the file |
| 5h. a server that accepts but never answers | waited 60 s per attempt, reported as a generic error | ``stall_timeout``: each stalled attempt is logged, ``DownloadError`` says it stalled |
| 5i. two sweeps on one folder | both trained the same run into the same folder | a run is locked while it executes; the other sweep leaves it ("left to another sweep") |
| 5j. a chapter cell past ``execute.timeout`` | the build failed with "a cell raised -------------------" | the build names the notebook, the cell number and says it timed out |
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import TRAINING_NOTEBOOK, build

from sedlib.cli import sweep_caller, training_notebook
from sedlib.data import cache as feature_cache
from sedlib.data.cache import DataError, FeatureConfig, build_features, cache_path
from sedlib.data.download import DownloadError, download
from sedlib.data.layout import Dataset
from sedlib.data.meta import TUT_HEADER, MetadataError, class_stats, read_meta
from sedlib.metrics import segment_based_metrics
from sedlib.study.sweep import SweepError, _execute, _reuse, plan_grid, run_grid, try_run
from sedlib.training.config import PROFILES, TrainConfig
from sedlib.training.record import RECORD, RunRecord, SchemaError
from sedlib.training.run import train
from sedlib.util.io import CorruptFileError
from sedlib.util.lock import FileLock, LockedError

ROOT = Path(__file__).resolve().parents[1]
#: Shared settings of every sweep here (the smoke grid adds 1 epoch, 8 channels).
SWEEP = {"device": "cpu"}


pytestmark = pytest.mark.usefixtures("module_data_root")

#: The command line's notebook and commands, as `sedlib sweep` gives them.
CALLER = sweep_caller(training_notebook(TRAINING_NOTEBOOK))


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def smoke_sweep(tiny, tmp_path_factory) -> Path:
    """The runs folder after a real sweep of the smoke grid (papermill, ~40 s)."""
    root = tmp_path_factory.mktemp("sweep")
    result = run_grid(
        "smoke",
        dataset=str(tiny.audio_dir),
        overrides=SWEEP,
        runs_root=root / "runs",
        results_root=root / "results",
        caller=CALLER,
    )
    assert result is not None and sorted(result.table["run"]) == ["bce-s0", "duration_robust-g1-s0"]
    return root / "runs"


def private_copy(dataset: Dataset, folder: Path, **copy_options) -> Dataset:
    """A copy of a data set folder that a test may damage (times kept: it shares the cache)."""
    return Dataset.from_folder(shutil.copytree(dataset.audio_dir, folder, **copy_options))


#: A budget of epochs (one epoch of tiny data is 1-2 optimizer steps)
NO_STEP_BUDGET = {"max_steps": 0, "warmup_steps": 0, "patience_steps": 0}


def config(dataset: Dataset, **kw) -> TrainConfig:
    base = {
        "dataset": str(dataset.audio_dir),
        "protocol": "dev-eval",
        "epochs": 1,
        "batch_size": 8,
        "patience": 0,
        "device": "cpu",
        "model": {"channels": 8},
        **NO_STEP_BUDGET,
    }
    return TrainConfig(**{**base, **kw})


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("checkpoint.pt")) if run_dir.exists() else []


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in skip
    }


def plan(grid: str, dataset: Dataset, runs_root: Path, seeds: int | None = None, **overrides):
    """The runs of ``grid`` as ``run_grid(grid, dataset=<folder>, overrides=SWEEP + overrides)`` plans them."""
    settings = {**SWEEP, **overrides, "dataset": str(dataset.audio_dir)}
    return plan_grid(grid, dataset=dataset, seeds=seeds, overrides=settings, runs_root=runs_root)


# ---------------------------------------------------------------------------- 1. run identity
def test_smoke_runs_are_not_reused_by_the_paper_grid(tiny, smoke_sweep):
    smoke = plan("smoke", tiny, smoke_sweep)
    assert all(run.finished() is not None for run in smoke)
    assert [run.folder.name for run in smoke] == [
        f"{run.spec.name}-{run.identity}" for run in smoke
    ]
    paper = plan("paper", tiny, smoke_sweep, seeds=1)  # `sedlib sweep --grid paper --seeds 1`
    assert {r.spec.name for r in paper} >= {r.spec.name for r in smoke}  # same run names...
    assert not {r.identity for r in paper} & {r.identity for r in smoke}  # ...other runs
    assert [run for run in paper if run.finished() is not None] == []
    assert [run for run in paper if _reuse(run)] == []
    assert not (smoke_sweep / "paper").exists()


def test_a_grid_run_with_other_epochs_is_not_taken_as_finished(tiny, smoke_sweep, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(smoke_sweep, runs)
    smoke = plan("smoke", tiny, runs)
    two_epochs = plan("smoke", tiny, runs, epochs=2)  # `sedlib sweep --grid smoke --epochs 2`
    assert not {r.identity for r in two_epochs} & {r.identity for r in smoke}
    assert [run for run in two_epochs if run.finished() is not None or _reuse(run)] == []
    # the paper grid asked for exactly the smoke settings is the same run: reused from the smoke grid
    smoke_settings = {"model": {"channels": 8}, "batch_size": 16, **NO_STEP_BUDGET}
    same = plan("paper", tiny, runs, seeds=1, epochs=1, **smoke_settings)
    reused = [run.spec.name for run in same if _reuse(run)]
    assert sorted(reused) == ["bce-s0", "duration_robust-g1-s0"]
    assert all(run.finished() is not None for run in same if run.spec.name in reused)
    # ...and a later paper sweep with its own settings (60 epochs) neither skips nor copies them
    later = plan("paper", tiny, runs, seeds=1)
    assert [run for run in later if run.finished() is not None or _reuse(run)] == []


# ---------------------------------------------------------------------------- 2. feature cache
def _replace(path: Path) -> None:
    """Other sound of the same length and format (same size, new mtime)."""
    data, sr = sf.read(path, always_2d=True)
    noise = np.random.default_rng(7).uniform(-0.5, 0.5, data.shape)
    sf.write(path, noise, sr, subtype=sf.info(path).subtype)


def _truncate(path: Path) -> None:
    """The last 100 samples (2 ms: the annotations still fit) cut off."""
    data, sr = sf.read(path, always_2d=True)
    sf.write(path, data[:-100], sr, subtype=sf.info(path).subtype)


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


@pytest.mark.parametrize(
    "change", [_replace, _truncate, _touch], ids=["replace", "truncate", "touch"]
)
def test_changed_audio_is_noticed_by_the_feature_cache(change, tiny, tmp_path, monkeypatch):
    ds = private_copy(tiny, tmp_path / "data")
    cache, split = tmp_path / "cache", "evaluation"
    computed = []
    real = feature_cache.map_jobs
    monkeypatch.setattr(
        feature_cache, "map_jobs", lambda *a, **k: computed.append(1) or real(*a, **k)
    )
    before = build_features(ds, split, cache_root=cache, jobs=1, progress=False)
    assert build_features(ds, split, cache_root=cache, jobs=1, progress=False).files == before.files
    assert len(computed) == 1  # the second call read the cache
    old_entry = cache_path(ds, split, FeatureConfig(), cache)
    change(ds.audio_path(before.files[0]))
    after = build_features(ds, split, cache_root=cache, jobs=1, progress=False)
    if change is _touch:  # the audio is known by its content: a touch changes nothing
        assert len(computed) == 1 and cache_path(ds, split, FeatureConfig(), cache) == old_entry
        np.testing.assert_array_equal(before.features, after.features)
        return
    assert len(computed) == 2  # computed anew
    new_entry = cache_path(ds, split, FeatureConfig(), cache)
    assert new_entry != old_entry and new_entry.is_file()
    assert not old_entry.exists()  # the stale entry of this folder is gone
    first_before, first_after = before.file(0)[0], after.file(0)[0]
    if change is _replace:
        assert first_before.shape == first_after.shape and not np.allclose(
            first_before, first_after
        )
    else:
        assert after.durations[0] == pytest.approx(before.durations[0] - 100 / 44100)
    np.testing.assert_array_equal(
        before.features[len(first_before) :], after.features[len(first_after) :]
    )


def test_deleted_audio_is_named_even_when_cached(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    cache = tmp_path / "cache"
    feats = build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    gone = ds.audio_path(feats.files[1])
    gone.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(gone))):
        build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)


def test_copies_of_a_data_set_get_their_own_cache_entries(tiny, tmp_path, monkeypatch):
    a = private_copy(tiny, tmp_path / "a", copy_function=shutil.copy)
    b = private_copy(tiny, tmp_path / "b", copy_function=shutil.copy)
    assert (a.name, a.fingerprint) == (b.name, b.fingerprint)  # same dataset.json and metadata
    cache, split = tmp_path / "cache", "evaluation"
    _replace(b.audio_path(b.files(split)[0]))  # b's first file now holds other sound
    fa = build_features(a, split, cache_root=cache, jobs=1, progress=False)
    fb = build_features(b, split, cache_root=cache, jobs=1, progress=False)
    entry_a, entry_b = (cache_path(d, split, FeatureConfig(), cache) for d in (a, b))
    assert entry_a != entry_b and entry_a.is_file() and entry_b.is_file()
    assert not np.allclose(fa.file(0)[0], fb.file(0)[0])
    # both entries stay usable: building either again computes nothing
    monkeypatch.setattr(
        feature_cache, "map_jobs", lambda *a, **k: pytest.fail("cache entry not used")
    )
    np.testing.assert_array_equal(
        build_features(a, split, cache_root=cache, progress=False).features, fa.features
    )
    np.testing.assert_array_equal(
        build_features(b, split, cache_root=cache, progress=False).features, fb.features
    )


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_feature_cache_entry_is_rebuilt_with_a_warning(damage, tiny, tmp_path, caplog):
    ds = private_copy(tiny, tmp_path / "data")
    cache = tmp_path / "cache"
    good = build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    entry = cache_path(ds, "evaluation", FeatureConfig(), cache)
    data = entry.read_bytes()
    entry.write_bytes(os.urandom(4096) if damage == "garbage" else data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="sedlib.data.cache"):
        again = build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    assert any(
        str(entry) in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records
    )
    np.testing.assert_array_equal(again.features, good.features)
    with np.load(entry) as z:  # the entry is whole again
        np.testing.assert_array_equal(z["features"], good.features)


# ---------------------------------------------------------------------------- 3. the command line
def test_train_command_succeeds_when_micro_f_is_undefined(tiny, tmp_path, monkeypatch, capsys):
    from sedlib.cli import main

    # threshold 1.0: after one epoch no frame reaches it, nothing is detected, micro F is undefined
    monkeypatch.setitem(PROFILES, "detect-nothing", {"threshold": 1.0})
    run_dir = tmp_path / "run"
    sedlib_logger = logging.getLogger("sedlib")
    level = sedlib_logger.level
    try:
        code = main(
            ["train", "--profile", "detect-nothing", "--dataset", str(tiny.audio_dir),
             "--protocol", "dev-eval", "--epochs", "1", "--batch-size", "8", "--patience", "0",
             "--device", "cpu", "--set", "model.channels=8", "--output-dir", str(run_dir),
             *(f"--set={k}=0" for k in NO_STEP_BUDGET)]
        )  # fmt: skip
    finally:
        sedlib_logger.setLevel(level)
    assert code == 0
    assert RunRecord.load(run_dir).micro_f is None
    assert "micro F undefined" in capsys.readouterr().out


# ---------------------------------------------------------------------------- 4. failed re-execution
def _failing_papermill(kind: str, other_record: Path):
    """papermill that writes its output notebook, then fails or trains another run."""
    calls = []

    def execute_notebook(input_path, output_path, parameters=None, **kwargs):
        calls.append(Path(output_path))
        Path(output_path).write_text("{ half-written notebook")  # what papermill does first
        if kind == "raises":
            raise RuntimeError("PapermillExecutionError: cell 7 raised ValueError")
        shutil.copy(other_record, Path(parameters["output_dir"]) / RECORD)

    return execute_notebook, calls


@pytest.mark.parametrize("kind", ["raises", "trains another run"])
def test_a_failed_re_execution_leaves_finished_runs_untouched(
    kind, tiny, smoke_sweep, tmp_path, monkeypatch
):
    import papermill

    runs, results = tmp_path / "runs", tmp_path / "results"
    shutil.copytree(smoke_sweep, runs)
    bce, robust = plan("smoke", tiny, runs)
    shutil.rmtree(robust.folder)  # to be trained again
    finished = snapshot(runs / "smoke", skip=(".work", ".locks"))
    fake, calls = _failing_papermill(kind, bce.folder / RECORD)
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    with pytest.raises(SweepError) as failed:
        run_grid(
            "smoke",
            dataset=str(tiny.audio_dir),
            overrides=SWEEP,
            runs_root=runs,
            results_root=results,
            caller=CALLER,
        )
    assert calls == [robust.work / "03_training.ipynb"]
    message = str(failed.value)
    assert "duration_robust-g1-s0" in message and str(robust.work / "03_training.ipynb") in message
    assert "bce-s0" not in message
    assert (
        snapshot(runs / "smoke", skip=(".work", ".locks")) == finished
        and not robust.folder.exists()
    )
    (table,) = [
        pd.read_csv(p) for p in (results / "smoke").glob("*.csv")
    ]  # the others were aggregated
    assert list(table["run"]) == ["bce-s0"]
    # the same grid with other settings (the old code re-executed into the finished folders)
    calls.clear()
    with pytest.raises(SweepError, match=r"2 run\(s\) of grid smoke failed"):
        run_grid(
            "smoke", dataset=str(tiny.audio_dir), overrides={**SWEEP, "epochs": 2},
            runs_root=runs, results_root=results, caller=CALLER,
        )  # fmt: skip
    assert len(calls) == 2 and all(".work" in c.parts for c in calls)
    assert snapshot(runs / "smoke", skip=(".work", ".locks")) == finished


def test_train_refuses_a_folder_holding_another_run_before_writing(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    run_dir = tmp_path / "run"
    record = train(config(ds), run_dir, dataset=ds, progress=False)
    before = snapshot(run_dir)
    with pytest.raises(
        RuntimeError, match=r"holds a finished run of another configuration.*other settings"
    ):
        train(config(ds, seed=1), run_dir, dataset=ds, progress=False)
    assert snapshot(run_dir) == before
    # the same settings on changed audio are another run too (the old code returned the stale record)
    _replace(ds.audio_path(ds.files("evaluation")[0]))
    ds = Dataset.from_folder(ds.audio_dir)
    with pytest.raises(RuntimeError, match=r"other data \(metadata or audio\)"):
        train(config(ds), run_dir, dataset=ds, progress=False)
    assert snapshot(run_dir) == before
    assert RunRecord.load(run_dir).identity == record.identity


# ---------------------------------------------------------------------------- 5. early, placed errors
@pytest.mark.parametrize(
    ("setting", "name"),
    # epochs -1: since the step budget, epochs 0 means no cap (a valid run of 5000 steps)
    [({"epochs": -1}, "epochs"), ({"gamma": float("inf")}, "gamma"), ({"lr": float("nan")}, "lr")],
    ids=["epochs-negative", "gamma-inf", "lr-nan"],
)
def test_bad_settings_fail_before_the_first_epoch(setting, name, tiny, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match=rf"TrainConfig\.{name} = "):
        train(
            config(tiny, loss="duration_robust", **setting), run_dir, dataset=tiny, progress=False
        )
    with pytest.raises(
        ValueError, match=rf"TrainConfig\.{name} = "
    ):  # the notebook's and the CLI's way
        TrainConfig.from_parameters(**setting)
    assert checkpoints(run_dir) == []


def test_an_unwritable_output_folder_fails_before_the_first_epoch(tiny, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root: permissions do not stop it; a file in the way does
            (tmp_path / "file.txt").write_text("not a folder")
            run_dir = tmp_path / "file.txt" / "run"
        else:
            run_dir = locked  # exists, but cannot be written into
        with pytest.raises(
            PermissionError, match=re.escape(f"cannot write the run's results into {run_dir}")
        ):
            train(config(tiny), run_dir, dataset=tiny, progress=False)
    finally:
        locked.chmod(0o700)
    assert checkpoints(locked) == [] and checkpoints(tmp_path) == []


@pytest.mark.parametrize(
    ("protocol", "meta_file", "split"),
    [
        ("dev-eval", "meta/meta_evaluation.txt", "evaluation"),
        ("folds", "crossvaridation/meta_fold02_evaluation.txt", "fold2-evaluation"),
    ],
)
def test_an_empty_metadata_file_fails_before_the_first_epoch(
    protocol, meta_file, split, tiny, tmp_path
):
    ds = private_copy(tiny, tmp_path / "data")
    (ds.meta_dir / meta_file).write_text("\t".join(TUT_HEADER) + "\n")
    ds = Dataset.from_folder(ds.audio_dir)
    run_dir = tmp_path / "run"
    pattern = (
        rf"split '{split}' .* is empty: {re.escape(str(ds.meta_dir / meta_file))} lists no event"
    )
    with pytest.raises(ValueError, match=pattern):
        train(config(ds, protocol=protocol), run_dir, dataset=ds, progress=False)
    assert checkpoints(run_dir) == []


@pytest.mark.parametrize("split", ["evaluation", "development"])
def test_audio_shorter_than_its_annotations_fails_before_the_first_epoch(split, tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    meta = ds.meta(split)
    last = meta.groupby("filename")["offset"].max()
    length = {f: sf.info(ds.audio_path(f)).duration for f in last.index}
    name = next(
        f for f in last.index if last[f] > length[f] / 2 + 0.1
    )  # annotated beyond its middle
    path = ds.audio_path(name)
    data, sr = sf.read(path, always_2d=True)
    sf.write(path, data[: len(data) // 2], sr, subtype=sf.info(path).subtype)
    run_dir = tmp_path / "run"
    with pytest.raises(DataError, match=re.escape(str(path))) as refused:
        train(config(ds), run_dir, dataset=ds, progress=False)
    where = re.search(rf"(\S+meta_{split}\.txt):(\d+): ", str(refused.value))
    assert where, str(refused.value)
    assert Path(where.group(1)) == ds.meta_dir / "meta" / f"meta_{split}.txt"
    line = Path(where.group(1)).read_text().splitlines()[int(where.group(2)) - 1]
    assert line.startswith(name + "\t")  # the line of an event of the truncated file
    assert checkpoints(run_dir) == []


def test_metadata_that_is_not_utf8_fails_before_the_first_epoch(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    meta_file = ds.meta_dir / "meta" / "meta_evaluation.txt"
    lines = meta_file.read_bytes().split(b"\n")
    lines[2] = lines[2] + b"caf\xe9"  # a latin-1 é in the label of line 3
    meta_file.write_bytes(b"\n".join(lines))
    ds = Dataset.from_folder(ds.audio_dir)
    run_dir = tmp_path / "run"
    with pytest.raises(MetadataError, match=rf"{re.escape(str(meta_file))}:3: not UTF-8"):
        train(config(ds), run_dir, dataset=ds, progress=False)
    assert checkpoints(run_dir) == []


@pytest.mark.parametrize("header", [True, False], ids=["with-header", "without-header"])
def test_a_utf8_byte_order_mark_is_ignored(header, tiny, tmp_path):
    original = read_meta(tiny.meta_dir / "meta" / "meta_evaluation.txt")
    lines = (tiny.meta_dir / "meta" / "meta_evaluation.txt").read_text().splitlines()
    path = tmp_path / "meta_bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines if header else lines[1:]).encode() + b"\n")
    meta = read_meta(path, labels=tiny.labels)
    assert meta["filename"].iloc[0] == original["filename"].iloc[0]  # no BOM in the first file name
    pd.testing.assert_frame_equal(meta, original)


@pytest.mark.parametrize("damage", ["corrupt", "old schema"])
def test_a_damaged_run_record_is_refused_before_the_first_epoch(damage, tiny, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = run_dir / RECORD
    if damage == "corrupt":
        record.write_bytes(b'{"run": "bce-s0", "identity": "3f2a')  # cut off mid-write
        error, pattern = CorruptFileError, rf"{re.escape(str(record))}: this run record is corrupt"
    else:  # sedlib 0.1 wrote no schema version
        record.write_text(json.dumps({"run": "bce-s0", "config": {"loss": "bce"}, "epochs_run": 1}))
        error, pattern = (
            SchemaError,
            rf"{re.escape(str(record))} has schema version 1.*sedlib 0.2.0",
        )
    with pytest.raises(error, match=pattern):
        RunRecord.load(record)
    with pytest.raises(error, match=pattern):
        train(config(tiny), run_dir, dataset=tiny, progress=False)
    assert checkpoints(run_dir) == []


def test_events_at_absurd_times_cost_no_memory():
    meta = pd.DataFrame(
        {
            "filename": ["a.wav", "b.wav", "c.wav"],
            "scene_label": ["home"] * 3,
            "onset": [1.0, 0.0, 2.0],
            "offset": [3.0, 1e9, 1e300],
            "event_label": ["dishes", "fan", "car"],
        }
    )
    start = time.perf_counter()
    stats = class_stats(meta)
    assert time.perf_counter() - start < 0.5
    assert stats.loc["dishes", "n_frames"] == 100  # 2 s of 20 ms frames
    assert stats.loc["fan", "n_frames"] == 50_000_000_000  # 1e9 s of 20 ms frames, exactly
    assert (
        stats.loc["car", "n_frames"] == 2**61
    )  # capped (see sedlib.data.meta.active_frame_bounds)
    # segment metrics over 1e12 s: 10 reference segments, 15 system segments, 5 in common
    ref = pd.DataFrame(
        {"filename": ["a"], "onset": [1e9], "offset": [1e9 + 10], "event_label": ["x"]}
    )
    est = pd.DataFrame(
        {"filename": ["a"], "onset": [1e9 + 5], "offset": [1e9 + 20], "event_label": ["x"]}
    )
    start = time.perf_counter()
    m = segment_based_metrics(ref, est, ["x", "y"], file_durations={"a": 1e12})
    assert time.perf_counter() - start < 0.5
    assert m.n_segments == 10**12
    counts = m.per_class.loc["x", ["n_ref", "n_sys", "n_tp", "n_fp", "n_fn"]].tolist()
    assert counts == [10, 15, 5, 10, 5]
    assert m.micro_f == pytest.approx(2 * 5 / (10 + 15))
    assert m.micro_er == pytest.approx(
        (0 + 5 + 10) / 10
    )  # no substitution, 5 deletions, 10 insertions
    with pytest.raises(ValueError, match=r"file_durations\['a'\] = inf"):
        segment_based_metrics(ref, est, ["x"], file_durations={"a": float("inf")})


class SilentServer:
    """Accepts connections on 127.0.0.1, sends ``first`` (maybe nothing), then nothing more."""

    def __init__(self, first: bytes = b""):
        self.first = first
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/archive.zip"
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.sendall(self.first)
            self.held.append(conn)  # open, silent

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize(
    "first",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc"],
    ids=["never-answers", "stops-mid-body"],
)
def test_a_stalled_download_fails_in_seconds(first, tmp_path, caplog):
    with (
        SilentServer(first) as server,
        caplog.at_level(logging.WARNING, logger="sedlib.data.download"),
    ):
        start = time.perf_counter()
        with pytest.raises(DownloadError, match="stalled: no data from the server for 1 s"):
            download(
                server.url, tmp_path / "archive.zip", stall_timeout=1, retries=1, progress=False
            )
        elapsed = time.perf_counter() - start
    assert elapsed < 8, f"took {elapsed:.1f} s"
    warnings = [r.getMessage() for r in caplog.records if r.name == "sedlib.data.download"]
    assert len(warnings) == 2 and all("stalled" in w for w in warnings)
    assert "attempt 1 of 2" in warnings[0] and "attempt 2 of 2" in warnings[1]
    assert not (tmp_path / "archive.zip").exists()


HOLD_LOCK = """
import sys, time
from sedlib.util.lock import FileLock
with FileLock(sys.argv[1], "run held by another sweep"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_run_locked_by_another_sweep_is_left_to_it(tiny, tmp_path, monkeypatch):
    import papermill

    run = plan("smoke", tiny, tmp_path / "runs")[0]
    lock = run.folder.parent / ".locks" / f"{run.key}.lock"  # where _execute locks a run
    lock.parent.mkdir(parents=True)
    executed = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: executed.append(a))
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline() == "locked\n", other.stderr.read()
        message, failure = try_run(run, "papermill", CALLER)
        assert failure is None and "left to another sweep" in message and str(other.pid) in message
        with pytest.raises(LockedError, match=rf"in use by .*\"pid\": {other.pid}"):
            _execute(run, "papermill", CALLER)
        assert executed == [] and not run.work.exists() and not run.folder.exists()
    finally:
        other.kill()
        other.wait()
    with FileLock(lock):  # released with its process: no stale lock
        pass


# ---------------------------------------------------------------------------- 5j. the book's cell limit
def _code_cell(source: str) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": [source],
    }


@pytest.mark.book
def test_a_cell_past_the_time_limit_is_named_by_the_book_build(tmp_path):
    book = tmp_path / "mini"
    (book / "book").mkdir(parents=True)
    config_text = (ROOT / "_config.yml").read_text()
    config_text, n = re.subn(r"(?m)^(\s+timeout:)\s*\d+", r"\1 5", config_text)
    assert n == 1, "_config.yml has no execute.timeout to lower"
    (book / "_config.yml").write_text(config_text)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/slow\n"
    )
    (book / "book" / "intro.md").write_text("# Intro\n")
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    for folder in ("_ext", "images"):  # the configuration's local extension and favicon
        shutil.copytree(ROOT / "book" / folder, book / "book" / folder)
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Slow"]},
            _code_cell("x = 1"),
            _code_cell("import time; time.sleep(60)"),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (book / "book" / "slow.ipynb").write_text(json.dumps(nb))
    proc = build(book, tmp_path)
    assert proc.returncode != 0
    assert "FAILED book/slow.ipynb: cell 3 timed out after 5 s" in proc.stderr, proc.stderr[-3000:]


def test_a_long_timed_out_cell_is_found_from_its_preview(tmp_path):
    """nbclient shows only the first and last five lines of a long cell that timed out."""
    import importlib.util

    import nbformat
    from nbclient.exceptions import CellTimeoutError

    spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
    build_book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_book)
    long_cell = "\n".join(f"step_{i} = {i}" for i in range(12))
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(long_cell)]
    )
    (tmp_path / "book").mkdir()
    nbformat.write(nb, tmp_path / "book" / "slow.ipynb")
    error = CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", 5, nb.cells[1])
    reports = tmp_path / "_build" / "html" / "reports" / "book"
    reports.mkdir(parents=True)
    (reports / "slow.err.log").write_text(
        f"Traceback (most recent call last):\n{type(error).__name__}: {error}\n"
    )
    (message,) = build_book.report_failures(tmp_path / "_build", tmp_path)
    assert message.startswith("FAILED book/slow.ipynb: cell 2 timed out after 5 s")
