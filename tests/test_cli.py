"""The sedlib command line and the set-up checks behind the README's commands."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sedlib
from sedlib import system_check
from sedlib.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_python_m_sedlib_help():
    out = run(sys.executable, "-m", "sedlib", "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: sedlib" in out.stdout and "info" in out.stdout and "check" in out.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("sedlib")
    assert script.exists(), "the sedlib console script is not installed next to python"
    out = run(str(script), "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"sedlib {sedlib.__version__}"


def test_info_reports_provenance(capsys):
    assert main(["info"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["packages"]["sedlib"] == sedlib.__version__
    assert record["device"]["device"] in {"cpu", "cuda"}
    assert record["settings"]["tut_meta"]
    assert record["git_commit"] is None or len(record["git_commit"].split("-")[0]) == 40


def test_settings_follow_environment(monkeypatch, tmp_path):
    from sedlib import settings

    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    monkeypatch.delenv("SEDLIB_TUT_META", raising=False)
    assert settings.data_root() == tmp_path
    assert settings.tut_meta_dir() == tmp_path / "tut-meta"
    monkeypatch.setenv("SEDLIB_TUT_META", str(tmp_path / "meta"))
    assert settings.tut_meta_dir() == tmp_path / "meta"


def test_check_passes_here(capsys):
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok: Python 3.1")


def test_check_names_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18))
    monkeypatch.setattr(system_check, "find_chromium", lambda: None)
    assert system_check.run_checks(browser=True) == 1
    err = capsys.readouterr().err
    assert "Python 3.9 is not supported; install Python 3.11" in err
    assert "apt-get install chromium" in err


def test_check_python_tool_rejects_old_python(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location(
        "check_python", ROOT / "tools" / "check_python.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main() == 0
    monkeypatch.setattr(sys, "version_info", (3, 8, 10))
    assert module.main() == 1
    assert "needs Python 3.11" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["book", "test"])
def test_readme_commands_are_make_targets(target):
    readme = (ROOT / "README.md").read_text()
    assert f"make {target}" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert f"\n{target}: $(STAMP)" in makefile


def test_data_commands_generate_describe_and_featurize(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    out = run(sys.executable, "-m", "sedlib", "data", "--help")
    assert out.returncode == 0 and all(
        cmd in out.stdout for cmd in ("tut", "synthetic", "stats", "features")
    )
    root = tmp_path / "mini"
    shutil.copytree(_tiny_dataset(tmp_path), root)
    assert main(["data", "stats", "--dataset", str(root), "--tsv"]) == 0
    text = capsys.readouterr().out
    assert "n_events\tmean_duration\ttotal_duration\tn_frames" in text
    assert main(["data", "features", "--dataset", str(root), "--jobs", "1"]) == 0
    assert "frames" in capsys.readouterr().out
    assert list((tmp_path / "cache").rglob("development-*.npz"))


def _tiny_dataset(tmp_path):
    from sedlib.data.synthetic.generate import Preset, generate

    return generate(
        tmp_path / "gen", Preset(1.0, 0.5, 30.0, (1, 1)), seed=0, jobs=1, progress=False
    ).audio_dir


def test_data_tut_dry_run_uses_the_metadata_setting(tut_meta, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SEDLIB_TUT_META", str(tut_meta))
    caplog.set_level("INFO", logger="sedlib")
    assert main(["data", "tut", "--root", str(tmp_path / "tut"), "--dry-run"]) == 0
    out = caplog.text
    assert "(verified)" in out and "248 of 248 audio files to fetch from 7 TUT data set(s)" in out
    assert not (tmp_path / "tut").exists() or not any((tmp_path / "tut").iterdir())


def test_train_options_default_to_train_config():
    """Unset options are None and become TrainConfig's defaults: one source of defaults."""
    from dataclasses import fields

    from sedlib.training import TrainConfig
    from sedlib.training.config import option_settings

    _TRAIN_OPTIONS = option_settings("train")  # from the fields' metadata

    args = build_parser().parse_args(["train"])
    names = {f.name for f in fields(TrainConfig)}
    assert set(_TRAIN_OPTIONS) <= names
    assert all(getattr(args, name) is None for name in _TRAIN_OPTIONS)
    assert args.profile is None and args.set == []
    sweep = build_parser().parse_args(["sweep", "--grid", "paper"])
    assert sweep.dataset == TrainConfig().dataset and sweep.epochs is None and sweep.device is None


def test_train_prints_undefined_scores_and_exits_0(monkeypatch, tmp_path, capsys):
    """A micro F of None (no detection at all) is a normal result early in training."""
    from types import SimpleNamespace

    import sedlib.training as training
    import sedlib.training.run as run_module

    seen = {}

    def fake_train(plan, run_dir):
        seen["config"] = config = plan.config
        ev = {"macro_f": 0.0, "micro_f": None, "micro_er": 1.0}
        return SimpleNamespace(run=config.describe(), protocol=config.protocol, evaluation=ev)

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(run_module, "default_run_dir", lambda config, group: tmp_path / "run")
    assert (
        main(
            ["train", "--loss", "E3", "--gamma", "2", "--epochs", "3", "--set", "model.channels=8"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "micro F undefined" in out and "macro F 0.0000" in out
    config = seen["config"]
    assert (config.loss, config.gamma, config.epochs, config.model) == (
        "duration_robust",  # E3, by its canonical name from construction
        2.0,
        3,
        {"channels": 8},
    )
    assert config.batch_size == training.TrainConfig().batch_size


def test_train_refuses_bad_options_before_training(capsys):
    # epochs 0 means no cap since the step budget (a valid run: hours of training), so -1
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "-1"])
    assert "argument --epochs: must be at least 0, got -1" in capsys.readouterr().err
    assert main(["train", "--set", "epochs=-1"]) == 1  # one line, no traceback
    err = capsys.readouterr().err
    assert "TrainConfig.epochs = -1" in err and "Traceback" not in err
    with pytest.raises(ValueError, match=r"TrainConfig.epochs = -1"):
        main(["--debug", "train", "--set", "epochs=-1"])
    with pytest.raises(SystemExit):
        main(["train", "--protocol", "holdout"])


def test_data_tut_meta_only_fetches_kilobytes(tmp_path, monkeypatch, capsys):
    """`sedlib data tut --meta-only` against a local server serving the pinned metadata."""
    import hashlib

    from http_fixture import FileServer

    from sedlib.data import tut

    served = tmp_path / "served"
    files = {}
    for relative in ("meta/meta_development.txt", "meta/meta_evaluation.txt"):
        text = b"path\tscene_label\tevent_start_time\tevent_end_time\tevent_label\na.wav\thome\t0.0\t1.0\tdishes\n"
        (served / relative).parent.mkdir(parents=True, exist_ok=True)
        (served / relative).write_bytes(text)
        files[relative] = (len(text), hashlib.sha256(text).hexdigest())
    monkeypatch.setattr(tut, "META_FILES", files)
    monkeypatch.delenv("SEDLIB_TUT_META", raising=False)
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    with FileServer(served) as server:
        monkeypatch.setattr(tut, "META_BASE_URL", server.url)
        ds = tut.fetch_tut(
            tmp_path / "root" / "tut", meta_only=True, meta_base=server.url, meta_files=files
        )
    assert (ds.meta_dir / "meta" / "meta_development.txt").read_bytes().startswith(b"path")
    assert not (tmp_path / "root" / "tut").exists()  # no audio, no archives
