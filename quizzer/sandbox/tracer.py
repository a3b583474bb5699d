"""quizzer's step tracer: the script the sandbox runs instead of a snippet, to trace it.

    python -I tracer.py SNIPPET EVENTS MAX_STEPS REPR_CHARS

It runs SNIPPET as ``__main__`` (its own ``__file__``, ``sys.argv`` and ``sys.path[0]``, so
it behaves as ``python -I SNIPPET`` does) and appends one JSON object per line to EVENTS:
a step when it starts (``{"step": n, "event": ...}``), and what became known of a step
later (``{"update": n, ...}``: the names it changed, what it printed). Written line by
line, so a run the sandbox kills still leaves the steps before it.

This file runs inside the sandbox, under ``python -I`` in an empty temporary directory,
with no site-packages: it imports the standard library only, and quizzer never imports
it. Python 3.12 and later trace through ``sys.monitoring`` (PEP 669), 3.11 through
``sys.settrace``; what is recorded is the same.
"""

from __future__ import annotations

import gc
import os
import reprlib
import sys
import threading
import types

# Start-up counts: a traced run should cost little more than the run. So no typing, json,
# re or dis here, and ast only for a snippet with a decorator.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200
#: The opcode a generator's frame stops at when it yields (sys.settrace only, 3.11).
_YIELD_VALUE = 86 if sys.version_info[:2] == (3, 11) else -1
#: Seconds a run may go on, untraced, after its trace was cut (then it is ended).
_GRACE_SECONDS = 2.0
#: How many calls of closures look up their cells with the garbage collector's help (it
#: walks every object): enough for a quiz snippet, bounded for a loop of a million calls.
_CELL_LOOKUPS = 200
_EXCEPTION_ATTRIBUTES = 3


#: JSON's escapes for a string's characters (control characters, quotes, backslashes,
#: lone surrogates).
_ESCAPES = {
    **{c: f"\\u{c:04x}" for c in [*range(0x20), *range(0xD800, 0xE000)]},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


def _json(value: Any) -> str:
    """``value`` (str, int, float, bool, None, dicts and lists of them) as JSON."""
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json(str(k))}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return _json(str(value))


def _without_addresses(text: str) -> str:
    """``<function f at 0x7f...>`` as ``<function f>``: the address says nothing."""
    start = text.find(" at 0x")
    while start >= 0:
        end = start + 6
        while end < len(text) and text[end] in "0123456789abcdefABCDEF":
            end += 1
        if end < len(text) and text[end] == ">" and end > start + 6:
            text = text[:start] + text[end:]
            start = text.find(" at 0x", start)
        else:
            start = text.find(" at 0x", start + 1)
    return text


class _Stop(Exception):
    """The trace is cut: the tracer's callbacks stop where they are (never seen by the snippet)."""


class _Repr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:  # more digits than int -> str allows
            return f"<int of {x.bit_length()} bits>"


