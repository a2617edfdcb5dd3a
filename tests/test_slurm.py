"""``sedlib sweep --executor slurm`` against a real one-node SLURM (``tools/slurm/cluster.sh``).

The module's fixture starts munged, slurmctld and slurmd with the script the
README shows, and stops them afterwards. Without SLURM installed
(``bash tools/slurm/cluster.sh install``) these tests are skipped; in CI
(``CI=true``) they fail. The sweeps run the README's test-cluster command on the
tests' tiny data set (8 files, the smoke grid: 2 runs of 4 folds, 1 epoch each).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from sedlib.cli import main
from sedlib.study.slurm import SLURM_FOLDER, read_ledger
from sedlib.study.sweep import plan_grid
from sedlib.training.record import RECORD
from sedlib.training.run import FOLD_RECORD

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tools" / "slurm" / "cluster.sh"
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "srun")

pytestmark = pytest.mark.usefixtures("module_data_root")


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def slurm():
    """A one-node cluster of ``tools/slurm/cluster.sh`` for the module; its exports."""
    missing = [p for p in DAEMONS if shutil.which(p) is None]
    if missing:
        why = f"SLURM is not installed ({', '.join(missing)}): bash {CLUSTER} install"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    started = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True)
    if started.returncode:
        pytest.fail(f"the test cluster did not start:\n{started.stderr}")
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines()
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in exports.items():
                mp.setenv(name, value)
            yield exports
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", exports["SEDLIB_SLURM_DIR"]], check=True)


def readme_command() -> list[str]:
    """The README's test-cluster command (``sedlib sweep --grid smoke ... --executor slurm``)."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith(".venv/bin/sedlib sweep --grid smoke") and "--executor slurm" in line
    ]
    argv = shlex.split(line.partition("#")[0])
    assert argv[0] == ".venv/bin/sedlib"
    return argv[1:]


def on_tiny(argv: list[str], tiny) -> list[str]:
    """``argv`` with the tests' tiny data set for its ``--dataset``."""
    argv = list(argv)
    argv[argv.index("--dataset") + 1] = str(tiny.audio_dir)
    return argv


def as_python_executor(argv: list[str]) -> list[str]:
    """``argv`` with ``--executor python`` and without its ``--slurm`` settings."""
    out, skip = [], False
    for k, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--slurm":
            skip = True
        else:
            out.append("python" if k and argv[k - 1] == "--executor" else arg)
    return out


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory) -> dict[str, dict]:
    """The records of the README's sweep through the python executor, by run folder name."""
    root = tmp_path_factory.mktemp("python-root")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEDLIB_DATA_ROOT", str(root))
        argv = as_python_executor(on_tiny(readme_command(), tiny))
        assert main([*argv, "--jobs", "2"]) == 0  # two processes at once: the same records
    return {p.parent.name: json.loads(p.read_text()) for p in root.glob(f"runs/smoke/*/{RECORD}")}


def planned(tiny, root: Path, *more: str):
    settings = {"device": "cpu", "dataset": str(tiny.audio_dir)}
    if "--protocol" in more:
        settings["protocol"] = more[more.index("--protocol") + 1]
    return plan_grid("smoke", dataset=tiny, overrides=settings, runs_root=root / "runs")


