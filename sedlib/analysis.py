"""Evaluation beyond the paper's fixed threshold, for new runs and finished ones.

Every run's ``metrics.json`` carries, next to the paper's metrics at
threshold 0.5:

- ``tuned``: per-class thresholds chosen on the validation files
  (:mod:`sedlib.thresholds`) and the evaluation metrics at those thresholds;
- ``threshold_free``: segment-based AP and ROC AUC per class and PSDS on the
  evaluation split (:mod:`sedlib.threshold_free`).

:func:`complete_run` adds both to a run trained before they existed, from
its kept model (``best.pt``): the data, the validation hold-out and the
normalisation are rebuilt exactly as in training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sedlib.threshold_free import threshold_free_metrics
from sedlib.thresholds import tune_thresholds

#: Keys this module adds to ``metrics.json``.
EXTENDED_KEYS = ("tuned", "threshold_free")


def extended_evaluation(
    config,
    val_probs: list[np.ndarray],
    val_feats,
    dev_meta: pd.DataFrame,
    eval_probs: list[np.ndarray],
    evaluation,
    eval_meta: pd.DataFrame,
) -> dict[str, Any]:
    """Tuned-threshold and threshold-free results of one run.

    Parameters
    ----------
    config : sedlib.train.TrainConfig
        The run (threshold used as the default, segment length).
    val_probs, val_feats, dev_meta
        Probabilities, features and annotations of the validation files.
    eval_probs, evaluation, eval_meta
        The same for the evaluation split.

    Returns
    -------
    dict
        ``{"tuned": {...}, "threshold_free": {...}}``, JSON-ready.
    """
    from sedlib.train import evaluate

    labels = list(evaluation.label_names)
    hop = evaluation.config.hop_length_s
    start = time.perf_counter()
    tuned = tune_thresholds(
        val_probs,
        val_feats.files,
        labels,
        dev_meta,
        val_feats.durations,
        hop,
        time_resolution=config.time_resolution,
        default=config.threshold,
    )
    at_tuned = evaluate(
        eval_probs, evaluation, eval_meta, tuned.as_array(labels), config.time_resolution
    )
    tuning_seconds = time.perf_counter() - start
    start = time.perf_counter()
    free = threshold_free_metrics(
        eval_probs,
        evaluation.files,
        labels,
        eval_meta,
        evaluation.durations,
        hop,
        segment_length=config.time_resolution,
    )
    return {
        "tuned": {
            "thresholds": tuned.thresholds,
            "validation_f": {label: float(tuned.curves[label].max()) for label in labels},
            "evaluation": at_tuned.to_dict(),
            "seconds": round(tuning_seconds, 2),
        },
        "threshold_free": {
            **free.to_dict(),
            "seconds": round(time.perf_counter() - start, 2),
        },
    }


def complete_run(run_dir: str | Path, *, dataset=None, progress: bool = False) -> bool:
    """Add the tuned-threshold and threshold-free results to a finished run that lacks them.

    Parameters
    ----------
    run_dir : path-like
        Folder with ``metrics.json`` and ``best.pt``.
    dataset : sedlib.data.Dataset, optional
        The run's data set, when its configured name does not resolve to it.
    progress : bool
        Show progress while features are (re)built.

    Returns
    -------
    bool
        True when ``metrics.json`` was updated, False when it was complete already.
    """
    import torch

    from sedlib import provenance
    from sedlib.data.cache import build_features
    from sedlib.data.meta import atomic_write_text
    from sedlib.data.registry import get_dataset
    from sedlib.model import CRNN
    from sedlib.train import TrainConfig, _finite, predict, prepare_data

    run_dir = Path(run_dir)
    path = run_dir / "metrics.json"
    metrics = json.loads(path.read_text())
    if all(key in metrics for key in EXTENDED_KEYS):
        return False
    if not (run_dir / "best.pt").is_file():
        raise FileNotFoundError(f"{run_dir / 'best.pt'} is missing: cannot evaluate this run again")
    config = TrainConfig(**metrics["config"])
    ds = dataset if dataset is not None else get_dataset(config.dataset, create=False)
    same_fingerprint = ds.fingerprint == metrics["dataset"]["fingerprint"]
    if not same_fingerprint and not (run_dir / "predictions.npz").is_file():
        raise RuntimeError(
            f"{run_dir}: data set {ds.name!r} changed since the run (fingerprint "
            f"{ds.fingerprint} != {metrics['dataset']['fingerprint']}); train the run again"
        )
    data = prepare_data(config, ds, progress=progress)
    device = torch.device("cpu")
    model = CRNN(n_classes=len(data.dev.label_names), **config.model)
    model.load_state_dict(
        torch.load(run_dir / "best.pt", map_location=device, weights_only=False)["model"]
    )
    evaluation = build_features(ds, config.eval_split, progress=progress)
    eval_probs = predict(model, evaluation, data.norm, device)
    _check_same_predictions(run_dir, eval_probs)
    val_probs = predict(model, data.validation, data.norm, device)
    extra = extended_evaluation(
        config,
        val_probs,
        data.validation,
        data.dev_meta,
        eval_probs,
        evaluation,
        ds.meta(config.eval_split),
    )
    extra["tuned"]["added_later"] = extra["threshold_free"]["added_later"] = {
        "by": "sedlib.analysis.complete_run",
        "provenance": provenance.collect(include_device=False),
        # a changed fingerprint is accepted only when the stored predictions are reproduced
        "data_fingerprint": ds.fingerprint,
    }
    metrics.update(_finite(extra))
    atomic_write_text(path, json.dumps(metrics, indent=1, allow_nan=False) + "\n")
    return True


def _check_same_predictions(
    run_dir: Path, probs: list[np.ndarray], tolerance: float = 0.02
) -> None:
    """The model reloaded must reproduce the stored evaluation predictions (float16, maybe bf16 on GPU)."""
    stored_path = run_dir / "predictions.npz"
    if not stored_path.is_file():
        return
    with np.load(stored_path) as stored:
        for i, p in enumerate(probs):
            if f"p{i}" not in stored or stored[f"p{i}"].shape != p.shape:
                raise RuntimeError(f"{stored_path}: file {i} does not match the evaluation split")
            worst = float(np.abs(stored[f"p{i}"].astype(np.float32) - p).max())
            if worst > tolerance:
                raise RuntimeError(
                    f"{run_dir}: the kept model no longer reproduces its stored predictions "
                    f"(file {i}, max difference {worst:.3f}); train the run again"
                )
