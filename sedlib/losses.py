"""The three loss functions of the paper, on logits, and a registry by name.

All losses take raw network outputs (logits) ``y`` and targets ``z`` in
[0, 1] of the same shape, ``(..., classes)`` with classes on the last axis,
and work in log space (``log s(y) = logsigmoid(y)``) so that values and
gradients stay finite for logits as large as +-100 in float32.

- E1, :func:`bce_loss`: binary cross-entropy, Eq. (2).
- E2, :func:`inverse_frequency_loss`: BCE with class weight ``C / (N_m + C)``,
  Eq. (3), where ``N_m`` counts the frames of class ``m``.
- E3, :func:`duration_robust_loss`: BCE with the modulating factors
  ``(1 - p)^gamma`` on positive and ``p^gamma`` on negative frames, Eq. (4).

The paper writes each loss as a sum over frames and classes; ``reduction="mean"``
(the default) divides that sum by the number of elements, which changes only
the scale of the gradient, not its direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")

#: The paper's constant C of the inverse frequency weights (Table 3).
DEFAULT_C = 500.0


def _check_inputs(logits: torch.Tensor, targets: torch.Tensor, reduction: str) -> None:
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(
            f"logits and targets must be torch tensors, got {type(logits).__name__} "
            f"and {type(targets).__name__}"
        )
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape"
        )
    if logits.ndim < 1:
        raise ValueError("logits must have at least one dimension (classes last)")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if targets.numel():
        lo, hi = torch.aminmax(targets.detach())
        if not (float(lo) >= 0.0 and float(hi) <= 1.0):  # also catches NaN
            raise ValueError(
                f"targets must lie in [0, 1], got values in [{float(lo)}, {float(hi)}]"
            )


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def bce_loss(
    logits: torch.Tensor, targets: torch.Tensor, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Binary cross-entropy on logits, the paper's E1 (Eq. 2).

    Parameters
    ----------
    logits : torch.Tensor
        Network outputs ``y`` before the sigmoid, ``(..., classes)``.
    targets : torch.Tensor
        Frame labels ``z`` in [0, 1], same shape.
    reduction : {"mean", "sum", "none"}
        Mean or sum over all elements, or the element-wise loss.

    Returns
    -------
    torch.Tensor
        ``-(z log s(y) + (1 - z) log(1 - s(y)))``, reduced.

    Examples
    --------
    >>> bce_loss(torch.zeros(3), torch.tensor([0.0, 1.0, 1.0]))
    tensor(0.6931)
    """
    _check_inputs(logits, targets, reduction)
    targets = targets.to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return _reduce(loss, reduction)


def inverse_frequency_weights(class_frames: Any, C: float = DEFAULT_C) -> torch.Tensor:
    """Class weights ``C / (N_m + C)`` of Eq. (3) from per-class frame counts ``N_m``.

    Parameters
    ----------
    class_frames : array-like
        Frame counts ``N_m``, non-negative, classes on the last axis.
    C : float
        Positive constant (the paper: 500).

    Returns
    -------
    torch.Tensor
        float32 weights of the same shape, each in (0, 1].
    """
    if isinstance(class_frames, torch.Tensor):
        counts = class_frames.detach().to(torch.float64)
    else:
        counts = torch.as_tensor(np.asarray(class_frames, dtype=np.float64))
    if not C > 0:
        raise ValueError(f"C must be positive, got {C!r}")
    if counts.numel() and not bool((counts >= 0).all()):
        raise ValueError(
            f"class_frames must be non-negative frame counts, got min {float(counts.min())}"
        )
    return (C / (counts + C)).to(torch.float32)


def count_class_frames(targets: Any) -> np.ndarray:
    """Number of active frames per class, ``N_m``, summed over all clips and frames.

    Parameters
    ----------
    targets : array-like
        Binary frame labels ``(..., frames, classes)`` of the training set.

    Returns
    -------
    np.ndarray
        int64 counts ``(classes,)``.
    """
    arr = (
        targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    )
    if arr.ndim < 1:
        raise ValueError("targets must have a class axis")
    return (arr > 0.5).reshape(-1, arr.shape[-1]).sum(axis=0).astype(np.int64)


