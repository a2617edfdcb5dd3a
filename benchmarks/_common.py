"""Helpers shared by the benchmark scripts: the machine line and a table printer."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime


def machine() -> str:
    """One line: date, CPU, cores, torch threads, GPU if any, git commit."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {cpu} · {os.cpu_count()} cores · "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads) · {gpu} · commit {commit}"
    )


def print_table(rows: list[dict], title: str) -> None:
    """A Markdown table (paste-ready for RESULTS.md)."""
    print(f"\n{title}\n")
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
