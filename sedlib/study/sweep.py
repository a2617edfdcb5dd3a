"""Run a grid: every run executed as the papermill training notebook, never mixed up with another.

``run_grid("paper", dataset=...)`` plans the grid's runs (their whole
configuration and identity), executes the unfinished ones with papermill
and aggregates the finished ones (:mod:`sedlib.study.aggregate`). The rules
that keep results apart:

- a run's folder is ``<runs>/<grid>/<run name>-<identity>``: the identity is
  a hash of every resolved setting and of the data (metadata and audio);
- a finished run is reused only when its identity is equal (also one of
  another grid, copied over);
- a run executes in ``<runs>/<grid>/.work/<folder>`` and becomes its final
  folder only when the notebook has finished and its record carries the
  planned identity: a failed or interrupted execution replaces nothing, and
  the next sweep resumes it from its checkpoints;
- each run is locked while it executes, so two sweeps on one folder share
  the work instead of doing it twice; the process that trains it (``sedlib
  train`` or a papermill kernel) holds the lock of its work folder too
  (:func:`sedlib.training.run.training_lock`) and ends with its sweep
  (:mod:`sedlib.util.process`), so no orphan trains a run a new sweep
  trains again;
- a final folder left unfinished (no ``metrics.json``: deleted, or left by
  a crash) is moved aside into ``.work/<folder>.stale-<n>`` and trained
  again; a finished one is never replaced;
- every folder the user gives (data set, runs, results, the data root) is
  made absolute once, here: the children run in the repository folder;
- the output folders, the device and ``jobs`` are checked before the first
  run starts.

``shard=(i, n)`` takes every n-th run from the i-th on, for cluster array
jobs; :func:`aggregate_grid` collects the finished runs afterwards.

What a sweep needs of the program that started it (the training notebook,
the command that trains one run, the command that plans the same runs) is
given by its caller as a :class:`SweepCaller` (the command line's:
:func:`sedlib.cli.sweep_caller`), so the study knows neither where a
checkout keeps its book nor how options are spelled on the command line.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from sedlib.data.registry import canonical_name, get_dataset
from sedlib.errors import ConfigError, SedlibError, StateError
from sedlib.settings import data_root, env_count, pin_paths
from sedlib.study.aggregate import aggregate, data_facts
from sedlib.study.extension import extend_runs
from sedlib.study.grids import RunSpec, get_grid, grid_runs, run_config
from sedlib.study.results import ResultSet, stored_record, stored_records
from sedlib.study.results import results_root as default_results
from sedlib.training.batched import train_batched
from sedlib.training.config import TrainConfig, device_kind
from sedlib.training.preflight import check_writable, data_identity
from sedlib.training.record import RECORD, RunRecord
from sedlib.training.run import CLAIM, training_lock
from sedlib.util.io import write_json
from sedlib.util.lock import FileLock, LockedError
from sedlib.util.process import start_child, stop_children

log = logging.getLogger(__name__)


class SweepError(SedlibError, RuntimeError):
    """Some runs of a sweep failed; the message lists them with their notebooks."""


@dataclass(frozen=True)
class SweepCaller:
    """What a sweep needs of the program that starts it; given by the caller.

    Attributes
    ----------
    notebook : Path or None
        The training notebook the ``papermill`` executor executes (None: that
        executor is refused before any run starts).
    train_command : callable or None
        ``(config file, run folder) -> argv`` of a process that trains one run
        (the ``python`` executor; None: that executor is refused).
    sweep_command : callable or None
        ``(grid, seeds, shared configuration) -> str``: the command that plans
        the same runs, written into the results (None: none is written).
    before_notebooks : callable or None
        Called before a notebook executes (e.g. the kernel wake-up
        fix, :func:`sedlib.util.kernel_wakeup.install`); None: nothing.
    """

    notebook: Path | None = None
    train_command: Callable[[Path, Path], list[str]] | None = None
    sweep_command: Callable[[str, int, TrainConfig], str] | None = None
    before_notebooks: Callable[[], None] | None = None

    def check(self, executor: str) -> None:
        """Raise ``ValueError`` when ``executor`` needs something this caller did not give."""
        if executor == "papermill" and (self.notebook is None or not self.notebook.is_file()):
            raise ConfigError(
                f"the papermill executor executes the training notebook, but "
                f"{self.notebook or 'none was given'} is not a file; no run was started"
            )
        if executor == "python" and self.train_command is None:
            raise ConfigError("the python executor needs the command that trains one run")


class GridExecutor(Protocol):
    """Trains a sweep's unfinished runs somewhere else (e.g. :class:`sedlib.study.slurm.SlurmSweep`)."""

    def check(self, todo: list[PlannedRun], caller: SweepCaller) -> None:
        """Raise before anything starts when the runs cannot be trained this way."""

    def run(self, grid: str, todo: list[PlannedRun], caller: SweepCaller) -> list[str]:
        """Train ``todo`` (or submit it and return); the failures, one line each."""


