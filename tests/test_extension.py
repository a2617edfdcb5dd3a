"""A larger step budget or patience continues the runs of smaller ones, to the records of the
larger ones trained from the start.

The tiny data set has 3 optimizer steps an epoch; with ``warmup_steps`` 2 and
``patience_steps`` 4, seven of the smoke grid's eight runs (4 seeds) stop by
plateau at step 9 and ``duration_robust-g1-s1`` at step 15. Under a budget of
12 that run stops at the budget, under 6 every run does; under a patience of 8
the plateaued ones go on: the extended runs meet each case (kept, resumes,
reopened from a single run's checkpoint or a batched member's state).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
import torch
from test_batched import comparable, differences

from sedlib.data.registry import get_dataset
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.study.sweep import plan_grid, run_grid
from sedlib.training import RunRecord, TrainConfig, batched, train
from sedlib.training.convergence import BUDGET, PLATEAU
from sedlib.training.extend import extends, rekey_run
from sedlib.training.preflight import preflight

TINY = Preset(dev_minutes=2.0, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))
SETTINGS = {
    "device": "cpu",
    "protocol": "dev-eval",
    "epochs": 0,
    "warmup_steps": 2,
    "patience_steps": 4,
    "batch_size": 4,
    "model": {"channels": 4, "gru_units": 8, "fc_units": 8},
}
SEEDS = 4


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("tiny"), TINY, seed=2, jobs=1, progress=False)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sweep(data, root, budget: int, extend: bool = False, patience: int = 4) -> dict[str, RunRecord]:
    settings = {**SETTINGS, "max_steps": budget, "patience_steps": patience}
    run_grid(
        "smoke", dataset=str(data.audio_dir), executor="batched", seeds=SEEDS,
        overrides=settings, runs_root=root / "runs",
        results_root=root / "results", extend_budget=extend,
    )  # fmt: skip
    planned = plan_grid("smoke", dataset=get_dataset(str(data.audio_dir)), seeds=SEEDS,
                        overrides={**settings, "dataset": str(data.audio_dir)},
                        runs_root=root / "runs")  # fmt: skip
    return {r.spec.name: RunRecord.load(r.folder / "metrics.json") for r in planned}


def groups_of_one(root) -> set[str]:
    """The keys of the batched groups of one member in the grid's group folder."""
    found = set()
    for path in (root / "runs" / "smoke" / ".work" / ".batched").glob("*/members.json"):
        members = json.loads(path.read_text())["members"]
        found |= set(members) if len(members) == 1 else set()
    return found


@pytest.fixture(scope="module")
def direct(data, tmp_path_factory):
    """The grid under a budget of 30 steps, trained from the start."""
    return sweep(data, tmp_path_factory.mktemp("direct"), 30)


def assert_same_runs(extended: dict, direct: dict, **extended_from) -> None:
    """The extended runs are the runs trained from the start, and name the settings they left."""
    assert extended.keys() == direct.keys()
    for name, record in extended.items():
        assert record.identity == direct[name].identity, name
        assert not differences(comparable(record), comparable(direct[name])), name
        for key, value in extended_from.items():
            assert record.provenance["extended_from"][key] == value


def test_finished_runs_of_a_smaller_budget_continue_to_the_larger_budgets_records(
    data, direct, tmp_path
):
    """Budget 12: the plateaued runs are kept, the one stopped at 12 goes on from its state as a
    batched group of one."""
    old = sweep(data, tmp_path, 12)
    stops = {name: r.folds[0].stop_reason for name, r in old.items()}
    assert list(stops.values()).count(BUDGET) == 1 and stops["duration_robust-g1-s1"] == BUDGET
    before = {p: p.read_bytes() for p in (tmp_path / "runs").rglob("metrics.json")}
    extended = sweep(data, tmp_path, 30, extend=True)
    assert_same_runs(extended, direct, max_steps=12)
    assert {p: p.read_bytes() for p in before} == before  # the old runs stay as they were
    for name, record in extended.items():
        assert record.provenance["extended_from"]["identity"] == old[name].identity
    reopened = extended["duration_robust-g1-s1"].identity
    assert groups_of_one(tmp_path) == {f"{reopened}/dev-eval"}