def inverse_frequency_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_frames: Any,
    C: float = DEFAULT_C,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Class-reweighted BCE, the paper's E2 (Eq. 3): weight ``C / (N_m + C)`` per class.

    Parameters
    ----------
    logits, targets : torch.Tensor
        As in :func:`bce_loss`, ``(batch, frames, classes)`` for per-clip counting.
    class_frames : array-like of shape (classes,), or "clip"
        ``N_m``. By default the frames of class ``m`` counted over the whole
        training set (see :func:`count_class_frames`); this is the reading
        under which the paper's Table 2 shows "fan" falling to 0. With
        ``"clip"``, ``N_m`` is counted in each clip of the batch from
        ``targets`` (sum over the frame axis, ``-2``), the other reading of
        "the number of frames of sound event m in a sound clip".
    C : float
        The constant of the weights (the paper: 500).
    reduction : {"mean", "sum", "none"}
        As in :func:`bce_loss`.

    Returns
    -------
    torch.Tensor
        ``C / (N_m + C) * BCE``, reduced.
    """
    _check_inputs(logits, targets, reduction)
    if isinstance(class_frames, str):
        if class_frames != "clip":
            raise ValueError(f"class_frames must be counts or 'clip', got {class_frames!r}")
        if logits.ndim < 2:
            raise ValueError("per-clip counting needs targets of shape (..., frames, classes)")
        counts = (targets.detach() > 0.5).sum(dim=-2, keepdim=True)
        weights = inverse_frequency_weights(counts, C)
    else:
        weights = inverse_frequency_weights(class_frames, C)
        if weights.ndim != 1 or weights.shape[0] != logits.shape[-1]:
            raise ValueError(
                f"class_frames has shape {tuple(weights.shape)}, expected ({logits.shape[-1]},) "
                "= one count per class"
            )
    weights = weights.to(device=logits.device, dtype=logits.dtype)
    targets = targets.to(logits.dtype)
    loss = weights * F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return _reduce(loss, reduction)


def duration_robust_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 1.0,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """The duration robust loss, the paper's E3 (Eq. 4).

    ``-((1 - p)^gamma z log p + p^gamma (1 - z) log(1 - p))`` with
    ``p = s(y)``: frames the model already gets right (large ``p`` on an
    active frame, small ``p`` on an inactive one) are down-weighted, so the
    many easy frames of long stationary events stop dominating training.
    ``gamma = 0`` gives back :func:`bce_loss`.

    Parameters
    ----------
    logits, targets : torch.Tensor
        As in :func:`bce_loss`.
    gamma : float
        Focusing exponent, non-negative (the paper: 2^-2 .. 2^2; 1 and 4 in Table 4).
    reduction : {"mean", "sum", "none"}
        As in :func:`bce_loss`.

    Returns
    -------
    torch.Tensor
        The loss, reduced.

    Examples
    --------
    >>> y, z = torch.tensor([3.0, -3.0]), torch.tensor([1.0, 1.0])
    >>> duration_robust_loss(y, z, gamma=2.0, reduction="none")
    tensor([1.0928e-04, 2.7663e+00])
    """
    _check_inputs(logits, targets, reduction)
    gamma = float(gamma)
    if not gamma >= 0.0:
        raise ValueError(f"gamma must be non-negative, got {gamma!r}")
    targets = targets.to(logits.dtype)
    log_p = F.logsigmoid(logits)  # log s(y)
    log_q = F.logsigmoid(-logits)  # log (1 - s(y))
    if gamma == 0.0:
        pos_factor = neg_factor = 1.0
    else:
        pos_factor = torch.exp(gamma * log_q)  # (1 - p)^gamma
        neg_factor = torch.exp(gamma * log_p)  # p^gamma
    loss = -(pos_factor * targets * log_p + neg_factor * (1.0 - targets) * log_q)
    return _reduce(loss, reduction)


@dataclass(frozen=True)
class Loss:
    """A loss function bound to its parameters, callable as ``loss(logits, targets)``.

    Attributes
    ----------
    name : str
        Registry name (see :data:`LOSSES`).
    params : dict
        Keyword parameters bound to the function (``gamma``, ``class_frames``, ``C``...).
    """

    name: str
    params: dict = field(default_factory=dict)

    def __call__(
        self, logits: torch.Tensor, targets: torch.Tensor, reduction: Reduction = "mean"
    ) -> torch.Tensor:
        return LOSSES[self.name](logits, targets, reduction=reduction, **self.params)

    def describe(self) -> str:
        """Short human-readable name, e.g. ``duration_robust(gamma=4.0)``."""
        shown = {k: v for k, v in self.params.items() if k != "class_frames"}
        args = ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
        return f"{self.name}({args})"


#: Loss functions by name; ``get_loss`` also accepts the paper's E1 / E2 / E3.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "bce": bce_loss,
    "inverse_frequency": inverse_frequency_loss,
    "duration_robust": duration_robust_loss,
}
_ALIASES = {"e1": "bce", "e2": "inverse_frequency", "e3": "duration_robust"}
_REQUIRED = {"inverse_frequency": ("class_frames",)}


def get_loss(name: str, **params: Any) -> Loss:
    """A configured loss by name, so that runs are described by plain data.

    Parameters
    ----------
    name : str
        ``"bce"``, ``"inverse_frequency"`` or ``"duration_robust"`` (or ``"E1"``,
        ``"E2"``, ``"E3"``).
    **params
        Keyword parameters of that loss (``gamma`` for E3; ``class_frames`` and
        ``C`` for E2).

    Returns
    -------
    Loss
        Callable ``loss(logits, targets, reduction="mean")``.

    Examples
    --------
    >>> loss = get_loss("duration_robust", gamma=4.0)
    >>> loss.describe()
    'duration_robust(gamma=4.0)'
    """
    key = _ALIASES.get(str(name).lower(), str(name))
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known losses: {sorted(LOSSES)}")
    import inspect

    accepted = set(inspect.signature(LOSSES[key]).parameters) - {"logits", "targets", "reduction"}
    unknown = set(params) - accepted
    if unknown:
        raise TypeError(
            f"loss {key!r} takes parameters {sorted(accepted)}, got unknown {sorted(unknown)}"
        )
    missing = [p for p in _REQUIRED.get(key, ()) if p not in params]
    if missing:
        raise TypeError(f"loss {key!r} needs parameter(s) {missing}")
    if key == "duration_robust" and "gamma" in params:
        params["gamma"] = float(params["gamma"])
        if not params["gamma"] >= 0:
            raise ValueError(f"gamma must be non-negative, got {params['gamma']!r}")
    return Loss(key, params)
