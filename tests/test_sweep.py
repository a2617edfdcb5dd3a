"""Grids as data, shards, and a real sweep: papermill execution, identity-keyed folders, read-only aggregate."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import TRAINING_NOTEBOOK

from sedlib.cli import parse_shard, sweep_caller, training_notebook
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.study.grids import GRIDS, grid_runs, merge_settings, run_config
from sedlib.study.results import load_ladder
from sedlib.study.sweep import plan_grid, run_grid
from sedlib.training import TrainConfig


def test_grids_are_the_papers():
    paper = grid_runs("paper")
    assert len(paper) == 40 and len({r.name for r in paper}) == 40
    assert {(r.method.loss, r.method.gamma) for r in paper} == {
        ("bce", 1.0),
        ("inverse_frequency", 1.0),
        ("duration_robust", 1.0),
        ("duration_robust", 4.0),
    }
    gamma = grid_runs("gamma")
    assert (
        sorted({r.method.gamma for r in gamma}) == [0.25, 0.5, 1.0, 2.0, 4.0] and len(gamma) == 50
    )
    for name in ("paper", "gamma", "baselines"):
        assert GRIDS[name].settings["protocol"] == "folds"  # the paper's protocol
    assert len(grid_runs("smoke")) == 2 and len(grid_runs("paper", seeds=3)) == 12
    with pytest.raises(ValueError, match="unknown grid 'huge'"):
        grid_runs("huge")


def test_a_run_config_is_defaults_then_grid_then_sweep_then_method():
    grid = GRIDS["smoke"]
    spec = grid_runs("smoke")[1]
    config = run_config(grid, spec, {"epochs": 3, "model": {"dropout": 0.1}})
    assert config.epochs == 3 and config.model == {"channels": 8, "dropout": 0.1}
    assert (config.loss, config.seed) == ("duration_robust", 0)
    assert config.lr == TrainConfig().lr and config.protocol == TrainConfig().protocol
    assert merge_settings({"model": {"a": 1}}, {"model": {"b": 2}}) == {"model": {"a": 1, "b": 2}}


def test_shards_partition_a_grid():
    assert parse_shard("2/5") == (2, 5) and parse_shard(None) == (0, 1)
    for bad in ("5/5", "x", "1-2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    runs = grid_runs("paper")
    parts = [[r for k, r in enumerate(runs) if k % 3 == i] for i in range(3)]
    assert sorted(r.name for p in parts for r in p) == sorted(r.name for r in runs)


#: The command line's notebook and commands, as `sedlib sweep` gives them.
CALLER = sweep_caller(training_notebook(TRAINING_NOTEBOOK))


@pytest.mark.slow
def test_smoke_grid_runs_the_notebook_through_papermill(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    data = generate(
        tmp_path / "tiny", Preset(2.0, 0.5, 30.0, (1, 1)), seed=2, jobs=1, progress=False
    )
    result = run_grid(
        "smoke", dataset=str(data.audio_dir), overrides={"device": "cpu"}, caller=CALLER
    )
    assert sorted(result.table["run"]) == ["bce-s0", "duration_robust-g1-s0"]
    planned = plan_grid(
        "smoke", dataset=data, overrides={"device": "cpu", "dataset": str(data.audio_dir)}
    )
    for run in planned:
        executed = nbformat.read(run.folder / "03_training.ipynb", as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
        record = run.finished()
        assert record.identity == run.identity and run.folder.name.endswith(run.identity)
        assert record.resolved["model"]["channels"] == 8 and record.epochs_run == 1
        assert [f.name for f in record.folds] == ["fold1", "fold2", "fold3", "fold4"]
        assert not run.work.exists()  # promoted
    (rung,) = load_ladder("smoke", root=tmp_path / "root" / "results")
    assert {
        "macro_f",
        "micro_f",
        "f:fan",
        "er:mouse clicking",
        "tuned_macro_f",
        "segment_ap",
        "ap:fan",
    } <= set(rung.table.columns)
    assert rung.header["protocol"] == "folds" and rung.header["seeds"] == 1
    assert rung.header["data"]["audio_minutes"] == pytest.approx(2.0, abs=0.2)
    assert rung.command.startswith(
        f"sedlib sweep --grid smoke --seeds 1 --dataset {data.audio_dir}"
    )
    assert "--device cpu" in rung.command
    # finished runs are skipped, and aggregating writes nothing into the runs
    stamps = {p: p.stat().st_mtime_ns for run in planned for p in run.folder.rglob("*")}
    again = run_grid(
        "smoke", dataset=str(data.audio_dir), overrides={"device": "cpu"}, caller=CALLER
    )
    assert {p: p.stat().st_mtime_ns for run in planned for p in run.folder.rglob("*")} == stamps
    assert again.table.drop(columns=[]).equals(result.table)
    summary = json.loads(
        (tmp_path / "root" / "results" / "smoke" / f"{rung.slug}.json").read_text()
    )
    assert set(summary["runs"]) == {"bce-s0", "duration_robust-g1-s0"}
    # an identical finished run of another grid folder is reused, not trained again
    bce = planned[0]
    moved = bce.folder.parent.parent / "elsewhere" / bce.folder.name
    moved.parent.mkdir()
    bce.folder.rename(moved)
    run_grid("smoke", dataset=str(data.audio_dir), overrides={"device": "cpu"}, caller=CALLER)
    assert bce.finished() is not None and (moved / "metrics.json").is_file()


@pytest.mark.slow
def test_a_fresh_checkout_restores_finished_runs_from_the_committed_results(tmp_path, monkeypatch):
    """The result set keeps whole records: with the run folders gone, nothing trains again."""
    from sedlib.study.sweep import SweepCaller
    from sedlib.training import RunRecord

    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    data = generate(
        tmp_path / "tiny", Preset(2.0, 0.5, 30.0, (1, 1)), seed=2, jobs=1, progress=False
    )
    first = run_grid(
        "smoke", dataset=str(data.audio_dir), overrides={"device": "cpu"}, caller=CALLER,
        executor="python",
    )  # fmt: skip
    runs = tmp_path / "root" / "runs"
    kept = {p.parent.name: RunRecord.load(p).to_dict() for p in runs.glob("smoke/*/metrics.json")}
    import shutil

    shutil.rmtree(runs)
    # a caller without a notebook or command: training anything would be refused
    again = run_grid(
        "smoke", dataset=str(data.audio_dir), overrides={"device": "cpu"}, caller=SweepCaller()
    )
    restored = {
        p.parent.name: RunRecord.load(p).to_dict() for p in runs.glob("smoke/*/metrics.json")
    }
    assert restored == kept and len(kept) == 2
    assert again.table.equals(first.table)
    assert again.runs == first.runs
