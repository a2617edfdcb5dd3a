"""The epoch loop of one training: batches, loss over valid frames, validation, model selection.

The training clips live on the device as one tensor, so a batch is an index
into it and no loader can starve the model. After every epoch the model is
scored on the validation files (segment-based macro F at the run's
threshold); the best epoch is kept (ties: lower validation loss), or the
last one (``selection="last"``), and training stops early after
``patience`` epochs without improvement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from sedlib.model import CRNN
from sedlib.training.config import TrainConfig
from sedlib.training.inference import predict
from sedlib.training.split import FoldData


@dataclass
class RunState:
    """What is checkpointed after every epoch of one training."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: tuple[float, float] = (-math.inf, -math.inf)
    stale_epochs: int = 0
    train_seconds: float = 0.0

    def finished(self, config: TrainConfig) -> bool:
        """All epochs done, or stopped early."""
        return self.epoch >= config.epochs or bool(
            config.patience and self.stale_epochs >= config.patience
        )


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
    loss_fn, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The loss averaged over the valid (unpadded) frames and all classes."""
    per_element = loss_fn(logits.float(), targets, reduction="none")
    weights = mask.unsqueeze(-1).to(per_element.dtype)
    return (per_element * weights).sum() / (weights.sum() * per_element.shape[-1]).clamp_min(1.0)


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
    order = torch.randperm(
        len(clips.x), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    )
    use_amp = config.amp and device.type == "cuda"
    total, batches = 0.0, 0
    for b, start in enumerate(range(0, len(order), config.batch_size)):
        idx = order[start : start + config.batch_size].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(clips.x[idx])
        loss = loss_over_valid(loss_fn, logits, clips.y[idx], clips.mask[idx])
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{what}: the loss is {loss.item()} at epoch {epoch + 1}, batch {b + 1}; "
                "training stopped (lower the learning rate or check the data)"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)


def validate(model: CRNN, data: FoldData, loss_fn, config: TrainConfig, device: torch.device):
    """Validation macro/micro F at the run's threshold and the mean validation loss."""
    predictions, val_loss = predict(
        model, data.validation, data.train_meta, data.norm, device, loss_fn
    )
    metrics = predictions.segment_metrics(config.threshold, config.time_resolution)
    return metrics, val_loss


def end_epoch(
    state: RunState,
    config: TrainConfig,
    train_loss: float,
    val_loss: float,
    metrics,
    seconds: float,
    seconds_training: float,
    **extra: float,
) -> bool:
    """Record an epoch in ``state`` and apply the model selection rule; True if it is kept.

    The rule of every engine: the score is (validation macro F, -validation
    loss), compared as a tuple; an epoch is kept when its score beats the best
    so far (or always, with ``selection="last"``); otherwise the epochs
    without improvement count towards ``patience``.
    """
    state.epoch += 1
    state.train_seconds += seconds
    state.history.append(
        {
            "epoch": state.epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_macro_f": metrics.macro_f,
            "val_micro_f": metrics.micro_f,
            "seconds": round(seconds, 3),
            "seconds_training": round(seconds_training, 3),  # without validation
            **extra,
        }
    )
    score = (metrics.macro_f, -val_loss)
    improved = config.selection == "last" or score > tuple(state.best_score)
    if improved:
        state.best_score, state.best_epoch, state.stale_epochs = score, state.epoch, 0
    else:
        state.stale_epochs += 1
    return improved


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

    ``on_epoch(state, improved)`` runs after every epoch (checkpointing).
    """
    from tqdm.auto import tqdm

    clips = DeviceClips.of(data, device)
    done_here = 0
    with tqdm(
        total=config.epochs, initial=state.epoch, desc=what, unit="epoch", disable=not progress
    ) as bar:
        while not state.finished(config) and (max_epochs is None or done_here < max_epochs):
            start = time.perf_counter()
            train_loss = train_epoch(
                model, optimizer, clips, loss_fn, config, state.epoch, device, what
            )
            training_part = time.perf_counter() - start
            metrics, val_loss = validate(model, data, loss_fn, config, device)
            elapsed = time.perf_counter() - start
            improved = end_epoch(
                state, config, train_loss, val_loss, metrics, elapsed, training_part
            )
            on_epoch(state, improved)
            done_here += 1
            bar.update()
            bar.set_postfix(loss=f"{train_loss:.4f}", val_F=f"{metrics.macro_f:.3f}")
    return state
