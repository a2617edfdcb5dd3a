"""Tables the chapters show, built from records and result sets (no numbers typed in by hand)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib.data import read_meta
from sedlib.data.meta import class_stats, label_roll
from sedlib.features import FeatureConfig
from sedlib.report.figures import class_gain
from sedlib.report.names import interval, method_name, p_text, rung_label, short_name
from sedlib.study import paper
from sedlib.study.findings import corrected, gap
from sedlib.study.stats import duration_gain_correlation, holm
from sedlib.study.summary import (
    PAPER_METHODS,
    UNDEFINED_RULE,
    format_mean_ci,
    per_class,
    short_vs_long,
    with_method,
)
from sedlib.training.config import TRAINING_CHOICES, TrainConfig, model_defaults
from sedlib.training.record import RunRecord
from sedlib.training.split import CLIP_FRAMES

#: The frame hop of the features and labels, in seconds.
HOP_S = FeatureConfig().hop_length_s

#: The rule for undefined values, as chapters print it under every results table.
UNDEFINED_NOTE = f"*{UNDEFINED_RULE}*"


def no_results(*commands: str) -> str:
    """The book's one message for result sets that are not there yet (Markdown).

    Parameters
    ----------
    *commands : str
        The commands that make them (the command line knows them:
        :func:`sedlib.cli.how_to_make`).

    Examples
    --------
    >>> no_results("bash tools/attribution.sh screen")
    'No results yet: run `bash tools/attribution.sh screen` and rebuild the book.'
    """
    if not commands:
        raise ValueError("no_results needs the command(s) that make the missing results")
    return f"No results yet: run {' and '.join(f'`{c}`' for c in commands)} and rebuild the book."


def table_csv_folder() -> Path:
    """Where :func:`show_table` writes its CSV files: ``_static/tables/`` of the page's folder.

    A page runs in its own folder (Jupyter Book, JupyterLab, papermill and
    the Colab cell all run a chapter there), and the build copies that
    ``_static`` folder into the site after the chapters have run, so each
    page links to ``../_static/tables/<name>.csv``.
    """
    return Path.cwd() / "_static" / "tables"


def table_html(table, name: str, index: bool = True) -> str:
    """A results table for a page, with a link to its CSV under it.

    Parameters
    ----------
    table : pandas.DataFrame or pandas.io.formats.style.Styler
        The table as shown (a Styler keeps its formatting on the page; the CSV
        holds the underlying data).
    name : str
        File name of the CSV without extension (unique in the book: the
        chapter and the table, e.g. ``"04_table4_macro_f"``).
    index : bool
        Whether the page and the CSV show the index.

    Returns
    -------
    str
        HTML: ``<div class="sedlib-table sedlib-scroll">`` with the table and the link.
    """
    from pandas.io.formats.style import Styler

    data = table.data if isinstance(table, Styler) else table
    folder = table_csv_folder()
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    data.to_csv(folder / f"{safe}.csv", index=index)
    if data is not table:
        shown = (table if index else table.hide(axis="index")).to_html()
    else:
        shown = table.to_html(classes="dataframe", index=index)
    return (
        f'<div class="sedlib-table sedlib-scroll">{shown}<p class="sedlib-download">'
        f'<a href="../_static/tables/{safe}.csv" download>Download this table (CSV)</a></p></div>'
    )


def show_table(table, name: str, index: bool = True) -> None:
    """Display :func:`table_html` (in a notebook or a book page)."""
    from IPython.display import HTML, display

    display(HTML(table_html(table, name, index)))


def data_provenance(stats_real: pd.DataFrame | None, meta_dir: Path | None) -> pd.DataFrame:
    """Where each number of the study's data comes from: printed in the paper, or recomputed.

    Parameters
    ----------
    stats_real : pandas.DataFrame or None
        :func:`sedlib.data.class_stats` of the real development metadata
        (None when the TUT metadata is not on this machine: only the paper's
        numbers are shown).
    meta_dir : Path or None
        The TUT metadata folder (``meta/``, ``crossvaridation/``).

    Returns
    -------
    pandas.DataFrame
        Index ``quantity``; columns ``printed in the paper``, ``source``, ``recomputed here``.
    """

    facts = paper.text_facts()
    rows = [("development audio (min)", facts["development_minutes"], "the paper, Sec. 4.1", "–")]
    if stats_real is not None and meta_dir is not None:
        dev = read_meta(meta_dir / "meta" / "meta_development.txt")
        evaluation = read_meta(meta_dir / "meta" / "meta_evaluation.txt")
        frames = stats_real["n_frames"]
        folds = len(list((meta_dir / "crossvaridation").glob("*_evaluation.txt")))
        rows += [
            ('"fan" frames', facts["fan_frames"], "the paper, Sec. 4.1", int(frames["fan"])),
            ("frame imbalance (max / min)", "–", "development metadata",
             round(frames.max() / frames.min())),
            ("development files", "–", "development metadata", dev["filename"].nunique()),
            ("development events", "–", "development metadata", len(dev)),
            ("cross-validation folds", "–", "the metadata's crossvaridation/", folds),
            ("evaluation files (not used by the paper)", "–", "evaluation metadata",
             evaluation["filename"].nunique()),
        ]  # fmt: skip
    columns = ["quantity", "printed in the paper", "source", "recomputed here"]
    return pd.DataFrame(rows, columns=columns).set_index("quantity").astype(str)


def _defaults() -> dict:
    return {
        f.name: (f.default_factory() if callable(f.default_factory) else f.default)
        for f in fields(TrainConfig)
    }


def training_choices() -> pd.DataFrame:
    """What the paper fixes, what it leaves open, and what this study chose (from ``TrainConfig``).

    The rows are :data:`sedlib.training.config.TRAINING_CHOICES`, the one
    statement of each choice and its reason; their "this study" column is
    filled from :class:`~sedlib.training.TrainConfig`'s defaults, so the table
    cannot disagree with what a run does.
    """
    d = _defaults()
    # optimizer steps per epoch of one fold at the paper's size (3 of 4 folds, minus validation)
    clips = paper.text_facts()["development_minutes"] * 60 / (CLIP_FRAMES * HOP_S)
    values = {
        **d,
        "clip_seconds": CLIP_FRAMES * HOP_S,
        "clip_frames": CLIP_FRAMES,
        "dropout": model_defaults()["dropout"],
        "updates_per_epoch": clips * 3 / 4 * (1 - d["val_fraction"]) / d["batch_size"],
        "precision": "float32 on CPU; bfloat16 autocast on CUDA" if d["amp"] else "float32",
    }
    rows = [
        (c.setting, c.paper, c.ours.format(**values), c.why.format(**values))
        for c in TRAINING_CHOICES
    ]
    return pd.DataFrame(rows, columns=["setting", "the paper", "this study", "why"]).set_index(
        "setting"
    )


def run_summary(record: RunRecord) -> pd.DataFrame:
    """F-score and error rate of one run at 0.5 and at thresholds tuned on validation."""
    ev, tuned = record.evaluation, record.tuned.get("evaluation", {})
    rows = {
        f"{name}, {where}": (values.get(f"macro_{key}"), values.get(f"micro_{key}"))
        for where, values in (("threshold 0.5", ev), ("thresholds tuned on validation", tuned))
        for name, key in (("F-score", "f"), ("error rate", "er"))
    }
    return pd.DataFrame(rows, index=["macro", "micro"]).T.astype(float)


def per_class_table(record: RunRecord, durations: pd.Series) -> pd.DataFrame:
    """Per-class metrics of a run at its threshold beside each class's mean event duration."""
    table = record.per_class.assign(mean_duration_s=durations)
    columns = ["mean_duration_s", "f", "precision", "recall", "er", "n_ref", "n_sys"]
    table = table.sort_values("mean_duration_s")[columns]
    return table.astype({"f": float, "precision": float, "recall": float, "er": float})


