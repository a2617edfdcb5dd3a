"""Tables the chapters show, built from records and result sets (no numbers typed in by hand)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from sedlib.features import FeatureConfig
from sedlib.report.names import method_name, rung_label, short_name
from sedlib.study.summary import UNDEFINED_RULE, format_mean_ci, with_method
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
    from sedlib.data import read_meta
    from sedlib.study import paper

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


def _updates_per_epoch(defaults: dict) -> float:
    """Optimizer steps per epoch of one fold at the paper's size (192 min, 3 of 4 folds, minus validation)."""
    from sedlib.study import paper

    clips = paper.text_facts()["development_minutes"] * 60 / (CLIP_FRAMES * HOP_S)
    return clips * 3 / 4 * (1 - defaults["val_fraction"]) / defaults["batch_size"]


def training_choices() -> pd.DataFrame:
    """What the paper fixes, what it leaves open, and what this study chose (from ``TrainConfig``).

    The rows are :data:`sedlib.training.config.TRAINING_CHOICES`, the one
    statement of each choice and its reason; their "this study" column is
    filled from :class:`~sedlib.training.TrainConfig`'s defaults, so the table
    cannot disagree with what a run does.
    """
    d = _defaults()
    values = {
        **d,
        "clip_seconds": CLIP_FRAMES * HOP_S,
        "clip_frames": CLIP_FRAMES,
        "dropout": model_defaults()["dropout"],
        "updates_per_epoch": _updates_per_epoch(d),
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
        "F-score, threshold 0.5": (ev["macro_f"], ev["micro_f"]),
        "error rate, threshold 0.5": (ev["macro_er"], ev["micro_er"]),
        "F-score, thresholds tuned on validation": (tuned.get("macro_f"), tuned.get("micro_f")),
        "error rate, thresholds tuned on validation": (
            tuned.get("macro_er"),
            tuned.get("micro_er"),
        ),
    }
    return pd.DataFrame(rows, index=["macro", "micro"]).T.astype(float)


def per_class_table(record: RunRecord, durations: pd.Series) -> pd.DataFrame:
    """Per-class metrics of a run at its threshold beside each class's mean event duration."""
    table = record.per_class.assign(mean_duration_s=durations)
    columns = ["mean_duration_s", "f", "precision", "recall", "er", "n_ref", "n_sys"]
    table = table.sort_values("mean_duration_s")[columns]
    return table.astype({"f": float, "precision": float, "recall": float, "er": float})


def method_table(table: pd.DataFrame, methods, columns: dict[str, str]) -> pd.DataFrame:
    """Mean ± 95% CI over seeds (percent) of some columns, one row per method present."""
    table = with_method(table)
    rows = {}
    for method in methods:
        runs = table[table["method"] == method]
        if runs.empty:
            continue
        rows[short_name(method)] = {
            label: format_mean_ci(runs[col]) for col, label in columns.items()
        }
        rows[short_name(method)]["seeds"] = int(runs["seed"].nunique())
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
    from sedlib.study import paper

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
    from sedlib.study import paper

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
    from sedlib.data.meta import class_stats, label_roll

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
def result_header(result, rung: int | None = None) -> str:
    """What a result set is, where it lives and the command that made it (Markdown)."""
    table = result.table
    commits = sorted({str(c)[:10] for c in table["git_commit"].dropna()})
    where = f"`data/results/{result.grid}/{result.slug}.csv`"
    name = f"Rung {rung}: " if rung is not None else ""
    return (
        f"**{name}{rung_label(result)}.** {len(table)} run(s) of the `{result.grid}` grid "
        f"(up to {int(table['epochs_run'].max())} epochs per training; code {', '.join(commits)}), "
        f"aggregated {result.header['aggregated']['created_utc']} into {where}. "
        + (
            f"Made by `{result.header['created_by']}`; today's command for the same settings: "
            f"`{result.command}`."
            if result.command != result.header["created_by"]
            else f"Regenerate with `{result.command}`."
        )
    )


def ladder_table(sets, metric: str = "macro_f", methods=None) -> pd.DataFrame:
    """Mean ± 95% CI (percent) of a metric per method (rows) and rung (columns), with the paper's Table 4."""
    from sedlib.study import paper
    from sedlib.study.summary import PAPER_METHODS

    methods = list(methods or PAPER_METHODS)
    columns = {}
    for k, result in enumerate(sets, start=1):
        table = with_method(result.table)
        columns[f"rung {k}"] = {
            short_name(m): format_mean_ci(table.loc[table["method"] == m, metric]) for m in methods
        }
    frame = pd.DataFrame(columns)
    printed = paper.table4()
    if metric in ("macro_f", "micro_f"):
        frame["paper"] = [
            f"{printed.loc[m, f'{metric}_percent']:.2f}" if m in printed.index else "–"
            for m in methods
        ]
    frame.index.name = "method"
    return frame.fillna("–")


def table2_beside(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class F (%) and error rate of one result set beside the paper's Table 2, shortest class first."""
    from sedlib.study import paper
    from sedlib.study.summary import PAPER_METHODS, per_class

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
    from sedlib.study import paper
    from sedlib.study.summary import PAPER_METHODS, per_class, short_vs_long

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
