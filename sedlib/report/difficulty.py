"""BCE class by class at the calibrated difficulty, beside the paper and beside how audible the generator makes each class.

The calibration (:func:`sedlib.report.attribution.calibration_table`)
chooses the event-to-background offset at which BCE lands nearest the
paper. This module sets BCE's F-score per class at that offset beside the
paper's Table 2, beside how often the class is active in the test data
(from the runs' records), and beside how far its events raise the log-mel
energy of its scenes' backgrounds at that offset
(:func:`sedlib.data.synthetic.difficulty.class_audibility`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sedlib.errors import ConfigError
from sedlib.study.attribution import split_difficulty
from sedlib.study.results import ResultSet, load_ladder

#: A class is *loud* when its events raise some band of the features by at least this much (dB).
LOUD_RISE_DB = 10.0
#: Classes whose F-score here and in the paper lie at least this far apart (points) are named.
APART_POINTS = 10.0
#: A class is *missed* when BCE's F-score on it is below this (%).
MISSED_F_PERCENT = 5.0

COLUMNS = {
    "f_here": "BCE F here (%)",
    "f_paper": "BCE F, paper (%)",
    "active": "active in test segments (%)",
    "largest_rise_db": "largest rise of the features (dB)",
    "bands_raised": "bands raised ≥ 3 dB (%)",
}


def chosen_calibration(calibration: pd.DataFrame, root: Path | None = None) -> ResultSet | None:
    """The calibration result set of the offset that ``calibration`` marks as chosen.

    Parameters
    ----------
    calibration : pandas.DataFrame
        :func:`sedlib.report.attribution.calibration_table`.
    root : Path, optional
        Where the result sets are (default: the study's).

    Returns
    -------
    ResultSet or None
        None when no offset is chosen (no calibration yet). Of several sets on
        the chosen data (other settings), the one nearest the paper
        (:attr:`~sedlib.study.results.ResultSet.fidelity`).
    """
    chosen = calibration[calibration["chosen"] == "✓"] if not calibration.empty else calibration
    if chosen.empty:
        return None
    name = chosen["data"].iloc[0]
    found = [r for r in load_ladder("calibration", root) if r.header["data"]["name"] == name]
    return found[-1] if found else None


def per_class_f(table: pd.DataFrame) -> pd.Series:
    """Each class's F-score (%) averaged over runs, an undefined F counting as 0 (as in the paper's macro F).

    Parameters
    ----------
    table : pandas.DataFrame
        A result set's table (columns ``f:<label>``).

    Returns
    -------
    pandas.Series
        Indexed by class label.

    Examples
    --------
    >>> runs = pd.DataFrame({"f:fan": [0.9, 1.0], "f:car": [None, 0.2]})
    >>> per_class_f(runs).round(1).to_dict()
    {'fan': 95.0, 'car': 10.0}
    """
    columns = [c for c in table.columns if c.startswith("f:")]
    scores = table[columns].astype(float).fillna(0.0).mean() * 100
    return scores.rename(lambda c: c.removeprefix("f:"))


def active_share(result: ResultSet) -> pd.Series:
    """Each class's share of the test segments in which it is active (%), mean over the runs' records."""
    shares = [
        {
            label: 100 * counts["n_ref"] / run["evaluation"]["n_segments"]
            for label, counts in run["evaluation"]["per_class"].items()
        }
        for run in result.runs.values()
    ]
    return pd.DataFrame(shares).mean()


def difficulty_table(result: ResultSet, draws: int = 3) -> pd.DataFrame:
    """Per class, best detected first: BCE's F here and in the paper, how active and how audible it is.

    Parameters
    ----------
    result : ResultSet
        BCE's runs on the generator's data at some difficulty (a calibration set).
    draws : int
        Renderings per class and scene (:func:`~sedlib.data.synthetic.difficulty.class_audibility`).

    Returns
    -------
    pandas.DataFrame
        Indexed by class, the columns of :data:`COLUMNS` (their keys), in
        percent and dB; ``attrs`` holds the offset (``offset_db``) and BCE's
        micro F here and in the paper (``micro_f``, ``micro_f_paper``, %).

    Raises
    ------
    ConfigError
        When the set's data are not the generator's.
    """
    from sedlib.data.synthetic.difficulty import class_audibility
    from sedlib.study import paper

    name = result.header["data"]["name"]
    if not name.startswith("synthetic-"):
        raise ConfigError(
            f"{name} is not a synthetic data set: the generator cannot measure its classes"
        )
    offset = split_difficulty(name)[1]
    measured = class_audibility(offset, draws=draws)
    frame = pd.DataFrame({"f_here": per_class_f(result.table), "active": active_share(result)})
    frame["f_paper"] = paper.table2().loc["bce", "f_percent"]
    frame = frame.join(measured, how="left")
    frame["bands_raised"] *= 100
    frame = frame[list(COLUMNS)].sort_values("f_here", ascending=False).rename_axis("class")
    frame.attrs = {
        "offset_db": offset,
        "micro_f": float(result.table["micro_f"].mean() * 100),
        "micro_f_paper": float(paper.table4().loc["bce", "micro_f_percent"]),
    }
    return frame


def difficulty_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`difficulty_table` with its columns named for the page."""
    return frame.rename(columns=COLUMNS)


