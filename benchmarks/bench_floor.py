"""The arithmetic floor of the study's grids: FLOPs against the device's measured matrix throughput.

Counts the floating point operations of one training step of the CRNN
(forward + backward, ``torch.utils.flop_counter``) and of one validation
forward pass, multiplies them out to the "paper" + "gamma" grids at the
paper's data size (70 distinct runs), and divides by the matrix-multiply
throughput measured on this device (float32 on CPU, bfloat16 on CUDA). No
implementation can train the grid faster than that floor on this device;
the ratio of a measured time to it says how close to the limit it runs.

Run: ``python benchmarks/bench_floor.py [--device cpu|cuda] [--epochs 60]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from sedlib.model import CRNN

#: The paper's data: 192 min of development audio (80% trained on), 74 min of evaluation.
TRAIN_CLIPS = round(192 * 6 * 0.8)
VALIDATION_CLIPS = round(192 * 6 * 0.2)
EVALUATION_CLIPS = 74 * 6
#: Distinct runs of the "paper" (4 methods) and "gamma" (5 γ) grids, 10 seeds: γ=1 and 4 are shared.
GRID_RUNS = 70


def flops_per_clip(n_classes: int = 25) -> tuple[float, float]:
    """(training step, forward only) FLOPs of one 10 s clip."""
    model = CRNN(n_classes=n_classes)
    x = torch.randn(4, 500, 64)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    train = counter.get_total_flops() / 4
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()
        model(x)
    return train, counter.get_total_flops() / 4


def matmul_throughput(device: str, size: int = 4096, repeats: int = 10) -> float:
    """Measured FLOP/s of a square matrix product (float32 on CPU, bfloat16 on CUDA)."""
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if not device.startswith("cuda"):
        size = min(size, 2048)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--epochs", type=int, default=60, help="epochs per run (the default config)"
    )
    args = parser.parse_args()
    print(machine())
    train, forward = flops_per_clip()
    per_epoch = train * TRAIN_CLIPS + forward * VALIDATION_CLIPS
    per_run = per_epoch * args.epochs + forward * EVALUATION_CLIPS
    grid = per_run * GRID_RUNS
    peak = matmul_throughput(args.device)
    print_table(
        [
            {
                "quantity": "training step, one 10 s clip (fwd + bwd)",
                "value": f"{train / 1e9:.2f} GFLOP",
            },
            {"quantity": "forward pass, one clip", "value": f"{forward / 1e9:.2f} GFLOP"},
            {
                "quantity": f"one epoch at the paper's size ({TRAIN_CLIPS} training + {VALIDATION_CLIPS} validation clips)",
                "value": f"{per_epoch / 1e12:.2f} TFLOP",
            },
            {
                "quantity": f"the paper + gamma grids ({GRID_RUNS} runs x {args.epochs} epochs)",
                "value": f"{grid / 1e15:.2f} PFLOP",
            },
            {
                "quantity": f"measured matrix throughput on {args.device}",
                "value": f"{peak / 1e12:.2f} TFLOP/s",
            },
            {"quantity": "floor: one epoch", "value": f"{per_epoch / peak:.2f} s"},
            {"quantity": "floor: the grids", "value": f"{grid / peak / 60:.1f} min"},
        ],
        "Arithmetic floor of the study",
    )


if __name__ == "__main__":
    main()
