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
file's size and SHA-256 and of each group's progress. It holds every lock of
the grid while it reads, so it refuses while a process trains there: the
trainings are stopped first (Ctrl-C or SIGTERM; a group checkpoints
atomically after every epoch and resumes from the last one). A member whose
kept model is an epoch ahead of its group's checkpoint (a process killed
between the two writes) is refused by name: resuming for an epoch mends it.
:func:`unpack` checks every entry (a plain path below ``.work/``, in the
manifest, once, of its checksum) before it writes any, then writes the files
that are missing, the groups' checkpoints last; a file that exists with other
content (trainings that went on here) stops it before anything is written,
a run that has finished here is left as it is, and an archive packed under
other training code is named in a warning. A sweep of the same grid, split
into the same shards, then resumes every training where it stood when packed
(a group whose members a sweep does not all plan starts again, with a warning).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import torch

from sedlib import provenance
from sedlib.errors import SedlibError
from sedlib.training import checkpoint
from sedlib.training.batched import GROUP_CHECKPOINT, GROUP_MEMBERS
from sedlib.training.folder import CLAIM
from sedlib.util.io import atomic_write_bytes, read_json
from sedlib.util.lock import FileLock, LockedError

log = logging.getLogger(__name__)

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


@contextmanager
def _holding_locks(grid_folder: Path) -> Iterator[None]:
    """Hold every lock of the grid for the whole block: no sweep trains or promotes meanwhile."""
    locks = sorted(grid_folder.glob(".locks/*.lock")) + sorted(
        grid_folder.glob(".work/.locks/*.lock")
    )
    with ExitStack() as held:
        for lock in locks:
            try:
                held.enter_context(FileLock(lock, f"the lock {lock.name}"))
            except LockedError as err:
                raise CarryError(
                    f"a training of this grid is running ({err}); stop it (Ctrl-C or SIGTERM: "
                    "it resumes from its last finished epoch) and try again"
                ) from None
        yield


def _check_kept_models(work: Path, groups: dict[str, dict], contents: dict[str, bytes]) -> None:
    """Refuse a member whose kept model (``best.pt``) is of another epoch than its group's state.

    A group writes its members' ``best.pt`` and then its checkpoint: a process killed in
    between leaves a kept model one epoch ahead of the state it would resume from.
    """
    by_identity = {}
    for rel in contents:
        parts = PurePosixPath(rel).parts
        if len(parts) == 3 and parts[2] == checkpoint.BEST:
            by_identity[(_identity(work / parts[0]), parts[1])] = rel
    for name in groups:
        saved = checkpoint.load(work / ".batched" / name / GROUP_CHECKPOINT, torch.device("cpu"))
        for i in saved["active"]:
            identity, fold = saved["members"][i].split("/")
            rel = by_identity.get((identity, fold))
            best = saved["states"][i]["best_epoch"]
            if rel is None:
                continue
            kept = torch.load(io.BytesIO(contents[rel]), map_location="cpu", weights_only=False)
            if kept["epoch"] != best:
                raise CarryError(
                    f"{work / rel} holds the model of epoch {kept['epoch']}, its group's state "
                    f"the best epoch {best} (the training was stopped between the two writes); "
                    "resume the sweep for one epoch, stop it and pack again"
                )


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
        While a process trains in the grid, or when ``archive`` exists and holds trainings
        that are neither in progress nor finished here (never unpacked: the only copy).
    NothingInProgress
        When no run of the grid is training (a run that has only its claim, ``run.json``,
        has not started; a group whose runs have all finished is not carried).
    """
    grid_folder = Path(grid_folder)
    work = grid_folder / ".work"
    if not work.is_dir():
        raise NothingInProgress(f"{work}: no trainings in progress (no such folder)")
    with _holding_locks(grid_folder):
        files, groups = _in_progress(grid_folder, _work_files(work))
        if not groups and all(rel.name == CLAIM for rel in files):
            raise NothingInProgress(f"{work}: no trainings in progress (nothing was packed)")
        contents = {rel.as_posix(): (work / rel).read_bytes() for rel in files}  # read once
        _check_kept_models(work, groups, contents)
    runs = sorted({PurePosixPath(rel).parts[0] for rel in contents if not rel.startswith(".")})
    _check_replaces(archive, grid_folder, set(runs))
    manifest = {
        "format": FORMAT,
        "grid": grid_folder.name,
        "packed_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": provenance.git_commit(),
        "training_code": provenance.training_code(),
        "host": os.uname().nodename,
        "groups": groups,
        "runs": runs,
        "files": {rel: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for rel, data in contents.items()},
    }  # fmt: skip
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:  # floats barely shrink
        _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        for rel, data in contents.items():
            _add(tar, f".work/{rel}", data)
    written = buffer.getvalue()
    atomic_write_bytes(archive, written)
    if Path(archive).read_bytes() != written:
        raise CarryError(f"{archive}: the archive read back differs from the one written")
    size = sum(len(data) for data in contents.values())
    return Carried(grid_folder.name, len(contents), size, groups, runs)


def _runs_with_state(manifest: dict) -> set[str]:
    """The runs of a manifest that had trained (more than their claim)."""
    return {
        PurePosixPath(rel).parts[0]
        for rel in manifest["files"]
        if not rel.startswith(".") and PurePosixPath(rel).name != CLAIM
    }


def _check_replaces(archive: str | os.PathLike, grid_folder: Path, runs_now: set[str]) -> None:
    """Refuse to replace or remove an archive holding trainings that are neither here nor finished.

    E.g. a machine that never unpacked the archive: its state would be the only copy.
    """
    archive = Path(archive)
    if not archive.is_file():
        return
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            manifest = _read_manifest(tar, archive)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CarryError(f"{archive}: cannot be read as a .tar.gz ({err}); move it away") from None
    if manifest["grid"] != grid_folder.name:
        raise CarryError(f"{archive} holds grid {manifest['grid']}, not {grid_folder.name}")
    dropped = sorted(
        r for r in _runs_with_state(manifest) - runs_now if not _finished_here(grid_folder, r)
    )
    if dropped:
        raise CarryError(
            f"{archive} holds trainings that are neither in progress nor finished here "
            f"({', '.join(dropped[:3])}{', ...' if len(dropped) > 3 else ''}): unpack it first "
            "(`sedlib carry unpack`) and resume them, or move it away; it was left as it is"
        )


def retire(archive: str | os.PathLike, grid_folder: str | os.PathLike) -> bool:
    """Remove ``archive`` once every training it holds has finished here; whether it was removed.

    Raises
    ------
    CarryError
        When a training it holds is neither finished nor in progress here (see :func:`pack`).
    """
    archive = Path(archive)
    if not archive.is_file():
        return False
    _check_replaces(archive, Path(grid_folder), set())
    archive.unlink()
    return True


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


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

    Every entry is checked (a plain path below ``.work/``, named once by the
    manifest, of its SHA-256) before any file is written. Files already there
    with the same content are kept; a file there with other content stops the
    unpacking (nothing is written); the state of a run that has finished here
    is not restored; the grid's locks are held throughout.

    Returns
    -------
    Carried
        What the archive holds.

    Raises
    ------
    CarryError
        A damaged archive (naming the file that fails its checksum), an entry
        outside ``.work/``, state here that the archive would overwrite, or a
        training of the grid running here.
    """
    archive = Path(archive)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            manifest = _read_manifest(tar, archive)
            contents = _checked_contents(tar, manifest, archive)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CarryError(f"{archive}: cannot be read as a .tar.gz ({err})") from None
    grid = manifest["grid"]
    if (
        not isinstance(grid, str)
        or not grid
        or PurePosixPath(grid).name != grid
        or grid in ("..", ".")
    ):
        raise CarryError(f"{archive}: its grid {grid!r} is not a folder name; not unpacked")
    here = provenance.training_code().get("fingerprint")
    if manifest["training_code"].get("fingerprint") != here:
        log.warning(
            "%s was packed under training code %s, this is %s: check that they train alike "
            "(tools/code_equivalence.py) before the resumed runs join the others",
            archive, manifest["training_code"].get("fingerprint"), here,
        )  # fmt: skip
    grid_folder = Path(runs_root) / grid
    with _holding_locks(grid_folder):
        _place(contents, grid_folder, archive)
    total = sum(len(data) for data in contents.values())
    return Carried(grid, len(contents), total, manifest["groups"], manifest["runs"])


