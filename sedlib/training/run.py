"""One run: check everything, train every fold (resumably), pool the test predictions, record.

A run folder holds::

    run.json           the run's identity and resolved settings (written first)
    <fold>/            one per training (fold1..fold4, or dev-eval):
        checkpoint.pt  written after every epoch (resume == uninterrupted, on CPU)
        best.pt        the model of the best validation epoch
        validation.npz test.npz   the kept model's predictions (Predictions)
        fold.json      the training's record, written when the fold is done
    metrics.json       the run's record (RunRecord), written last and atomically

A folder that holds another run (another identity) is refused before
anything is written; a finished run is returned as it is, untouched. A run
folder is trained by one process at a time: :func:`train` holds the lock
:func:`training_lock` while it trains, and a second trainer of the same
folder gets :class:`~sedlib.util.lock.LockedError` naming the first.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from sedlib import provenance
from sedlib.data.layout import Dataset
from sedlib.errors import StateError
from sedlib.evaluation.extended import extended_report
from sedlib.evaluation.predictions import Predictions
from sedlib.loss_shares import probability_histograms
from sedlib.losses import get_loss
from sedlib.model import CRNN, count_parameters
from sedlib.training import checkpoint
from sedlib.training.config import TrainConfig
from sedlib.training.convergence import assess, criterion
from sedlib.training.inference import predict
from sedlib.training.loop import fit, init_bias, make_optimizer
from sedlib.training.preflight import RunPlan, preflight
from sedlib.training.record import RECORD, FoldRecord, RunRecord
from sedlib.training.split import FoldData, FoldPlan, prepare_fold
from sedlib.util.io import read_json, write_json
from sedlib.util.lock import FileLock

CLAIM = "run.json"
FOLD_RECORD = "fold.json"


@dataclass
class Interrupted:
    """A run stopped before its end (``stop_after_epochs``); calling ``train`` again resumes it."""

    fold: str
    epoch: int


@dataclass
class FoldOutcome:
    """A finished training: its record and the kept model's predictions."""

    record: FoldRecord
    validation: Predictions
    test: Predictions
    test_labels: list[np.ndarray]


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
    run_dir = Path(run_dir)
    plan = config if isinstance(config, RunPlan) else RunPlan(config, dataset, progress=progress)
    finished = _finished(run_dir, plan)  # before any heavy check: a finished run is read
    if finished is not None:
        return finished
    plan = preflight(plan, run_dir, progress=progress)
    with FileLock(training_lock(run_dir), f"the run folder {run_dir}"):
        finished = _finished(run_dir, plan)  # by the trainer that held the lock
        if finished is not None:
            return finished
        return _train_locked(plan, run_dir, progress, stop_after_epochs, wall_start)


def training_lock(run_dir: str | Path) -> Path:
    """The lock file held while a process trains in ``run_dir``: ``<parent>/.locks/<name>.train.lock``."""
    run_dir = Path(run_dir).absolute()
    return run_dir.parent / ".locks" / f"{run_dir.name}.train.lock"


def _train_locked(
    plan: RunPlan, run_dir: Path, progress: bool, stop_after_epochs: int | None, wall_start: float
) -> RunRecord | Interrupted:
    """Claim the folder, train every fold (resuming), record; under :func:`training_lock`."""
    _claim(run_dir, plan)
    outcomes, budget = [], stop_after_epochs
    for fold in plan.folds:
        outcome, epochs_done = _train_fold(plan, fold, run_dir / fold.name, progress, budget)
        if isinstance(outcome, Interrupted):
            return outcome
        budget = None if budget is None else budget - epochs_done
        outcomes.append(outcome)
    record = _assemble(plan, outcomes, time.perf_counter() - wall_start)
    record.save(run_dir / RECORD)
    return record


def default_run_dir(
    config: TrainConfig | RunPlan, group: str, dataset: Dataset | None = None
) -> Path:
    """``<data root>/runs/<group>/<run name>-<identity>``: a folder no other run can share.

    Given a :class:`~sedlib.training.preflight.RunPlan`, its identity is
    computed once for this and for the training.
    """
    from sedlib.settings import data_root

    plan = config if isinstance(config, RunPlan) else RunPlan(config, dataset)
    return data_root() / "runs" / group / f"{plan.config.describe()}-{plan.identity}"


