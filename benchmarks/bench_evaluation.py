"""Evaluation after training against training, for a run at the paper's size.

The paper's size: 4 folds of the 192-min development set, the test folds
pooled. How it measures:

- predictions: the stored predictions of a finished folds run (``--run``;
  the 4 folds' validation and test files), or, without one, smoothed random
  probabilities on ``--dataset``'s folds, a worst case for PSDS (every frame
  score distinct);
- evaluation: :func:`sedlib.evaluation.extended.extended_report` (per-class
  thresholds tuned on each fold's validation files, the pooled test files
  scored at them, segment AP / ROC AUC and the four PSDS on a grid of 50
  thresholds) plus the paper's metrics at 0.5, timed warm (median of 3);
- exact PSDS (every distinct score a threshold, as before): one scenario,
  timed once, to show what the grid saves (``--exact``);
- training: the full CRNN trained for ``--epochs`` epochs on fold 1 here
  (first epoch left out), times 60 epochs (TrainConfig's maximum) and 4
  folds: the training time of one paper-size run on this machine.

Run: ``python benchmarks/bench_evaluation.py [--run DIR] [--dataset synthetic-tut-timeline] [--exact]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from sedlib.evaluation import Predictions
from sedlib.evaluation.extended import extended_report
from sedlib.evaluation.threshold_free import threshold_free_metrics


def stored_folds(run: Path) -> list[tuple[str, Predictions, Predictions]]:
    folds = sorted(p.parent for p in run.glob("fold*/test.npz"))
    return [
        (f.name, Predictions.load(f / "validation.npz"), Predictions.load(f / "test.npz"))
        for f in folds
    ]


def random_folds(dataset) -> list[tuple[str, Predictions, Predictions]]:
    from sedlib.data.cache import build_features
    from sedlib.training.split import protocol_folds, validation_files

    rng = np.random.default_rng(0)
    every = build_features(dataset, "development", progress=False)
    meta = dataset.meta("development")

    def predictions(files, group):
        part = every.subset(files)
        probs = []
        for i in range(len(part.files)):
            n = len(part.file(i)[0])
            noise = rng.random((n, len(part.label_names)))
            smooth = np.apply_along_axis(np.convolve, 0, noise, np.ones(25) / 25, "same") ** 3
            probs.append(smooth.astype(np.float32))
        return Predictions(
            part.files, probs, part.durations, part.label_names, 0.02, meta, [group] * len(probs)
        )

    out = []
    for plan in protocol_folds("folds"):
        held = validation_files(dataset, plan.train_split, 0.2)
        out.append(
            (
                plan.name,
                predictions(held, plan.name),
                predictions(dataset.files(plan.test_split), plan.name),
            )
        )
    return out


def training_seconds_per_epoch(dataset, epochs: int) -> float:
    from sedlib.training import TrainConfig, train

    config = TrainConfig(
        dataset=str(dataset.audio_dir),
        protocol="folds",
        epochs=epochs,
        patience=0,
        device="cpu",
        max_steps=0,
        warmup_steps=0,
        patience_steps=0,  # a budget in epochs
    )
    with tempfile.TemporaryDirectory() as tmp:
        train(config, tmp, dataset=dataset, progress=False, stop_after_epochs=epochs)
        import torch

        state = torch.load(Path(tmp) / "fold1" / "checkpoint.pt", weights_only=False)["state"]
    return statistics.median(h["seconds"] for h in state["history"][1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", type=Path, default=None, help="a finished folds run (its fold*/ folders)"
    )
    parser.add_argument("--dataset", default="synthetic-tut-timeline")
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs trained to time one (first left out)"
    )
    parser.add_argument("--exact", action="store_true", help="also time one exact PSDS scenario")
    args = parser.parse_args()
    from sedlib.data.registry import get_dataset

    dataset = get_dataset(args.dataset, progress=False)
    folds = stored_folds(args.run) if args.run else random_folds(dataset)
    source = (
        f"stored predictions of {args.run.name}"
        if args.run
        else f"smoothed random probabilities on {dataset.name}"
    )
    pooled = Predictions.concat([test for _, _, test in folds])
    minutes = float(pooled.durations.sum()) / 60
    extended_report(folds)  # warm-up
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        report = extended_report(folds)
        pooled.segment_metrics(0.5)
        timings.append(time.perf_counter() - start)
    evaluation = statistics.median(timings)
    rows = [
        {
            "step": "tuned thresholds (4 folds) + pooled metrics",
            "seconds": f"{report['tuned']['seconds']:.1f}",
        },
        {
            "step": "segment AP / AUC + 4 PSDS (50 thresholds)",
            "seconds": f"{report['threshold_free']['seconds']:.1f}",
        },
        {"step": "whole evaluation of the run (median of 3)", "seconds": f"{evaluation:.1f}"},
    ]
    if args.exact:
        start = time.perf_counter()
        threshold_free_metrics(pooled, psds_levels=None)
        exact = time.perf_counter() - start
        rows.append(
            {
                "step": "the same threshold-free metrics, exact PSDS (every score a threshold)",
                "seconds": f"{exact:.0f}",
            }
        )
    per_epoch = training_seconds_per_epoch(dataset, args.epochs)
    training = per_epoch * 60 * len(folds)
    rows += [
        {
            "step": f"training, one epoch of fold 1 (full CRNN, median of {args.epochs - 1})",
            "seconds": f"{per_epoch:.1f}",
        },
        {
            "step": "training, one paper-size run (60 epochs x 4 folds)",
            "seconds": f"{training:.0f}",
        },
        {"step": "**evaluation / training**", "seconds": f"**{evaluation / training:.2%}**"},
    ]
    print(f"# {machine()}")
    print(f"# {source}: {len(pooled)} test files, {minutes:.0f} min pooled over {len(folds)} folds")
    print_table(rows, "Evaluation after training against training, one paper-size run")


if __name__ == "__main__":
    main()
