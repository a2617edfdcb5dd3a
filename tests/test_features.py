"""Log-mel features: shape, dtype, sample rates, and an independent numpy reference."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from scipy.signal import get_window

from sedlib.features import frame_geometry, log_mel, log_mel_batch, n_frames

SAMPLE_RATES = [16000, 22050, 44100, 48000]


def reference_log_mel(y: np.ndarray, sr: int, n_mels: int = 64) -> np.ndarray:
    """Frame by frame with numpy: window centred on each 20 ms label frame."""
    win, hop = round(0.04 * sr), round(0.02 * sr)
    n_fft = 1 << (win - 1).bit_length()
    left = (win - hop) // 2
    padded = np.concatenate([np.zeros(left), y, np.zeros(win)])
    window = get_window("hann", win, fftbins=True)
    frames = np.stack([padded[i * hop : i * hop + win] * window for i in range(len(y) // hop)])
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2  # window position does not change |X|
    mel_fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    return np.log(power @ mel_fb.T + 1e-10)


@pytest.fixture
def noise() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(44100 * 3) * 0.1


@pytest.mark.parametrize("sr", SAMPLE_RATES)
def test_ten_seconds_give_500_frames(sr):
    y = np.random.default_rng(sr).standard_normal(sr * 10) * 0.05
    feats = log_mel(y, sr)
    assert feats.shape == (500, 64) and feats.dtype == np.float32
    assert n_frames(len(y), sr) == 500


@pytest.mark.parametrize("sr", SAMPLE_RATES)
def test_matches_independent_reference(sr):
    y = np.random.default_rng(1).standard_normal(int(sr * 1.37)) * 0.1
    np.testing.assert_allclose(log_mel(y, sr), reference_log_mel(y, sr), atol=2e-4, rtol=1e-5)


def test_tone_peaks_in_its_mel_band():
    sr = 22050
    t = np.arange(sr * 2) / sr
    feats = log_mel(0.5 * np.sin(2 * np.pi * 1000.0 * t), sr)
    centres = librosa.mel_frequencies(n_mels=64 + 2, fmin=0, fmax=sr / 2)[1:-1]
    expected_band = int(np.argmin(np.abs(centres - 1000.0)))
    assert abs(int(np.median(feats.argmax(axis=1))) - expected_band) <= 1


def test_silence_is_finite():
    feats = log_mel(np.zeros(16000), 16000)
    assert np.isfinite(feats).all()
    assert feats.max() == pytest.approx(np.log(1e-10), abs=1e-4)


def test_stereo_is_downmixed_by_averaging(noise):
    other = np.random.default_rng(5).standard_normal(noise.shape) * 0.1
    stereo = np.stack([noise, other])
    np.testing.assert_allclose(
        log_mel(stereo, 44100), log_mel((noise + other) / 2, 44100), atol=1e-5
    )


def test_frame_geometry_44k():
    assert frame_geometry(44100) == {
        "win_length": 1764,
        "hop_length": 882,
        "n_fft": 2048,
        "pad_left": 441,
    }


def test_torch_batch_path_agrees(noise):
    batch = np.stack([noise, noise[::-1].copy() * 0.3])
    got = log_mel_batch(batch, 44100, device="cpu").numpy()
    assert got.shape == (2, len(noise) // 882, 64)
    for i in range(2):
        np.testing.assert_allclose(got[i], log_mel(batch[i], 44100), atol=1e-3)


@pytest.mark.parametrize(
    "y,sr,err,match",
    [
        (np.zeros((2, 2, 100)), 16000, ValueError, r"1-D .* or 2-D .*shape \(2, 2, 100\)"),
        (np.zeros(16000, dtype=np.int16), 16000, TypeError, "floating point.*int16"),
        (np.array([0.0, np.nan] * 8000), 16000, ValueError, "non-finite sample .*index 1"),
        (np.zeros(100), 16000, ValueError, "shorter than one hop"),
        (np.zeros(16000), 0, ValueError, "sr must be a positive integer"),
        (np.zeros(16000), 16000.5, ValueError, "sr must be a positive integer"),
    ],
)
def test_bad_input_is_named(y, sr, err, match):
    with pytest.raises(err, match=match):
        log_mel(y, sr)


def test_batch_bad_shape():
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        log_mel_batch(torch.zeros(10), 16000)


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000])
def test_filterbank_and_spectrogram_equal_librosa(sr):
    """sedlib needs no librosa at run time; librosa stays the reference it is tested against."""
    import librosa

    from sedlib.features import frame_geometry, mel_filterbank

    geo = frame_geometry(sr)
    reference = librosa.filters.mel(sr=sr, n_fft=geo["n_fft"], n_mels=64, fmin=0.0, fmax=sr / 2)
    np.testing.assert_allclose(mel_filterbank(sr, geo["n_fft"], 64), reference, rtol=0, atol=1e-7)
    y = np.random.default_rng(sr).standard_normal(sr * 3) * 0.1
    from sedlib.features import _padding, _stft_power

    n_out, left, right = _padding(len(y), geo)
    padded = np.pad(y, (left, right))
    spec = librosa.stft(
        padded,
        n_fft=geo["n_fft"],
        hop_length=geo["hop_length"],
        win_length=geo["win_length"],
        window="hann",
        center=False,
    )[:, :n_out]
    np.testing.assert_allclose(
        _stft_power(padded, geo, n_out), np.abs(spec) ** 2, rtol=1e-10, atol=1e-12
    )
