"""Sweeps on a SLURM cluster through submitit: each unfinished run a task of a job array.

``sedlib sweep --executor slurm`` plans a grid as every sweep does
(:func:`sedlib.study.sweep.run_grid`), then submits its unfinished runs with
submitit (:class:`SlurmSweep`) instead of training them here:

- a task trains one run as the python executor does (``sedlib train`` in a
  child process: the run's metrics are those of a local sweep), or, with
  ``members``, a batched group of up to that many runs in its own process
  (:mod:`sedlib.training.batched`: one GPU trains many runs);
- a task takes its runs' locks, trains in their work folders and promotes a
  finished run as a local sweep does (:func:`sedlib.study.sweep.try_run`): a run
  is trained once, by whoever holds its lock, and a finished run never again;
- a task stopped before its end (cancelled, out of time, preempted) leaves its
  runs resumable from their last epoch (each epoch is checkpointed); on the
  signal SLURM sends before a time limit or a preemption (``USR2``), submitit
  calls :meth:`SweepTask.checkpoint` and requeues the task, which resumes;
- submitting the same sweep again submits only the runs that have neither
  finished nor a task still queued or running (the ledger ``tasks.json``), and
  waits for those tasks too; a finished sweep submits no job;
- the sweep waits by default, printing the tasks pending, running, done and
  failed whenever that changes, then reports each failed task with its job id,
  its log and the last lines of that log; ``wait=False`` prints the job id and
  returns (``sedlib sweep ... --aggregate-only`` collects later);
- each record's provenance names its SLURM job, array task and node
  (:func:`sedlib.provenance.slurm_task`).

What the file system must offer: the runs folder, the data root and the data
set at the same path on the submitting machine and on every node, ``flock``
locks that hold across nodes (NFSv4, Lustre mounted with ``-o flock``, GPFS,
BeeGFS) and atomic ``rename`` within a folder. The submission checks that the
runs folder takes a ``flock``; each task checks that its node sees the folders
before it trains.

Job states come from ``squeue`` and from the result files the tasks write:
submitit's own watcher reads ``sacct``, which needs SLURM's accounting
database, and clusters without one (like the one-node test cluster of
``tools/slurm/cluster.sh``) answer that accounting is disabled.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sedlib.errors import ConfigError, SedlibError, StateError
from sedlib.settings import PATH_VARIABLES, data_root
from sedlib.study.sweep import (
    PlannedRun,
    SweepCaller,
    SweepError,
    check_devices,
    run_batched,
    try_run,
)
from sedlib.util.io import read_json, write_json
from sedlib.util.lock import FileLock

log = logging.getLogger(__name__)

#: The folder of a grid's runs that holds the submissions, logs and ledger.
SLURM_FOLDER = ".slurm"
#: The ledger of the tasks submitted for a grid (those not known to have ended).
LEDGER = "tasks.json"
#: SLURM states of a task that has not started (or waits to start again).
PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
#: SLURM states of a task that runs (or ends right now).
RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED", "RESIZING"}
#: Seconds a task that SLURM calls COMPLETED may take to show its result file (a slow file system).
RESULT_GRACE_S = 60.0
#: Lines of a failed task's log in its report.
LOG_LINES = 12


def slurm_parameters(settings: dict[str, Any]) -> dict[str, Any]:
    """SLURM settings (the command line's ``NAME=VALUE``) as parameters of submitit's ``SlurmExecutor``.

    Names are submitit's: those of ``SlurmExecutor`` (``partition``,
    ``array_parallelism``, ``gpus_per_node``, ``cpus_per_task``, ``qos``,
    ``account``, ``setup``, ``additional_parameters``...), the generic ones of
    its ``AutoExecutor`` (``timeout_min``, ``mem_gb``, ``tasks_per_node``,
    ``name``), and these with the ``slurm_`` prefix of ``AutoExecutor``.

    Raises
    ------
    ConfigError
        Naming every unknown name (and listing the known ones), before anything is submitted.
    """
    from submitit import SlurmExecutor  # here, not at the top: 50 ms that only SLURM sweeps need

    generic = SlurmExecutor._equivalence_dict()
    valid = SlurmExecutor._valid_parameters()
    parameters, unknown = {}, []
    for name, value in settings.items():
        bare = name.removeprefix("slurm_")
        key = generic.get(bare, bare)
        if key not in valid:
            unknown.append(name)
        parameters[key] = value
    if unknown:
        known = sorted(valid | set(generic))
        raise ConfigError(
            f"unknown SLURM setting(s) {', '.join(unknown)}; nothing was submitted. "
            f"submitit's names: {', '.join(known)}"
        )
    return parameters


# ---------------------------------------------------------------------------- on the node
@dataclass
class SweepTask:
    """What one array task does on its node: train its runs (see the module docstring).

    Attributes
    ----------
    runs : list of PlannedRun
        The task's runs.
    batched : bool
        Train them as one batched group in this process (else one after the
        other, each in ``sedlib train``).
    caller : SweepCaller
        The command line's (its ``train_command``).
    environment : dict
        The sweep's folder variables (``SEDLIB_DATA_ROOT``...), set before training.
    shared : dict
        What every node must see -> its folder (checked first).
    """

    runs: list[PlannedRun]
    batched: bool
    caller: SweepCaller
    environment: dict[str, str] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)

    def __call__(self) -> list[str]:
        """Train the runs; their messages. Raises :class:`SweepError` naming the runs that failed."""
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("sedlib").setLevel(logging.INFO)  # the task's log, as the command line's
        os.environ.update(self.environment)
        check_node_sees(self.shared)
        check_devices(self.runs)
        if self.batched:
            outcomes = run_batched(self.runs)
        else:
            outcomes = [try_run(run, "python", self.caller) for run in self.runs]
        for message, _ in outcomes:
            log.info("%s", message)
        failures = [failure for _, failure in outcomes if failure]
        if failures:
            for run in self.runs:
                _log_tail(run.work / "train.log")
            raise SweepError("\n".join(failures))
        return [message for message, _ in outcomes]

    def checkpoint(self, *args, **kwargs):
        """Called by submitit before a time limit or a preemption: the same task, requeued.

        Every epoch is checkpointed, so the requeued task resumes its runs where they stood.
        """
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


def check_node_sees(shared: dict[str, str]) -> None:
    """Raise :class:`SedlibError` naming the node and the folder when this node does not see one."""
    for what, folder in shared.items():
        if not Path(folder).is_dir():
            raise SedlibError(
                f"node {socket.gethostname()} does not see {what} {folder}: the runs folder, the "
                "data root and the data set must be on a file system that the submitting machine "
                "and every node share, at the same path"
            )


def _log_tail(path: Path, lines: int = LOG_LINES) -> None:
    if path.is_file():
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        log.error("last lines of %s:\n  %s", path, "\n  ".join(tail))


# ---------------------------------------------------------------------------- the submitting side
@dataclass(frozen=True)
class Task:
    """A submitted array task: its job id, runs (their folder names) and files."""

    job_id: str
    runs: tuple[str, ...]
    log: str
    out: str
    result: str

    @property
    def array_id(self) -> str:
        return self.job_id.split("_")[0]


@dataclass
class SlurmSweep:
    """The SLURM executor of :func:`sedlib.study.sweep.run_grid` (a ``GridExecutor``).

    Attributes
    ----------
    parameters : dict
        submitit ``SlurmExecutor`` parameters (:func:`slurm_parameters`).
    members : int, optional
        Runs per task, trained as one batched group; None: one run per task,
        trained as the python executor does.
    wait : bool
        Wait for the tasks, showing their states; else return once submitted.
    poll_s : float
        Seconds between two looks at the tasks' states.
    """

    parameters: dict[str, Any] = field(default_factory=dict)
    members: int | None = None
    wait: bool = True
    poll_s: float = 2.0

    def check(self, todo: list[PlannedRun], caller: SweepCaller) -> None:
        """Raise before anything is submitted: no SLURM commands here, or no command that trains a run."""
        if not todo:
            return
        for program in ("sbatch", "squeue", "srun"):
            if shutil.which(program) is None:
                raise ConfigError(
                    f"the SLURM executor: {program} is not on the PATH of this machine "
                    "(submit from a machine of the cluster); nothing was submitted"
                )
        if not self.members:
            caller.check("python")

    def run(self, grid: str, todo: list[PlannedRun], caller: SweepCaller) -> list[str]:
        """Submit ``todo`` (except runs whose tasks are queued or running) and wait; the failures."""
        if not todo:
            log.info("grid %s: every planned run has finished; no job was submitted", grid)
            return []
        folder = todo[0].folder.parent / SLURM_FOLDER
        with _ledger_lock(folder):
            ledger = read_ledger(folder)
            states = task_states(ledger)
            live = [t for t in ledger if states[t.job_id][0] in ("pending", "running")]
            queued = {key for task in live for key in task.runs}
            # a task that ended since the sweep was planned finished its runs: not again
            new = [run for run in todo if run.key not in queued and run.finished() is None]
            submitted = self._submit(grid, new, caller, folder) if new else []
            write_ledger(folder, live + submitted)
        keys = {run.key for run in todo}
        adopted = [t for t in live if keys & set(t.runs)]
        _say_submitted(grid, submitted, adopted, folder)
        if not self.wait:
            return []
        failed = watch(submitted + adopted, self.poll_s)
        failures = [failure_report(task, state) for task, state in failed]
        reported = {key for task, _ in failed for key in task.runs}
        unfinished = [r.spec.name for r in todo if r.key not in reported and r.finished() is None]
        if unfinished:
            failures.append(
                f"{len(unfinished)} run(s) did not finish (trained by another sweep?): "
                + ", ".join(unfinished)
            )
        return failures

    def _submit(
        self, grid: str, runs: list[PlannedRun], caller: SweepCaller, folder: Path
    ) -> list[Task]:
        """One job array: a task per run, or per group of ``members`` runs."""

        from submitit import SlurmExecutor

        executor = SlurmExecutor(folder=folder)
        executor.update_parameters(**{"job_name": f"sedlib-{grid}", **self.parameters})
        size = self.members or 1
        groups = [runs[k : k + size] for k in range(0, len(runs), size)]
        environment = {k: os.environ[k] for k in PATH_VARIABLES if os.environ.get(k)}
        shared = shared_folders(runs)
        tasks = [
            SweepTask(group, bool(self.members), caller, environment, shared) for group in groups
        ]
        jobs = executor.submit_array(tasks)
        return [
            Task(
                job.job_id,
                tuple(run.key for run in group),
                str(job.paths.stderr),
                str(job.paths.stdout),
                str(job.paths.result_pickle),
            )
            for job, group in zip(jobs, groups, strict=True)
        ]


def shared_folders(runs: list[PlannedRun]) -> dict[str, str]:
    """What a node must see (the runs folder, the data root, a data set given as a folder)."""

    shared = {"the runs folder": str(runs[0].folder.parent)}
    if data_root().is_dir():
        shared["the data root"] = str(data_root())
    for run in runs:
        if Path(run.config.dataset).is_dir():
            shared["the data set"] = str(Path(run.config.dataset).absolute())
    return shared


@contextmanager
def _ledger_lock(folder: Path) -> Iterator[None]:
    """Hold the lock of the ledger; refuse a runs folder whose file system takes no ``flock``."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / "tasks.lock", f"the SLURM ledger of {folder.parent}", blocking=True)
    with ExitStack() as stack:
        try:
            stack.enter_context(lock)
        except OSError as err:
            raise ConfigError(
                f"the runs folder {folder.parent} takes no flock lock ({err}): a SLURM sweep needs "
                "a file system with locks that hold across nodes (NFSv4, Lustre with -o flock, "
                "GPFS); nothing was submitted"
            ) from None
        yield


