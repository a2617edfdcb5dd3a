"""The answer at a glance: the study's headline, written from the committed result sets.

:func:`glance_table` takes the rungs of the ``paper`` grid and returns, per
rung and per challenger (DR γ=1, DR γ=4, IF), the paired difference to BCE
in macro F over the seeds of that rung with its bootstrap interval, beside
the paper's difference (Table 4). :func:`glance_figure` draws it and
:func:`glance_sentences` says it in three sentences. A new rung or a new
result set changes all three at the next build; no number is typed here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sedlib.report.figures import (
    FIGURE_WIDTH_IN,
    ladder_legend,
    method_colour,
    metric_label,
    paper_marker_style,
    rung_marker,
    set_alt,
)
from sedlib.report.names import rung_label, short_name
from sedlib.study import paper
from sedlib.study.stats import compare_to_baseline
from sedlib.study.summary import with_method

#: The challengers compared with BCE, in the order drawn.
CHALLENGERS = ("duration_robust-g4", "duration_robust-g1", "inverse_frequency")
#: The glance's metric.
METRIC = "macro_f"


def glance_table(sets, metric: str = METRIC, challengers=CHALLENGERS) -> pd.DataFrame:
    """Paired differences to BCE per rung and challenger, in points, with the paper's.

    Parameters
    ----------
    sets : list of sedlib.study.results.ResultSet
        The rungs of the ``paper`` grid, in ladder order (``load_ladder("paper")``).
    metric : str
        ``macro_f`` (default) or ``micro_f``.
    challengers : sequence of str
        Method keys compared with ``bce``.

    Returns
    -------
    pandas.DataFrame
        One row per (rung, challenger) that ran with BCE: ``rung`` (1-based),
        ``label``, ``method``, ``name`` (``"DR γ=4 − BCE"``), ``mean``,
        ``ci_low``, ``ci_high`` (bootstrap 95% interval over paired seeds),
        ``n`` (seeds), ``wins`` and ``paper`` (the paper's difference), all
        in points of F.
    """
    printed = paper.table4()[f"{metric}_percent"]
    rows = []
    for k, result in enumerate(sets, start=1):
        table = with_method(result.table)
        present = set(table["method"])
        methods = [m for m in challengers if m in present]
        if "bce" not in present or not methods:
            continue
        paired = compare_to_baseline(table, "bce", methods, [metric])
        for m in methods:
            row = paired.loc[(m, metric)]
            rows.append(
                {
                    "rung": k,
                    "label": rung_label(result),
                    "method": m,
                    "name": f"{short_name(m)} − BCE",
                    "mean": float(row["mean"]) * 100,
                    "ci_low": float(row["ci_low"]) * 100,
                    "ci_high": float(row["ci_high"]) * 100,
                    "n": int(row["n"]),
                    "wins": int(row["wins"]),
                    "paper": float(printed[m] - printed["bce"]),
                }
            )
    columns = ["rung", "label", "method", "name", "mean", "ci_low", "ci_high", "n", "wins", "paper"]
    return pd.DataFrame(rows, columns=columns)


def glance_figure(frame: pd.DataFrame, metric: str = METRIC):
    """The glance table drawn: one row per challenger, one marker per rung, the paper hollow black.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`glance_table`'s result.
    metric : str
        The metric of ``frame`` (for the axis label).

    Returns
    -------
    matplotlib.figure.Figure
    """
    methods = [m for m in CHALLENGERS if m in set(frame["method"])] or list(CHALLENGERS)
    n_rungs = int(frame["rung"].max()) if len(frame) else 0
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 1.0 + 0.75 * len(methods)))
    step = 0.5 / max(n_rungs, 1)
    for i, m in enumerate(methods):
        rows = frame[frame["method"] == m]
        for _, row in rows.iterrows():
            y = i - 0.25 + (row["rung"] - 1) * step
            ax.errorbar(
                row["mean"], y,
                xerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                marker=rung_marker(int(row["rung"])), color=method_colour(m), capsize=3,
                linestyle="none", markersize=6,
            )  # fmt: skip
        printed = paper.table4()[f"{metric}_percent"]
        ax.plot(printed[m] - printed["bce"], i + 0.3, **paper_marker_style())
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(range(len(methods)), [f"{short_name(m)} − BCE" for m in methods])
    ax.invert_yaxis()
    ax.set_xlabel(f"difference to BCE, {metric_label(metric)} (points of %)")
    ax.legend(
        handles=ladder_legend(n_rungs), loc="upper center", bbox_to_anchor=(0.5, -0.3),
        ncol=n_rungs + 1, frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    return set_alt(fig, glance_alt(frame, metric))


def _points(value: float) -> str:
    text = f"{value:+.1f}"
    return "+0.0" if text == "-0.0" else text


def _interval(row) -> str:
    return f"{_points(row['mean'])} [{_points(row['ci_low'])}, {_points(row['ci_high'])}]"


def glance_alt(frame: pd.DataFrame, metric: str = METRIC) -> str:
    """Alt text of :func:`glance_figure`: every point and interval it draws, in words."""
    parts = [
        f"Differences to BCE in {metric_label(metric)}, in points, "
        "with 95% bootstrap intervals over paired seeds; hollow black squares: the paper."
    ]
    for _, row in frame.iterrows():
        parts.append(
            f"Rung {row['rung']}, {row['name']}: {_interval(row)}; paper {row['paper']:+.1f}."
        )
    return " ".join(parts)


def glance_sentences(frame: pd.DataFrame, n_rungs: int, missing: str = "") -> list[str]:
    """Three sentences: what the paper found, what the rung closest to it finds, what holds across rungs.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`glance_table`'s result.
    n_rungs : int
        The number of rungs loaded (some may lack BCE and appear in no row).
    missing : str
        What to say when no rung has results (:func:`sedlib.report.tables.no_results`).

    Returns
    -------
    list of str
        Three Markdown sentences (one when there are no results).
    """
    printed = paper.table4()["macro_f_percent"]
    inverse = printed["inverse_frequency"] - printed["bce"]
    claim = (
        f"The paper reports that the duration robust loss beats BCE by "
        f"{printed['duration_robust-g4'] - printed['bce']:+.2f} points of macro F (γ=4) and "
        f"{printed['duration_robust-g1'] - printed['bce']:+.2f} (γ=1), and that inverse frequency "
        f"weighting {'falls' if inverse < 0 else 'rises'} {abs(inverse):.2f} points "
        f"{'below' if inverse < 0 else 'above'} it."
    )
    if frame.empty:
        return [f"{claim} {missing}".strip()]
    top = frame[frame["rung"] == frame["rung"].max()]
    said = ", ".join(f"{row['name']} {_interval(row)}" for _, row in top.iterrows())
    closest = (
        f"On the rung closest to the paper (rung {int(top['rung'].iloc[0])} of {n_rungs}, "
        f"{int(top['n'].max())} seeds) the paired differences are {said} points "
        f"[95% bootstrap interval]."
    )
    rungs = sorted(frame["rung"].unique())
    counts = []
    for m in frame["method"].unique():
        rows = frame[frame["method"] == m]
        agree = int((np.sign(rows["mean"]) == np.sign(rows["paper"])).sum())
        sure = int(((rows["ci_low"] > 0) | (rows["ci_high"] < 0)).sum())
        counts.append(f"{short_name(m)} on {agree} ({sure} with an interval excluding 0)")
    across = (
        f"Of the {len(rungs)} rung(s) with BCE, the difference has the paper's sign for "
        + ", ".join(counts)
        + "."
    )
    return [claim, closest, across]


def glance(sets, missing: str = "") -> tuple[pd.DataFrame, object, str]:
    """Everything the intro shows: the table, the figure (None without results) and the text.

    Parameters
    ----------
    sets : list of sedlib.study.results.ResultSet
        The rungs of the ``paper`` grid, in ladder order.
    missing : str
        What to say when there are none (:func:`sedlib.report.tables.no_results`).

    Returns
    -------
    (pandas.DataFrame, matplotlib.figure.Figure or None, str)
        :func:`glance_table`, :func:`glance_figure` and the three sentences as one paragraph.
    """
    frame = glance_table(sets)
    fig = glance_figure(frame) if len(frame) else None
    return frame, fig, " ".join(glance_sentences(frame, len(sets), missing))


def glance_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The glance table as a page shows it: one short row per rung and difference.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`glance_table`'s result.

    Returns
    -------
    pandas.DataFrame
        Index ``rung``; columns ``difference``, ``this study [95% CI]``, ``seeds won``, ``paper``.
    """
    return pd.DataFrame(
        {
            "difference": list(frame["name"]),
            "this study [95% CI]": [_interval(row) for _, row in frame.iterrows()],
            "seeds won": [f"{w} of {n}" for w, n in zip(frame["wins"], frame["n"], strict=True)],
            "paper": [_points(v) for v in frame["paper"]],
        },
        index=pd.Index(frame["rung"].astype(int).to_numpy(), name="rung"),
    )


def rung_list(frame: pd.DataFrame) -> str:
    """The rungs the glance numbers, one Markdown line each: ``rung k: <label>``."""
    rungs = frame.drop_duplicates("rung")
    return "\n".join(f"- rung {int(r.rung)}: {r.label}" for r in rungs.itertuples())
