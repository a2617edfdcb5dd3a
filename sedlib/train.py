"""Training the CRNN with a named loss, resumable and deterministic on CPU.

What the paper leaves open is fixed here, following the DCASE 2018 task 4
baseline the paper builds on where it says something, and common practice
otherwise:

- optimizer Adam, learning rate 1e-3, batch size 32 clips of 10 s;
- per-band standardisation of the log-mel features with the mean and
  standard deviation of the training clips;
- a validation split of 20% of the development *files*, chosen per scene
  with a fixed seed (the same for every run, never touching the evaluation
  set);
- model selection: the epoch with the best validation segment-based macro
  F-score at the run's threshold (ties: lower validation loss), early
  stopping after ``patience`` epochs without improvement;
- the loss is averaged over the valid (unpadded) frames and all classes;
- the output bias of each class starts at the log-odds of its frame
  frequency in the training data (the prior initialisation of Lin et al.,
  2017), the same for every loss.

A checkpoint is written after every epoch (model, optimizer, random states,
history, best model); a run started again in the same folder resumes from
it and ends exactly as an uninterrupted run would on CPU. A NaN or infinite
loss stops training with a message naming the epoch and the batch.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from sedlib.analysis import complete_run, extended_evaluation
from sedlib.data.cache import Clips, SplitFeatures, build_features
from sedlib.data.layout import Dataset
from sedlib.data.meta import atomic_write_bytes, atomic_write_text
from sedlib.losses import GAMMA_LOSSES, count_class_frames, get_loss
from sedlib.metrics import SegmentMetrics, frames_to_events, segment_based_metrics
from sedlib.model import CRNN, count_parameters
from sedlib.weights import probability_histograms

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Attributes
    ----------
    dataset : str
        Data set name or folder (see :func:`sedlib.data.registry.get_dataset`).
    loss : str
        ``bce``, ``inverse_frequency``, ``duration_robust``, ``focal``,
        ``class_balanced`` or ``asymmetric`` (see :func:`sedlib.losses.get_loss`).
    gamma : float
        γ of the duration robust and the focal loss (ignored by the others).
    C : float
        Constant of the inverse frequency weights.
    class_frames : {"dataset", "clip"}
        How the inverse frequency loss counts ``N_m``.
    seed : int
        Seed of the initialisation, dropout and batch order.
    epochs : int
        Maximum number of epochs.
    batch_size, lr, weight_decay : int, float, float
        Optimisation.
    patience : int
        Early stopping: epochs without a better validation macro F (0: never stop early).
    val_fraction : float
        Share of development files held out for validation.
    threshold : float
        Detection threshold (the paper: 0.5).
    time_resolution : float
        Segment length of the metrics in seconds.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``.
    amp : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    train_split, eval_split : str
        Splits of the data set to train on (minus validation) and to evaluate on.
    model : dict
        Keyword arguments of :class:`sedlib.model.CRNN`.
    loss_options : dict
        More keyword parameters of the loss (``alpha`` of focal, ``beta`` of
        class balanced, ``gamma_neg`` / ``gamma_pos`` / ``clip`` of asymmetric);
        empty: the published defaults.
    """

    dataset: str = "synthetic-small"
    loss: str = "bce"
    gamma: float = 1.0
    C: float = 500.0
    class_frames: str = "dataset"
    seed: int = 0
    epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 20
    val_fraction: float = 0.2
    threshold: float = 0.5
    time_resolution: float = 1.0
    device: str = "auto"
    amp: bool = True
    train_split: str = "development"
    eval_split: str = "evaluation"
    model: dict = field(default_factory=dict)
    loss_options: dict = field(default_factory=dict)

    def loss_params(self, class_frames: np.ndarray) -> dict:
        """Keyword parameters of the configured loss."""
        params: dict[str, Any] = {}
        if self.loss in (*GAMMA_LOSSES, "e3", "E3"):
            params["gamma"] = self.gamma
        if self.loss in ("inverse_frequency", "e2", "E2"):
            params["C"] = self.C
            params["class_frames"] = "clip" if self.class_frames == "clip" else class_frames
        if self.loss == "class_balanced":
            params["class_frames"] = class_frames
        return {**params, **self.loss_options}

    def describe(self) -> str:
        """Short run name, e.g. ``duration_robust-g4-s3``."""
        return run_name(self.loss, self.gamma, self.seed)

    def matches(self, stored: dict) -> bool:
        """Whether a stored configuration (``asdict`` of an earlier run) is this one.

        Fields added to :class:`TrainConfig` after a run was stored count as
        equal when this configuration leaves them at their default.
        """
        asked = asdict(self)
        defaults = asdict(TrainConfig())
        for key in set(asked) - set(stored):
            if asked[key] != defaults[key]:
                return False
            del asked[key]
        return asked == stored


