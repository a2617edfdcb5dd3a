"""Interactive γ sliders: one for the static book page (SVG + JavaScript, no kernel), one for JupyterLab."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

from sedlib.loss_shares import class_shares, frame_loss
from sedlib.report.figures import FIGURE_WIDTH_IN, METHOD_COLOURS, OTHER_COLOUR, method_colour
from sedlib.report.names import rung_label

#: γ values offered by the sliders: 0 (BCE) to 4 in steps of 1/4, covering the paper's 2^-2 .. 2^2.
SLIDER_GAMMAS = tuple(float(g) for g in np.arange(0, 4.01, 0.25))


def slider_data(
    positive: np.ndarray, negative: np.ndarray, classes: Sequence[str], gammas=SLIDER_GAMMAS
) -> dict:
    """Precomputed per-class gradient shares under E1 and E3(γ) for every slider position."""
    e1 = class_shares(positive, negative, 0.0)["gradient_share"].to_numpy()
    shares = {}
    for gamma in gammas:
        e3 = class_shares(positive, negative, gamma)["gradient_share"].to_numpy()
        shares[_key(gamma)] = {"e1": np.round(e1, 6).tolist(), "e3": np.round(e3, 6).tolist()}
    return {"gammas": [_key(g) for g in gammas], "classes": list(classes), "shares": shares}


def slider_colours(gammas) -> dict:
    """The book's palette for the static slider: BCE's colour, DR's colour at each γ of the study.

    Parameters
    ----------
    gammas : sequence of str
        The slider's γ keys (``"0.25"``, ``"1"``...).

    Returns
    -------
    dict
        ``bce``, ``other`` (a γ the study did not run) and ``gamma`` (key to colour).
    """

    return {
        "bce": method_colour("bce"),
        "other": OTHER_COLOUR,
        "gamma": {
            g: METHOD_COLOURS[f"duration_robust-g{g}"]
            for g in gammas
            if f"duration_robust-g{g}" in METHOD_COLOURS
        },
    }


def _key(gamma: float) -> str:
    return f"{gamma:g}"


def gamma_slider_html(data: dict | None = None, start_gamma: float = 1.0) -> str:
    """HTML of the static γ slider: a range input, SVG plots, the data and the script, all inline.

    Parameters
    ----------
    data : dict, optional
        :func:`slider_data`; without it only the per-frame curves are drawn
        (they are computed in the browser from the loss formulas).
    start_gamma : float
        Initial slider position.
    """
    data = data or {"gammas": [_key(g) for g in SLIDER_GAMMAS], "classes": [], "shares": {}}
    data = {**data, "colours": slider_colours(data["gammas"])}
    start = data["gammas"].index(_key(start_gamma)) if _key(start_gamma) in data["gammas"] else 0
    script = (
        resources.files("sedlib").joinpath("resources/gamma_slider.js").read_text(encoding="utf-8")
    )
    payload = html.escape(json.dumps(data), quote=False)
    bars = '<svg class="shares" width="470" height="380"></svg>' if data["classes"] else ""
    return f"""<div class="sedlib-gamma-slider" style="font-family: sans-serif; max-width: 960px">
<label>γ = <b class="gamma-value"></b>
<input type="range" min="0" max="{len(data["gammas"]) - 1}" step="1" value="{start}" style="width: 320px"
       aria-label="focusing parameter gamma"></label>
<div style="display: flex; flex-wrap: wrap; gap: 12px">
<svg class="curves" width="470" height="270" role="img" aria-label="loss of one frame against p"></svg>
{bars}
</div>
<script type="application/json">{payload}</script>
<script>{script}</script>
</div>"""


def jupyter_gamma_slider(
    positive: np.ndarray | None = None, negative: np.ndarray | None = None, classes=None
):
    """The same view as an ipywidgets slider redrawing matplotlib figures (needs a kernel)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    p = np.linspace(0.005, 0.995, 199)

    def draw(gamma: float) -> None:
        n_panels = 2 if positive is not None else 1
        fig, axes = plt.subplots(1, n_panels, figsize=(FIGURE_WIDTH_IN, 3.8))
        axes = np.atleast_1d(axes)
        dr = method_colour(f"duration_robust-g{gamma:g}")
        for z, frame, bce_style, style in ((1, "active", "--", "-"), (0, "inactive", ":", "-.")):
            axes[0].plot(p, frame_loss(p, z, 0.0), color=method_colour("bce"), ls=bce_style)
            axes[0].plot(p, frame_loss(p, z, gamma), color=dr, ls=style, label=f"E3, {frame} frame")
        axes[0].set(
            ylim=(0, 4),
            xlabel="predicted probability p (0–1)",
            ylabel="loss (nats)",
            title=f"loss of one frame, γ = {gamma:g}",
        )
        axes[0].legend()
        if positive is not None:
            e1 = class_shares(positive, negative, 0.0, classes)["gradient_share"]
            e3 = class_shares(positive, negative, gamma, classes)["gradient_share"]
            y = np.arange(len(e1))
            axes[1].barh(y - 0.2, e1, height=0.4, color=method_colour("bce"), label="E1")
            axes[1].barh(y + 0.2, e3, height=0.4, color=dr, label=f"E3, γ = {gamma:g}")
            axes[1].set_yticks(y, e1.index)
            axes[1].set(title="gradient share per class", xlabel="share of the gradient (0–1)")
            axes[1].legend()
        fig.tight_layout()
        plt.show()

    return widgets.interact(
        draw, gamma=widgets.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.25, description="γ")
    )


@dataclass
class StoredHistograms:
    """Probability histograms of one stored BCE run: what the slider's per-class shares need.

    Attributes
    ----------
    positive, negative : numpy.ndarray
        Per class, histograms of the predicted probability on active and inactive frames.
    labels : list of str
        The classes, in the order of the histograms' rows.
    source : str
        One Markdown sentence: which run of which rung, from which file.
    """

    positive: np.ndarray
    negative: np.ndarray
    labels: list[str]
    source: str


def stored_bce_histograms(rungs) -> StoredHistograms | None:
    """The histograms of a BCE run of the rung closest to the paper that stored them.

    Parameters
    ----------
    rungs : list of sedlib.study.results.ResultSet
        The ladder of the ``paper`` grid (``load_ladder("paper")``), farthest first.

    Returns
    -------
    StoredHistograms or None
        The run with the smallest name among those of the closest rung that
        has any; None when no rung holds a BCE run with histograms.
    """
    for rung in reversed(rungs):  # the rung closest to the paper first
        runs = [r for _, r in sorted(rung.runs.items()) if r["resolved"]["loss"] == "bce"]
        runs = [r for r in runs if r.get("probability_histograms")]
        if not runs:
            continue
        bce = runs[0]
        source = (
            f"Predictions of the BCE run with seed {bce['config']['seed']} of the rung "
            f"*{rung_label(rung)}* ({bce['provenance']['git_commit'][:10]}), from "
            f"`data/results/{rung.grid}/{rung.slug}.json`."
        )
        return StoredHistograms(
            positive=np.array(bce["probability_histograms"]["positive"]),
            negative=np.array(bce["probability_histograms"]["negative"]),
            labels=list(bce["evaluation"]["per_class"]),
            source=source,
        )
    return None
