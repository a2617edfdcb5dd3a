"""Hostile pass 3, case 8: the weaker cases of sedlib itself (an error that names what is wrong, nothing dropped).

| case | before (664410b) | after |
|---|---|---|
| ``--executor batched --jobs 2`` / ``--notebook`` with another executor | accepted and ignored | refused, naming the option and why |
| ``SEDLIB_BATCHED_MEMBERS`` = ``abc``, ``-1``, ``0`` | a bare ``ValueError``; nothing trained, a wrong run's ``fold.json`` blamed; no cap | refused before any run starts, naming the variable |
| ``SEDLIB_PARENT_PID``, ``SEDLIB_DATA_ROOT``, ``SEDLIB_TUT_META`` | a bare ``ValueError``; errors about the path only | named in their errors |
| ``sweep --grid cause-sgd --set optimizer=adam`` | trained Adam runs under the SGD arm's name | refused: the settings that define a grid cannot be changed (the same value is accepted) |
| a result file without a run's ``identity`` / with ``runs`` a list | "error: 'identity'" / a traceback | ``SchemaError`` naming the file (and the run) |
| ``data synthetic --ebr-offset-db 1e6`` | a data set name ``--dataset`` could not read | refused by the parser: within ±60 dB, three decimals at most |
| Ctrl-C on a sweep | a raw ``KeyboardInterrupt`` traceback | one line saying that finished runs are kept and the same command resumes the others; exit 130 |
| a usage error of the parser | 7–9 lines of usage | one line naming the option, and ``--help`` |
| an error | two lines (the error, then a ``--debug`` hint) | one line (a message that lists several items continues on indented lines) |
| ``data tut --dry-run`` without the metadata | downloaded the metadata (offline: 4 tries, a ``.part`` file left) | downloads nothing; says what would be fetched (the metadata, at most 17.4 GB of archives) |
| the generator writes an exact duplicate event line (fan, 0–29.25 s, twice) | read_meta refuses its own data set's metadata | written once (the other draws unchanged): synthetic-small's and synthetic-paper's metadata, audio and so identity change; the timelines of the real TUT annotations do not |
| ``train --set optimizer=adam --set momentum=0.5`` | trains, the record says momentum None | refused, naming momentum and the optimizer that has none |
| ``--set lr=1e30`` | "probs has a non-finite value at frame 0, class '(object) banging'" | "<run> <fold>: the outputs on the validation clips are not finite in epoch 1 (lr 1e+30, adam): the training diverged and stopped; lower the learning rate (lr) or check the data"; in a batched group only that member stops |
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TRAINING_NOTEBOOK

from sedlib.cli import main
from sedlib.errors import ConfigError
from sedlib.study import sweep
from sedlib.study.results import find_result_file, load_result
from sedlib.study.sweep import run_grid
from sedlib.training.record import SchemaError

ROOT = Path(__file__).resolve().parents[1]
M = ["--protocol", "dev-eval", "--device", "cpu"]
NO_STEP_BUDGET = {"max_steps": 0, "warmup_steps": 0, "patience_steps": 0}  # 1 epoch of tiny data

pytestmark = pytest.mark.usefixtures("module_data_root")


@pytest.fixture
def no_sweep(monkeypatch) -> list:
    """``run_grid`` replaced by a recorder: the command line's checks run, no run does."""
    calls: list = []
    monkeypatch.setattr(sweep, "run_grid", lambda *a, **k: calls.append(k))
    return calls


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    return err


# ---------------------------------------------------------------------------- options a run would drop
def test_the_default_executor_is_papermill_with_a_notebook_and_batched_without(tiny, no_sweep):
    args = ["sweep", "--grid", "smoke", "--dataset", str(tiny.audio_dir), *M]
    assert main(args) == 0 and main([*args, "--notebook", str(TRAINING_NOTEBOOK)]) == 0
    assert [call["executor"] for call in no_sweep] == ["batched", "papermill"]
    assert no_sweep[1]["caller"].notebook == TRAINING_NOTEBOOK.absolute()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--executor", "batched", "--jobs", "2"], "--jobs 2 runs trainings side by side"),
        (["--executor", "batched", "--notebook", "x.ipynb"], "--notebook is the training notebook"),
        (
            ["--executor", "python", "--notebook", "x.ipynb"],
            "--executor python executes no notebook",
        ),
    ],
)
def test_an_option_the_executor_would_ignore_is_refused(tiny, options, named, no_sweep, capsys):
    args = ["sweep", "--grid", "smoke", "--dataset", str(tiny.audio_dir), *M, *options]
    assert main(args) == 1 and no_sweep == []
    assert named in error_line(capsys)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--executor", "papermill"], "--executor papermill executes the training notebook: "
         "give it with --notebook PATH (in a checkout: --notebook book/03_training.ipynb)"),
        (["--notebook", "nowhere.ipynb"], "--notebook nowhere.ipynb: "),
    ],
)  # fmt: skip
def test_the_papermill_executor_needs_the_notebook_from_the_caller(
    tiny, options, named, no_sweep, capsys
):
    """The package no longer falls back on the training notebook of the checkout it runs from."""
    args = ["sweep", "--grid", "smoke", "--dataset", str(tiny.audio_dir), *M, *options]
    assert main(args) == 1 and no_sweep == []
    assert named in error_line(capsys)
    assert main([*args, "--notebook", str(TRAINING_NOTEBOOK)]) == 0 and len(no_sweep) == 1