@dataclass
class PlannedRun:
    """One run of a sweep: its configuration, identity and folders."""

    spec: RunSpec
    config: TrainConfig
    identity: str
    folder: Path

    @property
    def key(self) -> str:
        return self.folder.name

    @property
    def work(self) -> Path:
        return self.folder.parent / ".work" / self.key

    def finished(self) -> RunRecord | None:
        """The run's record, if it has finished (with this identity)."""
        if not (self.folder / RECORD).is_file():
            return None
        record = RunRecord.load(self.folder / RECORD)
        if record.identity != self.identity:
            raise StateError(f"{self.folder} holds run {record.identity}, not {self.identity}")
        return record


def plan_grid(
    grid: str,
    *,
    dataset,
    seeds: int | None = None,
    overrides: dict[str, Any] | None = None,
    runs_root: Path | None = None,
) -> list[PlannedRun]:
    """Every run of the grid with its whole configuration and identity.

    ``dataset`` is a :class:`~sedlib.data.layout.Dataset` (its name goes into
    the configurations); ``overrides`` are shared settings on top of the
    grid's (``epochs``, ``protocol``, ``device``, ``model``...).
    """

    runs_root = Path(runs_root) if runs_root else data_root() / "runs"
    spec_grid = get_grid(grid)
    overrides = dict(overrides or {})
    data_ids: dict[str, dict] = {}
    planned = []
    for spec in grid_runs(grid, seeds):
        config = run_config(spec_grid, spec, overrides)
        if config.protocol not in data_ids:
            data_ids[config.protocol] = data_identity(dataset, config.protocol)
        identity = config.identity(device_kind(config.device), data_ids[config.protocol])
        planned.append(
            PlannedRun(spec, config, identity, runs_root / grid / f"{spec.name}-{identity}")
        )
    return planned