class Tracer:
    """What the snippet did, step by step: the backends call ``on_*`` as its frames run."""

    def __init__(self, path: str, source: str, events: Any, max_steps: int, chars: int) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.events = events
        self.max_steps = max_steps
        self.chars = chars
        self.steps = 0
        self.stopped = False
        self.frames: dict[int, dict[str, Any]] = {}  # id(frame) -> its state
        self.serial = 0
        #: The thread running a repr for the trace: what it prints is not the snippet's.
        self.quiet: int | None = None
        self.lock = threading.RLock()
        self.repr = _Repr()
        self.repr.maxstring = self.repr.maxother = max(chars, 10)
        self.repr.maxlong = max(chars, 10)
        self.cells: dict[int, int] = {}
        self.cell_lookups = 0
        self.decorators: dict[int, tuple[str, str, int]] = {}  # line -> (def, decorator, def line)
        self.decorated: dict[str, set[int]] = {}  # def name -> ids of what was decorated
        self.decorated_defs: set[int] = set()  # the lines of decorated defs
        self.wrappers: dict[types.CodeType, tuple[str, str]] = {}
        self._find_decorators(source)

    # --- the snippet's source ---------------------------------------------------------

    def _find_decorators(self, source: str) -> None:
        if "@" not in source:
            return
        import ast

        try:
            tree = ast.parse(source)
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for decorator in node.decorator_list:
                    text = ast.get_source_segment(source, decorator) or "?"
                    end = decorator.end_lineno or decorator.lineno
                    for line in range(decorator.lineno, end + 1):
                        self.decorators[line] = (node.name, text, node.lineno)
                if node.decorator_list:
                    self.decorated_defs.add(node.lineno)

    def _line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    # --- writing events ---------------------------------------------------------------

    def _write(self, record: dict[str, Any]) -> None:
        self.events.write(_json(record) + "\n")
        self.events.flush()

    def _step(self, frame: types.FrameType, event: str, detail: str = "", **extra: Any) -> int:
        if self.stopped:
            raise _Stop
        if self.steps >= self.max_steps:
            self.cut()
            raise _Stop
        self.steps += 1
        state = self._state(frame)
        thread = threading.current_thread().name
        record = {
            "step": self.steps,
            "event": event,
            "function": frame.f_code.co_qualname
            if hasattr(frame.f_code, "co_qualname")
            else frame.f_code.co_name,
            "frame": state["serial"],
            "depth": state["depth"],
            "thread": thread,
            "line": frame.f_lineno or 0,
            "detail": detail,
            **extra,
        }
        self._write(record)
        return self.steps

    def _update(self, step: int, **fields: Any) -> None:
        self._write({"update": step, **fields})

    def cut(self) -> None:
        """The cap is reached: tracing stops, and the run goes on untraced (so it prints
        what it would have printed) for at most a grace period, then it is ended."""
        self.stopped = True
        self._write({"cut": self.steps})
        _stop_tracing()
        import signal

        def overtime(signum: int, frame: Any) -> None:
            self._write({"overtime": _GRACE_SECONDS})
            try:
                sys.stdout.flush()
            finally:
                os._exit(0)

        try:
            signal.signal(signal.SIGALRM, overtime)
            signal.setitimer(signal.ITIMER_REAL, _GRACE_SECONDS)
        except ValueError:  # not the main thread: the sandbox's own limits end the run
            pass

    # --- what a frame holds ------------------------------------------------------------

    def _state(self, frame: types.FrameType) -> dict[str, Any]:
        state = self.frames.get(id(frame))
        if state is None:
            self.serial += 1
            depth = 0
            back = frame.f_back
            while back is not None:
                if back.f_code.co_filename == self.path:
                    depth += 1
                back = back.f_back
            state = {"serial": self.serial, "depth": depth, "seen": {}, "open": None}
            state["resumed"] = None
            self.frames[id(frame)] = state
        return state

    def show(self, value: Any) -> str:
        self.quiet = threading.get_ident()
        try:
            text = self.repr.repr(value)
        except BaseException as exc:  # a __repr__ that fails is shown, not raised
            text = f"<repr failed: {type(exc).__name__}>"
        finally:
            self.quiet = None
        text = _without_addresses(text)
        if len(text) > self.chars:
            text = text[: self.chars - 1] + "…"
        return text

    def _snapshot(self, frame: types.FrameType) -> dict[str, tuple[int, str]]:
        names = frame.f_locals
        module = frame.f_code.co_name == "<module>"
        return {
            name: (id(value), self.show(value))
            for name, value in list(names.items())
            if not (module and name.startswith("__"))
        }

    def _changes(self, frame: types.FrameType, state: dict[str, Any]) -> dict[str, str]:
        now = self._snapshot(frame)
        seen = state["seen"]
        changed = {
            name: shown for name, (ident, shown) in now.items() if seen.get(name) != (ident, shown)
        }
        for name in seen.keys() - now.keys():
            changed[name] = "(deleted)"
        state["seen"] = now
        return changed

    def _close_line(self, frame: types.FrameType, state: dict[str, Any]) -> None:
        """The step of the line this frame was running is over: what did it change?"""
        step = state["open"]
        if step is None:
            return
        state["open"] = None
        changed = self._changes(frame, state)
        if changed:
            self._update(step, changed=changed)

    # --- stdout, by step --------------------------------------------------------------

    def printed(self, text: str) -> None:
        if not text:
            return
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != self.path:
            frame = frame.f_back
        with self.lock:
            if self.stopped:
                return
            state = None if frame is None else self.frames.get(id(frame))
            step = None if state is None else state["open"] or state.get("last")
            if step is None:
                step = self.steps
            if step:
                self._update(step, stdout=text, at=self.steps)

    # --- events -----------------------------------------------------------------------

    def on_call(self, frame: types.FrameType) -> None:
        code = frame.f_code
        known = id(frame) in self.frames
        state = self._state(frame)
        kind = _kind(code)
        if known and kind:
            self._resume(frame, state, kind)
            return
        args = self._changes(frame, state)
        if code.co_name == "<module>":
            return  # the snippet itself starts: its first line is its first step
        detail, event = "", "call"
        extra: dict[str, Any] = {}
        decorating = self._decorating(frame)
        if decorating is not None:
            name, decorator = decorating
            event, detail = "call", f"the decorator @{decorator} runs, given {name}"
            state["decorating"] = name
        elif code in self.wrappers:
            decorator, name = self.wrappers[code]
            event, detail = "wrapper", f"wrapper made by @{decorator} for {name} is called"
        elif code.co_name == "__enter__":
            event, detail = "enter", f"{_owner(frame)}.__enter__()"
        elif code.co_name == "__exit__":
            event, detail = "exit", self._exit_detail(frame)
            state["exit"] = True
        elif kind:
            event, detail = "start", f"{kind} {code.co_name} starts"
        if code.co_freevars:
            cells = self._cells(frame)
            if cells:
                extra["cells"] = cells
                detail = "; ".join(
                    [detail] * bool(detail)
                    + [
                        f"{name} -> {cell['cell']}"
                        + (
                            f" shared with {cell['shared_with']} other function"
                            f"{'s' if cell['shared_with'] != 1 else ''}"
                            if cell["shared_with"]
                            else ""
                        )
                        + f", holds {cell['value']}"
                        for name, cell in cells.items()
                    ]
                )
        step = self._step(frame, event, detail, **extra)
        state["last"] = step
        if args:
            self._update(step, changed=args)

    def _resume(self, frame: types.FrameType, state: dict[str, Any], kind: str) -> None:
        caller = frame.f_back
        how, event = "resumes (next)", "resume"
        if caller is not None and caller.f_code.co_filename == self.path:
            text = self._line_text(caller.f_lineno or 0)
            start = text.find(".send(")
            if start >= 0:
                how, event = f"resumes: send({_call_arguments(text, start + 6)})", "send"
        elif caller is None or kind == "coroutine":
            how = "resumes"
        step = self._step(frame, event, f"{kind} {frame.f_code.co_name} {how}")
        state["resumed"] = step
        state["last"] = step

    def on_line(self, frame: types.FrameType) -> None:
        state = self._state(frame)
        self._close_line(frame, state)
        state["resumed"] = None
        state["raising"] = False
        event, detail = "line", ""
        if self.decorated_defs:
            event, detail = self._applying(frame, state)
        step = self._step(frame, event, detail)
        state["open"] = step
        state["last"] = step

    def _applying(self, frame: types.FrameType, state: dict[str, Any]) -> tuple[str, str]:
        """A decorated definition runs its lines as: the decorators' expressions (top down),
        the def line (the function is made), each decorator line again as it is applied
        (bottom up), the def line (the name is bound). Every Python does this, 3.11 to 3.13;
        a line of the third part is a decorator applied, whether it is Python code or not."""
        line = frame.f_lineno or 0
        if line in self.decorated_defs:
            state["applying"] = None if state.get("applying") == line else line
            return "line", ""
        found = self.decorators.get(line)
        if found is not None and found[2] == state.get("applying"):
            name, decorator, _ = found
            return "decorate", f"@{decorator} applied to {name} (definition time)"
        return "line", ""

    def on_return(self, frame: types.FrameType, value: Any, suspended: bool | None = None) -> None:
        state = self._state(frame)
        self._close_line(frame, state)
        code = frame.f_code
        kind = _kind(code)
        if suspended is None:  # sys.settrace tells a yield from a return by the instruction
            if state.get("raising"):  # an exception leaves the frame: no value returned
                self.on_unwind(frame)
                return
            suspended = bool(kind) and code.co_code[max(frame.f_lasti, 0)] == _YIELD_VALUE
        if suspended:
            verb = "awaits" if kind == "coroutine" else "yields"
            step = self._step(
                frame, "suspend", f"{kind} {code.co_name} suspends, {verb} {self.show(value)}"
            )
            state["last"] = step
            return
        decorated = state.get("decorating")
        if decorated is not None:
            self.decorated.setdefault(decorated, set()).add(id(value))
            inner = getattr(value, "__code__", None)
            if isinstance(inner, types.CodeType) and inner.co_filename == self.path:
                decorator = (
                    self.decorators.get(frame.f_back.f_lineno or 0, ("", "?", 0))[1]
                    if frame.f_back
                    else "?"
                )
                self.wrappers.setdefault(inner, (decorator, decorated))
        if code.co_name == "<module>":
            del self.frames[id(frame)]
            return
        detail = f"returns {self.show(value)}"
        if state.get("exit"):
            passed = state.get("exit_exception")
            if passed:
                detail += f": the {passed} is {'swallowed' if value else 'raised again'}"
        self._step(frame, "return", detail)
        del self.frames[id(frame)]

    def on_exception(self, frame: types.FrameType, exc: BaseException) -> None:
        state = self._state(frame)
        if isinstance(exc, StopIteration | StopAsyncIteration) and state.get("resumed"):
            return  # 3.11: what it awaited (or yielded from) has finished; no throw
        state["raising"] = True
        if state.pop("thrown", None) == id(exc):
            return
        text = _exception_line(exc)
        if state.get("resumed") is not None and _kind(frame.f_code):
            event = "close" if isinstance(exc, GeneratorExit) else "throw"
            kind = _kind(frame.f_code)
            what = "closed" if event == "close" else f"thrown {text}"
            self._update(
                state["resumed"], event=event, detail=f"{kind} {frame.f_code.co_name} is {what}"
            )
            state["resumed"] = None
            return
        tb = exc.__traceback__
        here = tb is not None and tb.tb_frame is frame and tb.tb_next is None
        self._close_line(frame, state)
        step = self._step(frame, "exception", f"{'raises' if here else 'passes on'} {text}")
        state["last"] = step

    def on_unwind(self, frame: types.FrameType) -> None:
        """A frame left by an exception (3.12+: no return event)."""
        state = self.frames.get(id(frame))
        if state is not None:
            self._close_line(frame, state)
            del self.frames[id(frame)]

    def on_throw(self, frame: types.FrameType, exc: BaseException) -> None:
        """3.12+: a generator or coroutine resumed by throw() or close()."""
        self.on_call(frame)
        self.on_exception(frame, exc)
        self._state(frame)["thrown"] = id(exc)  # its RAISE event follows: the same step

    # --- decorators, closures, context managers ----------------------------------------

    def _decorating(self, frame: types.FrameType) -> tuple[str, str] | None:
        caller = frame.f_back
        if caller is None or caller.f_code.co_filename != self.path:
            return None
        found = self.decorators.get(caller.f_lineno or 0)
        code = frame.f_code
        if found is None or code.co_argcount < 1:
            return None
        name, decorator, _ = found
        argument = frame.f_locals.get(code.co_varnames[0])
        own = (
            getattr(argument, "__name__", None) == name
            and getattr(getattr(argument, "__code__", None), "co_filename", self.path) == self.path
        )
        if own or id(argument) in self.decorated.get(name, ()):
            return name, decorator
        return None

    def _exit_detail(self, frame: types.FrameType) -> str:
        code = frame.f_code
        names = code.co_varnames[1 : 1 + _EXCEPTION_ATTRIBUTES]
        values = [frame.f_locals.get(name) for name in names]
        exc = values[1] if len(values) > 1 else None
        owner = _owner(frame)
        if isinstance(exc, BaseException):
            self._state(frame)["exit_exception"] = type(exc).__name__
            return f"{owner}.__exit__() gets {_exception_line(exc)}"
        return f"{owner}.__exit__() gets no exception"

    def _cells(self, frame: types.FrameType) -> dict[str, dict[str, Any]]:
        code = frame.f_code
        values = frame.f_locals
        found: dict[str, dict[str, Any]] = {}
        function = None
        if self.cell_lookups < _CELL_LOOKUPS:
            self.cell_lookups += 1
            candidates = [
                f
                for f in gc.get_referrers(code)
                if isinstance(f, types.FunctionType) and f.__closure__
            ]
            for candidate in candidates:
                closure = candidate.__closure__ or ()
                if all(
                    _cell_value(cell) is values.get(name)
                    for name, cell in zip(code.co_freevars, closure, strict=False)
                ):
                    function = candidate
                    break
        for index, name in enumerate(code.co_freevars):
            entry: dict[str, Any] = {
                "value": self.show(values.get(name, "<empty>")),
                "shared_with": 0,
            }
            if function is not None and function.__closure__ is not None:
                cell = function.__closure__[index]
                number = self.cells.setdefault(id(cell), len(self.cells) + 1)
                entry["cell"] = f"cell #{number}"
                entry["shared_with"] = _sharing(cell) - 1
            else:
                entry["cell"] = "a cell"
            found[name] = entry
        return found


