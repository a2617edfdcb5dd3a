"""Collect finished run records into a result set (read-only on the runs).

The aggregate reads each run's :class:`~sedlib.training.record.RunRecord`
and writes one table and one summary (see :mod:`sedlib.study.results`); it
never re-runs a model and never rewrites a run's files.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sedlib import provenance
from sedlib.data.audio import audio_info
from sedlib.data.layout import Dataset
from sedlib.data.meta import class_stats
from sedlib.errors import ConfigError
from sedlib.study.equivalence import equivalent
from sedlib.study.grids import PER_RUN
from sedlib.study.results import ResultSet, check_replace, find_result_file, results_root
from sedlib.training.config import method_key
from sedlib.training.record import RunRecord
from sedlib.training.split import protocol_folds
from sedlib.util.io import atomic_write_text, json_safe

log = logging.getLogger(__name__)

#: Settings that differ between the runs of a grid; every other setting is shared: what a
#: grid sets run by run (:data:`~sedlib.study.grids.PER_RUN`), and the loss's settings
#: that resolve per loss (None where the loss ignores them).
VARYING = (*PER_RUN, "C", "class_frames")
EXTENDED = ("segment_ap", "segment_auroc", "psds1", "psds2", "psds1_mean", "psds2_mean")


def data_facts(dataset: Dataset, protocol: str) -> dict[str, Any]:
    """What the ladder says of a data set under a protocol: size, files, frame imbalance."""
    folds = protocol_folds(protocol)
    train_files = {name for fold in folds for name in dataset.files(fold.train_split)}
    files = train_files | {name for fold in folds for name in dataset.files(fold.test_split)}

    def minutes(names) -> float:
        infos = (audio_info(dataset.audio_path(name)) for name in names)
        return sum(frames / rate for rate, frames in infos) / 60

    frames = class_stats(dataset.meta("development"))["n_frames"]
    frames = frames[frames > 0]
    return {
        "name": dataset.name,
        "fingerprint": dataset.fingerprint,
        "audio_minutes": round(minutes(files), 1),
        "train_minutes": round(minutes(train_files), 1),
        "files": len(files),
        "frame_imbalance": round(float(frames.max() / frames.min()), 1),
        "classes": len(dataset.labels),
    }


def shared_settings(records: list[RunRecord], dataset: str | None = None) -> dict[str, Any]:
    """The resolved settings all runs share; they must agree on everything but :data:`VARYING`.

    The data set counts by its content (the metadata fingerprint and the
    audio signature of each run's record), not by how it was spelled when a
    run was trained (a name, a folder, a copy of it): ``dataset`` is the
    spelling the set is written under (default: the first run's).

    Raises
    ------
    ConfigError
        When two runs differ in a shared setting or in their data, naming both.
    """

    def settings(record: RunRecord) -> dict[str, Any]:
        return {k: v for k, v in record.resolved.items() if k not in VARYING and k != "dataset"}

    def data(record: RunRecord) -> dict[str, Any]:
        return {k: record.dataset.get(k) for k in ("fingerprint", "audio")}

    first = settings(records[0])
    for record in records[1:]:
        other = settings(record)
        if other != first:
            diff = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
            raise ConfigError(
                f"runs {records[0].run} and {record.run} differ in shared settings {diff}"
            )
        if data(record) != data(records[0]):
            raise ConfigError(
                f"runs {records[0].run} and {record.run} were trained on different data "
                f"({data(records[0])} and {data(record)})"
            )
    return {**first, "dataset": dataset or records[0].resolved.get("dataset")}


def kept_completion(previous: dict | None, command: str | None) -> dict[str, str]:
    """The previous set's ``reproduce_with`` when its command is kept (``command`` None): the
    command completed with what today's defaults no longer give it."""
    kept = (previous or {}).get("header", {})
    return (
        {"reproduce_with": kept["reproduce_with"]}
        if command is None and "reproduce_with" in kept
        else {}
    )


def table_row(record: RunRecord) -> dict[str, Any]:
    """One row of the result table; ``converged`` by :mod:`sedlib.training.convergence`."""
    convergence = record.convergence()
    ev = record.evaluation
    tuned = record.tuned.get("evaluation", {})
    row: dict[str, Any] = {
        "run": record.run,
        "identity": record.identity,
        "dataset": record.dataset["name"],
        "protocol": record.protocol,
        "method": method_key(record.loss, record.gamma),
        "loss": record.loss,
        "gamma": record.gamma,
        "seed": record.seed,
        "epochs_run": record.epochs_run,
        "best_epochs": ";".join(map(str, record.best_epochs)),
        "steps_run": max(c.steps_run for c in convergence),
        "best_steps": ";".join(str(c.best_step) for c in convergence),
        "converged": all(c.converged for c in convergence),
        "macro_f": ev["macro_f"],
        "micro_f": ev["micro_f"],
        "val_macro_f": _mean_validation(record, "macro_f"),
        "macro_er": ev["macro_er"],
        "micro_er": ev["micro_er"],
        "seconds_per_epoch": record.seconds_per_epoch,
        "device": record.device_used,
        "git_commit": record.provenance.get("git_commit"),
    }
    for key in ("macro_f", "micro_f", "macro_er", "micro_er"):
        row[f"tuned_{key}"] = tuned.get(key, np.nan)
    for key in EXTENDED:
        row[key] = record.threshold_free.get(key, np.nan)
    for label, values in ev["per_class"].items():
        row[f"f:{label}"] = values["f"]
        row[f"er:{label}"] = values["er"]
    for label, values in tuned.get("per_class", {}).items():
        row[f"tuned_f:{label}"] = values["f"]
    for label, values in record.threshold_free.get("per_class", {}).items():
        row[f"ap:{label}"] = values["ap"]
    return row


def training_code_versions(records: list[RunRecord]) -> dict[str, list[str]]:
    """The training code of a set's runs: fingerprint -> run names (one key: one code version).

    The fingerprint is :func:`sedlib.provenance.code_fingerprint`'s, recorded
    when the run trained, or computed from the run's clean git commit where
    the record holds another kind; ``"unknown"`` where neither is possible
    (a run trained in a checkout with local changes, or before commits were
    recorded).
    """
    versions: dict[str, list[str]] = {}
    for record in records:
        versions.setdefault(_training_fingerprint(record), []).append(record.run)
    return {k: sorted(v) for k, v in sorted(versions.items())}


def _training_fingerprint(record: RunRecord) -> str:
    code = record.provenance.get("training_code") or {}
    if str(code.get("fingerprint", "")).startswith("ast1:"):
        return code["fingerprint"]
    commit = code.get("git_commit") or record.provenance.get("git_commit") or ""
    found = None if not commit or commit.endswith("-dirty") else _commit_fingerprint(commit)
    return found or "unknown"


@functools.lru_cache(maxsize=64)
def _commit_fingerprint(commit: str) -> str | None:
    return provenance.fingerprint_of_commit(commit)


def _mean_validation(record: RunRecord, metric: str) -> float:
    """The kept epochs' validation score, averaged over the run's trainings (NaN when unknown)."""
    values = [f.validation.get(metric) for f in record.folds]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else np.nan


def compact(record: RunRecord) -> dict[str, Any]:
    """What the summary keeps of a run: its whole record, so that the run can be restored from it.

    A sweep on another machine, or in a fresh checkout, reuses a run whose
    record a committed result set holds instead of training it again
    (:func:`sedlib.study.results.stored_records`).
    """
    return record.to_dict()


def summary_json(header: dict, runs: dict) -> str:
    """The summary as JSON with one line per run (readable diffs)."""
    dump = lambda value: json.dumps(json_safe(value), allow_nan=False)  # noqa: E731
    entries = [f"    {dump(name)}: {dump(run)}" for name, run in runs.items()]
    return (
        '{\n  "header": ' + dump(header) + ',\n  "runs": {\n' + ",\n".join(entries) + "\n  }\n}\n"
    )


def aggregate(
    grid: str,
    records: list[RunRecord],
    *,
    data: dict[str, Any],
    command: str | None = None,
    default_command: str = "",
    description: str = "",
    root: Path | None = None,
    planned: Sequence[str] | None = None,
    force: bool = False,
    dataset: str | None = None,
) -> ResultSet | None:
    """Write the result set of these finished runs; None when there are none.

    Parameters
    ----------
    grid : str
        The grid's name (the results folder).
    records : list of RunRecord
        Finished runs sharing every setting but the method and seed.
    data : dict
        :func:`data_facts` of the runs' data set and protocol.
    command : str, optional
        The command that reproduces the runs; None keeps the one recorded in
        the set's file, else ``default_command``.
    default_command : str
        The canonical command of the runs.
    description : str
        What the grid compares.
    root : path, optional
        Results folder (default ``<data root>/results``).
    planned : list of str, optional
        The identities of the runs the sweep planned: they identify the set
        (its file name, see :func:`sedlib.study.results.find_result_file`).
    force : bool
        Replace the set's file even when it holds runs these records lack.
    dataset : str, optional
        How the data set is spelled in the set's settings (the sweep's
        ``--dataset``); default: as the first run was trained. The runs may
        have been trained under other spellings of the same data.

    Raises
    ------
    ResultSetConflict
        When the set's file holds finished runs these records lack (unless ``force``).
    """
    if not records:
        log.warning("grid %s: no finished run to aggregate yet", grid)
        return None
    shared = shared_settings(records, dataset)
    runs_planned = None if planned is None else sorted(planned)
    folder = results_root(root) / grid
    name, previous = find_result_file(folder, shared, data.get("fingerprint", ""), runs_planned)
    check_replace(folder / f"{name}.json", previous, {r.identity for r in records}, force)
    table = pd.DataFrame([table_row(r) for r in records]).sort_values(
        ["method", "seed"], kind="stable"
    )
    created_by = command or (previous or {}).get("header", {}).get("created_by") or default_command
    header = {
        "grid": grid,
        "slug": name,
        "description": description,
        "protocol": shared["protocol"],
        "settings": shared,
        "data": data,
        "seeds": int(table["seed"].nunique()),
        "runs": len(records),
        "planned": len(runs_planned) if runs_planned else len(records),
        "created_by": created_by,
        "aggregated": provenance.collect(include_device=False),
        "training_code": training_code_versions(records),
        "table_columns": list(table.columns),
    }
    header.update(kept_completion(previous, command))
    header["one_training_code"] = equivalent(list(header["training_code"]), root)
    if runs_planned:
        header["planned_runs"] = runs_planned
    runs = {r.run: compact(r) for r in sorted(records, key=lambda r: r.run)}
    csv = folder / f"{name}.csv"
    atomic_write_text(csv, table.to_csv(index=False))
    atomic_write_text(csv.with_suffix(".json"), summary_json(header, runs))
    done = (grid, len(records), header["planned"], csv)
    log.info("grid %s: %d of %d planned runs finished -> %s", *done)
    return ResultSet(
        grid,
        name,
        json.loads(json.dumps(json_safe(header))),
        table.reset_index(drop=True),
        runs,
        csv,
    )