def _safe_relative(name: str) -> str | None:
    """``name`` without its ``.work/`` prefix, if it is a plain relative path below it; else None."""
    if not name.startswith(".work/"):
        return None
    rel = name.removeprefix(".work/")
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return rel


def _checked_contents(tar: tarfile.TarFile, manifest: dict, archive: Path) -> dict[str, bytes]:
    """Every file of the archive, each checked against the manifest (names, sizes, SHA-256)."""
    expected = manifest["files"]
    contents: dict[str, bytes] = {}
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        rel = _safe_relative(member.name)
        if not member.isfile() or rel is None or rel not in expected or rel in contents:
            raise CarryError(f"{archive}: unexpected entry {member.name!r}; not unpacked")
        data = tar.extractfile(member).read()
        if hashlib.sha256(data).hexdigest() != expected[rel]["sha256"]:
            raise CarryError(f"{archive}: {member.name} fails its checksum; not unpacked")
        contents[rel] = data
    missing = sorted(set(expected) - set(contents))
    if missing:
        raise CarryError(
            f"{archive}: {len(missing)} file(s) of its manifest missing ({missing[0]})"
        )
    return contents


def _place(contents: dict[str, bytes], grid_folder: Path, archive: Path) -> None:
    """Write the files into ``grid_folder/.work``: all, or none when one would overwrite.

    The run folders first, the groups' checkpoints last: an unpacking cut short leaves no
    group whose members lack their kept models, and unpacking again completes it.
    """
    work = grid_folder / ".work"
    todo = []
    for rel, data in sorted(contents.items(), key=lambda item: (item[0].startswith("."), item[0])):
        if _finished_here(grid_folder, PurePosixPath(rel).parts[0]):
            continue
        target = work / rel
        if target.exists():
            if target.read_bytes() != data:
                raise CarryError(
                    f"{target} exists with other content than in {archive} (trainings went on "
                    "here?); nothing was unpacked: move the grid's .work folder away to use the "
                    "archive instead"
                )
            continue
        todo.append((rel, data))
    for rel, data in todo:  # each file atomically
        atomic_write_bytes(work / rel, data)
