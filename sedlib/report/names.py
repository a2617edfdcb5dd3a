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

#: The names of the methods without γ that the paper does not name: (readable, short).
_NAMES = {
    "bce": (None, "BCE"),
    "inverse_frequency": (None, "IF"),
    "class_balanced": ("class-balanced BCE (β=0.9999)", "CB"),
    "asymmetric": ("asymmetric loss (γ+=0, γ−=4, clip 0.05)", "ASL"),
}
#: The names of the losses that take γ, as templates: (readable, short).
_GAMMA_NAMES = {
    "duration_robust": ("duration robust (γ={gamma:g})", "DR γ={gamma:g}"),
    "focal": ("α-balanced focal (γ={gamma:g}, α=0.25)", "focal γ={gamma:g}"),
}


def _name(method: str, kind: int) -> str | None:
    """Name ``kind`` (0: readable, 1: short) of a method key; None where there is none."""
    loss, gamma = parse_method_key(method)
    if loss in _GAMMA_NAMES:
        return _GAMMA_NAMES[loss][kind].format(gamma=gamma)
    return _NAMES.get(method, (None, None))[kind]


def method_name(method: str) -> str:
    """Readable name of a method key: the paper's names, then the later baselines."""
    return paper.methods().get(method) or _name(method, 0) or method


def short_name(method: str) -> str:
    """Short label for tables: ``BCE``, ``IF``, ``DR γ=1``, ``focal γ=2``, ``CB``, ``ASL``."""
    return _name(method, 1) or method


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


#: Settings of the attribution study: their defaults, and how a rung that departs from one is named.
ATTRIBUTION_SETTINGS = {
    "optimizer": ("adam", "SGD"),
    "output_bias": ("prior", "zero output bias"),
    "class_frames": ("dataset", "per-clip N_m"),
    "selection": ("best", "last epoch"),
}


def rung_label(result: ResultSet) -> str:
    """One line for tables and figures: data, protocol, size, seeds, model, departures from the defaults.

    The attribution study's settings (:data:`ATTRIBUTION_SETTINGS`) are
    named when they are not the defaults, so that a rung made with them is
    never read as a rung of the defaults.
    """
    data, settings = result.header["data"], result.header["settings"]
    width = settings.get("model", {}).get("channels", 128)
    model = "CRNN" if width == 128 else f"narrow CRNN ({width} ch)"
    departures = "".join(
        f", {text}"
        for key, (default, text) in ATTRIBUTION_SETTINGS.items()
        if result.setting(key, default) != default
    )
    return (
        f"{data['name']} ({data['audio_minutes']:.0f} min, {data['frame_imbalance']:,.0f}x), "
        f"{result.header['protocol']}, {result.header['seeds']} seeds, {settings['epochs']} epochs, "
        f"{model}, {settings['device']}{departures}"
    )
