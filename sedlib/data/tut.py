"""The paper's data for users: TUT event metadata and the Zenodo audio it needs.

``fetch_tut(root)`` downloads the event metadata of Imoto's group (pinned
commit, verified by sha256), works out which TUT data sets hold the listed
audio files, downloads their Zenodo archives (verified by size and MD5,
resumable), and extracts only the files the metadata lists. It prints the
download size and disk space needed before it starts.

The facts (``resources/tut_manifest.json``: the metadata files' sizes and
sha256; each archive's record, file name, bytes and MD5) are those of the
dataset definitions in ``dcase_util`` 0.2.20 (``dcase_util/datasets/tut.py``); for
TUT Sound Events 2017 development that file stores the MD5s under the key
``remote_md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sedlib.data.download import ChecksumError, download, free_bytes, verify
from sedlib.data.layout import Dataset, available_split_names, split_file
from sedlib.data.meta import read_meta
from sedlib.errors import DataError, MissingFileError, NoSpaceError
from sedlib.settings import tut_meta_dir

log = logging.getLogger(__name__)

ZENODO_BASE_URL = "https://zenodo.org/record/"


@dataclass(frozen=True)
class Archive:
    """One Zenodo audio archive of a TUT data set."""

    record: str
    filename: str
    bytes: int
    md5: str

    def url(self, base: str = ZENODO_BASE_URL) -> str:
        return f"{base}{self.record}/files/{self.filename}"


def _manifest() -> dict:
    """``resources/tut_manifest.json``: the pinned metadata files and the audio archives."""
    from importlib import resources

    text = resources.files("sedlib").joinpath("resources/tut_manifest.json").read_text("utf-8")
    return json.loads(text)


_MANIFEST = _manifest()
META_REPOSITORY: str = _MANIFEST["meta_repository"]
META_COMMIT: str = _MANIFEST["meta_commit"]
META_BASE_URL = f"https://raw.githubusercontent.com/{META_REPOSITORY}/{META_COMMIT}/"
#: Metadata files: relative path -> (bytes, sha256).
META_FILES: dict[str, tuple[int, str]] = {
    path: (fact["bytes"], fact["sha256"]) for path, fact in _MANIFEST["meta_files"].items()
}
#: Audio archives of each TUT data set, by the top folder the metadata paths start with.
ARCHIVES: dict[str, tuple[Archive, ...]] = {
    name: tuple(Archive(**fact) for fact in archives)
    for name, archives in _MANIFEST["archives"].items()
}

#: Bytes per second of the TUT audio (44.1 kHz, 24 bit, 2 channels), to estimate extracted size.
TUT_BYTES_PER_SECOND = 44100 * 3 * 2


def verify_metadata(
    meta_dir: str | Path, meta_files: Mapping[str, tuple[int, str]] = META_FILES
) -> None:
    """Check an existing metadata copy file by file (size and sha256)."""
    meta_dir = Path(meta_dir)
    for relative, (size, sha256) in meta_files.items():
        path = meta_dir / relative
        if not path.is_file():
            raise MissingFileError(f"TUT metadata file missing: {path}")
        try:
            verify(path, sha256=sha256, size=size)
        except ChecksumError as err:
            raise ChecksumError(
                f"{path}: {err} (not the pinned metadata of {META_REPOSITORY}@{META_COMMIT[:7]})"
            ) from None


def needed_files(meta_dir: str | Path) -> list[str]:
    """Every audio path listed in any split of the metadata, sorted."""
    files: set[str] = set()
    for split in available_split_names():
        path = Path(meta_dir) / split_file(split)
        if path.is_file():
            files.update(read_meta(path)["filename"])
    return sorted(files)


def plan(
    files: list[str], archives: Mapping[str, tuple[Archive, ...]] = ARCHIVES
) -> dict[str, list[str]]:
    """Files to extract, grouped by the TUT data set (top folder) that holds them."""
    groups: dict[str, list[str]] = {}
    for f in files:
        top = f.split("/", 1)[0]
        if top not in archives:
            raise DataError(
                f"no known TUT archive holds {f!r} (data set {top!r}); known: {sorted(archives)}"
            )
        groups.setdefault(top, []).append(f)
    return groups


def ensure_metadata(
    root: Path,
    meta_dir: str | Path | None,
    *,
    meta_base: str = META_BASE_URL,
    meta_files: Mapping[str, tuple[int, str]] = META_FILES,
    progress: bool = True,
) -> Path:
    """The verified metadata folder: an existing copy, or downloaded (a few hundred kilobytes).

    Default: the ``SEDLIB_TUT_META`` setting if it holds the metadata, else
    ``<root>/../tut-meta``. Every file is checked against its pinned size and
    sha256; a mismatch raises :class:`~sedlib.data.download.ChecksumError` naming it.
    """
    meta_dir = metadata_dir(root, meta_dir)
    if _has_metadata(meta_dir):
        verify_metadata(meta_dir, meta_files)
        log.info("metadata: %s (verified)", meta_dir)
    else:
        log.info("metadata: downloading %s@%s into %s", META_REPOSITORY, META_COMMIT[:7], meta_dir)
        for name, (size, digest) in meta_files.items():
            download(meta_base + name, meta_dir / name, sha256=digest, size=size, progress=progress)
    return meta_dir


def metadata_dir(root: Path, meta_dir: str | Path | None) -> Path:
    """Where the metadata is, or goes: ``meta_dir``, else ``SEDLIB_TUT_META`` if it holds it, else ``<root>/../tut-meta``."""

    if meta_dir is None:
        candidate = tut_meta_dir()
        meta_dir = candidate if _has_metadata(candidate) else Path(root).parent / "tut-meta"
    return Path(meta_dir)


def _has_metadata(meta_dir: Path) -> bool:
    return (meta_dir / "meta" / "meta_development.txt").is_file()


def plan_without_metadata(
    meta_dir: Path,
    archives: Mapping[str, tuple[Archive, ...]] = ARCHIVES,
    meta_files: Mapping[str, tuple[int, str]] = META_FILES,
) -> str:
    """What a download would fetch, said without the metadata (a dry run downloads nothing).

    The metadata says which audio files are needed, hence which archives and
    how much audio is kept; without it, the plan is the upper bound: every
    archive of every TUT data set.
    """
    n_archives = sum(len(a) for a in archives.values())
    archive_bytes = sum(a.bytes for group in archives.values() for a in group)
    meta_bytes = sum(size for size, _ in meta_files.values())
    return (
        f"dry run, nothing downloaded: the metadata ({len(meta_files)} files, "
        f"{meta_bytes / 1e3:.0f} kB from {META_REPOSITORY}@{META_COMMIT[:7]}) is not in {meta_dir} "
        f"yet and would be fetched first; at most {n_archives} archive(s) of {len(archives)} TUT "
        f"data set(s) follow, {archive_bytes / 1e9:.1f} GB to download (with the metadata here, "
        "a dry run gives the exact plan and the audio kept)"
    )


@dataclass
class DownloadPlan:
    """What :func:`fetch_tut` still has to fetch, and the disk space it needs."""

    todo: dict[str, list[str]]
    n_files: int
    download_bytes: int
    extracted_bytes: int
    need_bytes: int

    def describe(self, archives: Mapping[str, tuple[Archive, ...]], root: Path, keep: bool) -> str:
        n_todo = sum(map(len, self.todo.values()))
        n_archives = sum(len(archives[t]) for t in self.todo)
        return (
            f"{n_todo} of {self.n_files} audio files to fetch from {len(self.todo)} TUT data set(s): "
            f"{n_archives} archive(s), {self.download_bytes / 1e9:.1f} GB to download, about "
            f"{self.extracted_bytes / 1e9:.1f} GB of extracted audio; disk needed "
            f"{self.need_bytes / 1e9:.1f} GB ({'keeping' if keep else 'deleting'} archives after "
            f"extraction), free {free_bytes(root) / 1e9:.1f} GB"
        )


def plan_download(
    root: Path, meta_dir: Path, archives: Mapping[str, tuple[Archive, ...]], keep_archives: bool
) -> DownloadPlan:
    """The audio files still missing under ``root``, grouped by data set, and the space they need."""
    groups = plan(needed_files(meta_dir), archives)
    todo = {top: [f for f in fs if not (root / f).is_file()] for top, fs in groups.items()}
    todo = {top: fs for top, fs in todo.items() if fs}
    n_files = sum(len(fs) for fs in groups.values())
    if not todo:
        return DownloadPlan({}, n_files, 0, 0, 0)
    download_bytes = sum(
        a.bytes
        for top in todo
        for a in archives[top]
        if not (root / "archives" / a.filename).is_file()
    )
    largest = max(a.bytes for top in todo for a in archives[top])
    extracted = _estimate_extracted(meta_dir, todo)
    need = (download_bytes if keep_archives else largest) + extracted
    return DownloadPlan(todo, n_files, download_bytes, extracted, need)


def fetch_tut(
    root: str | Path,
    meta_dir: str | Path | None = None,
    *,
    archives: Mapping[str, tuple[Archive, ...]] = ARCHIVES,
    zenodo_base: str = ZENODO_BASE_URL,
    meta_base: str = META_BASE_URL,
    meta_files: Mapping[str, tuple[int, str]] = META_FILES,
    keep_archives: bool = False,
    dry_run: bool = False,
    meta_only: bool = False,
    progress: bool = True,
) -> Dataset:
    """Download the paper's data set and return it.

    Parameters
    ----------
    root : path-like
        Where the audio goes (``root/<metadata path>``); archives are kept in
        ``root/archives`` while in use.
    meta_dir : path-like, optional
        An existing copy of the metadata (verified, not downloaded); see
        :func:`ensure_metadata` for the default.
    archives, zenodo_base, meta_base, meta_files
        What is fetched from where, with sizes and checksums (tests serve their own).
    keep_archives : bool
        Keep the downloaded zip files after extraction.
    dry_run : bool
        Log the plan (downloads, disk space) and stop, downloading nothing: without
        the metadata, the plan is its upper bound (:func:`plan_without_metadata`).
    meta_only : bool
        Fetch only the metadata (kilobytes: enough for the statistics and the
        ``synthetic-tut-timeline`` data set).
    progress : bool
        Show progress bars.

    Returns
    -------
    Dataset
        The TUT data set (name ``"tut"``).
    """
    root = Path(root)
    if dry_run and not _has_metadata(metadata_dir(root, meta_dir)):  # no download in a dry run
        log.info("%s", plan_without_metadata(metadata_dir(root, meta_dir), archives, meta_files))
        return Dataset("tut", metadata_dir(root, meta_dir), root)
    meta_dir = ensure_metadata(
        root, meta_dir, meta_base=meta_base, meta_files=meta_files, progress=progress
    )
    dataset = Dataset("tut", meta_dir, root)
    if meta_only:
        return dataset
    todo = plan_download(root, meta_dir, archives, keep_archives)
    if not todo.todo:
        log.info("all %d audio files are present in %s", todo.n_files, root)
        return dataset
    log.info("%s", todo.describe(archives, root, keep_archives))
    if dry_run:
        return dataset
    if free_bytes(root) < todo.need_bytes:
        raise NoSpaceError(
            f"not enough disk space in {root}: need {todo.need_bytes / 1e9:.1f} GB, "
            f"free {free_bytes(root) / 1e9:.1f} GB"
        )
    for top, files in todo.todo.items():
        _fetch_data_set(top, files, archives[top], root, zenodo_base, keep_archives, progress)
    if not keep_archives:
        with contextlib.suppress(OSError):  # the folder stays when it is not empty
            (root / "archives").rmdir()
    log.info("done: %d audio files in %s", todo.n_files, root)
    return dataset


def _fetch_data_set(top, files, archives, root, zenodo_base, keep_archives, progress) -> None:
    """Download the archives of one TUT data set until every wanted file is extracted."""
    wanted = set(files)
    for archive in archives:
        if not wanted:
            break
        path = download(
            archive.url(zenodo_base),
            root / "archives" / archive.filename,
            md5=archive.md5,
            size=archive.bytes,
            progress=progress,
        )
        wanted -= _extract(path, wanted, root)
        if not keep_archives:
            path.unlink()
    if wanted:
        missing = sorted(wanted)
        raise MissingFileError(
            f"{len(missing)} file(s) listed in the metadata are in no archive of {top}, e.g. {missing[:5]}"
        )


def _estimate_extracted(meta_dir: Path, todo: dict[str, list[str]]) -> int:
    """Bytes of the audio still to extract, from the last event time of each file (at least 10 s)."""
    import pandas as pd

    metas = [read_meta(Path(meta_dir) / split_file(s)) for s in ("development", "evaluation")]
    last = pd.concat(metas).groupby("filename")["offset"].max()
    seconds = sum(max(float(last.get(f, 0.0)), 10.0) for fs in todo.values() for f in fs)
    return int(seconds * TUT_BYTES_PER_SECOND)


def _extract(archive: Path, wanted: set[str], root: Path) -> set[str]:
    """Extract the members of ``archive`` named in ``wanted`` (atomically); return those found."""
    found = set()
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = info.filename.lstrip("./")
                if name not in wanted:
                    continue
                dest = root / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f".{dest.name}.part")
                with zf.open(info) as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)  # zipfile checks the CRC at the end
                tmp.replace(dest)
                found.add(name)
    except zipfile.BadZipFile as err:
        raise ChecksumError(
            f"{archive} is not a valid zip archive ({err}); delete it and run again"
        ) from None
    return found