def measured(record: dict) -> dict:
    """What a run measured: its record without times, provenance and the engine's name."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if "seconds" not in k}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    kept = {k: v for k, v in record.items() if k not in ("timing", "provenance")}
    return strip(kept)


def submitted_job(output: str) -> str:
    (job,) = re.findall(r"submitted slurm job (\d+)", output)
    return job


def jobs_known() -> set[str]:
    """Every job id the cluster knows (pending, running or ended)."""
    answer = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%A"], capture_output=True, text=True, check=True
    )
    return set(answer.stdout.split())


def wait_for(condition, timeout_s: float = 300.0, what: str = "a condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.1)
    return value


# ---------------------------------------------------------------------------- tests
@pytest.mark.slow
def test_the_readme_command_trains_what_the_python_executor_trains(
    slurm, tiny, reference, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    argv = on_tiny(readme_command(), tiny)
    assert main(argv) == 0
    job = submitted_job(caplog.text)
    assert "slurm tasks: 0 pending, 0 running, 2 done, 0 failed" in caplog.text  # the counts
    runs = planned(tiny, tmp_path)
    assert sorted(run.key for run in runs) == sorted(reference)  # the same identities
    tasks = set()
    for run in runs:
        record = json.loads((run.folder / RECORD).read_text())
        assert record["identity"] == run.identity
        assert measured(record) == measured(reference[run.key])
        where = record["provenance"]["slurm"]
        assert where["job_id"] == job and where["node"] == _node()
        tasks.add(where["task_id"])
    assert tasks == {"0", "1"}

    known, _ = jobs_known(), caplog.clear()  # a second submission of the finished sweep
    assert main(argv) == 0
    assert "no job was submitted" in caplog.text
    assert jobs_known() == known


@pytest.mark.slow
def test_a_preempted_task_requeues_and_a_cancelled_one_resumes_when_submitted_again(
    slurm, tiny, reference, tmp_path, monkeypatch, caplog
):
    """One task gets SLURM's preemption signal (USR2), the other is cancelled, each mid-run."""
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    argv = on_tiny(readme_command(), tiny)
    runs = {run.key: run for run in planned(tiny, tmp_path)}
    assert main([*argv, "--no-wait"]) == 0
    job = submitted_job(caplog.text)
    tasks = read_ledger(tmp_path / "runs" / "smoke" / SLURM_FOLDER)
    first_folds, stopped = {}, []
    for what in ("preempted", "cancelled"):  # each as soon as its run has a finished fold
        task = wait_for(
            lambda: next(
                (t for t in tasks if t not in stopped and fold_done(runs[t.runs[0]])), None
            ),
            what="a run with a finished first fold",
        )
        run = runs[task.runs[0]]
        first_folds[run.key] = (run.work / "fold1" / FOLD_RECORD).read_bytes()
        signal = ["--signal=USR2"] if what == "preempted" else []
        subprocess.run(["scancel", *signal, task.job_id], check=True)
        stopped.append(task)
    preempted, cancelled = stopped
    wait_for(lambda: _state(cancelled.job_id) in ("CANCELLED", "FAILED"), what="the cancel")
    wait_for(lambda: _state(preempted.job_id) == "PENDING", what="the requeue")
    # SLURM holds a requeued job for 2 minutes; the test lets it start now
    subprocess.run(["scontrol", "update", f"JobId={preempted.job_id}", "StartTime=now"], check=True)

    caplog.clear()
    assert main(argv) == 0  # submitted again: only the cancelled run, and waits for the other
    out = caplog.text
    assert f"{len(cancelled.runs)} run(s)" in out and submitted_job(out) != job
    assert f"1 task(s) of earlier job(s) {job} still queued or running" in out
    for run in runs.values():
        record = json.loads((run.folder / RECORD).read_text())
        assert measured(record) == measured(reference[run.key])  # every epoch, once
        assert (run.folder / "fold1" / FOLD_RECORD).read_bytes() == first_folds[run.key]
        assert len(list(run.folder.parent.glob(f"{run.spec.name}-*"))) == 1
        assert not run.work.exists()
    assert json.loads((runs[preempted.runs[0]].folder / RECORD).read_text())["provenance"][
        "slurm"
    ] == {"job_id": job, "task_id": preempted.job_id.split("_")[1], "node": _node()}


def fold_done(run, fold: str = "fold1") -> bool:
    """A fold of ``run`` has finished, the run has not."""
    return (run.work / fold / FOLD_RECORD).is_file() and not (run.folder / RECORD).is_file()


def _state(job_id: str) -> str:
    answer = subprocess.run(
        ["squeue", "-h", "-r", "--states=all", "-j", job_id, "-o", "%T"],
        capture_output=True,
        text=True,
    )
    return answer.stdout.strip()


def _node() -> str:
    return socket.gethostname().split(".")[0]