def run_name(loss: str, gamma: float, seed: int) -> str:
    """``<loss>[-g<γ>]-s<seed>``; γ is part of the name for the losses that take it."""
    tag = f"{loss}-g{float(gamma):g}" if loss in GAMMA_LOSSES else loss
    return f"{tag}-s{seed}"


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    return dev


def validation_files(dataset: Dataset, split: str, fraction: float, seed: int = 0) -> list[str]:
    """The development files held out for validation.

    ``round(fraction * n)`` of the ``n`` files of each scene, drawn with a fixed
    seed (the same for every run), and at least one file overall.
    """
    meta = dataset.meta(split)
    scene_of = meta.groupby("filename", sort=False)["scene_label"].first()
    if len(scene_of) < 2:
        raise ValueError(
            f"split {split!r} of {dataset.name!r} has {len(scene_of)} file(s); need 2 for validation"
        )
    rng = np.random.default_rng(seed)
    by_scene = {
        scene: sorted(scene_of.index[scene_of == scene]) for scene in sorted(scene_of.unique())
    }
    held = []
    for files in by_scene.values():
        held += list(
            rng.choice(files, size=min(round(len(files) * fraction), len(files) - 1), replace=False)
        )
    if not held:
        largest = max(by_scene.values(), key=len)
        held = [str(rng.choice(largest))]
    return sorted(held)


def subset(features: SplitFeatures, files: list[str]) -> SplitFeatures:
    """The files ``files`` of a split, in their original order."""
    wanted = set(files)
    keep = [i for i, f in enumerate(features.files) if f in wanted]
    parts = [features.file(i) for i in keep]
    lengths = [len(x) for x, _ in parts]
    return SplitFeatures(
        features=np.concatenate([x for x, _ in parts]) if parts else features.features[:0],
        labels=np.concatenate([y for _, y in parts]) if parts else features.labels[:0],
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        files=[features.files[i] for i in keep],
        durations=features.durations[keep],
        label_names=features.label_names,
        config=features.config,
    )


@dataclass
class Normalizer:
    """Per-band standardisation with training statistics."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, clips: Clips) -> Normalizer:
        valid = clips.features[clips.mask]
        return cls(valid.mean(0), valid.std(0).clamp_min(1e-5))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


@dataclass
class RunState:
    """What is checkpointed after every epoch."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: tuple[float, float] = (-math.inf, -math.inf)
    stale_epochs: int = 0
    train_seconds: float = 0.0


@dataclass
class PreparedData:
    """The splits of a run: development features, its training and validation parts, clips."""

    dev: SplitFeatures
    train: SplitFeatures
    validation: SplitFeatures
    dev_meta: pd.DataFrame
    clips: Clips
    norm: Normalizer
    class_frames: np.ndarray


def prepare_data(config: TrainConfig, ds: Dataset, progress: bool = True) -> PreparedData:
    """Features, validation hold-out, training clips and normaliser of a run (deterministic)."""
    dev = build_features(ds, config.train_split, progress=progress)
    held_out = validation_files(ds, config.train_split, config.val_fraction)
    train_feats = subset(dev, [f for f in dev.files if f not in held_out])
    clips = train_feats.clips()
    return PreparedData(
        dev=dev,
        train=train_feats,
        validation=subset(dev, held_out),
        dev_meta=ds.meta(config.train_split),
        clips=clips,
        norm=Normalizer.fit(clips),
        class_frames=count_class_frames(train_feats.labels),
    )


def predict(
    model: CRNN, features: SplitFeatures, norm: Normalizer, device: torch.device
) -> list[np.ndarray]:
    """Frame probabilities ``(frames, classes)`` of every file, each file in one pass."""
    return _forward_files(model, features, norm, device)[0]


def _forward_files(model, features: SplitFeatures, norm: Normalizer, device, loss_fn=None):
    """Probabilities of every file and, with ``loss_fn``, the mean loss over all frames and classes."""
    model.eval()
    probs, total, count = [], 0.0, 0
    with torch.no_grad():
        for i in range(len(features.files)):
            x, y = features.file(i)
            logits = model(
                norm(torch.from_numpy(np.ascontiguousarray(x)).to(device)).unsqueeze(0)
            ).float()
            probs.append(torch.sigmoid(logits)[0].cpu().numpy())
            if loss_fn is not None:
                target = torch.from_numpy(y.astype(np.float32)).to(device).unsqueeze(0)
                total += float(loss_fn(logits, target, reduction="sum"))
                count += y.size
    return probs, (total / max(count, 1) if loss_fn is not None else None)


