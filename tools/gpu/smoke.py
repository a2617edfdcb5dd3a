"""Smoke-test every path a GPU study uses, in about a minute, before any grid runs.

``python tools/gpu/smoke.py --device cuda`` on the GPU machine; CI runs the
same checks with ``--device cpu`` (``tests/test_gpu_path.py``). Each check
prints one ``PASS``/``FAIL`` line with its time; the exit status is the
number of failed checks.

1. features: the torch log-mel on the device equals the numpy one (1e-3);
2. every loss, forward and backward under the device's mixed precision
   (bfloat16 autocast on CUDA), matches float64 on the CPU; the first
   convolutional block's folded batch norm matches the plain sequence;
3. a folds run of two epochs, interrupted after three epochs and resumed,
   ends with the same result as an uninterrupted one (exactly on the CPU,
   within tolerance on CUDA, whose kernels are not deterministic);
4. two runs at once through ``sedlib sweep --executor python --jobs 2``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def check_features(device: torch.device) -> str:
    from sedlib.features import log_mel, log_mel_batch

    y = np.random.default_rng(0).standard_normal((3, 44100 * 10)).astype(np.float32) * 0.1
    fast = log_mel_batch(y, 44100, device=device).cpu().numpy()
    reference = np.stack([log_mel(x, 44100) for x in y])
    worst = float(np.abs(fast - reference).max())
    assert fast.shape == (3, 500, 64) and worst < 1e-3, f"max difference {worst}"
    return f"(3, 500, 64) on {device}, max difference {worst:.1e}"


def check_losses(device: torch.device) -> str:
    from sedlib.losses import LOSSES, get_loss

    g = torch.Generator().manual_seed(0)
    logits, targets = (
        torch.randn(4, 500, 25, generator=g) * 3,
        (torch.rand(4, 500, 25, generator=g) < 0.1).float(),
    )
    frames = np.maximum(targets.sum((0, 1)).numpy().astype(np.int64), 1)
    extra = {
        "inverse_frequency": {"class_frames": frames},
        "class_balanced": {"class_frames": frames},
    }
    worst = 0.0
    for name in LOSSES:
        loss = get_loss(name, **extra.get(name, {}))
        x = logits.to(device).requires_grad_()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            value = loss(x * 1.0, targets.to(device))
        value.backward()
        reference = loss(logits.double(), targets.double())
        assert torch.isfinite(value) and torch.isfinite(x.grad).all(), name
        worst = max(worst, abs(value.item() - reference.item()) / abs(reference.item()))
    assert worst < 2e-2, f"relative difference {worst}"
    return f"{len(LOSSES)} losses, largest relative difference to float64 {worst:.1e}"


def check_conv_block(device: torch.device) -> str:
    """The first block's folded batch norm against the plain sequence, in the device's precision."""
    from sedlib.model import CRNN

    torch.manual_seed(0)
    block = CRNN(n_classes=3, channels=32).cnn[0].to(device).train()
    block.dropout.p = 0.0
    x = torch.randn(8, 1, 500, 64, device=device) * 3
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        fast = block(x).float()
        plain = block.dropout(block.pool(block.act(block.norm(block.conv(x))))).float()
    worst = float((fast - plain).abs().max() / plain.abs().max())
    assert worst < 2e-2, f"relative difference {worst}"
    return f"first block, folded against plain batch norm: relative difference {worst:.1e}"


def tiny_dataset(root: Path):
    from sedlib.data.synthetic import generate
    from sedlib.data.synthetic.generate import Preset

    return generate(root / "tiny", Preset(2.0, 0.5, 30.0, (1, 1)), seed=11, jobs=2, progress=False)


def check_resume(device: torch.device, root: Path) -> str:
    from sedlib.training import Interrupted, TrainConfig, train

    data = tiny_dataset(root)
    config = TrainConfig(
        dataset=str(data.audio_dir), protocol="folds", loss="duration_robust", epochs=2, batch_size=8,
        device=str(device), model={"channels": 16}, patience=0,
        max_steps=0, warmup_steps=0, patience_steps=0,  # a budget of 2 epochs, not of steps
    )  # fmt: skip
    whole = train(config, root / "whole", dataset=data, progress=False)
    assert isinstance(
        train(config, root / "split", dataset=data, progress=False, stop_after_epochs=3),
        Interrupted,
    )
    resumed = train(config, root / "split", dataset=data, progress=False)
    losses = [
        np.array([h["val_loss"] for h in r.history.to_dict("records")]) for r in (whole, resumed)
    ]
    worst = float(np.abs(losses[0] - losses[1]).max())
    if device.type == "cpu":
        assert worst == 0.0, f"validation losses differ by {worst} after resuming"
    else:
        assert worst < 1e-2, f"validation losses differ by {worst} after resuming"
    return f"4 folds x 2 epochs, resumed after 3 epochs: validation losses differ by {worst:.1e}"


def check_concurrent_runs(device: torch.device, root: Path) -> str:
    from sedlib.cli import sweep_caller
    from sedlib.study.sweep import run_grid

    data = tiny_dataset(root)
    result = run_grid(
        "smoke",
        dataset=str(data.audio_dir),
        overrides={"device": str(device)},
        jobs=2,
        executor="python",
        caller=sweep_caller(),
        runs_root=root / "runs",
        results_root=root / "results",
    )
    assert result is not None and len(result.table) == 2, "two runs expected"
    return f"2 runs at once, {', '.join(result.table['run'])}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.setdefault("SEDLIB_DATA_ROOT", str(root / "data-root"))
        checks = (
            ("features", lambda: check_features(device)),
            ("losses", lambda: check_losses(device)),
            ("conv block", lambda: check_conv_block(device)),
            ("resume", lambda: check_resume(device, root)),
            ("concurrent runs", lambda: check_concurrent_runs(device, root)),
        )
        for name, check in checks:
            start = time.perf_counter()
            try:
                detail = check()
                print(f"PASS {name} ({time.perf_counter() - start:.1f} s): {detail}", flush=True)
            except Exception as err:
                failures += 1
                print(f"FAIL {name} ({time.perf_counter() - start:.1f} s): {err}", flush=True)
                traceback.print_exc()
    return failures


if __name__ == "__main__":
    sys.exit(main())
