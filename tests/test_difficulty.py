"""How audible the generator makes each class (sedlib.data.synthetic.difficulty) and the chapter's
table of BCE class by class (sedlib.report.difficulty)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import soundfile

from sedlib.data.layout import TUT_LABELS
from sedlib.data.synthetic import difficulty
from sedlib.errors import ConfigError
from sedlib.features import hz_to_mel, log_mel, mel_to_hz
from sedlib.study.results import ResultSet

SR = 16000


def test_as_written_is_what_a_16_bit_wav_gives_back():
    y = np.random.default_rng(1).uniform(-1.2, 1.2, 5000)
    buffer = io.BytesIO()
    soundfile.write(buffer, y, SR, subtype="PCM_16", format="WAV")
    buffer.seek(0)
    np.testing.assert_array_equal(difficulty.as_written(y), soundfile.read(buffer)[0])


@pytest.mark.parametrize("level_db", [0.0, 20.0, -10.0])
def test_white_noises_rise_by_their_power_sum_in_every_band(level_db):
    rng = np.random.default_rng(0)
    n = SR * 20
    room = 0.02 * rng.standard_normal(n)
    event = 0.02 * 10 ** (level_db / 20) * rng.standard_normal(n)
    rises = difficulty.band_rise_db(event, room, SR)
    assert rises.shape == (64,)
    # uncorrelated powers add: 10 log10(1 + 10^(level/10)) in every band
    np.testing.assert_allclose(rises, 10 * np.log10(1 + 10 ** (level_db / 10)), atol=0.3)


def _written_reference(event, room, sr):
    """The rise through a real 16-bit WAV writer and reader, mix scaled to WRITTEN_PEAK."""
    scale = difficulty.WRITTEN_PEAK / np.max(np.abs(room + event))
    powers = []
    for y in (room + event, room):
        buffer = io.BytesIO()
        soundfile.write(buffer, y * scale, sr, subtype="PCM_16", format="WAV")
        buffer.seek(0)
        back = soundfile.read(buffer)[0]
        powers.append(np.exp(log_mel(back, sr).astype(np.float64)).mean(axis=0))
    return 10 * np.log10(powers[0] / powers[1])


def _low_pass_room(n, seed=2):
    from scipy import signal

    sos = signal.butter(8, 500, btype="lowpass", fs=SR, output="sos")
    return 0.5 * signal.sosfilt(sos, np.random.default_rng(seed).standard_normal(n))


def test_the_rise_is_that_of_the_file_as_written_and_read_back():
    # a faint tone high above a low-pass room: its band is near the 16-bit noise floor
    n = SR * 2
    room = _low_pass_room(n)
    tone = 3e-6 * np.sin(2 * np.pi * 6000 * np.arange(n) / SR)
    rises = difficulty.band_rise_db(tone, room, SR)
    np.testing.assert_allclose(rises, _written_reference(tone, room, SR), atol=1e-6)
    # the level of the signals before writing does not matter: the mix is normalised first
    np.testing.assert_allclose(
        difficulty.band_rise_db(100 * tone, 100 * room, SR), rises, atol=1e-6
    )
    np.testing.assert_array_equal(difficulty.band_rise_db(np.zeros_like(room), room, SR), 0.0)


def test_an_event_far_below_the_quantisation_noise_is_not_seen():
    n = SR * 2
    faint = 1e-9 * np.sin(2 * np.pi * 6000 * np.arange(n) / SR)
    np.testing.assert_allclose(
        difficulty.band_rise_db(faint, _low_pass_room(n), SR), 0.0, atol=0.01
    )


def test_a_tone_rises_in_its_own_band_only():
    rng = np.random.default_rng(3)
    room = 0.1 * rng.standard_normal(SR * 4)
    tone = 0.1 * np.sin(2 * np.pi * 3000 * np.arange(SR * 4) / SR)
    rises = difficulty.band_rise_db(tone, room, SR)
    centres = _band_centres(SR)
    assert abs(centres[np.argmax(rises)] - 3000) < 200
    assert (rises[np.abs(centres - 3000) > 1500] < 0.5).all()


def _band_centres(sr: int) -> np.ndarray:
    return mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), 64 + 2))[1:-1]


def test_bad_signals_are_refused_by_name():
    noise = np.random.default_rng(4).standard_normal(SR)
    with pytest.raises(ConfigError, match="equally long"):
        difficulty.band_rise_db(noise[:-1], noise, SR)
    with pytest.raises(ConfigError, match="silent"):
        difficulty.band_rise_db(np.zeros(SR), np.zeros(SR), SR)
    with pytest.raises(ConfigError, match="peak"):
        difficulty.band_rise_db(noise, noise, SR, peak=1.5)


def test_a_harder_setting_lowers_the_rise():
    as_generated = difficulty.band_rises("dishes", "home", 0.0, draws=2)
    harder = difficulty.band_rises("dishes", "home", -30.0, draws=2)
    assert as_generated.shape == harder.shape == (2, 64)
    assert (harder.max(axis=1) < as_generated.max(axis=1) - 5).all()
    # where the event dominates as generated, 30 dB quieter takes about 30 dB off
    top = np.argmax(as_generated[0])
    assert as_generated[0, top] - harder[0, top] == pytest.approx(30.0, abs=3.0)


def test_the_draws_are_seeded_per_class_scene_and_draw():
    one = difficulty.band_rises("car", "city_center", -30.0, draws=2, seed=3)
    np.testing.assert_array_equal(
        one, difficulty.band_rises("car", "city_center", -30.0, draws=2, seed=3)
    )
    assert not np.array_equal(
        one, difficulty.band_rises("car", "city_center", -30.0, draws=2, seed=4)
    )
    assert not np.array_equal(
        one, difficulty.band_rises("car", "residential_area", -30.0, draws=2, seed=3)
    )


def test_a_bird_rises_in_its_own_band_above_a_low_pass_background():
    rises = difficulty.band_rises("bird singing", "residential_area", draws=2)
    loudest = _band_centres(difficulty.MEASURE_SAMPLE_RATE)[np.argmax(rises, axis=1)]
    # the model sings between 2 and 7.5 kHz; the residential background is low-pass below 400 Hz
    assert ((loudest > 1500) & (loudest < 9000)).all(), loudest


def test_unknown_classes_scenes_and_counts_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown class 'fans'"):
        difficulty.band_rises("fans", "office")
    with pytest.raises(ConfigError, match="unknown scene 'beach'"):
        difficulty.band_rises("car", "beach")
    for bad in ({"draws": 0}, {"seed": -1}, {"sr": 8000}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            difficulty.band_rises("car", "city_center", **bad)
    with pytest.raises(ConfigError, match="ebr_offset_db"):
        difficulty.band_rises("car", "city_center", float("nan"))


def test_every_class_is_measured():
    table = difficulty.class_audibility(-30.0, draws=1)
    assert sorted(table.index) == sorted(TUT_LABELS)
    assert table["bands_raised"].between(0, 1).all() and (table["largest_rise_db"] >= -0.5).all()


# ------------------------------------------------------------------ the report


def _calibration_set(
    per_class, n_ref, micro, name="synthetic-tut-timeline-ebr-30-seed0"
) -> ResultSet:
    table = pd.DataFrame({"micro_f": micro, **{f"f:{k}": v for k, v in per_class.items()}})
    runs = {
        f"bce-s{s}": {
            "evaluation": {
                "n_segments": 200,
                "per_class": {label: {"n_ref": count} for label, count in n_ref.items()},
            }
        }
        for s in range(len(micro))
    }
    return ResultSet("calibration", "x", {"data": {"name": name}, "settings": {}}, table, runs)


MEASURED = pd.DataFrame(
    {
        "largest_rise_db": [7.0, 40.0, 30.0, 2.0],
        "bands_raised": [0.5, 0.25, 0.6, 0.0],
    },
    index=pd.Index(["fan", "bird singing", "glass jingling", "car"], name="event_label"),
)


@pytest.fixture
def measured(monkeypatch):
    asked = []

    def fake(offset, draws=3, seed=0):
        asked.append(offset)
        return MEASURED

    monkeypatch.setattr(difficulty, "class_audibility", fake)
    return asked


def test_the_report_sets_bce_per_class_beside_the_paper_and_the_measurements(measured):
    from sedlib.report import difficulty as report

    result = _calibration_set(
        {
            "fan": [1.0, 0.9],
            "bird singing": [0.9, 0.8],
            "glass jingling": [None, 0.0],
            "car": [0.2, 0.1],
        },
        {"fan": 50, "bird singing": 20, "glass jingling": 1, "car": 40},
        micro=[0.5, 0.4],
    )
    frame = report.difficulty_table(result)
    assert measured == [-30.0]  # the offset of the set's data, read from its name
    assert list(frame.index) == ["fan", "bird singing", "car", "glass jingling"]  # best first
    assert frame.loc["fan", "f_here"] == pytest.approx(95.0)
    assert frame.loc["glass jingling", "f_here"] == 0.0  # undefined counts as 0
    assert frame.loc["fan", "f_paper"] == pytest.approx(17.86)  # the paper's Table 2, BCE
    assert frame.loc["car", "active"] == pytest.approx(20.0)  # 40 of 200 segments
    assert frame.loc["bird singing", "bands_raised"] == pytest.approx(25.0)
    assert frame.attrs["micro_f"] == pytest.approx(45.0)
    assert report.sides(frame) == (["fan", "bird singing"], ["car"])  # 10 points apart or more
    assert report.loud_classes(frame) == (["bird singing", "glass jingling"], ["glass jingling"])


def test_the_report_refuses_data_the_generator_did_not_make(measured):
    from sedlib.report import difficulty as report

    result = _calibration_set({"fan": [1.0]}, {"fan": 1}, micro=[0.5], name="tut-sed-2016")
    with pytest.raises(ConfigError, match="tut-sed-2016 is not a synthetic data set"):
        report.difficulty_table(result)
