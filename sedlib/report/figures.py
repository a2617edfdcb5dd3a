"""Figures the chapters draw (matplotlib), from records, predictions and result sets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sedlib.data.cache import SplitFeatures
from sedlib.evaluation.predictions import Predictions
from sedlib.training.record import RunRecord


def learning_curves(record: RunRecord):
    """Training and validation loss, validation F-scores; one line per training, kept epochs marked."""
    history = record.history
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for fold, part in history.groupby("fold", sort=False):
        label = "" if history["fold"].nunique() == 1 else f" ({fold})"
        axes[0].plot(part["epoch"], part["train_loss"], marker="o", ms=3, label=f"training{label}")
        axes[0].plot(part["epoch"], part["val_loss"], ls="--", label=f"validation{label}")
        axes[1].plot(part["epoch"], part["val_macro_f"], marker="o", ms=3, label=f"macro F{label}")
    for best in record.best_epochs:
        axes[1].axvline(best, color="gray", ls=":", lw=1)
    axes[0].set(title="loss", xlabel="epoch")
    axes[1].set(title="validation macro F (1 s segments); dotted: kept epochs", xlabel="epoch")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def example_clip(
    features: SplitFeatures, predictions: Predictions, threshold: float, seconds: float = 10.0
):
    """Log-mel input, reference roll and predicted probabilities of the richest stretch of a file.

    The file with the most distinct annotated classes, and in it the window of
    ``seconds`` with the most active frames.
    """
    index = {name: i for i, name in enumerate(features.files)}
    candidates = [f for f in predictions.files if f in index]
    richest = max(candidates, key=lambda f: int((features.file(index[f])[1].sum(0) > 0).sum()))
    x, y = features.file(index[richest])
    p = predictions.probs[predictions.files.index(richest)]
    hop = features.config.hop_length_s
    width = round(seconds / hop)
    start = (
        int(np.argmax(np.convolve(y.sum(1), np.ones(width), mode="valid"))) if len(y) > width else 0
    )
    window = slice(start, start + width)
    active = np.flatnonzero((y[window].sum(0) > 0) | (p[window].max(0) >= threshold))
    names = [features.label_names[k] for k in active]
    t0, t1 = start * hop, (start + len(x[window])) * hop
    fig, axes = plt.subplots(
        3, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
    )
    axes[0].imshow(
        x[window].T, origin="lower", aspect="auto", extent=(t0, t1, 0, x.shape[1]), cmap="magma"
    )
    axes[0].set(ylabel="mel band", title=richest)
    for ax, roll, title in (
        (axes[1], y[window][:, active], "reference"),
        (axes[2], p[window][:, active], "predicted probability"),
    ):
        ax.imshow(
            roll.T, origin="lower", aspect="auto", extent=(t0, t1, -0.5, len(active) - 0.5),
            cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
        )  # fmt: skip
        ax.set_yticks(range(len(active)), names, fontsize=8)
        ax.set_title(title)
    axes[2].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def ladder_figure(sets, metric: str = "macro_f", methods=None):
    """Mean ± 95% CI of a metric per method, one group of bars per rung, with the paper's value."""
    from sedlib.report.names import short_name
    from sedlib.study import paper
    from sedlib.study.summary import PAPER_METHODS, mean_ci, with_method

    methods = list(methods or PAPER_METHODS)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / (len(sets) + 1)
    x = np.arange(len(methods))
    for k, result in enumerate(sets):
        table = with_method(result.table)
        stats = [mean_ci(table.loc[table["method"] == m, metric]) for m in methods]
        means = [s[0] * 100 for s in stats]
        errors = [np.nan_to_num(s[1] * 100) for s in stats]
        ax.bar(x + k * width, means, width, yerr=errors, capsize=3, label=f"rung {k + 1}")
    if metric in ("macro_f", "micro_f"):
        printed = paper.table4()[f"{metric}_percent"]
        ax.bar(
            x + len(sets) * width,
            [printed[m] for m in methods],
            width,
            color="tab:orange",
            label="paper",
        )
    ax.set_xticks(x + width * len(sets) / 2, [short_name(m) for m in methods])
    ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    ax.legend(fontsize=8, ncol=len(sets) + 1)
    fig.tight_layout()
    return fig


