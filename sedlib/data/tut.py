"""The paper's data for users: TUT event metadata and the Zenodo audio it needs.

``fetch_tut(root)`` downloads the event metadata of Imoto's group (pinned
commit, verified by sha256), works out which TUT data sets hold the listed
audio files, downloads their Zenodo archives (verified by size and MD5,
resumable), and extracts only the files the metadata lists. It prints the
download size and disk space needed before it starts.

The archive facts (record, file name, bytes, MD5) are those of the dataset
definitions in ``dcase_util`` 0.2.20 (``dcase_util/datasets/tut.py``); for
TUT Sound Events 2017 development that file stores the MD5s under the key
``remote_md``.
"""

from __future__ import annotations

import logging
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sedlib.data.download import ChecksumError, download, free_bytes, verify
from sedlib.data.layout import Dataset, available_split_names, split_file
from sedlib.data.meta import read_meta

log = logging.getLogger(__name__)

META_REPOSITORY = "KeisukeImoto/metadata_SEDandASC01"
META_COMMIT = "6eb571bbbe6c88e9caaae04274aa6a615e4207ed"
META_BASE_URL = f"https://raw.githubusercontent.com/{META_REPOSITORY}/{META_COMMIT}/"
ZENODO_BASE_URL = "https://zenodo.org/record/"

#: Metadata files: relative path -> (bytes, sha256).
META_FILES: dict[str, tuple[int, str]] = {
    "meta/meta_development.txt": (
        470684,
        "0407db2496b69c5f2107ebd3c41d0d01e706ac7e869e423a3dc794058b37d9cd",
    ),
    "meta/meta_evaluation.txt": (
        154389,
        "8014f443bf00d1bd7c59f6ee5560b6aac0f0905b6c7aecebcde09d4d30ee80ee",
    ),
    "crossvaridation/meta_fold01_development.txt": (
        371520,
        "dad05f4a77508ca4f99b05fe99a245fe58c4f30e3afc701a88e1167272960961",
    ),
    "crossvaridation/meta_fold01_evaluation.txt": (
        99225,
        "8a390e11112dfc72f3cc8b056f65e741ab8b0afa840b7d14b953d438750ace0e",
    ),
    "crossvaridation/meta_fold02_development.txt": (
        366552,
        "e8a5280a94148046d526453e74e8afbd79042384f4424c478fe2a160faf00719",
    ),
    "crossvaridation/meta_fold02_evaluation.txt": (
        104193,
        "3857cc2de5f9a4fd56f2d623b6b66321b94568855095558e4160b3fa562c9f22",
    ),
    "crossvaridation/meta_fold03_development.txt": (
        329486,
        "b5122523268a6971e5cbe9fb36d1daabd607cf72731a343d0cafee052cc428e5",
    ),
    "crossvaridation/meta_fold03_evaluation.txt": (
        141259,
        "8cd3014550a5a9b01eb81b5393bd79d71e38d021f0308527ab5b8b2b17c4ff0e",
    ),
    "crossvaridation/meta_fold04_development.txt": (
        344555,
        "5047965f784b8d84ae3da606895587881524de41896c78b20c29c566188db01e",
    ),
    "crossvaridation/meta_fold04_evaluation.txt": (
        126190,
        "5ceb5112b448327524106468481f443fbce1d050cab4bf922bc146dbfa5c74d1",
    ),
}


@dataclass(frozen=True)
class Archive:
    """One Zenodo audio archive of a TUT data set."""

    record: str
    filename: str
    bytes: int
    md5: str

    def url(self, base: str = ZENODO_BASE_URL) -> str:
        return f"{base}{self.record}/files/{self.filename}"


