"""Hostile sweeps: the sweep cases of the issue "results mixed up, errors late or without a place".

Each test asserts the fixed behaviour on a tiny synthetic data set (8 files,
the ``smoke`` grid: 1 epoch, 8 channels, ``--protocol dev-eval --device
cpu``). Before: the code of a910190; after: this code.

| case | before (a910190) | after |
|---|---|---|
| 2. relative folders | children (papermill, ``sedlib train``) ran in the repository with the paths as given: ``--dataset minirel`` was looked up in the repository ("unknown data set"), ``SEDLIB_DATA_ROOT=relroot`` wrote runs and a second feature cache into ``<repo>/relroot`` | every folder is made absolute once at the entry point (``pin_paths``, ``canonical_name``, the roots); children get absolute paths and data root |
| 3a. ``--aggregate-only`` without ``--seeds`` | the 4-run result file was rewritten with 2 runs, exit 0 | a result set is named by its planned runs too: the 1-seed set goes into a file of its own; the 4-run file is untouched; the command prints the path and "2 of 2 planned runs" |
| 3b. touched audio, then ``--shard 0/4`` | the 4-run set became a 1-run set | a ``touch`` changes nothing (audio is known by its content): the set stays whole; other sound in a file makes other runs, a set of their own ("1 of 4 planned runs"), the 4-run file untouched |
| 3c. a set that lost runs | silently rewritten smaller | ``ResultSetConflict`` naming the file and the runs it would lose (exit 1), unless ``--force`` |
| 7. a run folder without ``metrics.json`` | retrained in ``.work/``, then ``OSError: Directory not empty`` on promotion, at every sweep | the unfinished folder is moved aside to ``.work/<folder>.stale-<n>`` (logged), the run is promoted; a finished folder is never replaced |
| 8. the sweep killed (SIGKILL, SIGTERM) or interrupted | its ``sedlib train`` child trained on as an orphan, its run's lock already free | the child dies with its sweep (``PR_SET_PDEATHSIG``; a papermill kernel polls its parent); an interrupted sweep ends its children; ``train()`` holds the lock of its folder, so a second trainer (or a new sweep) is refused while one trains |
| 9. undefined values in summaries | micro F [undefined, 0.40, 0.50] was "45.0 ± 63.5" over "3 seeds" while macro F counted undefined as 0 | one rule, ``UNDEFINED_RULE``: an undefined F counts as 0 (30.0 ± 65.7); another undefined metric is left out and the text says "2 of 3 seeds" |
| 11a. ``results`` is a file | found after every run had trained | ``PermissionError`` naming the folder before the first run |
| 11b. ``--device cuda`` without CUDA | every run launched and failed in its child's log | ``ValueError`` naming ``--device`` before the first run |
| 11c. ``--aggregate-only`` | ignored ``--shard``, exit 0 when nothing had finished, rewrote ``created_by`` with itself | ``--shard`` refused; exit 1 saying none of the planned runs finished; the sweep's ``created_by`` is kept |
| 11d. ``--jobs 0`` | not refused | refused by the parser, naming ``--jobs`` |
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import torch
from conftest import TRAINING_NOTEBOOK

from sedlib.cli import main, sweep_caller, training_notebook
from sedlib.data.layout import Dataset
from sedlib.study import sweep
from sedlib.study.sweep import plan_grid, run_grid
from sedlib.training.config import TrainConfig
from sedlib.training.record import RECORD
from sedlib.util.lock import FileLock, LockedError

ROOT = Path(__file__).resolve().parents[1]
#: The shared options of every sweep here (the issue's "M").
M = ["--protocol", "dev-eval", "--device", "cpu", "--executor", "python"]


pytestmark = pytest.mark.usefixtures("module_data_root")


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def two_seeds(tiny, tmp_path_factory) -> Path:
    """A data root after ``sedlib sweep --grid smoke --seeds 2 M`` (4 runs, ``sedlib train``)."""
    root = tmp_path_factory.mktemp("two-seeds")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEDLIB_DATA_ROOT", str(root))
        assert main(sweep_args(tiny, "--seeds", "2")) == 0
    (csv,) = (root / "results" / "smoke").glob("*.csv")
    assert len(pd.read_csv(csv)) == 4
    return root


def sweep_args(dataset: Dataset, *more: str) -> list[str]:
    return ["sweep", "--grid", "smoke", "--dataset", str(dataset.audio_dir), *M, *more]


def own_root(finished: Path, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of a data root, made the data root."""
    root = shutil.copytree(finished, tmp_path / "root")
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(root))
    return root