def _call_arguments(text: str, start: int) -> str:
    """The source of a call's arguments, from just after its "(" to the matching ")"."""
    depth = 0
    for end in range(start, len(text)):
        if text[end] in "([{":
            depth += 1
        elif text[end] in ")]}":
            if depth == 0:
                return text[start:end]
            depth -= 1
    return text[start:]


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _sharing(cell: Any) -> int:
    """How many functions read through ``cell``."""
    count = 0
    for holder in gc.get_referrers(cell):
        if isinstance(holder, tuple):
            count += sum(
                1
                for f in gc.get_referrers(holder)
                if isinstance(f, types.FunctionType) and f.__closure__ is holder
            )
    return max(count, 1)


def _kind(code: types.CodeType) -> str:
    if code.co_flags & _CO_ASYNC_GENERATOR:
        return "async generator"
    if code.co_flags & _CO_COROUTINE:
        return "coroutine"
    if code.co_flags & _CO_GENERATOR:
        return "generator"
    return ""


def _owner(frame: types.FrameType) -> str:
    code = frame.f_code
    if code.co_argcount:
        this = frame.f_locals.get(code.co_varnames[0])
        return type(this).__name__
    return "?"


def _exception_line(exc: BaseException) -> str:
    try:
        message = str(exc)
    except BaseException:
        message = "?"
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