@pytest.mark.slow
def test_a_failing_task_is_reported_with_its_job_id_and_log(
    slurm, tiny, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    bce = next(
        r for r in planned(tiny, tmp_path, "--protocol", "dev-eval") if r.spec.method.loss == "bce"
    )
    bce.work.parent.mkdir(parents=True)
    bce.work.write_text("a file where the run's work folder goes")
    argv = [*on_tiny(readme_command(), tiny), "--protocol", "dev-eval"]
    with pytest.raises(SystemExit) as failed:
        main(argv)
    job = submitted_job(caplog.text)
    message = str(failed.value)
    log = tmp_path / "runs" / "smoke" / SLURM_FOLDER / f"{job}_0_0_log.err"
    assert f"task {job}_0 ({bce.key}) FAILED; log {log}" in message
    assert log.is_file() and "FileExistsError" in message.split("last lines:")[1]
    others = [r for r in planned(tiny, tmp_path, "--protocol", "dev-eval") if r.key != bce.key]
    assert others and all((r.folder / RECORD).is_file() for r in others)  # trained all the same


@pytest.mark.slow
def test_members_train_a_batched_group_per_task_and_a_finished_sweep_submits_nothing(
    slurm, tiny, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    argv = [*on_tiny(readme_command(), tiny), "--protocol", "dev-eval", "--members", "2"]
    assert main(argv) == 0
    job = submitted_job(caplog.text)
    for run in planned(tiny, tmp_path, "--protocol", "dev-eval"):
        record = json.loads((run.folder / RECORD).read_text())
        assert record["identity"] == run.identity and record["timing"]["engine"] == "batched"
        assert record["provenance"]["slurm"]["job_id"] == job  # one task: a job, no array
    known, _ = jobs_known(), caplog.clear()
    assert main(argv) == 0
    assert "no job was submitted" in caplog.text
    assert jobs_known() == known


# ---------------------------------------------------------------------------- without a cluster
def test_unknown_slurm_settings_are_refused_naming_them(tiny, capsys):
    argv = [*on_tiny(readme_command(), tiny), "--slurm", "partitoin=gpu", "--slurm", "gpus=1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--slurm: unknown SLURM setting(s) partitoin, gpus; nothing was submitted" in err
    assert "timeout_min" in err and "array_parallelism" in err  # the names that exist


def test_slurm_options_need_the_slurm_executor(tiny, capsys):
    argv = ["sweep", "--grid", "smoke", "--dataset", str(tiny.audio_dir), "--executor", "python"]
    assert main([*argv, "--members", "2", "--no-wait"]) == 1
    assert "--members, --no-wait: only with --executor slurm" in capsys.readouterr().err


def test_jobs_is_refused_by_the_slurm_executor_and_its_default_is_not(tiny, capsys):
    argv = on_tiny(readme_command(), tiny)
    assert main([*argv, "--jobs", "2", "--slurm", "partitoin=gpu"]) == 1
    assert "--jobs: a SLURM sweep submits every run at once" in capsys.readouterr().err
    assert main([*argv, "--slurm", "partitoin=gpu"]) == 1  # no --jobs: the next check speaks
    assert "unknown SLURM setting(s) partitoin" in capsys.readouterr().err


def test_a_run_whose_task_ended_after_the_sweep_was_planned_is_not_submitted_again(
    tmp_path, monkeypatch
):
    """Seen once in CI: a requeued task finished its run between the sweep's plan and its look at
    the ledger; the run was submitted a second time. The ledger's look re-reads the runs."""
    from types import SimpleNamespace

    from sedlib.study import slurm

    def run(key: str, done: bool):
        return SimpleNamespace(key=key, folder=tmp_path / "runs" / key,
                               finished=lambda: object() if done else None)  # fmt: skip

    planned = [run("a", done=True), run("b", done=False)]  # both unfinished when planned
    submitted = []
    monkeypatch.setattr(slurm, "read_ledger", lambda folder: [])
    monkeypatch.setattr(slurm, "task_states", lambda tasks: {})
    monkeypatch.setattr(slurm, "write_ledger", lambda folder, tasks: None)
    monkeypatch.setattr(slurm, "_say_submitted", lambda *a: None)
    sweep = slurm.SlurmSweep(wait=False)
    monkeypatch.setattr(
        sweep, "_submit", lambda grid, runs, caller, folder: submitted.extend(runs) or []
    )
    sweep.run("smoke", planned, caller=None)
    assert [r.key for r in submitted] == ["b"]
