"""The ``quizzer review`` screen: show a card, read the answer, record it.

Every answer is committed in its own transaction the moment it is given, and nothing
is held open while waiting for the learner, so Ctrl-C, a closed terminal or a crash
loses at most the answer being typed.

On a terminal the screen reads lines with ``input()`` (line editing included). When
stdin is not a terminal it reads the same lines from stdin: the *line protocol*,
documented in the README, so sessions can be scripted and tested.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console
from rich.text import Text

from quizzer import review, scheduler, store
from quizzer.answers import answer_matches, compare_outputs
from quizzer.cli.visible import markup as escape
from quizzer.cli.visible import visible
from quizzer.errors import QuizzerError
from quizzer.questions import Content

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from quizzer.db import Database
    from quizzer.fsrs6 import Fsrs
    from quizzer.orm import Question

T = TypeVar("T")

#: The line that ends a typed (multi-line) output.
END_OF_OUTPUT = "."
HELP = f"""\
Commands, typed alone on a line where an answer is expected:
  ?  help    s  skip (comes back later)    u  undo the last answer    q  quit
  t  trace: step through what the code of the last missed predict-output card did
Predict the output: type it line by line; a line with just "{END_OF_OUTPUT}" ends it.
  Ending at once means "don't know". To type a line that is exactly a
  command or "{END_OF_OUTPUT}", put a backslash before it: \\s  \\.  (\\\\s is \\s)
Multiple choice: the number of your choice; an empty line means don't know.
Recall: Enter shows the answer; then a(gain) h(ard) g(ood) e(asy), or 0-5.
After a correct answer: h(ard), g(ood, also Enter), e(asy).
Every answer is saved at once: quitting or Ctrl-C loses nothing."""
COMMANDS = {"?": "help", "s": "skip", "u": "undo", "q": "quit", "t": "trace"}
#: Typed output lines that are backslashes and then one of these lose their first backslash;
#: other backslashes are output.
ESCAPABLE = {*COMMANDS, END_OF_OUTPUT}
RATINGS = {"h": 3, "hard": 3, "g": 4, "good": 4, "": 4, "e": 5, "easy": 5}
RECALL_RATINGS = {"a": 1, "again": 1, **RATINGS} | {str(q): q for q in scheduler.QUALITIES}


class _Command(Exception):
    """The learner typed a command instead of an answer."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _EndOfInput(Exception):
    """stdin ended: the review stops as if the learner had typed ``q``."""


@dataclass(frozen=True)
class CardView:
    """What the screen needs of a question, read once per card."""

    question_id: int
    name: str
    deck_title: str
    content: Content
    #: Answers the card had before this showing: a new shuffle of its choices each time.
    showing: int = 0
    #: The variant shown (0: the question's own code), None for a question that does not vary.
    variant: int | None = None


@dataclass
class Summary:
    """What one sitting did."""

    answers: list[tuple[int, int, review.Phase]] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    interrupted: bool = False
    #: Cards still waiting when the sitting ended (0: all done for today).
    left: int = 0

    @property
    def cards(self) -> int:
        return len({qid for qid, _, _ in self.answers})

    @property
    def correct_share(self) -> float | None:
        if not self.answers:
            return None
        return sum(q >= scheduler.PASSING_QUALITY for _, q, _ in self.answers) / len(self.answers)

    @property
    def new_learned(self) -> int:
        return len({qid for qid, _, phase in self.answers if phase == "new"})

    @property
    def fresh_answered(self) -> int:
        return len({qid for qid, _, phase in self.answers if phase != "drill"})


