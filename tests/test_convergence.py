"""The step budget, the warm-up of model selection and the convergence criterion.

The loop's rule (:func:`sedlib.training.loop.end_epoch` and
:meth:`RunState.stop_reason`) and the reader's rule
(:func:`sedlib.training.convergence.assess`) must agree on every history:
the model a training keeps is the one ``assess`` calls best, and a training
that stopped on its plateau is the one ``assess`` calls converged.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sedlib.training.config import DEFAULT_PATIENCE_STEPS, TrainConfig
from sedlib.training.convergence import BUDGET, EPOCHS, PLATEAU, assess, criterion
from sedlib.training.loop import RunState, end_epoch, planned_steps


def config(**kw) -> TrainConfig:
    base = {"dataset": "unused", "device": "cpu", "epochs": 0, "patience": 0}
    return TrainConfig(**{**base, **kw})


def simulate(cfg: TrainConfig, scores: list[tuple[float, float]], per_epoch: int) -> RunState:
    """Run the loop's bookkeeping over given (macro F, validation loss) per epoch until it stops."""
    state = RunState()
    for f, loss in scores:
        if state.finished(cfg):
            break
        metrics = SimpleNamespace(macro_f=f, micro_f=f)
        end_epoch(state, cfg, per_epoch, 0.1, loss, metrics, 1.0, 1.0)
    return state


def test_the_warmup_keeps_no_model_validated_before_it():
    """The first epoch's 'everything active' model scores best, but lies inside the warm-up."""
    cfg = config(max_steps=60, warmup_steps=20, patience_steps=0)
    scores = [(0.08, 0.7), (0.02, 0.5), (0.03, 0.4), (0.05, 0.3), (0.04, 0.3), (0.06, 0.2)]
    state = simulate(cfg, scores, per_epoch=10)
    assert (state.best_epoch, state.best_step) == (6, 60)
    assert (
        simulate(config(max_steps=60, warmup_steps=0, patience_steps=0), scores, 10).best_epoch == 1
    )


def test_the_budget_is_counted_in_steps_whatever_the_epoch_length():
    """A small data set (5 steps an epoch) trains as many steps as a large one (58)."""
    cfg = config(max_steps=290, warmup_steps=0, patience_steps=0)
    rising = [(0.01 * k, 1.0) for k in range(1, 200)]
    small, large = simulate(cfg, rising, 5), simulate(cfg, rising, 58)
    assert (small.steps, small.epoch) == (290, 58)
    assert (large.steps, large.epoch) == (290, 5)
    assert small.stop_reason(cfg) == large.stop_reason(cfg) == BUDGET
    assert (
        planned_steps(cfg, 58) == 290
        and planned_steps(config(max_steps=300, warmup_steps=0), 58) == 348
    )


def test_a_plateau_stops_the_training_and_counts_as_converged():
    cfg = config(max_steps=10_000, warmup_steps=0, patience_steps=30)
    scores = [(0.1, 1.0), (0.3, 0.9), (0.2, 0.8), (0.25, 0.7), (0.29, 0.6), (0.5, 0.5)]
    state = simulate(cfg, scores, per_epoch=10)
    assert (state.best_step, state.steps, state.stop_reason(cfg)) == (20, 50, PLATEAU)
    found = assess(state.history, 0, 30)
    assert found.converged and (found.best_step, found.steps_since_best) == (20, 30)


def test_a_training_cut_off_while_improving_has_not_converged():
    cfg = config(max_steps=60, warmup_steps=0, patience_steps=30)
    state = simulate(cfg, [(0.01 * k, 1.0) for k in range(1, 20)], per_epoch=10)
    assert state.stop_reason(cfg) == BUDGET
    assert not assess(state.history, 0, 30).converged
    capped = config(epochs=3, max_steps=0, warmup_steps=0, patience_steps=30)
    assert simulate(capped, [(0.1, 1.0)] * 9, 10).stop_reason(capped) == EPOCHS


