"""The chapter "Why the numbers differ from the paper": its tables and figure, formatted from the study's findings.

The findings (verdicts, choices, patterns) and their rules are in
:mod:`sedlib.study.attribution`, :mod:`sedlib.study.choices` and
:mod:`sedlib.study.findings`; this module only lays them out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sedlib.report.figures import (
    FIGURE_WIDTH_IN,
    PAPER_STYLE,
    method_colour,
    metric_label,
    setup,
)
from sedlib.report.names import interval, p_text, rung_label, seeds_text, short_name, signed
from sedlib.study.attribution import ARM_GRIDS, ArmFinding, CauseRung, channels, method_effects
from sedlib.study.choices import Choice, split_difficulty
from sedlib.study.findings import CHALLENGERS, Gap, Pattern, gap, paper_gap
from sedlib.study.grids import Cause

#: The causes as the chapter names them.
CAUSE_NAMES = {
    Cause.OPTIMIZER: "1. optimizer",
    Cause.OUTPUT_BIAS: "2. output bias",
    Cause.CLASS_FRAMES: "3. E2's N_m",
    Cause.SELECTION: "4. model selection",
    Cause.DIFFICULTY: "5. audio difficulty",
    Cause.CAPACITY: "6. capacity",
}


def arm_label(found: ArmFinding) -> str:
    """What the arm changes: its grid's setting, the harder data (cause 5) or the paper's width (cause 6)."""
    if found.cause is Cause.DIFFICULTY:
        return f"events {split_difficulty(found.changed.header['data']['name'])[1]:g} dB"
    if found.cause is Cause.CAPACITY:
        return f"{channels(found.baseline)} → {channels(found.changed)} ch (the paper's width)"
    return found.arm.removeprefix("cause-")


def verdict_table(findings: list[ArmFinding]) -> pd.DataFrame:
    """Every finding of :func:`sedlib.study.attribution.cause_findings`, one row each, cause by cause."""
    rows = [
        {
            "cause: arm": f"{CAUSE_NAMES[f.cause]}: {arm_label(f)}",
            "rung": rung_label(f.baseline),
            "gap": f"{short_name(f.challenger)} − BCE (paper {signed(f.paper, 2)})",
            "baseline → arm": f"{signed(f.baseline_gap)} → {signed(f.arm_gap)}",
            "change [95 % CI]": interval(f.difference),
            "seeds": seeds_text(f.evidence),
            "p (Holm)": p_text(f.p_holm),
            "verdict": f.verdict.value,
        }
        for f in sorted(findings, key=lambda f: (f.cause, f.baseline.fidelity))
    ]
    return pd.DataFrame(rows)


def effects_table(rung: CauseRung, metric: str = "macro_f") -> pd.DataFrame:
    """Per arm and method: the baseline's and the arm's means, and the effect (arm − baseline, paired)."""
    rows = []
    for name, arm in rung.arms.items():
        for e in method_effects(rung.baseline, arm, metric).itertuples():
            rows.append({"arm": name.removeprefix("cause-"), "method": short_name(e.method),
                         "baseline": e.baseline, "arm mean": e.arm,
                         "effect [95 % CI]": interval(e.effect), "seeds": seeds_text(e.evidence)})  # fmt: skip
    return pd.DataFrame(rows)


def gap_figure(rung: CauseRung, metric: str = "macro_f"):
    """IF − BCE and DR γ=4 − BCE (points, mean and 95 % t-interval over seeds) per arm, with the paper's gaps."""
    setup()
    sets = {"baseline": rung.baseline} | {k.removeprefix("cause-"): v for k, v in rung.arms.items()}
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.8))
    x = np.arange(len(sets))
    for k, challenger in enumerate(CHALLENGERS):
        found = [gap(s, challenger, metric).difference for s in sets.values()]
        means = np.array([d.mean if d else np.nan for d in found])
        errors = np.array(
            [[d.mean - d.ci_low, d.ci_high - d.mean] if d else [0, 0] for d in found]
        ).T
        ax.errorbar(x + (k - 0.5) * 0.2, means, yerr=errors, fmt="o", color=method_colour(challenger),
                    capsize=3, label=f"{short_name(challenger)} − BCE")  # fmt: skip
        printed = paper_gap(challenger, metric)
        ax.axhline(printed, color=PAPER_STYLE["color"], ls=PAPER_STYLE["linestyle"], lw=1)
        ax.annotate(f"paper: {short_name(challenger)} − BCE", (1.0, printed), xycoords=("axes fraction", "data"),
                    xytext=(2, 0), textcoords="offset points", va="center", fontsize=9)  # fmt: skip
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xticks(x, list(sets))
    ax.set_ylabel(f"gap in {metric_label(metric)}\n(points of %)")
    ax.set_xlabel("arm (one setting changed against the baseline)")
    ax.legend(fontsize=9, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    return fig


def arms_table() -> pd.DataFrame:
    """The causes and their arms: the grid and what it changes."""
    return pd.DataFrame(
        [
            {
                "cause": CAUSE_NAMES[g.cause],
                "arm": g.description.removeprefix("attribution: "),
                "grid": g.name,
            }
            for g in ARM_GRIDS
        ]
    )


def choice_table(choice: Choice, value: str, score: str) -> pd.DataFrame:
    """The candidates of a stage's choice: value, score, test macro and micro F (%), seeds, the chosen one."""
    return pd.DataFrame(
        [
            {
                value: c.value,
                score: c.score,
                "macro F (%)": c.result.table["macro_f"].mean() * 100,
                "micro F (%)": c.result.table["micro_f"].mean() * 100,
                "seeds": c.result.table["seed"].nunique(),
                "runs converged": f"{int(c.result.table['converged'].sum())} of {len(c.result.table)}",
                "superseded": "yes" if c.result.superseded else "no",
                "chosen": "✓" if c.chosen else "",
            }
            for c in choice.candidates
        ]
    )


def pattern_table(found: list[Pattern]) -> pd.DataFrame:
    """Per rung and gap of the paper's pattern: this study's gap, the corrected p, the paper's, its side."""
    return gaps_table([g for p in found for g in p.gaps])


def gaps_table(gaps: list[Gap], question: str = "on the paper's side") -> pd.DataFrame:
    """Gaps to BCE (the glance, the ladder, the patterns; the departures with ``question="departs"``)."""
    answer = (lambda g: g.agrees) if question == "on the paper's side" else (lambda g: g.departs)
    rows = [
        {
            "rung": rung_label(g.result),
            "difference": f"{short_name(g.challenger)} − BCE",
            "this study [95 % CI]": interval(g.difference),
            "seeds": seeds_text(g.evidence),
            "p (Holm)": p_text(g.p_holm),
            "paper": signed(g.paper, 2),
            question: answer(g).value,
        }
        for g in gaps
    ]
    return pd.DataFrame(rows)
