"""Results: confidence intervals against scipy, grouping by method, undefined F as 0, result sets,
the ladder, and the migration of sedlib 0.1 results without changing a number."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sedlib.report.names import describe_ladder, method_name, rung_label, short_name
from sedlib.study.results import ResultSet, load_result, slug
from sedlib.study.summary import (
    format_mean_ci,
    mean_ci,
    method_key,
    parse_method_key,
    per_class,
    summarize,
)
from sedlib.training.config import DEFAULT_PATIENCE_STEPS


def test_mean_ci_matches_scipy_t_interval():
    x = np.array([0.11, 0.14, 0.09, 0.13, 0.12])
    mean, half, n = mean_ci(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert n == 5 and mean == pytest.approx(x.mean()) and half == pytest.approx((hi - lo) / 2)
    assert np.isnan(mean_ci([0.3])[1]) and mean_ci([0.3])[0] == 0.3
    assert mean_ci([np.nan, 1.0, 3.0])[2] == 2


def table() -> pd.DataFrame:
    rows = []
    for loss, gamma, base in (
        ("bce", np.nan, 0.10),
        ("duration_robust", 4.0, 0.12),
        ("duration_robust", 1.0, 0.11),
    ):
        for seed in range(3):
            rows.append(
                {
                    "loss": loss,
                    "gamma": gamma,
                    "seed": seed,
                    "macro_f": base + 0.01 * seed,
                    "micro_f": 2 * base,
                    "macro_er": 1.0,
                    "micro_er": 0.9,
                    "f:fan": 0.5 + seed * 0.1,
                    "f:mouse clicking": np.nan if seed else 0.3,
                    "er:fan": 0.8,
                    "er:mouse clicking": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_summarize_groups_by_method():
    s = summarize(table())
    assert list(s.index) == ["bce", "duration_robust-g4", "duration_robust-g1"]
    assert s.loc["bce", "macro_f_mean"] == pytest.approx(0.11)
    assert s.loc["duration_robust-g4", "n_seeds"] == 3
    assert method_key("duration_robust", 0.25) == "duration_robust-g0.25"


def test_per_class_counts_undefined_f_as_zero():
    pc = per_class(table(), "f")
    assert pc.loc["mouse clicking", ("bce", "mean")] == pytest.approx(0.1)  # (0.3 + 0 + 0) / 3
    assert pc.loc["fan", ("bce", "mean")] == pytest.approx(0.6)
    er = per_class(table(), "er")
    assert np.isnan(er.loc["mouse clicking", ("bce", "mean")])


def test_short_vs_long_groups_by_duration():
    from sedlib.study.summary import short_vs_long

    f = pd.Series({"a": 0.0, "b": 0.1, "c": 0.5, "d": 0.9})
    d = pd.Series({"a": 0.1, "b": 0.2, "c": 10.0, "d": 30.0})
    assert short_vs_long(f, d, k=2) == {
        "short_mean_f": pytest.approx(0.05),
        "long_mean_f": pytest.approx(0.7),
    }


@pytest.mark.parametrize(
    "key,loss,gamma,short",
    [
        ("bce", "bce", None, "BCE"),
        ("duration_robust-g0.25", "duration_robust", 0.25, "DR γ=0.25"),
        ("focal-g2", "focal", 2.0, "focal γ=2"),
        ("class_balanced", "class_balanced", None, "CB"),
    ],
)
def test_method_keys_round_trip(key, loss, gamma, short):
    assert parse_method_key(key) == (loss, gamma)
    assert method_key(loss, gamma) == key
    assert short_name(key) == short and method_name(key)


def test_format_mean_ci():
    assert format_mean_ci([0.1, 0.12, 0.14]) == "12.0 ± 5.0"
    assert format_mean_ci([0.25]) == "25.0" and format_mean_ci([]) == "–"


def test_slug_names_data_protocol_device_and_hashes_the_rest():
    base = {"dataset": "synthetic-small", "protocol": "folds", "device": "cpu", "epochs": 30}
    assert slug(base).startswith("synthetic-small_folds_cpu_")
    assert slug(base) != slug({**base, "epochs": 31})
    assert slug({**base, "dataset": "/data/sets/tut/"}).startswith("tut_folds_cpu_")


def _result(protocol, minutes, channels, seeds):
    header = {
        "protocol": protocol,
        "seeds": seeds,
        "settings": {"epochs": 10, "model": {"channels": channels}, "device": "cpu"},
        "data": {"name": "d", "audio_minutes": minutes, "frame_imbalance": 60.0},
        "created_by": "sedlib sweep ...",
    }
    return ResultSet(
        "paper",
        f"{protocol}-{minutes}-{channels}-{seeds}",
        header,
        pd.DataFrame({"seed": range(seeds), "converged": [True] + [False] * (seeds - 1)}),
        {},
    )


def test_the_ladder_climbs_towards_the_paper():
    rungs = [
        _result("folds", 192, 128, 10),
        _result("dev-eval", 16, 128, 3),
        _result("folds", 192, 32, 3),
        _result("dev-eval", 266, 128, 3),
    ]
    ordered = sorted(rungs, key=lambda r: r.fidelity)
    assert [r.slug for r in ordered] == [
        "dev-eval-16-128-3",
        "dev-eval-266-128-3",
        "folds-192-32-3",
        "folds-192-128-10",
    ]
    assert rung_label(rungs[2]) == "d, folds, 32 ch, 10 epochs, 3 seeds (superseded)"
    table = describe_ladder(ordered)
    assert list(table.index) == [rung_label(r) for r in ordered]
    assert list(table["runs converged"]) == ["1 of 3", "1 of 3", "1 of 3", "1 of 10"]


def _runs_of(grid, settings, rows):
    header = {
        "protocol": "dev-eval",
        "seeds": 1,
        "settings": settings,
        "data": {"name": "d", "fingerprint": "f", "audio_minutes": 16, "frame_imbalance": 60.0},
        "created_by": "sedlib sweep ...",
    }
    table = pd.DataFrame(rows, columns=["identity", "loss", "gamma"])
    return ResultSet(grid, f"{grid}-{settings['output_bias']}", header, table, {})


def test_each_gamma_rung_takes_bce_and_if_from_the_paper_set_of_its_own_settings():
    from sedlib.study.results import sweep_sources

    default, zero = {"output_bias": "prior"}, {"output_bias": "zero"}
    gamma_default = _runs_of(
        "gamma", default, [("g1", "duration_robust", 1.0), ("g2", "duration_robust", 2.0)]
    )
    paper_default = _runs_of("paper", default, [("b", "bce", None), ("g1", "duration_robust", 1.0)])
    paper_zero = _runs_of("paper", zero, [("bz", "bce", None), ("iz", "inverse_frequency", None)])
    sources = sweep_sources([gamma_default], [paper_default, paper_zero])
    # the γ rung first, joined with the paper set of the same settings (the shared run kept once)
    assert [r.slug for r, _ in sources] == ["gamma-prior", "paper-zero"]
    assert sorted(sources[0][1]["identity"]) == ["b", "g1", "g2"]
    # a paper set that no γ grid shares settings with stands alone, untouched
    assert list(sources[1][1]["identity"]) == ["bz", "iz"]
    assert sweep_sources([], []) == []


PATIENCE_800 = "synthetic-tut-timeline-ebr-30_dev-eval_cpu_942108da"  # 20 runs under patience 800


def test_a_set_of_whole_records_is_judged_again_by_todays_bar(tmp_path):
    """The patience-800 set's table, as first aggregated, said every run converged; read today,
    none has, and a run whose history goes on a bar's length past its best without a better
    score has."""
    committed = Path(__file__).resolve().parents[1] / "data" / "results"
    grid = tmp_path / "cause-baseline"
    grid.mkdir()
    for suffix in (".csv", ".json"):
        shutil.copy(committed / "cause-baseline" / f"{PATIENCE_800}{suffix}", grid)
    table = pd.read_csv(grid / f"{PATIENCE_800}.csv")  # as first aggregated, under patience 800
    table.assign(converged=True).to_csv(grid / f"{PATIENCE_800}.csv", index=False)
    assert not load_result("cause-baseline", PATIENCE_800, tmp_path).table["converged"].any()

    summary = json.loads((grid / f"{PATIENCE_800}.json").read_text())
    run = summary["runs"]["bce-s3"]
    history, best = run["folds"][0]["history"], run["folds"][0]["best_step"]
    while history[-1]["step"] < best + DEFAULT_PATIENCE_STEPS:
        history.append({**history[-1], "step": history[-1]["step"] + 52, "val_macro_f": 0.0})
    (grid / f"{PATIENCE_800}.json").write_text(json.dumps(summary))
    table = load_result("cause-baseline", PATIENCE_800, tmp_path).table.set_index("run")
    assert table.loc["bce-s3", "converged"] and table["converged"].sum() == 1

    for fold in summary["runs"]["bce-s4"]["folds"]:  # a compact record: no history to judge
        del fold["history"]
    (grid / f"{PATIENCE_800}.json").write_text(json.dumps(summary))
    table = load_result("cause-baseline", PATIENCE_800, tmp_path).table.set_index("run")
    assert table.loc["bce-s4", "converged"] and table["converged"].sum() == 2