# --- stdout -----------------------------------------------------------------------------


class _Stdout:
    """sys.stdout as the snippet sees it: every write goes to the real one, and is noted."""

    def __init__(self, real: Any, tracer: Tracer) -> None:
        self._real = real
        self._tracer = tracer

    def write(self, text: str) -> int:
        if self._tracer.quiet == threading.get_ident():
            return len(text)  # printed by a __repr__ the tracer called: not the snippet's
        written: int = self._real.write(text)
        if isinstance(text, str):
            self._tracer.printed(text)
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# --- the two ways of tracing ------------------------------------------------------------


def _settrace(tracer: Tracer) -> None:
    path = tracer.path

    def local(frame: types.FrameType, event: str, arg: Any) -> Any:
        if tracer.stopped:
            return None
        try:
            with tracer.lock:
                if event == "line":
                    tracer.on_line(frame)
                elif event == "return":
                    tracer.on_return(frame, arg)
                elif event == "exception":
                    tracer.on_exception(frame, arg[1])
        except _Stop:
            return None
        return local

    def exit_only(frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "return" and not tracer.stopped:
            try:
                with tracer.lock:
                    tracer.on_return(frame, arg)
            except _Stop:
                return None
        return exit_only

    def global_(frame: types.FrameType, event: str, arg: Any) -> Any:
        if tracer.stopped:
            return None
        code = frame.f_code
        caller = frame.f_back
        own = code.co_filename == path
        context = code.co_name in ("__enter__", "__exit__")
        if not own and not (context and caller is not None and caller.f_code.co_filename == path):
            return None
        try:
            with tracer.lock:
                tracer.on_call(frame)
        except _Stop:
            return None
        return local if own else exit_only

    threading.settrace(global_)
    sys.settrace(global_)


def _monitor(tracer: Tracer) -> None:
    """Python 3.12+: PEP 669's low-cost events; code outside the snippet is switched off
    where it is first seen (``DISABLE``), so the rest of the run pays nothing for it."""
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    events = monitoring.events
    tool = monitoring.DEBUGGER_ID
    monitoring.use_tool_id(tool, "quizzer-trace")
    path = tracer.path
    disable = monitoring.DISABLE
    busy = threading.local()
    context = ("__enter__", "__exit__")

    def guarded(handler: Any, local: bool) -> Any:
        # Only local events (a code location's) can be switched off; RAISE, PY_UNWIND and
        # PY_THROW cannot.
        off = disable if local else None

        def callback(code: types.CodeType, *args: Any) -> Any:
            if code.co_filename != path and code.co_name not in context:
                return off
            if getattr(busy, "on", False):
                return None  # a repr the tracer runs is not the snippet's step
            busy.on = True
            try:
                with tracer.lock:
                    handler(code, sys._getframe(1), *args)
            except _Stop:
                pass
            finally:
                busy.on = False
            return None

        return callback

    def start(code: types.CodeType, frame: types.FrameType, offset: int) -> None:
        if code.co_filename == path:
            tracer.on_call(frame)
            return
        caller = frame.f_back
        if caller is not None and caller.f_code.co_filename == path:
            tracer.on_call(frame)

    def line(code: types.CodeType, frame: types.FrameType, number: int) -> None:
        if code.co_filename == path:
            tracer.on_line(frame)

    def returned(code: types.CodeType, frame: types.FrameType, offset: int, value: Any) -> None:
        if code.co_filename == path or id(frame) in tracer.frames:
            tracer.on_return(frame, value, suspended=False)

    def yielded(code: types.CodeType, frame: types.FrameType, offset: int, value: Any) -> None:
        if code.co_filename == path:
            tracer.on_return(frame, value, suspended=True)

    def raised(code: types.CodeType, frame: types.FrameType, offset: int, exc: Any) -> None:
        if code.co_filename == path:
            tracer.on_exception(frame, exc)

    def unwound(code: types.CodeType, frame: types.FrameType, offset: int, exc: Any) -> None:
        tracer.on_unwind(frame)

    def thrown(code: types.CodeType, frame: types.FrameType, offset: int, exc: Any) -> None:
        if code.co_filename == path:
            tracer.on_throw(frame, exc)

    for event, handler, local in (
        (events.PY_START, start, True),
        (events.PY_RESUME, start, True),
        (events.LINE, line, True),
        (events.PY_RETURN, returned, True),
        (events.PY_YIELD, yielded, True),
        (events.RAISE, raised, False),
        (events.PY_UNWIND, unwound, False),
        (events.PY_THROW, thrown, False),
    ):
        monitoring.register_callback(tool, event, guarded(handler, local))
    monitoring.set_events(
        tool,
        events.PY_START
        | events.PY_RESUME
        | events.LINE
        | events.PY_RETURN
        | events.PY_YIELD
        | events.RAISE
        | events.PY_UNWIND
        | events.PY_THROW,
    )


def _stop_tracing() -> None:
    if sys.version_info >= (3, 12):
        sys.monitoring.set_events(sys.monitoring.DEBUGGER_ID, 0)
        return
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type,unused-ignore]


