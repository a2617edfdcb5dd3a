"""The paper's three loss functions and three later imbalance losses, on logits, by name.

All losses take raw network outputs (logits) ``y`` and targets ``z`` in
[0, 1] of the same shape, ``(..., classes)`` with classes on the last axis,
and work in log space (``log s(y) = logsigmoid(y)``) so that values and
gradients stay finite for logits as large as +-100 in float32.

- E1, :func:`bce_loss`: binary cross-entropy, Eq. (2).
- E2, :func:`inverse_frequency_loss`: BCE with class weight ``C / (N_m + C)``,
  Eq. (3), where ``N_m`` counts the frames of class ``m``.
- E3, :func:`duration_robust_loss`: BCE with the modulating factors
  ``(1 - p)^gamma`` on positive and ``p^gamma`` on negative frames, Eq. (4).

Baselines from later work (issue "beyond the paper"), same conventions:

- :func:`focal_loss`: the alpha-balanced focal loss of Lin et al. (2017),
  ``-alpha (1-p)^gamma log p`` on positives and
  ``-(1-alpha) p^gamma log(1-p)`` on negatives, published with
  ``alpha=0.25, gamma=2``. With ``alpha=0.5`` it is E3 halved.
- :func:`class_balanced_loss`: BCE with the class-balanced weights of Cui et
  al. (2019), ``(1 - beta) / (1 - beta^n_m)`` normalised to sum to the
  number of classes; ``n_m`` counts the active *frames* of class ``m`` in the
  training set, the same ``N_m`` as E2 (frames of one event overlap heavily,
  which is what the "effective number" discounts).
- :func:`asymmetric_loss`: the asymmetric loss of Ridnik et al. (2021),
  ``-(1-p)^gamma_pos log p`` on positives and ``-p_m^gamma_neg log(1-p_m)``
  with the shifted probability ``p_m = max(p - clip, 0)`` on negatives,
  published with ``gamma_pos=0, gamma_neg=4, clip=0.05``.

The paper writes each loss as a sum over frames and classes; ``reduction="mean"``
(the default) divides that sum by the number of elements, which changes only
the scale of the gradient, not its direction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")

#: The paper's constant C of the inverse frequency weights (Table 3).
DEFAULT_C = 500.0


#: Whether the losses check that the targets lie in [0, 1] (a host sync per call); see
#: :func:`targets_checked_elsewhere`.
_CHECK_TARGET_VALUES = ContextVar("sedlib_check_target_values", default=True)


@contextmanager
def targets_checked_elsewhere() -> Iterator[None]:
    """Skip the value check of the targets (``0 <= z <= 1``) inside this block.

    The check reads the targets' range back to the host, a synchronisation
    per call; a trainer whose labels were checked once when they were loaded
    (the batched trainer, on a GPU) computes the losses without it. Shapes and
    types are still checked.
    """
    token = _CHECK_TARGET_VALUES.set(False)
    try:
        yield
    finally:
        _CHECK_TARGET_VALUES.reset(token)


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
    if targets.numel() and _CHECK_TARGET_VALUES.get():
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


def _class_weighted_bce(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, reduction: str
) -> torch.Tensor:
    """BCE with per-class weights (broadcast over the leading axes), reduced."""
    weights = weights.to(device=logits.device, dtype=logits.dtype)
    targets = targets.to(logits.dtype)
    loss = weights * F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return _reduce(loss, reduction)


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
        training set (see :func:`sedlib.training.split.count_class_frames`); this is the reading
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
    return _class_weighted_bce(logits, targets, weights, reduction)


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
    gamma = _check_gamma(gamma, "gamma")
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


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 2.0,
    alpha: float = 0.25,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """The alpha-balanced focal loss of Lin et al. (2017), per frame and class.

    ``-(alpha (1-p)^gamma z log p + (1-alpha) p^gamma (1-z) log(1-p))``:
    E3 with the class-balancing weight ``alpha`` on positives and
    ``1 - alpha`` on negatives.

    Parameters
    ----------
    logits, targets : torch.Tensor
        As in :func:`bce_loss`.
    gamma : float
        Focusing exponent, non-negative (published: 2).
    alpha : float
        Weight of the positive term, in [0, 1] (published: 0.25).
    reduction : {"mean", "sum", "none"}
        As in :func:`bce_loss`.

    Returns
    -------
    torch.Tensor
        The loss, reduced.

    Examples
    --------
    >>> focal_loss(torch.zeros(2), torch.tensor([1.0, 0.0]), reduction="none")
    tensor([0.0433, 0.1300])
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    _check_inputs(logits, targets, reduction)
    gamma = _check_gamma(gamma, "gamma")
    targets = targets.to(logits.dtype)
    log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)
    pos = alpha * torch.exp(gamma * log_q) * targets * log_p
    neg = (1.0 - alpha) * torch.exp(gamma * log_p) * (1.0 - targets) * log_q
    return _reduce(-(pos + neg), reduction)


