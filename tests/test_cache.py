"""Feature cache: alignment with the audio and labels, reuse, atomic writes, clips, bad audio."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from sedlib.data import Dataset, label_roll
from sedlib.data.audio import AudioError, load_audio
from sedlib.data.cache import FeatureConfig, build_features, cache_dir, cache_path
from sedlib.data.synthetic import generate
from sedlib.data.synthetic.generate import Preset
from sedlib.features import log_mel
from sedlib.training.split import cut_clips

TINY = Preset(dev_minutes=1.5, eval_minutes=0.5, recording_s=30.0, min_events=(1, 1))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    return generate(tmp_path_factory.mktemp("data"), TINY, seed=1, jobs=1, progress=False)


@pytest.fixture
def cache_root(tmp_path):
    return tmp_path / "cache"


def test_features_and_labels_are_aligned_per_file(dataset, cache_root):
    feats = build_features(dataset, "development", cache_root=cache_root, jobs=1, progress=False)
    meta = dataset.meta("development")
    assert feats.files == dataset.files("development")
    assert feats.label_names == dataset.labels
    for i, name in enumerate(feats.files[:3]):
        x, y = feats.file(i)
        audio, sr = load_audio(dataset.audio_path(name))
        np.testing.assert_array_equal(x, log_mel(audio, sr))
        np.testing.assert_array_equal(
            y, label_roll(meta[meta.filename == name], list(dataset.labels), len(x))
        )
        assert feats.durations[i] == pytest.approx(len(audio) / sr)
    assert feats.features.dtype == np.float32 and feats.labels.dtype == np.uint8


def test_cache_is_reused_and_written_atomically(dataset, cache_root):
    first = build_features(dataset, "evaluation", cache_root=cache_root, jobs=2, progress=False)
    folder = cache_dir(dataset, FeatureConfig(), cache_root)
    entry = cache_path(dataset, "evaluation", FeatureConfig(), cache_root)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [entry.name, entry.with_suffix(".json").name]
    )
    assert entry.name.startswith("evaluation-") and entry.suffix == ".npz"
    stamp = entry.stat().st_mtime_ns
    second = build_features(dataset, "evaluation", cache_root=cache_root, progress=False)
    assert entry.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.features, second.features)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.files == second.files and first.file_durations == second.file_durations


def test_feature_parameters_are_part_of_the_key(dataset, cache_root):
    a = cache_dir(dataset, FeatureConfig(), cache_root)
    b = cache_dir(dataset, FeatureConfig(n_mels=40), cache_root)
    assert a != b and a.parent == b.parent
    assert (
        build_features(
            dataset, "evaluation", FeatureConfig(n_mels=40), cache_root=cache_root, progress=False
        ).features.shape[1]
        == 40
    )


def test_clips_cover_every_frame(dataset, cache_root):
    feats = build_features(dataset, "development", cache_root=cache_root, progress=False)
    clips = cut_clips(feats, clip_frames=500)
    assert clips.features.shape[1:] == (500, 64) and clips.labels.shape[1:] == (500, 25)
    covered = [
        np.zeros(int(feats.offsets[i + 1] - feats.offsets[i]), bool)
        for i in range(len(feats.files))
    ]
    for c in range(len(clips)):
        i, start = int(clips.file_index[c]), int(clips.start_frame[c])
        x, y = feats.file(i)
        take = int(clips.mask[c].sum())
        np.testing.assert_array_equal(clips.features[c, :take].numpy(), x[start : start + take])
        np.testing.assert_array_equal(clips.labels[c, :take].numpy(), y[start : start + take])
        covered[i][start : start + take] = True
    assert all(c.all() for c in covered)


def test_short_file_gives_one_padded_clip(dataset, cache_root):
    feats = build_features(dataset, "evaluation", cache_root=cache_root, progress=False)
    clips = cut_clips(feats, clip_frames=2000)
    assert len(clips) == len(feats.files) and not clips.mask.all()
    assert (clips.labels[~clips.mask] == 0).all()


def copy_dataset(dataset: Dataset, dest) -> Dataset:
    shutil.copytree(dataset.audio_dir, dest)
    return Dataset.from_folder(dest)


def test_missing_audio_is_listed(dataset, tmp_path, cache_root):
    ds = copy_dataset(dataset, tmp_path / "copy")
    victim = ds.files("evaluation")[0]
    ds.audio_path(victim).unlink()
    with pytest.raises(FileNotFoundError, match=victim.split("/")[-1]):
        build_features(ds, "evaluation", cache_root=cache_root, progress=False)


def test_corrupt_audio_names_the_file_and_writes_no_cache(dataset, tmp_path, cache_root):
    ds = copy_dataset(dataset, tmp_path / "copy")
    victim = ds.files("evaluation")[1]
    ds.audio_path(victim).write_bytes(b"RIFF\x00\x00not really a wave file")
    with pytest.raises(AudioError, match=victim.split("/")[-1]):
        build_features(ds, "evaluation", cache_root=cache_root, jobs=1, progress=False)
    assert not list(cache_root.rglob("*.npz"))


def test_other_sample_rates_are_resampled_and_reported(dataset, tmp_path, cache_root, caplog):
    ds = copy_dataset(dataset, tmp_path / "copy")
    for name in ds.files("evaluation"):
        y, sr = soundfile.read(str(ds.audio_path(name)))
        soundfile.write(str(ds.audio_path(name)), y[::2], sr // 2, subtype="PCM_16")
    with caplog.at_level("WARNING", logger="sedlib.data.cache"):
        feats = build_features(ds, "evaluation", cache_root=cache_root, jobs=1, progress=False)
    assert "resampling audio from [22050] Hz to 44100 Hz" in caplog.text
    assert feats.features.shape[0] == sum(round(d * 44100) // 882 for d in feats.durations)
