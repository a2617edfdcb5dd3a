"""The batched engine: a group of members trains as the same members would train one by one.

Tolerances: float32. The stacked model computes each member's operations in
the same order as :class:`~sedlib.model.CRNN` (folded batch normalisation
included) but through other kernels (grouped convolutions, a hand-written GRU
cell), so sums are rounded differently (~1e-7 relative per operation); after
a few Adam steps the losses agree to 1e-5 and the parameters to 2e-4, except
the convolutions' biases before batch normalisation, whose gradient is zero
in exact arithmetic and rounding noise in float32: Adam's normalised step
turns that noise into steps of up to ``lr`` either way.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.losses import get_loss
from sedlib.training import Interrupted, RunRecord, TrainConfig, batched, train
from sedlib.training.folder import RunFolder
from sedlib.training.loop import DeviceClips, RunState, end_epoch, make_optimizer, train_epoch
from sedlib.training.preflight import preflight
from sedlib.training.split import prepare_fold

TINY = Preset(dev_minutes=2.0, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))
CPU = torch.device("cpu")
LOSS_TOL, PARAM_TOL = 1e-5, 2e-4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("data"), TINY, seed=5, jobs=1, progress=False)


@pytest.fixture(autouse=True)
def one_thread(tmp_path_factory, monkeypatch):
    """One thread (a busy second core makes two threads 30x slower) and an isolated cache."""
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path_factory.getbasetemp() / "data-root"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(**kw) -> TrainConfig:
    base = {
        "dataset": "unused",
        "protocol": "dev-eval",
        "epochs": 2,
        "batch_size": 4,
        "device": "cpu",
        "model": {"channels": 4, "gru_units": 8, "fc_units": 8, "dropout": 0.0},
        "patience": 0,
        "max_steps": 0,
        "warmup_steps": 0,
        "patience_steps": 0,
    }
    return TrainConfig(**{**base, **kw})


MIXED = [
    {"loss": "bce", "seed": 0},
    {"loss": "duration_robust", "gamma": 4.0, "seed": 1},
    {"loss": "inverse_frequency", "seed": 2},
]


def members_of(dataset, tmp_path, folds=("fold1", "fold4"), **kw) -> list[batched.Member]:
    """Members of the MIXED runs for some folds (fold 1 has 7 training clips, fold 4 has 6)."""
    out = []
    for k, settings in enumerate(MIXED):
        cfg = config(protocol="folds", **settings, **kw)
        plan = preflight(cfg, tmp_path / f"run{k}", dataset, progress=False)
        for fold in plan.folds:
            if fold.name in folds:
                data = prepare_fold(dataset, fold, cfg.val_fraction, progress=False)
                run = RunFolder(tmp_path / f"run{k}", plan)
                out.append(batched.Member(run, fold, data))
    return out


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_group_trains_as_its_members_alone_losses_and_parameters(dataset, tmp_path, optimizer):
    """Two folds of different lengths: with batch 3, fold 1 takes 3 steps an epoch (3, 3, 1 clips),
    fold 4 two (3, 3): its members wait while fold 1's take their last step."""
    members = members_of(dataset, tmp_path, batch_size=3, optimizer=optimizer)
    assert [len(m.data.clips) for m in members[:2]] == [7, 6]
    assert len(members) == 6 and len({batched.schedule_key(m) for m in members}) == 1
    group = batched._start(members, tmp_path / "group", CPU, "cell")
    clips = batched._Clips.of(members, CPU)
    grouped = [batched._train_epoch(group, clips, epoch, CPU).tolist() for epoch in range(2)]
    for pos, member in enumerate(members):
        model = batched.initial_model(member)
        optimizer = make_optimizer(model, member.config)
        loss_fn = get_loss(
            member.config.loss, **member.config.loss_params(member.data.class_frames)
        )
        own = DeviceClips.of(member.data, CPU)
        for epoch in range(2):
            alone = train_epoch(model, optimizer, own, loss_fn, member.config, epoch, CPU, "")
            assert math.isclose(alone, grouped[epoch][pos], rel_tol=LOSS_TOL), member.what
        stacked = group.model.member_state(pos)
        for name, value in model.state_dict().items():
            diff = (stacked[name].float() - value.float()).abs().max().item()
            # a convolution's bias before batch norm has a zero gradient in exact arithmetic (and no
            # effect on the output): its gradient is rounding noise, which Adam turns into steps of
            # up to lr (6 steps here); SGD's steps stay below that too
            tol = 6 * member.config.lr if name.endswith("conv.bias") else PARAM_TOL
            assert diff <= tol, f"{member.what} {name}: {diff}"


