"""The benchmark suite runs end to end (`bench/run.py --quick`) and reports every figure.

No timing is asserted here: the numbers depend on the machine. What is checked is that the
suite builds its collections through quizzer, measures everything, and writes a JSON
report in which every figure is a number, or "n/a" with the reason.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"

#: The figures the README's Performance table lists.
FIGURES = {
    "help",
    "deck_load",
    "deck_refusal",
    "review_first_card",
    "review_fsrs",
    "due_query",
    "decks",
    "stats",
    "import",
    "reimport",
    "anki_import",
    "export",
    "verify",
    "review_rss",
    "trace",
    "boundary",
    "lt_review_first_card",
    "lt_review_line",
    "lt_between_cards",
    "lt_stats",
    "lt_cards_json",
    "lt_export_repeat",
    "lt_export_bundled",
    "lt_review_rss",
}


#: The figures whose quick run takes longest (two more collections, a package built by
#: Anki, every bundled snippet in the boundary or traced, a deck file of 250k values, a
#: pty per run): the default run leaves them to -m stress.
LONG = {name for name in FIGURES if name.startswith("lt_")} | {
    "anki_import",
    "boundary",
    "trace",
    "deck_refusal",
    "review_first_card",
    "review_fsrs",
}


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param(FIGURES - LONG, id="most"),
        pytest.param(FIGURES, id="all", marks=pytest.mark.stress),
    ],
)
def test_quick_benchmark_writes_every_figure(tmp_path: Path, figures: set[str]) -> None:
    out = tmp_path / "results"
    only = [] if figures == FIGURES else [f"--only={name}" for name in sorted(figures)]
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(out), *only],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,  # a loaded machine; the long-time figures build two more collections
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert report["mode"] == "quick"
    assert set(report["figures"]) == FIGURES  # the others say why they are "n/a"
    measured = {name: report["figures"][name] for name in figures}
    for name, figure in measured.items():
        value = figure["value"]
        if isinstance(value, str):
            assert value == "n/a", (name, value)
            assert figure["note"].startswith("n/a ("), (name, figure["note"])
            continue
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, name
        assert isinstance(figure["ok"], bool), name
        assert figure["kind"] in ("ratio", "seconds"), name
        if figure["kind"] == "ratio":
            # A ratio is measured over its floor, both recorded.
            assert figure["measured"] > 0 and figure["floor"] > 0, name
            assert math.isclose(value, figure["measured"] / figure["floor"]), name
    # The export's floor writes the same notes: same GUIDs, the same highlighted code.
    export = measured["export"]["extra"]
    assert export["same_guids"] and export["notes"] == report["sizes"]["questions"]["medium"]
    assert export["code_fields_identical"] == export["notes"]
    # The table printed on stdout names every figure's label.
    for figure in measured.values():
        assert figure["label"] in result.stdout
