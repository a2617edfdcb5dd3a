"""The chapters' conclusions, written from the numbers so that they always describe the page.

Each function takes result tables (one row per run) and returns Markdown;
the tests feed them tables with known answers.
"""

from __future__ import annotations

import pandas as pd

from sedlib.report.names import method_name, rung_label, short_name
from sedlib.study import paper
from sedlib.study.stats import DurationCorrelation, compare_to_baseline
from sedlib.study.summary import PAPER_METHODS, with_method

#: The paper's ordering of its four methods by macro (and micro) F, best first (Table 4).
PAPER_ORDER = ("duration_robust-g4", "duration_robust-g1", "bce", "inverse_frequency")


def _means(table: pd.DataFrame, metric: str) -> pd.Series:
    table = with_method(table)
    return table.groupby("method")[metric].mean() * 100


def ordering(table: pd.DataFrame, metric: str = "macro_f") -> list[str]:
    """The paper's methods present in ``table``, best first by mean ``metric``."""
    means = _means(table, metric)
    return sorted((m for m in PAPER_METHODS if m in means.index), key=lambda m: -means[m])


def rung_verdict(table: pd.DataFrame, label: str) -> str:
    """One paragraph: does the paper's ordering hold on this rung, and which of its claims do.

    The claims checked: the duration robust loss beats BCE (each γ, paired
    over seeds, with the bootstrap interval of the difference), and the
    inverse frequency loss falls below BCE.
    """
    table = with_method(table)
    present = set(table["method"])
    if not {"bce", "duration_robust-g1", "duration_robust-g4", "inverse_frequency"} <= present:
        return f"- **{label}**: not all four methods of the paper have run here."
    order = ordering(table)
    means = _means(table, "macro_f")
    ranked = " > ".join(f"{short_name(m)} {means[m]:.1f}" for m in order)
    holds = tuple(order) == PAPER_ORDER
    paired = compare_to_baseline(
        table, "bce", ["duration_robust-g1", "duration_robust-g4", "inverse_frequency"], ["macro_f"]
    )
    claims = []
    for method in ("duration_robust-g1", "duration_robust-g4"):
        row = paired.loc[(method, "macro_f")]
        sure = row["ci_low"] > 0
        claims.append(
            f"{short_name(method)} {'beats' if row['mean'] > 0 else 'does not beat'} BCE by "
            f"{row['mean'] * 100:+.1f} points [{row['ci_low'] * 100:+.1f}, {row['ci_high'] * 100:+.1f}]"
            f"{' (interval above 0)' if sure else ''}, {int(row['wins'])}/{int(row['n'])} seeds"
        )
    inverse = paired.loc[("inverse_frequency", "macro_f")]
    printed = paper.table4()["macro_f_percent"]
    claims.append(
        f"IF is {'below' if inverse['mean'] < 0 else 'above'} BCE ({inverse['mean'] * 100:+.1f} points; "
        f"the paper: {printed['inverse_frequency'] - printed['bce']:+.1f})"
    )
    verdict = "the paper's ordering holds" if holds else "the paper's ordering does not hold"
    return f"- **{label}**: macro F {ranked}: {verdict}. " + "; ".join(claims) + "."


def ladder_verdict(sets) -> str:
    """What holds on which rung (one paragraph per rung), and across them."""
    lines = [
        rung_verdict(s.table, f"rung {k}: {rung_label(s)}") for k, s in enumerate(sets, start=1)
    ]
    holding = [k for k, s in enumerate(sets, start=1) if _holds(s.table)]
    if holding:
        lines.append(
            f"- The paper's ordering (DR γ=4 > DR γ=1 > BCE > IF) holds on rung(s) "
            f"{', '.join(map(str, holding))} of {len(sets)}."
        )
    else:
        lines.append(
            f"- The paper's ordering (DR γ=4 > DR γ=1 > BCE > IF) holds on none of the {len(sets)} rung(s)."
        )
    return "\n".join(lines)


