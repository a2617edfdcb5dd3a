"""The epoch loop of one training: batches, loss over valid frames, validation, model selection.

The training clips live on the device as one tensor, so a batch is an index
into it and no loader can starve the model. After every epoch the model is
scored on the validation files (segment-based macro F at the run's
threshold). The budget and the selection are counted in optimizer steps
(:mod:`sedlib.training.convergence` states the rule): the best validation
from ``warmup_steps`` on is kept (ties: lower validation loss), or the last
one (``selection="last"``); training stops when the best is
``patience_steps`` old (converged), with the epoch that reaches
``max_steps``, or at the ``epochs`` cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from sedlib.model import CRNN
from sedlib.training.config import TrainConfig
from sedlib.training.convergence import BUDGET, EPOCHS, NO_SCORE, PLATEAU, selection_score
from sedlib.training.inference import predict
from sedlib.training.split import FoldData


@dataclass
class RunState:
    """What is checkpointed after every epoch of one training."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: tuple[float, float] = NO_SCORE
    stale_epochs: int = 0
    train_seconds: float = 0.0
    steps: int = 0
    best_step: int = -1

    def stop_reason(self, config: TrainConfig) -> str | None:
        """Why the training stops now (:data:`~sedlib.training.convergence.STOP_REASONS`); None: it goes on."""
        if config.patience_steps and self.best_step >= 0:
            if self.steps - self.best_step >= config.patience_steps:
                return PLATEAU
        if config.patience and self.stale_epochs >= config.patience:
            return PLATEAU
        if config.max_steps and self.steps >= config.max_steps:
            return BUDGET
        if config.epochs and self.epoch >= config.epochs:
            return EPOCHS
        return None

    def finished(self, config: TrainConfig) -> bool:
        """The budget is spent, or the score has plateaued (see :meth:`stop_reason`)."""
        return self.stop_reason(config) is not None


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The configured optimizer: Adam, or SGD with momentum, at ``config.lr``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def init_bias(model: CRNN, config: TrainConfig, class_frames: np.ndarray, n_frames: int) -> None:
    """The configured initial output bias: each class's prior (:func:`init_output_bias`) or zero."""
    if config.output_bias == "prior":
        init_output_bias(model, class_frames, n_frames)
    else:
        with torch.no_grad():
            model.out.bias.zero_()


def init_output_bias(model: CRNN, class_frames: np.ndarray, n_frames: int) -> None:
    """Start every class at its prior: output bias = log-odds of its frame frequency in training.

    The prior initialisation of Lin et al. (2017, Sec. 4.1), here per class
    (frequency clipped to [1e-4, 0.5]); why: the ``output bias`` entry of
    :data:`sedlib.training.config.TRAINING_CHOICES`.
    """
    prior = np.clip(np.asarray(class_frames, dtype=np.float64) / max(n_frames, 1), 1e-4, 0.5)
    with torch.no_grad():
        model.out.bias.copy_(
            torch.as_tensor(np.log(prior / (1 - prior)), dtype=model.out.bias.dtype)
        )


def loss_over_valid(
    loss_fn, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, dims=None
) -> torch.Tensor:
    """The loss averaged over the valid (unpadded) frames and all classes (over ``dims``; None: all)."""
    per_element = loss_fn(logits.float(), targets, reduction="none")
    weights = mask.unsqueeze(-1).to(per_element.dtype)
    total = (per_element * weights).sum(dims)
    return total / (weights.sum(dims) * per_element.shape[-1]).clamp_min(1.0)


