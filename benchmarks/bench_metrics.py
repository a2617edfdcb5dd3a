"""Segment-based metrics: sedlib against sed_eval, warm code against warm code.

The paper's evaluation-set size: 136 files, 74 min, 25 classes, 1 s segments
(the same event generator as before). How it measures, on both sides:

- imports and a first, untimed call happen before any clock starts;
- input conversion is timed apart: sed_eval's per-file event containers
  (``dcase_util`` ``MetaDataContainer``, what ``SegmentBasedMetrics.evaluate``
  converts to) against sedlib's :class:`~sedlib.events.EventList`, both from
  the same DataFrames;
- the metric itself is timed on the converted input: sed_eval's
  ``evaluate`` over every file plus its overall and class-wise results,
  against :func:`~sedlib.metrics.segment_based_metrics`;
- each timing is the median of ``--repeats`` runs; the results are checked identical.

Run: ``python benchmarks/bench_metrics.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from sedlib.events import EventList
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
                offset = min(dur, onset + float(rng.lognormal(0, 1.2)))
                rows.append((name, onset, offset, str(rng.choice(labels))))
        return pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])

    return draw(12.0), draw(15.0), durations, labels


def median_time(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def sed_eval_containers(events: pd.DataFrame, files) -> dict:
    """Per-file event containers, as sed_eval's evaluate wants them."""
    import dcase_util

    by_file = dict(tuple(events.groupby("filename", sort=False)))
    return {
        name: dcase_util.containers.MetaDataContainer(
            by_file[name].to_dict("records") if name in by_file else []
        )
        for name in files
    }


def sed_eval_metrics(ref: dict, est: dict, labels, durations) -> object:
    import sed_eval

    metrics = sed_eval.sound_event.SegmentBasedMetrics(
        event_label_list=list(labels), time_resolution=1.0
    )
    for name in sorted(durations):
        metrics.evaluate(ref[name], est[name], evaluated_length_seconds=durations[name])
    metrics.results_overall_metrics()
    metrics.results_class_wise_metrics()
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    ref, est, durations, labels = paper_sized_events()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sed_eval  # noqa: F401  (imported before any clock starts)

        files = sorted(durations)
        # warm-up: one untimed call of everything on each side
        their_ref, their_est = sed_eval_containers(ref, files), sed_eval_containers(est, files)
        sed_eval_metrics(their_ref, their_est, labels, durations)
        segment_based_metrics(
            EventList.from_frame(ref, labels), est, labels, file_durations=durations
        )

        t_their_conv, (their_ref, their_est) = median_time(
            lambda: (sed_eval_containers(ref, files), sed_eval_containers(est, files)), args.repeats
        )
        t_their, theirs = median_time(
            lambda: sed_eval_metrics(their_ref, their_est, labels, durations), args.repeats
        )
    t_our_conv, (our_ref, our_est) = median_time(
        lambda: (
            EventList.from_frame(ref, labels, "reference"),
            EventList.from_frame(est, labels, "estimated"),
        ),
        args.repeats,
    )
    t_ours, ours = median_time(
        lambda: segment_based_metrics(our_ref, our_est, labels, file_durations=durations),
        args.repeats * 20,
    )
    overall, class_wise = theirs.results_overall_metrics(), theirs.results_class_wise_metrics()
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
    print(f"# {machine()}")
    print(f"# {N_FILES} files, {TOTAL_MINUTES:.0f} min, {N_CLASSES} classes, 1 s segments; "
          f"{len(ref)} reference and {len(est)} estimated events; medians of {args.repeats} runs, warm")  # fmt: skip
    rows = [
        {"step": "input conversion", "sed_eval 0.2.1 (ms)": f"{t_their_conv * 1e3:.1f}", "sedlib (ms)": f"{t_our_conv * 1e3:.2f}", "ratio": f"{t_their_conv / t_our_conv:.0f}x"},
        {"step": "metric on converted input", "sed_eval 0.2.1 (ms)": f"{t_their * 1e3:.1f}", "sedlib (ms)": f"{t_ours * 1e3:.2f}", "ratio": f"**{t_their / t_ours:.0f}x**"},
        {"step": "both", "sed_eval 0.2.1 (ms)": f"{(t_their + t_their_conv) * 1e3:.1f}", "sedlib (ms)": f"{(t_ours + t_our_conv) * 1e3:.2f}", "ratio": f"{(t_their + t_their_conv) / (t_ours + t_our_conv):.0f}x"},
    ]  # fmt: skip
    print_table(rows, "Segment-based metrics, warm code against warm code")
    print(
        f"\nidentical results: {identical} (micro F {ours.micro_f:.6f}, micro ER {ours.micro_er:.6f}, macro F {ours.macro_f:.6f})"
    )
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
