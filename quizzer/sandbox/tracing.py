"""A step-by-step trace of what a snippet really did, run in the sandbox.

The tracing itself is ``tracer.py``, a standard-library-only script the sandbox runs in
the snippet's place (it runs inside ``python -I``, with no site-packages to rely on);
this module starts it (:func:`trace_snippet`), reads back the steps it logged, and answers
questions about them: where the real output first differs from what someone typed
(:func:`first_divergent_step`), and the trace as data (:meth:`Trace.to_json`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from quizzer.sandbox.limits import DEFAULT_LIMITS, Limits, RunResult
from quizzer.sandbox.run import run_traced

#: Steps recorded before a trace is cut (the run is ended there).
MAX_STEPS = 2000
#: The longest ``repr`` a step shows of a value (longer ones end in "…").
REPR_CHARS = 120
TRACER = Path(__file__).with_name("tracer.py")
#: Version of the JSON shape (docs/json.md).
JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a run.

    ``event`` is what happened: ``line`` (a line runs), ``call``, ``return``, ``exception``,
    ``decorate`` (a decorator is applied, at definition time), ``wrapper`` (a wrapper a
    decorator made is called), ``start``/``suspend``/``resume``/``send``/``throw``/``close``
    (generators and coroutines), ``enter``/``exit`` (a context manager). ``function`` is
    the qualified name of the code running, ``frame`` numbers the frame (one number per
    call), ``depth`` counts the snippet's frames below it, ``thread`` names the thread.
    ``changed`` maps the local names the step changed to their new ``repr`` (for a call:
    the arguments), ``stdout`` is what the step printed, ``detail`` says the rest in words.
    """

    step: int
    event: str
    function: str
    line: int
    frame: int = 0
    depth: int = 0
    thread: str = "MainThread"
    changed: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    detail: str = ""
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "event": self.event,
            "function": self.function,
            "line": self.line,
            "frame": self.frame,
            "depth": self.depth,
            "thread": self.thread,
            "changed": dict(self.changed),
            "stdout": self.stdout,
            "detail": self.detail,
        }
        if self.cells:
            data["cells"] = self.cells
        return data


@dataclass(frozen=True, slots=True)
class Trace:
    """The steps of one run, and how it ended.

    ``cut`` says why the trace stops before the end (the step cap, a sandbox limit), or is
    None; ``exception`` is the line of the uncaught exception that ended the run, if any.
    """

    code: str
    steps: tuple[Step, ...]
    run: RunResult
    cut: str | None
    exception: str | None
    #: What the snippet wrote, in the order it wrote it: (index of the step it belongs
    #: to, index of the last step begun when it was written, text). A line's output
    #: belongs to the line's step, which may have begun before the steps of the
    #: functions the line called.
    writes: tuple[tuple[int, int, str], ...] = ()

    def printed_by(self, index: int) -> str:
        """What the run had printed when step ``index`` (0-based) began or ran."""
        return "".join(text for _, at, text in self.writes if at <= index)

    @property
    def stdout(self) -> str:
        return self.run.stdout

    @property
    def threads(self) -> list[str]:
        return list(dict.fromkeys(step.thread for step in self.steps))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "steps": [step.to_json() for step in self.steps],
            "stdout": self.run.stdout,
            "exception": self.exception,
            "cut": self.cut,
        }


def trace_snippet(
    code: str,
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    max_steps: int = MAX_STEPS,
    repr_chars: int = REPR_CHARS,
    stop: threading.Event | None = None,
) -> Trace:
    """Run ``code`` traced in the sandbox (same interpreter choice and limits as ``check``).

    Setting ``stop`` (from another thread) kills the run at once and raises
    ``run.SandboxStopped``: several traces in parallel stop together on Ctrl-C.
    """
    if max_steps < 1 or repr_chars < 10:
        raise ValueError("max_steps must be positive and repr_chars at least 10")
    run, log = run_traced(
        code,
        str(TRACER),
        [str(max_steps), str(repr_chars)],
        python=python,
        limits=limits,
        stop=stop,
    )
    return parse_log(code, log, run, max_steps)