def comparable(record: RunRecord) -> dict:
    """Histories without timings, the kept epoch, the evaluation."""
    return {
        "history": [
            {k: v for k, v in h.items() if "seconds" not in k and not k.startswith("group")}
            for f in record.folds
            for h in f.history
        ],
        "best": [f.best_epoch for f in record.folds],
        "evaluation": record.evaluation,
    }


def differences(a, b, tol=1e-4, path="") -> list[str]:
    """Where ``a`` and ``b`` differ (floats: beyond ``tol``, relative or absolute)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in differences(a[k], b[k], tol, f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [
            d
            for k, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, tol, f"{path}[{k}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        same = math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b))
        return [] if same else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_records_equal_single_runs_without_dropout(dataset, tmp_path):
    """Four folds of 7, 7, 7 and 6 clips in one group; every record as ``train`` writes it."""
    configs = [config(**s, protocol="folds") for s in MIXED]
    dirs = [tmp_path / "batched" / c.describe() for c in configs]
    records = batched.train_batched(configs, dirs, dataset=dataset, progress=False)
    for cfg, record, folder in zip(configs, records, dirs, strict=True):
        alone = train(cfg, tmp_path / "single" / cfg.describe(), dataset=dataset, progress=False)
        assert isinstance(record, RunRecord) and record.timing["engine"] == "batched"
        stored = RunRecord.load(folder / "metrics.json")  # as aggregation reads them
        alone = RunRecord.load(tmp_path / "single" / cfg.describe() / "metrics.json")
        assert stored.identity == alone.identity and stored.resolved == alone.resolved
        assert not differences(comparable(stored), comparable(alone)), cfg.describe()
        assert {p.name for p in (folder / "fold4").iterdir()} == {
            "best.pt", "validation.npz", "test.npz", "fold.json", batched.MEMBER_STATE
        }  # fmt: skip


def test_with_dropout_a_group_is_reproducible_and_resumes_to_the_same_result(dataset, tmp_path):
    configs = [
        config(**s, epochs=3, model={"channels": 4, "gru_units": 8, "fc_units": 8}) for s in MIXED
    ]

    def run(name: str, stops: int | None):
        dirs = [tmp_path / name / c.describe() for c in configs]
        while True:
            out = batched.train_batched(
                configs, dirs, dataset=dataset, progress=False, stop_after_epochs=stops
            )
            if not any(isinstance(r, Interrupted) for r in out):
                return out

    whole, resumed = run("whole", None), run("resumed", 1)
    assert all(isinstance(r, RunRecord) for r in whole + resumed)
    assert [comparable(r) for r in whole] == [comparable(r) for r in resumed]
    assert len({str(comparable(r)["history"]) for r in whole}) == 3  # the members differ


def test_a_non_finite_loss_stops_only_its_member_naming_it(dataset, tmp_path, monkeypatch):
    class Poisoned:
        def __init__(self, loss):
            self.loss, self.name, self.params = loss, loss.name, {**loss.params, "poison": 1}

        def __call__(self, logits, targets, reduction="mean"):
            return self.loss(logits, targets, reduction) * math.nan

    def poisoned(name, **params):
        loss = get_loss(name, **params)
        return Poisoned(loss) if name == "inverse_frequency" else loss

    monkeypatch.setattr(batched, "get_loss", poisoned)
    configs = [config(**s, epochs=1) for s in MIXED]
    out = batched.train_batched(
        configs, [tmp_path / c.describe() for c in configs], dataset=dataset, progress=False
    )
    assert isinstance(out[0], RunRecord) and isinstance(out[1], RunRecord)
    assert isinstance(out[2], FloatingPointError) and "inverse_frequency-s2 dev-eval" in str(out[2])


@pytest.mark.parametrize(
    ("scores", "patience", "selection", "best", "stopped"),
    [
        (
            [(0.1, 1.0), (0.3, 0.9), (0.3, 0.8), (0.2, 0.5), (0.25, 0.4), (0.5, 0.1)],
            2,
            "best",
            3,
            5,
        ),
        ([(0.1, 1.0), (0.3, 0.9), (0.3, 0.95), (0.3, 0.9), (0.1, 0.1)], 0, "best", 2, 5),
        ([(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)], 1, "best", 1, 2),
        ([(0.4, 0.1), (0.1, 2.0), (0.2, 1.0)], 0, "last", 3, 3),
        ([(math.nan, 1.0), (0.2, 1.0), (0.1, 0.5)], 0, "best", 2, 3),
    ],
)
def test_selection_on_given_histories(scores, patience, selection, best, stopped):
    """Best: the highest (macro F, -loss), first of equals; stop after ``patience`` stale epochs."""
    cfg = config(epochs=len(scores), patience=patience, selection=selection)
    state = RunState()
    for f, loss in scores:
        if state.finished(cfg):
            break
        end_epoch(state, cfg, 1, 0.0, loss, SimpleNamespace(macro_f=f, micro_f=f), 1.0, 1.0)
    assert (state.best_epoch, state.epoch) == (best, stopped)


@pytest.mark.slow
def test_the_gpu_scripts_batched_grid_step_runs_and_packs_on_cpu(tmp_path):
    """``tools/gpu/study.sh grid-batched`` as on the GPU machine, with DEVICE=cpu and the smoke grid;
    a second machine given the packed records trains nothing again."""
    import os
    import subprocess
    import sys
    import tarfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def machine(name: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "SEDLIB_DATA_ROOT": str(tmp_path / name / "data"),
            "OUT": str(tmp_path / name / "out"),
            "CARRIED": str(tmp_path / name / "carried"),
            "DEVICE": "cpu",
            "SEEDS": "1",
            "SKIP_INSTALL": "1",
            "PYTHON": sys.executable,
            "OMP_NUM_THREADS": "1",
        }
        command = ["bash", "tools/gpu/study.sh", "grid-batched", "smoke", "synthetic-small", "300"]
        return subprocess.run(
            command, env=env, cwd=root, capture_output=True, text=True, timeout=600
        )

    done = machine("first")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    archive = tmp_path / "first" / "out" / "runs-smoke-synthetic-small.tar.gz"
    with tarfile.open(archive) as tar:
        records = [n for n in tar.getnames() if n.endswith("metrics.json")]
        assert len(records) == 2
        engines = {json_of(tar, n)["timing"]["engine"] for n in records}
    assert engines == {"batched"}
    assert not (tmp_path / "first" / "out" / "in-progress-smoke.tar.gz").exists()  # all finished
    carried = tmp_path / "second" / "carried" / archive.name
    carried.parent.mkdir(parents=True)
    carried.write_bytes(archive.read_bytes())
    again = machine("second")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "2 runs, 2 in shard 0/1, 0 to run" in again.stderr


def test_the_gpu_scripts_unfinished_groups_resume_on_the_next_machine(tiny, tmp_path):
    """``grid-batched`` stopped by its time limit packs its groups still training; a fresh
    machine given that archive resumes them at their step (sedlib carry), not at step 0."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    carried = tmp_path / "carried"

    def machine(name: str, seconds: int) -> subprocess.CompletedProcess:
        env = {
            **os.environ, "SEDLIB_DATA_ROOT": str(tmp_path / name / "data"),
            "OUT": str(tmp_path / name / "out"), "CARRIED": str(carried), "DEVICE": "cpu",
            "SEEDS": "1", "SKIP_INSTALL": "1", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
            "SETTINGS": "epochs=0 max_steps=100000 patience_steps=0 model.channels=4",
        }  # fmt: skip
        command = [
            "bash",
            "tools/gpu/study.sh",
            "grid-batched",
            "smoke",
            str(tiny.audio_dir),
            str(seconds),
        ]
        done = subprocess.run(
            command, env=env, cwd=root, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done

    first = machine("first", 90)
    packed = re.search(
        r"packed grid smoke: 2 runs, 1 groups \(members at steps (\d+)-", first.stdout
    )
    assert packed and int(packed[1]) > 0, first.stdout[-2000:]
    carried.mkdir()
    (carried / "in-progress-smoke.tar.gz").write_bytes(
        (tmp_path / "first" / "out" / "in-progress-smoke.tar.gz").read_bytes()
    )
    second = machine("second", 75)
    assert f"unpacked grid smoke: 2 runs, 1 groups (members at steps {packed[1]}-" in second.stdout
    steps = re.findall(r"group of \d+:\s+\d+%\|[^|]*\|\s+(\d+)/", second.stderr)
    assert steps and int(steps[0]) == int(packed[1]), second.stdout[-3000:] + second.stderr[-3000:]


def json_of(tar, name: str) -> dict:
    import json

    return json.loads(tar.extractfile(name).read())


KILLED = """
import pickle, sys, torch
from sedlib.training.batched import train_batched
torch.set_num_threads(1)
dataset, configs, dirs = pickle.load(open(sys.argv[1], "rb"))
train_batched(configs, dirs, dataset=dataset, progress=False)
"""


def test_a_group_killed_mid_epoch_resumes_to_the_uninterrupted_result(dataset, tmp_path):
    import os
    import pickle
    import signal
    import subprocess
    import sys
    import time

    model = {"channels": 4, "gru_units": 8, "fc_units": 8}
    configs = [config(**s, epochs=4, model=model) for s in MIXED]
    whole = batched.train_batched(
        configs,
        [tmp_path / "whole" / c.describe() for c in configs],
        dataset=dataset,
        progress=False,
    )
    dirs = [tmp_path / "killed" / c.describe() for c in configs]
    (tmp_path / "job.pkl").write_bytes(pickle.dumps((dataset, configs, dirs)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path / "job.pkl")], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "killed").glob(".batched/*/group.pt")):
            assert job.poll() is None and time.monotonic() < deadline, "no checkpoint was written"
            time.sleep(0.05)
    finally:
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
    assert not (dirs[0] / "metrics.json").is_file(), "killed too late to test a resume"
    (saved,) = (tmp_path / "killed").glob(".batched/*/group.pt")
    assert (
        torch.load(saved, weights_only=False)["states"][0]["epoch"] >= 1
    )  # resumed, not restarted
    resumed = batched.train_batched(configs, dirs, dataset=dataset, progress=False)
    assert [comparable(r) for r in resumed] == [comparable(r) for r in whole]


