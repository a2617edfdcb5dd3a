"""Figures the chapters draw (matplotlib), from records, predictions and result sets.

One look for every page, defined here once:

- :func:`setup` (each chapter calls it first) sets the fonts (nothing under
  :data:`MIN_FONT_PT` points), the figure size that fits the book's column,
  and SVG output with real text; every figure is then shown as inline SVG
  with its alt text (:func:`figure_html`).
- :func:`method_colour` gives a method (BCE, IF, DR γ=…, the later
  baselines) one colour on every page, :func:`rung_marker` gives a rung of the
  ladder one marker, and :data:`PAPER_STYLE` draws the paper's own numbers one
  distinct way: black, hollow, hatched where it is a bar.
"""

from __future__ import annotations

import html
import io
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sedlib.data.audio import load_audio
from sedlib.data.cache import SplitFeatures
from sedlib.data.meta import label_roll
from sedlib.evaluation.predictions import Predictions
from sedlib.features import log_mel
from sedlib.report.names import rung_label, short_name
from sedlib.study import paper
from sedlib.study.results import sweep_sources
from sedlib.study.summary import (
    PAPER_METHODS,
    mean_ci,
    method_key,
    parse_method_key,
    per_class,
    summarize,
    with_method,
)
from sedlib.training.record import RunRecord

#: The smallest text of any figure, in points (ticks and legends included).
MIN_FONT_PT = 9.0
#: Width of a full-column figure, in inches: at the book's column width (about
#: 750 px at a 1280 px window) it is shown at about its natural size.
FIGURE_WIDTH_IN = 7.5

#: Colour of every method on every page (Okabe-Ito and Tol's colour-blind safe palettes).
METHOD_COLOURS = {
    "bce": "#0072B2",
    "inverse_frequency": "#E69F00",
    "duration_robust-g0.25": "#56B4E9",
    "duration_robust-g0.5": "#CC79A7",
    "duration_robust-g1": "#009E73",
    "duration_robust-g2": "#882255",
    "duration_robust-g4": "#D55E00",
    "focal-g2": "#999933",
    "class_balanced": "#44AA99",
    "asymmetric": "#AA4499",
}
#: Colour of a method not listed above (any other γ, a new loss).
OTHER_COLOUR = "#777777"
#: Marker of each rung of the ladder, in ladder order (rung 1 first); never the paper's.
RUNG_MARKERS = ("o", "^", "v", "D", "P", "X", "<", ">")
#: The paper's numbers: black, hollow square markers (:func:`paper_marker_style`),
#: hatched where drawn as a bar, dotted where drawn as a line.
PAPER_STYLE = {
    "color": "black",
    "marker": "s",
    "markerfacecolor": "none",
    "markeredgecolor": "black",
    "hatch": "////",
    "linestyle": ":",
}
#: rcParams of :func:`setup`.
RC_PARAMS = {
    "font.size": 10.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "figure.titlesize": 11.0,
    "figure.figsize": (FIGURE_WIDTH_IN, 3.6),
    "svg.fonttype": "none",  # text stays text: searchable, sharp, measurable by the tests
    "axes.spines.top": False,
    "axes.spines.right": False,
}


#: How the figures name the metrics of the result tables.
METRIC_LABELS = {
    "macro_f": "macro F-score",
    "micro_f": "micro F-score",
    "tuned_macro_f": "macro F-score, tuned thresholds",
    "segment_ap": "segment AP",
}


def metric_label(metric: str) -> str:
    """The name a figure gives ``metric`` (a column of the result tables).

    Examples
    --------
    >>> metric_label("macro_f"), metric_label("psds1")
    ('macro F-score', 'psds1')
    """
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def setup() -> None:
    """Apply the book's figure style; each chapter calls it once, first.

    Sets :data:`RC_PARAMS`, SVG inline output, and (in IPython) shows every
    matplotlib figure as :func:`figure_html`: inline SVG with alt text and a
    minimum width that keeps its smallest text at 9 px or more.
    """
    mpl.rcParams.update(RC_PARAMS)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg")
    shell.display_formatter.formatters["text/html"].for_type(Figure, figure_html)


