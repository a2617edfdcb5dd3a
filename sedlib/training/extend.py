"""Raise a run's step budget without training again what it has trained.

``max_steps`` only stops a training (:meth:`~sedlib.training.loop.RunState.stop_reason`);
no number a training computes depends on it otherwise. So a run under a
budget B' > B is, step for step, the run under B until B, and a training
that stopped by plateau before B is the training under B' too. This module
turns the work of a run under B into the work of the same run under B',
re-keyed to B''s identity (:meth:`~sedlib.training.config.TrainConfig.identity`),
so that training it goes on where B left off:

- a training that stopped by plateau (``fold.json``) is kept as it is;
- a training that stopped at the budget B is reopened when its
  ``checkpoint.pt`` (single engine) is there, and trained again from the
  start when it is not (a batched member's state left its group's checkpoint
  when it stopped);
- an unfinished training keeps its ``best.pt`` and ``checkpoint.pt``, and a
  batched group whose members are all re-keyed keeps its checkpoint
  (:func:`rekey_groups`);
- the run's record (``metrics.json``) is not copied: the engine assembles
  the new run's record from its trainings, and ``run.json`` names the run it
  was extended from (``extended_from``, also in the record's provenance).

The old folders are left as they are (copies, not moves): they stay the
finished or resumable work of the run under B.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from sedlib.errors import StateError
from sedlib.training import checkpoint
from sedlib.training.batched import GROUP_CHECKPOINT, GROUP_MEMBERS, group_folder_name
from sedlib.training.convergence import PLATEAU
from sedlib.training.folder import CLAIM, FOLD_RECORD
from sedlib.training.record import RECORD
from sedlib.util.io import read_json, write_json

#: The only setting two runs may differ in for one to extend the other.
BUDGET = "max_steps"

#: The files of a finished training that a reopened one writes again.
FINISHED_FILES = (FOLD_RECORD, "validation.npz", "test.npz")


def extends(old: dict, new: dict) -> bool:
    """Whether resolved settings ``new`` are ``old`` with a larger step budget (and nothing else)."""
    if {k: v for k, v in old.items() if k != BUDGET} != {
        k: v for k, v in new.items() if k != BUDGET
    }:
        return False
    return bool(old.get(BUDGET)) and bool(new.get(BUDGET)) and new[BUDGET] > old[BUDGET]


def _rekey_checkpoint(path: Path, old: str, new: str) -> None:
    saved = checkpoint.load(path, torch.device("cpu"))
    if saved.get("identity") != old:
        raise StateError(f"{path} belongs to run {saved.get('identity')!r}, not {old!r}")
    checkpoint.save(path, {**saved, "identity": new})


def rekey_run(source: Path, target: Path, identity: str, resolved: dict) -> dict[str, str]:
    """Copy the run folder ``source`` (budget B) to ``target`` as the run ``identity`` (budget B').

    Parameters
    ----------
    source : Path
        A run folder (finished, or a sweep's work folder) whose ``run.json``
        settings ``resolved`` extends (:func:`extends`).
    target : Path
        The new run's folder; must not exist. Written through a staging
        folder beside it and renamed, so it is complete or absent.
    identity : str
        The new run's identity.
    resolved : dict
        The new run's resolved settings.

    Returns
    -------
    dict
        Per training folder: ``"kept"`` (stopped by plateau), ``"reopened"``
        (stopped at the budget, resumes from its checkpoint), ``"resumes"``
        (unfinished) or ``"restarts"`` (stopped at the budget, no checkpoint).

    Raises
    ------
    StateError
        When ``source`` holds no run whose settings ``resolved`` extends, or
        ``target`` exists.
    """
    claim = read_json(source / CLAIM, "run claim")
    if not extends(claim["resolved"], resolved):
        raise StateError(
            f"{source} holds run {claim['identity']}, whose settings the run {identity} does "
            f"not extend (only a larger {BUDGET} may differ)"
        )
    if target.exists():
        raise StateError(f"{target} exists; the run {identity} is not extended into it")
    old = claim["identity"]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.extend-", dir=target.parent))
    try:
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(RECORD), dirs_exist_ok=True)
        write_json(
            staging / CLAIM,
            {
                **claim,
                "identity": identity,
                "resolved": resolved,
                "extended_from": {"identity": old, BUDGET: claim["resolved"][BUDGET]},
            },
        )
        folds = {f.name: _rekey_training(f, old, identity) for f in sorted(staging.iterdir())
                 if f.is_dir()}  # fmt: skip
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folds


def _rekey_training(folder: Path, old: str, new: str) -> str:
    """Re-key one training's folder; what becomes of it (see :func:`rekey_run`)."""
    has_checkpoint = (folder / checkpoint.CHECKPOINT).is_file()
    if (folder / FOLD_RECORD).is_file():
        if read_json(folder / FOLD_RECORD, "fold record").get("stop_reason") == PLATEAU:
            _rekey_checkpoint(folder / checkpoint.BEST, old, new)
            return "kept"
        if not has_checkpoint:
            shutil.rmtree(folder)
            return "restarts"
        for name in FINISHED_FILES:
            (folder / name).unlink(missing_ok=True)
        outcome = "reopened"
    else:
        outcome = "resumes"
    for name in (checkpoint.BEST, checkpoint.CHECKPOINT):
        if (folder / name).is_file():
            _rekey_checkpoint(folder / name, old, new)
    return outcome


def rekey_groups(groups_dir: Path, identities: dict[str, str]) -> list[Path]:
    """Copy each batched group whose members are all in ``identities`` (old -> new) as the new group.

    A member's key is ``<identity>/<training>``; the copy's checkpoint and
    ``members.json`` name the new keys in the same order, in the folder the
    batched engine gives the new members (a hash of their keys). A group
    with a member not in ``identities`` is left out: its re-keyed members
    train again in a new group. Returns the new groups' folders.
    """
    made = []
    for path in sorted(groups_dir.glob(f"*/{GROUP_MEMBERS}")):
        found = read_json(path, "group members")
        keys = found["members"]
        if not (path.parent / GROUP_CHECKPOINT).is_file() or not all(
            k.split("/", 1)[0] in identities for k in keys
        ):
            continue

        def renamed(key: str) -> str:
            identity, training = key.split("/", 1)
            return f"{identities[identity]}/{training}"

        target = groups_dir / group_folder_name([renamed(k) for k in keys])
        if target.exists():
            continue
        saved = checkpoint.load(path.parent / GROUP_CHECKPOINT, torch.device("cpu"))
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.extend-", dir=groups_dir))
        try:
            checkpoint.save(
                staging / GROUP_CHECKPOINT,
                {**saved, "members": [renamed(k) for k in saved["members"]]},
            )
            write_json(
                staging / GROUP_MEMBERS,
                {k: [renamed(key) for key in v] for k, v in found.items()},
            )
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        made.append(target)
    return made
