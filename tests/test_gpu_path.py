"""The GPU study's code path, run on the CPU with tiny settings (CI never has a GPU).

``tools/gpu/smoke.py`` is what a GPU session runs first; ``tools/gpu/study.sh grid``
is how it runs a grid: both are exercised here exactly as there, with
``DEVICE=cpu`` and a tiny data set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_the_smoke_checks_pass_on_cpu(tmp_path):
    env = {**os.environ, "SEDLIB_DATA_ROOT": str(tmp_path / "root")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gpu" / "smoke.py"), "--device", "cpu"],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASS")]
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert [line.split(" (")[0] for line in passed] == [
        "PASS features",
        "PASS losses",
        "PASS conv block",
        "PASS resume",
        "PASS concurrent runs",
    ]


def test_a_grid_step_runs_packs_and_resumes_on_another_machine(tmp_path):
    """Run the smoke grid on synthetic-small and pack its records; 'another machine' (a new data
    root, the data set generated again) unpacks them and finds every run finished."""

    def machine(name: str) -> tuple[dict, Path]:
        root = tmp_path / name
        env = {
            **os.environ,
            "SEDLIB_DATA_ROOT": str(root / "data"),
            "OUT": str(root / "out"),
            "DEVICE": "cpu",
            "JOBS": "2",
            "SEEDS": "1",
            "SKIP_INSTALL": "1",
            "PYTHON": sys.executable,
            "CARRIED": str(root / "carried"),
        }
        return env, root

    command = [
        "bash",
        str(ROOT / "tools" / "gpu" / "study.sh"),
        "grid",
        "smoke",
        "synthetic-small",
        "0",  # no time limit: the step must not depend on how fast the machine is today
    ]
    env, first = machine("first")
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (archive,) = (first / "out").glob("runs-smoke-synthetic-small.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert sum(n.endswith("metrics.json") for n in names) == 2 and not any(
        n.endswith(".pt") for n in names
    )
    assert list((first / "out").glob("results-smoke-synthetic-small/*.csv"))
    env, second = machine("second")
    carried = second / "carried" / archive.name  # what a GPU session carries back in .gpu/
    carried.parent.mkdir(parents=True)
    carried.write_bytes(archive.read_bytes())
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "2 runs, 2 in shard 0/1, 0 to run" in again.stderr
    assert not list((second / "data" / "runs").rglob("train.log")), "a run was trained again"
