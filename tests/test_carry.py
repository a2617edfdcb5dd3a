"""Trainings in progress, packed on one machine and unpacked on another, resume to the records of
trainings never interrupted; a damaged archive, a running training or state that went on are refused."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from hashlib import sha256 as _sha
from pathlib import Path

import pytest
import torch
from test_batched import MIXED, comparable, config, differences

from sedlib.cli import main
from sedlib.study import carry
from sedlib.training import Interrupted, RunRecord, batched
from sedlib.training.folder import training_lock
from sedlib.util.lock import FileLock

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("module_data_root")  # the feature cache of `tiny`, kept apart


CONFIGS = [config(**s, epochs=4) for s in MIXED]


def run_dirs(runs_root, configs=CONFIGS):
    """The layout of a sweep: ``<runs>/<grid>/.work/<run>``, the groups in ``.work/.batched``."""
    return [runs_root / "grid" / ".work" / c.describe() for c in configs]


@pytest.fixture(scope="module")
def whole(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp("whole")
    return batched.train_batched(CONFIGS, run_dirs(root), dataset=tiny, progress=False)


@pytest.fixture
def interrupted(tiny, tmp_path):
    """The three runs stopped after 2 of 4 epochs, as one group; its runs folder."""
    runs = tmp_path / "here" / "runs"
    out = batched.train_batched(
        CONFIGS, run_dirs(runs), dataset=tiny, progress=False, stop_after_epochs=2
    )
    assert all(isinstance(r, Interrupted) for r in out)
    return runs


def test_trainings_packed_and_unpacked_elsewhere_resume_to_the_uninterrupted_records(
    tiny, tmp_path, interrupted, whole, monkeypatch
):
    archive = tmp_path / "carried" / "grid.tar.gz"
    packed = carry.pack(interrupted / "grid", archive)
    assert packed.grid == "grid" and len(packed.groups) == 1
    (group,) = packed.groups.values()
    assert len(group["members"]) == 3 and len(set(group["steps"])) == 1 and group["steps"][0] > 0
    assert sorted(packed.runs) == sorted(c.describe() for c in CONFIGS)
    shutil.rmtree(tmp_path / "here")  # the machine is gone
    there = tmp_path / "there" / "runs"
    unpacked = carry.unpack(archive, there)
    assert (unpacked.files, unpacked.bytes, unpacked.runs) == (
        packed.files,
        packed.bytes,
        packed.runs,
    )
    epochs = []
    real_epoch = batched._train_epoch
    monkeypatch.setattr(batched, "_train_epoch", lambda g, c, e, d: epochs.append(e) or real_epoch(g, c, e, d))  # fmt: skip
    resumed = batched.train_batched(CONFIGS, run_dirs(there), dataset=tiny, progress=False)
    assert (
        epochs == [2, 3]
    )  # epochs 3 and 4 (counted from 0): it went on from the archive's epoch 2, it did not start over
    assert all(isinstance(r, RunRecord) for r in resumed), resumed
    for a, b in zip(resumed, whole, strict=True):
        assert [f.epochs_run for f in a.folds] == [f.epochs_run for f in b.folds] == [4]
        assert [h["epoch"] for h in a.folds[0].history] == [1, 2, 3, 4]
        assert not differences(comparable(a), comparable(b)), a.run


def test_a_running_training_is_not_packed(interrupted, tmp_path):
    with FileLock(training_lock(run_dirs(interrupted)[1]), "a training"):
        with pytest.raises(carry.CarryError, match="a training of this grid is running"):
            carry.pack(interrupted / "grid", tmp_path / "a.tar.gz")
    assert not (tmp_path / "a.tar.gz").exists()


def test_nothing_in_progress_is_said_naming_the_folder(tmp_path):
    with pytest.raises(carry.NothingInProgress, match=r"grid/\.work: no trainings in progress"):
        carry.pack(tmp_path / "runs" / "grid", tmp_path / "a.tar.gz")


def _rewritten(archive, out, change):
    """A copy of ``archive`` whose entries pass through ``change(name, bytes) -> bytes``."""
    with tarfile.open(archive, "r:gz") as tar, tarfile.open(out, "w:gz") as new:
        for member in tar.getmembers():
            data = change(member.name, tar.extractfile(member).read())
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return out


def test_a_damaged_archive_is_refused_naming_the_file_and_nothing_is_written(interrupted, tmp_path):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    name = next(n for n in tarfile.open(archive).getnames() if n.endswith("group.pt"))

    def flip(entry, data):
        return data[:100] + bytes([data[100] ^ 1]) + data[101:] if entry == name else data

    damaged = _rewritten(archive, tmp_path / "damaged.tar.gz", flip)
    with pytest.raises(carry.CarryError, match=f"{name} fails its checksum"):
        carry.unpack(damaged, tmp_path / "there")
    assert not (tmp_path / "there").exists()
    foreign = _rewritten(archive, tmp_path / "foreign.tar.gz", lambda n, d: d.replace(b'"format": 1', b'"format": 9'))  # fmt: skip
    with pytest.raises(carry.CarryError, match="archive format 9"):
        carry.unpack(foreign, tmp_path / "there")
    (tmp_path / "plain.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(carry.CarryError, match=r"plain\.tar\.gz: cannot be read"):
        carry.unpack(tmp_path / "plain.tar.gz", tmp_path / "there")


def sha256(data: bytes) -> str:
    return _sha(data).hexdigest()


def _forged(archive, out, entries: dict[str, bytes], grid: str = "grid"):
    """An archive whose manifest lists ``entries`` with their true checksums."""
    files = {}
    for name, data in entries.items():
        files[name.removeprefix(".work/")] = {"bytes": len(data), "sha256": sha256(data)}
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(carry.MANIFEST).read())
    manifest.update(files=files, grid=grid)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in [(carry.MANIFEST, json.dumps(manifest).encode()), *entries.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


@pytest.mark.parametrize(
    "entries, grid",
    [
        ({".work/../outside": b"x"}, "grid"),
        ({".work//tmp/outside": b"x"}, "grid"),
        ({".work/./a/run.json": b"x"}, "grid"),
        ({"elsewhere/run.json": b"x"}, "grid"),
        ({".work/a/run.json": b"x"}, "../up"),
        ({".work/a/run.json": b"x"}, "/abs"),
    ],
)
def test_an_archive_that_writes_outside_its_grid_is_refused(interrupted, tmp_path, entries, grid):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    forged = _forged(archive, tmp_path / "forged.tar.gz", entries, grid)
    with pytest.raises(carry.CarryError, match=r"unexpected entry|is not a folder name"):
        carry.unpack(forged, tmp_path / "there" / "runs")
    assert not (tmp_path / "there").exists() and not (tmp_path / "outside").exists()


def test_an_entry_twice_is_refused(interrupted, tmp_path):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    with tarfile.open(archive) as tar:
        name = next(n for n in tar.getnames() if n.endswith("run.json"))
        data = tar.extractfile(name).read()
    twice = tmp_path / "twice.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(twice, "w:gz") as new:
        for member in tar.getmembers():
            new.addfile(member, tar.extractfile(member))
        info = tarfile.TarInfo(name)
        info.size = len(data)
        new.addfile(info, io.BytesIO(data))
    with pytest.raises(carry.CarryError, match="unexpected entry"):
        carry.unpack(twice, tmp_path / "there")
    assert not (tmp_path / "there").exists()


def test_a_kept_model_ahead_of_its_groups_state_is_refused_by_name(interrupted, tmp_path):
    """A kill between a member's ``best.pt`` and the group's checkpoint: the epochs disagree."""
    (best,) = list((interrupted / "grid" / ".work" / CONFIGS[1].describe()).rglob("best.pt"))
    kept = torch.load(best, weights_only=False)
    torch.save({**kept, "epoch": kept["epoch"] + 1}, best)
    with pytest.raises(carry.CarryError, match=f"{best}.*epoch {kept['epoch'] + 1}.*best epoch"):
        carry.pack(interrupted / "grid", tmp_path / "a.tar.gz")
    assert not (tmp_path / "a.tar.gz").exists()


def test_state_that_went_on_here_is_never_overwritten(tiny, interrupted, tmp_path):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    carry.unpack(archive, interrupted)  # the same files: nothing to do, nothing refused
    batched.train_batched(
        CONFIGS, run_dirs(interrupted), dataset=tiny, progress=False, stop_after_epochs=1
    )  # the trainings go on here
    before = {p: p.read_bytes() for p in interrupted.rglob("*") if p.is_file()}
    with pytest.raises(carry.CarryError, match="exists with other content"):
        carry.unpack(archive, interrupted)
    assert {p: p.read_bytes() for p in interrupted.rglob("*") if p.is_file()} == before


def test_a_run_finished_here_is_left_as_it_is(tiny, interrupted, tmp_path):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    there = tmp_path / "there"
    name = CONFIGS[0].describe()
    (there / "grid" / name).mkdir(parents=True)
    (there / "grid" / name / "metrics.json").write_text("{}")
    carry.unpack(archive, there)
    assert not (there / "grid" / ".work" / name).exists()
    assert (there / "grid" / ".work" / CONFIGS[1].describe() / "run.json").is_file()


def _promote(runs, name):
    """What a sweep does with a finished run: its folder moves from ``.work`` to the grid's."""
    os.replace(runs / "grid" / ".work" / name, runs / "grid" / name)


