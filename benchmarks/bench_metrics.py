"""Segment-based metrics: sedlib against sed_eval on the paper's evaluation-set size.

The paper's evaluation set: 74 min of audio in 136 files, 25 classes. This
script draws reference and estimated event lists of that size (the same
generator as the tests), checks that both implementations give identical
numbers, and prints the time of each and their ratio.

Run: ``python benchmarks/bench_metrics.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import sed_eval_segment_metrics

from sedlib.metrics import segment_based_metrics

N_FILES, TOTAL_MINUTES, N_CLASSES = 136, 74.0, 25


def paper_sized_events(
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], list[str]]:
    """Event lists with the evaluation set's size: 136 files totalling 74 min, 25 classes."""
    rng = np.random.default_rng(seed)
    labels = [f"event_{k:02d}" for k in range(N_CLASSES)]
    lengths = rng.dirichlet(np.full(N_FILES, 5.0)) * TOTAL_MINUTES * 60
    durations = {f"audio/file_{i:03d}.wav": float(d) for i, d in enumerate(lengths)}

    def draw(rate_per_min: float) -> pd.DataFrame:
        rows = []
        for name, dur in durations.items():
            for _ in range(rng.poisson(rate_per_min * dur / 60)):
                onset = float(rng.uniform(0, dur))
                rows.append(
                    (
                        name,
                        onset,
                        min(dur, onset + float(rng.lognormal(0, 1.2))),
                        str(rng.choice(labels)),
                    )
                )
        return pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])

    return draw(12.0), draw(15.0), durations, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed repetitions of sedlib (best is kept)"
    )
    args = parser.parse_args()
    ref, est, durations, labels = paper_sized_events()

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sed_eval_segment_metrics(ref, est, labels, 1.0, durations)
    t_sed_eval = time.perf_counter() - start

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        ours = segment_based_metrics(
            ref, est, labels, time_resolution=1.0, file_durations=durations
        )
        times.append(time.perf_counter() - start)
    t_ours = min(times)

    overall = theirs.results_overall_metrics()
    class_wise = theirs.results_class_wise_metrics()
    identical = (
        np.isclose(ours.micro_f, overall["f_measure"]["f_measure"], rtol=1e-12)
        and np.isclose(ours.micro_er, overall["error_rate"]["error_rate"], rtol=1e-12)
        and all(
            np.isclose(
                ours.per_class.loc[lbl, "f"],
                class_wise[lbl]["f_measure"]["f_measure"],
                rtol=1e-12,
                equal_nan=True,
            )
            for lbl in labels
        )
    )
    print(
        f"# segment-based metrics, {N_FILES} files, {TOTAL_MINUTES:.0f} min, {N_CLASSES} classes, 1 s segments"
    )
    print(
        f"# {len(ref)} reference and {len(est)} estimated events; {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print("| implementation | time (ms) |")
    print("|---|---|")
    print(f"| sed_eval 0.2.1 (file by file) | {t_sed_eval * 1e3:.1f} |")
    print(f"| sedlib (best of {args.repeats}) | {t_ours * 1e3:.2f} |")
    print(f"speed ratio: {t_sed_eval / t_ours:.0f}x; identical results: {identical}")
    print(f"micro F {ours.micro_f:.6f}, micro ER {ours.micro_er:.6f}, macro F {ours.macro_f:.6f}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
