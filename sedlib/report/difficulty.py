"""BCE class by class at the calibrated difficulty, beside the paper and beside how audible the generator makes each class.

The calibration (:func:`sedlib.study.choices.calibrated_offset`)
chooses the event-to-background offset at which BCE lands nearest the
paper. This module sets BCE's F-score per class at that offset beside the
paper's Table 2, beside how often the class is active in the test data
(from the runs' records), and beside how far its events raise the log-mel
energy of its scenes' backgrounds at that offset
(:func:`sedlib.data.synthetic.difficulty.class_audibility`).
"""

from __future__ import annotations

import pandas as pd

from sedlib.data.synthetic import difficulty as generator
from sedlib.errors import ConfigError
from sedlib.study import paper
from sedlib.study.choices import split_difficulty
from sedlib.study.results import ResultSet

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
    name = result.header["data"]["name"]
    if not name.startswith("synthetic-"):
        raise ConfigError(
            f"{name} is not a synthetic data set: the generator cannot measure its classes"
        )
    offset = split_difficulty(name)[1]
    measured = generator.class_audibility(offset, draws=draws)
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


def sides(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The classes detected at least :data:`APART_POINTS` better here than in the paper, and worse."""
    apart = frame["f_here"] - frame["f_paper"]
    return list(frame.index[apart >= APART_POINTS]), list(frame.index[-apart >= APART_POINTS])


def loud_classes(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The classes whose events raise some band by at least :data:`LOUD_RISE_DB`, and those of them
    BCE misses (F below :data:`MISSED_F_PERCENT`)."""
    loud = frame[frame["largest_rise_db"] >= LOUD_RISE_DB]
    return list(loud.index), list(loud.index[loud["f_here"] < MISSED_F_PERCENT])