def test_only_runs_in_progress_and_their_group_are_carried(tiny, tmp_path):
    configs = [config(**s, epochs=e) for s, e in zip(MIXED, (2, 4, 4), strict=True)]
    runs = tmp_path / "runs"
    out = batched.train_batched(
        configs, run_dirs(runs, configs), dataset=tiny, progress=False, stop_after_epochs=3
    )
    assert isinstance(out[0], RunRecord) and isinstance(out[1], Interrupted)
    _promote(runs, configs[0].describe())
    packed = carry.pack(runs / "grid", tmp_path / "a.tar.gz")
    assert packed.runs == sorted(c.describe() for c in configs[1:])
    ((members, steps),) = [(g["members"], g["steps"]) for g in packed.groups.values()]
    assert len(members) == 2 and len(steps) == 2
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert not [n for n in tar.getnames() if configs[0].describe() in n]
    batched.train_batched(configs[1:], run_dirs(runs, configs[1:]), dataset=tiny, progress=False)
    for c in configs[1:]:
        _promote(runs, c.describe())
    with pytest.raises(carry.NothingInProgress, match="no trainings in progress"):
        carry.pack(runs / "grid", tmp_path / "b.tar.gz")  # the finished group stays, uncarried
    assert list((runs / "grid" / ".work" / ".batched").glob("*/group.pt"))
    assert not (tmp_path / "b.tar.gz").exists()
    assert carry.retire(tmp_path / "a.tar.gz", runs / "grid")  # all its runs finished here
    assert not (tmp_path / "a.tar.gz").exists()


