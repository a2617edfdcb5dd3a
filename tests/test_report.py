"""What the chapters show: tables from TrainConfig and the data, the one way to write a rung and an interval."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sedlib.report import tables
from sedlib.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def runs(
    means: dict[str, float], seeds: int = 5, spread: float = 0.01, seed: int = 0
) -> pd.DataFrame:
    """A result table with given mean macro F per method (and tuned F, AP a fixed step above)."""
    rng = np.random.default_rng(seed)
    rows = []
    for method, mean in means.items():
        loss, _, gamma = method.partition("-g")
        for s in range(seeds):
            f = mean + spread * rng.standard_normal()
            rows.append(
                {
                    "method": method,
                    "loss": loss,
                    "gamma": float(gamma) if gamma else np.nan,
                    "seed": s,
                    "macro_f": f,
                    "tuned_macro_f": f + 0.1,
                    "segment_ap": f + 0.2,
                }
            )
    return pd.DataFrame(rows)


PAPER_LIKE = {
    "duration_robust-g4": 0.11,
    "duration_robust-g1": 0.10,
    "bce": 0.08,
    "inverse_frequency": 0.02,
}


def test_the_book_writes_an_interval_one_way():
    from sedlib.report.names import interval, p_text, signed
    from sedlib.study.stats import t_interval

    assert interval(t_interval([1.0, 2.0, 3.0])) == "+2.0 [−0.5, +4.5]"
    assert interval(None) == "–" and signed(-0.04) == "+0.0" and signed(-1.26, 2) == "−1.26"
    assert p_text(float("nan")) == "–" and p_text(0.0421) == "0.042"


def test_a_rung_is_named_by_what_it_is_and_marked_when_it_cannot_carry_a_claim():
    from test_attribution import make_set

    from sedlib.report.names import rule_note, rung_label, seeds_text
    from sedlib.study.findings import ladder_gaps

    result = make_set(
        "paper", PAPER_LIKE, settings={"output_bias": "zero", "model": {"channels": 32}}
    )
    result.runs = {
        "bce-s0": {"resolved": {"class_frames": None}},
        "inverse_frequency-s0": {"resolved": {"class_frames": "clip"}},
    }
    assert (
        rung_label(result)
        == "d, dev-eval, 32 ch, 30 epochs, 5 seeds, zero output bias, per-clip N_m"
    )
    result.header["settings"]["max_steps"] = 5000
    assert "5000 steps, 5 seeds" in rung_label(result)
    result.header["settings"]["patience_steps"] = 800
    assert "5000 steps (patience 800), 5 seeds" in rung_label(result)
    result.header["settings"]["patience_steps"] = 0
    assert "5000 steps (no early stopping), 5 seeds" in rung_label(result)
    old = make_set("paper", PAPER_LIKE, assessed=False)
    old.header["training_code"] = {"a": ["bce-s0"], "b": ["bce-s1"]}
    assert rung_label(old).endswith("(superseded, mixed code)")
    gaps = ladder_gaps([result, old])
    assert [seeds_text(g.evidence) for g in gaps][::3] == ["5", "none: superseded, mixed code"]
    assert "n = 5 seeds" in rule_note(gaps) and "paired t-interval" in rule_note(gaps)


def test_training_choices_are_read_from_train_config(monkeypatch):
    table = tables.training_choices()
    defaults = TrainConfig()
    assert f"{defaults.batch_size} clips" in table.loc["batch size", "this study"]
    assert (
        f"at most {defaults.max_steps} optimizer steps"
        in table.loc["training length, early stopping", "this study"]
    )
    for row in (
        "protocol",
        "optimizer, learning rate",
        "model selection",
        "output bias",
        "loss reduction",
    ):
        assert table.loc[row, "why"]
    # change a default: the table follows
    import sedlib.report.tables as module

    monkeypatch.setattr(
        module,
        "_defaults",
        lambda: {
            **{f.name: getattr(defaults, f.name) for f in fields(TrainConfig)},
            "batch_size": 7,
        },
    )
    assert "7 clips" in module.training_choices().loc["batch size", "this study"]


def test_table1_deviations_are_computed(tut_meta):
    from sedlib.data import class_stats, read_meta

    stats = class_stats(read_meta(tut_meta / "meta" / "meta_development.txt"))
    deviations = tables.table1_deviations(stats)
    assert list(deviations.index) == [
        "children",
        "(object) rustling",
        "(object) squeaking",
        "breathing",
        "(object) impact",
        "bird singing",
        "brakes squeaking",
    ]
    assert deviations["children"] == pytest.approx(-0.67, abs=0.01)
    assert tables.describe_deviations(deviations, 25).startswith("7 of 25 classes differ")


def test_e2_readings_explain_the_default(tut_meta):
    """Counted over the training set, "fan" is weighted ~0.004; counted per clip, never below 0.5."""
    from sedlib.data import TUT_LABELS, read_meta

    readings = tables.e2_readings(read_meta(tut_meta / "meta" / "meta_development.txt"), TUT_LABELS)
    assert readings.loc["fan", "N_m, training set"] == 116_996
    assert readings.loc["fan", "weight, training set"] == pytest.approx(500 / (116_996 + 500))
    assert readings["weight per clip (median)"].min() >= 0.5 - 1e-12


def parameters_cell() -> dict:
    nb = json.loads((ROOT / "book" / "03_training.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)
    return values


def test_the_training_notebook_takes_every_default_from_train_config():
    values = parameters_cell()
    names = {f.name for f in fields(TrainConfig)}
    assert set(values) == names | {"profile", "output_dir"}
    assert all(values[name] is None for name in names), (
        "a TrainConfig field has a default in the notebook"
    )
    assert values["profile"] == "book" and values["output_dir"] is None