def method_colour(method: str) -> str:
    """The colour of a method key (``bce``, ``duration_robust-g4``...) on every page.

    Examples
    --------
    >>> method_colour("bce"), method_colour("duration_robust-g4")
    ('#0072B2', '#D55E00')
    """
    return METHOD_COLOURS.get(method, OTHER_COLOUR)


def rung_marker(rung: int) -> str:
    """The marker of rung ``rung`` (1-based, ladder order) on every page.

    Examples
    --------
    >>> rung_marker(1), rung_marker(2)
    ('o', '^')
    """
    return RUNG_MARKERS[(rung - 1) % len(RUNG_MARKERS)]


def paper_marker_style() -> dict:
    """Keyword arguments of ``Axes.plot``/``errorbar`` for a point of the paper."""
    style = {k: PAPER_STYLE[k] for k in ("marker", "markerfacecolor", "markeredgecolor", "color")}
    return style | {"markersize": 7, "markeredgewidth": 1.5, "linestyle": "none"}


def set_alt(fig: Figure, text: str) -> Figure:
    """Give ``fig`` the alt text :func:`figure_html` shows.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    text : str
        What the figure shows, in words (its numbers where there are few).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig`` itself.
    """
    fig.sedlib_alt = text
    return fig


def plain_text(text: str) -> str:
    """Matplotlib's mathtext (``$N_m$``) as plain words (``N_m``), for alt text.

    Examples
    --------
    >>> plain_text(r"frames of the class, $N_m$; $\\gamma$")
    'frames of the class, N_m; gamma'
    """
    return re.sub(r"\$([^$]*)\$", lambda m: m.group(1).replace("\\", ""), text)


def alt_text(fig: Figure) -> str:
    """The figure's alt text: the one given by :func:`set_alt`, else one written from its axes.

    The written one names each panel's title, its axis labels and its legend entries.
    """
    given = getattr(fig, "sedlib_alt", None)
    if given:
        return plain_text(given)
    parts = []
    for ax in fig.axes:
        if not ax.get_visible() or not (ax.get_xlabel() or ax.get_ylabel() or ax.get_title()):
            continue
        labels = (("horizontal", ax.get_xlabel()), ("vertical", ax.get_ylabel()))
        words = [ax.get_title() or "a panel"]
        words += [f"{side} axis: {label}" for side, label in labels if label]
        parts.append("; ".join(words + _legend_words(ax.get_legend())))
    for legend in fig.legends:
        parts += _legend_words(legend)
    return plain_text("Figure. " + ". ".join(parts) if parts else "Figure.")


def _legend_words(legend) -> list[str]:
    entries = [t.get_text() for t in legend.get_texts() if t.get_text()] if legend else []
    return ["legend: " + ", ".join(entries)] if entries else []


def smallest_font_pt(fig: Figure) -> float:
    """The size in points of the smallest visible text of ``fig`` (ticks, legends, labels).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (drawn once to place its tick labels).

    Returns
    -------
    float
        Points; :data:`MIN_FONT_PT` for a figure without text.
    """
    fig.canvas.draw()
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(mpl.text.Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes, default=MIN_FONT_PT)


def show(fig: Figure, alt: str | None = None) -> None:
    """Display ``fig`` as :func:`figure_html` (alt text ``alt`` when given) and close it."""
    from IPython.display import HTML, display

    if alt:
        set_alt(fig, alt)
    display(HTML(figure_html(fig)))
    plt.close(fig)


def figure_html(fig: Figure, min_px: float = MIN_FONT_PT) -> str:
    """``fig`` as inline SVG for a page: alt text, no text under ``min_px`` pixels.

    The SVG fills the column up to its natural size; below a minimum width at
    which its smallest text would fall under ``min_px`` it keeps that width
    and its container (class ``sedlib-scroll``) scrolls sideways instead.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    min_px : float
        The smallest text size allowed on a page, in CSS pixels.

    Returns
    -------
    str
        An HTML ``<div class="sedlib-figure sedlib-scroll">`` with the SVG.
    """
    smallest = smallest_font_pt(fig)
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none"}):  # text stays text
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    match = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg)
    natural_px = float(match.group(1)) * 4 / 3 if match else 720.0
    min_width = natural_px * min(1.0, min_px / (smallest * 4 / 3))
    alt = html.escape(alt_text(fig), quote=True)
    svg = re.sub(
        r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"',
        rf'<svg\1 role="img" aria-label="{alt}" '
        rf'style="width:100%;height:auto;max-width:{natural_px:.0f}px;min-width:{min_width:.0f}px"',
        svg,
        count=1,
    )
    svg = svg.replace(">", f"><title>{alt}</title>", 1)
    return f'<div class="sedlib-figure sedlib-scroll">{svg}</div>'