@pytest.mark.parametrize("value", ["abc", "-1", "0"])
def test_a_bad_batched_members_cap_is_named_before_any_run(tiny, tmp_path, monkeypatch, value):
    monkeypatch.setenv("SEDLIB_BATCHED_MEMBERS", value)
    monkeypatch.setattr(sweep, "_train_batched", lambda runs: pytest.fail("a run was started"))
    settings = {"protocol": "dev-eval", "device": "cpu"}
    refused = rf"SEDLIB_BATCHED_MEMBERS must be a whole number .* got '{value}'"
    with pytest.raises(ConfigError, match=refused):
        run_grid("smoke", dataset=str(tiny.audio_dir), overrides=settings, executor="batched", runs_root=tmp_path / "runs")  # fmt: skip
    assert not (tmp_path / "runs" / "smoke" / ".work").exists()


@pytest.mark.parametrize(
    ("device", "variable", "cap"), [("cpu", None, 4), ("cuda", None, None), ("cpu", "7", 7)]
)
def test_a_sweeps_cpu_group_holds_4_members_unless_the_variable_says(
    device, variable, cap, tmp_path, monkeypatch
):
    from types import SimpleNamespace

    from sedlib.training.config import TrainConfig

    if variable:
        monkeypatch.setenv("SEDLIB_BATCHED_MEMBERS", variable)
    else:
        monkeypatch.delenv("SEDLIB_BATCHED_MEMBERS", raising=False)
    seen = {}
    monkeypatch.setattr(sweep, "get_dataset", lambda *a, **k: None)
    monkeypatch.setattr(sweep, "train_batched", lambda *a, **k: seen.update(k))
    run = SimpleNamespace(config=TrainConfig(device=device), work=tmp_path, folder=tmp_path / "r")
    sweep._train_batched([run])
    assert seen["max_members"] == cap


def test_the_other_variables_are_named(tmp_path, monkeypatch):
    from sedlib.data.registry import get_dataset
    from sedlib.settings import data_root
    from sedlib.util.process import die_with_parent

    monkeypatch.setenv("SEDLIB_PARENT_PID", "abc")
    with pytest.raises(ConfigError, match="SEDLIB_PARENT_PID must be the pid"):
        die_with_parent()
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "a-file"))
    with pytest.raises(ConfigError, match=r"SEDLIB_DATA_ROOT=.*a-file is not a folder"):
        data_root()
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("SEDLIB_TUT_META", str(tmp_path / "nowhere"))
    with pytest.raises(
        FileNotFoundError, match=r"SEDLIB_TUT_META=.*nowhere holds no meta/meta_development\.txt"
    ):
        get_dataset("tut")


# ---------------------------------------------------------------------------- a grid's defining settings
def test_a_setting_that_defines_the_grid_cannot_be_changed(no_sweep, capsys, module_data_root):
    chosen = module_data_root / "results" / "sgd-lr"  # cause-sgd's lr: chosen by the sgd-lr sets
    shutil.copytree(ROOT / "data" / "results" / "sgd-lr", chosen, dirs_exist_ok=True)
    assert main(["sweep", "--grid", "cause-sgd", "--set", "optimizer=adam"]) == 1 and no_sweep == []
    assert "grid 'cause-sgd' is defined by optimizer='sgd', lr=3.0" in error_line(capsys)
    assert main(["sweep", "--grid", "sgd-lr", "--set", "optimizer=adam"]) == 1
    notebook = ["--notebook", str(TRAINING_NOTEBOOK)]
    assert (
        main(["sweep", "--grid", "cause-sgd", "--set", "optimizer=sgd", "--epochs", "2", *notebook])
        == 0
    )
    assert (
        main(["sweep", "--grid", "sgd-lr", "--set", "lr=0.3", *notebook]) == 0
    )  # what sgd-lr varies


# ---------------------------------------------------------------------------- result files
@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda s: s["runs"]["bce-s0"].pop("identity"), "run 'bce-s0' has no identity"),
        (
            lambda s: s.update(runs=list(s["runs"].values())),
            "'runs' must be an object of runs by name, not a list",
        ),
    ],
)
def test_a_damaged_result_file_is_named(tmp_path, damage, says):
    folder = tmp_path / "smoke"
    folder.mkdir()
    shared = {"dataset": "d", "protocol": "dev-eval", "device": "cpu"}
    name, _ = find_result_file(folder, shared, "f", ["a1"])
    summary = {"header": {"planned_runs": ["a1"]}, "runs": {"bce-s0": {"identity": "a1"}}}
    damage(summary)
    (folder / f"{name}.json").write_text(json.dumps(summary))
    (folder / f"{name}.csv").write_text("run\n")
    for read in (
        lambda: find_result_file(folder, shared, "f", ["a1"]),
        lambda: load_result("smoke", name, tmp_path),
    ):
        with pytest.raises(SchemaError, match=f"{folder / name}.json: {says}"):
            read()