def gain_against_duration(sets, method: str = "duration_robust-g4", metric: str = "f"):
    """Per-class gain of ``method`` over BCE against the class's mean event duration, per rung and in the paper."""
    from sedlib.report.names import short_name
    from sedlib.study import paper
    from sedlib.study.summary import per_class

    durations = paper.table1()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, result in enumerate(sets, start=1):
        frame = per_class(result.table, metric)
        if (method, "mean") not in frame.columns or ("bce", "mean") not in frame.columns:
            continue
        gain = (frame[(method, "mean")] - frame[("bce", "mean")]) * 100
        ax.scatter(durations[gain.index], gain, s=16, label=f"rung {k}")
    printed = paper.table2()
    gain = printed.loc[method, "f_percent"] - printed.loc["bce", "f_percent"]
    ax.scatter(durations[gain.index], gain, marker="s", color="tab:orange", s=18, label="paper")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set(
        xscale="log",
        xlabel="mean event duration (s, Table 1)",
        ylabel=f"F gain, {short_name(method)} − BCE (points)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gamma_sweep(gamma_sets, paper_sets):
    """The paper's Figs. 4 and 5: macro and micro F against γ (log2 axis), BCE and IF as bands."""
    from sedlib.study import paper
    from sedlib.study.summary import parse_method_key, summarize

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.cm.tab10.colors
    printed = paper.table4()
    for ax, metric, title in (
        (axes[0], "macro_f", "Fig. 4: macro F-score"),
        (axes[1], "micro_f", "Fig. 5: micro F-score"),
    ):
        for k, (label, table) in enumerate(_sweep_sources(gamma_sets, paper_sets)):
            s = summarize(table[table["loss"] == "duration_robust"], metrics=(metric,))
            gammas = np.array([parse_method_key(key)[1] for key in s.index])
            order = np.argsort(gammas)
            mean = s[f"{metric}_mean"].to_numpy(float)[order] * 100
            ci = np.nan_to_num(s[f"{metric}_ci"].to_numpy(float)[order] * 100)
            ax.errorbar(
                gammas[order], mean, yerr=ci, marker="o", capsize=3, color=colours[k], label=label
            )
            bce = (
                summarize(table[table["loss"] == "bce"], metrics=(metric,))
                if (table["loss"] == "bce").any()
                else None
            )
            if bce is not None:
                ax.axhline(bce[f"{metric}_mean"].iloc[0] * 100, color=colours[k], ls="--", lw=1)
        for method, g in (("duration_robust-g1", 1.0), ("duration_robust-g4", 4.0)):
            ax.plot(
                g,
                printed.loc[method, f"{metric}_percent"],
                "s",
                color="black",
                label="paper (TUT, 10 seeds)" if g == 1.0 else None,
            )
        ax.axhline(
            printed.loc["bce", f"{metric}_percent"], color="black", ls=":", label="paper, BCE"
        )
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set(
            xticks=[0.25, 0.5, 1, 2, 4],
            xticklabels=["2⁻²", "2⁻¹", "1", "2", "2²"],
            xlabel="γ",
            ylabel="F-score (%)",
            title=title,
        )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8)
    return fig


def _sweep_sources(gamma_sets, paper_sets):
    """(label, runs) per rung: a γ grid with the paper grid of the same settings, then paper grids alone."""
    from sedlib.study.results import joined

    swept = {s.settings_key for s in gamma_sets}
    for s in gamma_sets:
        yield f"{s.label} (γ grid)", joined(s, paper_sets)
    for s in paper_sets:
        if s.settings_key not in swept:
            yield f"{s.label} (paper grid)", s.table


