"""A run's folder, the one place both engines read and write a run: claim, lock, folds, record.

A run folder holds::

    run.json           the run's identity and resolved settings (written first)
    <fold>/            one per training (fold1..fold4, or dev-eval):
        checkpoint.pt  written after every epoch by a single run (resume == uninterrupted, on CPU)
        best.pt        the model of the best validation epoch
        validation.npz test.npz   the kept model's predictions (Predictions)
        fold.json      the training's record, written when the fold is done
    metrics.json       the run's record (RunRecord), written last and atomically

:class:`RunFolder` is used by :func:`sedlib.training.run.train` (one run at a
time) and by :mod:`sedlib.training.batched` (many trainings as one stacked
model): a folder that holds another run is refused before anything is
written, a finished run is returned as it is, a finished training
(``fold.json``) is read and never written again, and a run is trained by
the process that holds its lock (:attr:`RunFolder.lock`). A training of a
run (one fold) is a :class:`Member` in both engines, and starts from
:func:`initial_model`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from sedlib import provenance
from sedlib.errors import StateError
from sedlib.evaluation.extended import extended_report
from sedlib.evaluation.predictions import Predictions
from sedlib.loss_shares import probability_histograms
from sedlib.model import CRNN, count_parameters
from sedlib.training import checkpoint
from sedlib.training.convergence import assess, criterion
from sedlib.training.inference import predict
from sedlib.training.loop import RunState, init_bias
from sedlib.training.preflight import RunPlan
from sedlib.training.record import RECORD, FoldRecord, RunRecord
from sedlib.training.split import FoldData, FoldPlan
from sedlib.util.io import read_json, write_json
from sedlib.util.lock import FileLock

CLAIM = "run.json"
FOLD_RECORD = "fold.json"


@dataclass
class Interrupted:
    """A run stopped before its end (e.g. ``stop_after_epochs``); training it again resumes it."""

    fold: str
    epoch: int


@dataclass
class FoldOutcome:
    """A finished training: its record and the kept model's predictions."""

    record: FoldRecord
    validation: Predictions
    test: Predictions
    test_labels: list[np.ndarray]


def training_lock(run_dir: str | Path) -> Path:
    """The lock file held while a process trains in ``run_dir``: ``<parent>/.locks/<name>.train.lock``."""
    run_dir = Path(run_dir).absolute()
    return run_dir.parent / ".locks" / f"{run_dir.name}.train.lock"


