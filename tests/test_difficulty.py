"""The generator's per-class difficulty (sedlib.data.synthetic.difficulty) and its report (sedlib.report.difficulty)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sedlib.data.layout import TUT_LABELS
from sedlib.data.synthetic import difficulty
from sedlib.data.synthetic.classes import DEV_SCENE_MINUTES
from sedlib.errors import ConfigError
from sedlib.features import hz_to_mel, mel_to_hz
from sedlib.study.results import ResultSet

SR = 16000


def test_band_ratios_of_white_noises_equal_their_level_difference_in_every_band():
    rng = np.random.default_rng(0)
    n = SR * 20
    event, room = 0.3 * rng.standard_normal(n), 0.03 * rng.standard_normal(n)
    ratios = difficulty.band_ratio_db(event, room, SR)
    assert ratios.shape == (64,)
    # 20 log10(0.3 / 0.03) = 20 dB in every band, up to the noise of the estimate
    np.testing.assert_allclose(ratios, 20.0, atol=0.7)


def test_a_band_where_the_room_is_silent_is_infinitely_louder():
    t = np.arange(SR * 2) / SR
    room = np.sin(2 * np.pi * 200 * t)
    event = np.sin(2 * np.pi * 5000 * t)
    ratios = difficulty.band_ratio_db(event, room, SR)
    assert np.isinf(ratios).any() or ratios.max() > 60
    with pytest.raises(ConfigError, match="equally long"):
        difficulty.band_ratio_db(event[:-1], room, SR)


@pytest.mark.parametrize("offset", [-10.0, -30.0])
def test_the_offset_lowers_every_band_by_the_db_asked(offset):
    as_generated = difficulty.band_ratios("car", "city_center", 0.0, draws=2)
    harder = difficulty.band_ratios("car", "city_center", offset, draws=2)
    np.testing.assert_allclose(harder, as_generated + offset, atol=1e-6)


def test_the_draws_are_seeded():
    one = difficulty.band_ratios("dishes", "home", -30.0, draws=2, seed=3)
    np.testing.assert_array_equal(
        one, difficulty.band_ratios("dishes", "home", -30.0, draws=2, seed=3)
    )
    assert not np.array_equal(one, difficulty.band_ratios("dishes", "home", -30.0, draws=2, seed=4))
    assert one.shape == (2, 64)


def test_a_bird_is_loudest_in_its_own_band_above_a_low_pass_background():
    ratios = difficulty.band_ratios("bird singing", "residential_area", draws=2)
    edges = mel_to_hz(
        np.linspace(hz_to_mel(0.0), hz_to_mel(difficulty.MEASURE_SAMPLE_RATE / 2), 64 + 2)
    )
    centres = edges[1:-1]
    loudest = centres[np.argmax(ratios, axis=1)]
    # the model sings from 2 to 7.5 kHz; the residential background is low-pass below 400 Hz
    assert ((loudest > 1500) & (loudest < 16000)).all(), loudest


def test_scene_share_is_events_times_their_mean_duration_over_the_scenes_time():
    # (object) squeaking: 3 office events, log-normal mu -0.678, sigma 0.296, longest 0.76 s
    mean_s = math.exp(-0.678 + 0.296**2 / 2)
    assert difficulty.scene_share("(object) squeaking") == pytest.approx(
        3 * mean_s / (60 * DEV_SCENE_MINUTES["office"]), rel=1e-12
    )
    assert difficulty.scene_share("fan") == pytest.approx(1.0, abs=1e-3)


def test_unknown_classes_scenes_and_draws_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown class 'fans'"):
        difficulty.scene_share("fans")
    with pytest.raises(ConfigError, match="unknown scene 'beach'"):
        difficulty.band_ratios("car", "beach")
    with pytest.raises(ConfigError, match="draws"):
        difficulty.band_ratios("car", "city_center", draws=0)
    with pytest.raises(ConfigError, match="ebr_offset_db"):
        difficulty.band_ratios("car", "city_center", float("nan"))


def test_every_class_is_measured():
    table = difficulty.class_difficulty(-30.0, draws=1)
    assert sorted(table.index) == sorted(TUT_LABELS)
    assert table["bands_above"].between(0, 1).all() and table["scene_share"].between(0, 1).all()
    assert table.loc["fan", "scene_share"] == pytest.approx(1.0, abs=1e-3)


def _calibration_set(per_class: dict[str, list[float | None]], micro: list[float]) -> ResultSet:
    table = pd.DataFrame({"micro_f": micro, **{f"f:{k}": v for k, v in per_class.items()}})
    header = {"data": {"name": "synthetic-tut-timeline-ebr-30-seed0"}, "settings": {}}
    return ResultSet("calibration", "x", header, table, {})


def test_the_report_sets_bce_per_class_beside_the_paper_and_the_measurements(monkeypatch):
    from sedlib.report import difficulty as report

    measured = pd.DataFrame(
        {
            "loudest_band_db": [6.0, 40.0, 30.0, -3.0],
            "bands_above": [0.5, 0.25, 0.6, 0.0],
            "scene_share": [1.0, 0.2, 0.01, 0.3],
        },
        index=pd.Index(["fan", "bird singing", "glass jingling", "car"], name="event_label"),
    )
    asked = []

    def fake(offset, draws=3, seed=0):
        asked.append(offset)
        return measured

    monkeypatch.setattr(difficulty, "class_difficulty", fake)
    result = _calibration_set(
        {
            "fan": [1.0, 0.9],
            "bird singing": [0.9, 0.8],
            "glass jingling": [None, 0.0],
            "car": [0.2, 0.1],
        },
        micro=[0.5, 0.4],
    )
    frame = report.difficulty_table(result)
    assert asked == [-30.0]  # the offset of the set's data, read from its name
    assert list(frame.index) == ["fan", "bird singing", "car", "glass jingling"]  # best first
    assert frame.loc["fan", "f_here"] == pytest.approx(95.0)
    assert frame.loc["glass jingling", "f_here"] == 0.0  # undefined counts as 0
    assert frame.loc["fan", "f_paper"] == pytest.approx(17.86)  # the paper's Table 2, BCE
    assert frame.loc["bird singing", "bands_above"] == pytest.approx(25.0)
    assert frame.attrs["micro_f"] == pytest.approx(45.0)
    sentence = report.difficulty_sentence(frame)
    assert "are fan (95 % here, 17.9 % in the paper: it sounds through 100 %" in sentence
    assert "bird singing (85 % here" in sentence and "lies 40 dB above the background" in sentence
    assert "car" not in sentence.split("are ", 1)[1].split(".")[0]  # below micro F: not named
    assert "2 of 4 classes still rise at least 10 dB" in sentence
    assert "BCE misses 1 of those 2" in sentence
    assert "1 class sounds through at least 50% of its scenes' time (fan)" in sentence