def evaluate(
    probs: list[np.ndarray],
    features: SplitFeatures,
    reference: pd.DataFrame,
    threshold,
    time_resolution: float = 1.0,
) -> SegmentMetrics:
    """Segment-based metrics of predicted probabilities against the annotated events.

    Parameters
    ----------
    probs : list of np.ndarray
        ``(frames, classes)`` per file, in the order of ``features.files``.
    features : SplitFeatures
        The split (file names, durations, hop, labels).
    reference : pandas.DataFrame
        The annotations (``filename, onset, offset, event_label``) of those files.
    threshold : float or sequence of float
        Detection threshold, global or per class.
    time_resolution : float
        Segment length in seconds.
    """
    hop = features.config.hop_length_s
    labels = list(features.label_names)
    estimated = [
        frames_to_events(p, labels, threshold, hop, f)
        for p, f in zip(probs, features.files, strict=True)
    ]
    files = set(features.files)
    return segment_based_metrics(
        reference[reference["filename"].isin(files)],
        pd.concat(estimated, ignore_index=True),
        labels,
        time_resolution=time_resolution,
        file_durations=features.file_durations,
    )


def init_output_bias(model: CRNN, class_frames: np.ndarray, n_frames: int) -> None:
    """Start every class at its prior: output bias = log-odds of its frame frequency in training.

    The prior initialisation of Lin et al. (2017, Sec. 4.1), here per class
    (frequency clipped to [1e-4, 0.5]): without it the first hundreds of
    updates only learn that most frames are inactive.
    """
    prior = np.clip(np.asarray(class_frames, dtype=np.float64) / max(n_frames, 1), 1e-4, 0.5)
    with torch.no_grad():
        model.out.bias.copy_(
            torch.as_tensor(np.log(prior / (1 - prior)), dtype=model.out.bias.dtype)
        )


