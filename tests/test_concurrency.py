"""Two `quizzer review` processes and a `quizzer import` on one database at the same time.

Real processes on a real SQLite file. Both reviews are shown the same card and answer it
at the same moment (a barrier per card), line by line, while the import writes thousands
of rows. Nothing may crash or show "database is locked", every answer either session
acknowledged must be in the log, and no card may be graded twice on one day: the second
answer to a card graded today is a drill.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from helpers import stressed
from test_crash import (
    BASE_DAY,
    LEECH_THRESHOLD,
    TIMEOUT,
    Proc,
    ReviewRun,
    Spec,
    check_database,
    cli,
    connect,
    review_deck,
    review_log,
)

RACE_CARDS = 60
BULK_CARDS = 3000


def _bulk_deck(version: str) -> str:
    """A recall deck of BULK_CARDS questions; each version rewords every prompt."""
    lines = ["deck: bulk", "title: Bulk", "questions:"]
    for i in range(BULK_CARDS):
        lines += [f"  - id: b{i}", "    type: recall", f"    prompt: Bulk {i}, {version}?"]
        lines += ["    answer: a"]
    return "\n".join(lines) + "\n"


def _reworded(text: str, version: str, *, drop_last: bool) -> str:
    """The race deck with every fourth prompt reworded (answers kept), maybe one dropped."""
    deck = yaml.safe_load(text)
    for n, question in enumerate(deck["questions"]):
        if n % 4 == 0:
            question["prompt"] = f"{question['prompt']} ({version})"
    if drop_last:
        deck["questions"].pop()  # retired by the import while the sessions may be on it
    return str(yaml.safe_dump(deck))


def _is_subsequence(part: list[tuple[str, int]], whole: list[tuple[str, int]]) -> bool:
    found = iter(whole)
    return all(item in found for item in part)


@dataclass
class Day:
    """One day of the race: the two sessions and the import, after they ended."""

    runs: list[ReviewRun]
    codes: list[int]
    importer: Proc
    import_code: int
    lines_after_import: list[int]


def _race(db: Path, today: date, specs: dict[str, Spec], paths: list[Path], seed: str) -> Day:
    """Start two reviews and an import at once; the reviews answer the same cards, slowly
    while the import runs, then 20 lines more each, then their input ends."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def same_card() -> None:
        # Both sessions show a card, then both answer it: they race on the same card.
        with suppress(threading.BrokenBarrierError):  # broken: the other session ended
            barrier.wait()

    runs = [
        ReviewRun(
            db,
            today,
            specs,
            random.Random(f"race/{seed}/{who}"),
            commands=False,  # an undo takes back the newest answer, the other session's too
            args=("--deck", "race"),
            on_card=same_card,
        )
        for who in "AB"
    ]
    importer = Proc("--db", str(db), "--today", today.isoformat(), "import", *map(str, paths))
    import_done = threading.Event()
    lines_after_import = [0, 0]
    codes = [-1, -1]

    def drive(index: int) -> None:
        run = runs[index]
        pace = random.Random(f"pace/{seed}/{index}")
        try:
            while run.wait():
                if import_done.is_set():
                    lines_after_import[index] += 1
                    if lines_after_import[index] > 20:
                        break
                else:
                    time.sleep(pace.uniform(0.0, 0.05))
                run.send(run.next_line())
            assert run.proc.popen.stdin is not None
            run.proc.popen.stdin.close()  # end of input ends the session like `q`
            run.proc.wait_for(lambda _: False)
            run.note_acknowledgements()
        finally:
            barrier.abort()
            codes[index] = run.proc.finish()

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    import_code = importer.finish()
    import_done.set()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    return Day(runs, codes, importer, import_code, lines_after_import)


@pytest.mark.parametrize("seed", stressed(range(2), 1))  # seed 1: pytest -m stress
def test_two_reviews_and_an_import_at_once(tmp_path: Path, seed: int) -> None:
    db = tmp_path / "quizzer.db"
    text, specs = review_deck("race", RACE_CARDS)
    race = tmp_path / "race.yaml"
    race.write_text(text, encoding="utf-8")
    cli(db, "import", str(race))
    cli(db, "config", "leech-threshold", str(LEECH_THRESHOLD))
    bulk = tmp_path / "bulk.yaml"
    raced_cards = 0
    for day_number in range(2):
        today = BASE_DAY + timedelta(days=day_number)
        # Day 0 the import adds the bulk deck and edits and retires race cards; day 1 it
        # rewords every bulk question and brings the retired card back.
        bulk.write_text(_bulk_deck(f"v{day_number}"), encoding="utf-8")
        race.write_text(_reworded(text, f"v{day_number}", drop_last=day_number == 0))
        day = _race(db, today, specs, [race, bulk], f"{seed}/{day_number}")

        assert day.import_code == 0, day.importer.err
        assert day.importer.err == ""
        for run, code in zip(day.runs, day.codes, strict=True):
            where = f"{run.proc.out[-3000:]}\n{run.proc.err}"
            assert code == 0, where
            assert run.proc.err == "", where
            for bad in ("locked", "Traceback", "Error"):
                assert bad not in run.proc.out, where
            assert run.pending is None, f"an answer was never acknowledged: {where}"

        # No answer lost, none added: the day's log is exactly both sessions' answers.
        with connect(db) as connection:
            (before_today,) = connection.execute(
                "SELECT count(*) FROM reviews WHERE day < ?", (today.isoformat(),)
            ).fetchone()
        log_today = review_log(db)[before_today:]
        answered = [
            [(name, quality) for _, name, quality in run.events]
            # Input ended at a rating: that right answer stays saved as "good".
            + ([run.saved_as_good[1:]] if run.saved_as_good else [])
            for run in day.runs
        ]
        assert Counter(log_today) == Counter(answered[0] + answered[1])
        assert all(_is_subsequence(mine, log_today) for mine in answered)
        check_database(db)
        both = {n for n, _ in answered[0]} & {n for n, _ in answered[1]}
        raced_cards += len(both)
        if os.environ.get("CRASH_STATS"):
            print(
                f"seed {seed} day {day_number}: answers {len(answered[0])}+{len(answered[1])},"
                f" cards answered by both {len(both)},"
                f" lines after the import {day.lines_after_import}"
            )
    # The barrier makes both sessions answer the same cards; that must have happened.
    assert raced_cards > 0
