"""Hostile inputs, second pass: settings and the identity of data (cases 4, 5, 11 and the rules).

| case | before (a910190) | after |
|---|---|---|
| 4. ``train --config cfg.json --model gru_units=16`` | replaced the file's whole ``model`` (``channels: 8`` became 128); ``--loss-option clip=0.1`` dropped the file's ``gamma_neg``; two syntaxes | one syntax, ``--set a.b=v``, merged key by key over the file (``--model`` / ``--loss-option`` say so) |
| 5. ``sweep --set seed=5`` (``gamma``, ``loss``, ``loss_options.alpha``, ``dataset``) | silently ignored: the grid set them | refused naming the setting and the grid's methods, before any data or run |
| 11. ``--set epochs=null`` | the smoke grid's 1 epoch became 60 | refused: a setting needs a value |
| 11. ``--epochs 1 --set epochs=5`` | ``--epochs`` silently won | refused: the same setting given twice |
| 11. ``--set model.channels.x=1`` | passed planning, failed in every child | ``TrainConfig.model['channels']`` refused at planning |
| 11. ``--seed -1``, ``--jobs 0`` | failed inside numpy / concurrent.futures | argparse names the option |
| 11. any configuration error | a full traceback | one line on stderr, exit 1; ``--debug`` shows the traceback |
| rule: one data set, one identity | the run identity held the ``dataset`` string (a relative and an absolute path, or a copy, were other runs); the cache knew audio by size and time (a ``touch`` recomputed everything) | the identity holds the data's fingerprint and the content (sha256) of every audio file; a ``touch`` or a copy keeps identity and cache entry |
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import TRAINING_NOTEBOOK

from sedlib.cli import main
from sedlib.data.cache import FeatureConfig, build_features, cache_path
from sedlib.data.layout import Dataset
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.errors import ConfigError
from sedlib.training.config import TrainConfig
from sedlib.training.preflight import data_identity

TINY = Preset(1.0, 0.5, 30.0, (1, 1))


@pytest.fixture(autouse=True)
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "data-root"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return generate(tmp_path_factory.mktemp("tiny") / "tiny", TINY, seed=4, jobs=1, progress=False)


def _capture_train(monkeypatch) -> dict:
    """Replace training by a recorder of the configuration it was given."""
    from types import SimpleNamespace

    import sedlib.training as training
    import sedlib.training.run as run_module

    seen: dict = {}

    def fake_train(plan, run_dir):
        config = plan.config  # the CLI resolves its run once and hands over the plan
        seen["config"], seen["run_dir"] = config, run_dir
        ev = {"macro_f": 0.1, "micro_f": 0.2, "micro_er": 0.9}
        return SimpleNamespace(run=config.describe(), protocol=config.protocol, evaluation=ev)

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(run_module, "default_run_dir", lambda config, group: Path("unused"))
    return seen


# ---------------------------------------------------------------------------- case 4
def test_set_merges_key_by_key_over_the_config_file(tmp_path, monkeypatch):
    seen = _capture_train(monkeypatch)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "loss": "asymmetric",
                "model": {"channels": 8},
                "loss_options": {"gamma_neg": 3.0},
                "epochs": 2,
            }
        )
    )
    args = ["train", "--config", str(cfg), "--set", "model.gru_units=16"]
    assert main([*args, "--set", "loss_options.clip=0.1", "--epochs", "3"]) == 0
    config = seen["config"]
    assert config.model == {"channels": 8, "gru_units": 16}
    assert config.loss_options == {"gamma_neg": 3.0, "clip": 0.1}
    assert config.epochs == 3


@pytest.mark.parametrize("old", ["--model", "--loss-option"])
def test_the_old_override_options_name_their_replacement(old, capsys):
    with pytest.raises(SystemExit):
        main(["train", old, "channels=8"])
    assert "--set " in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, says",
    [("[1, 2]", "one JSON object"), ("{broken", "cfg.json:1:2")],
)
def test_a_config_file_that_is_not_an_object_is_named(content, says, tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(content)
    assert main(["train", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert str(cfg) in err and says in err and "Traceback" not in err


# ---------------------------------------------------------------------------- case 5
@pytest.mark.parametrize(
    "setting",
    ["seed=5", "gamma=3", 'loss="focal"', "loss_options.alpha=0.5", "dataset=elsewhere"],
)
def test_sweep_refuses_what_the_grid_sets_run_by_run(setting, capsys, tmp_path):
    grid = "baselines" if setting.startswith("loss_options") else "smoke"
    code = main(["sweep", "--grid", grid, "--dataset", "synthetic-small", "--set", setting])
    err = capsys.readouterr().err
    assert code == 1 and setting.split("=")[0].split(".")[0] in err
    assert not (tmp_path / "data-root" / "synthetic").exists()  # refused before any data


# ---------------------------------------------------------------------------- case 11
@pytest.mark.parametrize(
    "argv, says",
    [
        (["--set", "epochs=null"], "needs a value"),
        (["--epochs", "1", "--set", "epochs=5"], "give it once"),
        (["--set", "model.channels.x=1"], "TrainConfig.model['channels']"),
        (["--set", "model.channels=8", "--set", "model.channels=9"], "given twice"),
        (["--set", "selection=last", "--set", "patience_steps=100"], "patience"),
    ],
)
def test_sweep_settings_are_applied_or_refused_by_name(argv, says, capsys, tmp_path):
    notebook = ["--notebook", str(TRAINING_NOTEBOOK)]
    code = main(["sweep", "--grid", "smoke", "--dataset", "synthetic-small", *notebook, *argv])
    err = capsys.readouterr().err
    assert code == 1 and says in err and "Traceback" not in err
    assert not (tmp_path / "data-root" / "synthetic").exists()


def test_a_grid_setting_can_be_overridden_by_a_value(tmp_path):
    from sedlib.study.grids import GRIDS, grid_runs, run_config

    spec = grid_runs("smoke")[0]
    config = run_config(GRIDS["smoke"], spec, {"epochs": 5, "model": {"gru_units": 8}})
    assert config.epochs == 5 and config.model == {"channels": 8, "gru_units": 8}


@pytest.mark.parametrize(
    "argv, option",
    [
        (["data", "synthetic", "--seed", "-1"], "--seed"),
        (["sweep", "--grid", "smoke", "--jobs", "0"], "--jobs"),
        (["sweep", "--grid", "smoke", "--seeds", "0"], "--seeds"),
        (["train", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_counts_are_checked_naming_the_option(argv, option, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert f"argument {option}" in capsys.readouterr().err


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="needs a value"):
        main(["--debug", "sweep", "--grid", "smoke", "--set", "epochs=null"])


# ---------------------------------------------------------------------------- one data set, one identity
def test_one_data_set_has_one_identity_however_it_is_named(tiny, tmp_path, monkeypatch):
    copy = Dataset.from_folder(shutil.copytree(tiny.audio_dir, tmp_path / "copy"))
    monkeypatch.chdir(tiny.audio_dir.parent)
    relative = Dataset.from_folder(Path(tiny.audio_dir.name))
    ids = set()
    for ds in (tiny, copy, relative):
        config = TrainConfig(dataset=str(ds.audio_dir), protocol="dev-eval")
        ids.add(config.identity("cpu", data_identity(ds, "dev-eval")))
    assert len(ids) == 1


def test_a_touched_file_keeps_identity_and_cache_a_changed_one_does_not(tiny, tmp_path):
    import soundfile as sf

    ds = Dataset.from_folder(shutil.copytree(tiny.audio_dir, tmp_path / "data"))
    cache = tmp_path / "cache"
    before = data_identity(ds, "dev-eval")
    build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    entry = cache_path(ds, "evaluation", FeatureConfig(), cache)
    target = ds.audio_path(ds.files("evaluation")[0])
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 7_000_000_000))
    assert data_identity(ds, "dev-eval") == before
    assert cache_path(ds, "evaluation", FeatureConfig(), cache) == entry
    audio, sr = sf.read(target)
    sf.write(target, audio * 0.5, sr, subtype="PCM_16")
    assert data_identity(ds, "dev-eval") != before
    assert cache_path(ds, "evaluation", FeatureConfig(), cache) != entry


def test_a_lost_digest_index_costs_only_hashing(tiny, tmp_path):
    from sedlib.data.content import index_path

    first = data_identity(tiny, "dev-eval")
    index_path().write_text("not json")
    assert data_identity(tiny, "dev-eval") == first
    assert json.loads(index_path().read_text())  # written again


@pytest.mark.parametrize(
    ("name", "meaning"),
    [("epochs", "no cap"), ("max_steps", "the epochs alone"),
     ("patience_steps", "never stop early"), ("patience", "never stop early")],
)  # fmt: skip
def test_a_refused_budget_says_what_zero_means(name, meaning):
    with pytest.raises(ConfigError, match=rf"{name} = -1: an integer >= 0 \(0: {meaning}\)"):
        TrainConfig(dataset="synthetic-small", **{name: -1})
