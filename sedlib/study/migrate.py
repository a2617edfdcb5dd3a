"""``sedlib migrate``: upgrade files written by older versions, explicitly and in place.

- a run's ``metrics.json`` of schema 1 becomes a :class:`~sedlib.training.record.RunRecord`
  of the current schema (:func:`sedlib.training.record.migrate_file`);
- an aggregated result of sedlib 0.1 (``<results>/<grid>.csv`` and
  ``<grid>.json``, one flat file per grid) becomes a result set
  ``<results>/<grid>/<slug>.csv`` / ``.json`` (:mod:`sedlib.study.results`),
  and the old files are removed.

The metrics are copied, never recomputed: the migrated tables hold the same
numbers as before (tested).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sedlib.study.aggregate import shared_settings, summary_json
from sedlib.study.results import slug
from sedlib.study.summary import method_key
from sedlib.training.config import TrainConfig
from sedlib.training.record import RECORD, FoldRecord, RunRecord, migrate_file, migrate_v1
from sedlib.util.io import atomic_write_text, read_json

log = logging.getLogger(__name__)


def migrate_paths(paths: list[str | Path]) -> int:
    """Migrate every old file under ``paths`` (files or folders); returns how many changed."""
    changed = 0
    for path in map(Path, paths):
        if path.is_dir():
            targets = sorted(path.rglob(RECORD)) + sorted(_old_results(path))
        else:
            targets = [path]
        for target in targets:
            if target.name == RECORD:
                changed += migrate_file(target)
            elif target.suffix == ".json" and _is_old_result(target):
                migrate_result(target)
                changed += 1
            else:
                log.info("%s: nothing to migrate", target)
    return changed


def _old_results(folder: Path):
    return (p for p in folder.glob("*.json") if _is_old_result(p))


def _is_old_result(path: Path) -> bool:
    try:
        data = read_json(path, "result summary")
    except (FileNotFoundError, ValueError):
        return False
    return isinstance(data, dict) and "per_run" in data and "header" not in data


def migrate_result(path: Path) -> Path:
    """Convert a sedlib 0.1 result (``<grid>.json`` + ``<grid>.csv``) into a result set.

    Returns
    -------
    pathlib.Path
        The new summary file.
    """
    from sedlib.data.registry import get_dataset
    from sedlib.study.aggregate import compact, data_facts
    from sedlib.study.sweep import command_for

    old = read_json(path, "result summary")
    grid = old["grid"]
    table = pd.read_csv(path.with_suffix(".csv"))
    records = {}
    for name, run in old["per_run"].items():
        row = table[table["run"] == name].iloc[0]
        records[name] = _record_of(name, run, row)
    shared = shared_settings(list(records.values()))
    first = sorted(records)[0]
    dataset = get_dataset(shared["dataset"])
    facts = {**data_facts(dataset, "dev-eval"), "fingerprint": "not recorded (sedlib 0.1)"}
    new_table = _migrate_table(table, records)
    name = slug(shared, facts["fingerprint"])
    header = {
        "grid": grid,
        "slug": name,
        "description": "",
        "protocol": "dev-eval",
        "settings": shared,
        "data": facts,
        "seeds": int(new_table["seed"].nunique()),
        "runs": len(records),
        "created_by": old["created_by"],
        # today's defaults differ (protocol, patience): the command that reproduces these settings now
        "reproduce_with": command_for(
            grid, int(new_table["seed"].nunique()), TrainConfig(**records[first].config)
        ),
        "aggregated": old["aggregated"],
        "migrated_from": {"file": path.name, "by": "sedlib migrate"},
        "table_columns": list(new_table.columns),
    }
    folder = path.parent / grid
    atomic_write_text(folder / f"{name}.csv", new_table.to_csv(index=False))
    runs = {n: compact(r) for n, r in sorted(records.items())}
    atomic_write_text(folder / f"{name}.json", summary_json(header, runs))
    path.with_suffix(".csv").unlink()
    path.unlink()
    log.info("%s -> %s", path, folder / f"{name}.json")
    return folder / f"{name}.json"


def _record_of(name: str, run: dict, row: pd.Series) -> RunRecord:
    """A run record from what a 0.1 summary kept of the run (no history: it was not kept)."""
    data = {
        "run": name,
        "config": run["config"],
        "dataset": {"name": row["dataset"]},
        "evaluation": run["evaluation"],
        "tuned": run.get("tuned", {}),
        "threshold_free": run.get("threshold_free", {}),
        "epochs_run": int(row["epochs_run"]),
        "best_epoch": int(row["best_epoch"]),
        "history": [],
        "probability_histograms": run.get("probability_histograms") or {},
        "timing": {"seconds_per_epoch": float(row["seconds_per_epoch"])},
        "provenance": run["provenance"],
    }
    record = RunRecord.from_dict(migrate_v1(data))
    record.folds = [
        FoldRecord(
            **{
                **vars(record.folds[0]),
                "train_seconds": float(row["seconds_per_epoch"]) * int(row["epochs_run"]),
            }
        )
    ]
    return record


def _migrate_table(table: pd.DataFrame, records: dict[str, RunRecord]) -> pd.DataFrame:
    """The 0.1 table with the columns of today's (identity, protocol, method, best_epochs)."""
    out = table.copy()
    out.insert(1, "identity", [records[n].identity for n in out["run"]])
    out.insert(3, "protocol", "dev-eval")
    out.insert(
        4,
        "method",
        [method_key(loss, g) for loss, g in zip(out["loss"], out["gamma"], strict=True)],
    )
    out["best_epochs"] = out.pop("best_epoch").astype(str)
    order = [
        "run",
        "identity",
        "dataset",
        "protocol",
        "method",
        "loss",
        "gamma",
        "seed",
        "epochs_run",
        "best_epochs",
    ]
    return out[order + [c for c in out.columns if c not in order]].sort_values(
        ["method", "seed"], kind="stable"
    )
