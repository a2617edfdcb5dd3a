"""Running a trained model over whole files: probabilities as a :class:`Predictions` object.

Every file is one sequence (the recurrent layer sees all of it, as in
training's clips it sees all of a clip). Files of equal length are stacked
into one batch, which gives the same result as one file at a time (every
layer of the model treats samples independently in evaluation mode) and
keeps the matrix products large enough to be efficient on a CPU.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from sedlib.data.cache import SplitFeatures
from sedlib.evaluation.predictions import Predictions
from sedlib.model import CRNN

#: Frames per inference batch (the first block's output is 128 x 64 floats a frame).
MAX_BATCH_FRAMES = 8_000


def batches(lengths: list[int], max_frames: int = MAX_BATCH_FRAMES) -> list[list[int]]:
    """File indices grouped by length, each group cut to at most ``max_frames`` frames (one file at least)."""
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    groups = []
    for n, members in by_length.items():
        size = max(1, max_frames // max(n, 1))
        groups += [members[k : k + size] for k in range(0, len(members), size)]
    return groups


def predict(
    model: CRNN,
    features: SplitFeatures,
    reference: pd.DataFrame,
    norm,
    device: torch.device,
    loss_fn=None,
    group: str = "all",
) -> tuple[Predictions, float | None]:
    """Frame probabilities of every file of a split, and optionally the mean loss.

    Parameters
    ----------
    model : CRNN
        The trained model (put into evaluation mode).
    features : SplitFeatures
        The files.
    reference : pandas.DataFrame
        Their annotated events (kept in the returned predictions).
    norm : callable
        The training normaliser.
    device : torch.device
        Where to run.
    loss_fn : callable, optional
        When given, also the loss averaged over all frames and classes.
    group : str
        Group name of these files in the predictions (e.g. the fold).

    Returns
    -------
    (Predictions, float or None)
    """
    model.eval()
    n_files = len(features.files)
    probs: list[np.ndarray | None] = [None] * n_files
    total, count = 0.0, 0
    with torch.inference_mode():
        for members in batches(np.diff(features.offsets).tolist()):
            pairs = [features.file(i) for i in members]
            x = torch.from_numpy(np.stack([f for f, _ in pairs])).to(device)
            logits = model(norm(x)).float()
            p = torch.sigmoid(logits).cpu().numpy()
            for k, i in enumerate(members):
                probs[i] = p[k]
            if loss_fn is not None:
                target = torch.from_numpy(np.stack([y for _, y in pairs]).astype(np.float32)).to(
                    device
                )
                total += float(loss_fn(logits, target, reduction="sum"))
                count += target.numel()
    predictions = as_predictions(features, reference, probs, group)
    return predictions, (total / max(count, 1) if loss_fn is not None else None)


def as_predictions(
    features: SplitFeatures, reference: pd.DataFrame, probs: list, group: str
) -> Predictions:
    """The :class:`Predictions` of a split's files from their frame probabilities."""
    return Predictions(
        files=list(features.files),
        probs=probs,
        durations=features.durations,
        labels=features.label_names,
        hop=features.config.hop_length_s,
        reference=reference,
        groups=[group] * len(features.files),
    )
