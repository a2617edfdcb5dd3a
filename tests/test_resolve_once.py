"""A run is resolved once: one data-identity pass (the audio digests) per ``sedlib train``."""

from __future__ import annotations

import pytest

import sedlib.training.preflight as preflight_module
from sedlib.cli import main

pytestmark = pytest.mark.usefixtures("module_data_root")

TINY_RUN = ["--protocol", "dev-eval", "--epochs", "1", "--patience", "0", "--device", "cpu"]
TINY_RUN += [f"--set={k}=0" for k in ("max_steps", "warmup_steps", "patience_steps")]  # 1 epoch
SMALL_MODEL = ["--set", "model.channels=8", "--set", "model.gru_units=8"]


@pytest.fixture
def identity_passes(monkeypatch) -> list:
    """Every data-identity computation, counted."""
    calls: list = []
    real = preflight_module.data_identity

    def counted(dataset, protocol):
        calls.append(protocol)
        return real(dataset, protocol)

    monkeypatch.setattr(preflight_module, "data_identity", counted)
    return calls


@pytest.mark.parametrize("output_dir", [True, False], ids=["output-dir", "default-run-dir"])
def test_sedlib_train_computes_the_data_identity_once(
    tiny, tmp_path, identity_passes, output_dir, capsys
):
    args = ["train", "--dataset", str(tiny.audio_dir), *TINY_RUN, *SMALL_MODEL]
    if output_dir:
        args += ["--output-dir", str(tmp_path / "run")]
    assert main(args) == 0, capsys.readouterr().err
    assert identity_passes == ["dev-eval"]
    identity_passes.clear()
    assert main(args) == 0  # a finished run: read, once resolved too
    assert identity_passes == ["dev-eval"]
