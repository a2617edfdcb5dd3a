"""The chapter "Why the numbers differ from the paper": arms matched to their baseline, tables, figure.

The attribution grids (:data:`sedlib.study.grids.CAUSE_GRIDS`) are run on
rungs; a *cause rung* is one baseline result set with the arms' result sets
made on the same data with the same settings but the arm's own. Everything
here reads committed result sets; the arithmetic and the verdict rule are
in :mod:`sedlib.study.attribution`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sedlib.report.names import short_name
from sedlib.study.attribution import (
    CHALLENGERS,
    VERDICTS,
    GapChange,
    attribution_table,
    gap_by_seed,
    gap_change,
    method_effects,
    on_papers_side,
    paper_gap,
    pattern_gaps,
    split_difficulty,
)
from sedlib.study.grids import CAUSE_GRIDS, Grid
from sedlib.study.results import ResultSet, load_ladder
from sedlib.study.summary import mean_ci

BASELINE_GRID = CAUSE_GRIDS[0].name
ARM_GRIDS: tuple[Grid, ...] = tuple(g for g in CAUSE_GRIDS if g.cause)
#: Settings that follow from an arm's own (SGD's momentum exists only with SGD).
_FOLLOWING = {"optimizer": ("momentum",)}


@dataclass
class CauseRung:
    """A baseline result set and the arms run on the same rung."""

    baseline: ResultSet
    arms: dict[str, ResultSet] = field(default_factory=dict)


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
    table["gap"] = [f"{short_name(c)} − BCE" for c in table["challenger"]]
    table = table.drop(columns="challenger")
    table["arm"] = [grids[a].description.removeprefix("attribution: ") for a in table["arm"]]
    return table


def effects_table(rung: CauseRung, metric: str = "macro_f") -> pd.DataFrame:
    """Per arm and method: the baseline's and the arm's means, and the effect (arm − baseline, paired).

    Returns
    -------
    pandas.DataFrame
        ``arm`` (the grid without ``cause-``), ``method`` (short name),
        ``baseline`` and ``arm mean`` (points), ``effect [95% CI]`` (text) and ``seeds``.
    """
    rows = []
    for name, arm in rung.arms.items():
        for effect in method_effects(rung.baseline.table, arm.table, metric).itertuples():
            rows.append(
                {
                    "arm": name.removeprefix("cause-"),
                    "method": short_name(effect.method),
                    "baseline": effect.baseline,
                    "arm mean": effect.arm,
                    "effect [95% CI]": f"{effect.effect:+.1f} [{effect.ci_low:+.1f}, "
                    f"{effect.ci_high:+.1f}]",
                    "seeds": effect.seeds,
                }
            )
    return pd.DataFrame(rows)


def gap_figure(rung: CauseRung, metric: str = "macro_f"):
    """IF − BCE and DR γ=4 − BCE (points, mean ± 95% CI over seeds) per arm, with the paper's gaps."""
    from sedlib.report.figures import (
        FIGURE_WIDTH_IN,
        PAPER_STYLE,
        method_colour,
        metric_label,
        setup,
    )

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


def best_classes(table: pd.DataFrame, count: int = 3) -> str:
    """The classes detected better than the result set's micro F (mean over runs), best first, as text.

    At most ``count``; those are the classes that carry micro F above the rest. A
    class's F is :func:`sedlib.report.difficulty.per_class_f` (undefined counts as 0).

    >>> runs = pd.DataFrame({"micro_f": [0.4, 0.5], "f:fan": [0.96, 0.98], "f:car": [0.2, 0.1]})
    >>> best_classes(runs)
    'fan 97'
    """
    from sedlib.report.difficulty import per_class_f

    scores = per_class_f(table)
    best = scores[scores >= table["micro_f"].mean() * 100].sort_values(ascending=False).head(count)
    return ", ".join(f"{name} {value:.0f}" for name, value in best.items())


