"""The attribution study: the verdict rule on its findings, its error rates, rungs matched, values chosen.

Findings are records; these tests check their numbers, their enums and the
decisions made from them, never the words a chapter writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sedlib.study.attribution import (
    ArmFinding,
    Verdict,
    arm_finding,
    capacity_pairs,
    cause_findings,
    cause_rungs,
    difficulty_pairs,
    e2_weight_range,
    judge,
    method_effects,
    paper_like,
    same_rung,
    verdict_of,
)
from sedlib.study.evidence import Evidence, Problem
from sedlib.study.findings import paper_gap
from sedlib.study.grids import GRIDS, Cause
from sedlib.study.results import ResultSet, load_ladder
from sedlib.study.stats import PairedDifference

BASE = {"bce": 0.20, "inverse_frequency": 0.26, "duration_robust-g4": 0.24}


def make_set(
    grid: str,
    means: dict[str, float],
    *,
    seeds: int = 5,
    noise: float = 0.002,
    seed: int = 0,
    settings: dict | None = None,
    data: str = "d",
    fingerprint: str = "fp",
    slug: str = "",
    assessed: bool = True,
) -> ResultSet:
    """A result set of ``means`` (fractions) per method, every run converged and marking events."""
    rng = np.random.default_rng(seed)
    rows = [
        {"run": f"{m}-s{s}", "method": m, "seed": s, "macro_f": v + rng.normal(0, noise),
         "micro_f": v, "converged": True, "marked": 1.0}
        for m, v in means.items()
        for s in range(seeds)
    ]  # fmt: skip
    base = {"dataset": data, "protocol": "dev-eval", "device": "cpu", "epochs": 30, "lr": 0.001}
    header = {
        "settings": {**base, "optimizer": "adam", "momentum": None, **(settings or {})},
        "data": {"name": data, "fingerprint": fingerprint, "audio_minutes": 16,
                 "frame_imbalance": 60},
        "protocol": "dev-eval",
        "seeds": seeds,
        "runs": len(rows),
        "table_columns": ["run", "converged"] if assessed else ["run"],
    }  # fmt: skip
    return ResultSet(grid, slug or f"{grid}-{fingerprint}", header, pd.DataFrame(rows), {})


def write_sets(root, *sets: ResultSet) -> None:
    """Each set as ``<root>/<grid>/<slug>.csv`` and ``.json``, as the aggregate writes them."""
    for result in sets:
        folder = root / result.grid
        folder.mkdir(parents=True, exist_ok=True)
        result.table.to_csv(folder / f"{result.slug}.csv", index=False)
        (folder / f"{result.slug}.json").write_text(
            json.dumps({"header": result.header, "runs": {}})
        )


def on_data(result: ResultSet, name: str) -> ResultSet:
    result.header["data"]["name"] = name
    result.header["settings"]["dataset"] = name
    result.slug = f"{result.grid}-{name}-{result.header['data']['fingerprint']}"
    return result


def test_the_paper_gaps_come_from_table_4():
    assert paper_gap("inverse_frequency") == pytest.approx(1.72 - 8.01)
    assert paper_gap("duration_robust-g4", "micro_f") == pytest.approx(32.20 - 27.83)
    assert math.isnan(paper_gap("focal-g2"))  # not in the paper


# ---------------------------------------------------------------------------- the verdict rule
@pytest.mark.parametrize(
    "if_mean, verdict",
    [
        (0.12, Verdict.EXPLAINS),  # gap +6 -> -8: the whole distance to the paper's -6.29
        (0.22, Verdict.PARTLY),  # +6 -> +2: a third of the way
        (0.26, Verdict.DOES_NOT),  # unchanged, the interval rules out a quarter of the way
        (0.30, Verdict.DOES_NOT),  # away from the paper
    ],
    ids=["whole-way", "third", "same", "away"],
)
def test_the_verdict_of_an_arm_on_the_if_gap(if_mean, verdict):
    arm = make_set("cause-zero-bias", {**BASE, "inverse_frequency": if_mean}, seed=1)
    (found,) = judge(
        [
            arm_finding(
                Cause.OUTPUT_BIAS,
                "cause-zero-bias",
                make_set("cause-baseline", BASE),
                arm,
                "inverse_frequency",
            )
        ]
    )
    assert found.verdict is verdict
    assert found.baseline_gap == pytest.approx(6.0, abs=0.5)
    assert found.arm_gap == pytest.approx((if_mean - 0.20) * 100, abs=0.5)
    assert found.difference.n == 5 and found.p_holm == pytest.approx(found.difference.p)


def test_noise_larger_than_the_move_leaves_the_verdict_open():
    base = make_set("cause-baseline", BASE, noise=0.05)
    arm = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.20}, noise=0.05, seed=1)
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.difference.ci_low < 0 < found.difference.ci_high
    assert found.verdict is Verdict.OPEN


def _finding(p: float, mean: float = -9.0, half: float = 3.0) -> ArmFinding:
    ok = Evidence((0, 1, 2, 3, 4), (0, 1, 2, 3, 4), frozenset())
    moved = PairedDifference(mean, mean - half, mean + half, p, 5, 0)
    return ArmFinding(
        Cause.OUTPUT_BIAS, "z", None, None, "inverse_frequency", 6.0, -3.0, moved, -6.29, ok
    )


def test_holm_over_the_table_decides_the_verdict():
    alone = judge([_finding(0.01)])
    assert alone[0].verdict is Verdict.EXPLAINS
    family = judge([_finding(0.01)] + [_finding(0.9, mean=0.0)] * 9)  # one of ten tests
    assert family[0].p_holm == pytest.approx(0.1)
    assert family[0].verdict is Verdict.OPEN  # significant alone, not among ten
    assert {f.verdict for f in family[1:]} == {Verdict.DOES_NOT}


def test_a_move_needs_its_size_to_explain():
    small = replace(_finding(0.001, mean=-2.0, half=0.5), p_holm=0.001)  # 16 % of the way
    assert small.share == pytest.approx(2.0 / 12.29)
    assert verdict_of(small) is Verdict.DOES_NOT
    quarter = replace(_finding(0.001, mean=-4.0, half=0.5), p_holm=0.001)
    assert verdict_of(quarter) is Verdict.PARTLY


def test_runs_that_did_not_converge_never_enter_a_verdict():
    base = make_set("cause-baseline", BASE)
    arm = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.12}, seed=1)
    arm.table.loc[(arm.table["method"] == "bce") & (arm.table["seed"] == 4), "converged"] = False
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.evidence.seeds == (0, 1, 2, 3) and Problem.NOT_CONVERGED in found.evidence.problems
    assert found.difference.n == 4 and found.verdict is Verdict.EXPLAINS  # on the 4 that did
    arm.table["converged"] = False
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.verdict is Verdict.NONE and math.isnan(found.p_holm)
    assert found.difference.n == 5  # shown, marked, never judged


def test_a_model_that_marks_no_event_explains_nothing():
    base = make_set("cause-baseline", BASE)
    silent = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.001}, seed=1)
    rows = silent.table["method"] == "inverse_frequency"
    silent.table.loc[rows, "marked"] = [0.0, 0.001, 0.008, 0.5, 0.5]  # 3 runs mark almost nothing
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, silent, "inverse_frequency")])
    assert Problem.NO_EVENTS in found.evidence.problems and found.verdict is Verdict.NONE
    silent.table.loc[rows, "marked"] = 1.0
    silent.table.loc[rows & (silent.table["seed"] == 2), "micro_f"] = np.nan  # micro F undefined
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, silent, "inverse_frequency")])
    assert found.verdict is Verdict.NONE


def test_superseded_and_mixed_result_sets_carry_no_verdict():
    base = make_set("cause-baseline", BASE)
    arm = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.12}, seed=1)
    old = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.12}, seed=1, assessed=False)
    assert old.superseded and not arm.superseded
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, old, "inverse_frequency")])
    assert Problem.SUPERSEDED in found.evidence.problems and found.verdict is Verdict.NONE
    arm.header["training_code"] = {"aaa": ["bce-s0"], "bbb": ["bce-s1"]}
    assert arm.mixed_code
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.evidence.problems == {Problem.MIXED_CODE} and found.verdict is Verdict.NONE
    arm.header["one_training_code"] = True  # a recorded check found the versions equal
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.verdict is Verdict.EXPLAINS
    # seeds trained by the two engines with dropout on drew different masks: no claim rests on them
    engines = {"bce-s0": {"engine": "batched"}, "bce-s1": {}}
    arm.runs = {
        n: {"timing": t, "resolved": {"model": {"dropout": 0.3}}} for n, t in engines.items()
    }
    assert arm.engines == {"batched": ["bce-s0"], "single": ["bce-s1"]} and arm.mixed_engines
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert found.evidence.problems == {Problem.MIXED_ENGINES} and found.verdict is Verdict.NONE
    for run in arm.runs.values():  # without dropout the engines train the same numbers
        run["resolved"]["model"]["dropout"] = 0.0
    (found,) = judge([arm_finding(Cause.OUTPUT_BIAS, "z", base, arm, "inverse_frequency")])
    assert not arm.mixed_engines and found.verdict is Verdict.EXPLAINS


# ---------------------------------------------------------------------------- error rates
def study_noise() -> float:
    """The per-run noise of macro F (points) in the committed baselines: the spread of their
    per-seed gaps to BCE over √2 (a gap is the difference of two runs). A set still being
    swept (a method without runs yet, or one seed) tells nothing of the spread."""
    from sedlib.study.findings import gap_by_seed

    gaps = [
        gap_by_seed(s.table, c, "macro_f")
        for s in load_ladder("cause-baseline")
        for c in ("inverse_frequency", "duration_robust-g4")
        if {"bce", c} <= set(s.table["method"])
    ]
    spreads = [g.std(ddof=1) for g in gaps if len(g) >= 2]
    return float(np.sqrt(np.mean(np.square(spreads))) / np.sqrt(2))


def simulated_table(rng, seeds: int, noise: float, moves: float) -> list[ArmFinding]:
    """One chapter table: a baseline and four arms on one rung, both gaps each, judged together.
    Each arm moves IF − BCE by ``moves`` of the distance to the paper's; DR − BCE not at all."""
    means = {"bce": 20.0, "inverse_frequency": 26.0, "duration_robust-g4": 24.0}
    shift = moves * (paper_gap("inverse_frequency") - 6.0)
    seed_effect = rng.normal(0, noise, seeds)

    def runs(grid, if_shift=0.0):
        rows = [
            {"run": f"{m}-s{s}", "method": m, "seed": s, "converged": True, "marked": 1.0,
             "macro_f": (v + (if_shift if m == "inverse_frequency" else 0) + seed_effect[s]
                         + rng.normal(0, noise)) / 100, "micro_f": 0.4}
            for m, v in means.items() for s in range(seeds)
        ]  # fmt: skip
        header = {"table_columns": ["converged"], "settings": {}}
        return ResultSet(grid, grid, header, pd.DataFrame(rows), {})

    base = runs("cause-baseline")
    found = []
    for grid in ("cause-sgd", "cause-zero-bias", "cause-clip-frames", "cause-last-epoch"):
        arm = runs(grid, shift)
        found += [
            arm_finding(GRIDS[grid].cause, grid, base, arm, c)
            for c in ("inverse_frequency", "duration_robust-g4")
        ]
    return judge(found)