@pytest.mark.parametrize("seed", range(40))
def test_the_loop_and_the_reader_agree_on_random_histories(seed):
    """Random noisy histories: the kept model and the verdict of the loop equal ``assess``'s."""
    rng = np.random.default_rng(seed)
    per_epoch = int(rng.integers(3, 60))
    cfg = config(
        max_steps=int(rng.integers(200, 2000)),
        warmup_steps=int(rng.integers(0, 150)),
        patience_steps=int(rng.integers(20, 400)),
    )
    f = np.clip(np.cumsum(rng.normal(0.002, 0.02, 400)), 0, 1).round(2)  # ties happen
    loss = np.maximum(1 - np.cumsum(rng.uniform(0, 0.01, 400)), 0.01).round(2)
    state = simulate(cfg, list(zip(f.tolist(), loss.tolist(), strict=True)), per_epoch)
    found = assess(state.history, cfg.warmup_steps, cfg.patience_steps)
    assert found.best_step == state.best_step
    assert found.converged == (state.stop_reason(cfg) == PLATEAU)


def test_histories_without_steps_count_epochs_of_their_length():
    """A record of sedlib 0.3 (epochs only) is judged in steps from its clips and batch size."""
    history = [{"epoch": e, "val_macro_f": f, "val_loss": 1.0} for e, f in [(1, 0.2), (2, 0.1)]]
    with pytest.raises(ValueError, match="steps_per_epoch"):
        assess(history, 0, 5)
    found = assess(history, warmup_steps=0, patience_steps=5, steps_per_epoch=5)
    assert (found.best_step, found.steps_run, found.converged) == (5, 10, True)
    assert criterion({"batch_size": 16}) == criterion({"warmup_steps": 0, "patience_steps": 0})


def test_an_undefined_score_is_never_kept():
    history = [
        {"step": 10, "val_macro_f": math.nan, "val_loss": 0.1},
        {"step": 20, "val_macro_f": 0.0, "val_loss": 0.5},
    ]
    assert assess(history, 0, 5).best_step == 20
    assert assess(history[:1], 0, 5).best_step == -1 and not assess(history[:1], 0, 5).converged


def test_every_run_is_judged_at_the_study_bar_or_its_own_longer_patience():
    """A run that stopped on a shorter patience has not converged by the bar; a longer one counts."""
    assert criterion({"warmup_steps": 300, "patience_steps": 800}) == (300, DEFAULT_PATIENCE_STEPS)
    assert criterion({"warmup_steps": 300, "patience_steps": 0}) == (300, DEFAULT_PATIENCE_STEPS)
    longer = DEFAULT_PATIENCE_STEPS + 500
    assert criterion({"warmup_steps": 300, "patience_steps": longer}) == (300, longer)
    cfg = config(max_steps=20_000, warmup_steps=0, patience_steps=800)
    scores = [(0.5, 1.0)] + [(0.4, 1.0)] * 60  # best at step 100, then a plateau
    state = simulate(cfg, scores, per_epoch=100)
    assert state.stop_reason(cfg) == PLATEAU and state.steps == 900
    assert not assess(state.history, *criterion(cfg.resolved("cpu"))).converged


def test_the_patience_analysis_reproduces_its_numbers_in_results_md():
    """``benchmarks/patience.py`` on the committed patience-800 set prints what RESULTS.md says."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    slug = "cause-baseline/synthetic-tut-timeline-ebr-30_dev-eval_cpu_942108da"
    command = [sys.executable, "benchmarks/patience.py", slug]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "20 trainings" in out and "longest 832 steps" in out and "13 of 600+" in out
    assert "validation loss was lowest in their last two validations: 5" in out
    results = (root / "benchmarks" / "RESULTS.md").read_text()
    section = results[results.index("## Patience") :]
    for method, r in (
        ("bce", "+0.86"),
        ("duration_robust γ=4", "+0.87"),
        ("inverse_frequency", "+0.85"),
    ):
        line = next(x for x in out.splitlines() if x.startswith(method + " "))
        assert line.endswith(f"correlation(kept step, test F) {r}"), line
        assert f"**{r}**" in section, r  # the number RESULTS.md gives is the one measured
