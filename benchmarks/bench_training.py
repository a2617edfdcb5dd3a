"""Training throughput: the real training loop against bare forward+backward of the same CRNN.

Bare: random ``(batch, 500, 64)`` inputs and random targets already on the
device, the same model, loss, optimizer and batch size, nothing else timed.
Loop: ``sedlib.train.train`` on a data set, timing the training part of each
epoch (``seconds_training`` in the history: batches, losses, optimizer
steps) and, separately, whole epochs with validation. The first epoch (and
the first bare steps) are warm-up and left out. The bare model runs twice:
with full batches, and with the loop's own batch sizes (the last batch of an
epoch is smaller), the like-for-like comparison. Target: loop >= 90% of bare.

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
from sedlib.train import TrainConfig, train

from sedlib.losses import get_loss
from sedlib.model import CRNN


def bare_clips_per_second(
    n_classes: int, batch_sizes: list[int], device: str, steps: int, amp: bool, loss_name: str
) -> float:
    """Forward + loss + backward + Adam step on random tensors already on the device.

    ``batch_sizes`` is cycled through, e.g. ``[16, 16, 16, 16, 8]`` for an epoch of 72 clips.
    """
    torch.manual_seed(0)
    model = CRNN(n_classes=n_classes).to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (
        get_loss(loss_name, gamma=1.0) if loss_name == "duration_robust" else get_loss(loss_name)
    )
    largest = max(batch_sizes)
    x_all = torch.randn(largest, 500, 64, device=device)
    y_all = (torch.rand(largest, 500, n_classes, device=device) < 0.1).float()
    use_amp = amp and device.startswith("cuda")

    def step(size: int) -> None:
        with torch.autocast(
            device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=use_amp
        ):
            logits = model(x_all[:size])
        loss = loss_fn(logits.float(), y_all[:size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    sizes = [batch_sizes[k % len(batch_sizes)] for k in range(steps)]
    for size in sizes[:3]:
        step(size)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for size in sizes:
        step(size)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return sum(sizes) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-small")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--loss", default="duration_robust")
    parser.add_argument("--bare-steps", type=int, default=25)
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
    full, last = divmod(clips, args.batch_size)
    epoch_batches = [args.batch_size] * full + ([last] if last else [])
    bare = {
        "full": bare_clips_per_second(
            n_classes, [args.batch_size], args.device, args.bare_steps, config.amp, args.loss
        ),
        "same": bare_clips_per_second(
            n_classes, epoch_batches, args.device, args.bare_steps, config.amp, args.loss
        ),
    }
    print(f"{result['dataset']['name']}: {clips} training clips of 10 s, {args.loss}")

    def row(measure: str, rate: float) -> dict:
        return {
            "measure": measure,
            "clips / s": f"{rate:.1f}",
            "vs bare, full batches": f"{rate / bare['full']:.0%}",
            "vs bare, loop's batches": f"{rate / bare['same']:.0%}",
        }

    print_table(
        [
            row(f"bare fwd+bwd+step, batches of {args.batch_size}", bare["full"]),
            row(f"bare fwd+bwd+step, batches {epoch_batches}", bare["same"]),
            row("training loop, training part of the epoch", loop_train),
            row("training loop, whole epoch incl. validation", loop_whole),
        ],
        f"Training throughput on {args.device} ({len(history)} timed epochs, {args.bare_steps} bare steps)",
    )


if __name__ == "__main__":
    main()