def method_table(table: pd.DataFrame, methods, columns: dict[str, str]) -> pd.DataFrame:
    """Mean ± 95% CI over seeds (percent) of some columns, one row per method present, and how
    many of its runs converged."""
    table = with_method(table)
    rows = {}
    for method in methods:
        runs = table[table["method"] == method]
        if runs.empty:
            continue
        rows[short_name(method)] = {
            label: format_mean_ci(runs[col]) for col, label in columns.items()
        }
        if "converged" in runs:
            rows[short_name(method)]["converged"] = f"{int(runs['converged'].sum())} of {len(runs)}"
    return pd.DataFrame(rows).T


def method_legend(methods) -> str:
    """``**BCE** = binary cross-entropy (E1); ...`` for the methods shown."""
    return "; ".join(f"**{short_name(m)}** = {method_name(m)}" for m in methods) + "."


# ---------------------------------------------------------------------- chapter 01: the data
def table1_comparison(stats: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's Table 1 beside mean durations (and event counts) recomputed from data.

    Parameters
    ----------
    stats : dict
        ``{source name: class_stats(...)}``; the first source is compared with
        the paper in a ``difference`` column (relative, e.g. -0.67).
    """

    table = pd.DataFrame({"paper, Table 1 (s)": paper.table1()})
    for k, (name, frame) in enumerate(stats.items()):
        table[f"{name} (s)"] = frame["mean_duration"]
        table[f"{name} events"] = frame["n_events"]
        if k == 0:
            table["difference"] = frame["mean_duration"] / table["paper, Table 1 (s)"] - 1
    return table.sort_values("paper, Table 1 (s)")


def table1_deviations(stats: pd.DataFrame, tolerance: float = 0.05) -> pd.Series:
    """Classes whose recomputed mean duration differs from Table 1 by more than ``tolerance``.

    Returns the relative differences, largest first (e.g. ``children: -0.67``).
    """

    printed = paper.table1()
    difference = (stats["mean_duration"].reindex(printed.index) / printed - 1).dropna()
    far = difference[difference.abs() > tolerance]
    return far.reindex(far.abs().sort_values(ascending=False).index)


def describe_deviations(deviations: pd.Series, n_classes: int) -> str:
    """``"7 of 25 classes differ by more than 5%: children -67%, ..."``."""
    listed = ", ".join(
        f"{label} {value:+.1%}".replace(".0%", "%") for label, value in deviations.items()
    )
    return (
        f"{len(deviations)} of {n_classes} classes differ from Table 1 by more than 5%: {listed}."
    )


# ---------------------------------------------------------------------- chapter 02: E2's N_m
def e2_readings(
    meta: pd.DataFrame, labels, hop: float = 0.02, clip_s: float = 10.0, C: float = 500.0
) -> pd.DataFrame:
    """E2's class weight ``C / (N_m + C)`` under the paper's two readings of ``N_m``.

    *Per training set*: ``N_m`` counts the active frames of the class in all
    the data (this study's default). *Per clip*: ``N_m`` counts them in each
    10 s clip; shown is the median over the clips in which the class is
    active (files are cut into consecutive 10 s clips, each file as long as
    its last event).
    """

    labels = list(labels)
    per_set = class_stats(meta, hop)["n_frames"].reindex(labels).fillna(0)
    clip_frames = round(clip_s / hop)
    counts: dict[str, list[int]] = {label: [] for label in labels}
    for _, events in meta.groupby("filename", sort=False):
        n_clips = max(1, int(np.ceil(events["offset"].max() / clip_s)))
        roll = label_roll(events, labels, n_clips * clip_frames, hop).reshape(
            n_clips, clip_frames, -1
        )
        per_clip = roll.sum(axis=1)
        for k, label in enumerate(labels):
            counts[label] += [int(v) for v in per_clip[:, k] if v > 0]
    median = pd.Series({label: float(np.median(v)) if v else np.nan for label, v in counts.items()})
    return pd.DataFrame(
        {
            "N_m, training set": per_set.astype(int),
            "weight, training set": C / (per_set + C),
            "N_m per clip (median)": median,
            "weight per clip (median)": C / (median + C),
        }
    ).sort_values("N_m, training set", ascending=False)


# ---------------------------------------------------------------------- chapters 04-06: results
def result_header(result) -> str:
    """What a result set is, where it lives, how many runs converged, and the command that made it (Markdown)."""
    table = result.table
    where = f"`data/results/{result.grid}/{result.slug}.csv`"
    command = (
        f"Made by `{result.header['created_by']}`; today's command for the same settings: "
        f"`{result.command}`."
        if result.command != result.header["created_by"]
        else f"Regenerate with `{result.command}`."
    )
    return (
        f"**{rung_label(result)}.** {len(table)} run(s) of the `{result.grid}` grid, "
        f"{int(table['converged'].sum())} of them converged; training code: "
        f"{', '.join(result.code_versions)}; aggregated "
        f"{result.header['aggregated']['created_utc']} into {where}. {command}"
    )


def ladder_table(sets, metric: str = "macro_f", methods=None) -> pd.DataFrame:
    """Mean ± 95% CI (percent) of a metric per method (rows) and rung (columns, by :func:`rung_label`),
    the runs that converged, and the paper's Table 4."""

    methods = list(methods or PAPER_METHODS)
    columns = {}
    for result in sets:
        table = with_method(result.table)
        column = {
            short_name(m): format_mean_ci(table.loc[table["method"] == m, metric]) for m in methods
        }
        column["runs converged"] = f"{int(table['converged'].sum())} of {len(table)}"
        columns[rung_label(result)] = column
    frame = pd.DataFrame(columns)
    printed = paper.table4()
    if metric in ("macro_f", "micro_f"):
        frame["paper"] = [
            f"{printed.loc[m, f'{metric}_percent']:.2f}" if m in printed.index else "–"
            for m in methods
        ] + ["10 seeds"]
    frame.index.name = "method"
    return frame.fillna("–")


def table2_beside(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class F (%) and error rate of one result set beside the paper's Table 2, shortest class first."""

    f_here, er_here = per_class(result.table, "f"), per_class(result.table, "er")
    order = paper.table1().sort_values().index
    printed = paper.table2()
    f_rows, er_rows = {}, {}
    for method in PAPER_METHODS:
        if (method, "mean") not in f_here.columns:
            continue
        f_rows[(short_name(method), "here")] = f_here[(method, "mean")] * 100
        f_rows[(short_name(method), "paper")] = printed.loc[method, "f_percent"]
        er_rows[(short_name(method), "here")] = er_here[(method, "mean")]
        er_rows[(short_name(method), "paper")] = printed.loc[method, "er"]
    f_table = pd.DataFrame(f_rows).reindex(order)
    f_table.insert(0, ("", "duration (s)"), paper.table1().reindex(order))
    return f_table, pd.DataFrame(er_rows).reindex(order)


def short_long_table(result, k: int = 10) -> pd.DataFrame:
    """Mean F (%) of the k shortest and the k longest classes (Table 1 durations), here and in the paper."""

    f_here = per_class(result.table, "f")
    durations = paper.table1()
    rows = {}
    for method in PAPER_METHODS:
        if (method, "mean") not in f_here.columns:
            continue
        here = short_vs_long(f_here[(method, "mean")] * 100, durations, k)
        there = short_vs_long(paper.table2().loc[method, "f_percent"], durations, k)
        rows[short_name(method)] = {
            f"{k} shortest, here": here["short_mean_f"],
            f"{k} longest, here": here["long_mean_f"],
            f"{k} shortest, paper": there["short_mean_f"],
            f"{k} longest, paper": there["long_mean_f"],
        }
    return pd.DataFrame(rows).T


# ---------------------------------------------------------------------- chapter 07: beyond the paper
#: The metrics of the paired comparisons against BCE (chapter "Beyond the paper"), with their names.
COMPARED = {
    "macro_f": "macro F at 0.5",
    "tuned_macro_f": "macro F, tuned",
    "segment_ap": "segment AP",
    "psds1_mean": "PSDS1 (α_st=0)",
}


def paired_table(result, methods, compared: dict[str, str] | None = None) -> pd.DataFrame | None:
    """Every method against BCE, seed by seed, one cell per method and metric, corrected as one table.

    Parameters
    ----------
    result : ResultSet
        One rung (its table may join the ``baselines`` grid's runs: :func:`~sedlib.study.results.joined`).
    methods : sequence of str
        Method keys shown, BCE among them (compared with the others).
    compared : dict of str to str, optional
        Metric column to its name (default :data:`COMPARED`); a metric
        undefined in any run is left out.

    Returns
    -------
    pandas.DataFrame or None
        Rows: short method names; columns: metric names; cells
        ``"+1.2 [−0.3, +2.8], p=0.25"`` (difference in points, the paired
        t-interval, Holm-corrected p; ``p=–`` where the runs cannot carry a
        claim); ``attrs["gaps"]`` holds the findings shown. None when BCE is not among
        ``methods`` or every metric is missing.
    """

    compared = COMPARED if compared is None else compared
    table = result.table
    methods = [m for m in methods if m in set(table["method"])]
    others = [m for m in methods if m != "bce"]
    present = [c for c in compared if c in table and table[c].notna().all()]
    if "bce" not in methods or not others or not present:
        return None
    gaps = corrected([gap(result, m, metric) for m in others for metric in present])
    cells = [f"{interval(g.difference)}, p={p_text(g.p_holm)}" for g in gaps]
    shown = pd.DataFrame(np.reshape(cells, (len(others), len(present))),
                         index=[short_name(m) for m in others], columns=[compared[c] for c in present])  # fmt: skip
    shown.attrs["gaps"] = gaps  # the findings the cells show, for the note under the table
    return shown


#: Per-class metrics whose gain over BCE is set against the class's duration.
GAIN_METRICS = {"F at 0.5": "f", "F, tuned": "tuned_f", "AP": "ap"}


def duration_correlations(
    table: pd.DataFrame,
    challengers=("duration_robust-g1", "duration_robust-g4", "focal-g2"),
    metrics: dict[str, str] | None = None,
) -> dict:
    """Does the gain over BCE go to short events? Per challenger and metric, and in the paper.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-run table of one rung.
    challengers : sequence of str
        Method keys compared with BCE (those that did not run are skipped).
    metrics : dict of str to str, optional
        Name to per-class metric (default :data:`GAIN_METRICS`).

    Returns
    -------
    dict
        ``(short method name, metric name)`` to
        :class:`~sedlib.study.stats.DurationCorrelation` of the per-class gain
        (mean over seeds, points) with the paper's Table 1 durations; then the
        same for the paper's Table 2 (``"paper's Table 2, F at 0.5"``).
    """

    metrics = GAIN_METRICS if metrics is None else metrics
    durations = paper.table1()
    present = set(with_method(table)["method"])
    out = {}
    for label, metric in metrics.items():
        for method in (m for m in challengers if m in present):
            gain = class_gain(table, method, metric)
            if gain is not None:
                out[(short_name(method), label)] = duration_gain_correlation(gain, durations)
    printed = paper.table2()
    for method in ("duration_robust-g1", "duration_robust-g4"):
        gain = printed.loc[method, "f_percent"] - printed.loc["bce", "f_percent"]
        out[(short_name(method), "paper's Table 2, F at 0.5")] = duration_gain_correlation(
            gain, durations
        )
    return out


def correlation_table(correlations: dict) -> pd.DataFrame:
    """:func:`duration_correlations` as a table: Spearman ρ, permutation p (and Holm-corrected over
    the table), classes."""

    corrected = holm([r.p_permutation for r in correlations.values()])
    return pd.DataFrame(
        {
            key: {
                "Spearman ρ": f"{r.rho:+.2f}",
                "p (permutation)": f"{r.p_permutation:.3f}",
                "p (Holm)": p_text(q),
                "classes": r.n_classes,
            }
            for (key, r), q in zip(correlations.items(), corrected, strict=True)
        }
    ).T.rename_axis(["method", "gain in"])