def read_ledger(folder: Path) -> list[Task]:
    """The tasks recorded in ``folder``'s ledger (none when there is none)."""
    path = folder / LEDGER
    if not path.is_file():
        return []
    return [
        Task(**{**t, "runs": tuple(t["runs"])}) for t in read_json(path, "SLURM ledger")["tasks"]
    ]


def write_ledger(folder: Path, tasks: list[Task]) -> None:
    write_json(folder / LEDGER, {"tasks": [asdict(t) for t in tasks]})


def _say_submitted(grid: str, submitted: list[Task], adopted: list[Task], folder: Path) -> None:
    if submitted:
        runs = sum(len(t.runs) for t in submitted)
        log.info(
            "grid %s: submitted slurm job %s: %d task(s), %d run(s); logs in %s",
            grid, submitted[0].array_id, len(submitted), runs, folder,
        )  # fmt: skip
    if adopted:
        jobs = sorted({t.array_id for t in adopted})
        log.info(
            "grid %s: %d task(s) of earlier job(s) %s still queued or running: not submitted again",
            grid, len(adopted), ", ".join(jobs),
        )  # fmt: skip


# ---------------------------------------------------------------------------- states
def squeue_states(array_ids: set[str]) -> dict[str, str]:
    """SLURM's state of every task of these jobs that it still knows (``job_id -> STATE``).

    Raises
    ------
    StateError
        When squeue fails (e.g. the controller does not answer), with its message.
    """
    if not array_ids:
        return {}
    command = [
        "squeue",
        "-h",
        "-r",
        "--states=all",
        "-o",
        "%i|%T",
        "-j",
        ",".join(sorted(array_ids)),
    ]
    answer = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if answer.returncode and "Invalid job id" not in answer.stderr:  # not: jobs long ended
        raise StateError(f"squeue failed ({answer.returncode}): {answer.stderr.strip()}")
    states = {}
    for line in answer.stdout.splitlines():
        job_id, _, state = line.strip().partition("|")
        if state:
            states[job_id] = state.split()[0].rstrip("+")
    return states


