"""Training throughput on the CPU: this code's training loop against the loop of sedlib 0.1, in one run.

How it measures: the old code is checked out from git (commit ``df452af``,
the last commit before the faster loop) into a temporary folder; both
versions train the same run (full CRNN, BCE, batch 16, development ->
evaluation, no early stopping) on the same generated data, each in its own
process with the same thread count, alternating old, new, old, new so that
both see the same machine load. Per epoch each records the whole epoch
(training plus validation) and its training part; the first epoch of every
process is warm-up and left out; the table gives medians over the remaining
epochs in clips per second.

Run: ``python benchmarks/bench_training.py [--epochs 5] [--rounds 2] [--dataset synthetic-small]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

ROOT = Path(__file__).resolve().parents[1]
OLD_COMMIT = "df452af"

OLD = """
import json, sys
from sedlib.train import TrainConfig, train
config = TrainConfig(dataset=sys.argv[1], loss="bce", epochs=int(sys.argv[2]), batch_size=16, patience=0, device="cpu")
result = train(config, sys.argv[3], progress=False)
print(json.dumps({"history": result["history"], "clips": result["train_clips"]}))
"""

NEW = """
import json, sys
from sedlib.training import TrainConfig, train
config = TrainConfig(dataset=sys.argv[1], protocol="dev-eval", loss="bce", epochs=int(sys.argv[2]),
                     batch_size=16, patience=0, device="cpu",
                     max_steps=0, warmup_steps=0, patience_steps=0)
record = train(config, sys.argv[3], progress=False)
print(json.dumps({"history": record.folds[0].history, "clips": record.folds[0].train_clips}))
"""


def old_checkout(folder: Path) -> Path:
    """``sedlib/`` of the old commit, extracted with ``git archive``."""
    archive = subprocess.run(
        ["git", "archive", OLD_COMMIT, "sedlib"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run(
    code: str, pythonpath: Path, dataset: Path, epochs: int, out: Path, data_root: Path
) -> dict:
    """Train in a fresh process that imports sedlib from ``pythonpath`` (cwd outside the checkout)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "SEDLIB_DATA_ROOT": str(data_root)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(dataset), str(epochs), str(out)],
        capture_output=True, text=True, env=env, check=False, cwd=out.parent,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dataset", default="synthetic-small", help="a generated data set name")
    args = parser.parse_args()
    from sedlib.data.registry import get_dataset

    dataset = get_dataset(args.dataset, progress=False).audio_dir
    samples: dict[str, dict[str, list[float]]] = {
        v: {"epoch": [], "training": []} for v in ("old", "new")
    }
    clips = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        versions = {"old": (OLD, old_checkout(tmp / "old")), "new": (NEW, ROOT)}
        for k in range(args.rounds):
            for name, (code, path) in versions.items():
                result = run(
                    code, path, dataset, args.epochs, tmp / f"{name}-{k}", tmp / f"root-{name}"
                )
                clips[name] = result["clips"]
                for record in result["history"][1:]:  # the first epoch is warm-up
                    samples[name]["epoch"].append(result["clips"] / record["seconds"])
                    samples[name]["training"].append(result["clips"] / record["seconds_training"])
    rows = []
    for part in ("epoch", "training"):
        old, new = (statistics.median(samples[v][part]) for v in ("old", "new"))
        rows.append(
            {
                "clips / s": "whole epoch (training + validation)"
                if part == "epoch"
                else "training part only",
                f"sedlib 0.1 ({OLD_COMMIT})": f"{old:.1f}",
                "this code": f"{new:.1f}",
                "speed-up": f"**{new / old:.2f}x**" if part == "epoch" else f"{new / old:.2f}x",
            }
        )
    print(f"# {machine()}")
    print(f"# {dataset.name}: {clips['new']} training clips of 10 s, full CRNN, batch 16, {args.epochs} epochs x "
          f"{args.rounds} rounds per version, first epoch of each left out; medians")  # fmt: skip
    print_table(rows, "CPU training loop, sedlib 0.1 against this code, same run")


if __name__ == "__main__":
    main()
