"""Features: minutes of audio turned into log-mel features per second, cold and cached.

Cold: every file of a split decoded and featurized (``sedlib.data.cache.build_features``
into an empty cache, with 1 and with all worker processes), plus the two
feature functions alone on audio already in memory (``log_mel``, numpy, and
``log_mel_batch``, torch, on CPU and on the GPU when there is one). Cached:
the same call again, served from the ``.npz`` cache.

Run: ``python benchmarks/bench_features.py [--dataset synthetic-small] [--split development]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from sedlib.data.audio import load_audio
from sedlib.data.cache import FeatureConfig, build_features
from sedlib.data.registry import get_dataset
from sedlib.features import log_mel, log_mel_batch


def rate(minutes: float, seconds: float) -> str:
    return f"{minutes / seconds:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-small")
    parser.add_argument("--split", default="development")
    args = parser.parse_args()

    ds = get_dataset(args.dataset, progress=False)
    config = FeatureConfig()
    files = sorted(ds.meta(args.split)["filename"].unique())
    audio = [load_audio(ds.audio_path(f), config.sr)[0] for f in files]
    minutes = sum(len(y) for y in audio) / config.sr / 60
    print(machine())
    print(
        f"{ds.name}/{args.split}: {len(files)} files, {minutes:.1f} min of audio at {config.sr} Hz"
    )

    rows = []
    for jobs in sorted({1, os.cpu_count() or 1}):
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            build_features(ds, args.split, config, cache_root=Path(root), jobs=jobs, progress=False)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            build_features(ds, args.split, config, cache_root=Path(root), jobs=jobs, progress=False)
            cached = time.perf_counter() - start
        rows.append(
            {
                "path": f"build_features, cold, {jobs} worker(s) (decode + log-mel + labels)",
                "seconds": f"{cold:.2f}",
                "audio min / s": rate(minutes, cold),
            }
        )
        rows.append(
            {
                "path": f"build_features, cached ({jobs} worker(s) asked)",
                "seconds": f"{cached:.3f}",
                "audio min / s": rate(minutes, cached),
            }
        )

    start = time.perf_counter()
    for y in audio:
        log_mel(y, config.sr)
    numpy_s = time.perf_counter() - start
    rows.append(
        {
            "path": "log_mel (numpy), audio in memory, 1 process",
            "seconds": f"{numpy_s:.2f}",
            "audio min / s": rate(minutes, numpy_s),
        }
    )

    clip = 10 * config.sr
    clips = np.concatenate([y[: len(y) // clip * clip].reshape(-1, clip) for y in audio])
    clip_minutes = clips.size / config.sr / 60
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        x = torch.from_numpy(clips)
        log_mel_batch(x[:8], config.sr, device=device)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(x), 64):
            out = log_mel_batch(x[i : i + 64], config.sr, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        del out
        rows.append(
            {
                "path": f"log_mel_batch (torch, {device}), 10 s clips in batches of 64",
                "seconds": f"{seconds:.2f}",
                "audio min / s": rate(clip_minutes, seconds),
            }
        )
    print_table(rows, "Log-mel features (64 bands, 40 ms / 20 ms)")


if __name__ == "__main__":
    main()
