"""The layers of docs/architecture.md are a contract: import-linter checks every arrow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.fail(
            "lint-imports is not installed; install the test group: pip install --group test ."
        )
    # The package analysed is the one in `cwd`, not an installed copy.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [tool, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_layers_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("store.py", "import click", "Only cli talks to the terminal"),
        ("scheduler.py", "import sqlalchemy", "The pure modules know no database"),
        ("review.py", "from quizzer.cli import render", "cli above use-cases"),
        ("answers.py", "import yaml", "scheduler, answers and questions are plain Python"),
        ("exportread.py", "from quizzer import orm", "An export of an up-to-date SQLite file"),
    ],
)
def test_a_wrong_arrow_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(ROOT / "quizzer", tmp_path / "quizzer", ignore=shutil.ignore_patterns("_data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / "quizzer" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [text for text in result.stdout.splitlines() if text.endswith("BROKEN")]
    assert any(text.startswith(contract) for text in broken), result.stdout
