"""`quizzer trace` and the tracer: real sandboxed runs, the events each topic is about."""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import Invoke, cli_process, write

from quizzer.answers import outputs_match
from quizzer.deckfile import load_decks
from quizzer.importing import bundled_decks_dir
from quizzer.sandbox import Limits, interpreter_version
from quizzer.sandbox.tracing import Step, Trace, first_divergent_step, trace_snippet

VERSION = interpreter_version()
#: The events a golden test compares: what the topics are about, not every line.
TOPICAL = {
    "decorate",
    "wrapper",
    "start",
    "suspend",
    "resume",
    "send",
    "throw",
    "close",
    "enter",
    "exit",
}


def _bundled() -> list[object]:
    found: list[object] = []
    for _, deck in load_decks([bundled_decks_dir()]):
        for question in deck.questions:
            if question.type == "predict_output" and question.applies_to(VERSION):
                name = f"{deck.deck}/{question.id}"
                answer = question.answer_for(VERSION)  # answers by version: this one's
                found.append(pytest.param(name, question.code or "", answer, id=name))
    return found


def _trace(code: str, **options: object) -> Trace:
    return trace_snippet(textwrap.dedent(code), **options)  # type: ignore[arg-type]


def _events(trace: Trace, kinds: set[str] = TOPICAL) -> list[tuple[str, str]]:
    """The topical steps, with the first part of their detail (closures' cells aside)."""
    return [(step.event, step.detail.split("; ")[0]) for step in trace.steps if step.event in kinds]


# --- 1. tracing never changes behaviour ----------------------------------------------


@pytest.mark.parametrize(("name", "code", "answer"), _bundled())
def test_every_bundled_snippet_prints_its_answer_when_traced(
    name: str, code: str, answer: str
) -> None:
    trace = trace_snippet(code)
    assert outputs_match(answer, trace.run.output), (name, trace.run.output, trace.run.stderr)
    syntax_error = (trace.exception or "").startswith("SyntaxError")
    assert bool(trace.steps) != syntax_error, name
    # Every write is known, and belongs to a step (a cut trace knows those before the cut).
    if trace.cut is None:
        assert "".join(text for _, _, text in trace.writes) == trace.run.stdout, name


# --- 2. golden: what each topic shows -------------------------------------------------


def test_decorators_applied_bottom_up_at_definition_then_wrappers_called() -> None:
    trace = _trace(
        """\
        def bold(f):
            def wrapper():
                return "<b>" + f() + "</b>"
            return wrapper

        def italic(f):
            def wrapper():
                return "<i>" + f() + "</i>"
            return wrapper

        @bold
        @italic
        def hello():
            return "hi"

        print("defined")
        print(hello())
        """
    )
    assert trace.run.stdout == "defined\n<b><i>hi</i></b>\n"
    assert _events(trace) == [
        ("decorate", "@italic applied to hello (definition time)"),
        ("decorate", "@bold applied to hello (definition time)"),
        ("wrapper", "wrapper made by @bold for hello is called"),
        ("wrapper", "wrapper made by @italic for hello is called"),
    ]
    decorated = [s for s in trace.steps if s.event == "decorate"]
    printed = next(s for s in trace.steps if s.stdout == "defined\n")
    assert all(s.step < printed.step for s in decorated)  # definition time, before the print


def test_late_binding_closures_read_one_shared_cell() -> None:
    trace = _trace(
        """\
        def make():
            fs = []
            for i in range(3):
                fs.append(lambda: i)
            return fs

        print([f() for f in make()])
        """
    )
    assert trace.run.stdout == "[2, 2, 2]\n"
    calls = [s for s in trace.steps if s.event == "call" and s.function.endswith("<lambda>")]
    assert len(calls) == 3
    for call in calls:
        assert call.cells["i"]["value"] == "2"
        assert call.cells["i"]["shared_with"] == 2
        assert "i -> cell #1 shared with 2 other functions, holds 2" in call.detail


