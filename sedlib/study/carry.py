"""Carry a grid's trainings in progress to another machine, so that they resume there.

A run that is still training lives in ``<runs>/<grid>/.work/``: its folder
(its claim ``run.json``, per fold its kept model ``best.pt``, its history
and, on the single engine, ``checkpoint.pt``) and, on the batched engine,
its group's checkpoint ``.work/.batched/<group>/group.pt``. Finished runs
need no carrying: a result set keeps their whole records and a fresh
checkout restores them (:func:`sedlib.study.sweep.restore_stored`). What is
left is the state of the trainings in progress, which a machine that does
not keep its disk (a lent GPU, a cluster node's scratch, a session that
starts from a clean checkout) loses, hours of training with it.

:func:`pack` writes that state into one archive, with a manifest of every
file's size and SHA-256 and of each group's progress; it refuses while a
process trains in the grid (its state could change while it is read), so
the trainings are stopped first (Ctrl-C, SIGTERM or even SIGKILL: a group
checkpoints atomically after every epoch and resumes from the last one). :func:`unpack` checks every file against the manifest, then
writes the files that are missing; a file that exists with other content
(trainings that went on here) stops it before anything is written, and a
run that has finished here is left as it is. A sweep of the same grid then
resumes every training where it stood when packed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from sedlib import provenance
from sedlib.errors import SedlibError
from sedlib.training import checkpoint
from sedlib.training.batched import GROUP_CHECKPOINT, GROUP_MEMBERS
from sedlib.training.folder import CLAIM
from sedlib.util.io import atomic_write_bytes, read_json
from sedlib.util.lock import FileLock, LockedError

#: The manifest inside an archive, beside the ``.work/`` tree.
MANIFEST = "carried.json"
#: Version of the archive's layout.
FORMAT = 1
#: What in ``.work/`` is never carried: locks (they belong to this machine's processes),
#: folders set aside after a crash (``.stale-<n>``), staging folders and temporary files.
SKIPPED_PARTS = (".locks",)
SKIPPED_MARKS = (".stale-", ".restore", ".tmp", ".lock")


class CarryError(SedlibError, RuntimeError):
    """An archive cannot be packed or unpacked; the message names the file and what to do."""


class NothingInProgress(CarryError):
    """The grid has no training in progress: every run has finished, or none has started."""


@dataclass(frozen=True)
class Carried:
    """What an archive holds (or was written with): its grid, files and groups."""

    grid: str
    files: int
    bytes: int
    groups: dict[str, dict]  # group folder -> {"members": [...], "steps": [...]}
    runs: list[str]


def _work_files(work: Path) -> list[Path]:
    """The files of ``work`` that may be carried, relative to it, in a fixed order."""
    found = []
    for path in sorted(work.rglob("*")):
        rel = path.relative_to(work)
        if not path.is_file() or path.is_symlink():
            continue
        if any(
            part in SKIPPED_PARTS or any(m in part for m in SKIPPED_MARKS) for part in rel.parts
        ):
            continue
        found.append(rel)
    return found


def _identity(run_folder: Path) -> str | None:
    """The identity a run folder's claim names (None without a claim)."""
    claim = run_folder / CLAIM
    return read_json(claim, "run claim").get("identity") if claim.is_file() else None


def _in_progress(grid_folder: Path, files: list[Path]) -> tuple[list[Path], dict[str, dict]]:
    """The files of the runs not finished and of the groups that train one of them; the groups.

    A group member is ``<identity>/<fold>``. A group whose members have all finished keeps
    its checkpoint in ``.batched`` but is not carried.
    """
    runs = {rel.parts[0] for rel in files if not rel.parts[0].startswith(".")}
    unfinished = {name for name in runs if not _finished_here(grid_folder, name)}
    identities = {_identity(grid_folder / ".work" / name) for name in unfinished}
    groups = {}
    for rel in files:
        if rel.parts[0] != ".batched" or rel.name != GROUP_MEMBERS or len(rel.parts) != 3:
            continue
        folder = grid_folder / ".work" / rel.parent
        found = read_json(folder / GROUP_MEMBERS, "group members file")
        active = [k for k in found.get("active", found["members"]) if k.split("/")[0] in identities]
        if active and (folder / GROUP_CHECKPOINT).is_file():
            saved = checkpoint.load(folder / GROUP_CHECKPOINT, torch.device("cpu"))
            steps = [saved["states"][i]["steps"] for i in saved["active"]]
            groups[rel.parts[1]] = {"members": active, "steps": steps}
    carried = [
        rel
        for rel in files
        if rel.parts[0] in unfinished or (rel.parts[0] == ".batched" and rel.parts[1] in groups)
    ]
    return carried, groups


