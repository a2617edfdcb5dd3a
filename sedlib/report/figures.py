"""Figures the chapters draw (matplotlib), from records, predictions and result sets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sedlib.data.cache import SplitFeatures
from sedlib.evaluation.predictions import Predictions
from sedlib.training.record import RunRecord


def learning_curves(record: RunRecord):
    """Training and validation loss, validation F-scores; one line per training, kept epochs marked."""
    history = record.history
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for fold, part in history.groupby("fold", sort=False):
        label = "" if history["fold"].nunique() == 1 else f" ({fold})"
        axes[0].plot(part["epoch"], part["train_loss"], marker="o", ms=3, label=f"training{label}")
        axes[0].plot(part["epoch"], part["val_loss"], ls="--", label=f"validation{label}")
        axes[1].plot(part["epoch"], part["val_macro_f"], marker="o", ms=3, label=f"macro F{label}")
    for best in record.best_epochs:
        axes[1].axvline(best, color="gray", ls=":", lw=1)
    axes[0].set(title="loss", xlabel="epoch")
    axes[1].set(title="validation macro F (1 s segments); dotted: kept epochs", xlabel="epoch")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def example_clip(features: SplitFeatures, predictions: Predictions, threshold: float, seconds: float = 10.0):
    """Log-mel input, reference roll and predicted probabilities of the richest stretch of a file.

    The file with the most distinct annotated classes, and in it the window of
    ``seconds`` with the most active frames.
    """
    index = {name: i for i, name in enumerate(features.files)}
    candidates = [f for f in predictions.files if f in index]
    richest = max(candidates, key=lambda f: int((features.file(index[f])[1].sum(0) > 0).sum()))
    x, y = features.file(index[richest])
    p = predictions.probs[predictions.files.index(richest)]
    hop = features.config.hop_length_s
    width = int(round(seconds / hop))
    start = int(np.argmax(np.convolve(y.sum(1), np.ones(width), mode="valid"))) if len(y) > width else 0
    window = slice(start, start + width)
    active = np.flatnonzero((y[window].sum(0) > 0) | (p[window].max(0) >= threshold))
    names = [features.label_names[k] for k in active]
    t0, t1 = start * hop, (start + len(x[window])) * hop
    fig, axes = plt.subplots(3, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    axes[0].imshow(x[window].T, origin="lower", aspect="auto", extent=(t0, t1, 0, x.shape[1]), cmap="magma")
    axes[0].set(ylabel="mel band", title=richest)
    for ax, roll, title in ((axes[1], y[window][:, active], "reference"), (axes[2], p[window][:, active], "predicted probability")):
        ax.imshow(
            roll.T, origin="lower", aspect="auto", extent=(t0, t1, -0.5, len(active) - 0.5),
            cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
        )  # fmt: skip
        ax.set_yticks(range(len(active)), names, fontsize=8)
        ax.set_title(title)
    axes[2].set_xlabel("time (s)")
    fig.tight_layout()
    return fig