class Terminal:
    """Reads answer lines and writes the screen."""

    def __init__(self, console: Console, *, interactive: bool) -> None:
        self.console = console
        self.interactive = interactive

    def read(self, prompt: str) -> str:
        """One line without its newline; raises _EndOfInput when input has ended.

        NUL characters are dropped: no output contains one, and PostgreSQL text cannot.
        """
        if self.interactive:
            try:
                return input(prompt).replace("\0", "")
            except EOFError:
                raise _EndOfInput from None
        self.console.print(prompt, end="", markup=False, highlight=False)
        line = sys.stdin.readline()
        if not line:
            self.console.print()
            raise _EndOfInput
        line = line.rstrip("\n").rstrip("\r").replace("\0", "")
        # Scripts get their answers echoed, so a transcript reads like a review.
        self.console.print(line, markup=False, highlight=False)
        return line

    def key(self, prompt: str) -> str:
        """One key press on a terminal, no Enter needed ("" for Enter); a line in the line
        protocol (see :meth:`read`)."""
        if not self.interactive:
            return self.read(prompt)
        try:
            fd = sys.stdin.fileno()
            import termios

            termios.tcgetattr(fd)
        except (ImportError, OSError, ValueError):  # no termios (Windows), not a tty
            return self.read(prompt)
        self.console.print(prompt, end="", markup=False, highlight=False)
        try:
            key = _read_key(fd)
        except KeyboardInterrupt:
            self.console.print()
            raise
        except _EndOfInput:
            self.console.print()
            raise
        self.console.print(key, markup=False, highlight=False)
        return key


#: After a single key, how long an Enter pressed out of habit is waited for and dropped,
#: so it does not become the next card's first line (seconds).
ENTER_AFTER_KEY = 0.2
#: What a key press reads at most: one key, or one escape sequence (an arrow key).
KEY_BYTES = 64


def _read_key(fd: int) -> str:
    """One key press from the terminal ``fd`` with no Enter (cbreak mode), the terminal's
    own mode restored whatever happens (Ctrl-C included: cbreak keeps signals on).

    Returns "" for Enter, the key otherwise; raises _EndOfInput on Ctrl-D. An Enter that
    follows the key at once is read with it and dropped.
    """
    import select
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        while True:
            chunk = os.read(fd, KEY_BYTES).decode("utf-8", errors="replace")
            if not chunk or chunk[0] == "\x04":
                raise _EndOfInput
            if chunk[0] in "\r\n":
                return ""
            if chunk[0] == "\x1b" or not chunk[0].isprintable():
                continue  # an arrow key, Backspace, ...: not an answer
            key = chunk[0]
            if len(chunk) == 1 and select.select([fd], [], [], ENTER_AFTER_KEY)[0]:
                following = os.read(fd, KEY_BYTES)
                if following.strip(b"\r\n"):
                    termios.tcflush(fd, termios.TCIFLUSH)  # typed ahead of the next prompt
            return key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


#: A Markdown code span: `x` or ``x`y``.
INLINE_CODE = re.compile(r"(?P<ticks>`+)(?P<code>.+?)(?P=ticks)")
CODE_STYLE = "bold cyan"
#: What starts the rest of a code line too wide for the screen.
CONTINUATION = "↪ "


def _cuts(line: str, *, first: int, rest: int) -> list[int]:
    """Where to cut ``line`` (in characters) so that its first part takes ``first``
    columns at most and each other part ``rest`` (wide characters take two)."""
    from rich.cells import cell_len

    cuts: list[int] = []
    room, used = first, 0
    for index, char in enumerate(line):
        width = cell_len(char)
        if used + width > room:
            cuts.append(index)
            room, used = rest, 0
        used += width
    return cuts


def _card(session: Session, question: Question, python: str | None = None) -> CardView:
    content = Content.of(question)
    if python is not None and content.answers_by_python:
        # The answer for the Python the learner studies (`config python`).
        content = replace(content, answer=content.answer_for(python))
    # A question that varies shows the variant after the one shown last (from the log).
    variant = review.next_variant(session, question.id, content.variant_count)
    shown = content if variant is None else content.shown(variant)
    showing = store.answer_count(session, question.id)
    return CardView(question.id, question.name, question.deck.title, shown, showing, variant)