def main() -> None:
    snippet, events_path, max_steps, chars = sys.argv[1:5]
    with open(snippet, encoding="utf-8") as handle:
        source = handle.read()
    sys.argv = [snippet]
    sys.path[0] = os.path.dirname(snippet)
    events = open(events_path, "a", encoding="utf-8")  # noqa: SIM115 (open until the end)
    tracer = Tracer(snippet, source, events, int(max_steps), int(chars))
    try:
        code = compile(source, snippet, "exec", dont_inherit=True)
    except SyntaxError as exc:
        import traceback

        traceback.print_exception(exc, limit=0)
        tracer._write({"end": _exception_line(exc)})
        sys.exit(1)
    module = types.ModuleType("__main__")
    module.__file__ = snippet
    module.__dict__["__builtins__"] = __builtins__
    module.__dict__["__cached__"] = None
    sys.modules["__main__"] = module
    sys.stdout = _Stdout(sys.stdout, tracer)  # type: ignore[assignment,unused-ignore]
    if sys.version_info >= (3, 12):
        _monitor(tracer)
    else:
        _settrace(tracer)
    try:
        exec(code, module.__dict__)
    except SystemExit:
        _stop_tracing()
        raise
    except BaseException as exc:
        _stop_tracing()
        tb = exc.__traceback__
        # Python's own report, without this file's frame (the hook prints the traceback the
        # exception holds, whatever it is given).
        tb = tb.tb_next if tb is not None else None
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        tracer._write({"end": _exception_line(exc)})
        sys.stdout.flush()
        sys.exit(1)
    _stop_tracing()


if __name__ == "__main__":
    main()