def _reuse(run: PlannedRun) -> bool:
    """Copy a finished run with the same identity from another grid's folder (under the run's lock)."""
    import tempfile

    for other in sorted(run.folder.parent.parent.glob(f"*/{run.key}")):
        if other == run.folder or not (other / RECORD).is_file():
            continue
        if RunRecord.load(other / RECORD).identity != run.identity:
            continue
        staging_root = run.folder.parent / ".work"
        staging_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{run.key}.copy-", dir=staging_root))
        try:
            shutil.copytree(
                other, staging, ignore=shutil.ignore_patterns("checkpoint.pt"), dirs_exist_ok=True
            )
            os.replace(staging, run.folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return True
    return False


def restore_stored(runs: list[PlannedRun], results_root: Path | None = None) -> list[PlannedRun]:
    """Give each unfinished run whose record a result set holds its folder back; the runs restored.

    A result set keeps every run's whole record (:func:`sedlib.study.aggregate.compact`),
    so a fresh checkout, or another machine, reuses the runs of the committed
    results instead of training them again. The folder holds the record and
    its claim (no checkpoints, no predictions); it is written under the run's
    lock, through a staging folder, and never over a finished run.
    """

    unfinished = [r for r in runs if not (r.folder / RECORD).is_file()]
    stored = stored_records(results_root) if unfinished else {}
    restored = []
    for run in unfinished:
        if run.identity not in stored:
            continue
        record = stored_record(stored[run.identity])
        try:
            with FileLock(run.folder.parent / ".locks" / f"{run.key}.lock", f"run {run.key}"):
                if (run.folder / RECORD).is_file():
                    continue
                _set_aside_unfinished(run)
                staging = run.work.parent / f"{run.key}.restore"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                claim = {"identity": record.identity, "run": record.run}
                data = {k: v for k, v in record.dataset.items() if k != "name"}
                write_json(staging / CLAIM, {**claim, "resolved": record.resolved, "data": data})
                record.save(staging / RECORD)
                os.replace(staging, run.folder)
        except LockedError:
            continue
        log.info("run %s: restored from %s", run.spec.name, stored[run.identity][0])
        restored.append(run)
    return restored


def _set_aside_unfinished(run: PlannedRun) -> None:
    """Move an unfinished final folder (no ``metrics.json``) into ``.work/<folder>.stale-<n>``.

    Such a folder was left by a crash or had its record deleted; promoting
    the run's new execution needs its place. A finished folder is never moved.
    """
    if not run.folder.exists() or (run.folder / RECORD).is_file():
        return
    run.work.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while (run.work.parent / f"{run.key}.stale-{n}").exists():
        n += 1
    stale = run.work.parent / f"{run.key}.stale-{n}"
    os.replace(run.folder, stale)
    log.warning(
        "run %s: %s had no %s (deleted, or left by a crash); moved aside to %s, trained again",
        run.spec.name,
        run.folder,
        RECORD,
        stale,
    )


def _promote(run: PlannedRun) -> None:
    """Move the finished work folder to the run's final folder (never over a finished run)."""
    if (run.folder / RECORD).is_file():
        raise StateError(
            f"{run.folder} already holds a finished run; the new execution stays in {run.work}"
        )
    _set_aside_unfinished(run)
    os.replace(run.work, run.folder)


def _check_not_training(run: PlannedRun) -> None:
    """Raise :class:`LockedError` when a process still trains in the run's work folder."""

    with FileLock(training_lock(run.work), f"the work folder {run.work}"):
        pass


def _execute_notebook(run: PlannedRun, caller: SweepCaller) -> None:
    """The caller's training notebook, executed with papermill into the run's work folder.

    The kernel runs in the notebook's folder, as Jupyter runs a notebook.
    """
    import papermill

    if caller.before_notebooks:
        caller.before_notebooks()
    notebook = caller.notebook
    papermill.execute_notebook(
        str(notebook),
        str(run.work / notebook.name),
        parameters={**asdict(run.config), "profile": None, "output_dir": str(run.work)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(notebook.parent),
    )


def _execute_python(run: PlannedRun, caller: SweepCaller) -> None:
    """The caller's training command in its own process (one process per run, as papermill's kernels)."""
    import json

    config_file = run.work / "config.json"
    config_file.write_text(json.dumps(asdict(run.config)))
    command = caller.train_command(config_file, run.work)
    env = {**os.environ, **pin_paths()}  # the data root as an absolute path
    status = start_child(command, env=env, cwd=Path.cwd(), log_path=run.work / "train.log")
    if status:
        raise StateError(f"the training process exited {status}; see {run.work / 'train.log'}")


def _execute_batched(run: PlannedRun, caller: SweepCaller) -> None:
    """One run with the batched engine in this process (its folds as members of groups)."""
    (result,) = _train_batched([run])
    if not isinstance(result, RunRecord):
        raise StateError(f"{run.spec.name}: {type(result).__name__}: {result}")


#: Executor name -> ``(run, caller) -> None``: trains one run into its work folder.
EXECUTORS = {"papermill": _execute_notebook, "python": _execute_python, "batched": _execute_batched}


#: The environment variable that caps the members of one stacked model of the batched executor.
BATCHED_MEMBERS = "SEDLIB_BATCHED_MEMBERS"


def batched_members() -> int | None:
    """The cap :data:`BATCHED_MEMBERS` sets on a group's members; None when unset (then
    a sweep's group holds what fits on CUDA, :data:`CPU_MEMBERS` on a CPU).

    Raises
    ------
    ConfigError
        Naming the variable, when it is not a whole number of at least 1.
    """
    return env_count(
        BATCHED_MEMBERS,
        "the most runs trained as one stacked model",
        "unset it for the default (what fits on CUDA, 4 on a CPU); no run was started",
    )


#: Members of a sweep's group on a CPU: on one thread, 59 clips/s at 4, 54-57 at 2, 3 and 5,
#: 48 at 8 (``benchmarks/RESULTS.md``, "Two cores for the CPU rung"); beyond 4 the caches set the rate.
CPU_MEMBERS = 4


def _train_batched(runs: list[PlannedRun], on_record=None) -> list:
    """:func:`sedlib.training.batched.train_batched` for ``runs``, in their work folders.

    :data:`BATCHED_MEMBERS` caps the members of a group (default: what
    fits the free memory on CUDA, :data:`CPU_MEMBERS` on a CPU); ``on_record(k, record)`` is
    called as soon as ``runs[k]`` has its record.
    """

    cap = batched_members()
    if cap is None and device_kind(runs[0].config.device) == "cpu":
        cap = CPU_MEMBERS
    return train_batched(
        [r.config for r in runs],
        [r.work for r in runs],
        dataset=get_dataset(runs[0].config.dataset, progress=False),
        groups_dir=runs[0].folder.parent / ".work" / ".batched",
        max_members=cap,
        on_record=on_record,
    )


def run_batched(todo: list[PlannedRun]) -> list[tuple[str, str | None]]:
    """The batched executor: all of ``todo`` in this process, as few stacked models as fit.

    Every run is locked (a run locked by another sweep is left to it), reused
    or left when another sweep finished it, as in :func:`_execute`; the others
    train together (:func:`_train_batched`) into their work folders, and each
    is promoted as soon as its record carries the planned identity (after its
    group, not after the last one: ``sedlib sweep --aggregate-only`` collects
    it while the other groups train).
    """
    from contextlib import ExitStack

    outcomes, mine = [], []
    with ExitStack() as held:
        for run in todo:
            lock = FileLock(run.folder.parent / ".locks" / f"{run.key}.lock", f"run {run.key}")
            try:
                held.enter_context(lock)
            except LockedError as err:
                outcomes.append((f"{run.spec.name}: left to another sweep ({err})", None))
                continue
            if run.finished() is not None:
                outcomes.append((f"{run.spec.name}: finished by another sweep", None))
            elif _reuse(run):
                outcomes.append((f"{run.spec.name}: reused, identical to a finished run", None))
            else:
                run.work.mkdir(parents=True, exist_ok=True)
                mine.append(run)
        start = time.perf_counter()
        promoted: dict[int, tuple[str, str | None]] = {}

        def promote(k: int, record) -> None:
            promoted[k] = _promote_batched(mine[k], record, time.perf_counter() - start)

        try:
            results = _train_batched(mine, promote) if mine else []
        except Exception as err:  # a check that fails before training fails every run
            results = [err] * len(mine)
        for k, (run, result) in enumerate(zip(mine, results, strict=True)):
            if k not in promoted:
                promoted[k] = _promote_batched(run, result, time.perf_counter() - start)
            outcomes.append(promoted[k])
    return outcomes


def _promote_batched(run: PlannedRun, result, seconds: float) -> tuple[str, str | None]:
    """Make a batched run's work folder its final folder when its record is the planned run."""
    if not isinstance(result, RunRecord):
        what = f"{type(result).__name__}: {result}"
        return f"{run.spec.name}: FAILED", f"{run.spec.name}: {what} (work folder: {run.work})"
    if result.identity != run.identity:
        return f"{run.spec.name}: FAILED", (
            f"{run.spec.name}: {run.work} trained run {result.identity}, the sweep planned "
            f"{run.identity} (the data changed during the sweep?); nothing was kept"
        )
    _promote(run)
    return f"{run.spec.name}: batched, {seconds:.0f} s", None


def _execute(run: PlannedRun, executor: str, caller: SweepCaller) -> str:
    """Execute one run in its work folder; promote it when it has finished."""
    with FileLock(run.folder.parent / ".locks" / f"{run.key}.lock", f"run {run.key}"):
        if run.finished() is not None:  # another sweep finished it meanwhile
            return f"{run.spec.name}: finished by another sweep"
        _check_not_training(run)  # e.g. the child of a sweep that was killed
        _set_aside_unfinished(run)
        if _reuse(run):
            return f"{run.spec.name}: reused, identical to a finished run of another grid"
        run.work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        EXECUTORS[executor](run, caller)
        record = RunRecord.load(run.work / RECORD)
        if record.identity != run.identity:
            raise StateError(
                f"{run.work}: the notebook trained run {record.identity}, the sweep planned "
                f"{run.identity} (the data changed during the sweep?); nothing was kept"
            )
        _promote(run)
        return f"{run.spec.name}: {time.perf_counter() - start:.0f} s"


def try_run(run: PlannedRun, executor: str, caller: SweepCaller) -> tuple[str, str | None]:
    """Execute a run; (message, failure or None). A run locked by another sweep is left to it."""
    try:
        return _execute(run, executor, caller), None
    except LockedError as err:
        return f"{run.spec.name}: left to another sweep ({err})", None
    except Exception as err:
        where = (
            f"notebook: {run.work / caller.notebook.name}"
            if executor == "papermill" and caller.notebook
            else f"work folder: {run.work}"
        )
        return (
            f"{run.spec.name}: FAILED",
            f"{run.spec.name}: {type(err).__name__}: {err} ({where})",
        )


def run_grid(
    grid: str,
    *,
    dataset: str = "synthetic-small",
    seeds: int | None = None,
    overrides: dict[str, Any] | None = None,
    jobs: int = 1,
    shard: tuple[int, int] = (0, 1),
    runs_root: Path | None = None,
    results_root: Path | None = None,
    command: str | None = None,
    executor: str | GridExecutor = "papermill",
    force: bool = False,
    caller: SweepCaller | None = None,
    extend_budget: bool = False,
    only: Sequence[str] = (),
) -> ResultSet | None:
    """Execute the grid's unfinished runs (those of this shard) and aggregate the finished ones.

    Parameters
    ----------
    grid : str
        A grid of :data:`sedlib.study.grids.GRIDS`.
    dataset : str
        Data set name or folder (generated when it is a synthetic one); a
        relative folder is taken relative to the current folder.
    seeds : int, optional
        Seeds per method (default: the grid's).
    overrides : dict, optional
        Shared settings on top of the grid's (``epochs``, ``protocol``,
        ``device``, ``model``, ``patience``...).
    jobs : int
        Runs executed at the same time (several fit on one GPU); at least 1.
    shard : (int, int)
        Run only every n-th run starting at the i-th.
    runs_root, results_root : path, optional
        Default ``<data root>/runs`` and ``<data root>/results``.
    command : str, optional
        The command line that reproduces the sweep (written into the results;
        default: the one already there, else the canonical one).
    executor : {"papermill", "python", "batched"} or GridExecutor
        How a run executes: the training notebook with papermill (its executed
        copy kept beside the results), ``sedlib train`` in its own process, or
        (``batched``) every unfinished run at once in this process, grouped into
        stacked models (:mod:`sedlib.training.batched`; ``jobs`` is unused); or
        a :class:`GridExecutor` that trains them elsewhere (a SLURM cluster:
        :class:`sedlib.study.slurm.SlurmSweep`; ``jobs`` is unused).
    force : bool
        Let the aggregate replace a result set that holds runs this one lacks
        (see :func:`sedlib.study.aggregate.aggregate`).
    caller : SweepCaller, optional
        The training notebook and commands of the program that runs the sweep
        (the command line's: :func:`sedlib.cli.sweep_caller`); none: only the
        ``batched`` executor, and no command in the results.
    extend_budget : bool
        Continue each unstarted run from the same run under a smaller
        ``max_steps`` in the grid's folder (:mod:`sedlib.study.extension`).
    only : sequence of str
        Shell patterns of run names (e.g. ``duration_robust-g1-*``): only the
        runs they match execute (and are sharded); the aggregate still collects
        every finished run of the grid. A pattern that matches no run is refused.

    Returns
    -------
    ResultSet or None
        The aggregated finished runs of the whole grid (None before any has finished).

    Raises
    ------
    ValueError
        Before any run starts: ``jobs`` below 1, a CUDA ``device`` on a
        machine without it, or an executor the caller gave nothing for.
    PermissionError
        Before any run starts: an output folder that cannot be written.
    SweepError
        After the other runs have finished and been aggregated, when some failed.
    """

    caller = caller or SweepCaller()
    if jobs < 1:
        raise ConfigError(f"jobs (--jobs) must be at least 1, got {jobs}")
    pin_paths()  # the children (papermill kernels, `sedlib train`) inherit absolute folders
    ds = get_dataset(dataset)
    overrides = {**(overrides or {}), "dataset": canonical_name(dataset)}
    runs_root = Path(runs_root).absolute() if runs_root else None
    results_root = Path(results_root).absolute() if results_root else None
    planned = plan_grid(grid, dataset=ds, seeds=seeds, overrides=overrides, runs_root=runs_root)
    mine = [r for k, r in enumerate(select_runs(planned, only)) if k % shard[1] == shard[0]]
    restore_stored(mine, results_root)
    if extend_budget:
        extend_runs(mine)
    todo = [r for r in mine if r.finished() is None]
    counts = (len(planned), len(mine), *shard, len(todo))
    log.info("grid %s: %d runs, %d in shard %d/%d, %d to run", grid, *counts)
    check_outputs(grid, planned, results_root)
    if isinstance(executor, str):
        if todo:
            check_devices(todo)
            caller.check(executor)
            if executor == "batched":
                batched_members()  # a bad cap is refused before any run starts
        failures = _execute_all(grid, todo, jobs, executor, caller)
    else:  # e.g. sedlib.study.slurm.SlurmSweep: the runs train elsewhere
        executor.check(todo, caller)
        failures = executor.run(grid, todo, caller)
    result = aggregate_grid(
        grid,
        planned,
        ds,
        command=command,
        results_root=results_root,
        force=force,
        sweep_command=caller.sweep_command,
    )
    if failures:
        raise SweepError(
            f"{len(failures)} run(s) of grid {grid} failed:\n  " + "\n  ".join(failures)
        )
    return result


def _execute_all(
    grid: str, todo: list[PlannedRun], jobs: int, executor: str, caller: SweepCaller
) -> list[str]:
    """Execute the runs, ``jobs`` at a time; the failures. Children end with an interruption."""
    from tqdm.auto import tqdm

    failures, messages = [], []
    if executor == "batched":  # every run at once, in this process
        for message, failure in run_batched(todo):
            messages.append(message)
            failures += [failure] if failure else []
        todo = []
    with tqdm(total=len(todo), desc=f"sweep {grid}", unit="run") as bar:
        # each run is its own process (a papermill kernel or `sedlib train`); threads only wait
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            for message, failure in pool.map(lambda run: try_run(run, executor, caller), todo):
                bar.set_postfix_str(message)
                bar.update()
                messages.append(message)
                if failure:
                    failures.append(failure)
        except BaseException:  # KeyboardInterrupt...: no run may go on without its sweep
            pool.shutdown(wait=False, cancel_futures=True)
            stop_children()
            raise
        finally:
            pool.shutdown(wait=True)
    _log_outcomes(grid, messages)
    return failures


def select_runs(planned: list[PlannedRun], patterns: Sequence[str]) -> list[PlannedRun]:
    """The runs whose name matches one of ``patterns`` (all runs when there is none)."""
    if not patterns:
        return planned
    names = [r.spec.name for r in planned]
    unmatched = [p for p in patterns if not fnmatch.filter(names, p)]
    if unmatched:
        raise ConfigError(
            f"run patterns (--runs) {', '.join(unmatched)} match no run of the grid (its runs: "
            f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''})"
        )
    return [r for r in planned if any(fnmatch.fnmatchcase(r.spec.name, p) for p in patterns)]