def tuned_against_fixed(table, methods):
    """Macro F at 0.5 (blue) and with tuned thresholds (red), seeds as small dots."""
    from sedlib.report.names import short_name
    from sedlib.study.summary import with_method

    table = with_method(table)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(methods) + 1.2))
    for i, method in enumerate(methods):
        runs = table[table["method"] == method]
        fixed, tuned = runs["macro_f"].mean() * 100, runs["tuned_macro_f"].mean() * 100
        ax.plot([fixed, tuned], [i, i], color="lightgray", zorder=1)
        ax.scatter(runs["macro_f"] * 100, [i] * len(runs), color="tab:blue", s=12, alpha=0.4)
        ax.scatter(runs["tuned_macro_f"] * 100, [i] * len(runs), color="tab:red", s=12, alpha=0.4)
        ax.scatter([fixed], [i], color="tab:blue", s=60, label="threshold 0.5" if i == 0 else None)
        ax.scatter([tuned], [i], color="tab:red", s=60, label="tuned per class" if i == 0 else None)
    ax.set_yticks(range(len(methods)), [short_name(m) for m in methods])
    ax.invert_yaxis()
    ax.set_xlabel("macro F-score (%), test files; small dots: seeds")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def clearest_event(dataset, split: str, label: str, min_s: float = 0.0, exclude=()):
    """The event of ``label`` (at least ``min_s`` long) with the fewest other events within 2 s of its centre.

    Files in ``exclude`` are avoided when another file has such an event.
    """
    meta = dataset.meta(split)
    rows = meta[(meta.event_label == label) & (meta.offset - meta.onset >= min_s)]
    if (~rows.filename.isin(exclude)).any():  # prefer a file not shown yet
        rows = rows[~rows.filename.isin(exclude)]

    def crowd(event) -> int:
        centre = (event.onset + event.offset) / 2
        others = meta[(meta.filename == event.filename) & (meta.event_label != label)]
        return int(((others.offset > centre - 2) & (others.onset < centre + 2)).sum())

    return min(
        rows.itertuples(), key=lambda event: (event.onset < 2.0 and label != "fan", crowd(event))
    )


def event_examples(dataset, examples, split: str = "development", seconds: float = 4.0):
    """Log-mel input and label roll of ``seconds`` around one clear event of each class.

    Parameters
    ----------
    dataset : sedlib.data.Dataset
        The data set.
    examples : sequence of (label, minimum duration in s)
        The classes to show.

    Returns
    -------
    (matplotlib.figure.Figure, dict)
        The figure, and ``{label: (samples, sample rate)}`` of each excerpt.
    """
    from sedlib.data.audio import load_audio
    from sedlib.data.meta import label_roll
    from sedlib.features import log_mel

    meta = dataset.meta(split)
    fig, axes = plt.subplots(
        2, len(examples), figsize=(12, 5), gridspec_kw={"height_ratios": [3, 1]}
    )
    clips, used = {}, set()
    for col, (label, min_s) in enumerate(examples):
        event = clearest_event(dataset, split, label, min_s, exclude=used)
        used.add(event.filename)
        y, sr = load_audio(dataset.audio_path(event.filename))
        centre = (event.onset + event.offset) / 2
        start = max(0.0, min(centre - seconds / 2, len(y) / sr - seconds))
        segment = y[int(start * sr) : int((start + seconds) * sr)]
        clips[label] = (segment, sr)
        x = log_mel(segment, sr)
        local = meta[(meta.filename == event.filename) & (meta.event_label == label)].copy()
        local[["onset", "offset"]] -= start
        roll = label_roll(local, [label], len(x))
        axes[0, col].imshow(
            x.T, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, x.shape[1])
        )
        axes[0, col].set_title(f"{label} ({event.offset - event.onset:.2f} s event)")
        axes[1, col].imshow(
            roll.T, aspect="auto", cmap="Greys", extent=(0, seconds, 0, 1), vmin=0, vmax=1
        )
        axes[1, col].set(yticks=[], xlabel="time (s)")
    axes[0, 0].set_ylabel("mel band")
    fig.tight_layout()
    return fig, clips
