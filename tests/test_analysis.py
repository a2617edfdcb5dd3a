"""Tuned thresholds and threshold-free metrics in metrics.json, for new and for older runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sedlib.analysis import EXTENDED_KEYS, complete_run
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.train import TrainConfig, train

TINY = Preset(dev_minutes=2.0, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("data"), TINY, seed=6, jobs=1, progress=False)


@pytest.fixture(scope="module")
def finished_run(dataset, tmp_path_factory):
    import os

    os.environ["SEDLIB_DATA_ROOT"] = str(tmp_path_factory.mktemp("data-root"))
    config = TrainConfig(
        dataset="unused",
        loss="asymmetric",
        epochs=2,
        batch_size=8,
        device="cpu",
        model={"channels": 8},
        patience=0,
    )
    run_dir = tmp_path_factory.mktemp("run")
    return run_dir, train(config, run_dir, dataset=dataset, progress=False)


def test_new_runs_carry_tuned_and_threshold_free_results(finished_run):
    run_dir, result = finished_run
    labels = list(result["evaluation"]["per_class"])
    tuned = result["tuned"]
    assert set(tuned["thresholds"]) == set(labels)
    assert all(0 < t < 1 for t in tuned["thresholds"].values())
    assert set(tuned["evaluation"]) >= {"macro_f", "micro_f", "macro_er", "per_class"}
    free = result["threshold_free"]
    assert {"segment_ap", "segment_auroc", "psds1", "psds2"} <= set(free)
    assert 0 <= free["segment_ap"] <= 1 and 0 <= free["psds1_mean"] <= 1
    with np.load(run_dir / "predictions.npz") as stored:
        assert any(k.startswith("v") for k in stored.files)  # validation predictions kept
    assert result["config"]["loss_options"] == {}


def test_older_runs_are_completed_identically(finished_run, dataset):
    run_dir, result = finished_run
    old = {k: v for k, v in result.items() if k not in EXTENDED_KEYS}
    (run_dir / "metrics.json").write_text(json.dumps(old))
    assert complete_run(run_dir, dataset=dataset) is True
    redone = json.loads((run_dir / "metrics.json").read_text())
    assert redone["tuned"]["thresholds"] == result["tuned"]["thresholds"]
    assert redone["tuned"]["evaluation"] == result["tuned"]["evaluation"]
    strip = lambda d: {k: v for k, v in d.items() if k not in ("seconds", "added_later")}  # noqa: E731
    assert strip(redone["threshold_free"]) == strip(result["threshold_free"])
    assert redone["threshold_free"]["added_later"]["by"] == "sedlib.analysis.complete_run"
    assert complete_run(run_dir, dataset=dataset) is False  # complete already: untouched


def test_completion_refuses_a_model_that_does_not_reproduce_its_predictions(finished_run, dataset):
    run_dir, result = finished_run
    old = {k: v for k, v in result.items() if k not in EXTENDED_KEYS}
    (run_dir / "metrics.json").write_text(json.dumps(old))
    with np.load(run_dir / "predictions.npz") as stored:
        arrays = {k: stored[k] for k in stored.files}
    np.savez(run_dir / "predictions.npz", **{k: 1 - v for k, v in arrays.items()})
    with pytest.raises(RuntimeError, match="no longer reproduces"):
        complete_run(run_dir, dataset=dataset)
    assert "tuned" not in json.loads((run_dir / "metrics.json").read_text())  # nothing written


def test_configs_stored_before_new_fields_still_match():
    stored = {k: v for k, v in vars(TrainConfig(seed=3)).items() if k != "loss_options"}
    assert TrainConfig(seed=3).matches(stored)
    assert not TrainConfig(seed=3, loss_options={"alpha": 0.5}).matches(stored)
    assert not TrainConfig(seed=4).matches(stored)
