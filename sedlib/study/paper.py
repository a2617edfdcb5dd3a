"""The paper's printed numbers (Tables 1, 2 and 4), transcribed once into ``resources/akiyama2020.json``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import pandas as pd


@cache
def _raw() -> dict:
    return json.loads(
        resources.files("sedlib").joinpath("resources/akiyama2020.json").read_text(encoding="utf-8")
    )


def methods() -> dict[str, str]:
    """Method keys (``bce``, ``inverse_frequency``, ``duration_robust-g1``, ``duration_robust-g4``) and names."""
    return dict(_raw()["methods"])


def table1() -> pd.Series:
    """Table 1: mean duration of one event of each class, in seconds, indexed by label."""
    return pd.Series(_raw()["table1_mean_duration_s"], name="mean_duration_s").sort_index()


def table2() -> pd.DataFrame:
    """Table 2: per-class F-score (%) and error rate; rows (method, label), columns ``f_percent``, ``er``."""
    rows = [
        {"method": method, "event_label": label, **values}
        for method, per_class in _raw()["table2_per_class"].items()
        for label, values in per_class.items()
    ]
    return pd.DataFrame(rows).set_index(["method", "event_label"]).sort_index()


def table4() -> pd.DataFrame:
    """Table 4: macro and micro F-score (%) per method."""
    return pd.DataFrame(_raw()["table4"]).T


def text_facts() -> dict:
    """Numbers stated in the paper's text (frame counts, sizes, grid)."""
    return dict(_raw()["text_facts"])
