"""Hostile data: the data cases of the issue "a run lost after training, errors without a place".

Each test asserts the fixed behaviour on a tiny synthetic data set (8 files,
1 epoch, 8 channels). Before: the code of a910190; after: this code.

| case | before (a910190) | after |
|---|---|---|
| 1a. test events of one class only | trained to the end, then PSDS raised ``TypeError: unhashable type: 'numpy.ndarray'`` (sed_scores_eval's cross-trigger statistics of zero other classes): no ``metrics.json``, every rerun the same | with one class PSDS drops the cross-trigger criterion (``alpha_ct`` 0, its value there); the record is written |
| 1b. any failure of the extended evaluation | lost the trained run (no ``metrics.json``) | the record keeps the paper's metrics, the failed part is ``{"error": "..."}`` (``RunRecord.failed_parts``), a warning is logged; aggregation reads NaN |
| 6. a file in two test folds; an evaluation file in development | trained all four folds, then ``ValueError: a file appears twice in the predictions`` (no file, no fold); dev-eval trained and scored on its training files | ``DataError`` before the first epoch naming each file, its folds and their metadata files |
| 10a. a 300-sample wav | ``ValueError: audio of 300 samples is shorter than one hop`` (no file) | ``AudioError`` naming the file |
| 10b. ``dataset.json`` corrupt, a list, a label twice | bare ``JSONDecodeError``; ``AttributeError``; pandas ``InvalidIndexError`` at the first label roll | ``CorruptFileError`` naming ``file:line:column`` / the file; ``MetadataError`` naming the file, ``labels`` and the label |
| 10c. a record with an unknown key in ``folds[0]``; ``folds: []`` | ``TypeError: unexpected keyword``; loaded, then ``max() arg is an empty sequence`` | ``SchemaError`` naming the file, ``folds[0]`` and the key; ``SchemaError`` naming the file and ``folds`` |
| 10d. a stray ``.json`` in ``results/<grid>/`` | ``load_ladder``: ``KeyError: 'header'`` | ``SchemaError`` naming the file and its folder |
| 10e. ``--config`` a JSON list, broken JSON | ``AttributeError`` / bare ``JSONDecodeError`` | ``read_config_file``: ``CorruptFileError`` naming the file (and line:column) |
| 10f. NaN in a stored ``test.npz`` | loaded; scoring raised "non-finite value at frame 7" (no file) | ``CorruptFileError`` naming the ``.npz``, the audio file, frame and class |
| 11a. ``--model n_mels=128`` | failed at batch 1, after the features and ``run.json`` were written | ``ValueError`` naming ``TrainConfig.model`` and the features' 64 bands, nothing of the run written |
| 11b. ``time_resolution=1e-9`` | accepted; the metrics then asked for 1.8 TiB | ``ValueError`` naming ``TrainConfig.time_resolution`` before anything is written |
| 11c. a metadata line twice | read; doubled the event in ``data stats`` | ``MetadataError`` naming ``file:line`` of the copy and the line of the first (``read_meta(..., allow_duplicates=True)`` in generated data sets, whose generator writes exact pairs) |
| 11d. ``data synthetic --root <an existing data set>`` | overwrote it without a word | ``FileExistsError`` naming the folder unless ``force=True`` |
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import TINY_PRESET, TINY_SEED
from test_hostile_inputs import checkpoints, config, private_copy, snapshot

from sedlib.data.audio import AudioError
from sedlib.data.cache import DataError
from sedlib.data.layout import Dataset
from sedlib.data.meta import MetadataError, class_stats, read_meta, write_meta
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.evaluation.predictions import Predictions
from sedlib.study.aggregate import table_row
from sedlib.study.results import load_ladder
from sedlib.training.record import RECORD, RunRecord, SchemaError
from sedlib.training.run import train
from sedlib.util.io import CorruptFileError

SEED = TINY_SEED  # the seed of the ``tiny`` data set
TINY = Preset(*TINY_PRESET)


pytestmark = pytest.mark.usefixtures("module_data_root")


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def finished_run(tiny, tmp_path_factory) -> Path:
    """The folder of a finished dev-eval run on ``tiny`` (never modified)."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    train(config(tiny), run_dir, dataset=tiny, progress=False)
    return run_dir


def rewrite(ds: Dataset, split: str, meta: pd.DataFrame) -> Dataset:
    """``ds`` with the metadata of ``split`` replaced by ``meta``."""
    from sedlib.data.layout import split_file

    write_meta(meta, ds.meta_dir / split_file(split))
    return Dataset.from_folder(ds.audio_dir)


