"""Provenance of a run: code version, package versions, machine and device.

The code version of a training is taken when the training starts
(:func:`training_code`, once per process), not when its record is written:
a run of hours must not be credited to a commit made while it trained.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sedlib import __version__
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


#: Parts of sedlib that do not change what a training computes: the study's bookkeeping,
#: the chapters' formatting, the command line and this module.
NOT_TRAINING_CODE = ("study/", "report/", "cli.py", "provenance.py", "__main__.py")

_TRAINING_CODE: dict[str, str | None] | None = None


PACKAGE_DIR = Path(__file__).resolve().parent


def code_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """A hash of the code of every module of sedlib that can change a training's numbers.

    Every ``.py`` file of the package except :data:`NOT_TRAINING_CODE`: the
    science core, data, features, training and evaluation, each as its syntax
    tree without docstrings, so a comment or a docstring does not change it.
    Two runs with one fingerprint ran the same training code, whatever their
    commits. See :func:`fingerprint_of_commit` for a commit's.
    """
    sources = {
        path.relative_to(package).as_posix(): path.read_text()
        for path in sorted(package.rglob("*.py"))
    }
    return _fingerprint(sources)


def fingerprint_of_commit(commit: str, repo: Path = REPO_ROOT) -> str | None:
    """:func:`code_fingerprint` of the package at a git ``commit`` (None: not in this repository)."""
    try:
        names = _git(repo, "ls-tree", "-r", "--name-only", commit, "--", "sedlib").splitlines()
        sources = {
            name.removeprefix("sedlib/"): _git(repo, "show", f"{commit}:{name}")
            for name in names
            if name.endswith(".py")
        }
    except (OSError, subprocess.SubprocessError):
        return None
    return _fingerprint(sources) if sources else None


def _fingerprint(sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name, text in sorted(sources.items()):
        if name.startswith(NOT_TRAINING_CODE):
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):  # docstrings are not code
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and _is_docstring(body[0]):
                node.body = body[1:] or [ast.Pass()]
        digest.update(name.encode() + b"\0" + ast.dump(tree).encode() + b"\0")
    return "ast1:" + digest.hexdigest()[:16]


def _is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def training_code() -> dict[str, str | None]:
    """The code this process trains with: ``git_commit`` and ``fingerprint``, taken at the first call.

    :func:`sedlib.training.run.train` and the batched engine call it before
    their first epoch, so the records they write later name the code that
    trained, not the checkout's state at the end.
    """
    global _TRAINING_CODE
    if _TRAINING_CODE is None:
        _TRAINING_CODE = {"git_commit": git_commit(), "fingerprint": code_fingerprint()}
    return dict(_TRAINING_CODE)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None when it is missing."""
    versions: dict[str, str | None] = {}
    for name in names:
        if name == "sedlib":  # the code that runs, also when imported from a checkout on PYTHONPATH
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
        "git_commit": training_code()["git_commit"],
        "training_code": training_code(),
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
