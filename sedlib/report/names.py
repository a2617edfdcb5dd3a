"""Display names: how the chapters write a method, a result set and a ladder of result sets.

The study layer (:mod:`sedlib.study`) knows methods by their keys
(``duration_robust-g4``) and result sets by their headers; the words and
abbreviations the tables and figures show are made here.
"""

from __future__ import annotations

import pandas as pd

from sedlib.study import paper
from sedlib.study.results import ResultSet
from sedlib.study.summary import parse_method_key

_BASELINE_NAMES = {
    "class_balanced": "class-balanced BCE (β=0.9999)",
    "asymmetric": "asymmetric loss (γ+=0, γ−=4, clip 0.05)",
}


def method_name(method: str) -> str:
    """Readable name of a method key: the paper's names, then the later baselines."""
    names = paper.methods()
    if method in names:
        return names[method]
    loss, gamma = parse_method_key(method)
    if loss == "focal":
        return f"α-balanced focal (γ={gamma:g}, α=0.25)"
    if loss == "duration_robust":
        return f"duration robust (γ={gamma:g})"
    return _BASELINE_NAMES.get(method, method)


_SHORT = {
    "bce": "BCE",
    "inverse_frequency": "IF",
    "class_balanced": "CB",
    "asymmetric": "ASL",
}


def short_name(method: str) -> str:
    """Short label for tables: ``BCE``, ``IF``, ``DR γ=1``, ``focal γ=2``, ``CB``, ``ASL``."""
    loss, gamma = parse_method_key(method)
    if loss == "duration_robust":
        return f"DR γ={gamma:g}"
    if loss == "focal":
        return f"focal γ={gamma:g}"
    return _SHORT.get(method, method)


def describe_ladder(sets: list[ResultSet]) -> pd.DataFrame:
    """One row per rung: data, minutes of audio, frame imbalance, protocol, seeds, epochs, model width, device."""
    rows = []
    for s in sets:
        data, settings = s.header["data"], s.header["settings"]
        rows.append(
            {
                "data": data["name"],
                "min": round(float(data["audio_minutes"])),
                "imbalance": f"{float(data['frame_imbalance']):,.0f}x",
                "protocol": s.header["protocol"],
                "seeds": s.header["seeds"],
                "epochs": settings["epochs"],
                "channels": settings.get("model", {}).get("channels", 128),
                "device": settings["device"],
            }
        )
    return pd.DataFrame(rows, index=pd.Index([f"rung {k + 1}" for k in range(len(sets))]))
