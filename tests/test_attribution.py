"""The attribution study's arithmetic: gaps to BCE, their paired change, and the verdict rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sedlib.study.attribution import (
    attribution_table,
    gap_change,
    method_effects,
    paper_gap,
)


def _table(means: dict[str, float], seeds: int = 5, noise: float = 0.002, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = [
        {"method": m, "seed": s, "macro_f": v + rng.normal(0, noise), "micro_f": v}
        for m, v in means.items()
        for s in range(seeds)
    ]
    return pd.DataFrame(rows)


def test_the_paper_gaps_come_from_table_4():
    assert paper_gap("inverse_frequency") == pytest.approx(1.72 - 8.01)
    assert paper_gap("duration_robust-g4", "micro_f") == pytest.approx(32.20 - 27.83)


BASE = {"bce": 0.20, "inverse_frequency": 0.26, "duration_robust-g4": 0.24}


@pytest.mark.parametrize(
    "arm, verdict",
    [
        ({"bce": 0.20, "inverse_frequency": 0.12, "duration_robust-g4": 0.24}, "explains"),
        ({"bce": 0.20, "inverse_frequency": 0.22, "duration_robust-g4": 0.24}, "partly explains"),
        ({"bce": 0.20, "inverse_frequency": 0.26, "duration_robust-g4": 0.24}, "does not explain"),
        ({"bce": 0.20, "inverse_frequency": 0.30, "duration_robust-g4": 0.24}, "does not explain"),
    ],
    ids=["flips", "moves", "same", "away"],
)
def test_the_verdict_of_an_arm_on_the_if_gap(arm, verdict):
    found = gap_change(_table(BASE), _table(arm, seed=1), "inverse_frequency")
    assert found.verdict == verdict
    assert found.baseline_gap == pytest.approx(6.0, abs=0.5)
    assert found.arm_gap == pytest.approx((arm["inverse_frequency"] - 0.20) * 100, abs=0.5)


def test_noise_larger_than_the_move_does_not_explain():
    arm = {"bce": 0.20, "inverse_frequency": 0.25, "duration_robust-g4": 0.24}
    found = gap_change(
        _table(BASE, noise=0.05), _table(arm, noise=0.05, seed=1), "inverse_frequency"
    )
    assert found.change.ci_low < 0 < found.change.ci_high
    assert found.verdict == "does not explain"


def test_a_table_row_per_arm_and_gap_and_effects_per_method():
    arms = {
        "sgd": _table({"bce": 0.1, "inverse_frequency": 0.02, "duration_robust-g4": 0.13}, seed=2)
    }
    table = attribution_table(_table(BASE), arms)
    assert list(table["gap"]) == ["inverse_frequency − bce", "duration_robust-g4 − bce"]
    assert list(table["verdict"]) == ["explains", "partly explains"]  # DR: 4 -> 3, paper 3.15
    effects = method_effects(_table(BASE), arms["sgd"])
    assert effects.set_index("method")["effect"].round(0).to_dict() == {
        "bce": -10.0,
        "inverse_frequency": -24.0,
        "duration_robust-g4": -11.0,
    }


# ---------------------------------------------------------------------------- the chapter's matching
def _set(grid: str, settings: dict, means: dict, fingerprint: str = "fp", seed: int = 0):
    from sedlib.study.results import ResultSet

    base = {"dataset": "d", "protocol": "dev-eval", "device": "cpu", "epochs": 30, "lr": 0.001}
    header = {
        "settings": {**base, "optimizer": "adam", "momentum": None, **settings},
        "data": {
            "name": "d",
            "fingerprint": fingerprint,
            "audio_minutes": 16,
            "frame_imbalance": 60,
        },
        "protocol": "dev-eval",
        "seeds": 5,
        "runs": 15,
    }
    return ResultSet(grid, f"{grid}-{fingerprint}", header, _table(means, seed=seed), {})


def test_arms_are_matched_to_the_baseline_of_their_rung(tmp_path):
    import json

    from sedlib.report.attribution import cause_rungs, cause_table, effects_table, same_rung
    from sedlib.study.grids import GRIDS

    base = _set("cause-baseline", {}, BASE)
    sgd = _set("cause-sgd", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}, BASE, seed=3)
    other_data = _set("cause-sgd", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}, BASE, "other")
    longer = _set("cause-zero-bias", {"output_bias": "zero", "epochs": 60}, BASE)
    assert same_rung(base, sgd, GRIDS["cause-sgd"])
    assert not same_rung(base, other_data, GRIDS["cause-sgd"])
    assert not same_rung(base, longer, GRIDS["cause-zero-bias"])  # epochs is not the arm's
    for result in (base, sgd, other_data, longer):
        folder = tmp_path / result.grid
        folder.mkdir(exist_ok=True)
        result.table.to_csv(folder / f"{result.slug}.csv", index=False)
        (folder / f"{result.slug}.json").write_text(
            json.dumps({"header": result.header, "runs": {}})
        )
    (rung,) = cause_rungs(tmp_path)
    assert list(rung.arms) == ["cause-sgd"]
    table = cause_table(rung)
    assert list(table["cause"]) == ["1. optimizer"] * 2
    assert set(table["verdict"]) == {"does not explain"}
    assert list(effects_table(rung)["method"]) == ["bce", "inverse_frequency", "duration_robust-g4"]