def _result(task: Task) -> tuple[str, Any] | None:
    """``("success", messages)`` or ``("error", traceback)`` once the task has written it."""
    path = Path(task.result)
    if not path.is_file():
        return None
    from submitit.core.utils import pickle_load

    return pickle_load(path)


def task_states(tasks: list[Task], completed_since: dict[str, float] | None = None) -> dict:
    """Per task: ``(kind, detail)``, kind one of pending, running, done, failed.

    A task that SLURM calls COMPLETED without a result file yet counts as running
    for :data:`RESULT_GRACE_S` (timed from ``completed_since``, which it updates).
    """
    states = squeue_states({t.array_id for t in tasks})
    completed_since = {} if completed_since is None else completed_since
    out = {}
    for task in tasks:
        result, state = _result(task), states.get(task.job_id)
        if result is not None:
            out[task.job_id] = ("done", "") if result[0] == "success" else ("failed", "FAILED")
        elif state in PENDING:
            out[task.job_id] = ("pending", state)
        elif state in RUNNING:
            out[task.job_id] = ("running", state)
        elif state == "COMPLETED":
            since = completed_since.setdefault(task.job_id, time.monotonic())
            late = time.monotonic() - since > RESULT_GRACE_S
            out[task.job_id] = ("failed", "COMPLETED, no result") if late else ("running", state)
        else:
            out[task.job_id] = ("failed", f"{state or 'unknown to SLURM'}, no result")
    return out


