"""CPU-hours of the trainings behind result sets, and of the trainings still in progress.

``python tools/cpu_hours.py [--match TEXT]`` prints, for every result set whose file name
contains TEXT (default: all), its finished runs and the hours they trained (the sum of the
runs' ``timing.train_seconds``: on the batched engine each run's share of its group's time,
so the sum is the time the processes trained); then, per grid of the runs folder, its
trainings in progress (the members still active in its batched groups, their optimizer steps
and ``train_seconds`` so far). An issue's closing note reports the hours per stage with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sedlib.settings import data_root, results_dir  # noqa: E402
from sedlib.training.batched import GROUP_CHECKPOINT  # noqa: E402


def finished(results: Path, match: str) -> list[tuple[str, int, int | str, float]]:
    """Per result set: its name, finished and planned runs ("?": an old set), and its hours."""
    rows = []
    for path in sorted(results.glob("*/*.json")):
        if match not in path.name:
            continue
        found = json.loads(path.read_text())
        if not isinstance(found, dict) or not isinstance(found.get("runs"), dict):
            continue  # not a result set (e.g. a code-equivalence record)
        header, runs = found.get("header", {}), found["runs"]
        seconds = sum((r.get("timing") or {}).get("train_seconds") or 0.0 for r in runs.values())
        rows.append(
            (
                f"{path.parent.name}/{path.stem}",
                len(runs),
                header.get("planned", "?"),
                seconds / 3600,
            )
        )
    return rows


def in_progress(runs: Path) -> list[tuple[str, int, str, float]]:
    """Per grid: the members still training, their steps (least-most) and hours so far."""
    rows = []
    for grid in sorted(p for p in runs.iterdir() if p.is_dir()):
        members, steps, seconds = 0, [], 0.0
        for path in sorted(grid.glob(f".work/.batched/*/{GROUP_CHECKPOINT}")):
            saved = torch.load(path, map_location="cpu", weights_only=False)
            for i in saved["active"]:
                members += 1
                steps.append(saved["states"][i]["steps"])
                seconds += saved["states"][i]["train_seconds"]
        if members:
            rows.append((grid.name, members, f"{min(steps)}-{max(steps)}", seconds / 3600))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", default="", help="only result sets whose file name has it")
    args = parser.parse_args()
    total = 0.0
    print("| result set | runs | planned | CPU-hours |\n|---|---|---|---|")
    for name, done, planned, hours in finished(results_dir(), args.match):
        total += hours
        print(f"| {name} | {done} | {planned} | {hours:.1f} |")
    print("\n| grid, in progress | members | steps | CPU-hours so far |\n|---|---|---|---|")
    runs = data_root() / "runs"
    for name, members, steps, hours in in_progress(runs) if runs.is_dir() else []:
        total += hours
        print(f"| {name} | {members} | {steps} | {hours:.1f} |")
    print(f"\nin all: {total:.1f} CPU-hours")


if __name__ == "__main__":
    main()
