"""Downloads: verified, resumable, never leaving a corrupt file; the TUT fetcher end to end, offline."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import soundfile
from http_fixture import FileServer

from sedlib.data.download import ChecksumError, DownloadError, download
from sedlib.data.layout import Dataset
from sedlib.data.tut import (
    ARCHIVES,
    META_FILES,
    Archive,
    fetch_tut,
    needed_files,
    plan,
    verify_metadata,
)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    payload = np.random.default_rng(0).bytes(3_000_000)
    (root / "blob.bin").write_bytes(payload)
    with FileServer(root) as server:
        yield server, payload


def test_download_verifies_and_renames(served, tmp_path):
    server, payload = served
    dest = download(
        server.url + "blob.bin",
        tmp_path / "out" / "blob.bin",
        md5=md5(payload),
        size=len(payload),
        progress=False,
    )
    assert dest.read_bytes() == payload
    assert not (tmp_path / "out" / "blob.bin.part").exists()
    # a second call verifies the existing file and does not download again
    n = len(server.requests)
    download(server.url + "blob.bin", dest, md5=md5(payload), size=len(payload), progress=False)
    assert len(server.requests) == n


def test_interrupted_download_resumes_with_range(served, tmp_path):
    server, payload = served
    server.cut_after["/blob.bin"] = 1_000_000
    dest = download(
        server.url + "blob.bin",
        tmp_path / "blob.bin",
        md5=md5(payload),
        size=len(payload),
        progress=False,
    )
    assert dest.read_bytes() == payload
    ranges = [r for p, r in server.requests if p == "/blob.bin"]
    assert ranges[0] is None and ranges[1] == "bytes=1000000-"


def test_interrupted_run_keeps_part_and_next_run_resumes(served, tmp_path):
    server, payload = served
    server.cut_after["/blob.bin"] = 700_000
    dest = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="700000 bytes are kept"):
        download(
            server.url + "blob.bin",
            dest,
            md5=md5(payload),
            size=len(payload),
            retries=0,
            progress=False,
        )
    assert (tmp_path / "blob.bin.part").stat().st_size == 700_000 and not dest.exists()
    download(server.url + "blob.bin", dest, md5=md5(payload), size=len(payload), progress=False)
    assert dest.read_bytes() == payload
    assert server.requests[-1] == ("/blob.bin", "bytes=700000-")


def test_server_without_range_support_restarts_cleanly(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    payload = b"x" * 500_000 + b"y" * 500_000
    (root / "f.bin").write_bytes(payload)
    (tmp_path / "f.bin.part").write_bytes(b"garbage")
    with FileServer(root, range_support=False) as server:
        download(server.url + "f.bin", tmp_path / "f.bin", md5=md5(payload), progress=False)
    assert (tmp_path / "f.bin").read_bytes() == payload


def test_checksum_mismatch_is_an_error_and_leaves_no_file(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    with pytest.raises(ChecksumError, match=r"md5 .* expected 0+; the partial file was removed"):
        download(server.url + "blob.bin", dest, md5="0" * 32, progress=False)
    assert not dest.exists() and not (tmp_path / "blob.bin.part").exists()


def test_missing_url_is_a_clear_error(served, tmp_path):
    server, _ = served
    with pytest.raises(DownloadError, match=r"nothing\.bin"):
        download(server.url + "nothing.bin", tmp_path / "n.bin", retries=0, progress=False)


# ----------------------------------------------------------------------------- TUT, offline
def wav_bytes(seconds: float, sr: int = 44100, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    y = np.random.default_rng(seed).uniform(-0.1, 0.1, (int(seconds * sr), 2))
    soundfile.write(buf, y, sr, subtype="PCM_24", format="WAV")
    return buf.getvalue()


@pytest.fixture
def tut_mirror(tmp_path):
    """A miniature TUT: metadata on a 'GitHub' path and two data sets of zip archives on a 'Zenodo' path."""
    www = tmp_path / "www"
    header = "path\tscene_label\tevent_start_time\tevent_end_time\tevent_label\n"
    dev = header + (
        "TUT-sound-events-2016-development/audio/home/a001.wav\thome\t0.5\t1.2\tdishes\n"
        "TUT-acoustic-scenes-2016-development/audio/b020_0_30.wav\toffice\t0.0\t1.9\tfan\n"
    )
    evaluation = (
        header + "TUT-sound-events-2016-development/audio/home/a002.wav\thome\t0.1\t0.4\tcutlery\n"
    )
    meta_files = {}
    for rel, text in {
        "meta/meta_development.txt": dev,
        "meta/meta_evaluation.txt": evaluation,
    }.items():
        (www / "meta" / rel).parent.mkdir(parents=True, exist_ok=True)
        (www / "meta" / rel).write_text(text)
        meta_files[rel] = (len(text.encode()), hashlib.sha256(text.encode()).hexdigest())
    archives = {}
    members = {
        "TUT-sound-events-2016-development": [
            [
                "TUT-sound-events-2016-development/audio/home/a001.wav",
                "TUT-sound-events-2016-development/audio/home/a099.wav",
            ],
            ["TUT-sound-events-2016-development/audio/home/a002.wav"],
        ],
        "TUT-acoustic-scenes-2016-development": [
            ["TUT-acoustic-scenes-2016-development/audio/b020_0_30.wav"]
        ],
    }
    for top, zips in members.items():
        entries = []
        for k, names in enumerate(zips, start=1):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr(f"{top}/README.txt", "not needed")
                for j, name in enumerate(names):
                    zf.writestr(name, wav_bytes(2.0, seed=k * 10 + j))
            data = buf.getvalue()
            filename = f"{top}.audio.{k}.zip"
            (www / "zenodo" / "42" / "files").mkdir(parents=True, exist_ok=True)
            (www / "zenodo" / "42" / "files" / filename).write_bytes(data)
            entries.append(Archive("42", filename, len(data), md5(data)))
        archives[top] = tuple(entries)
    return www, meta_files, archives


def fetch_from(server: FileServer, tmp_path, meta_files, archives):
    return fetch_tut(
        tmp_path / "tut",
        tmp_path / "tut-meta",
        archives=archives,
        zenodo_base=server.url + "zenodo/",
        meta_base=server.url + "meta/",
        meta_files=meta_files,
        progress=False,
    )


def test_fetch_tut_end_to_end(tut_mirror, tmp_path, caplog):
    www, meta_files, archives = tut_mirror
    caplog.set_level("INFO", logger="sedlib.data.tut")
    with FileServer(www) as server:
        ds = fetch_from(server, tmp_path, meta_files, archives)
        lines = [r.getMessage() for r in caplog.records]
        assert isinstance(ds, Dataset) and ds.splits()[:2] == ["development", "evaluation"]
        for split in ds.splits():
            ds.check_audio(split)
        # only what the metadata lists is extracted; archives are removed
        assert not (
            tmp_path / "tut" / "TUT-sound-events-2016-development/audio/home/a099.wav"
        ).exists()
        assert not (tmp_path / "tut" / "TUT-sound-events-2016-development/README.txt").exists()
        assert not (tmp_path / "tut" / "archives").exists()
        assert any("GB to download" in line and "disk needed" in line for line in lines)
        # a second run finds everything in place and downloads nothing
        n = len(server.requests)
        fetch_from(server, tmp_path, meta_files, archives)
        last = caplog.records[-1].getMessage()
        assert len(server.requests) == n and "all 3 audio files are present" in last


def test_fetch_tut_corrupt_archive_is_a_clear_error(tut_mirror, tmp_path):
    www, meta_files, archives = tut_mirror
    top = "TUT-acoustic-scenes-2016-development"
    bad = archives[top][0]
    archives = {**archives, top: (Archive(bad.record, bad.filename, bad.bytes, "f" * 32),)}
    with FileServer(www) as server, pytest.raises(ChecksumError, match=f"{bad.filename}.*md5"):
        fetch_from(server, tmp_path, meta_files, archives)
    assert not list((tmp_path / "tut" / "archives").glob(f"{bad.filename}*"))


def test_fetch_tut_rejects_a_modified_metadata_copy(tut_mirror, tmp_path):
    www, meta_files, archives = tut_mirror
    copy = tmp_path / "copy"
    for rel in meta_files:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes((www / "meta" / rel).read_bytes())
    with open(copy / "meta/meta_evaluation.txt", "a") as handle:
        handle.write("x\thome\t1\t2\tdishes\n")
    with pytest.raises(ChecksumError, match=r"meta_evaluation\.txt"):
        fetch_tut(
            tmp_path / "tut",
            copy,
            archives=archives,
            meta_files=meta_files,
            progress=False,
        )


def test_real_metadata_is_the_pinned_one_and_fully_covered(tut_meta):
    verify_metadata(tut_meta)
    files = needed_files(tut_meta)
    assert len(files) == 248  # 112 development + 136 evaluation files
    groups = plan(files)
    assert set(groups) <= set(ARCHIVES) and len(groups) == 7
    assert set(META_FILES) == {str(p.relative_to(tut_meta)) for p in tut_meta.rglob("*.txt")}
