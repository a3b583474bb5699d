"""Running a stranger's deck (issue 19): `add --from` asks before it runs a file's code,
with no lock held; where the sandbox is no kernel boundary, code from deck files not
bundled with quizzer runs only with --trust; `check --sandbox-info` says what holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest
from helpers import SMALL_DECK, Invoke, write

from quizzer import db
from quizzer.db import resource_dir
from quizzer.sandbox import boundary

LISTED = """\
- id: alias
  type: predict_output
  prompt: What prints?
  code: |
    a = b = []
    a.append(1)
    print(b)
  answer: |
    [1]
"""

UNPROTECTED = boundary.Boundary(
    landlock_abi=None, seccomp=False, no_new_privs=False, uid_drop=False, reason="no Landlock"
)


@pytest.fixture
def unprotected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where the sandbox is no boundary (an old kernel, macOS)."""
    from quizzer.cli import content

    monkeypatch.setattr(content, "describe_boundary", lambda: UNPROTECTED)


def test_add_from_asks_before_running_the_files_code(invoke: Invoke, tmp_path: Path) -> None:
    listed = write(tmp_path / "mine.yaml", LISTED)
    declined = invoke("add", "--from", str(listed), "--deck", "my-notes", input="n\n")
    assert declined.exit_code == 1
    assert f"Run the code of {listed} (1 snippet) in the sandbox" in declined.output
    assert "not added: the file's code was not run" in declined.output
    assert "my-notes" not in invoke("decks").output
    accepted = invoke("add", "--from", str(listed), "--deck", "my-notes", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Added 1 question to my-notes." in accepted.output


def test_add_from_with_nothing_to_run_does_not_ask(invoke: Invoke, tmp_path: Path) -> None:
    listed = write(tmp_path / "r.yaml", "- id: r\n  type: recall\n  prompt: P?\n  answer: A\n")
    result = invoke("add", "--from", str(listed), "--deck", "my-notes")
    assert result.exit_code == 0 and "Run the code" not in result.output


def test_add_from_waiting_at_its_question_holds_no_lock(
    invoke: Invoke, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("config", "new-per-day", "10").exit_code == 0
    listed = write(tmp_path / "mine.yaml", LISTED)
    env = {**os.environ, "QUIZZER_DB": str(db_path), "NO_COLOR": "1"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "quizzer", "add", "--trust", "--from", str(listed), "--deck", "my-notes"],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect(r"to verify the answers\? \[y/N\]: ")
        monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
        other = invoke("config", "new-per-day", "15")
        assert other.exit_code == 0, other.output
        child.sendline("y")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "Added 1 question to my-notes." in (child.before or "")


@pytest.mark.usefixtures("unprotected")
def test_without_the_boundary_a_strangers_deck_needs_trust(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(tmp_path / "downloaded.yaml", SMALL_DECK)
    refused = invoke("check", str(deck))
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: the sandbox is no security boundary here (no Landlock): code from {deck}, "
        "a deck file not bundled with quizzer, is not run; pass --trust to run it anyway "
        "with your rights (`quizzer check --sandbox-info` says what is enforced)\n"
    )
    trusted = invoke("check", "--trust", str(deck))
    assert trusted.exit_code == 0, trusted.output
    notes = [line for line in trusted.output.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: the sandbox is no security boundary here (no Landlock); running code from "
        f"{deck} with your rights, as --trust says"
    ]
    listed = write(tmp_path / "mine.yaml", LISTED)
    added = invoke("add", "--from", str(listed), "--deck", "my-notes", "-y")
    assert added.exit_code == 1 and "pass --trust" in added.output
    # A deck imported from that file is still that file's code.
    assert invoke("import", str(deck)).exit_code == 0
    stored = invoke("check", "--deck", "test-closures")
    assert stored.exit_code == 1 and "pass --trust" in stored.output
    traced = invoke("trace", "test-closures/late-binding")
    assert traced.exit_code == 1 and "pass --trust" in traced.output
    assert invoke("trace", "--trust", "test-closures/late-binding").exit_code == 0
    apkg = str(tmp_path / "out.apkg")
    exported = invoke("export", "-o", apkg, "--deck", "test-closures", "--with-trace")
    assert exported.exit_code == 1 and "pass --trust" in exported.output
    assert invoke("export", "-o", apkg, "--deck", "test-closures").exit_code == 0


@pytest.mark.usefixtures("unprotected")
def test_without_the_boundary_bundled_decks_and_your_own_run_as_before(invoke: Invoke) -> None:
    bundled = invoke("check", str(resource_dir("decks") / "closures.yaml"))
    assert bundled.exit_code == 0, bundled.output
    assert "note:" not in bundled.output
    own = invoke(
        "add", "--deck", "mine", "--type", "predict_output", "--prompt", "P",
        "--code", "print(1)", "-y",
    )  # fmt: skip
    assert own.exit_code == 0, own.output
    assert invoke("check", "--deck", "mine").exit_code == 0


def test_with_the_boundary_no_trust_is_needed(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(tmp_path / "downloaded.yaml", SMALL_DECK)
    result = invoke("check", str(deck))
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output


@pytest.mark.real_boundary
def test_sandbox_info_says_what_this_machine_enforces(invoke: Invoke) -> None:
    found = boundary.describe()
    result = invoke("check", "--sandbox-info")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "kernel boundary: " + ("enforced" if found.enforced else "NOT enforced")
    )
    landlock = "no Landlock" if found.landlock_abi is None else f"ABI {found.landlock_abi}"
    assert landlock in lines[1]
    assert lines[2] == f"seccomp: {'yes' if found.seccomp else 'no'}"


@pytest.mark.real_boundary
def test_landlock_abi_is_what_the_kernel_reports() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Landlock is Linux's")
    abi = boundary.describe().landlock_abi
    # This machine's kernel has ABI 7; anywhere else: a positive ABI or none at all.
    assert abi is None or abi >= 1


def test_review_traces_a_strangers_deck_only_with_trust(
    invoke: Invoke, tmp_path: Path, unprotected: None
) -> None:
    # `t` runs the missed snippet: where there is no kernel boundary, code of a deck file
    # not bundled with quizzer is not run for it, as `check` and `trace` refuse it.
    deck = write(
        tmp_path / "stranger.yaml",
        "deck: stranger\ntitle: Stranger\nquestions:\n"
        "  - id: two\n    type: predict_output\n    prompt: What prints?\n"
        "    code: |\n      print(1)\n      print(2)\n    answer: |\n      1\n      2\n",
    )
    assert invoke("import", str(deck)).exit_code == 0
    refused = invoke("review", input="9\n.\nt\nq\n")
    said = " ".join(refused.output.split())  # the line is wrapped at the terminal's width
    assert "Not traced: the sandbox is no security boundary here (no Landlock)" in said
    assert "quizzer review --trust" in said
    assert "Back to the review." not in refused.output
    traced = invoke("review", "--trust", input="9\n.\nt\nq\n", today="2026-01-06")
    assert "Not traced" not in traced.output
    assert "Back to the review." in traced.output