# ---------------------------------------------------------------------------- names, errors, Ctrl-C
def test_an_offset_no_name_can_carry_is_refused_by_the_parser(capsys):
    for value in ("1e6", "-61", "nan", "1.2345"):
        with pytest.raises(SystemExit) as stop:
            main(["data", "synthetic", "--ebr-offset-db", value])
        assert stop.value.code == 2
        line = error_line(capsys)
        assert line.startswith("sedlib data synthetic: error: argument --ebr-offset-db:"), line


def test_a_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--grid", "smoke", "--jobs", "0"])
    assert error_line(capsys).startswith("sedlib sweep: error: argument --jobs: must be at least 1")


def test_an_interrupted_sweep_says_in_one_line_what_resumes(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run_grid", interrupted)
    assert main(["sweep", "--grid", "smoke", "--executor", "batched"]) == 130
    assert (
        "sedlib sweep: interrupted; finished runs are kept, and the same command resumes"
        in error_line(capsys)
    )


@pytest.mark.slow
def test_ctrl_c_on_a_batched_sweep_prints_no_traceback(tiny, tmp_path):
    env = {**os.environ, "SEDLIB_DATA_ROOT": str(tmp_path / "root")}
    command = [
        sys.executable,
        "-m",
        "sedlib",
        "sweep",
        "--grid",
        "smoke",
        "--dataset",
        str(tiny.audio_dir),
        *M,
        "--executor",
        "batched",
        "--epochs",
        "50",
    ]
    child = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    groups = tmp_path / "root" / "runs" / "smoke" / ".work" / ".batched"
    deadline = time.monotonic() + 600
    while not any(groups.rglob("*")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    err = child.communicate()[1]
    assert child.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert (
        err.strip().splitlines()[-1].startswith("sedlib sweep: interrupted; finished runs are kept")
    )


def test_a_dry_run_downloads_nothing(tmp_path, monkeypatch, capsys):
    from sedlib.data import tut

    monkeypatch.delenv("SEDLIB_TUT_META", raising=False)
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    monkeypatch.setattr(tut, "download", lambda *a, **k: pytest.fail("a dry run downloaded"))
    assert main(["data", "tut", "--dry-run"]) == 0
    assert "dry run: nothing was downloaded" in capsys.readouterr().out
    assert not list(tmp_path.rglob("*.part")) and not (tmp_path / "root").exists()
    plan = tut.plan_without_metadata(tmp_path / "tut-meta")
    assert "17.4 GB to download" in plan and "is not in" in plan


# ---------------------------------------------------------------------------- the generator
def test_the_generator_writes_no_exact_duplicate_line():
    from sedlib.data.synthetic.generate import PRESETS, _timelines

    splits, _, _ = _timelines(PRESETS["small"], 0, None)
    assert not any(meta.duplicated().any() for meta in splits.values())


def test_a_setting_the_optimizer_ignores_is_refused():
    from sedlib.training.config import TrainConfig

    with pytest.raises(ConfigError, match="momentum"):
        TrainConfig.from_parameters(optimizer="adam", momentum=0.5)


@pytest.mark.slow
def test_a_diverged_training_names_its_run_epoch_and_learning_rate(tiny, tmp_path):
    from sedlib.training import TrainConfig, train

    data = shutil.copytree(tiny.audio_dir, tmp_path / "data")
    config = TrainConfig(
        dataset=str(data),
        protocol="dev-eval",
        epochs=1,
        lr=1e30,
        model={"channels": 8},
        device="cpu",
        **NO_STEP_BUDGET,
    )
    with pytest.raises(FloatingPointError) as failed:
        train(config, tmp_path / "run", progress=False)
    message = str(failed.value)
    assert "epoch 1 (lr 1e+30, adam)" in message and config.describe() in message


@pytest.mark.slow
def test_a_diverged_member_stops_alone_in_its_batched_group(tiny, tmp_path):
    from sedlib.training import RunRecord, TrainConfig
    from sedlib.training.batched import train_batched

    data = shutil.copytree(tiny.audio_dir, tmp_path / "data")
    configs = [
        TrainConfig(dataset=str(data), protocol="dev-eval", epochs=1, lr=lr, seed=k,
                    model={"channels": 8}, device="cpu", **NO_STEP_BUDGET)
        for k, lr in enumerate((1e30, 1e-3))
    ]  # fmt: skip
    diverged, healthy = train_batched(configs, [tmp_path / c.describe() for c in configs])
    assert isinstance(diverged, FloatingPointError), diverged
    assert "not finite in epoch 1 (lr 1e+30, adam)" in str(diverged)
    assert configs[0].describe() in str(diverged) and isinstance(healthy, RunRecord)
