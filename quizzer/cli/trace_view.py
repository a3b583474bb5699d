"""Showing a trace: ``quizzer trace`` (every step, or ``--json``) and the review's ``t``.

Loaded only when a trace is asked for: the review screen imports it on ``t``.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from quizzer.cli.visible import markup as escape
from quizzer.cli.visible import visible
from quizzer.sandbox.tracing import Step, Trace, ending, first_divergent_step

#: What the learner types inside the trace (the review's ``t``).
STEP_KEYS = "n: next step   p: previous   q: back to the review"
#: How many source lines are shown around the running line, above and below.
WINDOW = 6


def _label(step: Step) -> str:
    return {"line": "", "call": "call", "return": "return"}.get(step.event, step.event)


def _quoted(text: str) -> str:
    return repr(text)


def step_text(trace: Trace, step: Step, *, source: bool = False) -> Text:
    """One step as text: where it runs, then what it changed, printed and means."""
    lines = visible(trace.code).splitlines()
    many_threads = len(trace.threads) > 1
    out = Text()
    head = f"{step.step:>4}  " + "  " * step.depth
    out.append(head, style="dim")
    label = _label(step)
    if label:
        out.append(f"{label} ", style="bold magenta")
    out.append(visible(step.function), style="cyan")
    out.append(f":{step.line} #{step.frame}", style="dim")
    if many_threads:
        out.append(f" [{step.thread}]", style="yellow")
    text = lines[step.line - 1].strip() if 0 < step.line <= len(lines) else ""
    if step.event == "line" and text and not source:
        out.append("   ")
        out.append(text, style="bold")
    pad = " " * (len(head) + 2)
    if step.detail:
        out.append(f"\n{pad}{visible(step.detail)}", style="magenta")
    if step.changed:
        shown = ", ".join(f"{name} = {value}" for name, value in step.changed.items())
        out.append(f"\n{pad}{visible(shown)}", style="green")
    if step.stdout:
        out.append(f"\n{pad}printed {visible(_quoted(step.stdout))}", style="blue")
    return out


def source_window(trace: Trace, line: int) -> Text:
    """The snippet around ``line``, numbered, the line marked."""
    lines = visible(trace.code.rstrip("\n")).splitlines()
    first = max(1, line - WINDOW)
    last = min(len(lines), line + WINDOW)
    out = Text()
    for number in range(first, last + 1):
        mark = "→" if number == line else " "
        style = "reverse bold" if number == line else ""
        out.append(f" {mark}{number:>3}  ", style="bold" if number == line else "dim")
        out.append(lines[number - 1], style=style)
        if number != last:
            out.append("\n")
    return out


def print_trace(console: Console, trace: Trace, title: str) -> None:
    """Every step, after the numbered source; then how the run ended."""
    console.print(Text(f"{visible(title)}: {len(trace.steps)} steps", style="bold"), soft_wrap=True)
    lines = visible(trace.code.rstrip("\n")).splitlines()
    for number, text in enumerate(lines, start=1):
        console.print(Text(f"{number:>4}  {text}"), highlight=False)
    console.print()
    for step in trace.steps:
        console.print(step_text(trace, step), highlight=False, soft_wrap=True)
    style = "bold red" if trace.cut or trace.exception else "bold"
    console.print(Text(visible(ending(trace)), style=style), soft_wrap=True)


class Stepper:
    """The review's trace: one step at a time, from the first step where the output differs."""

    def __init__(self, console: Console, read: Callable[[str], str], trace: Trace, typed: str):
        self.out = console
        self.read = read
        self.trace = trace
        self.start = first_divergent_step(trace, typed)

    def run(self) -> None:
        """Step with n and p until q; raises what ``read`` raises at the end of input."""
        trace = self.trace
        if not trace.steps:
            self.out.print(f"No steps to show: {escape(ending(trace))}", highlight=False)
            return
        index = self.start
        if index:
            self.out.print(
                f"[dim]… steps 1-{index} folded: the output matches what you typed up to "
                f"here (p goes back).[/]",
                highlight=False,
            )
        self.out.print(f"[dim]{STEP_KEYS}[/]", highlight=False)
        self._show(index)
        while True:
            key = self.read("trace> ").strip().lower()
            if key == "q":
                return
            if key in ("n", ""):
                if index + 1 >= len(trace.steps):
                    self.out.print(f"[bold]End of the trace:[/] {escape(ending(trace))}")
                    continue
                index += 1
            elif key == "p":
                if index == 0:
                    self.out.print("[dim]This is the first step.[/]")
                    continue
                index -= 1
            else:
                self.out.print(f"[dim]{STEP_KEYS}[/]", highlight=False)
                continue
            self._show(index)

    def _show(self, index: int) -> None:
        trace = self.trace
        step = trace.steps[index]
        self.out.rule(f"step {step.step} of {len(trace.steps)}", style="dim")
        self.out.print(source_window(trace, step.line), highlight=False)
        self.out.print(step_text(trace, step, source=True), highlight=False)
        printed = trace.printed_by(index)
        if printed:
            self.out.print(Text("output so far:", style="dim"))
            self.out.print(Text(visible(printed.rstrip("\n"))), highlight=False)