@pytest.mark.parametrize("seeds", [3, 10])
def test_arms_without_effect_rarely_explain(seeds):
    rng = np.random.default_rng(seeds)
    noise = study_noise()
    assert 1.0 < noise < 5.0  # points of macro F per run, as the study's runs scatter
    rows = [f for _ in range(100) for f in simulated_table(rng, seeds, noise, moves=0.0)]
    positive = sum(f.verdict in (Verdict.EXPLAINS, Verdict.PARTLY) for f in rows)
    assert positive / len(rows) <= 0.05, f"{positive} of {len(rows)} null arms explain"


def test_an_arm_that_closes_the_gap_is_found_with_ten_seeds():
    rng = np.random.default_rng(1)
    rows = [f for _ in range(25) for f in simulated_table(rng, 10, study_noise(), moves=1.0)]
    moved = [f for f in rows if f.challenger == "inverse_frequency"]
    power = sum(f.verdict is Verdict.EXPLAINS for f in moved) / len(moved)
    assert power >= 0.8, f"an arm that moves the gap all the way explains in {power:.0%}"
    still = [f for f in rows if f.challenger == "duration_robust-g4"]
    assert sum(f.verdict in (Verdict.EXPLAINS, Verdict.PARTLY) for f in still) <= 0.05 * len(still)


