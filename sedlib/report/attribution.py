"""The chapter "Why the numbers differ from the paper": arms matched to their baseline, tables, figure.

The attribution grids (:data:`sedlib.study.grids.CAUSE_GRIDS`) are run on
rungs; a *cause rung* is one baseline result set with the arms' result sets
made on the same data with the same settings but the arm's own. Everything
here reads committed result sets; the arithmetic and the verdict rule are
in :mod:`sedlib.study.attribution`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sedlib.study.attribution import CHALLENGERS, attribution_table, gap_by_seed, method_effects
from sedlib.study.grids import CAUSE_GRIDS, Grid
from sedlib.study.results import ResultSet, load_ladder
from sedlib.study.summary import mean_ci, short_name

BASELINE_GRID = CAUSE_GRIDS[0].name
ARM_GRIDS: tuple[Grid, ...] = tuple(g for g in CAUSE_GRIDS if g.cause)
#: Settings that follow from an arm's own (SGD's momentum exists only with SGD).
_FOLLOWING = {"optimizer": ("momentum",)}


@dataclass
class CauseRung:
    """A baseline result set and the arms run on the same rung."""

    baseline: ResultSet
    arms: dict[str, ResultSet] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The rung as the ladder describes it."""
        return self.baseline.label


def _arm_keys(grid: Grid) -> set[str]:
    keys = set(grid.settings)
    for key in list(keys):
        keys.update(_FOLLOWING.get(key, ()))
    return keys


def same_rung(baseline: ResultSet, arm: ResultSet, grid: Grid) -> bool:
    """Same data and the same shared settings, except those the arm's grid sets."""
    if baseline.header["data"].get("fingerprint") != arm.header["data"].get("fingerprint"):
        return False
    skip = _arm_keys(grid) | {"dataset"}
    a = {k: v for k, v in baseline.header["settings"].items() if k not in skip}
    b = {k: v for k, v in arm.header["settings"].items() if k not in skip}
    return a == b


def cause_rungs(root: Path | None = None) -> list[CauseRung]:
    """Every baseline result set with the arms found on its rung, farthest from the paper first."""
    arm_sets = {grid.name: load_ladder(grid.name, root) for grid in ARM_GRIDS}
    rungs = []
    for base in load_ladder(BASELINE_GRID, root):
        rung = CauseRung(base)
        for grid in ARM_GRIDS:
            match = [s for s in arm_sets[grid.name] if same_rung(base, s, grid)]
            if match:
                rung.arms[grid.name] = max(match, key=lambda s: s.header["runs"])
        rungs.append(rung)
    return rungs


def cause_table(rung: CauseRung, metric: str = "macro_f") -> pd.DataFrame:
    """Cause → arm → gap → change with its paired interval → verdict, for every arm on the rung."""
    grids = {g.name: g for g in ARM_GRIDS}
    arms = {name: s.table for name, s in rung.arms.items()}
    table = attribution_table(rung.baseline.table, arms, metric)
    table.insert(0, "cause", [grids[a].cause for a in table["arm"]])
    table["arm"] = [grids[a].description.removeprefix("attribution: ") for a in table["arm"]]
    return table