def _holds(table: pd.DataFrame) -> bool:
    return tuple(ordering(table)) == PAPER_ORDER


def tendency(result: DurationCorrelation) -> str:
    """Words for a gain-versus-duration correlation."""
    if result.p_permutation >= 0.05:
        return "no clear tendency either way"
    if result.rho < 0:
        return "the gain goes to the shorter classes, as the paper argues"
    return "the gain goes to the *longer* classes, the opposite of the paper's argument"


def calibration(fixed_gain: float, tuned_gain: float, tuned_interval_above_zero: bool) -> str:
    """What tuning the thresholds says of a gain over BCE seen at the fixed threshold 0.5.

    Examples
    --------
    >>> calibration(2.0, 9.0, True)
    'The gain survives tuning, its interval above 0: not a calibration artefact.'
    >>> calibration(2.0, -1.0, False)
    'Tuning closes the gap: at 0.5 it was calibration, not detection.'
    """
    if fixed_gain > 0 and tuned_gain > 0:
        if tuned_interval_above_zero:
            return "The gain survives tuning, its interval above 0: not a calibration artefact."
        return "The gain stays positive after tuning but its interval includes 0: undecided at this size."
    if fixed_gain > 0:
        return "Tuning closes the gap: at 0.5 it was calibration, not detection."
    if tuned_gain > 0:
        qualifier = (
            "its interval above 0" if tuned_interval_above_zero else "its interval including 0"
        )
        return f"Not ahead of BCE at 0.5, ahead once both are tuned ({qualifier}): 0.5 does not suit its outputs."
    return "Not ahead of BCE, at 0.5 or after tuning."


def beyond_verdict(
    table: pd.DataFrame, correlations: dict[tuple[str, str], DurationCorrelation], label: str
) -> str:
    """Chapter 6's answers: tuned thresholds, threshold-free ranking, short events, all on one rung."""
    table = with_method(table)
    methods = [m for m in table["method"].unique()]
    if not {"bce", "duration_robust-g1", "duration_robust-g4"} <= set(methods):
        return f"On {label}: the duration robust and BCE runs needed for these answers are missing."
    means = {metric: _means(table, metric) for metric in ("macro_f", "tuned_macro_f", "segment_ap")}
    challengers = ["duration_robust-g1", "duration_robust-g4"]
    paired = compare_to_baseline(table, "bce", challengers, ["tuned_macro_f"])
    lines = []
    for m in challengers:
        fixed = means["macro_f"][m] - means["macro_f"]["bce"]
        tuned = means["tuned_macro_f"][m] - means["tuned_macro_f"]["bce"]
        ap = means["segment_ap"][m] - means["segment_ap"]["bce"]
        row = paired.loc[(m, "tuned_macro_f")]
        lines.append(
            f"- **{method_name(m)}** vs BCE: macro F {fixed:+.1f} points at 0.5, {tuned:+.1f} with tuned "
            f"thresholds (95% bootstrap interval {row['ci_low'] * 100:+.1f} to {row['ci_high'] * 100:+.1f}, "
            f"wins {int(row['wins'])} of {int(row['n'])} seeds); segment AP {ap:+.1f} points. "
            + calibration(fixed, tuned, row["ci_low"] > 0)
        )
    best = {metric: means[metric].idxmax() for metric in means}
    lines.append(
        f"- Best macro F at 0.5: {method_name(best['macro_f'])} ({means['macro_f'].max():.1f}%); with tuned "
        f"thresholds: {method_name(best['tuned_macro_f'])} ({means['tuned_macro_f'].max():.1f}%); best segment "
        f"AP: {method_name(best['segment_ap'])} ({means['segment_ap'].max():.1f}%)."
    )
    for (method, metric), result in correlations.items():
        lines.append(
            f"- Gain against duration, {method}, {metric}: ρ = {result.rho:+.2f} "
            f"(p = {result.p_permutation:.3f}); {tendency(result)}."
        )
    seeds = int(table["seed"].nunique())
    lines.append(
        f"- All of this is {seeds} seeds on {label}. With {seeds} seeds the smallest possible "
        f"Wilcoxon p-value is {2 / 2**seeds:.3g}: the intervals carry the evidence."
    )
    return "\n".join(lines)


