"""What a loss does to each frame and to each class: weights, gradients, shares.

For a frame with predicted probability ``p`` and label ``z``, the duration
robust loss E3 (γ = 0 gives BCE, E1) has the gradient magnitude with respect
to the logit

- active frame (z = 1):   ``(1 - p)^γ * ((1 - p) - γ p log p)``
- inactive frame (z = 0): ``p^γ * (p - γ (1 - p) log(1 - p))``

(derived from Eq. 4; checked against autograd in the tests). Summed over the
frames of a class, these say how much of the training signal each class
receives. Given per-class histograms of the predicted probability on active
and inactive frames (as stored for every run), the shares follow for any γ
without the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

N_BINS = 50


def frame_loss(p: np.ndarray, z: int, gamma: float) -> np.ndarray:
    """E3 loss of frames with probability ``p`` and label ``z`` (γ = 0: BCE), in float64."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    if z == 1:
        return -((1 - p) ** gamma) * np.log(p)
    return -(p**gamma) * np.log1p(-p)


def frame_gradient(p: np.ndarray, z: int, gamma: float) -> np.ndarray:
    """Magnitude of dE3/dlogit of frames with probability ``p`` and label ``z``, in float64."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    if z == 1:
        return (1 - p) ** gamma * ((1 - p) - gamma * p * np.log(p))
    return p**gamma * (p - gamma * (1 - p) * np.log1p(-p))


def probability_histograms(
    probs: Sequence[np.ndarray], labels: Sequence[np.ndarray], n_bins: int = N_BINS
) -> dict[str, np.ndarray]:
    """Per-class histograms of predicted probabilities on active and inactive frames.

    Parameters
    ----------
    probs, labels : sequences of arrays
        ``(frames, classes)`` probabilities and 0/1 labels, one pair per file.
    n_bins : int
        Equal-width bins on [0, 1].

    Returns
    -------
    dict
        ``positive`` and ``negative``: int64 ``(classes, n_bins)`` counts.
    """
    p = np.concatenate([np.asarray(x, dtype=np.float64) for x in probs])
    z = np.concatenate([np.asarray(y) for y in labels]) > 0.5
    if p.shape != z.shape:
        raise ValueError(f"probabilities {p.shape} and labels {z.shape} differ in shape")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    n_classes = p.shape[1]
    out = {}
    for name, mask in (("positive", z), ("negative", ~z)):
        counts = np.zeros((n_classes, n_bins), dtype=np.int64)
        cls = np.broadcast_to(np.arange(n_classes), p.shape)[mask]
        np.add.at(counts, (cls, bins[mask]), 1)
        out[name] = counts
    return out


def class_shares(
    positive: np.ndarray, negative: np.ndarray, gamma: float, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each class's share of the total loss and of the total gradient magnitude under E3(γ).

    Parameters
    ----------
    positive, negative : np.ndarray
        ``(classes, bins)`` histograms of predicted probabilities on active and
        inactive frames (see :func:`probability_histograms`); bin centres stand
        for the probabilities.
    gamma : float
        γ of E3 (0 for BCE).
    labels : sequence of str, optional
        Class names for the index.

    Returns
    -------
    pandas.DataFrame
        ``loss_share`` and ``gradient_share`` (each summing to 1 over classes),
        and ``active_gradient_share`` (the part of a class's gradient that comes
        from its active frames).
    """
    positive, negative = (
        np.asarray(positive, dtype=np.float64),
        np.asarray(negative, dtype=np.float64),
    )
    n_bins = positive.shape[1]
    centres = (np.arange(n_bins) + 0.5) / n_bins
    loss = positive @ frame_loss(centres, 1, gamma) + negative @ frame_loss(centres, 0, gamma)
    grad_pos = positive @ frame_gradient(centres, 1, gamma)
    grad = grad_pos + negative @ frame_gradient(centres, 0, gamma)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "loss_share": loss / loss.sum(),
                "gradient_share": grad / grad.sum(),
                "active_gradient_share": np.where(grad > 0, grad_pos / grad, np.nan),
            },
            index=pd.Index(labels if labels is not None else range(len(loss)), name="event_label"),
        )
    return table
