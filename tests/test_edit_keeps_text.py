"""An edit that cannot be stored is never lost: kept, opened again, or fixed on the spot."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest
from helpers import Invoke, editor

SNIPPET = "a = [3, 1, 2]\nprint(sorted(a))\n"


@pytest.fixture
def own(invoke: Invoke) -> Invoke:
    added = invoke(
        "add", "--deck", "my-notes", "--type", "predict_output", "--code", SNIPPET,
        "--prompt", "What prints?", "--id", "sorted", "-y",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return invoke


def test_a_refused_edit_is_kept_and_opened_again(
    own: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "EDITOR",
        editor(tmp_path, "text = text.replace('sorted(a)', 'sorted(a, reverse=True)')"),
    )
    refused = own("edit", "my-notes/sorted")
    assert refused.exit_code == 1
    assert "field 'answer': not what CPython prints" in refused.output
    kept = Path(refused.output.split("Your text is kept in ")[1].split(";")[0])
    assert "reverse=True" in kept.read_text()
    assert "--answer" not in refused.output  # edit has no such flag
    # Next time the editor opens with that text: fixing the answer is all that is left.
    monkeypatch.setenv(
        "EDITOR",
        editor(
            tmp_path,
            "assert 'reverse=True' in text\ntext = text.replace('[1, 2, 3]', '[3, 2, 1]')",
        ),
    )
    fixed = own("edit", "my-notes/sorted")
    assert fixed.exit_code == 0, fixed.output
    assert "Opening your unsaved edit of my-notes/sorted again" in fixed.output
    assert "my-notes/sorted: updated" in fixed.output
    assert not kept.exists()
    shown = json.loads(own("show", "my-notes/sorted", "--json").output)
    assert shown["answer"] == "[3, 2, 1]\n" and "reverse=True" in shown["code"]


def test_on_a_terminal_the_output_cpython_prints_can_be_stored(
    own: Invoke, tmp_path: Path, db_path: Path
) -> None:
    env = {
        **os.environ,
        "QUIZZER_DB": str(db_path),
        "EDITOR": editor(tmp_path, "text = text.replace('sorted(a)', 'sorted(a)[::-1]')"),
    }
    child = pexpect.spawn(
        sys.executable, ["-m", "quizzer", "edit", "my-notes/sorted"],
        env=env, encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect(r"s\(tore what CPython prints\) / e\(dit again\) / q\(uit\)")
    child.sendline("s")
    child.expect("my-notes/sorted: updated; schedule and history kept.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = json.loads(own("show", "my-notes/sorted", "--json").output)
    assert shown["answer"] == "[3, 2, 1]\n"
