"""Why BCE stays above the paper at the calibrated difficulty: its classes, beside how hard the generator makes them.

The calibration (:func:`sedlib.report.attribution.calibration_table`)
chooses the event-to-background offset at which BCE lands nearest the
paper. Where it stays above the paper, this module sets BCE's F-score per
class at that offset beside the paper's and beside two measurements of the
generator (:func:`sedlib.data.synthetic.difficulty.class_difficulty`): how
far a class's loudest mel band rises above its scenes' backgrounds, and the
share of its scenes' time during which it sounds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sedlib.study.attribution import split_difficulty
from sedlib.study.results import ResultSet, load_ladder

#: A class is *loud in a band* when its loudest mel band is at least this far above the background (dB).
LOUD_BAND_DB = 10.0
#: A class *sounds through its scenes* when it is active for at least this share of their time.
THROUGH_SCENE_SHARE = 0.5
#: A class is *missed* when BCE's F-score on it is below this (%).
MISSED_F_PERCENT = 5.0

COLUMNS = {
    "f_here": "BCE F here (%)",
    "f_paper": "BCE F, paper (%)",
    "loudest_band_db": "loudest band above background (dB)",
    "bands_above": "bands above background (%)",
    "scene_share": "share of its scenes' time (%)",
}


def chosen_calibration(calibration: pd.DataFrame, root: Path | None = None) -> ResultSet | None:
    """The calibration result set of the offset that ``calibration`` marks as chosen, if any."""
    if calibration.empty:
        return None
    name = calibration.loc[calibration["chosen"] == "✓", "data"].iloc[0]
    found = [r for r in load_ladder("calibration", root) if r.header["data"]["name"] == name]
    return found[0] if found else None


def per_class_f(table: pd.DataFrame) -> pd.Series:
    """Each class's F-score (%) averaged over the runs, an undefined F counting as 0 (the paper's macro F).

    >>> runs = pd.DataFrame({"f:fan": [0.9, 1.0], "f:car": [None, 0.2]})
    >>> per_class_f(runs).round(1).to_dict()
    {'fan': 95.0, 'car': 10.0}
    """
    columns = [c for c in table.columns if c.startswith("f:")]
    scores = table[columns].astype(float).fillna(0.0).mean() * 100
    return scores.rename(lambda c: c.removeprefix("f:"))


def difficulty_table(result: ResultSet, draws: int = 3) -> pd.DataFrame:
    """Per class, best detected first: BCE's F here and in the paper, and the generator's measurements.

    Parameters
    ----------
    result : ResultSet
        BCE's runs on synthetic data at some difficulty (a calibration set).
    draws : int
        Renderings per class and scene (:func:`~sedlib.data.synthetic.difficulty.class_difficulty`).

    Returns
    -------
    pandas.DataFrame
        Indexed by class, the columns of :data:`COLUMNS` (their keys),
        percentages in percent; ``attrs`` holds the set's offset
        (``offset_db``) and BCE's micro F (``micro_f``, %).
    """
    from sedlib.data.synthetic.difficulty import class_difficulty
    from sedlib.study import paper

    offset = split_difficulty(result.header["data"]["name"])[1]
    measured = class_difficulty(offset, draws=draws)
    frame = pd.DataFrame(
        {
            "f_here": per_class_f(result.table),
            "f_paper": paper.table2().loc["bce", "f_percent"],
        }
    ).join(measured, how="inner")
    frame["bands_above"] *= 100
    frame["scene_share"] *= 100
    frame = frame[list(COLUMNS)].sort_values("f_here", ascending=False)
    frame.attrs["offset_db"] = offset
    frame.attrs["micro_f"] = float(result.table["micro_f"].mean() * 100)
    return frame.rename_axis("class")


def difficulty_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`difficulty_table` with its columns named for the page."""
    return frame.rename(columns=COLUMNS)


def _reasons(row: pd.Series) -> list[str]:
    reasons = []
    if row["scene_share"] >= THROUGH_SCENE_SHARE * 100:
        reasons.append(f"it sounds through {row['scene_share']:.0f} % of its scenes' time")
    if row["loudest_band_db"] >= LOUD_BAND_DB:
        reasons.append(
            f"its loudest band lies {row['loudest_band_db']:.0f} dB above the background"
        )
    return reasons


def _classes(n: int) -> str:
    return f"{n} class" if n == 1 else f"{n} classes"


def difficulty_sentence(frame: pd.DataFrame) -> str:
    """What :func:`difficulty_table` says: the classes that carry BCE's micro F, and what makes them easy."""
    offset, micro_f_percent = frame.attrs["offset_db"], frame.attrs["micro_f"]
    best = frame[frame["f_here"] >= micro_f_percent]
    parts = []
    if not best.empty:
        named = []
        for label, row in best.iterrows():
            reasons = _reasons(row)
            why = f": {' and '.join(reasons)}" if reasons else ""
            named.append(
                f"{label} ({row['f_here']:.0f} % here, {row['f_paper']:.1f} % in the paper{why})"
            )
        parts.append(
            f"At {offset:g} dB the classes that BCE detects better than its micro F "
            f"({micro_f_percent:.1f} %) are {'; '.join(named)}."
        )
    loud = frame[frame["loudest_band_db"] >= LOUD_BAND_DB]
    through = frame[frame["scene_share"] >= THROUGH_SCENE_SHARE * 100]
    parts.append(
        f"{len(loud)} of {len(frame)} classes still rise at least {LOUD_BAND_DB:g} dB above their "
        "scenes' backgrounds in their loudest mel band: the offset lowers every event over the "
        "whole band, and leaves it audible where the background is quiet."
    )
    missed = loud[loud["f_here"] < MISSED_F_PERCENT]
    if not missed.empty:
        parts.append(
            f"Loudness alone does not make a class detected: BCE misses {len(missed)} of those "
            f"{len(loud)} (F below {MISSED_F_PERCENT:g} %)."
        )
    if not through.empty:
        parts.append(
            f"{_classes(len(through))} {'sounds' if len(through) == 1 else 'sound'} through at "
            f"least {THROUGH_SCENE_SHARE:.0%} of {'its' if len(through) == 1 else 'their'} scenes' "
            f"time ({', '.join(through.index)}): such a class can be detected by recognising its "
            "scene, and every synthetic scene has a background of its own."
        )
    return " ".join(parts)
