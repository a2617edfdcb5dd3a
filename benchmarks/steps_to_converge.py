"""How many optimizer steps a run needs on the calibrated rung: the pilot behind the default budget.

Trains six runs of seed 0 as one batched group (:mod:`sedlib.training.batched`)
on synthetic-tut-timeline at -30 dB, dev-eval, 32 channels, with a fixed
number of epochs and no early stopping: BCE, IF and DR γ=4 with the default
output bias (the class priors), and BCE, IF (per-clip N_m) and DR γ=1 with
zero output biases (the paper-like settings). Prints each run's validation
macro F after every epoch, with the optimizer steps so far; the numbers
behind :data:`sedlib.training.config.DEFAULT_MAX_STEPS` and its neighbours.

Run: ``SEDLIB_TUT_META=... python benchmarks/steps_to_converge.py --epochs 13``
(one thread; about 2.5 min an epoch on a quiet core; resumes when run again
with the same ``--out``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from sedlib.training import RunRecord, TrainConfig
from sedlib.training.batched import train_batched

PILOT = [
    {"loss": "bce"},
    {"loss": "inverse_frequency"},
    {"loss": "duration_robust", "gamma": 4.0},
    {"loss": "bce", "output_bias": "zero"},
    {"loss": "inverse_frequency", "output_bias": "zero", "class_frames": "clip"},
    {"loss": "duration_robust", "gamma": 1.0, "output_bias": "zero"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("data/pilot"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = {
        "dataset": "synthetic-tut-timeline-ebr-30",
        "protocol": "dev-eval",
        "model": {"channels": 32},
        "device": "cpu",
        "epochs": args.epochs,
        "max_steps": 0,
        "warmup_steps": 0,
        "patience_steps": 0,
    }
    configs = [TrainConfig(**{**base, **p}) for p in PILOT]
    dirs = [args.out / f"{c.describe()}-{c.output_bias}" for c in configs]
    records = train_batched(configs, dirs, groups_dir=args.out / ".batched", progress=True)
    print(f"# {machine()}\n")
    print("| run | output bias | " + " | ".join(f"ep {e + 1}" for e in range(args.epochs)) + " |")
    print("|---|---|" + "---|" * args.epochs)
    for config, record in zip(configs, records, strict=True):
        assert isinstance(record, RunRecord), record
        values = " | ".join(f"{h['val_macro_f'] * 100:.1f}" for h in record.folds[0].history)
        print(f"| {config.describe()} | {config.output_bias} | {values} |")
    steps = [h["step"] for h in records[0].folds[0].history]
    print(f"\noptimizer steps at the end of each epoch: {steps}")


if __name__ == "__main__":
    main()