def result_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "results" / "smoke").glob("*.*"))}


def planned(dataset: Dataset, root: Path, seeds: int = 2):
    settings = {"protocol": "dev-eval", "device": "cpu", "dataset": str(dataset.audio_dir)}
    return plan_grid("smoke", dataset=dataset, seeds=seeds, overrides=settings, runs_root=root)


def copy_record_executor(records: dict[str, bytes], calls: list):
    """A stand-in executor: "trains" a run by writing its saved record (same identity)."""

    def execute(run, caller) -> None:
        calls.append(run.key)
        (run.work / RECORD).write_bytes(records[run.key])

    return execute


def never_called(calls: list):
    def execute(run, caller) -> None:
        calls.append(run.key)
        raise RuntimeError("the executor must not be called")

    return execute


# ---------------------------------------------------------------------------- 2. relative folders
def test_relative_dataset_and_data_root_mean_the_users_folder(tiny, tmp_path, monkeypatch):
    user = tmp_path / "user"
    shutil.copytree(tiny.audio_dir, user / "minirel")
    monkeypatch.chdir(user)
    monkeypatch.setenv("SEDLIB_DATA_ROOT", "relroot")
    args = ["sweep", "--grid", "smoke", "--dataset", "minirel", *M, "--shard", "0/2"]
    assert main(args) == 0  # the old code: "unknown data set 'minirel'" in the child's log
    runs = [p for p in (user / "relroot" / "runs" / "smoke").iterdir() if p.name[0] != "."]
    assert len(runs) == 1 and (runs[0] / RECORD).is_file()
    (csv,) = (user / "relroot" / "results" / "smoke").glob("*.csv")
    assert len(pd.read_csv(csv)) == 1
    assert not (ROOT / "relroot").exists() and not (ROOT / "minirel").exists()
    config = json.loads((runs[0] / "config.json").read_text())
    assert config["dataset"] == str(user / "minirel")  # the child got an absolute folder


def test_papermill_gets_absolute_folders(tiny, tmp_path, monkeypatch):
    import papermill

    user = tmp_path / "user"
    shutil.copytree(tiny.audio_dir, user / "minirel")
    monkeypatch.chdir(user)
    monkeypatch.setenv("SEDLIB_DATA_ROOT", "relroot")
    seen = []
    monkeypatch.setattr(
        papermill, "execute_notebook", lambda *a, **k: seen.append((k, dict(os.environ)))
    )
    with pytest.raises(sweep.SweepError):  # the stand-in writes no record
        run_grid(
            "smoke",
            dataset="minirel",
            overrides={"device": "cpu"},
            shard=(0, 2),
            caller=sweep_caller(training_notebook(TRAINING_NOTEBOOK)),
        )
    ((kwargs, env),) = seen
    assert kwargs["parameters"]["dataset"] == str(user / "minirel")
    assert kwargs["parameters"]["output_dir"].startswith(str(user / "relroot" / "runs"))
    assert env["SEDLIB_DATA_ROOT"] == str(user / "relroot")  # what the kernel inherits


# ---------------------------------------------------------------------------- 3. result sets
def test_aggregate_only_without_seeds_does_not_shrink_the_set(
    tiny, two_seeds, tmp_path, monkeypatch, capsys
):
    root = own_root(two_seeds, tmp_path, monkeypatch)
    before = result_files(root)
    assert main(sweep_args(tiny, "--aggregate-only")) == 0
    after = result_files(root)
    assert {k: v for k, v in after.items() if k in before} == before  # untouched
    (new,) = [k for k in after if k not in before and k.endswith(".csv")]
    assert len(pd.read_csv(root / "results" / "smoke" / new)) == 2
    out = capsys.readouterr().out
    assert "2 of 2 planned runs finished" in out and str(root / "results" / "smoke" / new) in out