def test_the_findings_tool_prints_the_tables_of_the_chapters(tmp_path):
    """tools/findings.py: the closing notes' before/after tables, from the book's own tables."""
    import subprocess
    import sys
    from pathlib import Path

    paper = make_set("paper", {**BASE, "duration_robust-g1": 0.22}, seeds=10)
    base = make_set("cause-baseline", BASE)
    arm = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.12}, seed=1)
    write_sets(tmp_path, paper, base, arm)
    root = Path(__file__).resolve().parents[1]
    tool = [sys.executable, "tools/findings.py", "--results", str(tmp_path)]
    out = subprocess.run(tool, cwd=root, capture_output=True, text=True, check=True).stdout
    gaps = [line for line in out.splitlines() if "| IF − BCE |" in line]
    assert len(gaps) == 2 and all("| 10 |" in line and line.endswith("| no |") for line in gaps)
    assert "| 2. output bias: zero-bias |" in out and "| explains |" in out
    assert "| DR γ=1 | 22.0 ± " in out  # chapter 06: the paper set's γ = 1, in percent


# ---------------------------------------------------------------------------- rungs and causes 5, 6
def test_arms_are_matched_to_the_baseline_of_their_rung(tmp_path):
    base = make_set("cause-baseline", BASE)
    sgd = make_set(
        "cause-sgd", BASE, settings={"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}, seed=3
    )
    other_data = make_set(
        "cause-sgd",
        BASE,
        settings={"optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
        fingerprint="other",
    )
    longer = make_set("cause-zero-bias", BASE, settings={"output_bias": "zero", "epochs": 60})
    assert same_rung(base, sgd, GRIDS["cause-sgd"])
    assert not same_rung(base, other_data, GRIDS["cause-sgd"])
    assert not same_rung(base, longer, GRIDS["cause-zero-bias"])  # epochs is not the arm's
    write_sets(tmp_path, base, sgd, other_data, longer)
    (rung,) = cause_rungs(tmp_path)
    assert list(rung.arms) == ["cause-sgd"]
    effects = method_effects(rung.baseline, rung.arms["cause-sgd"])
    assert list(effects["method"]) == ["bce", "inverse_frequency", "duration_robust-g4"]
    assert all(e.n == 5 and abs(e.mean) < 1 for e in effects["effect"])


def test_causes_5_and_6_are_judged_by_the_same_rule(tmp_path):
    easy = on_data(make_set("cause-baseline", BASE, fingerprint="fa"), "synthetic-t-seed0")
    hard_means = {"bce": 0.08, "inverse_frequency": 0.02, "duration_robust-g4": 0.10}
    hard = on_data(
        make_set("cause-baseline", hard_means, fingerprint="fb", seed=5), "synthetic-t-ebr-20-seed0"
    )
    narrow = {"model": {"channels": 32}, "epochs": 15}
    wide_small = on_data(
        make_set("cause-baseline", BASE, fingerprint="fs", seed=6), "synthetic-s-seed0"
    )
    narrow_small = on_data(
        make_set(
            "cause-baseline",
            {**BASE, "inverse_frequency": 0.20},
            settings=narrow,
            fingerprint="fs",
            seed=7,
        ),
        "synthetic-s-seed0",
    )
    narrow_small.slug += "-narrow"
    assert difficulty_pairs([easy, hard, wide_small]) == [(easy, hard)]
    assert capacity_pairs([wide_small, narrow_small, easy]) == [(narrow_small, wide_small)]
    write_sets(tmp_path, easy, hard, wide_small, narrow_small)
    found = {(f.cause, f.challenger): f for f in cause_findings(tmp_path)}
    assert found[(Cause.DIFFICULTY, "inverse_frequency")].verdict is Verdict.EXPLAINS  # +6 -> -6
    assert found[(Cause.DIFFICULTY, "duration_robust-g4")].verdict is Verdict.DOES_NOT  # 4 -> 2
    width = found[(Cause.CAPACITY, "inverse_frequency")]  # 32 ch: IF − BCE 0; the paper's width: +6
    assert (
        width.baseline.slug == narrow_small.slug and width.verdict is Verdict.DOES_NOT
    )  # away from the paper
    assert {f.cause for f in found.values()} == {Cause.DIFFICULTY, Cause.CAPACITY}


def test_the_paper_like_settings_are_those_of_the_arms_that_explain():
    base = make_set("cause-baseline", BASE)
    zero = make_set(
        "cause-zero-bias",
        {**BASE, "inverse_frequency": 0.12},
        settings={"output_bias": "zero"},
        seed=1,
    )
    clip = make_set("cause-clip-frames", BASE, settings={"class_frames": "clip"}, seed=2)
    found = judge([
        arm_finding(g.cause, g.name, base, arm, c)
        for g, arm in ((GRIDS["cause-zero-bias"], zero), (GRIDS["cause-clip-frames"], clip))
        for c in ("inverse_frequency", "duration_robust-g4")
    ])  # fmt: skip
    like = paper_like(found)
    assert like.settings == {"output_bias": "zero"} and like.arms == ("cause-zero-bias",)
    assert [f.challenger for f in like.findings] == ["inverse_frequency"]
    assert paper_like([replace(f, verdict=Verdict.OPEN) for f in found]).settings == {}


def test_e2_per_clip_weights_lie_within_a_factor_2():
    clip = e2_weight_range(500)
    assert (clip.lowest, clip.highest, clip.ratio) == (0.5, 1.0, 2.0)
    fan = e2_weight_range(116_837)
    assert fan.lowest == pytest.approx(500 / (116_837 + 500)) and fan.ratio > 200


# ---------------------------------------------------------------------------- values chosen, and the stages
def test_the_chosen_values_are_read_from_the_sets_that_chose_them(tmp_path, monkeypatch):
    from sedlib.errors import ConfigError
    from sedlib.study.choices import calibrated_offset, sgd_learning_rate
    from sedlib.study.grids import get_grid

    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match="'sgd-lr' grid, which has no result set"):
        get_grid("cause-sgd")
    assert calibrated_offset() is None and sgd_learning_rate() is None
    rates = []
    for lr, validation in ((1.0, 0.20), (3.0, 0.21), (10.0, 0.05)):
        rate = make_set("sgd-lr", {"bce": 0.2}, seeds=1, settings={"lr": lr}, fingerprint=f"{lr:g}")
        rate.table["val_macro_f"] = validation
        rates.append(rate)
    write_sets(tmp_path / "results", *rates)
    chosen = sgd_learning_rate()
    assert chosen.value == 3.0 and chosen.chosen.score == pytest.approx(21.0)
    assert len(chosen.sources) == 3 and chosen.converged and chosen.seeds == 1
    assert get_grid("cause-sgd").settings == {"optimizer": "sgd", "lr": 3.0}


def test_the_committed_choice_keeps_the_settings_of_the_committed_sgd_runs():
    """Read from the sgd-lr sets, SGD's rate is the one the committed cause-sgd runs were made with:
    their resolved settings (what their identities hash), and so their identities, are unchanged."""
    from sedlib.study.grids import get_grid, grid_runs, run_config

    (committed,) = load_ladder("cause-sgd")
    shared = {k: v for k, v in committed.header["settings"].items() if k not in ("lr", "momentum")}
    grid = get_grid("cause-sgd")
    for spec in grid_runs("cause-sgd", 3):
        stored = committed.runs[spec.name]["resolved"]
        resolved = json.loads(json.dumps(run_config(grid, spec, shared).resolved("cpu")))
        assert {k: resolved[k] for k in stored} == stored, spec.name


def test_the_calibration_chooses_the_offset_nearest_the_papers_bce(tmp_path):
    from sedlib.study.choices import calibrated_offset

    def bce_at(offset: str, macro: float, micro: float):
        result = make_set("calibration", {"bce": macro}, seeds=1, fingerprint=offset)
        result.table["micro_f"] = micro
        return on_data(result, f"synthetic-t-ebr{offset}-seed0")

    write_sets(
        tmp_path, bce_at("-10", 0.15, 0.50), bce_at("-20", 0.10, 0.30), bce_at("-30", 0.05, 0.20)
    )
    found = calibrated_offset(tmp_path)
    assert [c.value for c in found.candidates] == [-10.0, -20.0, -30.0]
    assert [c.chosen for c in found.candidates] == [False, True, False]
    assert found.value == -20.0 and found.chosen.score <= 1  # within both windows
    assert found.chosen.score == pytest.approx(max(2.17 / 5, 1.99 / 4), abs=0.01)


def _stage(stage: str, results=None, extra: dict | None = None) -> tuple[int, list[str], str]:
    """A stage of tools/attribution.sh with ``SEDLIB=echo`` (its sweeps printed, not run), reading
    result sets from ``results`` (a data root's ``results/``)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "SEDLIB": "echo", "PYTHON": sys.executable, **(extra or {})}
    if results is not None:
        env["SEDLIB_DATA_ROOT"] = str(results.parent)
    done = subprocess.run(
        ["bash", str(root / "tools" / "attribution.sh"), stage],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout.splitlines(), done.stderr


def _explaining_results(tmp_path):
    """Results where zero bias explains IF − BCE and the calibration chose -20 dB."""
    results = tmp_path / "results"
    base = make_set("cause-baseline", BASE)
    zero = make_set("cause-zero-bias", {**BASE, "inverse_frequency": 0.12},
                    settings={"output_bias": "zero"}, seed=1)  # fmt: skip
    calibration = on_data(
        make_set("calibration", {"bce": 0.10}, seeds=1), "synthetic-t-ebr-20-seed0"
    )
    calibration.table["micro_f"] = 0.30
    write_sets(results, base, zero, calibration)
    return results


def test_the_stages_run_what_the_results_chose(tmp_path):
    code, screen, _ = _stage("screen", _explaining_results(tmp_path))
    assert code == 0
    assert any("--grid sgd-lr" in line and "--set lr=10" in line for line in screen)
    for grid in (
        "cause-baseline",
        "cause-zero-bias",
        "cause-last-epoch",
        "cause-clip-frames",
        "cause-sgd",
    ):
        assert any(f"--grid {grid} " in line for line in screen), grid
    # the paper-like rung 1: the paper grid, then the γ grid, with the explaining arm's setting
    assert "--grid paper --seeds 3 --dataset synthetic-small " in screen[-2]
    assert "--grid gamma --seeds 3 --dataset synthetic-small " in screen[-1]
    assert all(line.endswith("--set output_bias=zero") for line in screen[-2:])
    code, capacity, _ = _stage("capacity", tmp_path / "results")
    assert [line.split()[2] for line in capacity] == ["cause-baseline", "cause-zero-bias"]
    assert all(
        "--dataset synthetic-small --protocol dev-eval --epochs 15 --set model.channels=32" in line
        for line in capacity
    )
    code, confirm, _ = _stage("confirm", tmp_path / "results")
    assert code == 0 and [line.split()[2] for line in confirm] == [
        "cause-baseline", "cause-baseline", "cause-zero-bias", "paper",
    ]  # fmt: skip
    hard = "--dataset synthetic-tut-timeline-ebr-20 "
    assert [hard in line for line in confirm] == [True, False, True, True]
    assert "--set output_bias=zero" in confirm[3] and "--protocol dev-eval" in confirm[3]


def test_the_stages_stop_before_the_values_they_need_exist(tmp_path):
    results = tmp_path / "results"
    write_sets(results, make_set("cause-baseline", BASE), make_set("cause-zero-bias", BASE, seed=1))
    code, _, error = _stage("confirm", results)
    assert code == 2 and "not calibrated yet" in error
    calibration = on_data(
        make_set("calibration", {"bce": 0.10}, seeds=1), "synthetic-t-ebr-20-seed0"
    )
    write_sets(results, calibration)
    code, lines, error = _stage("confirm", results)
    assert code == 2 and "no arm explains" in error and lines == []
    code, lines, error = _stage("capacity", results)
    assert code == 2 and "no arm explains" in error and lines == []


def test_the_calibration_reruns_from_one_command_on_rung_2_folds_with_bce_alone():
    code, lines, _ = _stage("calibrate", extra={"OFFSETS": "-20 -10"})
    assert code == 0 and len(lines) == 2
    for line, offset in zip(lines, ("-20", "-10"), strict=True):
        assert f"--grid calibration --dataset synthetic-tut-timeline-ebr{offset} " in line
        assert "--protocol folds --epochs 15 --set model.channels=32" in line
    assert [m.key for m in GRIDS["calibration"].methods] == ["bce"]


def test_the_gpu_script_reads_the_offset_from_the_committed_results_and_needs_an_explaining_arm(
    tmp_path,
):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DRY_RUN": "1", "PYTHON": sys.executable, "SKIP_INSTALL": "1",
           "OUT": str(tmp_path / "out"), "SEDLIB_DATA_ROOT": str(tmp_path / "data")}  # fmt: skip
    done = subprocess.run(
        ["bash", "tools/gpu/study.sh", "paper-like"], cwd=root, env=env, capture_output=True, text=True,
    )  # fmt: skip
    # the committed sets: the calibration chose -30 dB, and no arm explains under the rule yet
    assert done.returncode == 2 and "no arm explains" in done.stderr
    from sedlib.study.choices import calibrated_offset

    assert calibrated_offset(root / "data" / "results").value == -30.0
