"""The answer at a glance, drawn: the gaps to BCE of the rungs a claim may rest on, beside the paper's.

The gaps are :func:`sedlib.study.findings.ladder_gaps` (the paired
t-interval over seeds, Holm's correction over the glance's table); only
gaps whose evidence is usable are drawn (:mod:`sedlib.study.evidence`):
runs that did not converge, superseded or mixed result sets never enter
the glance.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from sedlib.report.figures import (
    FIGURE_WIDTH_IN,
    ladder_legend,
    method_colour,
    metric_label,
    paper_marker_style,
    rung_marker,
    set_alt,
)
from sedlib.report.names import interval, rung_label, short_name, signed
from sedlib.study.findings import LADDER_CHALLENGERS, Gap


def glance_figure(gaps: list[Gap], metric: str = "macro_f"):
    """One row per challenger, one marker per rung (its label in the legend), the paper hollow black.

    Parameters
    ----------
    gaps : list of Gap
        Gaps with a difference (the glance draws those that are tested).
    metric : str
        Their metric (for the axis label).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rungs = list(dict.fromkeys(g.result.slug for g in gaps))
    labels = {g.result.slug: rung_label(g.result) for g in gaps}
    methods = [m for m in LADDER_CHALLENGERS if m in {g.challenger for g in gaps}]
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 1.2 + 0.75 * len(methods) + 0.3 * len(rungs)))
    step = 0.5 / max(len(rungs), 1)
    for g in gaps:
        k, d = rungs.index(g.result.slug), g.difference
        ax.errorbar(
            d.mean, methods.index(g.challenger) - 0.25 + k * step,
            xerr=[[d.mean - d.ci_low], [d.ci_high - d.mean]], marker=rung_marker(k + 1),
            color=method_colour(g.challenger), capsize=3, linestyle="none", markersize=6,
        )  # fmt: skip
    for i, m in enumerate(methods):
        ax.plot(next(g.paper for g in gaps if g.challenger == m), i + 0.3, **paper_marker_style())
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(range(len(methods)), [f"{short_name(m)} − BCE" for m in methods])
    ax.invert_yaxis()
    ax.set_xlabel(f"difference to BCE, {metric_label(metric)} (points of %)")
    ax.legend(handles=ladder_legend([labels[s] for s in rungs]), loc="upper center",
              bbox_to_anchor=(0.5, -0.3), ncol=1, frameon=False)  # fmt: skip
    fig.tight_layout()
    return set_alt(fig, glance_alt(gaps, metric))


def glance_alt(gaps: list[Gap], metric: str = "macro_f") -> str:
    """Alt text of :func:`glance_figure`: every point and interval it draws."""
    parts = [
        f"Differences to BCE in {metric_label(metric)}, in points, with 95% paired t-intervals "
        "over seeds; hollow black squares: the paper."
    ]
    parts += [
        f"{rung_label(g.result)}, {short_name(g.challenger)} − BCE: {interval(g.difference)}; "
        f"paper {signed(g.paper)}."
        for g in gaps
    ]
    return " ".join(parts)
