"""The sweep runner: grids, shards, papermill execution of the training notebook, aggregation."""

from __future__ import annotations

import json
import shutil

import nbformat
import pandas as pd
import pytest

from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.sweep import grid_runs, parse_shard, run_grid


def test_grids_are_the_papers():
    paper = grid_runs("paper")
    assert len(paper) == 40 and len({r.name for r in paper}) == 40
    assert {(r.loss, r.gamma) for r in paper} == {
        ("bce", 1.0),
        ("inverse_frequency", 1.0),
        ("duration_robust", 1.0),
        ("duration_robust", 4.0),
    }
    gamma = grid_runs("gamma")
    assert sorted({r.gamma for r in gamma}) == [0.25, 0.5, 1.0, 2.0, 4.0] and len(gamma) == 50
    assert len(grid_runs("smoke")) == 2
    with pytest.raises(ValueError, match="unknown grid 'huge'"):
        grid_runs("huge")


def test_shards_partition_a_grid():
    assert parse_shard("2/5") == (2, 5) and parse_shard(None) == (0, 1)
    for bad in ("5/5", "x", "1-2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    runs = grid_runs("paper")
    parts = [[r for k, r in enumerate(runs) if k % 3 == i] for i in range(3)]
    assert sorted(r.name for p in parts for r in p) == sorted(r.name for r in runs)


@pytest.mark.slow
def test_smoke_grid_runs_the_notebook_through_papermill(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    data = generate(
        tmp_path / "tiny", Preset(2.0, 0.5, 30.0, (1, 1)), seed=2, jobs=1, progress=False
    )
    table = run_grid("smoke", dataset=str(data.audio_dir), device="cpu", echo=lambda s: None)
    assert sorted(table["run"]) == ["bce-s0", "duration_robust-g1-s0"]
    runs = tmp_path / "root" / "runs" / "smoke"
    for name in table["run"]:
        executed = nbformat.read(runs / name / "03_training.ipynb", as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
        metrics = json.loads((runs / name / "metrics.json").read_text())
        assert metrics["config"]["model"] == {"channels": 8} and metrics["epochs_run"] == 1
    csv = pd.read_csv(tmp_path / "root" / "results" / "smoke.csv")
    assert len(csv) == 2 and {"macro_f", "micro_f", "f:fan", "er:mouse clicking"} <= set(
        csv.columns
    )
    summary = json.loads((tmp_path / "root" / "results" / "smoke.json").read_text())
    assert summary["runs"] == 2 and summary["created_by"] == (
        f"sedlib sweep --grid smoke --seeds 1 --epochs 1 --dataset {data.audio_dir} --device cpu"
    )
    assert {"tuned_macro_f", "segment_ap", "psds1", "tuned_f:fan", "ap:fan"} <= set(csv.columns)
    # finished runs are skipped
    messages = []
    run_grid("smoke", dataset=str(data.audio_dir), device="cpu", echo=messages.append)
    assert "0 to run" in messages[0]
    # an identical finished run of another grid is reused, not trained again
    (runs.parent / "copy" / "bce-s0").mkdir(parents=True)
    for item in (runs / "bce-s0").iterdir():
        (runs.parent / "copy" / "bce-s0" / item.name).write_bytes(item.read_bytes())
    shutil.rmtree(runs / "bce-s0")
    messages = []
    run_grid("smoke", dataset=str(data.audio_dir), device="cpu", echo=messages.append)
    assert any("reused 1 identical finished run" in m for m in messages)
    assert (runs / "bce-s0" / "metrics.json").is_file()
