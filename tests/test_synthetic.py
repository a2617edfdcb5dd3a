"""The procedural default data set: layout, determinism, fidelity to the real class statistics."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile
from scipy.stats import spearmanr

from sedlib.data import TUT_LABELS, Dataset, available_split_names, class_stats, read_meta
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.classes import CLASS_FACTS, FACTS_BY_LABEL
from sedlib.data.synthetic.generate import Preset
from sedlib.data.synthetic.sounds import MODELS, TEXTURES, background
from sedlib.features import log_mel

TINY = Preset(dev_minutes=1.5, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return generate(tmp_path_factory.mktemp("tiny"), TINY, seed=3, jobs=1, progress=False)


def tree_bytes(root):
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "dataset.json"
    }


def test_same_seed_gives_bit_identical_files_whatever_the_workers(tiny, tmp_path):
    other = generate(tmp_path / "again", TINY, seed=3, jobs=2, progress=False)
    assert tree_bytes(tiny.audio_dir) == tree_bytes(other.audio_dir)
    different = generate(tmp_path / "seed4", TINY, seed=4, jobs=2, progress=False)
    assert tree_bytes(different.audio_dir) != tree_bytes(tiny.audio_dir)


def test_layout_audio_and_events_agree(tiny):
    info = json.loads((tiny.audio_dir / "dataset.json").read_text())
    assert info["labels"] == list(TUT_LABELS) and tiny.splits() == available_split_names()
    for split in tiny.splits():
        meta = tiny.meta(split)
        tiny.check_audio(split)
        for name in tiny.files(split):
            sf = soundfile.info(str(tiny.audio_path(name)))
            assert sf.samplerate == 44100 and sf.subtype == "PCM_16"
            assert sf.frames == round(info["file_durations"][name] * 44100)
            events = meta[meta.filename == name]
            assert (events.offset <= info["file_durations"][name] + 1e-9).all() and (
                events.onset >= 0
            ).all()
            y, _ = soundfile.read(str(tiny.audio_path(name)))
            assert np.isfinite(y).all() and np.abs(y).max() <= 0.9 + 1e-4
    planned = sum(info["file_durations"].values()) / 60
    assert planned == pytest.approx(TINY.dev_minutes + TINY.eval_minutes, rel=0.01)


def test_existing_data_set_is_reused(tiny):
    before = {p: p.stat().st_mtime_ns for p in tiny.audio_dir.rglob("*.wav")}
    generate(tiny.audio_dir, TINY, seed=3, progress=False)
    assert before == {p: p.stat().st_mtime_ns for p in tiny.audio_dir.rglob("*.wav")}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Dataset:
    return generate(tmp_path_factory.mktemp("small"), "small", seed=0, progress=False)


def test_small_preset_has_every_class_and_the_real_duration_profile(small):
    dev = class_stats(small.meta("development"))
    evaluation = class_stats(small.meta("evaluation"))
    assert set(dev.index) == set(TUT_LABELS) and set(evaluation.index) == set(TUT_LABELS)
    total_minutes = (
        sum(json.loads((small.audio_dir / "dataset.json").read_text())["file_durations"].values())
        / 60
    )
    assert 10 <= total_minutes <= 20
    real_median = np.array([np.exp(FACTS_BY_LABEL[label].log_mu) for label in dev.index])
    rho = spearmanr(dev["mean_duration"], real_median).statistic
    assert rho > 0.8, f"synthetic mean durations do not follow the real ones (Spearman {rho:.2f})"
    # the imbalance the paper is about: the longest class has many times the frames of the shortest
    assert dev.loc["fan", "n_frames"] > 10 * dev.loc["mouse clicking", "n_frames"]


def test_every_class_has_a_model_and_real_facts():
    assert set(MODELS) == set(TUT_LABELS) == {f.label for f in CLASS_FACTS}


@pytest.mark.parametrize("label", TUT_LABELS)
def test_sound_models_vary_from_instance_to_instance(label):
    rng = np.random.default_rng(0)
    n = int(0.8 * 22050)
    a, b = MODELS[label](n, 22050, rng), MODELS[label](n, 22050, rng)
    for x in (a, b):
        assert x.shape == (n,) and np.isfinite(x).all()
        loud = np.abs(x) > 1e-4 * np.abs(x).max()
        assert np.sqrt(np.mean(x[loud] ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert not np.allclose(a, b)


def temporal_variation(x: np.ndarray, sr: int) -> float:
    """Mean over mel bands of the standard deviation over frames of the log-mel energy."""
    return float(log_mel(x, sr).std(axis=0).mean())


def test_long_classes_are_stationary_and_short_ones_are_not():
    sr, n = 22050, 22050 * 4
    rng = np.random.default_rng(1)
    stationary = ["fan", "water tap running", "large vehicle"]
    transient = ["keyboard typing", "mouse wheeling", "dishes"]
    flat = max(
        np.mean([temporal_variation(MODELS[c](n, sr, rng), sr) for _ in range(3)])
        for c in stationary
    )
    busy = min(
        np.mean([temporal_variation(MODELS[c](n, sr, rng), sr) for _ in range(3)])
        for c in transient
    )
    assert flat < busy
    assert set(stationary) <= TEXTURES and not set(transient) & TEXTURES


@pytest.mark.parametrize("scene", ["office", "home", "residential_area", "city_center"])
def test_backgrounds(scene):
    x = background(scene, 22050, 22050, np.random.default_rng(0))
    assert np.isfinite(x).all() and np.sqrt(np.mean(x**2)) == pytest.approx(1.0, rel=1e-3)


def test_timeline_mode_keeps_the_real_annotations(tut_meta, tmp_path):
    mini = tmp_path / "meta"
    for rel, n_lines in (("meta/meta_development.txt", 25), ("meta/meta_evaluation.txt", 12)):
        (mini / rel).parent.mkdir(parents=True, exist_ok=True)
        lines = (tut_meta / rel).read_text().splitlines(keepends=True)
        keep = [lines[0], *[ln for ln in lines[1:] if "acoustic-scenes-2016" in ln][:n_lines]]
        (mini / rel).write_text("".join(keep))
    ds = generate(tmp_path / "out", "tut-timeline", seed=0, meta_dir=mini, jobs=1, progress=False)
    for split in ("development", "evaluation"):
        source = (mini / "meta" / f"meta_{split}.txt").read_bytes()
        assert (ds.meta_dir / "meta" / f"meta_{split}.txt").read_bytes() == source
        ds.check_audio(split)
        for name in ds.files(split):
            assert soundfile.info(str(ds.audio_path(name))).duration == pytest.approx(30.0)
    assert (
        read_meta(ds.meta_dir / "meta" / "meta_development.txt")
        .filename.str.startswith("TUT-")
        .all()
    )


def test_unknown_preset_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        generate(tmp_path, "huge")


def test_timeline_without_metadata_is_a_clear_error(tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)
    with pytest.raises(FileNotFoundError, match="no TUT metadata"):
        generate(tmp_path / "out", "tut-timeline", meta_dir=tmp_path / "nothing", progress=False)


def test_presets_carry_four_folds_dealt_scene_by_scene(tiny):
    """Each development file is in exactly one test fold; folds are even; fold files hold the same events."""
    dev = tiny.meta("development")
    tested = []
    for k in range(1, 5):
        test, train = tiny.files(f"fold{k}-evaluation"), tiny.files(f"fold{k}-development")
        assert set(test).isdisjoint(train) and set(test) | set(train) == set(
            tiny.files("development")
        )
        tested += test
        for split in (f"fold{k}-evaluation", f"fold{k}-development"):
            meta = tiny.meta(split)
            same = dev[dev.filename.isin(set(meta.filename))]
            assert len(meta) == len(same)
    assert sorted(tested) == sorted(tiny.files("development"))
    sizes = [len(tiny.files(f"fold{k}-evaluation")) for k in range(1, 5)]
    assert max(sizes) - min(sizes) <= 1


def test_a_data_set_generated_again_keeps_its_audio_signature(tiny, tmp_path):
    """Same seed, same bytes and same modification times: runs keep their identity on another machine."""
    again = generate(tmp_path / "elsewhere", TINY, seed=3, jobs=1, progress=False)
    files = tiny.files("development") + tiny.files("evaluation")
    assert again.audio_signature(files) == tiny.audio_signature(files)
    assert again.fingerprint == tiny.fingerprint
