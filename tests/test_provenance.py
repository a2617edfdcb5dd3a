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
    losses.write_text(losses.read_text() + "\n# a change to the science\n")
    assert provenance.code_fingerprint(package) != before
