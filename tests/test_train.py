"""Training: determinism on CPU, resume equals uninterrupted, NaN stops, metrics.json with provenance."""

from __future__ import annotations

import json

import pytest

from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.train import TrainConfig, train, validation_files

TINY = Preset(dev_minutes=2.0, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("data"), TINY, seed=5, jobs=1, progress=False)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path_factory.getbasetemp() / "data-root"))


def config(**kw) -> TrainConfig:
    base = {
        "dataset": "unused",
        "epochs": 3,
        "batch_size": 8,
        "device": "cpu",
        "model": {"channels": 8},
        "patience": 0,
    }
    return TrainConfig(**{**base, **kw})


def comparable(result: dict) -> dict:
    """Everything but timings and provenance."""
    hist = [{k: v for k, v in h.items() if not k.startswith("seconds")} for h in result["history"]]
    return {"history": hist, "evaluation": result["evaluation"], "best_epoch": result["best_epoch"]}


def test_same_seed_same_result_on_cpu(dataset, tmp_path):
    a = train(config(seed=1), tmp_path / "a", dataset=dataset, progress=False)
    b = train(config(seed=1), tmp_path / "b", dataset=dataset, progress=False)
    assert comparable(a) == comparable(b)
    c = train(config(seed=2), tmp_path / "c", dataset=dataset, progress=False)
    assert comparable(c)["history"] != comparable(a)["history"]


def test_interrupted_run_resumes_to_the_same_result(dataset, tmp_path):
    whole = train(
        config(loss="duration_robust", gamma=2.0),
        tmp_path / "whole",
        dataset=dataset,
        progress=False,
    )
    partial = train(
        config(loss="duration_robust", gamma=2.0),
        tmp_path / "split",
        dataset=dataset,
        progress=False,
        stop_after_epochs=1,
    )
    assert partial == {"interrupted": True, "epoch": 1}
    assert (tmp_path / "split" / "checkpoint.pt").is_file() and not (
        tmp_path / "split" / "metrics.json"
    ).exists()
    resumed = train(
        config(loss="duration_robust", gamma=2.0),
        tmp_path / "split",
        dataset=dataset,
        progress=False,
    )
    assert comparable(resumed) == comparable(whole)


def test_metrics_json_has_results_and_provenance(dataset, tmp_path):
    result = train(
        config(loss="inverse_frequency", epochs=1),
        tmp_path / "run",
        dataset=dataset,
        progress=False,
    )
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert stored == json.loads(json.dumps(result))
    for key in ("macro_f", "micro_f", "macro_er", "micro_er", "per_class"):
        assert key in stored["evaluation"]
    assert len(stored["evaluation"]["per_class"]) == 25
    assert set(stored["thresholds"].values()) == {0.5}
    assert stored["config"]["loss"] == "inverse_frequency" and stored["seed"] == 0
    prov = stored["provenance"]
    assert prov["packages"]["torch"] and prov["device"]["used"] == "cpu" and "git_commit" in prov
    assert stored["timing"]["train_seconds"] > 0 and stored["epochs_run"] == 1
    assert sum(stored["class_frames"].values()) > 0
    # a finished run is loaded, not trained again; another configuration in its folder is refused
    assert (
        train(
            config(loss="inverse_frequency", epochs=1),
            tmp_path / "run",
            dataset=dataset,
            progress=False,
        )
        == stored
    )
    with pytest.raises(RuntimeError, match="another configuration"):
        train(config(loss="bce", epochs=1), tmp_path / "run", dataset=dataset, progress=False)


def test_nan_loss_stops_naming_epoch_and_batch(dataset, tmp_path):
    with pytest.raises(FloatingPointError, match=r"at epoch \d+, batch \d+"):
        train(config(lr=float("inf"), epochs=3), tmp_path / "nan", dataset=dataset, progress=False)


def test_validation_split_is_per_scene_and_fixed(dataset):
    held = validation_files(dataset, "development", 0.2)
    assert held == validation_files(dataset, "development", 0.2)
    meta = dataset.meta("development")
    scenes = meta[meta.filename.isin(held)].scene_label.unique()
    assert len(held) >= 1 and len(held) < meta.filename.nunique() and len(scenes) >= 1