def _number(value: float, unit: str) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}{unit}"


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th, 21st.

    >>> [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _class_text(label: str, row: pd.Series, rank: int) -> str:
    return (
        f"{label} ({row['f_here']:.0f} % here, {_number(row['f_paper'], ' %')} in the paper; "
        f"active in {_number(row['active'], ' %')} of the test segments, the "
        f"{'' if rank == 1 else _ordinal(rank) + ' '}most active class; its features rise by up "
        f"to {_number(row['largest_rise_db'], ' dB')})"
    )


def difficulty_sentence(frame: pd.DataFrame) -> str:
    """What :func:`difficulty_table` says, in words written from its numbers.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`difficulty_table`.

    Returns
    -------
    str
        Markdown: the classes that carry BCE's micro F, and how many audible
        classes BCE still misses; empty for an empty table.
    """
    if frame.empty:
        return ""
    offset, micro, printed = (frame.attrs[k] for k in ("offset_db", "micro_f", "micro_f_paper"))
    side = "above" if micro > printed else "not above"
    ranks = frame["active"].rank(ascending=False, method="min", na_option="bottom").astype(int)
    best = frame[frame["f_here"] >= micro]
    parts = [
        f"At {offset:g} dB BCE's micro F is {micro:.1f} %, {side} the paper's {printed:.2f} %."
    ]
    if not best.empty:
        named = "; ".join(_class_text(label, row, ranks[label]) for label, row in best.iterrows())
        parts.append(f"The classes it detects better than that: {named}.")
    for found, words in zip(
        _sides(frame), ("better here than in the paper", "better in the paper"), strict=True
    ):
        if not found.empty:
            named = ", ".join(
                f"{label} ({row['f_here']:.0f} against {row['f_paper']:.0f} %)"
                for label, row in found.iterrows()
            )
            parts.append(f"Detected at least {APART_POINTS:g} points {words}: {named}.")
    loud = frame[frame["largest_rise_db"] >= LOUD_RISE_DB]
    missed = loud[loud["f_here"] < MISSED_F_PERCENT]
    parts.append(
        f"{len(loud)} of {len(frame)} classes raise some band of the features by at least "
        f"{LOUD_RISE_DB:g} dB over their scenes' backgrounds at this offset"
        + (
            f", and BCE misses {len(missed)} of them (F below {MISSED_F_PERCENT:g} %): "
            "being audible does not make a class detected."
            if len(missed)
            else "."
        )
    )
    return " ".join(parts)


def _sides(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The classes detected at least :data:`APART_POINTS` better here than in the paper, and worse."""
    apart = frame["f_here"] - frame["f_paper"]
    return frame[apart >= APART_POINTS], frame[-apart >= APART_POINTS]


def sides_sentence(frame: pd.DataFrame) -> str:
    """One sentence on :func:`difficulty_table` when classes lie at least :data:`APART_POINTS` from
    the paper on both sides (the synthetic data are easier for some, harder for others); else empty."""
    if frame.empty:
        return ""
    easier, harder = (list(side.index) for side in _sides(frame))
    if not (easier and harder):
        return ""
    return (
        f"Class by class, BCE at {frame.attrs['offset_db']:g} dB detects {', '.join(easier)} at "
        f"least {APART_POINTS:g} points better than the paper and {', '.join(harder)} at least "
        f"{APART_POINTS:g} points worse: at this offset the synthetic data are easier than the "
        "real ones for some classes and harder for others."
    )