# ---------------------------------------------------------------------------- 1. extended evaluation
def test_a_one_class_test_set_keeps_the_run(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    test = ds.meta("evaluation")
    label = test["event_label"].value_counts().index[0]
    ds = rewrite(ds, "evaluation", test[test["event_label"] == label])
    run_dir = tmp_path / "run"
    record = train(config(ds), run_dir, dataset=ds, progress=False)
    assert (run_dir / RECORD).is_file() and record.failed_parts == {}
    free = record.threshold_free
    assert all(np.isfinite(free[k]) for k in ("psds1", "psds2", "psds1_mean", "psds2_mean"))
    assert free["per_class"][label]["ap"] is not None
    assert [c for c, v in free["per_class"].items() if v["ap"] is not None] == [label]
    assert RunRecord.load(run_dir).identity == record.identity  # a rerun reads it


def test_a_failing_extended_evaluation_is_recorded_not_raised(tiny, tmp_path, monkeypatch, caplog):
    from sedlib.evaluation import extended

    def broken(*args, **kwargs):
        raise RuntimeError("sed_scores_eval broke")

    monkeypatch.setattr(extended, "threshold_free_metrics", broken)
    run_dir = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="sedlib.evaluation.extended"):
        record = train(config(tiny), run_dir, dataset=tiny, progress=False)
    assert record.threshold_free == {"error": "RuntimeError: sed_scores_eval broke"}
    assert record.failed_parts == {"threshold_free": "RuntimeError: sed_scores_eval broke"}
    assert "threshold_free evaluation failed" in caplog.text
    assert set(record.tuned) >= {"thresholds", "evaluation"}  # the other part is kept
    stored = RunRecord.load(run_dir)
    assert stored.evaluation == record.evaluation and stored.failed_parts == record.failed_parts
    row = table_row(stored)  # readers of records cope
    assert np.isnan(row["segment_ap"]) and np.isnan(row["psds1"])
    assert row["macro_f"] == record.macro_f


# ---------------------------------------------------------------------------- 6. splits
def _file_in_two_test_folds(ds: Dataset) -> tuple[Dataset, str, str]:
    """fold1's first test file also tested (and not trained) in fold2."""
    moved = ds.files("fold1-evaluation")[0]
    first = ds.meta("fold1-evaluation")
    test, train_ = ds.meta("fold2-evaluation"), ds.meta("fold2-development")
    ds = rewrite(ds, "fold2-evaluation", pd.concat([test, first[first["filename"] == moved]]))
    ds = rewrite(ds, "fold2-development", train_[train_["filename"] != moved])
    pattern = (
        rf"{re.escape(moved)}: a test file of fold1 \(crossvaridation/meta_fold01_evaluation.txt\) "
        r"and of fold2 \(crossvaridation/meta_fold02_evaluation.txt\)"
    )
    return ds, "folds", pattern


def _evaluation_file_in_development(ds: Dataset) -> tuple[Dataset, str, str]:
    test = ds.meta("evaluation")
    leaked = ds.files("evaluation")[0]
    ds = rewrite(
        ds, "development", pd.concat([ds.meta("development"), test[test["filename"] == leaked]])
    )
    return ds, "dev-eval", rf"{re.escape(leaked)}: both a training and a test file of dev-eval"


@pytest.mark.parametrize(
    "damage", [_file_in_two_test_folds, _evaluation_file_in_development], ids=["folds", "dev-eval"]
)
def test_overlapping_splits_fail_before_the_first_epoch(damage, tiny, tmp_path):
    ds, protocol, pattern = damage(private_copy(tiny, tmp_path / "data"))
    run_dir = tmp_path / "run"
    with pytest.raises(DataError, match=pattern) as refused:
        train(config(ds, protocol=protocol), run_dir, dataset=ds, progress=False)
    assert str(ds.meta_dir) in str(refused.value)
    assert checkpoints(run_dir) == [] and not (run_dir / "run.json").exists()


# ---------------------------------------------------------------------------- 10. errors with a place
def test_audio_shorter_than_one_hop_is_named(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    path = ds.audio_path(ds.files("evaluation")[0])
    sf.write(path, np.zeros(300, dtype=np.float32), sf.info(path).samplerate)
    run_dir = tmp_path / "run"
    with pytest.raises(AudioError, match=rf"{re.escape(str(path))}.*shorter than one hop"):
        train(config(ds), run_dir, dataset=ds, progress=False)
    assert checkpoints(run_dir) == []


@pytest.mark.parametrize(
    ("content", "error", "pattern"),
    [
        ('{"name": "x",\n "labels": [}', CorruptFileError, r":2:13: this data set description is not valid JSON"),
        ('["a", "b"]', CorruptFileError, r": this data set description must hold a JSON object"),
        (json.dumps({"labels": ["car", "fan", "car"]}), MetadataError, r": key 'labels' lists \['car'\] more than once"),
    ],
    ids=["corrupt", "list", "duplicate-label"],
)  # fmt: skip
def test_a_bad_dataset_json_is_named(content, error, pattern, tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    (ds.audio_dir / "dataset.json").write_text(content)
    with pytest.raises(error, match=re.escape(str(ds.audio_dir / "dataset.json")) + pattern):
        Dataset.from_folder(ds.audio_dir)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda r: r["folds"][0].update(extra=1), r": folds\[0\]: not a fold record.*unknown key\(s\) \['extra'\]"),
        (lambda r: r.update(folds=[]), r": 'folds' must list the run's trainings"),
    ],
    ids=["unknown-key", "no-folds"],
)  # fmt: skip
def test_a_bad_fold_in_a_record_is_named(change, pattern, finished_run, tmp_path):
    content = json.loads((finished_run / RECORD).read_text())
    change(content)
    path = tmp_path / RECORD
    path.write_text(json.dumps(content))
    with pytest.raises(SchemaError, match=re.escape(str(path)) + pattern):
        RunRecord.load(path)