def _loss_over_valid(loss_fn, logits, targets, mask) -> torch.Tensor:
    per_element = loss_fn(logits.float(), targets, reduction="none")
    weights = mask.unsqueeze(-1).to(per_element.dtype)
    return (per_element * weights).sum() / (weights.sum() * per_element.shape[-1]).clamp_min(1.0)


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    dataset: Dataset | None = None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
) -> dict[str, Any]:
    """Train (or resume, or load a finished run) and evaluate; write ``metrics.json``.

    Parameters
    ----------
    config : TrainConfig
        The run.
    run_dir : path-like
        Folder of the run: ``checkpoint.pt`` (every epoch), ``best.pt`` (the
        selected model), ``metrics.json`` (the results, written last and
        atomically). A folder with a finished run returns its metrics; one with
        a checkpoint resumes.
    dataset : Dataset, optional
        Use this data set instead of resolving ``config.dataset``.
    progress : bool
        Show a progress bar over epochs.
    stop_after_epochs : int, optional
        Stop (as if interrupted) after this many epochs in this call; for tests.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    from tqdm.auto import tqdm

    from sedlib import provenance
    from sedlib.data.registry import get_dataset

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / METRICS).is_file():
        finished = json.loads((run_dir / METRICS).read_text())
        if config.matches(finished.get("config", {})):
            if complete_run(run_dir, dataset=dataset):  # a run from before tuned thresholds
                finished = json.loads((run_dir / METRICS).read_text())
            return finished
        raise RuntimeError(
            f"{run_dir} holds a finished run with another configuration; use a new folder "
            f"(stored: {finished.get('config')}, asked: {asdict(config)})"
        )
    wall_start = time.perf_counter()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    ds = dataset if dataset is not None else get_dataset(config.dataset, progress=progress)
    data = prepare_data(config, ds, progress=progress)
    dev, train_feats, val_feats, dev_meta = data.dev, data.train, data.validation, data.dev_meta
    clips, norm, class_frames = data.clips, data.norm, data.class_frames
    loss_fn = get_loss(config.loss, **config.loss_params(class_frames))
    model = CRNN(n_classes=len(dev.label_names), **config.model)
    init_output_bias(model, class_frames, int(train_feats.offsets[-1]))
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state = RunState()
    checkpoint = run_dir / CHECKPOINT
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        if not config.matches(saved["config"]):
            raise RuntimeError(
                f"{checkpoint} belongs to another configuration; use a new run folder"
            )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = RunState(**saved["state"])
        torch.set_rng_state(saved["rng_cpu"])
        if device.type == "cuda" and saved.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(saved["rng_cuda"], device)
    # Data resident on the device: no loader can starve the model.
    x_all = norm(clips.features).to(device)
    y_all = clips.labels.to(device)
    m_all = clips.mask.to(device)
    use_amp = config.amp and device.type == "cuda"
    bar = tqdm(
        total=config.epochs,
        initial=state.epoch,
        desc=config.describe(),
        unit="epoch",
        disable=not progress,
    )
    epochs_this_call = 0
    while state.epoch < config.epochs and not (
        config.patience and state.stale_epochs >= config.patience
    ):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(
            len(clips), generator=torch.Generator().manual_seed(config.seed * 100_003 + state.epoch)
        )
        total, batches = 0.0, 0
        for b, start in enumerate(range(0, len(order), config.batch_size)):
            idx = order[start : start + config.batch_size].to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(x_all[idx])
            loss = _loss_over_valid(loss_fn, logits, y_all[idx], m_all[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{config.describe()}: the loss is {loss.item()} at epoch {state.epoch + 1}, batch {b + 1}; "
                    "training stopped (lower the learning rate or check the data)"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        train_part_seconds = time.perf_counter() - epoch_start
        val_probs, val_loss = _forward_files(model, val_feats, norm, device, loss_fn)
        val_metrics = evaluate(
            val_probs, val_feats, dev_meta, config.threshold, config.time_resolution
        )
        state.epoch += 1
        state.train_seconds += time.perf_counter() - epoch_start
        record = {
            "epoch": state.epoch,
            "train_loss": total / max(batches, 1),
            "val_loss": val_loss,
            "val_macro_f": val_metrics.macro_f,
            "val_micro_f": val_metrics.micro_f,
            "seconds": round(time.perf_counter() - epoch_start, 3),
            "seconds_training": round(train_part_seconds, 3),  # without validation
        }
        state.history.append(record)
        score = (val_metrics.macro_f, -val_loss)
        if score > tuple(state.best_score):
            state.best_score, state.best_epoch, state.stale_epochs = score, state.epoch, 0
            _save(run_dir / "best.pt", {"model": model.state_dict(), "epoch": state.epoch})
        else:
            state.stale_epochs += 1
        _save(
            checkpoint,
            {
                "config": asdict(config),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "state": asdict(state),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            },
        )
        bar.update()
        bar.set_postfix(loss=f"{record['train_loss']:.4f}", val_F=f"{val_metrics.macro_f:.3f}")
        epochs_this_call += 1
        if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
            bar.close()
            return {"interrupted": True, "epoch": state.epoch}
    bar.close()

    best = torch.load(run_dir / "best.pt", map_location=device, weights_only=False)
    model.load_state_dict(best["model"])
    evaluation = build_features(ds, config.eval_split, progress=progress)
    eval_probs = predict(model, evaluation, norm, device)
    metrics = evaluate(
        eval_probs, evaluation, ds.meta(config.eval_split), config.threshold, config.time_resolution
    )
    val_probs = predict(model, val_feats, norm, device)
    val_best = evaluate(val_probs, val_feats, dev_meta, config.threshold, config.time_resolution)
    beyond = extended_evaluation(
        config, val_probs, val_feats, dev_meta, eval_probs, evaluation, ds.meta(config.eval_split)
    )
    np.savez_compressed(
        run_dir / "predictions.npz",
        **{f"p{i}": p.astype(np.float16) for i, p in enumerate(eval_probs)},
        **{f"v{i}": p.astype(np.float16) for i, p in enumerate(val_probs)},
    )
    eval_labels = [evaluation.file(i)[1] for i in range(len(evaluation.files))]
    histograms = probability_histograms(eval_probs, eval_labels)
    result = {
        "run": config.describe(),
        "config": asdict(config),
        "seed": config.seed,
        "dataset": {
            "name": ds.name,
            "fingerprint": ds.fingerprint,
            "train_files": len(train_feats.files),
            "validation_files": len(val_feats.files),
            "evaluation_files": len(evaluation.files),
        },
        "evaluation": metrics.to_dict(),
        "validation": val_best.to_dict(),
        "thresholds": {label: config.threshold for label in dev.label_names},
        **beyond,
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch,
        "history": state.history,
        "model_parameters": count_parameters(model),
        "class_frames": dict(zip(dev.label_names, map(int, class_frames), strict=True)),
        "probability_histograms": {k: v.tolist() for k, v in histograms.items()},
        "train_clips": len(clips),
        "timing": {
            "train_seconds": round(state.train_seconds, 2),
            "seconds_per_epoch": round(state.train_seconds / max(state.epoch, 1), 3),
            "clips_per_second": round(len(clips) * state.epoch / max(state.train_seconds, 1e-9), 2),
            "wall_seconds_this_call": round(time.perf_counter() - wall_start, 2),
        },
        "provenance": provenance.collect(),
    }
    result["provenance"]["device"]["used"] = str(device)
    result = _finite(result)
    atomic_write_text(run_dir / METRICS, json.dumps(result, indent=1, allow_nan=False) + "\n")
    return result


def _save(path: Path, obj: dict) -> None:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _finite(value):
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