def test_a_member_costs_at_most_a_single_run_on_a_cpu():
    """``bench_batched.py --check``: time per member and clip at M=4 <= 1.1x one run's (narrow model)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "benchmarks/bench_batched.py", "--check", "--threads", "1"]
    command += ["--clips", "16", "--rounds", "3", "--repeats", "2"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_the_gru_recurrences_backward_is_autograds():
    from sedlib.training.stacked import GRURecurrence, _recurrence_autograd

    g = torch.Generator().manual_seed(0)
    gi = torch.randn(4, 3, 7, 15, dtype=torch.float64, generator=g, requires_grad=True)
    w_hh = torch.randn(4, 15, 5, dtype=torch.float64, generator=g, requires_grad=True)
    b_hh = torch.randn(4, 15, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(GRURecurrence.apply, (gi, w_hh, b_hh))
    torch.testing.assert_close(
        GRURecurrence.apply(gi, w_hh, b_hh), _recurrence_autograd(gi, w_hh, b_hh)
    )


def test_with_dropout_a_members_result_does_not_depend_on_its_group(dataset, tmp_path):
    """Its dropout masks come from its own seed: alone or with others, the same training."""
    model = {"channels": 4, "gru_units": 8, "fc_units": 8}
    configs = [config(**s, epochs=2, model=model) for s in MIXED]
    together = batched.train_batched(
        configs,
        [tmp_path / "group" / c.describe() for c in configs],
        dataset=dataset,
        progress=False,
    )
    alone = batched.train_batched(
        configs[1:2], [tmp_path / "alone" / configs[1].describe()], dataset=dataset, progress=False
    )
    assert not differences(comparable(together[1]), comparable(alone[0]))


def _uninterrupted(configs, dataset, folder):
    return batched.train_batched(
        configs, [folder / c.describe() for c in configs], dataset=dataset, progress=False
    )


@pytest.mark.parametrize("epochs", [(2, 3, 3), (2, 2, 3)])
def test_a_kill_between_a_members_record_and_the_groups_checkpoint_keeps_the_record(
    dataset, tmp_path, monkeypatch, epochs
):
    """Issue 31, case 2: the resume must not finish those members again from the older checkpoint.

    Members of different budgets in one group: one or two end at epoch 2, and the kill comes
    after their records and before the checkpoint of epoch 2 (the group resumes from epoch 1's).
    """
    configs = [config(**s, epochs=e) for s, e in zip(MIXED, epochs, strict=True)]
    whole = _uninterrupted(configs, dataset, tmp_path / "whole")
    saves = {"n": 0}
    real_save = batched._save

    def killed_after_records(group, folder):
        if any((m.folder / "fold.json").is_file() for m in group.members) and not saves["n"]:
            saves["n"] += 1
            raise KeyboardInterrupt  # the kill: records written, checkpoint not
        real_save(group, folder)

    monkeypatch.setattr(batched, "_save", killed_after_records)
    dirs = [tmp_path / "killed" / c.describe() for c in configs]
    with pytest.raises(KeyboardInterrupt):
        batched.train_batched(configs, dirs, dataset=dataset, progress=False)
    written = {p: p.read_bytes() for p in (tmp_path / "killed").rglob("fold.json")}
    assert written, "the kill came before any record"
    resumed = batched.train_batched(configs, dirs, dataset=dataset, progress=False)
    assert {p: p.read_bytes() for p in written} == written  # never written again
    for a, b in zip(resumed, whole, strict=True):
        assert [f.epochs_run for f in a.folds] == [f.epochs_run for f in b.folds]
        assert not differences(comparable(a), comparable(b))


def test_a_lost_run_folder_restarts_that_run_and_the_others_resume(dataset, tmp_path, caplog):
    """Issue 31, case 3: one member's folder deleted mid-group stops no other run."""
    import shutil

    configs = [config(**s, epochs=3) for s in MIXED]
    whole = _uninterrupted(configs, dataset, tmp_path / "whole")
    dirs = [tmp_path / "cut" / c.describe() for c in configs]
    out = batched.train_batched(configs, dirs, dataset=dataset, progress=False, stop_after_epochs=2)
    assert all(isinstance(r, Interrupted) for r in out)
    shutil.rmtree(dirs[0])
    with caplog.at_level("WARNING", logger="sedlib.training.batched"):
        resumed = batched.train_batched(configs, dirs, dataset=dataset, progress=False)
    assert all(isinstance(r, RunRecord) for r in resumed), resumed
    for a, b in zip(resumed, whole, strict=True):
        assert not differences(comparable(a), comparable(b)), a.run
    (group,) = [p.parent for p in (tmp_path / "cut").glob(".batched/*/group.pt")][:1]
    assert f"{configs[0].describe()} dev-eval lost its kept model" in caplog.text
    assert str(group) in caplog.text or any(
        str(p.parent) in caplog.text for p in (tmp_path / "cut").glob(".batched/*/members.json")
    )


def test_a_run_is_recorded_after_its_group_not_after_the_last(dataset, tmp_path):
    """Groups of one: run 0's record exists (and is reported) before run 1's group trains."""
    configs = [config(**s, epochs=1) for s in MIXED[:2]]
    dirs = [tmp_path / c.describe() for c in configs]
    seen = []

    def on_record(k, record):
        others = [d for j, d in enumerate(dirs) if j != k]
        seen.append((k, record.identity, [any(d.glob("*/fold.json")) for d in others]))

    results = batched.train_batched(
        configs, dirs, dataset=dataset, progress=False, max_members=1, on_record=on_record
    )
    assert [k for k, _, _ in seen] == [0, 1]
    assert seen[0][2] == [False]  # run 1 had not trained a fold when run 0 was recorded
    assert [identity for _, identity, _ in seen] == [r.identity for r in results]
    again = []  # a later call trains nothing and writes no record: nothing to report
    batched.train_batched(
        configs, dirs, dataset=dataset, progress=False, max_members=1,
        on_record=lambda k, r: again.append(k),
    )  # fmt: skip
    assert again == []


def test_a_sweep_keeps_the_runs_of_finished_groups_when_a_later_group_fails(tmp_path, monkeypatch):
    """Promotion follows each group: a failure in the second group loses only its own run."""
    from sedlib.study.sweep import run_grid

    monkeypatch.setenv("SEDLIB_BATCHED_MEMBERS", "1")
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path / "root"))
    data = generate(tmp_path / "tiny", TINY, seed=2, jobs=1, progress=False)
    real, groups = batched.train_group, []

    def second_fails(members, *args, **kwargs):
        groups.append(members)
        if len(groups) == 2:
            raise RuntimeError("the second group's machine went away")
        return real(members, *args, **kwargs)

    monkeypatch.setattr(batched, "train_group", second_fails)
    with pytest.raises(Exception, match="second group's machine went away") as failed:
        run_grid("smoke", dataset=str(data.audio_dir), executor="batched",
                 overrides={"device": "cpu", "protocol": "dev-eval"})  # fmt: skip
    finished = sorted(p.parent.name for p in (tmp_path / "root").glob("runs/smoke/*/metrics.json"))
    assert len(groups) == 2 and len(finished) == 1, failed.value


