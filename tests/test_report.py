"""What the chapters show: tables from TrainConfig and the data, verdicts written from the numbers."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sedlib.report import tables, verdict
from sedlib.study.stats import duration_gain_correlation
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


def test_the_verdict_recognises_the_papers_ordering():
    text = verdict.rung_verdict(runs(PAPER_LIKE), "rung X")
    assert "the paper's ordering holds" in text and "IF is below BCE" in text
    assert "DR γ=4 beats BCE" in text and "(interval above 0)" in text


def test_the_verdict_reports_a_broken_ordering_and_losses_to_bce():
    swapped = {**PAPER_LIKE, "inverse_frequency": 0.20, "duration_robust-g4": 0.05}
    text = verdict.rung_verdict(runs(swapped), "rung Y")
    assert "does not hold" in text and "IF is above BCE" in text
    assert "DR γ=4 does not beat BCE" in text
    assert verdict.ordering(runs(swapped))[0] == "inverse_frequency"
    missing = verdict.rung_verdict(runs({"bce": 0.1}), "rung Z")
    assert "not all four methods" in missing


def test_the_ladder_verdict_names_the_rungs_where_the_ordering_holds(monkeypatch):
    monkeypatch.setattr(verdict, "rung_label", lambda rung: rung.label)

    class Rung:
        def __init__(self, table, label):
            self.table, self.label = table, label

    rungs = [
        Rung(runs({**PAPER_LIKE, "inverse_frequency": 0.3}), "small"),
        Rung(runs(PAPER_LIKE), "large"),
    ]
    text = verdict.ladder_verdict(rungs)
    assert "holds on rung(s) 2 of 2" in text


def test_the_beyond_verdict_follows_the_numbers():
    table = runs(
        {"bce": 0.10, "duration_robust-g1": 0.12, "duration_robust-g4": 0.13, "class_balanced": 0.2}
    )
    durations = pd.Series({f"c{k}": float(k + 1) for k in range(10)})
    gains = {
        ("DR γ=1", "F at 0.5"): duration_gain_correlation(-durations, durations, n_perm=2000),
        ("DR γ=4", "F at 0.5"): duration_gain_correlation(durations, durations, n_perm=2000),
    }
    text = verdict.beyond_verdict(table, gains, "a test rung")
    assert "The gain survives tuning, its interval above 0" in text
    assert "as the paper argues" in text and "the opposite of the paper's argument" in text
    assert "Best macro F at 0.5: class-balanced BCE" in text and "5 seeds on a test rung" in text


def test_training_choices_are_read_from_train_config(monkeypatch):
    table = tables.training_choices()
    defaults = TrainConfig()
    assert f"{defaults.batch_size} clips" in table.loc["batch size", "this study"]
    length = table.loc["training length, early stopping", "this study"]
    assert f"at most {defaults.max_steps} optimizer steps" in length
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


@pytest.mark.parametrize(
    "fixed,tuned,above,expected",
    [
        (2.0, 9.0, True, "survives tuning, its interval above 0"),
        (2.0, 1.0, False, "its interval includes 0: undecided"),
        (2.0, -1.0, False, "Tuning closes the gap"),
        (-1.0, 3.0, True, "ahead once both are tuned (its interval above 0)"),
        (-1.0, 3.0, False, "its interval including 0"),
        (-1.0, -2.0, False, "Not ahead of BCE, at 0.5 or after tuning."),
        (0.0, 0.0, False, "Not ahead of BCE, at 0.5 or after tuning."),
    ],
)
def test_every_calibration_case_has_its_words(fixed, tuned, above, expected):
    assert expected in verdict.calibration(fixed, tuned, above)
