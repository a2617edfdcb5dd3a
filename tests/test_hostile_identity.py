"""Hostile pass 3, cases 4 and 5: one data set however it is spelled; audio known by its content.

| case | before (664410b) | after |
|---|---|---|
| 4. the smoke grid on a folder (1 seed), then on its copy (2 seeds) | seed 0 reused, seed 1 trained, then "runs bce-s0 and bce-s1 differ in shared settings ['dataset']"; ``--aggregate-only`` failed under either name | one result set of 4 runs, written under the sweep's spelling; ``--aggregate-only`` under either name finds the same file; the runs agree by their data's content (two runs on other data are still refused, naming both) |
| 4. ``synthetic-small``, ``-ebr-0``, ``-ebr0``, ``-seed0`` | four spellings of one data set, each a different ``dataset`` setting | one spelling (``canonical_name``): ``synthetic-small`` |
| 5a. ``cp -p`` of one audio file over another of the same size | data identity unchanged, ``build_features`` served the old features | the change time is part of the digest index's key: the file is hashed again, the identity and the cache entry change, the features are the new audio's |
| 5b. an edit in place, then ``touch -r`` | the same | the same fix |
| 5c. a digest taken in the same clock tick as a write | (no such rule) | trusted only when the file's change time lies 2 s before its hashing; unchanged data keep their identity values |
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from sedlib.cli import main
from sedlib.data import content
from sedlib.data.cache import build_features
from sedlib.data.layout import Dataset
from sedlib.data.registry import canonical_name
from sedlib.errors import ConfigError
from sedlib.study.aggregate import aggregate, shared_settings
from sedlib.training.preflight import data_identity
from sedlib.training.record import RECORD, RunRecord

M = ["--protocol", "dev-eval", "--device", "cpu", "--executor", "python"]

pytestmark = pytest.mark.usefixtures("module_data_root")


def sweep(dataset, *more: str) -> list[str]:
    return ["sweep", "--grid", "smoke", "--dataset", str(dataset), *M, *more]


# ---------------------------------------------------------------------------- 4. spellings
@pytest.fixture(scope="module")
def folder_and_copy(tiny, module_data_root, tmp_path_factory):
    """The smoke grid on ``tiny`` with 1 seed, then on its copy with 2 seeds."""
    copy = shutil.copytree(tiny.audio_dir, tmp_path_factory.mktemp("copy") / "tiny-copy")
    assert main(sweep(tiny.audio_dir, "--seeds", "1")) == 0
    assert main(sweep(copy, "--seeds", "2")) == 0
    return tiny.audio_dir, copy, module_data_root


def test_a_folder_and_its_copy_make_one_result_set(folder_and_copy, capsys):
    folder, copy, root = folder_and_copy
    trained = sorted(p.parent.name for p in (root / "runs" / "smoke").glob("*/train.log"))
    assert [name.rsplit("-", 1)[0] for name in trained] == [
        "bce-s0",
        "bce-s1",
        "duration_robust-g1-s0",
        "duration_robust-g1-s1",
    ]  # each run trained once: seed 0 was reused by the copy's sweep
    sets = {}
    for path in (root / "results" / "smoke").glob("*.json"):
        header = json.loads(path.read_text())["header"]
        sets[header["runs"]] = (path, header)
    assert sorted(sets) == [2, 4]
    path, header = sets[4]
    assert header["settings"]["dataset"] == str(copy)  # the sweep's spelling
    printed = set()
    for spelling in (folder, copy):
        capsys.readouterr()
        assert main(sweep(spelling, "--seeds", "2", "--aggregate-only")) == 0
        printed.add(capsys.readouterr().out.split("-> ")[-1].strip())
    assert printed == {str(path.with_suffix(".csv"))}  # one file under either spelling
    assert len(list((root / "results" / "smoke").glob("*.json"))) == 2
    table = pd.read_csv(path.with_suffix(".csv"))
    assert sorted(table["run"]) == [
        "bce-s0",
        "bce-s1",
        "duration_robust-g1-s0",
        "duration_robust-g1-s1",
    ]


def test_runs_on_other_data_are_still_refused_naming_both(folder_and_copy):
    root = folder_and_copy[2]
    records = [RunRecord.load(p) for p in sorted((root / "runs" / "smoke").glob(f"*/{RECORD}"))]
    records[1].dataset = {**records[1].dataset, "audio": "0" * 16}
    with pytest.raises(
        ConfigError,
        match=rf"runs {records[0].run} and {records[1].run} were trained on different data",
    ):
        shared_settings(records)


@pytest.mark.parametrize(
    "spelling",
    [
        "synthetic-small",
        "synthetic-small-ebr-0",
        "synthetic-small-ebr0",
        "synthetic-small-seed0",
        "synthetic-small-ebr-0.0-seed0",
    ],
)
def test_the_spellings_of_a_generated_data_set_are_one(spelling):
    assert canonical_name(spelling) == "synthetic-small"


def test_other_generated_data_sets_keep_their_names():
    assert (
        canonical_name("synthetic-tut-timeline-ebr-30.0-seed0") == "synthetic-tut-timeline-ebr-30"
    )
    assert canonical_name("synthetic-paper-seed2") == "synthetic-paper-seed2"


def test_runs_recorded_under_old_spellings_aggregate_under_the_new_one(folder_and_copy, tmp_path):
    root = folder_and_copy[2]
    records = [RunRecord.load(p) for p in sorted((root / "runs" / "smoke").glob(f"*/{RECORD}"))]
    for record, spelling in zip(
        records,
        [
            "synthetic-small-seed0",
            "synthetic-small-ebr0",
            "synthetic-small",
            "synthetic-small-ebr-0",
        ],
        strict=True,
    ):
        record.resolved = {**record.resolved, "dataset": spelling}
    result = aggregate(
        "smoke",
        records,
        data={"fingerprint": "f"},
        root=tmp_path,
        planned=[r.identity for r in records],
        dataset="synthetic-small",
    )
    assert result.header["settings"]["dataset"] == "synthetic-small" and result.header["runs"] == 4


# ---------------------------------------------------------------------------- 5. known by content
@pytest.fixture
def settled_copy(tiny, tmp_path):
    """A copy of ``tiny`` where two evaluation files differ in sound, not in size; digests trusted.

    The second file is the first one (the longest, so that the second's
    events fit in it) at half the level. The files' change times are then
    left to age past the racy window, so the digest index serves them.
    """
    import soundfile as sf

    ds = Dataset.from_folder(shutil.copytree(tiny.audio_dir, tmp_path / "data"))
    paths = sorted(
        (ds.audio_path(f) for f in ds.files("evaluation")), key=lambda p: p.stat().st_size
    )
    source, target = paths[-1], paths[0]
    audio, sr = sf.read(source)
    sf.write(target, audio * 0.5, sr, subtype=sf.info(source).subtype)
    shutil.copystat(source, target)  # the generator's fixed time on both
    assert source.stat().st_size == target.stat().st_size
    time.sleep(2.2)  # past content.RACY_NS
    return ds, source, target


@pytest.mark.parametrize("how", ["cp -p", "edit, then touch -r"])
def test_replaced_audio_with_its_size_and_time_kept_changes_identity_and_features(
    settled_copy, tmp_path, how, monkeypatch
):
    ds, source, target = settled_copy
    cache = tmp_path / "cache"
    before = data_identity(ds, "dev-eval")
    build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    hashed = []
    monkeypatch.setattr(
        content, "file_sha256", lambda p, real=content.file_sha256: hashed.append(p) or real(p)
    )
    assert (
        data_identity(ds, "dev-eval") == before and hashed == []
    )  # the index serves unchanged files
    stat = target.stat()
    if how == "cp -p":
        subprocess.run(["cp", "-p", str(source), str(target)], check=True)
    else:
        keep = tmp_path / "time-reference"
        subprocess.run(["touch", "-r", str(target), str(keep)], check=True)
        target.write_bytes(source.read_bytes())
        subprocess.run(["touch", "-r", str(keep), str(target)], check=True)
    after = target.stat()
    assert (after.st_size, after.st_ino) == (stat.st_size, stat.st_ino)
    assert after.st_mtime_ns in (stat.st_mtime_ns, source.stat().st_mtime_ns)
    assert data_identity(ds, "dev-eval") != before
    feats = build_features(ds, "evaluation", cache_root=cache, jobs=1, progress=False)
    src, tgt = (feats.files.index(str(p.relative_to(ds.audio_dir))) for p in (source, target))
    np.testing.assert_array_equal(feats.file(src)[0], feats.file(tgt)[0])


def test_a_digest_taken_in_the_same_tick_as_a_write_is_not_trusted(tiny):
    path = tiny.audio_path(tiny.files("evaluation")[0])
    real = content.file_sha256(path)
    stat = path.stat()
    index = content.index_path()
    index.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.absolute())
    stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    index.write_text(json.dumps({key: [stamp, "f" * 64, stat.st_ctime_ns + 1_000_000]}))
    assert content.content_digests([path]) == {key: real}  # racy: hashed again
    index.write_text(json.dumps({key: [stamp, "f" * 64, stat.st_ctime_ns + 10 * content.RACY_NS]}))
    assert content.content_digests([path]) == {key: "f" * 64}  # settled: the index is trusted