def test_a_group_resumes_without_the_members_whose_runs_finished_and_left(dataset, tmp_path):
    """A run whose trainings all ended is promoted by its sweep and no longer planned: the group's
    other members resume from its checkpoint (no new group), to the uninterrupted result."""
    configs = [config(**s, epochs=e) for s, e in zip(MIXED, (1, 3, 3), strict=True)]
    whole = _uninterrupted(configs, dataset, tmp_path / "whole")
    dirs = [tmp_path / "cut" / c.describe() for c in configs]
    out = batched.train_batched(configs, dirs, dataset=dataset, progress=False, stop_after_epochs=2)
    assert isinstance(out[0], RunRecord) and all(isinstance(r, Interrupted) for r in out[1:])
    (group,) = (tmp_path / "cut" / ".batched").iterdir()
    resumed = batched.train_batched(configs[1:], dirs[1:], dataset=dataset, progress=False,
                                    groups_dir=tmp_path / "cut" / ".batched")  # fmt: skip
    assert [p.name for p in (tmp_path / "cut" / ".batched").iterdir()] == [group.name]
    for a, b in zip(resumed, whole[1:], strict=True):
        assert isinstance(a, RunRecord) and not differences(comparable(a), comparable(b)), a.run
    epochs = [h["epoch"] for h in resumed[0].folds[0].history]
    assert epochs == [1, 2, 3]