def _finished(run_dir: Path, plan: RunPlan) -> RunRecord | None:
    """The finished run in ``run_dir`` if it is this one; another run raises; None if unfinished.

    Needs only the data's identity (metadata and the content digest of each
    audio file, read from the digest index when unchanged), not the features:
    reading a finished run is quick, and never generates a data set.
    """
    if not (run_dir / RECORD).is_file():
        return None
    record = RunRecord.load(run_dir / RECORD)
    plan.resolve_dataset(create=False)
    if record.identity == plan.identity:
        return record
    asked = plan.config.resolved(plan.device_type)
    differs = "settings" if record.resolved != asked else "data (metadata or audio)"
    raise StateError(
        f"{run_dir} holds a finished run of another configuration (identity {record.identity}, "
        f"asked {plan.identity}: other {differs}); use a new folder. Stored: "
        f"{record.resolved}, data {record.dataset}; asked: {asked}, data {plan.data}"
    )


def _claim(run_dir: Path, plan: RunPlan) -> None:
    """Write ``run.json``, or refuse a folder claimed by another run."""
    path = run_dir / CLAIM
    if path.is_file():
        claimed = read_json(path, "run claim").get("identity")
        if claimed != plan.identity:
            raise StateError(
                f"{run_dir} holds an unfinished run of another configuration (identity {claimed}, "
                f"asked {plan.identity}); use a new folder"
            )
        return
    write_json(
        path,
        {
            "identity": plan.identity,
            "run": plan.config.describe(),
            "resolved": plan.config.resolved(plan.device.type),
            "data": plan.data,
        },
    )


def _train_fold(
    plan: RunPlan, fold: FoldPlan, folder: Path, progress: bool, budget: int | None
) -> tuple[FoldOutcome | Interrupted, int]:
    """One training: resume or start, then predict with the kept model; and the epochs run now."""
    config, device = plan.config, plan.device
    data = prepare_fold(plan.dataset, fold, config.val_fraction, progress)
    loss_fn = get_loss(config.loss, **config.loss_params(data.class_frames))
    if (folder / FOLD_RECORD).is_file():
        return _load_fold(folder, data), 0
    torch.manual_seed(config.seed)
    model = CRNN(n_classes=len(plan.dataset.labels), **config.model)
    init_bias(model, config, data.class_frames, int(data.train.offsets[-1]))
    model = model.to(device)
    optimizer = make_optimizer(model, config)
    folder.mkdir(parents=True, exist_ok=True)
    state = checkpoint.resume(folder, plan.identity, model, optimizer, device)
    first_epoch = state.epoch

    def on_epoch(state, improved: bool) -> None:
        if improved:
            checkpoint.save_best(folder, plan.identity, model, state.epoch)
        checkpoint.save_checkpoint(folder, plan.identity, model, optimizer, state, device)

    what = f"{config.describe()} {fold.name}"
    state = fit(
        model, optimizer, data, loss_fn, config, state, device,
        on_epoch=on_epoch, progress=progress, max_epochs=budget, what=what,
    )  # fmt: skip
    epochs_done = state.epoch - first_epoch
    if not state.finished(config):
        return Interrupted(fold.name, state.epoch), epochs_done
    return finish_fold(plan, fold, folder, data, model, state), epochs_done


