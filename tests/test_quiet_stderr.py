"""Nothing on stderr unless there is something to say: no trace of a hidden progress bar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import Invoke

ROOT = Path(__file__).resolve().parent.parent


def test_export_and_check_write_nothing_to_a_piped_stderr(
    invoke: Invoke, db_path: Path, tmp_path: Path
) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    env = {**os.environ, "QUIZZER_DB": str(db_path)}
    for args in (
        ["export", "-o", str(tmp_path / "all.apkg")],
        ["check", str(ROOT / "decks" / "closures.yaml")],
    ):
        run = subprocess.run(
            [sys.executable, "-m", "quizzer", *args], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stderr == "", args
        assert run.stdout  # the summary line
