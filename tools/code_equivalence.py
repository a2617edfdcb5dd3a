"""Train the equivalence probe under two commits and record whether the numbers are the same.

    python tools/code_equivalence.py COMMIT_A COMMIT_B

Each commit is checked out into a temporary git worktree; the probe of
:mod:`sedlib.study.equivalence` (three runs, single and batched engines, a
narrow model, a small generated data set made once by the current code)
trains under each with that worktree's sedlib; the histories (without
timings), kept epochs and metrics are compared. The check is written to
``<results>/code-equivalence/<fingerprint A>__<fingerprint B>.json`` with
both commits, fingerprints and the differences found; the command exits 1
when the versions differ. About a minute per commit on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sedlib import provenance  # noqa: E402
from sedlib.study.equivalence import FOLDER, PROBE, PROBE_SETTINGS, check_name  # noqa: E402
from sedlib.study.results import results_root  # noqa: E402
from sedlib.util.io import write_json  # noqa: E402

#: Trains the probe with the sedlib on PYTHONPATH; prints one JSON object of comparable numbers.
TRAIN = """
import json, sys, torch
from pathlib import Path
from sedlib.data.layout import Dataset
from sedlib.training import TrainConfig, train
from sedlib.training.batched import train_batched
torch.set_num_threads(1)
probe, settings, data, out = json.loads(sys.argv[1])
dataset = Dataset.from_folder(Path(data))
configs = [TrainConfig(dataset=data, **settings, **p) for p in probe]
single = [train(c, Path(out) / "single" / c.describe(), dataset=dataset, progress=False) for c in configs]
dirs = [Path(out) / "batched" / c.describe() for c in configs]
batched = train_batched(configs, dirs, dataset=dataset, progress=False)
def numbers(r):
    return {"history": [{k: v for k, v in h.items() if "seconds" not in k and not k.startswith("group")}
                        for f in r.folds for h in f.history],
            "best": [f.best_epoch for f in r.folds], "evaluation": r.evaluation}
print(json.dumps({"single": [numbers(r) for r in single], "batched": [numbers(r) for r in batched]}))
"""


def train_at(commit: str, data: Path, work: Path) -> dict:
    """The probe's numbers under ``commit`` (a temporary worktree of this repository)."""
    tree = work / f"tree-{commit}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), commit], check=True
    )
    try:
        payload = json.dumps([PROBE, PROBE_SETTINGS, str(data), str(work / f"runs-{commit}")])
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
        env["SEDLIB_DATA_ROOT"] = str(work / f"root-{commit}")
        done = subprocess.run(
            [sys.executable, "-c", TRAIN, payload],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    from sedlib.data.synthetic import generate
    from sedlib.data.synthetic.generate import Preset

    commits = [provenance._git(ROOT, "rev-parse", c) for c in (args.a, args.b)]
    prints = [provenance.fingerprint_of_commit(c) for c in commits]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = generate(
            work / "probe-data", Preset(2.0, 0.5, 30.0, (1, 1)), seed=2, jobs=1, progress=False
        )
        a, b = (train_at(c, data.audio_dir, work) for c in commits)
    differences = [k for k in ("single", "batched") if a[k] != b[k]]
    check = {
        "equal": not differences,
        "differs_in": differences,
        "commits": commits,
        "fingerprints": prints,
        "probe": {"runs": PROBE, "settings": PROBE_SETTINGS},
        "checked_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": "tools/code_equivalence.py",
    }
    path = results_root() / FOLDER / check_name(*prints)
    write_json(path, check)
    print(
        f"{'equal' if check['equal'] else 'DIFFERENT'}: {prints[0]} ({commits[0][:7]}) and {prints[1]} ({commits[1][:7]}) -> {path}"
    )
    return 0 if check["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