@dataclass
class DeviceClips:
    """The normalised training clips, labels and masks, resident on the device."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def of(cls, data: FoldData, device: torch.device) -> DeviceClips:
        clips = data.clips
        return cls(
            data.norm(clips.features).to(device), clips.labels.to(device), clips.mask.to(device)
        )


def train_epoch(
    model: CRNN,
    optimizer: torch.optim.Optimizer,
    clips: DeviceClips,
    loss_fn,
    config: TrainConfig,
    epoch: int,
    device: torch.device,
    what: str,
) -> float:
    """One pass over the clips in a seeded order; returns the mean training loss.

    Raises
    ------
    FloatingPointError
        When the loss is NaN or infinite, naming ``what``, the epoch and the batch.
    """
    model.train()
    order = batch_order(config.seed, epoch, len(clips.x))
    use_amp = config.amp and device.type == "cuda"
    total, batches = 0.0, 0
    for b, start in enumerate(range(0, len(order), config.batch_size)):
        idx = order[start : start + config.batch_size].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(clips.x[idx])
        loss = loss_over_valid(loss_fn, logits, clips.y[idx], clips.mask[idx])
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{what}: the loss is {loss.item()} at batch {b + 1} {diverged(config, epoch)}"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)


def batch_order(seed: int, epoch: int, n_clips: int) -> torch.Tensor:
    """The seeded order of a training's clips in ``epoch`` (from 0)."""
    return torch.randperm(n_clips, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def diverged(config: TrainConfig, epoch: int) -> str:
    """What a training whose loss or outputs stopped being finite in ``epoch`` (from 0) should do."""
    return (
        f"in epoch {epoch + 1} (lr {config.lr:g}, {config.optimizer}): the training diverged and "
        "stopped; lower the learning rate (lr) or check the data"
    )


def outputs_finite(probs) -> bool:
    """Whether every array of ``probs`` (a model's outputs, clip by clip) is finite."""
    return all(np.isfinite(p).all() for p in probs)


def end_epoch(
    state: RunState,
    config: TrainConfig,
    steps: int,
    train_loss: float,
    val_loss: float,
    metrics,
    seconds: float,
    seconds_training: float,
    **extra: float,
) -> bool:
    """Record an epoch of ``steps`` optimizer steps in ``state`` and apply model selection; True if kept.

    The rule of every engine (:mod:`sedlib.training.convergence`): from
    ``warmup_steps`` on, an epoch is kept when its selection score beats the
    best so far (or always, with ``selection="last"``); epochs after the
    warm-up without improvement count towards ``patience``.
    """
    state.epoch += 1
    state.steps += steps
    state.train_seconds += seconds
    entry = {
        "epoch": state.epoch,
        "step": state.steps,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_macro_f": metrics.macro_f,
        "val_micro_f": metrics.micro_f,
        "seconds": round(seconds, 3),
        "seconds_training": round(seconds_training, 3),  # without validation
        **extra,
    }
    state.history.append(entry)
    if state.steps < config.warmup_steps:
        return False
    score = selection_score(entry)
    improved = config.selection == "last" or score > tuple(state.best_score)
    if improved:
        state.best_score, state.best_epoch, state.stale_epochs = score, state.epoch, 0
        state.best_step = state.steps
    else:
        state.stale_epochs += 1
    return improved


def steps_per_epoch(n_clips: int, batch_size: int) -> int:
    """Optimizer steps of one epoch: one per batch, the last one possibly smaller."""
    return -(-n_clips // batch_size)


def planned_steps(config: TrainConfig, per_epoch: int) -> int:
    """The most optimizer steps a training can make: its budget, or its epoch cap, whichever ends first."""
    caps = [config.epochs * per_epoch] if config.epochs else []
    if config.max_steps:  # the epoch that reaches the budget is finished
        caps.append(steps_per_epoch(config.max_steps, per_epoch) * per_epoch)
    return min(caps)


def fit(
    model: CRNN,
    optimizer: torch.optim.Optimizer,
    data: FoldData,
    loss_fn,
    config: TrainConfig,
    state: RunState,
    device: torch.device,
    *,
    on_epoch: Callable[[RunState, bool], None],
    progress: bool = True,
    max_epochs: int | None = None,
    what: str = "",
) -> RunState:
    """Train until :meth:`RunState.finished`, or for ``max_epochs`` more epochs.

    After every epoch the model is validated (macro/micro F at the run's
    threshold, mean validation loss) and ``on_epoch(state, improved)`` runs
    (checkpointing). The progress bar counts optimizer steps.

    Raises
    ------
    FloatingPointError
        When the loss or the validation outputs are not finite, naming
        ``what``, the epoch and the learning rate.
    """
    from tqdm.auto import tqdm

    clips = DeviceClips.of(data, device)
    per_epoch = steps_per_epoch(len(clips.x), config.batch_size)
    done_here = 0
    with tqdm(
        total=planned_steps(config, per_epoch),
        initial=state.steps,
        desc=what,
        unit="step",
        disable=not progress,
    ) as bar:
        while not state.finished(config) and (max_epochs is None or done_here < max_epochs):
            start = time.perf_counter()
            train_loss = train_epoch(
                model, optimizer, clips, loss_fn, config, state.epoch, device, what
            )
            training_part = time.perf_counter() - start
            val, val_loss = predict(
                model, data.validation, data.train_meta, data.norm, device, loss_fn
            )
            if not outputs_finite(val.probs):
                raise FloatingPointError(
                    f"{what}: the outputs on the validation clips are not finite "
                    f"{diverged(config, state.epoch)}"
                )
            metrics = val.segment_metrics(config.threshold, config.time_resolution)
            elapsed = time.perf_counter() - start
            improved = end_epoch(
                state, config, per_epoch, train_loss, val_loss, metrics, elapsed, training_part
            )
            on_epoch(state, improved)
            done_here += 1
            bar.update(per_epoch)
            bar.set_postfix(loss=f"{train_loss:.4f}", val_F=f"{metrics.macro_f:.3f}")
    return state