def choice_order(choices: Sequence[str], *, today: date, name: str, showing: int) -> list[str]:
    """The shuffled order of a multiple-choice card's ``showing``-th showing on ``today``.

    Each showing is shuffled anew (a drill, the next day), so the answer is never learnt
    as a position; the same showing has the same order, so a review resumed before the
    card was answered looks the same.
    """
    order = list(choices)
    random.Random(f"{today.isoformat()}/{name}/{showing}").shuffle(order)
    return order


class ReviewScreen:
    """One sitting of ``quizzer review``: the screen, the keyboard, a transaction per answer."""

    def __init__(
        self,
        database: Database,
        terminal: Terminal,
        *,
        today: date,
        decks: Sequence[str] = (),
        new_per_day: int,
        limit: int | None = None,
        leech_threshold: int = review.DEFAULT_LEECH_THRESHOLD,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
        fsrs: Fsrs | None = None,
        python: str | None = None,
        trust: bool = False,
    ) -> None:
        self.database = database
        #: The Python version whose answers are asked (questions with answers by version).
        self.python = python
        #: Trace (`t`) code of decks from files not bundled with quizzer where the sandbox
        #: is no kernel boundary (`review --trust`).
        self.trust = trust
        self.term = terminal
        self.out = terminal.console
        self.today = today
        self.decks = tuple(decks)
        self.new_per_day = new_per_day
        self.limit = limit
        self.leech_threshold = leech_threshold
        #: The FSRS scheduler when it is the one in use (None: SM-2).
        self.fsrs = fsrs
        self.now = now
        self.clock = clock
        self.summary = Summary()
        #: What is left to ask, kept between cards (review.Queue).
        self.queue = review.Queue(today=today, decks=self.decks, new_per_day=new_per_day)
        #: The outcome of the last answer saved, told once its rating is known.
        self._recorded: review.Recorded | None = None
        #: The last predict-output card answered wrong, and what was typed: what ``t`` traces.
        self.missed: tuple[CardView, str] | None = None

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> Summary:
        """Ask cards until none are left or the learner quits; every answer is saved."""
        self.summary.started = self.clock()
        try:
            with self.database.reading() as session:
                self.queue.load(session)
            while True:
                cap = None if self.limit is None else self.limit - self.summary.fresh_answered
                item = self.queue.head(cap)
                self.summary.left = self.queue.total(cap)
                if item is None:
                    break
                with self.database.reading() as session:
                    # Another process answered meanwhile, or the card changed: read again.
                    if self.queue.stale(session):
                        self.queue.load(session)
                        continue
                    question = store.load_question(session, item.question_id)
                    if not self.queue.still_asks(question, item.phase):
                        self.queue.load(session)
                        continue
                    card = _card(session, question, self.python)
                try:
                    self._ask(card, item.phase, self.summary.left)
                except _Command as command:
                    if command.name == "quit":
                        break
                    if command.name == "skip":
                        self.queue.skip(card.question_id)
                        self.out.print("Skipped: it comes back later.")
                    elif command.name == "undo":
                        self._undo()
        except _EndOfInput:
            pass
        except KeyboardInterrupt:
            self.summary.interrupted = True
            self.out.print()
        self.summary.ended = self.clock()
        self._finish()
        return self.summary

    # --- one card ----------------------------------------------------------------------

    def _ask(self, card: CardView, phase: review.Phase, left: int) -> None:
        position = len(self.summary.answers) + 1
        total = len(self.summary.answers) + left
        label = {"due": "review", "new": "new", "drill": "drill"}[phase]
        self.out.rule(style="dim")
        self.out.print(
            f"[bold]{position}/{total}[/]  {escape(card.name)}  [dim]({label})[/]",
            highlight=False,
        )
        self.out.print()
        self.out.print(self._prose(card.content.prompt), highlight=False)
        if card.content.code:
            self.out.print()
            self._print_code(visible(card.content.code.rstrip("\n")))
        self.out.print()
        started = self.clock()
        typed: str | None
        checked: int | None
        if card.content.type == "predict_output":
            checked, typed = self._predict_output(card)
        elif card.content.type == "multiple_choice":
            checked, typed = self._multiple_choice(card)
        else:
            checked, typed = self._recall(card)
        seconds = self.clock() - started
        if checked is None:
            # Right: saved at once as "good", so quitting at the rating loses nothing; the
            # rating only adjusts it.
            self._record(card, phase, RATINGS[""], typed, seconds, announce=False)
            try:
                rating = self._rate(self._rating_prompt(card), RATINGS)
            except _Command as command:
                if command.name != "skip":  # quit, or undo the answer just saved
                    raise
                rating = RATINGS[""]
            self._rerate(card, rating)
            return
        quality = checked
        self._record(card, phase, quality, typed, seconds)
        if card.content.type != "recall" and quality < scheduler.PASSING_QUALITY:
            # A wrong answer showed the right one: time to read it, once the answer is saved
            # (quitting at the pause must not lose it).
            self._pause()

    def _prose(self, text: str) -> Text:
        """Deck text with its Markdown `code` spans styled as code on a colour terminal;
        elsewhere the backticks stay, which reads as well in plain text. Control
        characters are spelled out (:func:`visible`)."""
        text = visible(text)
        if self.out.no_color or self.out.color_system is None:
            return Text(text)
        shown = Text()
        at = 0
        for span in INLINE_CODE.finditer(text):
            shown.append(text[at : span.start()])
            shown.append(span["code"], style=CODE_STYLE)
            at = span.end()
        shown.append(text[at:])
        return shown

    def _print_code(self, code: str) -> None:
        """The card's code, highlighted; a line wider than the screen goes on in the next
        row after a continuation mark, so it is not mistaken for a line of its own."""
        # Loaded with the first card that has code: a review of cards without code never
        # holds Pygments' lexer tables in memory.
        from rich.syntax import Syntax

        mark = CONTINUATION if self.out.encoding.lower().startswith("utf") else "> "
        room = max(10, self.out.width - len(mark))
        syntax = Syntax(code, "python", theme="ansi_dark", background_color="default")
        highlighted = syntax.highlight(code)
        if highlighted.plain.endswith("\n"):
            highlighted.right_crop(1)
        for line in highlighted.split("\n", allow_blank=True):
            cuts = _cuts(line.plain, first=self.out.width, rest=room)
            parts = line.divide(cuts) if cuts else [line]
            self.out.print(parts[0], highlight=False, soft_wrap=True)
            for part in parts[1:]:
                self.out.print(Text.assemble((mark, "dim"), part), highlight=False, soft_wrap=True)

    def _command(self, line: str) -> None:
        name = COMMANDS.get(line.strip())
        if name == "help":
            self.out.print(HELP, markup=False, highlight=False, soft_wrap=True)
        elif name == "trace":
            self._trace()
        elif name is not None:
            raise _Command(name)

    def _trace(self) -> None:
        """Step through the last missed snippet, from where its output leaves the typed one."""
        if self.missed is None:
            self.out.print("Nothing to trace: t follows a wrong predict-the-output answer.")
            return
        card, typed = self.missed
        refusal = self._trace_refusal(card)
        if refusal is not None:
            self.out.print(f"Not traced: {escape(refusal)}", highlight=False)
            return
        # Loaded here, on t only: review start-up never pays for the tracer.
        from quizzer.cli.trace_view import Stepper
        from quizzer.sandbox.tracing import trace_snippet

        self.out.print(f"[dim]Tracing {escape(card.name)}…[/]", highlight=False)
        trace = trace_snippet(card.content.code or "")
        Stepper(self.out, self.term.read, trace, typed).run()
        self.out.print("[dim]Back to the review.[/]", highlight=False)

    def _trace_refusal(self, card: CardView) -> str | None:
        """Why ``card``'s code may not be traced here (None: it may): code of a deck from
        a file not bundled with quizzer runs only inside a kernel boundary, or with
        ``--trust``, as `check` and `trace` say."""
        from quizzer import checking
        from quizzer.cli.content import refuse_untrusted

        with self.database.reading() as session:
            sources = checking.deck_sources(session, [card.name.split("/", 1)[0]])
        try:
            refuse_untrusted(sources, trust=self.trust)
        except QuizzerError as exc:
            return str(exc).replace("pass --trust", "run `quizzer review --trust`")
        return None

    def _read_answer(self, prompt: str, *, one_key: bool = False) -> str:
        """A line (or with ``one_key``, a key press) that is not a command (help is shown
        and asked again)."""
        while True:
            line = self.term.key(prompt) if one_key else self.term.read(prompt)
            if line.strip() not in COMMANDS:
                return line
            self._command(line)

    def _rate(self, prompt: str, ratings: dict[str, int]) -> int:
        while True:
            line = self._read_answer(prompt, one_key=True).strip().lower()
            if line in ratings:
                return ratings[line]
            self.out.print(f"Type one of: {', '.join(k for k in ratings if k)} (Enter = good).")

    def _predict_output(self, card: CardView) -> tuple[int | None, str]:
        self.out.print(
            f'[dim]Type the output; a line with just "{END_OF_OUTPUT}" finishes (? for help).[/]'
        )
        lines: list[str] = []
        while True:
            try:
                line = self.term.read("| ")
            except _EndOfInput:
                if lines and self.term.interactive:
                    break  # Ctrl-D after some lines: the Unix "end of my input", like "."
                raise
            # Leading spaces are output: " q" is a line of output, "q " the command.
            if not lines and line.rstrip(" ") in COMMANDS:
                self._command(line)
                continue
            if line == END_OF_OUTPUT:
                break
            if line[:1] == "\\" and line.rstrip(" ").lstrip("\\") in ESCAPABLE:
                line = line[1:]  # "\s" is the line "s", "\\s" the line "\s"
            lines.append(line)
        typed = "\n".join(lines)
        if answer_matches(card.content.answer, typed):
            self.out.print("[green]Correct.[/]")
            self._explain(card)  # a lucky guess learns why too
            return None, typed
        if not typed.strip():
            self.out.print("[yellow]Don't know.[/] The output is:")
            self.out.print(escape(card.content.answer.rstrip("\n")), highlight=False)
        else:
            self.out.print("[red]Not quite.[/]")
            from quizzer.cli.render import print_comparison  # only when an answer is wrong

            print_comparison(self.out, compare_outputs(card.content.answer, typed))
        self._explain(card)
        if card.content.code:
            self.missed = (card, typed)
            self.out.print("[dim]t: trace what the code did, step by step.[/]")
        return (0 if not typed.strip() else 1), typed

    def _multiple_choice(self, card: CardView) -> tuple[int | None, str]:
        order = choice_order(
            card.content.choices or (), today=self.today, name=card.name, showing=card.showing
        )
        for number, choice in enumerate(order, start=1):
            self.out.print(Text.assemble(f"  {number}. ", self._prose(choice)), highlight=False)
        while True:
            # Up to 9 choices a key press is a choice; more take a number and Enter.
            line = self._read_answer(
                f"Your choice (1-{len(order)}, Enter = don't know): ", one_key=len(order) <= 9
            ).strip()
            if not line:
                self.out.print(
                    f"[yellow]Don't know.[/] The answer is: {escape(card.content.answer)}"
                )
                self._explain(card)
                return 0, ""
            if line.isascii() and line.isdigit() and 1 <= int(line) <= len(order):
                break
            self.out.print(f"Type a number from 1 to {len(order)}.")
        chosen = order[int(line) - 1]
        if chosen == card.content.answer:
            self.out.print("[green]Correct.[/]")
            self._explain(card)
            return None, chosen
        self.out.print(f"[red]Not quite.[/] The answer is: {escape(card.content.answer)}")
        self._explain(card)
        return 1, chosen

    def _recall(self, card: CardView) -> tuple[int | None, str | None]:
        self._read_answer("Recall the answer, then press Enter to see it: ")
        self.out.print(f"[bold]Answer:[/] {escape(card.content.answer.rstrip())}", highlight=False)
        self._explain(card)
        quality = self._rate("a(gain) / h(ard) / g(ood) / e(asy), or 0-5 [g]: ", RECALL_RATINGS)
        return quality, None

    def _explain(self, card: CardView) -> None:
        if card.content.explanation:
            self.out.print(
                Text.assemble(("Why: ", "dim"), self._prose(card.content.explanation.strip())),
                highlight=False,
            )

    def _pause(self) -> None:
        """Time to read the right answer (terminals only); the answer is saved already."""
        if not self.term.interactive:
            return
        try:
            self._read_answer("[Enter] next card ")
        except _Command as command:
            if command.name != "skip":  # quit, or undo the answer just given
                raise

    # --- saving ------------------------------------------------------------------------

    def _record(
        self,
        card: CardView,
        phase: review.Phase,
        quality: int,
        typed: str | None,
        seconds: float,
        *,
        announce: bool = True,
    ) -> None:
        now = self.now()

        def save(session: Session) -> review.Recorded:
            return review.record_answer(
                session,
                store.load_question(session, card.question_id),
                quality=quality,
                today=self.today,
                now=now,
                typed=typed,
                variant=card.variant,
                seconds=round(seconds, 3),
                leech_threshold=self.leech_threshold,
                fsrs=self.fsrs,
            )

        recorded = self._saving(card, f"your answer (quality {quality})", save)
        self.queue.answered(card.question_id, recorded, quality=quality)
        self.summary.answers.append((card.question_id, quality, phase))
        self._recorded = recorded
        if announce:
            self._announce(card, quality, recorded)

    def _saving(self, card: CardView, what: str, work: Callable[[Session], T]) -> T:
        """``work`` in a write transaction, run again once on a new connection if the
        server went away; if that fails too, say exactly what was not saved."""
        from sqlalchemy.exc import OperationalError

        try:
            return self.database.write(work)
        except OperationalError as exc:
            if not exc.connection_invalidated:
                raise
            reason = " ".join(str(exc.orig or exc).split())
            raise QuizzerError(
                f"{card.name}: {what} was not saved: the database server cannot be reached "
                f"({reason}); every answer before it is saved"
            ) from None

    def _rating_prompt(self, card: CardView) -> str:
        """ "How did it feel?", with the interval each rating gives, as Anki shows it."""
        recorded = self._recorded
        labels = {3: "h(ard)", 4: "g(ood)", 5: "e(asy)"}
        if recorded is not None and recorded.outcome.kind == "graded":
            for quality in labels:
                labels[quality] += f" {self._interval(card, recorded, quality)}d"
        return f"How did it feel? {' / '.join(labels.values())} [g]: "

    def _interval(self, card: CardView, recorded: review.Recorded, quality: int) -> int:
        """Days until the card is due again if the answer just saved is rated ``quality``:
        what rerating it would store (FSRS's fuzz is seeded by the card's name)."""
        if self.fsrs is None:
            after = scheduler.answer(recorded.outcome.before, quality=quality, day=self.today)
            return (after.after.due - self.today).days
        memory = self.fsrs.review(
            recorded.memory_before, quality=quality, day=self.today, seed=card.name
        )
        return (memory.due - self.today).days

    def _rerate(self, card: CardView, quality: int) -> None:
        """The rating of a right answer saved as "good": stored if it differs, then told."""
        recorded = self._recorded
        if recorded is None:
            return
        if quality != RATINGS[""]:
            now, saved = self.now(), recorded
            rerated = self._saving(
                card,
                f"your rating (quality {quality}; the answer is saved as good)",
                lambda session: review.rerate(
                    session,
                    saved,
                    quality,
                    today=self.today,
                    now=now,
                    leech_threshold=self.leech_threshold,
                    fsrs=self.fsrs,
                ),
            )
            if rerated is None:
                self.out.print(
                    "[dim]Another answer to this card came in meanwhile: kept as good.[/]"
                )
                quality = RATINGS[""]
            else:
                self.queue.rerated(card.question_id, recorded, rerated, quality=quality)
                recorded = rerated
                question_id, _, phase = self.summary.answers[-1]
                self.summary.answers[-1] = (question_id, quality, phase)
        self._announce(card, quality, recorded)

    def _announce(self, card: CardView, quality: int, recorded: review.Recorded) -> None:
        outcome = recorded.outcome
        if recorded.leeched:
            self.out.print(
                f"[yellow]This card is a leech: failed {outcome.after.lapses} times, so it is "
                f"suspended.[/] Rewrite it with `quizzer edit {escape(card.name)}`, or bring it "
                f"back with `quizzer unsuspend {escape(card.name)}`.",
                highlight=False,
            )
        elif scheduler.needs_drill(quality):
            self.out.print("[dim]Back later today for practice.[/]")
        elif outcome.kind == "graded":
            days = (outcome.after.due - self.today).days
            self.out.print(f"[dim]Next review in {days} day{'s' if days != 1 else ''}.[/]")

    def _undo(self) -> None:
        try:
            with self.database.transaction() as session:
                undone = review.undo_last(session, self.fsrs)
                self.queue.undone(session)
        except QuizzerError as exc:
            self.out.print(str(exc))
            return
        for index in range(len(self.summary.answers) - 1, -1, -1):
            if self.summary.answers[index][0] == undone.question_id:
                del self.summary.answers[index]
                break
        self.out.print(f"Undone: {escape(undone.name)} (quality {undone.quality}, {undone.kind}).")

    # --- the end -----------------------------------------------------------------------

    def _finish(self) -> None:
        summary = self.summary
        if self.limit is not None:  # what --limit left out still waits for today
            summary.left = self.queue.total()
        self.out.rule(style="dim")
        if summary.interrupted:
            self.out.print("Stopped. Every answer you gave is saved.")
        if not summary.answers:
            if summary.interrupted:
                return
            if summary.left:
                self.out.print(
                    f"No answers this time; {summary.left} card"
                    f"{'s wait' if summary.left != 1 else ' waits'} for today."
                )
                return
            self._nothing_due()
            return
        seconds = round(summary.ended - summary.started)
        share = summary.correct_share or 0.0
        self.out.print(
            f"Reviewed {summary.cards} card{'s' if summary.cards != 1 else ''} "
            f"({len(summary.answers)} answer{'s' if len(summary.answers) != 1 else ''}, "
            f"{share:.0%} correct), "
            f"{summary.new_learned} new, in {seconds // 60}m {seconds % 60:02d}s."
        )
        if summary.left:
            self.out.print(
                f"{summary.left} card{'s' if summary.left != 1 else ''} still to do today: "
                "`quizzer review` goes on where you stopped."
            )
        # Only what is shown is counted (a quit with nothing answered counts nothing).
        with self.database.reading() as session:
            tomorrow, week = review.due_soon(session, today=self.today, decks=self.decks)
        self.out.print(f"Due tomorrow: {tomorrow}. Due in the next 7 days: {week}.")

    def _nothing_due(self) -> None:
        with self.database.reading() as session:
            next_due = review.next_due(session, today=self.today, decks=self.decks)
            waiting = review.new_waiting(session, decks=self.decks)
            new_today = review.new_started_on(session, self.today) if waiting else 0
        self.out.print("Nothing due today.", end=" ")
        if next_due is not None:
            days = (next_due - self.today).days
            self.out.print(
                f"The next card is due on {next_due} (in {days} day{'s' if days != 1 else ''})."
            )
        else:
            self.out.print("No cards are scheduled yet.")
        if waiting and new_today >= self.new_per_day:
            more = min(5, waiting)
            # --new is the day's total, so the number that works counts today's too.
            self.out.print(
                f"{waiting} new cards wait; today's limit of {self.new_per_day} "
                f"is reached ({new_today} new done today; `quizzer review --new "
                f"{new_today + more}` for {more} more)."
            )
