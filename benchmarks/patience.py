"""How long the validation score of a result set's runs pauses before it improves again.

A patience shorter than the pauses a still-improving training makes stops
trainings by chance. This reads the whole records of a result set (each
training's validation history, in optimizer steps) and prints, per run:

- where it stopped, where its best score was, and where its validation loss
  was lowest (a loss still at its lowest when the run stopped says the run
  was still learning);
- its pauses: the steps between two successive better scores, from the
  warm-up on, with the improvement that ended each pause;

then the longest pause that ended in a better score, how the runs' test
macro F goes with the step of their kept model, and how many runs a
patience of each length would have stopped before that step.

Usage::

    python benchmarks/patience.py cause-baseline/synthetic-tut-timeline-ebr-30_dev-eval_cpu_942108da

Numbers: ``benchmarks/RESULTS.md``, "Patience".
"""

from __future__ import annotations

import argparse

import numpy as np

from sedlib.study.results import load_result
from sedlib.training.convergence import NO_SCORE, history_steps, selection_score
from sedlib.training.record import RunRecord


def pauses(history: list[dict], warmup: int) -> list[tuple[int, int, float]]:
    """(step it began, its length in steps, the gain in F that ended it) of each pause
    between two successive better selection scores from ``warmup`` on."""
    steps = history_steps(history)
    found, best, since = [], NO_SCORE, None
    for entry, step in zip(history, steps, strict=True):
        score = selection_score(entry)
        if step < warmup or score <= best:
            continue
        if since is not None:
            found.append((since, step - since, score[0] - best[0]))
        best, since = score, step
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", help="GRID/SLUG of a result set with whole records")
    parser.add_argument("--warmup", type=int, default=300, help="steps before selection starts")
    args = parser.parse_args()
    grid, slug = args.result.split("/", 1)
    result = load_result(grid, slug)
    rows = []
    print(f"{'run':24s} {'stopped':>7s} {'best':>6s} {'val F':>6s} {'low loss':>8s} {'test F':>6s}"
          "  pauses of 400+ steps (length: gain in points)")  # fmt: skip
    for name, data in sorted(result.runs.items()):
        record = RunRecord.from_dict({**data, "run": name})
        for fold in record.folds:
            history = fold.history
            steps = history_steps(history)
            found = pauses(history, args.warmup)
            best = max(range(len(history)), key=lambda k: (steps[k] >= args.warmup,
                                                           selection_score(history[k])))  # fmt: skip
            low = min(range(len(history)), key=lambda k: history[k]["val_loss"])
            long = ", ".join(f"{n}: {100 * g:+.1f}" for _, n, g in found if n >= 400)
            print(f"{name:24s} {steps[-1]:7d} {steps[best]:6d} {100 * history[best]['val_macro_f']:6.1f}"
                  f" {steps[low]:8d} {100 * record.macro_f:6.1f}  {long}")  # fmt: skip
            rows.append((record.loss, record.gamma, steps[-1], steps[best], steps[low],
                         record.macro_f, [n for _, n, _ in found]))  # fmt: skip
    ended = [n for *_, ns in rows for n in ns]
    print(
        f"\n{len(rows)} trainings, {len(ended)} pauses that ended in a better score: "
        f"longest {max(ended)} steps; {sum(n >= 600 for n in ended)} of 600+ steps, "
        f"{sum(n >= 800 for n in ended)} of 800+"
    )
    at_stop = sum(stop - low <= 104 for _, _, stop, _, low, _, _ in rows)
    print(f"runs whose validation loss was lowest in their last two validations: {at_stop}")
    for method in sorted({(loss, gamma) for loss, gamma, *_ in rows}):
        mine = [r for r in rows if (r[0], r[1]) == method]
        best_steps = np.array([r[3] for r in mine], dtype=float)
        test_f = np.array([r[5] for r in mine])
        r = np.corrcoef(best_steps, test_f)[0, 1] if len(mine) > 2 else float("nan")
        label = method[0] if method[0] != "duration_robust" else f"duration_robust γ={method[1]:g}"
        print(f"{label:24s} n={len(mine):2d}  kept step {best_steps.min():.0f}-{best_steps.max():.0f}"
              f"  test macro F {100 * test_f.min():.1f}-{100 * test_f.max():.1f}"
              f"  correlation(kept step, test F) {r:+.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
