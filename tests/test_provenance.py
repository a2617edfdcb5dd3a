"""The code version a record names is the code that trained, taken when the training starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import sedlib
from sedlib import provenance


def test_the_training_code_is_taken_once_at_the_first_call(monkeypatch):
    monkeypatch.setattr(provenance, "_TRAINING_CODE", None)
    calls = iter(["aaa", "bbb"])
    monkeypatch.setattr(provenance, "git_commit", lambda: next(calls))
    first = provenance.training_code()
    assert first["git_commit"] == "aaa"
    assert provenance.training_code() == first  # a commit made meanwhile is not credited
    assert provenance.collect(include_device=False)["git_commit"] == "aaa"


def test_the_fingerprint_follows_training_code_only(tmp_path):
    package = tmp_path / "sedlib"
    shutil.copytree(Path(sedlib.__file__).parent, package)
    before = provenance.code_fingerprint(package)
    (package / "report" / "tables.py").write_text("# formatting only\n")
    (package / "cli.py").write_text("# the command line\n")
    assert provenance.code_fingerprint(package) == before
    losses = package / "losses.py"
    text = losses.read_text()
    losses.write_text(text.replace('"""', '"""A docstring changed. ', 1) + "\n# a comment\n")
    assert provenance.code_fingerprint(package) == before  # neither changes a number
    losses.write_text(text + "\nEPSILON = 1e-9\n")
    assert provenance.code_fingerprint(package) != before


def test_a_commits_fingerprint_is_the_fingerprint_of_its_checkout(tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(Path(sedlib.__file__).parent, repo / "sedlib")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git[:5], "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    found = provenance.fingerprint_of_commit("HEAD", repo)
    assert found == provenance.code_fingerprint(repo / "sedlib") and found.startswith("ast1:")
    assert provenance.fingerprint_of_commit("0" * 40, repo) is None


def test_a_mixed_set_is_one_experiment_only_with_a_recorded_equal_check(tmp_path):
    from sedlib.study.equivalence import FOLDER, check_name, equivalent
    from sedlib.util.io import write_json

    assert equivalent(["ast1:a"], tmp_path) and not equivalent(["ast1:a", "ast1:b"], tmp_path)
    write_json(tmp_path / FOLDER / check_name("ast1:b", "ast1:a"), {"equal": True})
    assert equivalent(["ast1:a", "ast1:b", "ast1:a"], tmp_path)
    assert not equivalent(["ast1:a", "ast1:b", "ast1:c"], tmp_path)
    write_json(tmp_path / FOLDER / check_name("ast1:a", "ast1:c"), {"equal": False})
    assert not equivalent(["ast1:a", "ast1:c"], tmp_path) and not equivalent(["unknown"], tmp_path)


def test_the_equivalence_probe_trains_with_the_default_dropout():
    """A probe without dropout would call two versions equal whose masks differ (the study's runs
    train with dropout 0.3)."""
    from sedlib.study.equivalence import PROBE_SETTINGS
    from sedlib.training.config import TrainConfig

    default = TrainConfig().resolved("cpu")["model"]["dropout"]
    assert default > 0 and PROBE_SETTINGS["model"]["dropout"] == default