def effects_table(rung: CauseRung, metric: str = "macro_f") -> pd.DataFrame:
    """Per arm and method: the arm's mean and its effect on the method (arm − baseline, paired)."""
    frames = []
    for name, arm in rung.arms.items():
        frame = method_effects(rung.baseline.table, arm.table, metric)
        frame.insert(0, "grid", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def gap_figure(rung: CauseRung, metric: str = "macro_f"):
    """IF − BCE and DR γ=4 − BCE (points, mean ± 95% CI over seeds) per arm, with the paper's gaps."""
    from sedlib.report.figures import (
        FIGURE_WIDTH_IN,
        PAPER_STYLE,
        method_colour,
        metric_label,
        setup,
    )
    from sedlib.study.attribution import paper_gap

    setup()  # the book's one figure style (fonts, SVG with alt text)
    sets = {BASELINE_GRID: rung.baseline, **rung.arms}
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.8))
    x = np.arange(len(sets))
    for k, challenger in enumerate(CHALLENGERS):
        colour = method_colour(challenger)
        stats = [mean_ci(gap_by_seed(s.table, challenger, metric)) for s in sets.values()]
        means = [m for m, _, _ in stats]
        errors = [np.nan_to_num(h) for _, h, _ in stats]
        offset = (k - 0.5) * 0.2
        ax.errorbar(x + offset, means, yerr=errors, fmt="o", color=colour, capsize=3,
                    label=f"{short_name(challenger)} − BCE")  # fmt: skip
        gap = paper_gap(challenger, metric)
        ax.axhline(gap, color=PAPER_STYLE["color"], ls=PAPER_STYLE["linestyle"], lw=1)
        ax.annotate(f"paper: {short_name(challenger)} − BCE", (1.0, gap), xycoords=("axes fraction", "data"),
                    xytext=(2, 0), textcoords="offset points", va="center", fontsize=9)  # fmt: skip
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xticks(x, [name.removeprefix("cause-") for name in sets])
    ax.set_ylabel(f"gap in {metric_label(metric)}\n(points of %)")
    ax.set_xlabel("arm (one setting changed against the baseline)")
    ax.legend(fontsize=9, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    return fig


def pending_arms(rung: CauseRung) -> list[str]:
    """Arm grids not yet run on this rung."""
    return [g.name for g in ARM_GRIDS if g.name not in rung.arms]


def sgd_lr_table(root: Path | None = None) -> pd.DataFrame:
    """SGD's learning rates tried on BCE: validation and test macro F (%), the chosen one marked.

    The choice is the best validation macro F (the development files held
    out for validation); the test score is shown, never used.
    """
    rows = []
    for result in load_ladder("sgd-lr", root):
        table = result.table
        rows.append(
            {
                "lr": float(result.header["settings"]["lr"]),
                "rung": result.header["data"]["name"],
                "validation macro F (%)": float(table["val_macro_f"].mean() * 100)
                if "val_macro_f" in table
                else np.nan,
                "test macro F (%)": float(table["macro_f"].mean() * 100),
                "seeds": int(table["seed"].nunique()),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["rung", "lr"]).reset_index(drop=True)
    best = frame.groupby("rung")["validation macro F (%)"].transform("max")
    frame["chosen"] = np.where(frame["validation macro F (%)"] == best, "✓", "")
    return frame


#: How close BCE must land to the paper's BCE for a difficulty to count as calibrated (points).
CALIBRATION_WINDOW = {"micro_f": 5.0, "macro_f": 4.0}


def calibration_table(root: Path | None = None) -> pd.DataFrame:
    """BCE per difficulty (event-to-background offset, dB) against the paper's BCE, the chosen one marked.

    The chosen offset is the one whose BCE lies within the windows of
    :data:`CALIBRATION_WINDOW` around the paper's and nearest to it (largest
    distance in window units smallest); none is chosen when none lies within.
    """
    import re

    from sedlib.study import paper

    printed = paper.table4().loc["bce"]
    rows = []
    for result in load_ladder("calibration", root):
        match = re.search(r"-ebr(-?[\d.]+)", result.header["data"]["name"])
        rows.append(
            {
                "offset (dB)": float(match.group(1)) if match else 0.0,
                "data": result.header["data"]["name"],
                "protocol": result.header["protocol"],
                "seeds": int(result.table["seed"].nunique()),
                "macro F (%)": float(result.table["macro_f"].mean() * 100),
                "micro F (%)": float(result.table["micro_f"].mean() * 100),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values("offset (dB)", ascending=False).reset_index(drop=True)
    distance = np.maximum(
        (frame["micro F (%)"] - printed["micro_f_percent"]).abs() / CALIBRATION_WINDOW["micro_f"],
        (frame["macro F (%)"] - printed["macro_f_percent"]).abs() / CALIBRATION_WINDOW["macro_f"],
    )
    frame["within the window"] = distance <= 1
    chosen = (
        distance[frame["within the window"]].idxmin() if frame["within the window"].any() else None
    )
    frame["chosen"] = ["✓" if k == chosen else "" for k in frame.index]
    return frame


def rung_paragraph(rung: CauseRung, metric: str = "macro_f") -> str:
    """What the arms on one rung explain, written from the cause table."""
    if not rung.arms:
        return "No arm has been run on this rung yet."
    table = cause_table(rung, metric)
    parts = []
    for verdict in ("explains", "partly explains", "does not explain"):
        found = table[table["verdict"] == verdict]
        if found.empty:
            continue
        named = "; ".join(
            f"{row.cause} on {row.gap} ({row.baseline_gap:+.1f} → {row.arm_gap:+.1f} points, "
            f"change {row.change:+.1f} [{row.ci_low:+.1f}, {row.ci_high:+.1f}])"
            for row in found.itertuples()
        )
        parts.append(f"**{verdict.capitalize()}**: {named}.")
    pending = pending_arms(rung)
    if pending:
        parts.append(f"Not run yet on this rung: {', '.join(pending)}.")
    return " ".join(parts)