class RunFolder:
    """The folder of one planned run (see the module docstring).

    Parameters
    ----------
    path : path-like
        The folder.
    plan : RunPlan
        The run it holds (its identity decides what the folder may hold).
    """

    def __init__(self, path: str | Path, plan: RunPlan) -> None:
        self.path = Path(path)
        self.plan = plan

    @property
    def lock(self) -> FileLock:
        """The lock a process holds while it trains this run (:func:`training_lock`)."""
        return FileLock(training_lock(self.path), f"the run folder {self.path}")

    def finished(self) -> RunRecord | None:
        """The finished run here if it is this one; another run raises; None if unfinished.

        Needs only the data's identity (metadata and the content digest of each
        audio file), not the features: reading a finished run is quick, and
        never generates a data set.
        """
        if not (self.path / RECORD).is_file():
            return None
        record = RunRecord.load(self.path / RECORD)
        plan = self.plan
        plan.resolve_dataset(create=False)
        if record.identity == plan.identity:
            return record
        asked = plan.config.resolved(plan.device_type)
        differs = "settings" if record.resolved != asked else "data (metadata or audio)"
        raise StateError(
            f"{self.path} holds a finished run of another configuration (identity "
            f"{record.identity}, asked {plan.identity}: other {differs}); use a new folder. "
            f"Stored: {record.resolved}, data {record.dataset}; asked: {asked}, data {plan.data}"
        )

    def claim(self) -> None:
        """Write ``run.json``, or refuse a folder claimed by another run."""
        plan, path = self.plan, self.path / CLAIM
        if path.is_file():
            claimed = read_json(path, "run claim").get("identity")
            if claimed != plan.identity:
                raise StateError(
                    f"{self.path} holds an unfinished run of another configuration (identity "
                    f"{claimed}, asked {plan.identity}); use a new folder"
                )
            return
        resolved = plan.config.resolved(plan.device.type)
        run = plan.config.describe()
        write_json(
            path, {"identity": plan.identity, "run": run, "resolved": resolved, "data": plan.data}
        )

    def fold_dir(self, fold: FoldPlan) -> Path:
        """The folder of one training."""
        return self.path / fold.name

    def fold_finished(self, fold: FoldPlan) -> bool:
        """Whether the training ``fold`` has written its record (it is never trained again)."""
        return (self.fold_dir(fold) / FOLD_RECORD).is_file()

    def load_fold(self, fold: FoldPlan, data: FoldData) -> FoldOutcome:
        """A training finished earlier: its record and predictions."""
        folder = self.fold_dir(fold)
        path = folder / FOLD_RECORD
        record = FoldRecord.from_dict(read_json(path, "fold record"), str(path))
        return FoldOutcome(
            record,
            Predictions.load(folder / "validation.npz"),
            Predictions.load(folder / "test.npz"),
            _test_labels(data),
        )

    def finish_fold(
        self, fold: FoldPlan, data: FoldData, model: CRNN, state: RunState
    ) -> FoldOutcome:
        """Predict with the kept model (``best.pt``) and write the training's record.

        ``model`` is a :class:`CRNN` of the run's shape on the run's device,
        ``state`` the training's finished :class:`~sedlib.training.loop.RunState`.

        Raises
        ------
        StateError
            When the training kept no model (it ended inside its warm-up).
        """
        plan, folder = self.plan, self.fold_dir(fold)
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
        record = _fold_record(plan, fold, data, state, validation)
        write_json(folder / FOLD_RECORD, asdict(record))
        return FoldOutcome(record, validation, test, _test_labels(data))

    def record(
        self, outcomes: list[FoldOutcome], wall_seconds: float, engine: str = "single"
    ) -> RunRecord:
        """Pool the test folds, score them, and write the run's record (``metrics.json``)."""
        record = _assemble(self.plan, outcomes, wall_seconds)
        if engine != "single":
            record.timing["engine"] = engine
        claim = self.path / CLAIM
        if claim.is_file() and "extended_from" in (found := read_json(claim, "run claim")):
            record.provenance["extended_from"] = found["extended_from"]  # sedlib.training.extend
        record.save(self.path / RECORD)
        return record


@dataclass
class Member:
    """One training of a run (one fold): what both engines train, a member of a batched group."""

    run: RunFolder
    fold: FoldPlan
    data: FoldData

    @property
    def plan(self):
        return self.run.plan

    @property
    def config(self):
        return self.plan.config

    @property
    def folder(self) -> Path:
        """The training's folder in its run folder."""
        return self.run.fold_dir(self.fold)

    @property
    def finished(self) -> bool:
        """Whether its record is written (it never trains again)."""
        return self.run.fold_finished(self.fold)

    @property
    def key(self) -> str:
        """``<identity>/<fold>``: unique across runs."""
        return f"{self.plan.identity}/{self.fold.name}"

    @property
    def what(self) -> str:
        return f"{self.config.describe()} {self.fold.name}"


def initial_model(member: Member) -> CRNN:
    """The training's model before it trains, in both engines: seed, CRNN, output bias."""
    config, data = member.config, member.data
    torch.manual_seed(config.seed)
    model = CRNN(n_classes=len(member.plan.dataset.labels), **config.model)
    init_bias(model, config, data.class_frames, int(data.train.offsets[-1]))
    return model


def _fold_record(
    plan: RunPlan, fold: FoldPlan, data: FoldData, state: RunState, validation: Predictions
) -> FoldRecord:
    config = plan.config
    return FoldRecord(
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
        convergence=assess(state.history, *criterion(config.resolved(plan.device.type))).to_dict(),
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