@pytest.mark.parametrize("longer", [8, 5])
def test_finished_runs_of_a_shorter_patience_go_on_to_the_longer_patiences_records(
    data, tmp_path, longer, caplog
):
    """Patience 4 -> 8: every run that stopped by plateau goes on from its state (batched), to
    the records of the grid trained under patience 8 from the start; one whose state was lost
    trains again. Patience 4 -> 5 (3 steps an epoch: the same stops): every reopened member
    stops where it stood, without another epoch."""
    alone = sweep(data, tmp_path / "direct", 30, patience=longer)
    old = sweep(data, tmp_path, 30)
    assert {r.folds[0].stop_reason for r in old.values()} == {PLATEAU}
    (lost,) = (tmp_path / "runs" / "smoke").glob("bce-s0-*/dev-eval/member.pt")
    lost.unlink()  # as a member that stopped before members kept their state
    with caplog.at_level(logging.INFO, logger="sedlib.study.extension"):
        extended = sweep(data, tmp_path, 30, extend=True, patience=longer)
    assert_same_runs(extended, alone, patience_steps=4)
    outcomes = [
        r.getMessage().rsplit(": ", 1)[-1]
        for r in caplog.records
        if "extended from" in r.getMessage()
    ]
    assert sorted(outcomes) == ["dev-eval reopened"] * 7 + ["dev-eval restarts"], outcomes
    grew = [n for n, r in extended.items() if r.folds[0].steps_run > old[n].folds[0].steps_run]
    assert grew if longer == 8 else not grew


def test_an_interrupted_group_resumes_under_the_larger_budget(data, direct, tmp_path):
    """Budget 6, stopped after one epoch: every member resumes from the re-keyed group checkpoint."""
    overrides = {**SETTINGS, "max_steps": 6, "dataset": str(data.audio_dir)}
    dataset = get_dataset(str(data.audio_dir))
    runs = plan_grid("smoke", dataset=dataset, seeds=SEEDS, overrides=overrides,
                     runs_root=tmp_path / "runs")  # fmt: skip
    groups = runs[0].folder.parent / ".work" / ".batched"
    out = batched.train_batched([r.config for r in runs], [r.work for r in runs],
                                dataset=dataset, groups_dir=groups, progress=False,
                                stop_after_epochs=1)  # fmt: skip
    assert all(isinstance(r, batched.Interrupted) for r in out)
    extended = sweep(data, tmp_path, 30, extend=True)
    assert_same_runs(extended, direct, max_steps=6)
    assert len(list(groups.glob("*/group.pt"))) == 2  # the old group and its re-keyed copy


def test_a_single_run_stopped_at_the_budget_reopens_from_its_checkpoint(data, tmp_path):
    config = TrainConfig(dataset="unused", loss="duration_robust", gamma=1.0, seed=1,
                         **{**SETTINGS, "max_steps": 6})  # fmt: skip
    longer = replace(config, max_steps=30)
    train(config, tmp_path / "old", dataset=data, progress=False)
    plan = preflight(longer, tmp_path / "direct", data, progress=False)
    resolved = longer.resolved("cpu")
    folds = rekey_run(tmp_path / "old", tmp_path / "new", plan.identity, resolved)
    assert folds == {"dev-eval": "reopened"}
    extended = train(longer, tmp_path / "new", dataset=data, progress=False)
    alone = train(longer, tmp_path / "direct", dataset=data, progress=False)
    assert extended.identity == alone.identity and extended.folds[0].steps_run == 15
    assert not differences(comparable(extended), comparable(alone))
    claim = json.loads((tmp_path / "new" / "run.json").read_text())
    assert claim["extended_from"] == {"identity": json.loads(
        (tmp_path / "old" / "run.json").read_text())["identity"], "max_steps": 6,
        "patience_steps": 4}  # fmt: skip


def test_only_a_larger_step_budget_or_patience_extends():
    base = TrainConfig(dataset="x", max_steps=1000).resolved("cpu")
    assert extends(base, {**base, "max_steps": 2000})
    assert not extends(base, {**base, "max_steps": 1000})
    assert not extends(base, {**base, "max_steps": 500})
    assert not extends(base, {**base, "max_steps": 2000, "lr": 0.01})
    assert not extends({**base, "max_steps": 0}, {**base, "max_steps": 2000})  # epochs alone
    longer = {**base, "patience_steps": base["patience_steps"] + 500}
    assert extends(base, longer) and not extends(longer, base)
    assert extends(base, {**base, "patience_steps": 0})  # never stopping early is the longest
    assert not extends({**base, "patience_steps": 0}, longer)
    assert not extends(base, {**longer, "max_steps": 500})  # neither may shrink
    assert extends(base, {**longer, "max_steps": 2000})


def test_extending_refuses_a_folder_of_another_run(data, tmp_path):
    config = TrainConfig(dataset="unused", **{**SETTINGS, "max_steps": 6})
    train(config, tmp_path / "old", dataset=data, progress=False)
    other = replace(config, max_steps=30, lr=0.01)
    with pytest.raises(Exception, match="does not extend"):
        rekey_run(tmp_path / "old", tmp_path / "new", "0" * 12, other.resolved("cpu"))
    assert not (tmp_path / "new").exists()


def test_the_command_line_refuses_extending_with_aggregate_only(capsys):
    from sedlib.cli import main

    assert main(["sweep", "--grid", "smoke", "--aggregate-only", "--extend-budget"]) != 0
    assert "--extend-budget" in capsys.readouterr().err