def test_a_stray_json_in_a_results_folder_is_named(tmp_path):
    folder = tmp_path / "results" / "paper"
    folder.mkdir(parents=True)
    (folder / "notes.json").write_text('{"todo": "rerun"}')
    with pytest.raises(
        SchemaError, match=rf"{re.escape(str(folder / 'notes.json'))}: not a result summary"
    ):
        load_ladder("paper", tmp_path / "results")


@pytest.mark.parametrize(
    ("content", "pattern"),
    [('[{"epochs": 2}]', r": this configuration file must hold a JSON object"),
     ('{"epochs": 2,\n "lr": }', r":2:8: this configuration file is not valid JSON")],
    ids=["list", "broken"],
)  # fmt: skip
def test_a_bad_config_file_is_named(content, pattern, tmp_path):
    from sedlib.util.io import read_config_file

    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(CorruptFileError, match=re.escape(str(path)) + pattern):
        read_config_file(path)
    path.write_text('{"epochs": 2}')
    assert read_config_file(path) == {"epochs": 2}


def test_non_finite_stored_predictions_are_named(finished_run, tmp_path):
    stored = Predictions.load(finished_run / "dev-eval" / "test.npz")
    stored.probs[1][7, 3] = np.nan
    path = tmp_path / "test.npz"
    stored.save(path)
    label = stored.labels[3]
    pattern = (
        rf"{re.escape(str(path))}: the stored probabilities of {re.escape(repr(stored.files[1]))} "
        rf"hold nan at frame 7, class {re.escape(repr(label))}"
    )
    with pytest.raises(CorruptFileError, match=pattern):
        Predictions.load(path)


# ---------------------------------------------------------------------------- 11. data parts
def test_a_model_the_features_do_not_fit_fails_before_anything_is_written(tiny, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(
        ValueError, match=r"TrainConfig\.model = .*'n_mels': 128.*500 frames of 64 mel bands"
    ):
        train(config(tiny, model={"channels": 8, "n_mels": 128}), run_dir, dataset=tiny, progress=False)  # fmt: skip
    assert not run_dir.exists() or list(run_dir.iterdir()) == []


def test_segments_shorter_than_a_frame_fail_before_anything_is_written(tiny, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match=r"TrainConfig\.time_resolution = 1e-09: .*one frame hop"):
        train(config(tiny, time_resolution=1e-9), run_dir, dataset=tiny, progress=False)
    assert not run_dir.exists() or list(run_dir.iterdir()) == []


def test_a_metadata_line_twice_is_refused_naming_both_lines(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    path = ds.meta_dir / "meta" / "meta_development.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[3]]) + "\n")  # line 4 again, as line len+1
    pattern = rf"{re.escape(str(path))}:{len(lines) + 1}: the event of line 4 again"
    with pytest.raises(MetadataError, match=pattern):
        read_meta(path, labels=tiny.labels)
    (ds.audio_dir / "dataset.json").unlink()  # hand-made data in the common layout
    with pytest.raises(MetadataError, match=pattern):
        Dataset.from_folder(ds.audio_dir).meta("development")  # as `sedlib data stats` reads it
    # the generator writes exact pairs on purpose (texture events cut to the whole file)
    kept = read_meta(path, labels=tiny.labels, allow_duplicates=True)
    assert len(kept) == len(lines) and class_stats(kept)["n_events"].sum() == len(lines)


def test_generating_over_another_data_set_is_refused_unless_forced(tiny, tmp_path):
    ds = private_copy(tiny, tmp_path / "data")
    before = snapshot(ds.audio_dir)
    with pytest.raises(
        FileExistsError, match=rf"{re.escape(str(ds.audio_dir))} already holds .*\['seed'\] differ"
    ):
        generate(ds.audio_dir, TINY, seed=SEED + 1, jobs=1, progress=False)
    (ds.audio_dir / "dataset.json").unlink()  # a data set of the layout without a description
    with pytest.raises(
        FileExistsError,
        match=r"already holds a data set with metadata \['meta/meta_development.txt'",
    ):
        generate(ds.audio_dir, TINY, seed=SEED, jobs=1, progress=False)
    del before["dataset.json"]
    assert snapshot(ds.audio_dir) == before
    assert generate(ds.audio_dir, TINY, seed=SEED, jobs=1, progress=False, force=True).info["settings"]["seed"] == SEED  # fmt: skip