def class_balanced_weights(class_frames: Any, beta: float = 0.9999) -> torch.Tensor:
    """Class-balanced weights of Cui et al. (2019) from per-class sample counts.

    ``w_m = (1 - beta) / (1 - beta^n_m)``, the inverse of the effective number
    of samples, normalised so that the weights sum to the number of classes.
    A class with no sample gets the largest weight (its limit ``n_m -> 1``).

    Parameters
    ----------
    class_frames : array-like
        Sample counts ``n_m`` per class (here: active training frames).
    beta : float
        In [0, 1); 0 gives equal weights, values near 1 approach inverse frequency.

    Returns
    -------
    torch.Tensor
        float32 weights ``(classes,)``.
    """
    counts = np.asarray(
        class_frames.detach().cpu() if isinstance(class_frames, torch.Tensor) else class_frames,
        dtype=np.float64,
    )
    if not 0.0 <= float(beta) < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    if counts.ndim != 1 or not counts.size:
        raise ValueError(f"class_frames must be one count per class, got shape {counts.shape}")
    if (counts < 0).any():
        raise ValueError(f"class_frames must be non-negative, got min {counts.min()}")
    n = np.maximum(counts, 1.0)
    # 1 - beta^n computed as -expm1(n log beta): exact for beta close to 1
    effective = -np.expm1(n * np.log(beta)) / (1.0 - beta) if beta > 0 else np.ones_like(n)
    weights = 1.0 / effective
    return torch.as_tensor(weights * len(weights) / weights.sum(), dtype=torch.float32)


def class_balanced_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_frames: Any,
    beta: float = 0.9999,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """BCE weighted per class by the effective number of samples (Cui et al., 2019).

    Each class's binary term, positive and negative frames alike, is weighted
    by :func:`class_balanced_weights` of its active training frames: the
    sigmoid form of the class-balanced loss, with classes as the labels of a
    multi-label problem (as E2 does with ``C / (N_m + C)``).

    Parameters
    ----------
    logits, targets : torch.Tensor
        As in :func:`bce_loss`.
    class_frames : array-like of shape (classes,)
        Active frames ``n_m`` per class in the training set.
    beta : float
        Hyper-parameter of the effective number (published: 0.9, 0.99,
        0.999, 0.9999; 0.9999 is the default here).
    reduction : {"mean", "sum", "none"}
        As in :func:`bce_loss`.

    Returns
    -------
    torch.Tensor
        The loss, reduced.
    """
    _check_inputs(logits, targets, reduction)
    weights = class_balanced_weights(class_frames, beta)
    if weights.shape[0] != logits.shape[-1]:
        raise ValueError(
            f"class_frames has {weights.shape[0]} counts, expected {logits.shape[-1]} (one per class)"
        )
    return _class_weighted_bce(logits, targets, weights, reduction)