def learning_curves(record: RunRecord):
    """Training and validation loss, validation F-scores; one line per training, kept epochs marked."""
    history = record.history
    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH_IN, 3.4))
    for fold, part in history.groupby("fold", sort=False):
        label = "" if history["fold"].nunique() == 1 else f" ({fold})"
        axes[0].plot(part["epoch"], part["train_loss"], marker="o", ms=3, label=f"training{label}")
        axes[0].plot(part["epoch"], part["val_loss"], ls="--", label=f"validation{label}")
        axes[1].plot(part["epoch"], part["val_macro_f"], marker="o", ms=3, label=f"macro F{label}")
    for best in record.best_epochs:
        axes[1].axvline(best, color="gray", ls=":", lw=1)
    axes[0].set(title="loss", xlabel="epoch", ylabel="loss per frame and class")
    axes[1].set(
        title="validation macro F\n(1 s segments; dotted: kept epochs)",
        xlabel="epoch",
        ylabel="macro F-score (0–1)",
    )
    for ax in axes:
        ax.legend()
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
        3, 1, figsize=(FIGURE_WIDTH_IN, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
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
        ax.set_yticks(range(len(active)), names)
        ax.set_title(title)
    axes[2].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def ladder_figure(sets, metric: str = "macro_f", methods=None):
    """Mean ± 95% CI of a metric per method: one marker per rung, the paper as a hollow black square.

    Parameters
    ----------
    sets : list of sedlib.study.results.ResultSet
        The rungs, in ladder order.
    metric : str
        A column of the result tables (``macro_f``, ``micro_f``...).
    methods : sequence of str, optional
        Method keys (default: the paper's four).

    Returns
    -------
    matplotlib.figure.Figure
    """

    methods = list(methods or PAPER_METHODS)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.6))
    n = len(sets) + 1
    offsets = (np.arange(n) - (n - 1) / 2) * 0.6 / max(n - 1, 1)
    x = np.arange(len(methods))
    for k, result in enumerate(sets, start=1):
        table = with_method(result.table)
        for i, m in enumerate(methods):
            rows = table.loc[table["method"] == m, metric]
            if rows.empty:
                continue
            mean, half, _ = mean_ci(rows)
            ax.errorbar(
                x[i] + offsets[k - 1], mean * 100, yerr=np.nan_to_num(half * 100),
                marker=rung_marker(k), color=method_colour(m), capsize=3, linestyle="none",
                markersize=6,
            )  # fmt: skip
    if metric in ("macro_f", "micro_f"):
        printed = paper.table4()[f"{metric}_percent"]
        ax.plot(x + offsets[-1], [printed.get(m, np.nan) for m in methods], **paper_marker_style())
    ax.set_xticks(x, [short_name(m) for m in methods])
    ax.set_xlim(-0.6, len(methods) - 0.4)
    ax.set_ylabel(f"{metric_label(metric)} (%)")
    labels = [rung_label(s) for s in sets]
    ax.legend(handles=ladder_legend(labels), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=1, frameon=False)  # fmt: skip
    fig.tight_layout()
    return fig


def ladder_legend(labels: list[str], paper: bool = True) -> list:
    """Legend handles: one grey marker per rung, named by ``labels``, and the paper's hollow black square.

    Parameters
    ----------
    labels : list of str
        The rungs drawn, in marker order (:func:`sedlib.report.names.rung_label`).
    paper : bool
        Whether to add the paper's handle last.

    Returns
    -------
    list of matplotlib.lines.Line2D
    """
    handles = [
        Line2D([], [], marker=rung_marker(k), color="#555555", linestyle="none", label=label)
        for k, label in enumerate(labels, start=1)
    ]
    if paper:
        handles.append(Line2D([], [], label="paper", **paper_marker_style()))
    return handles


