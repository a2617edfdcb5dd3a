"""Training throughput of the batched engine against one run and the bare model, on this device.

What it measures, in training clips per second (10 s clips of 500 frames,
random features and labels, 25 classes, batch 16 per member):

- ``bare model``: forward, backward and Adam step of one CRNN on a resident
  batch, nothing else (the ceiling of a one-run loop);
- ``one run``: :func:`sedlib.training.loop.train_epoch`, today's loop
  (a seeded batch order, the loss over valid frames, a host sync per batch);
- ``batched M=...``: :func:`sedlib.training.batched._train_epoch`, the
  batched engine's epoch, for groups of M members (mixed seeds and losses),
  with the recurrent layer as ``--gru`` says (``cell``: the stacked GRU cell
  over ``baddbmm``, autograd step by step; ``function``: the same cell with
  its backward written out; ``loop``: the fused GRU kernel once per
  member, cuDNN on CUDA). ``--gru-options`` also times the recurrent layer
  alone, with ``vmap`` over ``nn.GRU`` as a fourth option.

How: every configuration runs one untimed warm-up epoch, then ``--repeats``
timed epochs (CUDA synchronised at both ends); the table gives the median.
FLOP/s are the clips/s times the FLOPs of one training step of one clip
(``torch.utils.flop_counter``, this model's shape), against the measured
matrix-product rate of the device (:func:`bench_floor.matmul_throughput`).

``--check``: the CI check on a CPU. The batched engine's time per member and
clip at M=4 must be at most ``--limit`` (1.1) times one run's on the same
narrow model; exits 1 otherwise.

Run: ``python benchmarks/bench_batched.py [--device cuda] [--members 1,8,32,64,128]``;
on a CPU ``python benchmarks/bench_batched.py --channels 8 --members 1,4,8 --threads 1``;
``python benchmarks/bench_batched.py --check --threads 1``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table
from bench_floor import matmul_throughput

from sedlib.losses import get_loss
from sedlib.model import CRNN
from sedlib.training import batched
from sedlib.training.config import TrainConfig
from sedlib.training.loop import DeviceClips, init_output_bias, make_optimizer, train_epoch
from sedlib.training.stacked import StackedCRNN

CLASSES, FRAMES, MELS = 25, 500, 64
LOSSES = [{"loss": "bce"}, {"loss": "duration_robust", "gamma": 4.0}, {"loss": "inverse_frequency"}]


def clips_on(device: torch.device, n: int, seed: int = 0) -> DeviceClips:
    """``n`` random clips (features ~ N(0, 1), 10% active frames), resident on ``device``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, FRAMES, MELS, generator=g)
    y = (torch.rand(n, FRAMES, CLASSES, generator=g) < 0.1).float()
    return DeviceClips(
        x.to(device), y.to(device), torch.ones(n, FRAMES, dtype=torch.bool, device=device)
    )


def timed(step, device: torch.device, repeats: int) -> float:
    """Median seconds of ``step()`` over ``repeats`` calls after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def configs(args, m: int) -> list[TrainConfig]:
    model = {"channels": args.channels}
    return [
        TrainConfig(
            dataset="bench", device=args.device, seed=k, model=model, **LOSSES[k % len(LOSSES)]
        )
        for k in range(m)
    ]


def bare_model(args, device, clips: DeviceClips) -> float:
    """Clips/s of forward + backward + Adam on one resident batch of 16."""
    config = configs(args, 1)[0]
    model = CRNN(CLASSES, channels=args.channels).to(device)
    optimizer = make_optimizer(model, config)
    x, y = clips.x[:16], clips.y[:16]
    use_amp = device.type == "cuda"

    def step():
        for _ in range(args.steps):
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(x)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return 16 * args.steps / timed(step, device, args.repeats)


def one_run(args, device, clips: DeviceClips) -> float:
    """Clips/s of ``train_epoch`` (one run, today's loop) over ``--clips`` clips."""
    config = configs(args, 1)[0]
    torch.manual_seed(0)
    model = CRNN(CLASSES, channels=args.channels).to(device)
    optimizer = make_optimizer(model, config)
    loss_fn = get_loss("bce")
    epoch = iter(range(10**6))

    def step():
        train_epoch(model, optimizer, clips, loss_fn, config, next(epoch), device, "bench")

    return len(clips.x) / timed(step, device, args.repeats)


def group_of(args, device, m: int, clips: DeviceClips, gru: str):
    """A batched group of ``m`` members (mixed seeds and losses) on the same clips."""
    data = SimpleNamespace(clips=range(len(clips.x)), class_frames=np.full(CLASSES, 1000))
    members = [SimpleNamespace(config=c, data=data) for c in configs(args, m)]
    models = []
    for c in configs(args, m):
        torch.manual_seed(c.seed)
        models.append(CRNN(CLASSES, channels=args.channels))
        init_output_bias(models[-1], data.class_frames, 10**5)
    model = StackedCRNN(models, gru=gru).to(device)
    generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs(args, m)]
    group = batched._Group(
        members,
        model,
        batched.stacked_optimizer(model, members[0].config),
        generators,
        [],
        list(range(m)),
    )
    return group, batched._Clips(clips, {id(data): 0})


