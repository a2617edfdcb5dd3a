"""The pinned environment: lock file, pyproject.toml and environment.yml agree."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock-cpu.txt"


def read_lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate(LOCK.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-!]+)", line)
        assert match, f"{LOCK.name}:{number}: not an exact 'name==version' pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"{LOCK.name}:{number}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs.extend(extra)
    return [Requirement(r) for r in reqs]


def test_lock_pins_every_declared_dependency_within_its_range():
    pins = read_lock()
    for req in declared_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, (
            f"{req.name} is declared in pyproject.toml but not pinned in {LOCK.name}"
        )
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"{LOCK.name} pins {req.name}=={pins[name]}, outside pyproject.toml's {req.specifier}"
        )


def test_critical_pins():
    pins = read_lock()
    assert pins["torch"] == "2.13.0", "CPU installs must pin torch==2.13.0 (the local CPU wheel)"
    assert Version(pins["setuptools"]) < Version("81"), (
        "dcase_util imports pkg_resources (setuptools<81)"
    )
    assert Version(pins["jupyter-book"]) < Version("2"), (
        "_config.yml/_toc.yml are the Jupyter Book 1.x format"
    )
    assert not any(n.startswith("nvidia-") for n in pins), (
        "the CPU lock must not pull CUDA packages"
    )


def test_environment_yml_matches():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    py_version = python.split("=", 1)[1]
    assert Version(py_version + ".0") in SpecifierSet(pyproject()["project"]["requires-python"])
    assert f"Python {py_version}" in LOCK.read_text().splitlines()[0]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements/lock-cpu.txt" in pip_section and "-e ." in pip_section


def test_installed_environment_matches_lock():
    """The environment the tests run in is the pinned one (catches a stale .venv or lock)."""
    mismatched = []
    for name, pinned in read_lock().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            mismatched.append(f"{name}: pinned {pinned}, not installed")
            continue
        if Version(installed).public != Version(pinned).public:
            mismatched.append(f"{name}: pinned {pinned}, installed {installed}")
    if mismatched and not (ROOT / ".venv").resolve() == Path(sys.prefix).resolve():
        pytest.skip(
            f"not running in the project's .venv; {len(mismatched)} differences: {mismatched[:3]}"
        )
    assert not mismatched, (
        "environment differs from the lock (run `make distclean setup`): " + "; ".join(mismatched)
    )
