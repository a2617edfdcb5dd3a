"""The sedlib command line and the set-up checks behind the README's commands."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sedlib import system_check
from sedlib.cli import main

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
    assert out.returncode == 0 and out.stdout.strip() == "sedlib 0.1.0"


def test_info_reports_provenance(capsys):
    assert main(["info"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["packages"]["sedlib"] == "0.1.0"
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
    assert list((tmp_path / "cache").rglob("development.npz"))


def _tiny_dataset(tmp_path):
    from sedlib.data.synthetic.generate import Preset, generate

    return generate(
        tmp_path / "gen", Preset(1.0, 0.5, 30.0, (1, 1)), seed=0, jobs=1, progress=False
    ).audio_dir


def test_data_tut_dry_run_uses_the_metadata_setting(tut_meta, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEDLIB_TUT_META", str(tut_meta))
    assert main(["data", "tut", "--root", str(tmp_path / "tut"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(verified)" in out and "248 of 248 audio files to fetch from 7 TUT data set(s)" in out
    assert not (tmp_path / "tut").exists() or not any((tmp_path / "tut").iterdir())