def calibration_table(root: Path | None = None) -> pd.DataFrame:
    """BCE per difficulty (event-to-background offset, dB) against the paper's BCE, the chosen one marked.

    The distance of an offset is the larger of its BCE's distances to the
    paper's macro and micro F, each in units of its window
    (:data:`CALIBRATION_WINDOW`): at most 1 is within both windows. The
    chosen offset is the nearest; :func:`calibration_sentence` says whether
    it lies within the windows. ``best-detected classes`` names the classes
    detected better than BCE's micro F at that offset (:func:`best_classes`).
    """
    from sedlib.study import paper

    printed = paper.table4().loc["bce"]
    rows = []
    for result in load_ladder("calibration", root):
        rows.append(
            {
                "offset (dB)": split_difficulty(result.header["data"]["name"])[1],
                "data": result.header["data"]["name"],
                "protocol": result.header["protocol"],
                "seeds": int(result.table["seed"].nunique()),
                "macro F (%)": float(result.table["macro_f"].mean() * 100),
                "micro F (%)": float(result.table["micro_f"].mean() * 100),
                "best-detected classes (F %)": best_classes(result.table),
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
    frame["distance (windows)"] = distance
    frame["within the window"] = distance <= 1
    frame["chosen"] = ["✓" if k == distance.idxmin() else "" for k in frame.index]
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


# ---------------------------------------------------------------------------- causes 5 and 6, and the summary
#: The commands that make the runs a pending cause needs (see ``tools/attribution.sh``).
STAGE_COMMANDS = {
    stage: f"bash tools/attribution.sh {stage}"
    for stage in ("screen", "capacity", "calibrate", "confirm")
}
DIFFICULTY_CAUSE = "5. audio difficulty"
CAPACITY_CAUSE = "6. capacity and training length"


@dataclass
class DifficultyPair:
    """The baseline grid on a data set as generated and on the same data made harder.

    Attributes
    ----------
    easy, hard : ResultSet
        ``cause-baseline`` result sets with equal settings; ``hard``'s data
        is ``easy``'s with every event ``offset`` dB against its background.
    offset : float
        The event-to-background offset (dB).
    """

    easy: ResultSet
    hard: ResultSet
    offset: float


def _settings_but_data(result: ResultSet) -> dict:
    return {k: v for k, v in result.header["settings"].items() if k != "dataset"}


def difficulty_pairs(root: Path | None = None) -> list[DifficultyPair]:
    """Every harder baseline result set with its counterpart on the data as generated."""
    sets = load_ladder(BASELINE_GRID, root)
    pairs = []
    for hard in sets:
        name, offset = split_difficulty(hard.header["data"]["name"])
        if not offset:
            continue
        for easy in sets:
            if easy.header["data"]["name"] == name and _settings_but_data(
                easy
            ) == _settings_but_data(hard):
                pairs.append(DifficultyPair(easy, hard, offset))
    return pairs


def _rung_text(result: ResultSet) -> str:
    settings = result.header["settings"]
    width = settings.get("model", {}).get("channels", 128)
    data = re.sub(r"-seed0$", "", result.header["data"]["name"])
    return f"{data}, {result.header['protocol']}, {width} ch, {settings['epochs']} ep"


def _summary_rows(cause: str, arm: str, rung: str, changes: list) -> list[dict]:
    """One row per gap: the gap of the baseline and of the arm, the change with its interval, the verdict."""
    return [
        {
            "cause": cause,
            "arm": arm,
            "rung": rung,
            "gap": f"{short_name(found.challenger)} − BCE",
            "baseline → arm": f"{found.baseline_gap:+.1f} → {found.arm_gap:+.1f}",
            "change [95% CI]": f"{found.change.mean:+.1f} [{found.change.ci_low:+.1f}, "
            f"{found.change.ci_high:+.1f}]",
            "paper": f"{found.paper:+.2f}",
            "verdict": found.verdict,
        }
        for found in changes
    ]


def _pending_row(cause: str, arm: str, stages: tuple[str, ...]) -> dict:
    commands = ", then ".join(STAGE_COMMANDS[s] for s in stages)
    row = dict.fromkeys(("gap", "baseline → arm", "change [95% CI]", "paper"), "–")
    return {"cause": cause, "arm": arm, "rung": "–", **row, "verdict": f"not run yet: {commands}"}


FULL_CHANNELS = 128  # the paper's CRNN


def _capacity(result: ResultSet) -> tuple[int, int]:
    settings = result.header["settings"]
    return settings.get("model", {}).get("channels", FULL_CHANNELS), settings["epochs"]


def _settings_but_capacity(result: ResultSet) -> dict:
    settings = {k: v for k, v in result.header["settings"].items() if k != "epochs"}
    settings["model"] = {k: v for k, v in settings.get("model", {}).items() if k != "channels"}
    return settings


@dataclass
class CapacityPair:
    """One grid on the same data at the full CRNN and at a narrower one (cause 6).

    Attributes
    ----------
    wide, narrow : ResultSet
        Result sets of one grid with equal data and equal settings but the
        model's channels (``wide``: 128, ``narrow``: fewer) and the epochs
        (which may differ or not; the label says).
    """

    wide: ResultSet
    narrow: ResultSet

    @property
    def label(self) -> str:
        """``"128 ch, 30 ep → 32 ch, 15 ep"``."""
        (wc, we), (nc, ne) = _capacity(self.wide), _capacity(self.narrow)
        return f"{wc} ch, {we} ep → {nc} ch, {ne} ep"


def capacity_pair(wide: ResultSet, narrow: ResultSet) -> CapacityPair | None:
    """The pair when ``narrow`` is ``wide`` with fewer channels (same data; the epochs may differ,
    every other setting is equal), else None."""
    if _capacity(wide)[0] != FULL_CHANNELS or _capacity(narrow)[0] >= FULL_CHANNELS:
        return None
    if wide.header["data"].get("fingerprint") != narrow.header["data"].get("fingerprint"):
        return None
    if _settings_but_capacity(wide) != _settings_but_capacity(narrow):
        return None
    return CapacityPair(wide, narrow)


def _change_text(found: GapChange) -> str:
    return f"{found.change.mean:+.1f} [{found.change.ci_low:+.1f}, {found.change.ci_high:+.1f}]"


#: Cause 6's words. The departure is measured at the paper's own width (rung 1, 128 channels),
#: so width cannot explain it: the baseline's rows say whether a gap moves with width, and the
#: arms' rows whether an arm's verdict holds at both widths (a caveat on that arm's cause).
GAP_MOVES, GAP_HOLDS = (
    "does not explain; the gap moves with width",
    "does not explain; the gap holds",
)
VERDICT_HOLDS, VERDICT_DEPENDS = "the arm's verdict holds", "the arm's verdict depends on width"


def _capacity_rows(rungs: list[CauseRung], metric: str) -> list[dict]:
    """Cause 6: the baseline's gaps at the full CRNN against a narrower one on the same data,
    and each arm's verdicts at both widths."""
    rows = []
    for wide in rungs:
        for narrow in rungs:
            pair = capacity_pair(wide.baseline, narrow.baseline)
            if pair is None:
                continue
            data = _rung_text(wide.baseline).split(",")[0] + f", {wide.baseline.header['protocol']}"
            changes = [
                gap_change(wide.baseline.table, narrow.baseline.table, c, metric)
                for c in CHALLENGERS
            ]
            for row, found in zip(
                _summary_rows(CAPACITY_CAUSE, pair.label, data, changes), changes, strict=True
            ):
                moved = not (found.change.ci_low <= 0 <= found.change.ci_high)
                rows.append({**row, "verdict": GAP_MOVES if moved else GAP_HOLDS})
            for grid in ARM_GRIDS:
                if grid.name not in wide.arms or grid.name not in narrow.arms:
                    continue
                for challenger in CHALLENGERS:
                    at = [
                        gap_change(r.baseline.table, r.arms[grid.name].table, challenger, metric)
                        for r in (wide, narrow)
                    ]
                    rows.append(
                        {
                            "cause": CAPACITY_CAUSE,
                            "arm": f"{grid.name.removeprefix('cause-')} at both widths",
                            "rung": data,
                            "gap": f"{short_name(challenger)} − BCE",
                            "baseline → arm": f"{at[0].verdict} → {at[1].verdict}",
                            "change [95% CI]": f"{_change_text(at[0])} → {_change_text(at[1])}",
                            "paper": f"{at[0].paper:+.2f}",
                            "verdict": VERDICT_HOLDS
                            if at[0].verdict == at[1].verdict
                            else VERDICT_DEPENDS,
                        }
                    )
    return rows


def cause_summary(root: Path | None = None, metric: str = "macro_f") -> pd.DataFrame:
    """The six causes: each arm on each rung it ran, the gaps it moves and the verdicts.

    Causes 1–4 are arms against ``cause-baseline`` on the same rung
    (:func:`cause_table`). Cause 5 is the baseline on harder data against
    the baseline on the data as generated (:func:`difficulty_pairs`; seeds
    paired). Cause 6 is the baseline on the same data at the full CRNN (128
    channels) against a narrower one (``tools/attribution.sh capacity``: 32
    channels and 15 epochs, rung 2's; seeds paired), then each arm's verdicts
    at both widths. The departure is measured at the paper's width, so cause
    6's verdict is "does not explain", qualified by whether the gap moves with
    width (:data:`GAP_MOVES`); an arm's rows say whether its verdict holds at
    both widths (:data:`VERDICT_HOLDS`, :data:`VERDICT_DEPENDS`). A cause with
    no runs yet has one row naming the command that makes them.

    Returns
    -------
    pandas.DataFrame
        ``cause``, ``arm``, ``rung``, then per gap (IF − BCE, DR γ=4 − BCE)
        the text "baseline → arm (change [95% interval])" in points and its verdict.
    """
    rungs = cause_rungs(root)
    rows: list[dict] = []
    for grid in ARM_GRIDS:
        arm = grid.name.removeprefix("cause-")  # as the figure names the arms
        found = [r for r in rungs if grid.name in r.arms]
        for rung in found:
            arm_table = rung.arms[grid.name].table
            changes = [gap_change(rung.baseline.table, arm_table, c, metric) for c in CHALLENGERS]
            rows += _summary_rows(grid.cause, arm, _rung_text(rung.baseline), changes)
        if not found:
            rows.append(_pending_row(grid.cause, arm, ("screen",)))
    pairs = difficulty_pairs(root)
    for pair in pairs:
        changes = [gap_change(pair.easy.table, pair.hard.table, c, metric) for c in CHALLENGERS]
        arm = f"events {pair.offset:g} dB"
        rows += _summary_rows(DIFFICULTY_CAUSE, arm, _rung_text(pair.hard), changes)
    if not pairs:
        from sedlib.study.grids import CALIBRATED_EBR_DB

        calibrated = CALIBRATED_EBR_DB is not None  # confirm refuses to run before
        stages = ("confirm",) if calibrated else ("calibrate", "confirm")
        rows.append(_pending_row(DIFFICULTY_CAUSE, "calibrated dB", stages))
    capacity = _capacity_rows(rungs, metric)
    rows += capacity or [_pending_row(CAPACITY_CAUSE, "32 channels", ("capacity",))]
    return pd.DataFrame(rows)


def paper_like_sets(root: Path | None = None) -> list[ResultSet]:
    """Result sets of the paper grid made with the settings that explain, combined.

    A paper-like result set is one of the ``paper`` grid whose settings are
    those of :data:`~sedlib.study.grids.PAPER_LIKE` (the arms whose verdict
    is "explains" on rung 1), on rung 1's data or on the second rung's data
    at the calibrated difficulty (``tools/attribution.sh screen`` and
    ``confirm``), from the farthest from the paper to the closest.
    """
    from sedlib.study.grids import PAPER_LIKE

    return [
        s
        for s in load_ladder("paper", root)
        if all(s.setting(k) == v for k, v in PAPER_LIKE.items())
    ]


def paper_like_table(result: ResultSet, metric: str = "macro_f") -> pd.DataFrame:
    """Per method: this result set's mean ± 95% CI beside the paper's Table 4, and the pattern's test."""
    from sedlib.study import paper
    from sedlib.study.summary import format_mean_ci

    printed = paper.table4()
    rows = []
    for method in printed.index:
        runs = result.table[result.table["method"] == method]
        if runs.empty:
            continue
        rows.append(
            {
                "method": short_name(method),
                "macro F (%)": format_mean_ci(runs["macro_f"]),
                "paper macro F (%)": printed.loc[method, "macro_f_percent"],
                "micro F (%)": format_mean_ci(runs["micro_f"]),
                "paper micro F (%)": printed.loc[method, "micro_f_percent"],
            }
        )
    return pd.DataFrame(rows)


def pattern_sentence(
    result: ResultSet, metric: str = "macro_f", where: str = "on this rung"
) -> str:
    """Whether the paper's pattern (IF below BCE, DR γ=4 above it, beyond the interval) holds
    ``where``, each gap with its paired bootstrap 95% interval beside the paper's gap."""
    gaps = pattern_gaps(result.table, metric)
    holds = {c: on_papers_side(c, gap, metric) for c, gap in gaps.items()}
    parts = []
    for challenger, gap in gaps.items():
        printed = paper_gap(challenger, metric)
        parts.append(
            f"{short_name(challenger)} − BCE {gap.mean:+.1f} points [{gap.ci_low:+.1f}, "
            f"{gap.ci_high:+.1f}] against the paper's {printed:+.2f}, "
            f"{'below' if printed < 0 else 'above'} 0 beyond its interval: "
            f"{'yes' if holds[challenger] else 'no'}"
        )
    seeds = min(gap.n for gap in gaps.values())
    verdict = "holds" if all(holds.values()) else "does not hold"
    return (
        f"The paper's pattern {verdict} {where} ({'; '.join(parts)}; bootstrap 95% intervals "
        f"over {seeds} paired seeds)."
    )


def departures(rungs: list[CauseRung], metric: str = "macro_f") -> pd.DataFrame:
    """Per rung and gap: the baseline's gap (mean, 95% interval over seeds), the paper's, and whether it departs.

    A gap departs from the paper when the paper's value lies outside the
    baseline's interval.
    """
    rows = []
    for rung in rungs:
        for challenger in CHALLENGERS:
            mean, half, _ = mean_ci(gap_by_seed(rung.baseline.table, challenger, metric))
            reference = paper_gap(challenger, metric)
            rows.append(
                {
                    "rung": _rung_text(rung.baseline),
                    "gap": f"{short_name(challenger)} − BCE",
                    "baseline": mean,
                    "half_width": half,
                    "paper": reference,
                    "departs": not (abs(mean - reference) <= half),
                }
            )
    return pd.DataFrame(rows)


def _width_sentences(rows: pd.DataFrame) -> list[str]:
    """Cause 6's rows in words: gaps that move with width, and arm verdicts that depend on it."""
    said = []
    for _, row in rows.iterrows():
        numbers = f"{row['rung']}: {row['baseline → arm']}, change {row['change [95% CI]']}"
        if row["verdict"] == GAP_MOVES:
            said.append(
                f"{row['gap']} moves with the model's width ({row['arm']}; {numbers}), but the "
                "departure is measured at the paper's full width: width does not explain it."
            )
        elif row["verdict"] == VERDICT_DEPENDS:
            arm = row["arm"].removesuffix(" at both widths")
            said.append(
                f"The verdict of {arm} on {row['gap']} depends on the model's width ({numbers}; "
                "full width → narrow): a caveat on its cause."
            )
    return said


def _confirmation_sentences(rows: pd.DataFrame) -> list[str]:
    """Arms that explain a gap on some data but not on other data (causes 1 to 4), in words.

    A rung's data are the first item of its ``rung`` text; the same data at
    another width are cause 6's to word (:func:`_width_sentences`).
    """
    said = []
    data = rows["rung"].str.split(",", n=1).str[0]
    for (arm, gap), group in rows.groupby(["arm", "gap"], sort=False):
        explains = group[group["verdict"] == "explains"]
        where = set(data[explains.index])
        others = group[(group["verdict"] == "does not explain") & ~data[group.index].isin(where)]
        if explains.empty or others.empty:
            continue
        numbers = "; ".join(
            f"{row['rung']}: {row['baseline → arm']}, change {row['change [95% CI]']}"
            for _, row in others.iterrows()
        )
        said.append(
            f"The arm {arm} explains {gap} on {', '.join(sorted(where))} but not on other data ({numbers}): "
            "not confirmed there."
        )
    return said


def _level_sentences(calibration: pd.DataFrame | None, per_class: pd.DataFrame | None) -> list[str]:
    """BCE's own level against the paper's, in words: at the chosen offset, and class by class."""
    from sedlib.report.difficulty import sides_sentence
    from sedlib.study import paper

    said = []
    if calibration is not None and not calibration.empty:
        nearest = calibration[calibration["chosen"] == "✓"].iloc[0]
        if not nearest["within the window"]:
            above = nearest["micro F (%)"] - paper.table4().loc["bce", "micro_f_percent"]
            said.append(
                f"BCE's own level is not reproduced: at the nearest difficulty "
                f"({nearest['offset (dB)']:g} dB) its micro F stays {above:+.1f} points from the "
                f"paper's, carried by the classes it detects better than that "
                f"({nearest['best-detected classes (F %)']} % F): the synthetic task stays easier "
                "than the real one in a way that quieter events do not model."
            )
    if per_class is not None and (sides := sides_sentence(per_class)):
        said.append(sides)
    return said


def what_remains(
    summary: pd.DataFrame,
    gaps: pd.DataFrame,
    calibration: pd.DataFrame | None = None,
    per_class: pd.DataFrame | None = None,
    paper_like: list[ResultSet] | None = None,
) -> str:
    """The chapter's closing paragraph, written from :func:`cause_summary`, :func:`departures`
    and, when given, :func:`calibration_table`, BCE class by class at the chosen offset
    (:func:`sedlib.report.difficulty.difficulty_table`) and the paper-like rungs
    (:func:`paper_like_sets`)."""
    done = summary[~summary["verdict"].str.startswith("not run")]
    parts = []
    for verdict in VERDICTS[:2]:
        found = done[done["verdict"] == verdict]
        if not found.empty:
            named = "; ".join(
                f"{row['gap']} by {row['cause'].split('. ', 1)[1]} ({row['arm']}; {row['rung']}: "
                f"{row['baseline → arm']}, change {row['change [95% CI]']})"
                for _, row in found.iterrows()
            )
            parts.append(f"**{verdict.capitalize()}**: {named}.")
    parts += _confirmation_sentences(done[~done["cause"].isin((DIFFICULTY_CAUSE, CAPACITY_CAUSE))])
    parts += _width_sentences(done[done["cause"] == CAPACITY_CAUSE])
    for _, row in gaps.iterrows():
        where = f"{row['gap']} on {row['rung']} ({row['baseline']:+.1f} ± {row['half_width']:.1f} against the paper's {row['paper']:+.2f})"
        if not row["departs"]:
            parts.append(
                f"{where} holds the paper's value within its interval: no departure to explain there."
            )
        elif not (done[done["gap"] == row["gap"]]["verdict"] == "explains").any():
            parts.append(f"{where} departs, and no cause measured so far explains it.")
    parts += [
        pattern_sentence(result, where=f"on the paper-like rung ({_rung_text(result)})")
        for result in paper_like or []
    ]
    parts += _level_sentences(calibration, per_class)
    pending = summary[summary["verdict"].str.startswith("not run")]
    if not pending.empty:
        named = "; ".join(
            f"{row['cause']} ("
            + ", then ".join(
                f"`{c}`" for c in row["verdict"].removeprefix("not run yet: ").split(", then ")
            )
            + ")"
            for _, row in pending.iterrows()
        )
        parts.append(f"Not measured yet: {named}.")
    parts.append(
        "Beyond these six, real recordings differ from the generator's in ways no setting here "
        "models (reverberation, sources that are not events, label noise in the annotations), "
        "and the paper's own seeds and splits are not published."
    )
    return " ".join(parts)


# ---------------------------------------------------------------------------- the chapter's sentences
def departure_table(ladder: list[ResultSet], metric: str = "macro_f") -> pd.DataFrame:
    """Per rung of the paper grid: IF − BCE and DR γ=4 − BCE beside the paper's, as the intro's glance
    computes them (paired over seeds, bootstrap 95% interval; :mod:`sedlib.report.glance`)."""
    from sedlib.report import glance

    frame = glance.glance_table(ladder)
    if frame.empty:
        return glance.glance_display(frame)
    frame = frame[frame["method"].isin(CHALLENGERS)]
    return glance.glance_display(frame)


def sgd_choice_sentence(lr_table: pd.DataFrame) -> str:
    """Which learning rate the validation chose, and whether the ``cause-sgd`` grid uses it."""
    from sedlib.study.grids import SGD_LR

    chosen = lr_table.loc[lr_table["chosen"] == "✓", "lr"].tolist()
    agree = (
        "the learning rate of the `cause-sgd` grid"
        if SGD_LR in chosen
        else "**not** the learning rate the `cause-sgd` grid uses: its runs are to be made again"
    )
    return f"Chosen: lr = {', '.join(f'{v:g}' for v in chosen)}; the grid uses {SGD_LR:g}, {agree}."


def calibration_sentence(calibration: pd.DataFrame) -> str:
    """Which offset the calibration chose, whether it lies within the windows, and whether the
    paper-like rung uses it."""
    from sedlib.study import paper
    from sedlib.study.grids import CALIBRATED_EBR_DB

    printed = paper.table4().loc["bce"]
    row = calibration[calibration["chosen"] == "✓"].iloc[0]
    offset = float(row["offset (dB)"])
    where = (
        f"BCE's macro F {row['macro F (%)']:.1f} % and micro F {row['micro F (%)']:.1f} % against "
        f"the paper's {printed['macro_f_percent']:.2f} and {printed['micro_f_percent']:.2f}"
    )
    if row["within the window"]:
        said = f"Chosen: {offset:g} dB, within the windows ({where})."
    else:
        micro = calibration["micro F (%)"]
        said = (
            f"No offset tried lands within the windows; the nearest is {offset:g} dB ({where}). "
            f"Across the offsets tried ({calibration['offset (dB)'].max():g} to "
            f"{calibration['offset (dB)'].min():g} dB) micro F spans only {micro.min():.1f}–"
            f"{micro.max():.1f} %: quieter events alone do not bring BCE down to the paper's."
        )
    if CALIBRATED_EBR_DB == offset:
        return f"{said} The paper-like rung uses it."
    if CALIBRATED_EBR_DB is None:
        return f"{said} The paper-like rung does not use an offset yet."
    return (
        f"{said} The paper-like rung uses {CALIBRATED_EBR_DB:g} dB: its runs are to be made again."
    )