def finish_fold(
    plan: RunPlan, fold: FoldPlan, folder: Path, data: FoldData, model: CRNN, state
) -> FoldOutcome:
    """A training that has finished: predict with the kept model (``best.pt``), write its record.

    Shared by both engines (this module's, one run at a time, and
    :mod:`sedlib.training.batched`): ``model`` is a :class:`CRNN` of the run's
    shape on the run's device, ``state`` the training's finished
    :class:`~sedlib.training.loop.RunState`.
    """
    config, device = plan.config, plan.device
    if state.best_epoch < 0:
        raise StateError(
            f"{folder}: the training ended after {state.steps} optimizer steps without a "
            f"validation from warmup_steps ({config.warmup_steps}) on, so it kept no model; "
            "raise max_steps or epochs, or lower warmup_steps"
        )
    checkpoint.load_best(folder, plan.identity, model, device)
    validation, _ = predict(
        model, data.validation, data.train_meta, data.norm, device, group=fold.name
    )
    test, _ = predict(model, data.test, data.test_meta, data.norm, device, group=fold.name)
    validation.save(folder / "validation.npz")
    test.save(folder / "test.npz")
    record = FoldRecord(
        name=fold.name,
        train_split=fold.train_split,
        test_split=fold.test_split,
        train_files=len(data.train.files),
        validation_files=len(data.validation.files),
        test_files=len(data.test.files),
        train_clips=len(data.clips),
        class_frames=dict(zip(data.train.label_names, map(int, data.class_frames), strict=True)),
        epochs_run=state.epoch,
        best_epoch=state.best_epoch,
        history=state.history,
        train_seconds=round(state.train_seconds, 3),
        validation=validation.segment_metrics(config.threshold, config.time_resolution).to_dict(),
        steps_run=state.steps,
        best_step=state.best_step,
        stop_reason=state.stop_reason(config),
        convergence=assess(state.history, *criterion(config.resolved(device.type))).to_dict(),
    )
    write_json(folder / FOLD_RECORD, asdict(record))
    return FoldOutcome(record, validation, test, _test_labels(data))


def _load_fold(folder: Path, data: FoldData) -> FoldOutcome:
    """A training finished in an earlier call."""
    path = folder / FOLD_RECORD
    record = FoldRecord.from_dict(read_json(path, "fold record"), str(path))
    return FoldOutcome(
        record,
        Predictions.load(folder / "validation.npz"),
        Predictions.load(folder / "test.npz"),
        _test_labels(data),
    )


def _test_labels(data: FoldData) -> list[np.ndarray]:
    return [data.test.file(i)[1] for i in range(len(data.test.files))]


def _assemble(plan: RunPlan, outcomes: list[FoldOutcome], wall_seconds: float) -> RunRecord:
    """Pool the test folds, score them, and put the run's record together."""
    config = plan.config
    start = time.perf_counter()
    pooled = Predictions.concat([o.test for o in outcomes])
    evaluation = pooled.segment_metrics(config.threshold, config.time_resolution)
    beyond = extended_report(
        [(o.record.name, o.validation, o.test) for o in outcomes],
        threshold=config.threshold,
        time_resolution=config.time_resolution,
    )
    histograms = probability_histograms(pooled.probs, [y for o in outcomes for y in o.test_labels])
    train_seconds = sum(o.record.train_seconds for o in outcomes)
    clips_seen = sum(o.record.train_clips * o.record.epochs_run for o in outcomes)
    epochs = sum(o.record.epochs_run for o in outcomes)
    record_provenance = provenance.collect()
    record_provenance["device"]["used"] = str(plan.device)
    return RunRecord(
        run=config.describe(),
        identity=plan.identity,
        config=asdict(config),
        resolved=config.resolved(plan.device.type),
        dataset={"name": plan.dataset.name, **plan.data},
        evaluation=evaluation.to_dict(),
        tuned=beyond["tuned"],
        threshold_free=beyond["threshold_free"],
        folds=[o.record for o in outcomes],
        model_parameters=count_parameters(CRNN(n_classes=len(plan.dataset.labels), **config.model)),
        probability_histograms={k: v.tolist() for k, v in histograms.items()},
        timing={
            "train_seconds": round(train_seconds, 2),
            "seconds_per_epoch": round(train_seconds / max(epochs, 1), 3),
            "clips_per_second": round(clips_seen / max(train_seconds, 1e-9), 2),
            "evaluation_seconds": round(time.perf_counter() - start, 2),
            "wall_seconds_this_call": round(wall_seconds + time.perf_counter() - start, 2),
        },
        provenance=json.loads(json.dumps(record_provenance, default=str)),
    )
