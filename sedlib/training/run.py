"""One run: check everything, train every fold (resumably), pool the test predictions, record.

The run's folder (its claim, lock, per-fold records and the run's record) is
a :class:`~sedlib.training.folder.RunFolder`, shared with the batched engine.
A folder that holds another run is refused before anything is written; a
finished run is returned as it is, untouched. A run folder is trained by one
process at a time: :func:`train` holds the folder's lock while it trains,
and a second trainer of the same folder gets
:class:`~sedlib.util.lock.LockedError` naming the first.
"""

from __future__ import annotations

import time
from pathlib import Path

from sedlib import provenance
from sedlib.data.layout import Dataset
from sedlib.losses import get_loss
from sedlib.settings import data_root
from sedlib.training import checkpoint
from sedlib.training.config import TrainConfig
from sedlib.training.folder import (
    CLAIM,
    FOLD_RECORD,
    FoldOutcome,
    Interrupted,
    Member,
    RunFolder,
    initial_model,
    training_lock,
)
from sedlib.training.loop import fit, make_optimizer
from sedlib.training.preflight import RunPlan, preflight
from sedlib.training.record import RunRecord
from sedlib.training.split import FoldPlan, prepare_fold
from sedlib.training.threads import cpu_threads

__all__ = [
    "CLAIM",
    "FOLD_RECORD",
    "FoldOutcome",
    "Interrupted",
    "default_run_dir",
    "train",
    "training_lock",
]


def train(
    config: TrainConfig | RunPlan,
    run_dir: str | Path,
    *,
    dataset: Dataset | None = None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
) -> RunRecord | Interrupted:
    """Train (or resume, or load a finished run) and evaluate; write ``metrics.json``.

    Parameters
    ----------
    config : TrainConfig or RunPlan
        The run, or its plan (:class:`~sedlib.training.preflight.RunPlan`, made
        once: its data identity is then not computed again).
    run_dir : path-like
        Folder of the run (see the module docstring).
    dataset : Dataset, optional
        Use this data set instead of resolving ``config.dataset`` (with a configuration).
    progress : bool
        Show progress bars.
    stop_after_epochs : int, optional
        Stop (as if interrupted) after this many epochs in this call; for tests.

    Returns
    -------
    RunRecord or Interrupted

    Raises
    ------
    RuntimeError
        When ``run_dir`` holds another run.
    LockedError
        When another process is training in ``run_dir``.
    """
    wall_start = time.perf_counter()
    provenance.training_code()  # the code that trains, taken before it does
    plan = config if isinstance(config, RunPlan) else RunPlan(config, dataset, progress=progress)
    folder = RunFolder(run_dir, plan)
    finished = folder.finished()  # before any heavy check: a finished run is read
    if finished is not None:
        return finished
    preflight(plan, folder.path, progress=progress)
    with folder.lock, cpu_threads(plan.device):
        finished = folder.finished()  # by the trainer that held the lock
        if finished is not None:
            return finished
        folder.claim()
        outcomes, budget = [], stop_after_epochs
        for fold in plan.folds:  # each resumed where it stopped
            outcome, epochs_done = _train_fold(folder, fold, progress, budget)
            if isinstance(outcome, Interrupted):
                return outcome
            budget = None if budget is None else budget - epochs_done
            outcomes.append(outcome)
        return folder.record(outcomes, time.perf_counter() - wall_start)


def default_run_dir(
    config: TrainConfig | RunPlan, group: str, dataset: Dataset | None = None
) -> Path:
    """``<data root>/runs/<group>/<run name>-<identity>``: a folder no other run can share.

    Given a :class:`~sedlib.training.preflight.RunPlan`, its identity is
    computed once for this and for the training.
    """

    plan = config if isinstance(config, RunPlan) else RunPlan(config, dataset)
    return data_root() / "runs" / group / f"{plan.config.describe()}-{plan.identity}"


def _train_fold(
    folder: RunFolder, fold: FoldPlan, progress: bool, budget: int | None
) -> tuple[FoldOutcome | Interrupted, int]:
    """One training: resume or start, then predict with the kept model; and the epochs run now."""
    plan = folder.plan
    config, device = plan.config, plan.device
    member = Member(folder, fold, prepare_fold(plan.dataset, fold, config.val_fraction, progress))
    data = member.data
    loss_fn = get_loss(config.loss, **config.loss_params(data.class_frames))
    if member.finished:
        return folder.load_fold(fold, data), 0
    model = initial_model(member).to(device)
    optimizer = make_optimizer(model, config)
    where = member.folder
    where.mkdir(parents=True, exist_ok=True)
    state = checkpoint.resume(where, plan.identity, model, optimizer, device)
    first_epoch = state.epoch

    def on_epoch(state, improved: bool) -> None:
        if improved:
            checkpoint.save_best(where, plan.identity, model, state.epoch)
        checkpoint.save_checkpoint(where, plan.identity, model, optimizer, state, device)

    state = fit(
        model, optimizer, data, loss_fn, config, state, device,
        on_epoch=on_epoch, progress=progress, max_epochs=budget, what=member.what,
    )  # fmt: skip
    epochs_done = state.epoch - first_epoch
    if not state.finished(config):
        return Interrupted(fold.name, state.epoch), epochs_done
    return folder.finish_fold(fold, data, model, state), epochs_done