def class_gain(table, method: str, metric: str = "f", baseline: str = "bce"):
    """The per-class gain of ``method`` over ``baseline`` in points (mean over seeds) on one rung.

    Parameters
    ----------
    table : pandas.DataFrame
        The rung's per-run table.
    method, baseline : str
        Method keys.
    metric : str
        A per-class metric (``f``, ``tuned_f``, ``ap``...).

    Returns
    -------
    pandas.Series or None
        The gain by label; None where either method has not run.
    """
    frame = per_class(table, metric)
    if (method, "mean") not in frame.columns or (baseline, "mean") not in frame.columns:
        return None
    return (frame[(method, "mean")] - frame[(baseline, "mean")]) * 100


def gain_against_duration(sets, method: str = "duration_robust-g4", metric: str = "f"):
    """Per-class gain of ``method`` over BCE against the class's mean event duration, per rung and in the paper."""

    durations = paper.table1()
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 4))
    handles = []
    for k, result in enumerate(sets, start=1):
        gain = class_gain(result.table, method, metric)
        if gain is None:
            continue
        ax.plot(
            durations[gain.index], gain, marker=rung_marker(k), color=method_colour(method),
            linestyle="none", markersize=5, alpha=0.85,
        )  # fmt: skip
        handles.append(k)
    printed = paper.table2()
    gain = printed.loc[method, "f_percent"] - printed.loc["bce", "f_percent"]
    ax.plot(durations[gain.index], gain, **paper_marker_style())
    legend = ladder_legend([rung_label(s) for s in sets])
    legend = [legend[k - 1] for k in handles] + [legend[-1]]
    ax.axhline(0, color="gray", lw=0.8)
    ax.set(
        xscale="log",
        xlabel="mean event duration (s, Table 1)",
        ylabel=f"F gain, {short_name(method)} − BCE\n(points)",
    )
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.tight_layout()
    return fig


def gamma_sweep(gamma_sets, paper_sets):
    """The paper's Figs. 4 and 5: macro and micro F against γ (log2 axis), BCE and IF as bands."""

    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH_IN, 3.8), sharey=False)
    printed = paper.table4()
    sources = sweep_sources(gamma_sets, paper_sets)
    for ax, metric, number in zip(axes, ("macro_f", "micro_f"), (4, 5), strict=True):
        for k, (_result, table) in enumerate(sources):
            s = summarize(table[table["loss"] == "duration_robust"], metrics=(metric,))
            gammas = np.array([parse_method_key(key)[1] for key in s.index])
            order = np.argsort(gammas)
            mean = s[f"{metric}_mean"].to_numpy(float)[order] * 100
            ci = np.nan_to_num(s[f"{metric}_ci"].to_numpy(float)[order] * 100)
            ax.plot(gammas[order], mean, color="#999999", lw=1, zorder=1)
            for g, m, c in zip(gammas[order], mean, ci, strict=True):
                ax.errorbar(
                    g, m, yerr=c, marker=rung_marker(k + 1), capsize=3, linestyle="none",
                    color=method_colour(method_key("duration_robust", g)),
                )  # fmt: skip
            bce = table[table["loss"] == "bce"]
            if len(bce):
                mean = summarize(bce, metrics=(metric,))[f"{metric}_mean"].iloc[0]
                ax.axhline(mean * 100, color=method_colour("bce"), ls="--", lw=1)
        for method, g in (("duration_robust-g1", 1.0), ("duration_robust-g4", 4.0)):
            ax.plot(g, printed.loc[method, f"{metric}_percent"], **paper_marker_style())
        ax.axhline(printed.loc["bce", f"{metric}_percent"], color="black", ls=":")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set(
            xticks=[0.25, 0.5, 1, 2, 4],
            xticklabels=["2⁻²", "2⁻¹", "1", "2", "2²"],
            xlabel="γ (log scale)",
            ylabel="F-score (%)",
            title=f"Fig. {number}: {metric_label(metric)}",
        )
    handles = ladder_legend([rung_label(result) for result, _ in sources], paper=False)
    handles += [
        Line2D([], [], color=method_colour("bce"), ls="--", label="BCE, this study"),
        Line2D([], [], label="paper (TUT, 10 seeds)", **paper_marker_style()),
        Line2D([], [], color="black", ls=":", label="paper, BCE"),
    ]
    fig.tight_layout()
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=1)
    return fig