#: The metrics of the paired comparisons against BCE (chapter "Beyond the paper"), with their names.
COMPARED = {
    "macro_f": "macro F at 0.5",
    "tuned_macro_f": "macro F, tuned",
    "segment_ap": "segment AP",
    "psds1_mean": "PSDS1 (α_st=0)",
}


def paired_table(
    table: pd.DataFrame, methods, compared: dict[str, str] | None = None, baseline: str = "bce"
) -> pd.DataFrame | None:
    """Every method against ``baseline``, seed by seed: one formatted cell per method and metric.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-run table of one rung (with ``method`` or ``loss``/``gamma``, and ``seed``).
    methods : sequence of str
        Method keys shown (``baseline`` among them is skipped).
    compared : dict of str to str, optional
        Metric column to its name (default :data:`COMPARED`); a metric
        undefined in any run is left out.
    baseline : str
        The method subtracted.

    Returns
    -------
    pandas.DataFrame or None
        Rows: short method names; columns: metric names; cells
        ``"+1.2 [-0.3, +2.8], p=0.25, 2/3"`` (difference in points, bootstrap
        95% interval, Wilcoxon p, seeds won). None when ``baseline`` or every
        metric is missing.
    """
    compared = COMPARED if compared is None else compared
    table = with_method(table)
    methods = [m for m in methods if m in set(table["method"])]
    others = [m for m in methods if m != baseline]
    present = [c for c in compared if c in table and table[c].notna().all()]
    if baseline not in methods or not others or not present:
        return None
    paired = compare_to_baseline(table, baseline, others, present)
    shown = paired.apply(
        lambda r: (
            f"{r['mean'] * 100:+.1f} [{r['ci_low'] * 100:+.1f}, {r['ci_high'] * 100:+.1f}], "
            f"p={r['p_wilcoxon']:.2f}, {int(r['wins'])}/{int(r['n'])}"
        ),
        axis=1,
    ).unstack("metric")[present]
    shown.index = [short_name(m) for m in shown.index]
    shown.columns = [compared[c] for c in present]
    return shown


#: Per-class metrics whose gain over BCE is set against the class's duration.
GAIN_METRICS = {"F at 0.5": "f", "F, tuned": "tuned_f", "AP": "ap"}


def duration_correlations(
    table: pd.DataFrame,
    challengers=("duration_robust-g1", "duration_robust-g4", "focal-g2"),
    metrics: dict[str, str] | None = None,
) -> dict[tuple[str, str], DurationCorrelation]:
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
    from sedlib.report.figures import class_gains
    from sedlib.study.stats import duration_gain_correlation

    metrics = GAIN_METRICS if metrics is None else metrics
    durations = paper.table1()
    present = set(with_method(table)["method"])
    out = {}
    for label, metric in metrics.items():
        for method in (m for m in challengers if m in present):
            ((gain, _),) = class_gains([table], method, metric)
            if gain is not None:
                out[(short_name(method), label)] = duration_gain_correlation(gain, durations)
    printed = paper.table2()
    for method in ("duration_robust-g1", "duration_robust-g4"):
        gain = printed.loc[method, "f_percent"] - printed.loc["bce", "f_percent"]
        out[(short_name(method), "paper's Table 2, F at 0.5")] = duration_gain_correlation(
            gain, durations
        )
    return out


def correlation_table(correlations: dict[tuple[str, str], DurationCorrelation]) -> pd.DataFrame:
    """:func:`duration_correlations` as a table: Spearman ρ, permutation p, classes."""
    return pd.DataFrame(
        {
            key: {
                "Spearman ρ": f"{r.rho:+.2f}",
                "p (permutation)": f"{r.p_permutation:.3f}",
                "classes": r.n_classes,
            }
            for key, r in correlations.items()
        }
    ).T.rename_axis(["method", "gain in"])
