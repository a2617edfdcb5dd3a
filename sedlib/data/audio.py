"""Reading audio with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sedlib.errors import SedlibError


class AudioError(SedlibError, RuntimeError):
    """An audio file cannot be read; the message names the file."""


def audio_info(path: str | Path) -> tuple[int, int]:
    """Sample rate and number of frames of an audio file, without reading its samples."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as err:  # soundfile raises several types for corrupt files
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    return int(info.samplerate), int(info.frames)


def load_audio(path: str | Path, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32, resampled to ``sr`` when it differs.

    Resampling is silent: :func:`sedlib.data.cache.build_features` says once per
    split which rates it resamples.

    Parameters
    ----------
    path : path-like
        WAV/FLAC/OGG file (anything libsndfile reads).
    sr : int, optional
        Wanted sample rate; ``None`` keeps the file's.

    Returns
    -------
    (np.ndarray, int)
        Samples ``(n,)`` in float32, channels averaged, and the sample rate.

    Raises
    ------
    AudioError
        When the file is missing, unreadable, empty, or holds non-finite samples.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        data, file_sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise AudioError(f"audio file {path} holds no samples")
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(y).all():
        raise AudioError(f"audio file {path} holds non-finite samples")
    if sr is not None and file_sr != sr:
        import soxr

        # soxr's high-quality resampler, exactly what librosa.resample(res_type="soxr_hq") runs
        y = soxr.resample(y, file_sr, sr, quality="HQ").astype(np.float32)
        file_sr = sr
    return np.ascontiguousarray(y, dtype=np.float32), int(file_sr)
