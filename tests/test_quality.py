"""Lint and type checks run with the tests, so one command proves the code is clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the test group: pip install --group test .")
    return found


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", "quizzer", "tests", "migrations", "bench"],
        ["ruff", "format", "--check", "quizzer", "tests", "migrations", "bench"],
        ["mypy", "quizzer", "migrations", "bench", "tests"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_is_clean(args: list[str]) -> None:
    result = subprocess.run(
        [_tool(args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
