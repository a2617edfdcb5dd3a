"""Checkpoints of one training: written atomically after every epoch, refused when foreign.

``checkpoint.pt`` holds the model, the optimizer, the random state and the
:class:`~sedlib.training.loop.RunState`; ``best.pt`` the model of the best
epoch so far. Both carry the run's identity, so a checkpoint of another
configuration is never resumed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch

from sedlib.errors import StateError
from sedlib.training.loop import RunState
from sedlib.util.io import CorruptFileError, atomic_write_bytes

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


def save(path: Path, obj: dict) -> None:
    """``torch.save`` through a temporary file and a rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load(path: Path, device: torch.device) -> dict:
    """``torch.load`` with an error that names a damaged file."""
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CorruptFileError(
            f"{path} cannot be read ({err}); delete it to train this part of the run again"
        ) from None


def save_checkpoint(
    folder: Path, identity: str, model, optimizer, state: RunState, device: torch.device
) -> None:
    """Everything needed to resume exactly where this epoch ended."""
    save(
        folder / CHECKPOINT,
        {
            "identity": identity,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "state": asdict(state),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        },
    )


def resume(folder: Path, identity: str, model, optimizer, device: torch.device) -> RunState:
    """The state of the last checkpoint in ``folder`` (a fresh one if there is none).

    Raises
    ------
    RuntimeError
        When the checkpoint belongs to another run (another identity).
    """
    path = folder / CHECKPOINT
    if not path.is_file():
        return RunState()
    saved = load(path, device)
    if saved.get("identity") != identity:
        raise StateError(
            f"{path} belongs to run {saved.get('identity')!r}, not {identity!r}; use a new run folder"
        )
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["rng_cpu"])
    if device.type == "cuda" and saved.get("rng_cuda") is not None:
        torch.cuda.set_rng_state(saved["rng_cuda"], device)
    return RunState(**saved["state"])


def save_best(folder: Path, identity: str, model, epoch: int) -> None:
    """The model of the best epoch so far."""
    save(folder / BEST, {"identity": identity, "model": model.state_dict(), "epoch": epoch})


def load_best(folder: Path, identity: str, model, device: torch.device) -> int:
    """Load the kept model into ``model``; returns its epoch."""
    saved = load(folder / BEST, device)
    if saved.get("identity") != identity:
        raise StateError(
            f"{folder / BEST} belongs to run {saved.get('identity')!r}, not {identity!r}"
        )
    model.load_state_dict(saved["model"])
    return int(saved["epoch"])