def test_an_archive_of_trainings_not_here_is_never_replaced_or_removed(interrupted, tmp_path):
    """A machine that did not unpack the archive: packing or retiring over it would lose them."""
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    before = archive.read_bytes()
    elsewhere = tmp_path / "elsewhere" / "runs"
    (elsewhere / "grid" / ".work" / "other-run").mkdir(parents=True)
    (elsewhere / "grid" / ".work" / "other-run" / "checkpoint.pt").write_bytes(b"state")
    for attempt in (lambda: carry.pack(elsewhere / "grid", archive),
                    lambda: carry.retire(archive, elsewhere / "grid")):  # fmt: skip
        with pytest.raises(carry.CarryError, match="neither in progress nor finished here"):
            attempt()
        assert archive.read_bytes() == before
    carry.pack(interrupted / "grid", archive)  # the machine that holds them may replace it


def test_the_command_line_packs_and_unpacks(interrupted, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(interrupted.parent))
    archive = tmp_path / "carried.tar.gz"
    assert main(["carry", "pack", str(archive), "--grid", "grid"]) == 0
    out = capsys.readouterr().out
    assert "packed grid grid: 3 runs, 1 groups (members at steps" in out
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(carry.MANIFEST).read())
    assert manifest["training_code"]["fingerprint"].startswith("ast1:")
    assert not any(".locks" in name for name in manifest["files"])
    there = tmp_path / "there"
    assert main(["carry", "unpack", str(archive), "--runs-root", str(there)]) == 0
    assert "unpacked grid grid: 3 runs" in capsys.readouterr().out
    assert main(["carry", "pack", str(archive)]) == 1
    assert "give the grid with --grid" in capsys.readouterr().err
    assert main(["carry", "pack", str(tmp_path / "none.tar.gz"), "--grid", "other"]) == 0
    assert "grid other: " in capsys.readouterr().out and not (tmp_path / "none.tar.gz").exists()