def test_generator_send_shows_suspend_and_resume_interleaved() -> None:
    trace = _trace(
        """\
        def averager():
            total, count = 0, 0
            average = None
            while True:
                value = yield average
                total += value
                count += 1
                average = total / count

        avg = averager()
        next(avg)
        print(avg.send(10))
        print(avg.send(20))
        avg.close()
        """
    )
    assert trace.run.stdout == "10.0\n15.0\n"
    assert _events(trace) == [
        ("start", "generator averager starts"),
        ("suspend", "generator averager suspends, yields None"),
        ("send", "generator averager resumes: send(10)"),
        ("suspend", "generator averager suspends, yields 10.0"),
        ("send", "generator averager resumes: send(20)"),
        ("suspend", "generator averager suspends, yields 15.0"),
        # 3.13 closes a generator with no handler around its yield without resuming it.
        *[("close", "generator averager is closed")] * (sys.version_info < (3, 13)),
    ]
    # The sent value lands in `value` the step after the resume.
    sent = [s.changed.get("value") for s in trace.steps if "value" in s.changed]
    assert sent[:2] == ["10", "20"]


def test_nested_with_inner_exit_swallows_the_exception() -> None:
    trace = _trace(
        """\
        class Outer:
            def __enter__(self):
                print("outer in")
            def __exit__(self, kind, exc, tb):
                print("outer out", exc)
                return False

        class Quiet:
            def __enter__(self):
                print("quiet in")
            def __exit__(self, kind, exc, tb):
                print("quiet out", repr(exc))
                return True

        with Outer():
            with Quiet():
                raise ValueError("boom")
            print("after inner")
        """
    )
    assert trace.run.stdout == (
        "outer in\nquiet in\nquiet out ValueError('boom')\nafter inner\nouter out None\n"
    )
    assert _events(trace) == [
        ("enter", "Outer.__enter__()"),
        ("enter", "Quiet.__enter__()"),
        ("exit", "Quiet.__exit__() gets ValueError: boom"),
        ("exit", "Outer.__exit__() gets no exception"),
    ]
    returns = [s.detail for s in trace.steps if s.event == "return" and "__exit__" in s.function]
    assert returns == ["returns True: the ValueError is swallowed", "returns False"]


def test_threads_name_the_thread_of_each_step() -> None:
    trace = _trace(
        """\
        import threading

        def work(n):
            print("work", n)

        t = threading.Thread(target=work, args=(1,), name="worker")
        t.start()
        t.join()
        print("done")
        """
    )
    assert trace.run.stdout == "work 1\ndone\n"
    assert {s.thread for s in trace.steps if s.function == "work"} == {"worker"}
    assert trace.threads == ["MainThread", "worker"]


def test_an_uncaught_exception_ends_the_trace_like_the_run() -> None:
    trace = _trace("x = 1\nprint(x)\ny = x / 0\n")
    assert trace.exception == "ZeroDivisionError: division by zero"
    assert trace.run.output == "1\nZeroDivisionError: division by zero\n"
    assert trace.steps[-1].event == "exception"
    assert trace.steps[0].changed == {"x": "1"}


def test_a_syntax_error_is_reported_as_python_reports_it() -> None:
    trace = _trace("print next(x)\n")
    assert trace.exception is not None and trace.exception.startswith("SyntaxError")
    assert trace.steps == ()


# --- 4. hostile snippets: a cut trace, never a hang -----------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    pass\n",
        "total = 0\nfor i in range(1_000_000):\n    total += i\nprint(total)\n",
        "def down(n):\n    return down(n + 1)\n\ndown(0)\n",
    ],
    ids=["endless-loop", "a-million-steps", "deep-recursion"],
)
def test_too_many_steps_cut_the_trace_with_a_message(code: str) -> None:
    trace = trace_snippet(code, max_steps=500)
    assert trace.cut is not None
    assert trace.cut.startswith("trace cut after 500 steps (the most a trace records: 500);")
    assert len(trace.steps) == 500


def test_the_default_cap_is_two_thousand_steps() -> None:
    # A loop that ends soon after the cap: an endless one (above) would run on untraced
    # for the whole grace period, two seconds of CPU, to show nothing more about the cap.
    trace = trace_snippet("for i in range(100_000):\n    pass\n")
    assert len(trace.steps) == 2000
    assert trace.cut is not None and trace.cut.startswith("trace cut after 2000 steps")