def tuned_against_fixed(table, methods):
    """Macro F at 0.5 (blue) and with tuned thresholds (red), seeds as small dots."""

    table = with_method(table)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.45 * len(methods) + 1.4))
    for i, method in enumerate(methods):
        runs = table[table["method"] == method]
        fixed, tuned = runs["macro_f"].mean() * 100, runs["tuned_macro_f"].mean() * 100
        colour = method_colour(method)
        ax.plot([fixed, tuned], [i, i], color="lightgray", zorder=1)
        ax.scatter(runs["macro_f"] * 100, [i] * len(runs), s=12, alpha=0.5,
                   facecolors="none", edgecolors=colour)  # fmt: skip
        ax.scatter(runs["tuned_macro_f"] * 100, [i] * len(runs), color=colour, s=12, alpha=0.5)
        ax.scatter([fixed], [i], s=60, facecolors="none", edgecolors=colour, linewidths=1.5)
        ax.scatter([tuned], [i], color=colour, s=60)
    ax.set_yticks(range(len(methods)), [short_name(m) for m in methods])
    ax.invert_yaxis()
    ax.set_xlabel("macro F-score (%), test files; small dots: seeds")
    grey = "#555555"
    proxies = [
        Line2D([], [], marker="o", linestyle="none", markerfacecolor="none", markeredgecolor=grey,
               markersize=8, label="threshold 0.5 (hollow)"),
        Line2D([], [], marker="o", linestyle="none", color=grey, markersize=8,
               label="tuned per class (filled)"),
    ]  # fmt: skip
    ax.legend(handles=proxies, loc="lower right")
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

    meta = dataset.meta(split)
    fig, axes = plt.subplots(
        2, len(examples), figsize=(FIGURE_WIDTH_IN, 4.2), gridspec_kw={"height_ratios": [3, 1]}
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
        axes[0, col].set_title(f"{label}\n({event.offset - event.onset:.2f} s event)")
        axes[1, col].imshow(
            roll.T, aspect="auto", cmap="Greys", extent=(0, seconds, 0, 1), vmin=0, vmax=1
        )
        axes[1, col].set(yticks=[], xlabel="time (s)")
    axes[0, 0].set_ylabel("mel band")
    fig.tight_layout()
    return fig, clips


def frames_per_class(stats: dict):
    """The paper's Fig. 2: active frames per class (log scale), one panel per data set.

    Parameters
    ----------
    stats : dict of str to pandas.DataFrame
        Per data set (e.g. ``"real development"``, ``"synthetic-small"``), its
        :func:`sedlib.data.class_stats` table; the first one orders the classes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    first = next(iter(stats.values()))
    order = first["n_frames"].sort_values().index
    fig, axes = plt.subplots(
        1, len(stats), figsize=(FIGURE_WIDTH_IN, 6.5), sharey=True, squeeze=False
    )
    for ax, (name, table) in zip(axes[0], stats.items(), strict=True):
        frames = table["n_frames"].reindex(order)
        ax.barh(range(len(frames)), frames.to_numpy(), color="#555555")
        ax.set_xscale("log")
        ax.set(title=f"{name}", xlabel="active 20 ms frames\n(log scale)")
        ratio = frames.max() / frames.min()
        ax.text(0.98, 0.02, f"max / min\n= {ratio:,.0f}", transform=ax.transAxes, ha="right")
    axes[0, 0].set_yticks(range(len(order)), order)
    fig.tight_layout()
    names = ", ".join(stats)
    return set_alt(
        fig,
        f"Horizontal bars, one per class, of the number of active frames (log scale) in {names}; "
        f"classes ordered by frames, from {order[0]} (fewest) to {order[-1]} (most).",
    )