def batched_run(args, device, m: int, clips: DeviceClips, gru: str) -> float:
    """Clips/s (all members together) of the batched engine's epoch."""
    group, union = group_of(args, device, m, clips, gru)
    epoch = iter(range(10**6))
    return (
        m
        * len(clips.x)
        / timed(
            lambda: batched._train_epoch(group, union, next(epoch), device), device, args.repeats
        )
    )


def flops_per_clip(channels: int) -> float:
    """FLOPs of one training step (forward + backward) of one clip of this model shape."""
    model = CRNN(CLASSES, channels=channels)
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(2, FRAMES, MELS)).sum().backward()
    return counter.get_total_flops() / 2


def gru_options(args, device, m: int) -> dict[str, str]:
    """Milliseconds of forward + backward of the recurrent layer alone for ``m`` members, per option."""
    from torch.func import functional_call, stack_module_state, vmap

    from sedlib.training.stacked import _gru_loop, stacked_bigru

    grus = [torch.nn.GRU(args.channels, 32, batch_first=True, bidirectional=True) for _ in range(m)]
    params, _ = stack_module_state(grus)
    params = {k: v.to(device).requires_grad_() for k, v in params.items()}
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    fwd = [params[n] for n in names]
    bwd = [params[f"{n}_reverse"] for n in names]
    x = torch.randn(m, 16, FRAMES, args.channels, device=device)
    base = grus[0].to(device)
    options = {
        "cell": lambda: stacked_bigru(x, fwd, bwd, 32),
        "function": lambda: stacked_bigru(x, fwd, bwd, 32, written_backward=True),
        "loop": lambda: _gru_loop(x, fwd, bwd),
        "vmap": lambda: vmap(lambda p, xi: functional_call(base, p, (xi,))[0])(params, x),
    }
    out = {}
    for name, forward in options.items():
        try:
            seconds = timed(lambda f=forward: f().sum().backward(), device, args.repeats)
            out[name] = f"{seconds * 1e3:.0f} ms"
        except Exception as err:  # an option that torch cannot run is a result too
            out[name] = f"fails: {type(err).__name__}: {str(err).splitlines()[0][:60]}"
    return out


def check(args, device) -> int:
    """The CI check: batched time per member and clip at M=4 <= limit x one run's; 0 if it holds."""
    clips = clips_on(device, args.clips)
    single, group = [], []
    for _ in range(args.rounds):  # alternate, so that both see the same machine load
        single.append(one_run(args, device, clips))
        group.append(batched_run(args, device, 4, clips, args.gru[0]))  # all 4 members' clips
    # seconds per member and clip: 1 / (clips of all members per second) against 1 / (one run's)
    ratio = statistics.median(single) / statistics.median(group)
    print(
        f"one run {statistics.median(single):.2f} clips/s; batched M=4 {statistics.median(group):.2f} "
        f"clips/s (all members); time per member and clip / one run's = {ratio:.3f} "
        f"(limit {args.limit})"
    )
    return 0 if ratio <= args.limit else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--channels", type=int, default=128, help="CRNN channels (128: Table 3)")
    parser.add_argument("--members", default="1,8,32,64", help="group sizes M, comma-separated")
    parser.add_argument("--gru", default="cell", help="GRU implementations, comma-separated")
    parser.add_argument("--clips", type=int, default=64, help="training clips per epoch and member")
    parser.add_argument("--steps", type=int, default=8, help="steps per timed call (bare model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="alternations (--check)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--check", action="store_true", help="the CI check (see the docstring)")
    parser.add_argument("--limit", type=float, default=1.1)
    parser.add_argument("--gru-options", default="", help="group sizes to time the GRU options at")
    args = parser.parse_args()
    args.gru = args.gru.split(",")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"# {machine()}")
    if args.check:
        args.channels = min(args.channels, 8)
        return check(args, device)
    return report(args, device)


def report(args, device) -> int:
    """The throughput table (and the GRU options, if asked)."""
    clips = clips_on(device, args.clips)
    flops, peak = flops_per_clip(args.channels), matmul_throughput(str(device))
    rows = [
        ("bare model, batch 16", bare_model(args, device, clips)),
        ("one run (train_epoch)", one_run(args, device, clips)),
    ]
    for gru in args.gru:
        for m in (int(v) for v in args.members.split(",")):
            try:
                rows.append((f"batched M={m}, gru={gru}", batched_run(args, device, m, clips, gru)))
            except torch.OutOfMemoryError:
                rows.append((f"batched M={m}, gru={gru}", float("nan")))
                torch.cuda.empty_cache()
    table = [
        {
            "training": name,
            "clips / s": f"{rate:.1f}",
            "TFLOP/s": f"{rate * flops / 1e12:.3f}",
            "share of the matrix rate": f"{rate * flops / peak:.1%}",
        }
        for name, rate in rows
    ]
    print(f"# CRNN with {args.channels} channels: {flops / 1e9:.2f} GFLOP per training clip; "
          f"matrix rate {peak / 1e12:.2f} TFLOP/s; {args.clips} clips an epoch; medians of {args.repeats}")  # fmt: skip
    print_table(table, f"Training throughput on {device}")
    for m in (int(v) for v in args.gru_options.split(",") if v):
        print_table(
            [{"M": m, **gru_options(args, device, m)}], f"GRU layer alone, fwd + bwd, M={m}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