def _check_idle(work: Path) -> None:
    """Refuse while a process holds a lock of the grid (it trains, or promotes a run)."""
    for lock in sorted(work.parent.glob(".locks/*.lock")) + sorted(work.glob(".locks/*.lock")):
        try:
            with FileLock(lock, f"the lock {lock.name}"):
                pass
        except LockedError as err:
            raise CarryError(
                f"a training of this grid is running ({err}); stop it (Ctrl-C or SIGTERM: it "
                "resumes from its last finished epoch) and pack again"
            ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(grid_folder: str | os.PathLike, archive: str | os.PathLike) -> Carried:
    """Write the trainings in progress of ``grid_folder`` (``<runs>/<grid>``) into ``archive``.

    Parameters
    ----------
    grid_folder : path-like
        The grid's runs folder, holding ``.work/``.
    archive : path-like
        The ``.tar.gz`` to write (atomically; an existing one is replaced).

    Returns
    -------
    Carried
        What was packed.

    Raises
    ------
    CarryError
        While a process trains in the grid.
    NothingInProgress
        When no run of the grid is training (a run that has only its claim, ``run.json``,
        has not started; a group whose runs have all finished is not carried).
    """
    grid_folder = Path(grid_folder)
    work = grid_folder / ".work"
    if not work.is_dir():
        raise NothingInProgress(f"{work}: no trainings in progress (no such folder)")
    _check_idle(work)
    files, groups = _in_progress(grid_folder, _work_files(work))
    if not groups and all(rel.name == CLAIM for rel in files):
        raise NothingInProgress(f"{work}: no trainings in progress (nothing was packed)")
    runs = sorted({rel.parts[0] for rel in files if not rel.parts[0].startswith(".")})
    manifest = {
        "format": FORMAT,
        "grid": grid_folder.name,
        "packed_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": provenance.git_commit(),
        "training_code": provenance.training_code(),
        "host": os.uname().nodename,
        "groups": groups,
        "runs": runs,
        "files": {str(rel): {"bytes": (work / rel).stat().st_size, "sha256": _sha256(work / rel)}
                  for rel in files},
    }  # fmt: skip
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        data = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
        for rel in files:
            tar.add(work / rel, arcname=f".work/{rel}", recursive=False)
    atomic_write_bytes(archive, buffer.getvalue())
    size = sum(entry["bytes"] for entry in manifest["files"].values())
    return Carried(grid_folder.name, len(files), size, groups, runs)


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except (KeyError, json.JSONDecodeError, AttributeError) as err:
        raise CarryError(f"{archive}: not an archive of `sedlib carry pack` ({err})") from None
    if manifest.get("format") != FORMAT:
        raise CarryError(
            f"{archive}: archive format {manifest.get('format')}, this sedlib reads {FORMAT}"
        )
    return manifest


def _finished_here(grid_folder: Path, run_folder: str) -> bool:
    return (grid_folder / run_folder / "metrics.json").is_file()


def unpack(archive: str | os.PathLike, runs_root: str | os.PathLike) -> Carried:
    """Restore the trainings in progress of ``archive`` under ``<runs_root>/<grid>/.work``.

    Every file is checked against the manifest's size and SHA-256 before any
    is written. Files already there with the same content are kept; a file
    there with other content stops the unpacking (nothing is written); the
    state of a run that has finished here is not restored.

    Returns
    -------
    Carried
        What the archive holds.

    Raises
    ------
    CarryError
        A damaged archive (naming the file that fails its checksum), a file
        outside ``.work/``, or state here that the archive would overwrite.
    """
    archive = Path(archive)
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (tarfile.TarError, OSError) as err:
        raise CarryError(f"{archive}: cannot be read as a .tar.gz ({err})") from None
    with tar, tempfile.TemporaryDirectory(prefix="sedlib-carry-") as staging:
        manifest = _read_manifest(tar, archive)
        grid_folder = Path(runs_root) / manifest["grid"]
        expected = manifest["files"]
        names = [m for m in tar.getmembers() if m.name != MANIFEST]
        for member in names:
            rel = member.name.removeprefix(".work/")
            if not member.isfile() or rel == member.name or rel not in expected or ".." in rel:
                raise CarryError(f"{archive}: unexpected entry {member.name!r}; not unpacked")
            target = Path(staging) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            if _sha256(target) != expected[rel]["sha256"]:
                raise CarryError(f"{archive}: {member.name} fails its checksum; not unpacked")
        if len(names) != len(expected):
            raise CarryError(
                f"{archive}: {len(expected) - len(names)} file(s) of its manifest missing"
            )
        _place(Path(staging), grid_folder, sorted(expected), archive)
    total = sum(entry["bytes"] for entry in expected.values())
    return Carried(manifest["grid"], len(expected), total, manifest["groups"], manifest["runs"])


def _place(staging: Path, grid_folder: Path, files: list[str], archive: Path) -> None:
    """Copy the staged files into ``grid_folder/.work``: all, or none when one would overwrite."""
    work = grid_folder / ".work"
    todo = []
    for rel in files:
        if _finished_here(grid_folder, Path(rel).parts[0]):
            continue
        target = work / rel
        if target.exists():
            if _sha256(target) != _sha256(staging / rel):
                raise CarryError(
                    f"{target} exists with other content than in {archive} (trainings went on "
                    "here?); nothing was unpacked: move the grid's .work folder away to use the "
                    "archive instead"
                )
            continue
        todo.append(rel)
    for rel in todo:  # each file atomically; folders first
        atomic_write_bytes(work / rel, (staging / rel).read_bytes())