def test_a_huge_repr_is_shortened() -> None:
    trace = _trace(
        """\
        class Loud:
            def __repr__(self):
                print("never shown")
                return "L" * 10_000_000

        big = "x" * 50_000_000
        loud = Loud()
        digits = 10 ** 10_000
        print(len(big))
        """
    )
    assert trace.cut is None
    assert trace.run.stdout == "50000000\n"  # the repr's own print is not the snippet's
    changed = {k: v for s in trace.steps for k, v in s.changed.items()}
    assert all(len(value) <= 120 for value in changed.values())
    assert changed["big"].endswith("…") or "..." in changed["big"]
    assert changed["digits"] == "<int of 33220 bits>"


def test_a_snippet_that_blocks_is_stopped_by_the_sandbox() -> None:
    trace = trace_snippet(
        "import time\nprint('a')\ntime.sleep(60)\n", limits=Limits(wall_seconds=1)
    )
    assert trace.cut == "trace cut: the run stopped after 1 s of wall-clock time"
    # Like the untraced run: the print was still in stdout's buffer when the run was killed.
    assert trace.run.stdout == ""
    assert [s.line for s in trace.steps if s.event == "line"] == [1, 2, 3]


def test_the_traced_run_leaves_no_files_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import tempfile

    # A temporary folder of this test's own: other tests' runs come and go in the shared one.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    before = set(os.listdir(tempfile.gettempdir()))
    trace = _trace("import os\nprint(sorted(os.listdir('.')))\n")
    assert trace.run.stdout == "['snippet.py']\n"  # the snippet sees its own folder only
    after = set(os.listdir(tempfile.gettempdir()))
    # quizzer-boot-*: boot.py compiled once per process (removed when it exits).
    left = {name for name in after - before if name.startswith("quizzer-")}
    assert not {name for name in left if not name.startswith("quizzer-boot-")}


# --- where the output leaves what was typed ------------------------------------------


def _fake(stdouts: list[str]) -> Trace:
    steps = tuple(Step(n, "line", "<module>", n, stdout=text) for n, text in enumerate(stdouts, 1))
    from quizzer.sandbox import RunResult

    run = RunResult("".join(stdouts), "", None, 0, None, False, "exited normally", 0.0, 0.0)
    writes = tuple((i, i, text) for i, text in enumerate(stdouts) if text)
    return Trace("", steps, run, None, None, writes)


@pytest.mark.parametrize(
    ("typed", "index"),
    [
        ("a\nb\nc", 3),  # right to the end: the last step
        ("a\nb\nx", 3),
        ("a\nx\nc", 2),
        ("x", 0),
        ("", 0),
        ("a  \nb", 3),  # trailing spaces do not count; the missing c is at step 4
    ],
)
def test_the_first_divergent_step(typed: str, index: int) -> None:
    trace = _fake(["a\n", "", "b\n", "c\n"])
    assert first_divergent_step(trace, typed) == index


# --- the command -----------------------------------------------------------------------


def test_trace_a_code_file_as_text(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "s.py", "x = [1]\nx.append(2)\nprint(x)\n")
    result = invoke("trace", "--code-file", str(code))
    assert result.exit_code == 0, result.output
    assert "Trace of" in result.output and "3 steps" in result.output
    assert "x = [1, 2]" in result.output
    assert "printed '[1, 2]\\n'" in result.output
    assert "ended: exited normally" in result.output


def test_trace_json_shape(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "s.py", "def f(a):\n    return a * 2\n\nprint(f(3))\n")
    result = invoke("trace", "--code-file", str(code), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"version", "steps", "stdout", "exception", "cut"}
    assert data["stdout"] == "6\n" and data["cut"] is None and data["exception"] is None
    assert [(s["event"], s["function"], s["line"]) for s in data["steps"]] == [
        ("line", "<module>", 1),
        ("line", "<module>", 4),
        ("call", "f", 1),
        ("line", "f", 2),
        ("return", "f", 2),
    ]
    assert data["steps"][2]["changed"] == {"a": "3"}
    assert data["steps"][1]["stdout"] == "6\n"
    for step in data["steps"]:
        assert {"step", "event", "function", "line", "changed", "stdout"} <= set(step)