def check_outputs(grid: str, planned: list[PlannedRun], results_root: Path | None) -> None:
    """Raise ``PermissionError`` naming the folder unless the runs and results folders are writable."""

    if not planned:
        return
    folders = {
        "runs": planned[0].folder.parent,
        "results": default_results(results_root) / grid,
    }
    for what, folder in folders.items():
        check_writable(folder, f"its {what}", "; the sweep ran nothing")


def check_devices(runs: list[PlannedRun]) -> None:
    """Raise ``ValueError`` naming ``--device`` when a run asks for a CUDA device this machine lacks."""
    import torch

    for device in sorted({run.config.device for run in runs}):
        if not device.startswith("cuda"):
            continue
        index = int(device.partition(":")[2] or 0)
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index >= available:
            raise ConfigError(
                f"a run asks for --device {device} (TrainConfig.device), but this machine has "
                f"{available or 'no'} CUDA device(s); no run was started "
                "(use the device cpu or auto, or run on a GPU machine)"
            )


def _log_outcomes(grid: str, messages: list[str]) -> None:
    reused = sum("reused" in m for m in messages)
    if reused:
        log.info("grid %s: reused %d identical finished run(s) of other grids", grid, reused)
    elsewhere = sum("left to another sweep" in m for m in messages)
    if elsewhere:
        log.warning(
            "grid %s: %d run(s) are being trained by another sweep; the results lack them for now",
            grid,
            elsewhere,
        )


