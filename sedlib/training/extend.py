"""Raise a run's step budget or patience without training again what it has trained.

``max_steps`` and ``patience_steps`` only stop a training
(:meth:`~sedlib.training.loop.RunState.stop_reason`); no number a training
computes depends on them otherwise. So a run under a budget B' > B, or a
patience P' > P, is step for step the run under B and P until they stopped
it. This module turns the work of a run under (B, P) into the work of the
same run under (B', P'), re-keyed to the new identity
(:meth:`~sedlib.training.config.TrainConfig.identity`), so that training it
goes on where the old one left off:

- a training that stopped by plateau (``fold.json``) is kept as it is when
  the patience did not grow; when it did, it is reopened like one that
  stopped at the budget;
- a training that stopped (at the budget B, or by a plateau P' would not
  call) is reopened from its training state: the single engine's
  ``checkpoint.pt``, or a batched member's ``member.pt``, which becomes a
  batched group of one in the grid's group folder (:func:`reopen_member`);
  it is trained again from the start when it has neither (a member that
  stopped before sedlib kept its state);
- an unfinished training keeps its ``best.pt`` and ``checkpoint.pt``, and a
  batched group whose members are all re-keyed keeps its checkpoint
  (:func:`rekey_groups`);
- the run's record (``metrics.json``) is not copied: the engine assembles
  the new run's record from its trainings, and ``run.json`` names the run it
  was extended from (``extended_from``, also in the record's provenance).

The old folders are left as they are (copies, not moves): they stay the
finished or resumable work of the run under (B, P).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from sedlib.errors import StateError
from sedlib.training import checkpoint
from sedlib.training.batched import (
    GROUP_CHECKPOINT,
    GROUP_MEMBERS,
    MEMBER_STATE,
    group_folder_name,
)
from sedlib.training.convergence import PLATEAU
from sedlib.training.folder import CLAIM, FOLD_RECORD
from sedlib.training.record import RECORD
from sedlib.util.io import read_json, write_json

#: The step budget: a run under a larger one extends a run under a smaller one.
BUDGET = "max_steps"
#: The settings two runs may differ in for one to extend the other: the budget and the patience.
EXTENDED = (BUDGET, "patience_steps")

#: The files of a finished training that a reopened one writes again.
FINISHED_FILES = (FOLD_RECORD, "validation.npz", "test.npz")


def _patience(value) -> float:
    """A patience, 0 (never stop early) as the longest."""
    return float(value) if value else float("inf")


def extends(old: dict, new: dict) -> bool:
    """Whether resolved settings ``new`` are ``old`` with a larger step budget or patience (or
    both, neither smaller) and nothing else changed.

    A patience of 0 (never stop early) is longer than any; a budget of 0
    (the epochs alone) extends nothing and is extended by nothing.
    """
    if {k: v for k, v in old.items() if k not in EXTENDED} != {
        k: v for k, v in new.items() if k not in EXTENDED
    }:
        return False
    if not (old.get(BUDGET) and new.get(BUDGET)) or new[BUDGET] < old[BUDGET]:
        return False
    before, after = _patience(old.get("patience_steps")), _patience(new.get("patience_steps"))
    return after >= before and (new[BUDGET] > old[BUDGET] or after > before)


def _rekey_checkpoint(path: Path, old: str, new: str) -> None:
    saved = checkpoint.load(path, torch.device("cpu"))
    if saved.get("identity") != old:
        raise StateError(f"{path} belongs to run {saved.get('identity')!r}, not {old!r}")
    checkpoint.save(path, {**saved, "identity": new})


def rekey_run(
    source: Path, target: Path, identity: str, resolved: dict, groups_dir: Path | None = None
) -> dict[str, str]:
    """Copy the run folder ``source`` (B, P) to ``target`` as the run ``identity`` (B', P').

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
    groups_dir : Path, optional
        The grid's batched group folder, where a batched member that stopped
        is reopened as a group of one (:func:`reopen_member`); without it
        such a training is trained again.

    Returns
    -------
    dict
        Per training folder: ``"kept"`` (stopped by plateau, the patience did
        not grow), ``"reopened"`` (stopped, goes on from its training state),
        ``"resumes"`` (unfinished) or ``"restarts"`` (stopped, no state kept).

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
            f"not extend (only a larger {' or '.join(EXTENDED)} may differ)"
        )
    if target.exists():
        raise StateError(f"{target} exists; the run {identity} is not extended into it")
    old = claim["identity"]
    grew = _patience(resolved.get("patience_steps")) > _patience(
        claim["resolved"].get("patience_steps")
    )
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
                "extended_from": {
                    "identity": old,
                    **{k: claim["resolved"].get(k) for k in EXTENDED},
                },
            },
        )
        folds, groups = {}, []
        try:
            for folder in sorted(f for f in staging.iterdir() if f.is_dir()):
                folds[folder.name] = _rekey_training(folder, old, identity, grew, groups_dir)
                if folds[folder.name] == "reopened" and (folder / MEMBER_STATE).is_file():
                    assert groups_dir is not None  # _rekey_training reopens a member only then
                    groups.append(reopen_member(folder, f"{identity}/{folder.name}", groups_dir))
            os.replace(staging, target)  # the groups first: a run folder never lacks its group
        except BaseException:
            for group in groups:  # no group outlives a run that was not extended
                shutil.rmtree(group, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folds


def _rekey_training(
    folder: Path, old: str, new: str, patience_grew: bool, groups_dir: Path | None
) -> str:
    """Re-key one training's folder; what becomes of it (see :func:`rekey_run`)."""
    if (folder / FOLD_RECORD).is_file():
        record = read_json(folder / FOLD_RECORD, "fold record")
        if record.get("stop_reason") == PLATEAU and not patience_grew:
            _rekey_checkpoint(folder / checkpoint.BEST, old, new)
            return "kept"
        state = _stopped_state(folder, record.get("steps_run"), groups_dir)
        for name in (checkpoint.CHECKPOINT, MEMBER_STATE):
            if name != state:  # a state the training left behind (another engine, an earlier call)
                (folder / name).unlink(missing_ok=True)
        if state is None:
            shutil.rmtree(folder)
            return "restarts"
        for name in FINISHED_FILES:
            (folder / name).unlink(missing_ok=True)
        outcome = "reopened"
    else:
        outcome = "resumes"
    for name in (checkpoint.BEST, checkpoint.CHECKPOINT, MEMBER_STATE):
        if (folder / name).is_file():
            _rekey_checkpoint(folder / name, old, new)
    return outcome


def _steps_of(path: Path) -> int | None:
    """Optimizer steps of the training state in ``path`` (a single run's or a member's)."""
    saved = checkpoint.load(path, torch.device("cpu"))
    state = saved["states"][0] if "states" in saved else saved.get("state", {})
    return state.get("steps")


def _stopped_state(folder: Path, steps: int | None, groups_dir: Path | None) -> str | None:
    """The file of the state a finished training stopped in: the single engine's checkpoint or
    a batched member's (only with a group folder to reopen it in), whichever holds the
    training's last step; None when neither does."""
    names = [checkpoint.CHECKPOINT] + ([MEMBER_STATE] if groups_dir is not None else [])
    for name in names:
        if (folder / name).is_file() and _steps_of(folder / name) == steps:
            return name
    return None


def reopen_member(training: Path, key: str, groups_dir: Path) -> Path:
    """The batched group of one that goes on training the stopped member in ``training``.

    Its checkpoint is the member's ``member.pt`` (the state it stopped in)
    under the key ``key`` (``<identity>/<training>``), in the folder the
    batched engine gives that group. A group already there (an interrupted
    call's) is kept only when it holds that same state, not yet trained on;
    otherwise it is made again. Returns the group's folder.
    """
    target = groups_dir / group_folder_name([key])
    saved = checkpoint.load(training / MEMBER_STATE, torch.device("cpu"))
    if target.exists():
        if (target / GROUP_CHECKPOINT).is_file() and _steps_of(target / GROUP_CHECKPOINT) == saved[
            "states"
        ][0].get("steps"):
            return target
        shutil.rmtree(target)
    kept = [key] if (training / checkpoint.BEST).is_file() else []
    groups_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.reopen-", dir=groups_dir))
    try:
        checkpoint.save(staging / GROUP_CHECKPOINT, {**saved, "members": [key]})
        write_json(staging / GROUP_MEMBERS, {"members": [key], "active": [key], "kept": kept})
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
