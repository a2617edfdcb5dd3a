"""Whether a training converged, measured from its own history, in optimizer steps.

The rule (one statement, used by the loop that stops a training and by every
reader of a record):

- a validation counts for model selection only from ``warmup_steps`` on, so
  a model that has not begun to train (every output near the initial bias)
  is never the kept one;
- the *selection score* of a validation is (macro F, − validation loss),
  compared as a tuple: the best F, ties broken by the lower loss;
- a training has *converged* when its best eligible validation is at least
  ``patience_steps`` steps older than its last step: the score has stopped
  improving for that long. A training cut off by its budget (steps or
  epochs) while its score still improved has not.

For records written before the budget was stated in steps (no ``step`` in
their history), a validation's step is its epoch times the steps of an
epoch, ``ceil(train_clips / batch_size)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sedlib.training.config import DEFAULT_PATIENCE_STEPS, DEFAULT_WARMUP_STEPS

#: Why a training stopped: its score plateaued, its step budget, its epoch cap.
STOP_REASONS = (PLATEAU, BUDGET, EPOCHS) = ("plateau", "step budget", "epoch cap")


#: The score before any validation: every real score beats it, an undefined one does not.
NO_SCORE = (-math.inf, -math.inf)


def selection_score(entry: dict) -> tuple[float, float]:
    """The score a validation is selected by: (macro F, − validation loss).

    An undefined F gives :data:`NO_SCORE`, which never beats the best so far;
    an undefined loss loses every tie of F.
    """
    f, loss = entry["val_macro_f"], entry["val_loss"]
    if f is None or math.isnan(f):
        return NO_SCORE
    return float(f), -math.inf if loss is None or math.isnan(loss) else -float(loss)


@dataclass(frozen=True)
class Convergence:
    """What a training's history says about its convergence.

    Attributes
    ----------
    converged : bool
        The best eligible validation is at least ``patience_steps`` old at the end.
    steps_run : int
        Optimizer steps of the training.
    best_step : int
        Step of the best validation from ``warmup_steps`` on (-1: none).
    steps_since_best : int
        ``steps_run - best_step`` (``steps_run`` when there is none).
    warmup_steps, patience_steps : int
        The criterion it was judged by.
    """

    converged: bool
    steps_run: int
    best_step: int
    steps_since_best: int
    warmup_steps: int
    patience_steps: int

    def to_dict(self) -> dict:
        """Plain dictionary."""
        return asdict(self)


def history_steps(history: Sequence[dict], steps_per_epoch: int | None = None) -> list[int]:
    """The optimizer step at the end of each validation of ``history``.

    Raises
    ------
    ValueError
        When the history records no steps and ``steps_per_epoch`` is not given.
    """
    if all("step" in h for h in history):
        return [int(h["step"]) for h in history]
    if not steps_per_epoch:
        raise ValueError("the history records no steps: give steps_per_epoch")
    return [int(h["epoch"]) * steps_per_epoch for h in history]


def best_validation(history: Sequence[dict], steps: Sequence[int], warmup_steps: int) -> int | None:
    """Index of the best eligible validation of ``history`` (the loop's rule); None when none is."""
    best, best_score = None, NO_SCORE
    for k, (entry, step) in enumerate(zip(history, steps, strict=True)):
        score = selection_score(entry)
        if step >= warmup_steps and score > best_score:
            best, best_score = k, score
    return best


def assess(
    history: Sequence[dict],
    warmup_steps: int,
    patience_steps: int,
    steps_per_epoch: int | None = None,
) -> Convergence:
    """Judge a training's convergence from its history (see the module docstring).

    Parameters
    ----------
    history : sequence of dict
        One entry per validation, with ``val_macro_f``, ``val_loss`` and
        ``step`` (or ``epoch``, with ``steps_per_epoch``).
    warmup_steps, patience_steps : int
        The criterion (:class:`~sedlib.training.config.TrainConfig`'s).
    steps_per_epoch : int, optional
        For histories without steps.

    Returns
    -------
    Convergence

    Examples
    --------
    >>> h = [{"step": s, "val_macro_f": f, "val_loss": 1.0} for s, f in
    ...      [(100, 0.3), (200, 0.1), (300, 0.2), (400, 0.25), (500, 0.24)]]
    >>> assess(h, warmup_steps=150, patience_steps=200).converged  # best at 400, 100 old
    False
    >>> assess(h, warmup_steps=0, patience_steps=300).best_step  # the step-100 model counts
    100
    """
    if patience_steps < 1:
        raise ValueError(f"patience_steps must be at least 1, got {patience_steps}")
    steps = history_steps(history, steps_per_epoch)
    steps_run = steps[-1] if steps else 0
    best = best_validation(history, steps, warmup_steps)
    best_step = steps[best] if best is not None else -1
    since = steps_run - best_step if best is not None else steps_run
    return Convergence(
        converged=best is not None and since >= patience_steps,
        steps_run=steps_run,
        best_step=best_step,
        steps_since_best=since,
        warmup_steps=warmup_steps,
        patience_steps=patience_steps,
    )


def criterion(resolved: dict) -> tuple[int, int]:
    """``(warmup_steps, patience_steps)`` a run is judged by, from its resolved settings.

    The patience is the study's bar, :data:`DEFAULT_PATIENCE_STEPS`, or the
    run's own when that is longer: a run that stopped early on a shorter
    patience (the first step budget's 800 steps, or a user's choice) has not
    converged by the bar, so every run meets the same one. A run of a budget
    in epochs (sedlib 0.3 and earlier: no step settings) is judged by the
    defaults too.

    >>> criterion({"warmup_steps": 300, "patience_steps": 800})
    (300, 2000)
    >>> criterion({"warmup_steps": 25, "patience_steps": 5000})
    (25, 5000)
    """
    warmup = resolved.get("warmup_steps") or DEFAULT_WARMUP_STEPS
    patience = max(resolved.get("patience_steps") or 0, DEFAULT_PATIENCE_STEPS)
    return int(warmup), int(patience)