def test_touched_audio_and_a_shard_do_not_replace_the_set(tiny, two_seeds, tmp_path, monkeypatch):
    import soundfile as sf

    root = own_root(two_seeds, tmp_path, monkeypatch)
    before = result_files(root)
    wav = sorted(tiny.audio_dir.rglob("*.wav"))[0]
    st = wav.stat()
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # `touch`: the same runs
    assert main(sweep_args(tiny, "--seeds", "2", "--shard", "0/4")) == 0
    after = result_files(root)
    assert sorted(after) == sorted(before)  # known by content: nothing to train, the set whole
    (name,) = [k for k in after if k.endswith(".json")]
    header = json.loads((root / "results" / "smoke" / name).read_text())["header"]
    assert (header["runs"], header["planned"]) == (4, 4)
    original = wav.read_bytes()
    try:  # other sound in the file: other runs, a set of their own
        audio, rate = sf.read(wav)
        sf.write(wav, audio[::-1].copy(), rate, subtype=sf.info(wav).subtype)
        assert main(sweep_args(tiny, "--seeds", "2", "--shard", "0/4")) == 0
    finally:
        wav.write_bytes(original)  # the fixture's data again
        os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns))
    changed = result_files(root)
    assert {k: v for k, v in changed.items() if k in after} == after
    (new,) = [k for k in changed if k not in after and k.endswith(".json")]
    header = json.loads((root / "results" / "smoke" / new).read_text())["header"]
    assert (header["runs"], header["planned"]) == (1, 4)


def test_a_set_that_lost_runs_is_not_replaced_without_force(tiny, two_seeds, tmp_path, monkeypatch):
    """A run folder deleted: aggregating brings the run back from the result set, which keeps all
    4; ``--force`` makes the set of the runs folder alone, without it."""
    root = own_root(two_seeds, tmp_path, monkeypatch)
    (path,) = (root / "results" / "smoke").glob("*.json")
    runs = json.loads(path.read_text())["runs"].keys()
    lost = planned(tiny, root / "runs")[3].folder
    shutil.rmtree(lost)
    assert main(sweep_args(tiny, "--seeds", "2", "--aggregate-only")) == 0
    assert (lost / RECORD).is_file() and json.loads(path.read_text())["runs"].keys() == runs
    shutil.rmtree(lost)
    assert main(sweep_args(tiny, "--seeds", "2", "--aggregate-only", "--force")) == 0
    (csv,) = (root / "results" / "smoke").glob("*.csv")
    assert len(pd.read_csv(csv)) == 3


# ---------------------------------------------------------------------------- 7. unfinished final folder
def test_a_run_folder_without_its_record_is_set_aside_and_promoted(
    tiny, two_seeds, tmp_path, monkeypatch
):
    root = own_root(two_seeds, tmp_path, monkeypatch)
    runs = planned(tiny, root / "runs")
    records = {run.key: (run.folder / RECORD).read_bytes() for run in runs}
    damaged = runs[1]
    (damaged.folder / RECORD).unlink()  # deleted, or never written (a crash)
    shutil.rmtree(root / "results")  # else the sweep restores it from the result set's record
    calls: list = []
    monkeypatch.setitem(sweep.EXECUTORS, "python", copy_record_executor(records, calls))
    for _ in range(2):  # the old code failed here, and at every later sweep
        result = run_grid(
            "smoke",
            dataset=str(tiny.audio_dir),
            seeds=2,
            overrides={"protocol": "dev-eval", "device": "cpu"},
            executor="python",
            caller=sweep_caller(),
        )
        assert len(result.table) == 4
    assert calls == [damaged.key]
    assert (damaged.folder / RECORD).read_bytes() == records[damaged.key]
    (stale,) = (damaged.folder.parent / ".work").glob(f"{damaged.key}.stale-*")
    assert (stale / "config.json").is_file() and not (stale / RECORD).exists()