#: Audio archives of each TUT data set, by the top folder the metadata paths start with.
ARCHIVES: dict[str, tuple[Archive, ...]] = {
    "TUT-acoustic-scenes-2016-development": (
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.1.zip",
            1070981236,
            "e39546e65f2e72517b6335aaf0c8323d",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.2.zip",
            1067186166,
            "d36cf3253e2c041f68e937a3fe804807",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.3.zip",
            1073644405,
            "0393a9620ab882b1c26d884eccdcffdd",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.4.zip",
            1072111347,
            "fb3e4e0cd7ea82120ec07031dee558ce",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.5.zip",
            1069681513,
            "a19cf600b33c8f88f6ad607bafd74057",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.6.zip",
            1072890150,
            "591aad3219d1155342572cc1f6af5680",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.7.zip",
            1069265197,
            "9e6c1897789e6bce13ac69c6caedb7ab",
        ),
        Archive(
            "45739",
            "TUT-acoustic-scenes-2016-development.audio.8.zip",
            528461098,
            "c4718354f48fcc9dfc7305f6cd8325c8",
        ),
    ),
    "TUT-acoustic-scenes-2016-evaluation": (
        Archive(
            "165995",
            "TUT-acoustic-scenes-2016-evaluation.audio.1.zip",
            1067685684,
            "7c6c2e54b8a9c4c37a803b81446d16fe",
        ),
        Archive(
            "165995",
            "TUT-acoustic-scenes-2016-evaluation.audio.2.zip",
            1068308900,
            "7930f1dc26707ab3ba9526073af87333",
        ),
        Archive(
            "165995",
            "TUT-acoustic-scenes-2016-evaluation.audio.3.zip",
            538894804,
            "17187d633d6402aee4b481122a1b28f0",
        ),
    ),
    "TUT-acoustic-scenes-2017-evaluation": (
        Archive(
            "1040168",
            "TUT-acoustic-scenes-2017-evaluation.audio.1.zip",
            1071856687,
            "3d6dda4445871e9544e0fefe7d14c7d9",
        ),
        Archive(
            "1040168",
            "TUT-acoustic-scenes-2017-evaluation.audio.2.zip",
            1073362972,
            "4085ef5fa286f2169074993a4e405953",
        ),
        Archive(
            "1040168",
            "TUT-acoustic-scenes-2017-evaluation.audio.3.zip",
            1071521152,
            "cac432579e7cf2dff0aec7aaed248956",
        ),
        Archive(
            "1040168",
            "TUT-acoustic-scenes-2017-evaluation.audio.4.zip",
            382756463,
            "664bf09c3d24bd26c6b587f1d709de36",
        ),
    ),
    "TUT-sound-events-2016-development": (
        Archive(
            "45759",
            "TUT-sound-events-2016-development.audio.zip",
            1014040667,
            "a6006efaa85bb69d5064b00c6802a8f8",
        ),
    ),
    "TUT-sound-events-2016-evaluation": (
        Archive(
            "996424",
            "TUT-sound-events-2016-evaluation.audio.zip",
            471072452,
            "29434e8c53bd51206df0234e6cf2238c",
        ),
    ),
    "TUT-sound-events-2017-development": (
        Archive(
            "814831",
            "TUT-sound-events-2017-development.audio.1.zip",
            1062653169,
            "6f1cd31592b8240a14be3ee513db6a23",
        ),
        Archive(
            "814831",
            "TUT-sound-events-2017-development.audio.2.zip",
            213232458,
            "adcff03341b84dc8d35f035b93c1efa0",
        ),
    ),
    "TUT-sound-events-2017-evaluation": (
        Archive(
            "1040179",
            "TUT-sound-events-2017-evaluation.audio.zip",
            388173790,
            "1d3aa81896be0f142130ca9ca7a2b871",
        ),
    ),
}

#: Bytes per second of the TUT audio (44.1 kHz, 24 bit, 2 channels), to estimate extracted size.
TUT_BYTES_PER_SECOND = 44100 * 3 * 2


def fetch_metadata(
    meta_dir: str | Path,
    *,
    base_url: str = META_BASE_URL,
    meta_files: Mapping[str, tuple[int, str]] = META_FILES,
    progress: bool = True,
) -> Path:
    """Download (or verify an existing copy of) the TUT event metadata into ``meta_dir``.

    Every file is checked against its pinned sha256; a mismatching existing
    file raises :class:`~sedlib.data.download.ChecksumError` naming it.
    """
    meta_dir = Path(meta_dir)
    for relative, (size, sha256) in meta_files.items():
        download(
            base_url + relative, meta_dir / relative, sha256=sha256, size=size, progress=progress
        )
    return meta_dir


def verify_metadata(
    meta_dir: str | Path, meta_files: Mapping[str, tuple[int, str]] = META_FILES
) -> None:
    """Check an existing metadata copy file by file (size and sha256)."""
    meta_dir = Path(meta_dir)
    for relative, (size, sha256) in meta_files.items():
        path = meta_dir / relative
        if not path.is_file():
            raise FileNotFoundError(f"TUT metadata file missing: {path}")
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
            raise ValueError(
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
    ``<root>/../tut-meta``.
    """
    from sedlib.settings import tut_meta_dir

    if meta_dir is None:
        candidate = tut_meta_dir()
        has_meta = (candidate / "meta" / "meta_development.txt").is_file()
        meta_dir = candidate if has_meta else Path(root).parent / "tut-meta"
    meta_dir = Path(meta_dir)
    if (meta_dir / "meta" / "meta_development.txt").is_file():
        verify_metadata(meta_dir, meta_files)
        log.info("metadata: %s (verified)", meta_dir)
    else:
        log.info("metadata: downloading %s@%s into %s", META_REPOSITORY, META_COMMIT[:7], meta_dir)
        fetch_metadata(meta_dir, base_url=meta_base, meta_files=meta_files, progress=progress)
    return meta_dir


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
        Log the plan (downloads, disk space) and stop.
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
        raise OSError(
            f"not enough disk space in {root}: need {todo.need_bytes / 1e9:.1f} GB, "
            f"free {free_bytes(root) / 1e9:.1f} GB"
        )
    for top, files in todo.todo.items():
        _fetch_data_set(top, files, archives[top], root, zenodo_base, keep_archives, progress)
    if (
        not keep_archives
        and (root / "archives").is_dir()
        and not any((root / "archives").iterdir())
    ):
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
        raise FileNotFoundError(
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
