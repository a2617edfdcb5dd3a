"""Training: both protocols, determinism on CPU, resume equals uninterrupted, records, run identity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.evaluation import Predictions
from sedlib.training import Interrupted, RunRecord, TrainConfig, train
from sedlib.training.split import protocol_folds, validation_files
from sedlib.util.io import json_safe

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
        "protocol": "dev-eval",
        "epochs": 3,
        "batch_size": 8,
        "device": "cpu",
        "model": {"channels": 8},
        "patience": 0,
        "max_steps": 0,
        "warmup_steps": 0,
        "patience_steps": 0,
    }
    return TrainConfig(**{**base, **kw})


def comparable(record: RunRecord) -> dict:
    """Everything but timings and provenance."""
    folds = [
        {
            "history": [
                {k: v for k, v in h.items() if not k.startswith("seconds")} for h in f.history
            ],
            "best": f.best_epoch,
        }
        for f in record.folds
    ]
    return json_safe(
        {
            "folds": folds,
            "evaluation": record.evaluation,
            "tuned": record.tuned,
            "free": record.threshold_free,
        }
    )


def strip_seconds(value):
    if isinstance(value, dict):
        return {k: strip_seconds(v) for k, v in value.items() if k != "seconds"}
    return value


def test_same_seed_same_result_on_cpu(dataset, tmp_path):
    a = train(config(seed=1), tmp_path / "a", dataset=dataset, progress=False)
    b = train(config(seed=1), tmp_path / "b", dataset=dataset, progress=False)
    assert strip_seconds(comparable(a)) == strip_seconds(comparable(b))
    assert a.identity == b.identity
    c = train(config(seed=2), tmp_path / "c", dataset=dataset, progress=False)
    assert comparable(c)["folds"] != comparable(a)["folds"] and c.identity != a.identity


@pytest.mark.parametrize("protocol,stop", [("dev-eval", 1), ("folds", 5)])
def test_interrupted_run_resumes_to_the_same_result(dataset, tmp_path, protocol, stop):
    cfg = config(loss="duration_robust", gamma=2.0, protocol=protocol, epochs=2)
    whole = train(cfg, tmp_path / "whole", dataset=dataset, progress=False)
    partial = train(
        cfg, tmp_path / "split", dataset=dataset, progress=False, stop_after_epochs=stop
    )
    assert isinstance(partial, Interrupted)
    assert not (tmp_path / "split" / "metrics.json").exists()
    assert list((tmp_path / "split").rglob("checkpoint.pt"))
    resumed = train(cfg, tmp_path / "split", dataset=dataset, progress=False)
    assert strip_seconds(comparable(resumed)) == strip_seconds(comparable(whole))


def test_folds_protocol_pools_every_development_file_once(dataset, tmp_path):
    record = train(
        config(protocol="folds", epochs=1), tmp_path / "run", dataset=dataset, progress=False
    )
    assert [f.name for f in record.folds] == ["fold1", "fold2", "fold3", "fold4"]
    pooled = [Predictions.load(tmp_path / "run" / f.name / "test.npz") for f in record.folds]
    files = [name for p in pooled for name in p.files]
    assert sorted(files) == sorted(dataset.files("development")) and len(set(files)) == len(files)
    for plan, fold, predictions in zip(protocol_folds("folds"), record.folds, pooled, strict=True):
        assert predictions.files == dataset.files(plan.test_split)
        assert set(predictions.groups) == {fold.name} and fold.test_files == len(predictions.files)
        held = set(validation_files(dataset, plan.train_split, 0.2))
        assert held.isdisjoint(predictions.files)  # validation files come from the other folds
    assert record.evaluation["n_files"] == len(dataset.files("development"))
    assert set(record.tuned["thresholds"]) == {"fold1", "fold2", "fold3", "fold4"}
    assert (
        record.threshold_free["psds_levels"] == 50 and 0 <= record.threshold_free["segment_ap"] <= 1
    )


def test_record_is_complete_typed_and_loads_back(dataset, tmp_path):
    record = train(
        config(loss="inverse_frequency", epochs=1),
        tmp_path / "run",
        dataset=dataset,
        progress=False,
    )
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert stored["schema"] == 2 and RunRecord.load(tmp_path / "run") == record
    assert set(record.evaluation) >= {"macro_f", "micro_f", "macro_er", "micro_er", "per_class"}
    assert len(record.evaluation["per_class"]) == 25
    assert record.protocol == "dev-eval" and record.seed == 0 and record.loss == "inverse_frequency"
    assert record.resolved["C"] == 500.0 and record.resolved["gamma"] is None
    assert record.resolved["model"]["channels"] == 8 and record.resolved["model"]["gru_units"] == 32
    assert record.device_used == "cpu" and record.provenance["packages"]["torch"]
    assert record.dataset["audio"] and record.dataset["fingerprint"] == dataset.fingerprint
    assert record.timing["train_seconds"] > 0 and record.epochs_run == 1
    assert sum(record.folds[0].class_frames.values()) > 0
    assert list(record.history.columns[:4]) == ["fold", "epoch", "step", "train_loss"]


def test_finished_run_is_returned_untouched_and_another_one_refused(dataset, tmp_path):
    cfg = config(epochs=1)
    first = train(cfg, tmp_path / "run", dataset=dataset, progress=False)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}
    assert train(cfg, tmp_path / "run", dataset=dataset, progress=False) == first
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before
    with pytest.raises(RuntimeError, match="another configuration"):
        train(
            config(epochs=1, loss="bce", seed=9), tmp_path / "run", dataset=dataset, progress=False
        )
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before


def test_nan_loss_stops_naming_epoch_and_batch(dataset, tmp_path, monkeypatch):
    import sedlib.training.run as run_module
    from sedlib.losses import get_loss

    def poisoned(name, **params):
        loss = get_loss(name, **params)
        return lambda logits, targets, reduction="mean": (
            loss(logits, targets, reduction) * float("nan")
        )

    monkeypatch.setattr(run_module, "get_loss", poisoned)
    with pytest.raises(FloatingPointError, match=r"at batch 1 in epoch 1 \(lr "):
        train(config(), tmp_path / "nan", dataset=dataset, progress=False)


def test_validation_split_is_per_scene_and_fixed(dataset):
    held = validation_files(dataset, "development", 0.2)
    assert held == validation_files(dataset, "development", 0.2)
    meta = dataset.meta("development")
    assert 1 <= len(held) < meta.filename.nunique()


def test_identity_is_the_resolved_configuration_and_the_data():
    data = {"fingerprint": "f", "audio": "a"}
    same = [
        (TrainConfig(loss="E3", gamma=4), TrainConfig(loss="duration_robust", gamma=4.0)),
        (TrainConfig(loss="bce", gamma=1), TrainConfig(loss="bce", gamma=3)),  # BCE ignores γ
        (TrainConfig(model={}), TrainConfig(model={"channels": 128, "freq_pools": (8, 4, 2)})),
        (
            TrainConfig(loss="focal", gamma=2),
            TrainConfig(loss="focal", gamma=2, loss_options={"alpha": 0.25}),
        ),
        (TrainConfig(amp=True), TrainConfig(amp=False)),  # bf16 autocast exists on CUDA only
    ]
    for a, b in same:
        assert a.identity("cpu", data) == b.identity("cpu", data)
    different = [
        (TrainConfig(epochs=30), TrainConfig(epochs=2)),
        (TrainConfig(model={"channels": 8}), TrainConfig()),
        (TrainConfig(batch_size=16), TrainConfig(batch_size=32)),
        (TrainConfig(protocol="folds"), TrainConfig(protocol="dev-eval")),
    ]
    for a, b in different:
        assert a.identity("cpu", data) != b.identity("cpu", data)
    assert TrainConfig().identity("cpu", data) != TrainConfig().identity("cuda", data)
    assert TrainConfig().identity("cpu", data) != TrainConfig().identity(
        "cpu", {**data, "audio": "b"}
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", -1),
        ("epochs", 2.5),
        ("max_steps", -5),
        ("warmup_steps", 1.5),
        ("patience_steps", -1),
        ("gamma", float("inf")),
        ("gamma", -1.0),
        ("lr", float("nan")),
        ("batch_size", 0),
        ("patience", -1),
        ("val_fraction", 1.0),
        ("threshold", 0.0),
        ("time_resolution", 0),
        ("protocol", "holdout"),
        ("loss", "hinge"),
        ("device", "tpu"),
        ("class_frames", "file"),
        ("model", {"depth": 3}),
        ("loss_options", {"beta": 0.9}),  # BCE takes no options
    ],
)
def test_bad_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field} = "):
        TrainConfig(**{field: value})


def test_a_budget_is_needed_and_the_warmup_must_end_inside_it():
    with pytest.raises(ValueError, match=r"TrainConfig\.max_steps = 0: a training needs a budget"):
        TrainConfig(epochs=0, max_steps=0)
    with pytest.raises(ValueError, match=r"TrainConfig\.warmup_steps = 100: fewer than max_steps"):
        TrainConfig(max_steps=100, warmup_steps=100)
    with pytest.raises(ValueError, match=r"TrainConfig\.selection = 'last'.*patience_steps"):
        TrainConfig(selection="last", patience_steps=10)


def test_a_budget_in_epochs_keeps_the_identity_of_sedlib_0_3():
    """Step settings all 0 leave the identity as it was before they existed (a stored run's)."""
    data = {"fingerprint": "f", "audio": "a"}
    legacy = TrainConfig(epochs=60, patience=20, max_steps=0, warmup_steps=0, patience_steps=0)
    payload = {k: v for k, v in legacy.resolved("cpu").items() if k != "dataset"}
    for key in ("max_steps", "warmup_steps", "patience_steps"):
        del payload[key]
    expected = hashlib.sha256(
        json.dumps({"version": 2, "config": payload, "data": data}, sort_keys=True).encode()
    ).hexdigest()[:12]
    assert legacy.identity("cpu", data) == expected
    assert TrainConfig().identity("cpu", data) != expected


def test_profiles_and_parameters():
    book = TrainConfig.from_parameters(profile="book", seed=None, epochs=None)
    assert (book.protocol, book.max_steps, book.patience_steps, book.loss) == (
        "dev-eval",
        75,
        0,
        "duration_robust",
    )
    assert TrainConfig.from_parameters(profile=None) == TrainConfig()
    assert TrainConfig.from_parameters(profile="book", max_steps=30).max_steps == 30
    with pytest.raises(ValueError, match="unknown profile"):
        TrainConfig.from_parameters(profile="fast")
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_parameters(optimiser="sgd")


def test_gamma_losses_agree_with_the_loss_registry():
    from sedlib.losses import GAMMA_LOSSES
    from sedlib.training.config import GAMMA_LOSSES as CONFIG_GAMMA_LOSSES

    assert CONFIG_GAMMA_LOSSES == GAMMA_LOSSES


def test_predictions_round_trip(dataset, tmp_path):
    rng = np.random.default_rng(0)
    files = dataset.files("evaluation")
    durations = [10.0 + k for k in range(len(files))]
    probs = [rng.random((int(d / 0.02), 25)).astype(np.float32) for d in durations]
    p = Predictions(
        files,
        probs,
        durations,
        dataset.labels,
        0.02,
        dataset.meta("evaluation"),
        ["x"] * len(files),
    )
    p.save(tmp_path / "p.npz")
    q = Predictions.load(tmp_path / "p.npz")
    assert q.files == p.files and q.groups == p.groups and q.labels == p.labels
    np.testing.assert_array_equal(q.probs[0], p.probs[0])  # lossless
    assert q.reference.equals(p.reference)
    assert torch.is_tensor(torch.from_numpy(q.probs[0]))