def test_trace_a_stored_question(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    result = invoke("trace", "test-closures/late-binding")
    assert result.exit_code == 0, result.output
    assert "shared with 2 other functions, holds 2" in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "name a question (DECK/ID) or give --code-file"),
        (["test-closures/cell"], 1, "only predict_output questions have code to trace"),
        (["test-closures/nope"], 1, "no such question"),
    ],
)
def test_bad_trace_requests_get_one_line(
    invoke: Invoke, deck_file: Path, args: list[str], code: int, message: str
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    result = invoke("trace", *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


# --- in the review -------------------------------------------------------------------


def test_t_in_the_line_protocol_opens_at_the_first_divergent_step(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    deck = write(
        tmp_path / "d.yaml",
        """\
        deck: lines
        title: Lines
        questions:
          - id: three
            type: predict_output
            prompt: What prints?
            code: |
              print(1)
              print(2)
              print(3)
            answer: |
              1
              2
              3
          - id: other
            type: recall
            prompt: Anything?
            answer: Sure
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("review", input="1\n5\n.\nt\np\nn\nn\nq\n\ng\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "t: trace what the code did" in out
    assert "steps 1-1 folded" in out
    first = out.index("step 2 of 3")
    assert "→  2  print(2)" in out[first:]
    assert out.index("step 1 of 3", first) < out.index("step 3 of 3", first)
    assert "Back to the review." in out
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM reviews").fetchone() == (2,)


def test_t_with_nothing_missed_says_so(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    result = invoke("review", input="t\nq\n")
    assert "Nothing to trace" in result.output


def test_review_start_up_does_not_load_the_tracer(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    watched = ["quizzer.sandbox.tracing", "quizzer.cli.trace_view"]
    args = ["--db", str(db_path), "--today", "2026-01-05", "review"]
    assert cli_process(args, watched, input="[0]\n.\nq\n").loaded == []
    assert cli_process(args, watched, input="t\nq\n").loaded == []


# --- export --with-trace ---------------------------------------------------------------


def _notes(package: Path) -> dict[str, tuple[list[str], int]]:
    """The fields and modification time of every note of a .apkg, by QuizzerId."""
    import zipfile

    with zipfile.ZipFile(package) as archive:
        (package.parent / "c.anki2").write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(package.parent / "c.anki2") as connection:
        rows = connection.execute("SELECT flds, mod FROM notes").fetchall()
    connection.close()
    return {flds.split("\x1f")[0]: (flds.split("\x1f"), mod) for flds, mod in rows}


def test_export_with_trace_puts_it_on_the_back_of_predict_output_cards_only(
    invoke: Invoke, deck_file: Path, tmp_path: Path
) -> None:
    from quizzer.anki import FIELDS, TRACE_RENDERING_AT

    assert invoke("import", str(deck_file)).exit_code == 0
    plain, traced = tmp_path / "plain.apkg", tmp_path / "traced.apkg"
    assert invoke("export", "-o", str(plain)).exit_code == 0
    result = invoke("export", "-o", str(traced), "--with-trace")
    assert result.exit_code == 0, result.output
    before, after = _notes(plain), _notes(traced)
    explanation = FIELDS.index("Explanation")
    name = "test-closures/late-binding"
    assert "Trace" not in before[name][0][explanation]
    assert "shared with 2 other functions, holds 2" in after[name][0][explanation]
    assert "ended: exited normally" in after[name][0][explanation]
    # Only the traced note is newer, so Anki updates it and leaves the others alone.
    assert after[name][1] == max(before[name][1], TRACE_RENDERING_AT) + 1
    for other in ("test-closures/cell", "test-closures/nonlocal"):
        assert after[other] == before[other]


def test_with_trace_is_for_anki_packages(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("export", "--format", "yaml", "-o", str(tmp_path / "out"), "--with-trace")
    assert result.exit_code == 2
    assert "--with-trace is for Anki packages" in result.output


def test_a_code_file_that_is_not_utf8_is_one_line(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes(b"print('\xe9')\n")
    result = invoke("trace", "--code-file", str(path))
    assert result.exit_code == 2
    assert "not UTF-8 text (it holds the byte 0xe9)" in result.output
    assert "Traceback" not in result.output


def test_coroutines_interleave_and_each_resume_names_its_frame() -> None:
    trace = _trace(
        """\
        import asyncio

        async def worker(name):
            for i in range(2):
                print(name, i)
                await asyncio.sleep(0)

        async def main():
            await asyncio.gather(worker("a"), worker("b"))

        asyncio.run(main())
        """
    )
    assert trace.run.stdout == "a 0\nb 0\na 1\nb 1\n"
    workers = [
        (s.event, s.frame)
        for s in trace.steps
        if s.function == "worker" and s.event in {"start", "suspend", "resume"}
    ]
    a, b = workers[0][1], workers[2][1]
    assert a != b
    assert workers[:8] == [
        ("start", a), ("suspend", a), ("start", b), ("suspend", b),
        ("resume", a), ("suspend", a), ("resume", b), ("suspend", b),
    ]  # fmt: skip
    assert not [s for s in trace.steps if s.event == "throw"]


def test_a_missing_interpreter_is_one_line(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "s.py", "print(1)\n")
    result = invoke("trace", "--code-file", str(code), "--interpreter", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: no Python interpreter at")
    assert len(result.output.strip().splitlines()) == 1


def test_a_question_for_another_python_is_traced_with_a_note(
    invoke: Invoke, tmp_path: Path
) -> None:
    deck = write(
        tmp_path / "v.yaml",
        """\
        deck: versions
        title: Versions
        questions:
          - id: old
            type: predict_output
            prompt: What prints?
            code: |
              print(1)
            answer: |
              1
            python: "<3.0"
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("trace", "versions/old")
    assert result.exit_code == 0
    assert f"note: versions/old's answer is for python<3.0; this trace runs {VERSION}" in (
        result.output
    )


def test_decorators_written_in_c_are_applied_too() -> None:
    trace = _trace(
        """\
        import functools

        class Box:
            @staticmethod
            @functools.lru_cache
            def double(n):
                return 2 * n

        print(Box.double(4))
        """
    )
    assert trace.run.stdout == "8\n"
    assert _events(trace) == [
        ("decorate", "@functools.lru_cache applied to double (definition time)"),
        ("decorate", "@staticmethod applied to double (definition time)"),
    ]


def test_a_thrown_exception_is_one_throw_step() -> None:
    trace = _trace(
        """\
        def worker():
            while True:
                try:
                    yield "ready"
                except ValueError as exc:
                    print("handled", exc)
                    yield "recovered"

        w = worker()
        print(next(w))
        print(w.throw(ValueError("bad input")))
        """
    )
    assert trace.run.stdout == "ready\nhandled bad input\nrecovered\n"
    assert _events(trace) == [
        ("start", "generator worker starts"),
        ("suspend", "generator worker suspends, yields 'ready'"),
        ("throw", "generator worker is thrown ValueError: bad input"),
        ("suspend", "generator worker suspends, yields 'recovered'"),
    ]
    assert not [s for s in trace.steps if s.event == "exception"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: child subreaper")
@pytest.mark.parametrize("escape", ["start_new_session", "setsid after a double fork"])
def test_a_traced_run_kills_what_it_leaves_behind_as_check_does(escape: str) -> None:
    from test_sandbox import _PRINT_CHILD, ESCAPES, _running

    trace = trace_snippet(textwrap.dedent(ESCAPES[escape]) + textwrap.dedent(_PRINT_CHILD))
    assert trace.run.exit_status == 0, trace.run.stderr
    pid, started = trace.run.stdout.split()
    assert not _running(int(pid), started)


def test_trace_takes_checks_limits(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "s.py", "import time\ntime.sleep(30)\n")
    result = invoke("trace", "--code-file", str(code), "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    assert "trace cut: the run stopped after 0.5 s of wall-clock time" in result.output
    result = invoke("trace", "--code-file", str(code), "--timeout", "nan")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
