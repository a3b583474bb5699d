"""A deck repository gates its commits with quizzer's pre-commit hooks: a wrong answer is
refused with its diff, a right one goes in. Real git, the real pre-commit tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import SMALL_DECK

ROOT = Path(__file__).resolve().parent.parent


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }  # fmt: skip
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def _hook_repository(where: Path) -> str:
    """This checkout's tracked files, as they are now, committed in a repository of their
    own (pre-commit installs hooks from a git revision); returns the revision."""
    files = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, files.split("\0")):
        source = ROOT / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    _git(where, "init", "-q")
    _git(where, "add", "-A")
    _git(where, "commit", "-q", "-m", "hooks")
    return _git(where, "rev-parse", "HEAD").strip()


def test_a_wrong_answer_blocks_the_commit_with_its_diff(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit is not None, "install the test group: pip install --group test ."
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    rev = _hook_repository(hooks)
    decks = tmp_path / "decks"
    decks.mkdir()
    _git(decks, "init", "-q")
    (decks / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n"
        "    hooks:\n      - id: quizzer-validate\n      - id: quizzer-check\n"
        # The repository's own decks: run even where the sandbox is no kernel boundary.
        "        args: [--trust]\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    subprocess.run([pre_commit, "install"], cwd=decks, env=env, check=True, capture_output=True)
    _git(decks, "add", ".pre-commit-config.yaml")

    wrong = decks / "closures.yaml"
    wrong.write_text(SMALL_DECK.replace("[2, 2, 2]", "[0, 1, 2]"))
    _git(decks, "add", "closures.yaml")
    refused = subprocess.run(
        ["git", "commit", "-q", "-m", "wrong"], cwd=decks, env={**env, **_identity()},
        capture_output=True, text=True,
    )  # fmt: skip
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "quizzer decks are valid" in output and "Passed" in output
    assert "FAIL closures.yaml: late-binding: output differs" in output
    assert "-[0, 1, 2]" in output and "+[2, 2, 2]" in output
    assert _git(decks, "rev-list", "--all") == ""  # nothing was committed

    wrong.write_text(SMALL_DECK)
    _git(decks, "add", "closures.yaml")
    accepted = subprocess.run(
        ["git", "commit", "-q", "-m", "right"], cwd=decks, env={**env, **_identity()},
        capture_output=True, text=True,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    (line,) = [x for x in accepted.stderr.splitlines() if "what CPython prints" in x]
    assert line.endswith("Passed"), accepted.stderr
    assert _git(decks, "log", "--format=%s") == "right\n"


def _identity() -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }  # fmt: skip
