"""A sweep's runs under a larger budget or patience, continued from the same runs under smaller ones.

``sedlib sweep ... --set max_steps=B' --extend-budget`` (or ``--set
patience_steps=P'``) gives each planned run that has neither a record nor a
work folder the work of the same run (every setting and the data equal, a
smaller ``max_steps`` B or ``patience_steps`` P) in the grid's folder,
re-keyed by :mod:`sedlib.training.extend`: its trainings that stopped by
plateau are kept (when only the budget grew), the unfinished ones resume
(with their batched group), and those that stopped go on from their
training state (a batched member as a group of one) or train again. The
identities prove the match: the old run's identity recomputed from its
stored settings and data, and the new run's from the same data, must both
be what the folders say.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from sedlib.training.config import TrainConfig, device_kind
from sedlib.training.extend import EXTENDED, extends, rekey_groups, rekey_run
from sedlib.training.folder import CLAIM, training_lock
from sedlib.training.record import RECORD
from sedlib.util.io import read_json
from sedlib.util.lock import FileLock, LockedError

log = logging.getLogger(__name__)


class PlannedRun(Protocol):
    """What this module needs of a sweep's run (:class:`sedlib.study.sweep.PlannedRun`)."""

    spec: Any  # its name: spec.name
    config: TrainConfig
    identity: str
    folder: Path

    @property
    def key(self) -> str: ...

    @property
    def work(self) -> Path: ...


def _candidates(run: PlannedRun) -> list[tuple[tuple, Path, dict]]:
    """(settings, folder, claim) of each run folder in the grid that ``run`` extends, the
    largest budget (then patience) first; settings: the old values of :data:`EXTENDED`."""
    pattern = re.compile(rf"{re.escape(run.spec.name)}-[0-9a-f]{{12}}")
    grid = run.folder.parent
    kind = device_kind(run.config.device)
    planned = run.config.resolved(kind)
    found = []
    for folder in [*grid.iterdir(), *(grid / ".work").glob("*")]:
        if not pattern.fullmatch(folder.name) or not (folder / CLAIM).is_file():
            continue
        claim = read_json(folder / CLAIM, "run claim")
        resolved = claim["resolved"]
        if not extends(resolved, planned):
            continue
        old = replace(run.config, **{k: resolved[k] for k in EXTENDED})
        if old.identity(kind, claim["data"]) != claim["identity"]:
            continue  # another data set, or a folder that is not what its claim says
        if run.config.identity(kind, claim["data"]) != run.identity:
            continue
        settings = tuple(resolved[k] for k in EXTENDED)
        found.append((settings, folder, claim))

    def order(c):  # a patience of 0 (never stop early) is the longest
        budget, patience = c[0]
        return (-budget, -(patience or float("inf")), not (c[1] / RECORD).is_file())

    return sorted(found, key=order)


def extend_runs(runs: list[PlannedRun]) -> list[str]:
    """Give each run without a record or a work folder the re-keyed work of the run it extends.

    Each run is handled under its sweep lock and the old run's sweep and
    training locks (a run another process holds is left as it is). Then the
    batched groups whose members were all extended are re-keyed too.
    Returns one line per extended run, saying what became of its trainings.
    """
    extended: dict[str, str] = {}  # old identity -> new
    lines = []
    for run in runs:
        if (run.folder / RECORD).is_file() or run.work.exists():
            continue
        candidates = _candidates(run)
        if not candidates:
            continue
        settings, source, claim = candidates[0]
        locks = run.folder.parent / ".locks"
        try:
            with (
                FileLock(locks / f"{run.key}.lock", f"run {run.key}"),
                FileLock(locks / f"{source.name}.lock", f"run {source.name}"),
                FileLock(training_lock(source), f"the run folder {source}"),
            ):
                if run.work.exists():
                    continue
                resolved = run.config.resolved(device_kind(run.config.device))
                groups = run.folder.parent / ".work" / ".batched"
                folds = rekey_run(source, run.work, run.identity, resolved, groups)
        except LockedError as err:
            log.warning("run %s: not extended, %s", run.spec.name, err)
            continue
        what = ", ".join(f"{name} {outcome}" for name, outcome in folds.items())
        old = ", ".join(f"{k} {v}" for k, v in zip(EXTENDED, settings, strict=True))
        lines.append(f"{run.spec.name}: extended from {source.name} ({old}): {what}")
    for run in runs:  # also the runs an interrupted call extended before their groups
        claim = run.work / CLAIM
        if claim.is_file() and "extended_from" in (found := read_json(claim, "run claim")):
            extended[found["extended_from"]["identity"]] = run.identity
    if extended:
        grid = runs[0].folder.parent
        groups = rekey_groups(grid / ".work" / ".batched", extended)
        lines.append(f"{len(groups)} batched group(s) re-keyed")
    for line in lines:
        log.info("%s", line)
    return lines