def watch(tasks: list[Task], poll_s: float = 2.0) -> list[tuple[Task, str]]:
    """Wait until no task is pending or running, logging the counts when they change.

    Returns the failed tasks, each with its state (e.g. ``CANCELLED, no result``).
    """
    last, completed_since = None, {}
    try:
        while True:
            try:
                states = task_states(tasks, completed_since)
            except StateError as err:  # the controller is busy or restarting: ask again
                log.warning("%s; asking again in %.0f s", err, poll_s)
                time.sleep(poll_s)
                continue
            counts = Counter(kind for kind, _ in states.values())
            line = ", ".join(f"{counts[k]} {k}" for k in ("pending", "running", "done", "failed"))
            if line != last:
                log.info("slurm tasks: %s", line)
                last = line
            if not counts["pending"] and not counts["running"]:
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        jobs = " ".join(sorted({t.array_id for t in tasks}))
        log.warning(
            "stopped waiting; the tasks go on (scancel %s cancels them); the same command "
            "waits again, with --aggregate-only it collects the finished runs",
            jobs,
        )
        raise
    return [(t, states[t.job_id][1]) for t in tasks if states[t.job_id][0] == "failed"]


def failure_report(task: Task, state: str) -> str:
    """A failed task: its job id, runs, state, log and the log's last lines."""
    runs = ", ".join(task.runs)
    head = f"task {task.job_id} ({runs}) {state}; log {task.log}"
    log_path = Path(task.log)
    if not log_path.is_file():
        return (
            f"{head}: no log (does the node see {log_path.parent}? it must be on a file system "
            "shared with the nodes)"
        )
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return head + ", last lines:\n      " + "\n      ".join(lines[-LOG_LINES:])