def asymmetric_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """The asymmetric loss (ASL) of Ridnik et al. (2021), per frame and class.

    ``-(z (1-p)^gamma_pos log p + (1-z) p_m^gamma_neg log(1 - p_m))`` with
    ``p_m = max(p - clip, 0)``: negatives are focused harder than positives,
    and negatives with ``p <= clip`` are discarded altogether.

    Parameters
    ----------
    logits, targets : torch.Tensor
        As in :func:`bce_loss`.
    gamma_pos, gamma_neg : float
        Focusing exponents of positive and negative frames (published: 0 and 4).
    clip : float
        Probability margin of the negatives, in [0, 1) (published: 0.05).
    reduction : {"mean", "sum", "none"}
        As in :func:`bce_loss`.

    Returns
    -------
    torch.Tensor
        The loss, reduced.

    Examples
    --------
    >>> asymmetric_loss(torch.zeros(2), torch.tensor([1.0, 0.0]), reduction="none")
    tensor([0.6931, 0.0245])
    """
    _check_inputs(logits, targets, reduction)
    gamma_pos = _check_gamma(gamma_pos, "gamma_pos")
    gamma_neg = _check_gamma(gamma_neg, "gamma_neg")
    if not 0.0 <= float(clip) < 1.0:
        raise ValueError(f"clip must lie in [0, 1), got {clip!r}")
    targets = targets.to(logits.dtype)
    log_p = F.logsigmoid(logits)
    pos = torch.exp(gamma_pos * F.logsigmoid(-logits)) * log_p
    if clip > 0:
        q_m = (torch.sigmoid(-logits) + clip).clamp(max=1.0)  # 1 - p_m, at least clip
        p_m = 1.0 - q_m
        log_q_m = torch.log(q_m)
    else:
        p_m, log_q_m = torch.sigmoid(logits), F.logsigmoid(-logits)
    neg = (p_m**gamma_neg if gamma_neg else 1.0) * log_q_m
    return _reduce(-(targets * pos + (1.0 - targets) * neg), reduction)


def _check_gamma(gamma: float, name: str) -> float:
    gamma = float(gamma)
    if not gamma >= 0.0:
        raise ValueError(f"{name} must be non-negative, got {gamma!r}")
    return gamma


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
    "focal": focal_loss,
    "class_balanced": class_balanced_loss,
    "asymmetric": asymmetric_loss,
}
_ALIASES = {"e1": "bce", "e2": "inverse_frequency", "e3": "duration_robust"}
_REQUIRED = {"inverse_frequency": ("class_frames",), "class_balanced": ("class_frames",)}
#: Losses whose ``gamma`` parameter is part of a run's name.
GAMMA_LOSSES = ("duration_robust", "focal")


def canonical_loss_name(name: str) -> str:
    """The registry name of a loss (``"E3"`` -> ``"duration_robust"``); ValueError if unknown."""
    key = _ALIASES.get(str(name).lower(), str(name))
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known losses: {sorted(LOSSES)}")
    return key


def get_loss(name: str, **params: Any) -> Loss:
    """A configured loss by name, so that runs are described by plain data.

    Parameters
    ----------
    name : str
        ``"bce"``, ``"inverse_frequency"``, ``"duration_robust"`` (or ``"E1"``,
        ``"E2"``, ``"E3"``), ``"focal"``, ``"class_balanced"`` or ``"asymmetric"``.
    **params
        Keyword parameters of that loss (``gamma`` for E3; ``class_frames`` and
        ``C`` for E2; ``gamma``, ``alpha`` for focal; ``class_frames``, ``beta``
        for class balanced; ``gamma_pos``, ``gamma_neg``, ``clip`` for asymmetric).

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
    key = canonical_loss_name(name)
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
    for name_ in ("gamma", "gamma_pos", "gamma_neg"):
        if name_ in params:
            params[name_] = _check_gamma(params[name_], name_)
    return Loss(key, params)
