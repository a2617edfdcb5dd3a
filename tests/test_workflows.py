"""The GitHub Actions workflows, checked as far as a machine without GitHub allows:
they parse, pin every action, publish the book as the Jupyter Book documentation
does, and run make targets that exist, the same ones as .ci/run."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
TARGET = re.compile(r"^[A-Za-z][\w-]*$")


def load(path: Path) -> dict:
    """A workflow; YAML 1.1 reads the key ``on`` as True, put it back."""
    workflow = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def make_targets(script: str) -> list[str]:
    """The targets of every ``make`` command in a shell script, in order."""
    targets = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words):
            if word != "make":
                continue
            for arg in words[i + 1 :]:
                if arg in {"&&", "||", ";", "|"}:
                    break
                if TARGET.match(arg):
                    targets.append(arg)
    return targets


def workflow_targets(workflow: dict) -> list[str]:
    return [t for step in steps(workflow) for t in make_targets(step.get("run", ""))]


def by_name(name: str) -> dict:
    return load(ROOT / ".github" / "workflows" / f"{name}.yml")


def test_there_are_the_book_and_the_execute_workflows():
    assert [p.name for p in WORKFLOWS] == ["book.yml", "execute.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_well_formed(path):
    workflow = load(path)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    for name, job in workflow["jobs"].items():
        assert job["runs-on"].startswith("ubuntu-"), f"{path.name}: job {name}"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{path.name}: {step}"
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name}: not pinned: {step['uses']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_make_targets_of_workflows_exist(path):
    targets = workflow_targets(load(path))
    assert targets, f"{path.name} runs no make target"
    for target in targets:
        proc = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, f"{path.name}: make {target}: {proc.stderr}"


def test_ci_run_and_the_workflows_run_the_same_targets():
    in_workflows = {t for path in WORKFLOWS for t in workflow_targets(load(path))}
    in_ci_run = set(make_targets((ROOT / ".ci" / "run").read_text()))
    assert in_workflows == in_ci_run == {"lint", "test", "execute", "book"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_use_the_cpu_torch_python_3_11_and_a_pip_cache(path):
    workflow = load(path)
    assert workflow["env"]["TORCH_INDEX"] == TORCH_CPU_INDEX  # not PyPI's CUDA build
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    version = python.split("=", 1)[1]
    for name, job in workflow["jobs"].items():
        if not any(make_targets(s.get("run", "")) for s in job["steps"]):
            continue
        setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
        cache = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
        if setup:
            assert setup[0]["with"]["python-version"] == version, f"{path.name}: {name}"
            assert setup[0]["with"]["cache"] == "pip", f"{path.name}: {name}"
        else:
            assert job["container"] == f"python:{version}-bookworm", f"{path.name}: {name}"
            assert cache and ".cache/pip" in cache[0]["with"]["path"], f"{path.name}: {name}"


def test_book_workflow_builds_on_every_push_and_deploys_main_to_pages():
    workflow = by_name("book")
    assert "push" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    assert workflow["on"]["push"] is None, "every branch builds the book"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert make_targets("\n".join(s.get("run", "") for s in build["steps"])) == ["book"]
    upload = [s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["if"] == "github.ref == 'refs/heads/main'"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["group"]
    assert any("actions/deploy-pages@" in s.get("uses", "") for s in deploy["steps"])
    assert workflow["permissions"] == {"contents": "read"}


def test_execute_workflow_runs_on_pull_requests_and_weekly():
    workflow = by_name("execute")
    assert "pull_request" in workflow["on"]
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit() and hour.isdigit(), "at one time of day"
    assert (day, month) == ("*", "*") and weekday.isdigit(), "on one day of the week"
    assert sorted(workflow_targets(workflow)) == ["execute", "lint", "test"]
    test_job = workflow["jobs"]["test"]
    install = " ".join(s.get("run", "") for s in test_job["steps"])
    assert "chromium chromium-driver" in install, "the browser tests need Chromium in CI"