def _script(action, env, *args):
    command = ["bash", "tools/cpu/sweeps.sh", action, *map(str, args)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _steps_reached(runs, least: int, timeout: float = 300) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        for path in runs.glob("smoke/.work/.batched/*/group.pt"):
            try:
                saved = torch.load(path, weights_only=False)
            except Exception:  # being replaced: read it at the next poll
                continue
            if min(saved["states"][i]["steps"] for i in saved["active"]) >= least:
                return
        time.sleep(0.5)
    raise AssertionError(f"no group reached step {least} in {timeout} s")


def test_the_sweeps_script_carries_a_grid_from_one_machine_to_the_next(tiny, tmp_path):
    """``tools/cpu/sweeps.sh``: start, stop (the group packed), a fresh machine (no runs folder)
    starts from the archive at the step it had reached, not from step 0."""
    plan = tmp_path / "plan"
    plan.write_text(
        "# a comment line\n"
        f"--grid smoke --dataset {tiny.audio_dir} --seeds 1 --protocol dev-eval --device cpu "
        "--set epochs=0 --set max_steps=3000 --set warmup_steps=2 --set patience_steps=0 "
        "--set batch_size=4 --set model.channels=4 --set model.gru_units=8 "
        "--set model.fc_units=8\n"
    )
    env = {
        **os.environ,
        "SEDLIB": str(Path(sys.executable).parent / "sedlib"),
        "SEDLIB_DATA_ROOT": str(tmp_path / "data"),
        "CARRIED": str(tmp_path / "carried"),
    }
    runs = tmp_path / "data" / "runs"
    assert "chain 0/1 started" in _script("start", env, plan, 1)
    _steps_reached(runs, 6)
    stopped = _script("stop", env, plan)
    packed = int(
        re.search(r"packed grid smoke: 2 runs, 1 groups \(members at steps (\d+)-", stopped)[1]
    )
    assert packed >= 6
    shutil.rmtree(runs)  # the next machine: a checkout with the archive, nothing else
    archive = (tmp_path / "carried" / "smoke.tar.gz").read_bytes()
    for mistake, why in [
        (["stop", plan], "neither in progress nor finished here"),  # before `start`: the only copy
        (["start", plan, 2], "packed by 1 chains; start as many"),  # other shards
    ]:
        refused = subprocess.run(
            ["bash", "tools/cpu/sweeps.sh", *map(str, mistake)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode != 0 and why in refused.stdout + refused.stderr, refused.stderr
        assert (tmp_path / "carried" / "smoke.tar.gz").read_bytes() == archive
    started = _script("start", env, plan, 1)
    assert f"unpacked grid smoke: 2 runs, 1 groups (members at steps {packed}-{packed})" in started
    _steps_reached(runs, packed + 3)
    _script("stop", env, plan)
    log = (tmp_path / "data" / "logs" / "chain-0.log").read_text()
    second = log.rsplit("shard 0/1: sedlib sweep", 1)[1]  # the second machine's sweep
    resumed = re.findall(r"group of 2:\s+\d+%\|[^|]*\|\s+(\d+)/3000", second)
    assert resumed and int(resumed[0]) == packed, second[-1500:]
    assert second.rstrip().endswith("shard 0/1: done")


def test_an_archive_of_other_training_code_is_named_in_a_warning(
    interrupted, tmp_path, monkeypatch, caplog
):
    archive = tmp_path / "a.tar.gz"
    carry.pack(interrupted / "grid", archive)
    carry.unpack(archive, tmp_path / "same")
    assert "training code" not in caplog.text
    monkeypatch.setattr(carry.provenance, "training_code", lambda: {"fingerprint": "ast1:other"})
    with caplog.at_level("WARNING", logger="sedlib.study.carry"):
        carry.unpack(archive, tmp_path / "there")
    assert f"{archive} was packed under training code ast1:" in caplog.text
    assert "this is ast1:other" in caplog.text


def test_the_cpu_hours_tool_sums_finished_sets_and_trainings_in_progress(interrupted, tmp_path):
    """tools/cpu_hours.py: the hours per stage of a closing note, from records and group states."""
    root = interrupted.parent
    (saved,) = [torch.load(p, weights_only=False) for p in interrupted.rglob("group.pt")]
    states = [saved["states"][i] for i in saved["active"]]
    steps = states[0]["steps"]
    so_far = sum(s["train_seconds"] for s in states) / 3600
    runs = {f"r{k}": {"timing": {"train_seconds": 1800.0 * k}} for k in (1, 2)}
    (root / "results" / "grid").mkdir(parents=True)
    (root / "results" / "grid" / "set_a.json").write_text(
        json.dumps({"header": {"planned": 4}, "runs": runs})
    )
    (root / "results" / "grid" / "other.json").write_text(
        json.dumps({"header": {"planned": 1}, "runs": {"x": {"timing": {"train_seconds": 36e3}}}})
    )
    env = {**os.environ, "SEDLIB_DATA_ROOT": str(root)}
    command = [sys.executable, "tools/cpu_hours.py", "--match", "set_a"]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "| grid/set_a | 2 | 4 | 1.5 |" in out.stdout and "other" not in out.stdout
    assert f"| grid | 3 | {steps}-{steps} | {so_far:.1f} |" in out.stdout
    assert f"in all: {1.5 + so_far:.1f} CPU-hours" in out.stdout
