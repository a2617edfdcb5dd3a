"""Training throughput: the real training loop against bare forward+backward of the same CRNN.

Bare: random ``(batch, 500, 64)`` inputs and random targets already on the
device, the same model, loss, optimizer and batch size, nothing else timed.
Loop: ``sedlib.train.train`` on a data set, timing the training part of each
epoch (``seconds_training`` in the history: batches, losses, optimizer
steps) and, separately, whole epochs with validation. The first epoch (and
the first bare steps) are warm-up and left out. Target: loop >= 90% of bare.

Run: ``python benchmarks/bench_training.py [--dataset synthetic-small] [--epochs 4] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from sedlib.losses import get_loss
from sedlib.model import CRNN
from sedlib.train import TrainConfig, train


def bare_clips_per_second(
    n_classes: int, batch_size: int, device: str, steps: int, amp: bool, loss_name: str
) -> float:
    """Forward + loss + backward + Adam step on random tensors already on the device."""
    torch.manual_seed(0)
    model = CRNN(n_classes=n_classes).to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (
        get_loss(loss_name, gamma=1.0) if loss_name == "duration_robust" else get_loss(loss_name)
    )
    x = torch.randn(batch_size, 500, 64, device=device)
    y = (torch.rand(batch_size, 500, n_classes, device=device) < 0.1).float()
    use_amp = amp and device.startswith("cuda")

    def step() -> None:
        with torch.autocast(
            device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=use_amp
        ):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return batch_size * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-small")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--loss", default="duration_robust")
    parser.add_argument("--bare-steps", type=int, default=20)
    args = parser.parse_args()
    print(machine())

    config = TrainConfig(
        dataset=args.dataset,
        loss=args.loss,
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        patience=0,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(config, run_dir, progress=False)
    clips = result["train_clips"]
    history = result["history"][1:]  # first epoch: warm-up
    loop_train = clips * len(history) / sum(h["seconds_training"] for h in history)
    loop_whole = clips * len(history) / sum(h["seconds"] for h in history)
    n_classes = len(result["evaluation"]["per_class"])
    bare = bare_clips_per_second(
        n_classes, args.batch_size, args.device, args.bare_steps, config.amp, args.loss
    )
    print(
        f"{result['dataset']['name']}: {clips} training clips of 10 s, batch {args.batch_size}, {args.loss}"
    )
    print_table(
        [
            {
                "measure": "bare forward+backward+step, random tensors",
                "clips / s": f"{bare:.1f}",
                "share of bare": "100%",
            },
            {
                "measure": "training loop, training part of the epoch",
                "clips / s": f"{loop_train:.1f}",
                "share of bare": f"{loop_train / bare:.0%}",
            },
            {
                "measure": "training loop, whole epoch incl. validation",
                "clips / s": f"{loop_whole:.1f}",
                "share of bare": f"{loop_whole / bare:.0%}",
            },
        ],
        f"Training throughput on {args.device} ({len(history)} timed epochs, {args.bare_steps} bare steps)",
    )


if __name__ == "__main__":
    main()