def test_promotion_never_replaces_a_finished_run(tiny, two_seeds, tmp_path, monkeypatch):
    from sedlib.study.sweep import _promote

    root = own_root(two_seeds, tmp_path, monkeypatch)
    run = planned(tiny, root / "runs")[0]
    finished = (run.folder / RECORD).read_bytes()
    run.work.mkdir(parents=True)
    (run.work / RECORD).write_bytes(finished)
    with pytest.raises(RuntimeError, match="already holds a finished run"):
        _promote(run)
    assert (run.folder / RECORD).read_bytes() == finished and run.work.is_dir()


# ---------------------------------------------------------------------------- 8. orphans and locks
def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=False)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_sweep_leaves_no_trainer_behind(sig, tiny, tmp_path, monkeypatch):
    root = tmp_path / "root"
    env = {**os.environ, "SEDLIB_DATA_ROOT": str(root)}
    args = sweep_args(tiny, "--epochs", "400", "--set", "patience=0", "--shard", "0/2")
    sweeper = subprocess.Popen(
        [sys.executable, "-m", "sedlib", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trainer = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(root.glob("runs/smoke/.work/*/run.json")):
            time.sleep(0.2)  # the child has claimed its folder: it trains
        (trainer,) = _children(sweeper.pid)
        sweeper.send_signal(sig)
        sweeper.wait(30)
        _gone, alive = psutil.wait_procs([trainer], timeout=3)
        assert alive == [], "the sweep's `sedlib train` child trains on as an orphan"
    finally:
        for process in [sweeper, *([trainer] if trainer else [])]:
            try:
                process.kill()
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass
        sweeper.wait()


def test_an_interrupted_sweep_ends_its_children(tmp_path):
    import threading

    from sedlib.util.process import start_child, stop_children

    statuses: list[int] = []
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    waiter = threading.Thread(  # as a sweep's worker thread waits for its run
        target=lambda: statuses.append(
            start_child(command, env=dict(os.environ), cwd=tmp_path, log_path=tmp_path / "log")
        )
    )
    waiter.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _children(os.getpid()):
        time.sleep(0.05)
    (child,) = [c for c in _children(os.getpid()) if "time.sleep(60)" in " ".join(c.cmdline())]
    stop_children()  # what the sweep does on KeyboardInterrupt (or any error) while runs execute
    waiter.join(10)
    assert statuses == [-signal.SIGTERM] and not child.is_running()


HOLD_LOCK = """
import sys, time
from sedlib.util.lock import FileLock
with FileLock(sys.argv[1], "a trainer"):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold(lock: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "locked\n", holder.stderr.read()
    return holder


def test_a_second_trainer_of_one_folder_is_refused(tiny, tmp_path, monkeypatch):
    from sedlib.training.run import train, training_lock

    run_dir = tmp_path / "runs" / "one"
    holder = _hold(training_lock(run_dir))
    try:
        config = TrainConfig(
            dataset=str(tiny.audio_dir), protocol="dev-eval", epochs=1, batch_size=8,
            patience=0, device="cpu", model={"channels": 8},
            max_steps=0, warmup_steps=0, patience_steps=0,  # one epoch of tiny data
        )  # fmt: skip
        with pytest.raises(LockedError, match=rf"in use by .*\"pid\": {holder.pid}"):
            train(config, run_dir, progress=False)
        assert not (run_dir / "run.json").exists()
        # a sweep leaves a run whose work folder is being trained (e.g. by a killed sweep's child)
        run = planned(tiny, tmp_path / "runs", seeds=1)[0]
        calls: list = []
        monkeypatch.setitem(sweep.EXECUTORS, "python", never_called(calls))
        holder.kill()
        holder.wait()
        holder = _hold(training_lock(run.work))
        message, failure = sweep.try_run(run, "python", sweep_caller())
        assert failure is None and "left to another sweep" in message and calls == []
    finally:
        holder.kill()
        holder.wait()
    with FileLock(training_lock(run.work)):  # released with its process
        pass


# ---------------------------------------------------------------------------- 9. undefined values
def test_one_rule_for_undefined_values_in_every_summary():
    from sedlib.report.tables import method_table
    from sedlib.study.stats import paired_difference
    from sedlib.study.summary import UNDEFINED_RULE, format_mean_ci, per_class, summarize

    table = pd.DataFrame(
        {
            "loss": ["bce"] * 3,
            "gamma": [np.nan] * 3,
            "seed": [0, 1, 2],
            "macro_f": [0.0, 0.30, 0.40],
            "micro_f": [np.nan, 0.40, 0.50],  # seed 0 detected nothing
            "macro_er": [1.0, 0.9, 0.8],
            "micro_er": [np.nan, 0.60, 0.70],
            "f:fan": [np.nan, 0.40, 0.50],
        }
    )
    shown = method_table(table, ["bce"], {"micro_f": "micro F", "micro_er": "micro ER"})
    assert shown.loc["BCE", "micro F"] == "30.0 ± 65.7"  # 0, 0.40, 0.50 (was 45.0 ± 63.5)
    assert shown.loc["BCE", "micro ER"] == "65.0 ± 63.5 (2 of 3 seeds)"
    s = summarize(table)
    assert s.loc["bce", "micro_f_mean"] == pytest.approx(0.3) and s.loc["bce", "micro_f_n"] == 3
    assert s.loc["bce", "micro_er_n"] == 2 and s.loc["bce", "n_seeds"] == 3
    # per class, and the macro F of the metrics, already counted an undefined F as 0
    assert per_class(table, "f").loc["fan", ("bce", "mean")] == pytest.approx(0.3)
    assert format_mean_ci(table["micro_f"]) == format_mean_ci(table["f:fan"])
    other = table.assign(micro_f=[0.10, 0.40, 0.50])
    diff = paired_difference(table.set_index("seed")["micro_f"], other.set_index("seed")["micro_f"])
    assert diff.n == 3 and diff.mean == pytest.approx(0.1 / 3)
    assert "F-score" in UNDEFINED_RULE and "counts as 0" in UNDEFINED_RULE


# ---------------------------------------------------------------------------- 11. checks before the first run
def test_a_results_folder_that_is_a_file_fails_before_the_first_run(tiny, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sweep.EXECUTORS, "python", never_called(calls))
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(PermissionError, match=r"cannot write its results into .*results"):
        run_grid(
            "smoke",
            dataset=str(tiny.audio_dir),
            overrides={"protocol": "dev-eval", "device": "cpu"},
            executor="python",
            runs_root=tmp_path / "runs",
            results_root=tmp_path / "results",
        )
    assert calls == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused_before_the_first_run(tiny, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sweep.EXECUTORS, "python", never_called(calls))
    with pytest.raises(ValueError, match=r"--device cuda .*no CUDA device"):
        run_grid(
            "smoke",
            dataset=str(tiny.audio_dir),
            overrides={"protocol": "dev-eval", "device": "cuda"},
            executor="python",
            runs_root=tmp_path / "runs",
            results_root=tmp_path / "results",
        )
    assert calls == []


def test_aggregate_only_refuses_shard_and_nothing_finished_and_keeps_created_by(
    tiny, two_seeds, tmp_path, monkeypatch, capsys
):
    with pytest.raises(SystemExit, match="--shard cannot be used with --aggregate-only"):
        main(sweep_args(tiny, "--aggregate-only", "--shard", "0/4"))
    with pytest.raises(SystemExit, match="--runs cannot be used with --aggregate-only"):
        main(sweep_args(tiny, "--aggregate-only", "--runs", "bce-*"))
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "empty"))
    assert main(sweep_args(tiny, "--aggregate-only")) == 1
    assert "none of the 2 planned runs has finished" in capsys.readouterr().err
    root = own_root(two_seeds, tmp_path, monkeypatch)
    (path,) = (root / "results" / "smoke").glob("*.json")
    made_by = json.loads(path.read_text())["header"]["created_by"]
    assert "--aggregate-only" not in made_by and "--seeds 2" in made_by
    assert main(sweep_args(tiny, "--seeds", "2", "--aggregate-only")) == 0
    assert json.loads(path.read_text())["header"]["created_by"] == made_by
    summary = json.loads(path.read_text())  # a set whose defaults moved: its command, completed
    summary["header"]["reproduce_with"] = made_by + " --set patience_steps=800"
    path.write_text(json.dumps(summary))
    assert main(sweep_args(tiny, "--seeds", "2", "--aggregate-only")) == 0
    assert json.loads(path.read_text())["header"]["reproduce_with"].endswith("patience_steps=800")


def test_aggregate_only_on_a_fresh_checkout_keeps_the_committed_runs(
    tiny, two_seeds, tmp_path, monkeypatch
):
    """The runs folder is gone (a new machine), the result set is committed: aggregating again
    restores its runs and rewrites the same set, it does not find "none finished"."""
    root = own_root(two_seeds, tmp_path, monkeypatch)
    (path,) = (root / "results" / "smoke").glob("*.json")
    before = json.loads(path.read_text())["runs"]
    shutil.rmtree(root / "runs")
    assert main(sweep_args(tiny, "--seeds", "2", "--aggregate-only")) == 0
    assert json.loads(path.read_text())["runs"].keys() == before.keys()
    assert len(list((root / "runs" / "smoke").glob("*/metrics.json"))) == 4


def test_runs_chooses_the_runs_that_train_and_the_results_collect_the_grid(
    tiny, two_seeds, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "fresh"))
    refused = sweep_args(tiny, "--seeds", "2", "--runs", "bce-s7,dr-*", "--runs", "bce-s0")
    assert main(refused) == 1
    assert "(--runs) bce-s7, dr-* match no run of the grid" in capsys.readouterr().err
    assert main(sweep_args(tiny, "--seeds", "2", "--runs", "bce-s0,")) == 1
    assert "--runs bce-s0,: an empty pattern" in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "runs").exists()  # refused before anything is written
    assert main(sweep_args(tiny, "--seeds", "2", "--runs", "bce-s1,duration_robust-*")) == 0
    finished = sorted(
        p.name.rsplit("-", 1)[0] for p in (tmp_path / "fresh/runs/smoke").glob("*-s*")
    )
    assert finished == ["bce-s1", "duration_robust-g1-s0", "duration_robust-g1-s1"]
    assert "3 of 4 planned runs finished" in capsys.readouterr().out
    # a shard of the chosen runs: the one left, bce-s0, and none of the three again
    assert main(sweep_args(tiny, "--seeds", "2", "--runs", "bce-*", "--shard", "0/2")) == 0
    (csv,) = (tmp_path / "fresh/results/smoke").glob("*.csv")
    made_by = json.loads(csv.with_suffix(".json").read_text())["header"]["created_by"]
    assert made_by == shlex.join(["sedlib", *sweep_args(tiny, "--seeds", "2")])  # the whole set's
    columns = ["run", "identity", "steps_run", "macro_f", "micro_f", "macro_er", "micro_er"]
    in_parts = pd.read_csv(csv)[columns].sort_values("run", ignore_index=True)
    at_once = pd.read_csv(next((two_seeds / "results/smoke").glob("*.csv")))[columns]
    pd.testing.assert_frame_equal(in_parts, at_once.sort_values("run", ignore_index=True))


def test_jobs_0_is_refused_naming_the_option(tiny, two_seeds, tmp_path, monkeypatch, capsys):
    own_root(two_seeds, tmp_path, monkeypatch)
    with pytest.raises(SystemExit):
        main(sweep_args(tiny, "--seeds", "2", "--jobs", "0"))
    assert "argument --jobs: must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"--jobs"):
        run_grid("smoke", dataset=str(tiny.audio_dir), jobs=0)
