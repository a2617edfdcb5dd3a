"""Provenance of a run: code version, package versions, machine and device."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sedlib.settings import REPO_ROOT

#: Packages whose versions are recorded with every result.
TRACKED_PACKAGES = (
    "sedlib",
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "soxr",
    "soundfile",
    "sed_eval",
    "sed_scores_eval",
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """Commit of the checkout, with ``-dirty`` appended when it has local changes; None outside git."""
    try:
        commit = _git(repo, "rev-parse", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None when it is missing."""
    versions: dict[str, str | None] = {}
    for name in names:
        if name == "sedlib":  # the code that runs, also when imported from a checkout on PYTHONPATH
            from sedlib import __version__

            versions[name] = __version__
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info() -> dict[str, Any]:
    """The compute device torch would use: CUDA name and count, or the CPU with its thread count."""
    import torch

    info: dict[str, Any] = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    if torch.cuda.is_available():
        info.update(
            device="cuda",
            name=torch.cuda.get_device_name(0),
            count=torch.cuda.device_count(),
            cuda=torch.version.cuda,
        )
    else:
        info.update(device="cpu", name=platform.processor() or platform.machine())
    return info


def slurm_task() -> dict[str, str | None] | None:
    """The SLURM job, array task and node this process runs in (None outside a SLURM job).

    ``job_id`` is the array's job id for a task of a job array, ``task_id`` its
    index (None for a job that is no array).
    """
    if "SLURM_JOB_ID" not in os.environ:
        return None
    env = os.environ
    return {
        "job_id": env.get("SLURM_ARRAY_JOB_ID") or env["SLURM_JOB_ID"],
        "task_id": env.get("SLURM_ARRAY_TASK_ID"),
        "node": env.get("SLURMD_NODENAME") or platform.node(),
    }


def collect(include_device: bool = True) -> dict[str, Any]:
    """Everything needed to tell where a result came from (in a SLURM job: which, see :func:`slurm_task`)."""
    record: dict[str, Any] = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
    }
    if include_device:
        record["device"] = device_info()
    slurm = slurm_task()
    if slurm:
        record["slurm"] = slurm
    return record