def aggregate_grid(
    grid: str,
    planned: list[PlannedRun],
    dataset,
    *,
    command: str | None = None,
    results_root: Path | None = None,
    force: bool = False,
    sweep_command: Callable[[str, int, TrainConfig], str] | None = None,
) -> ResultSet | None:
    """Aggregate the finished runs among ``planned`` (see :func:`sedlib.study.aggregate.aggregate`).

    The result set is identified by the planned runs (their identities
    cover every setting, the data and the seeds): a set of other runs is
    written beside the others, and a set that would lose finished runs is
    refused unless ``force``. ``command`` None keeps the command recorded by
    the sweep that made the set (else the canonical one, ``sweep_command`` of
    the grid, its seeds and the runs' shared configuration; see :class:`SweepCaller`).

    Concurrent sweeps (shards) aggregate one after the other, each reading the
    records inside the lock, so none writes a stale, shorter result set.
    """
    if not planned:
        return None
    lock = planned[0].folder.parent / ".locks" / "aggregate.lock"
    with FileLock(lock, f"the results of grid {grid}", blocking=True):
        records = [r for r in (run.finished() for run in planned) if r is not None]
        if not records:
            log.warning("grid %s: no finished runs yet", grid)
            return None
        return aggregate(
            grid,
            records,
            data=data_facts(dataset, records[0].protocol),
            command=command,
            default_command=(
                sweep_command(grid, len({r.spec.seed for r in planned}), planned[0].config)
                if sweep_command
                else ""
            ),
            description=get_grid(grid).description,
            root=results_root,
            planned=[run.identity for run in planned],
            force=force,
            dataset=planned[0].config.dataset,
        )