def parse_log(code: str, log: str, run: RunResult, max_steps: int = MAX_STEPS) -> Trace:
    """The trace a tracer's log describes (the steps, then what later became known)."""
    steps: dict[int, dict[str, Any]] = {}
    cut: str | None = None
    overtime: float | None = None
    writes: list[tuple[int, int, str]] = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break  # the last line of a run killed mid-write
        if not isinstance(record, dict):
            continue
        if "step" in record:
            steps[record["step"]] = {**record, "changed": {}, "stdout": ""}
        elif "update" in record and record["update"] in steps:
            step = steps[record["update"]]
            step["changed"].update(record.get("changed", {}))
            if record.get("stdout"):
                step["stdout"] += record["stdout"]
                at = int(record.get("at") or record["update"])
                writes.append((record["update"], at, record["stdout"]))
            for key in ("event", "detail"):
                if key in record:
                    step[key] = record[key]
        elif "cut" in record:
            cut = f"trace cut after {record['cut']} steps (the most a trace records: {max_steps})"
        elif "overtime" in record:
            overtime = record["overtime"]
    if cut is not None:
        if overtime is not None:
            cut += f"; the run, going on untraced, was ended {overtime:g} s later"
        elif run.stopped:
            cut += f"; the run, going on untraced, {run.reason}"
        else:
            cut += "; the rest ran untraced"
    elif run.stopped or run.limit is not None:
        cut = f"trace cut: the run {run.reason}"
    names = {f.name for f in fields(Step)}
    numbers = sorted(steps)
    made = tuple(
        Step(**{key: value for key, value in steps[n].items() if key in names}) for n in numbers
    )
    index = {number: i for i, number in enumerate(numbers)}
    ordered = tuple(
        (index[n], index.get(at, index[n]), text) for n, at, text in writes if n in index
    )
    return Trace(code=code, steps=made, run=run, cut=cut, exception=run.exception, writes=ordered)


def first_divergent_step(trace: Trace, typed: str) -> int:
    """The index of the first step whose output stops matching ``typed`` (0 if it never
    starts to match; the last step when the difference is after all the output)."""
    if not trace.steps:
        return 0
    actual = trace.stdout
    expected = typed.replace("\r\n", "\n")
    # Compare line by line as answers are compared: trailing spaces do not count.
    offset = 0
    actual_lines = actual.split("\n")
    typed_lines = expected.split("\n")
    for number, line in enumerate(actual_lines):
        last = number == len(actual_lines) - 1
        if last and not line:
            break
        other = typed_lines[number] if number < len(typed_lines) else None
        if other is None or line.rstrip(" ") != other.rstrip(" "):
            return _step_writing(trace, offset)
        offset += len(line) + 1
    return len(trace.steps) - 1


def _step_writing(trace: Trace, offset: int) -> int:
    """The index of the step whose output reaches character ``offset`` of stdout."""
    written = 0
    for index, _, text in trace.writes:
        written += len(text)
        if written > offset:
            return index
    return len(trace.steps) - 1


def ending(trace: Trace) -> str:
    """How the run ended, in a line."""
    if trace.cut:
        return trace.cut
    if trace.exception:
        return f"ended by the exception {trace.exception}"
    return f"ended: {trace.run.reason}"


def folded(trace: Trace) -> str:
    """The whole trace, a line a step, as plain text (the back of an exported card)."""
    lines = trace.code.splitlines()
    rows = []
    for step in trace.steps:
        where = f"{step.function}:{step.line}"
        event = "" if step.event == "line" else f"{step.event} "
        text = lines[step.line - 1].strip() if 0 < step.line <= len(lines) else ""
        parts = [f"{step.step:>4} {'  ' * step.depth}{event}{where}"]
        if step.event == "line" and text:
            parts.append(text)
        if step.detail:
            parts.append(step.detail)
        if step.changed:
            parts.append(", ".join(f"{name} = {value}" for name, value in step.changed.items()))
        if step.stdout:
            parts.append(f"printed {step.stdout!r}")
        rows.append("  | ".join(parts))
    rows.append(ending(trace))
    return "\n".join(rows)
