"""Reviewing: what to ask next, recording an answer through the scheduler, taking it back.

Everything is derived from the database each time it is asked, so a review that is
interrupted and started again the same day continues exactly where it stopped, drill
included. Functions take a Session and ``today``/``now``, and never commit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, case, delete, func, select
from sqlalchemy.orm import Session

from quizzer import fsrs6, scheduler, store
from quizzer.errors import NotDueError, QuizzerError
from quizzer.orm import Card, Deck, Question, Review, Setting

# --- which scheduler ----------------------------------------------------------------

SchedulerName = Literal["sm2", "fsrs"]
SCHEDULERS: tuple[SchedulerName, ...] = ("sm2", "fsrs")
#: The setting that holds the parameters `quizzer optimize` fitted (absent: FSRS's defaults).
PARAMETERS_KEY = "fsrs-parameters"


def _stored(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    return None if row is None else row.value


def scheduler_in_use(session: Session) -> SchedulerName:
    """The `scheduler` setting: "sm2" (the default) or "fsrs"."""
    value = _stored(session, "scheduler")
    if value is None:
        return "sm2"
    if value not in SCHEDULERS:
        raise QuizzerError(
            f"scheduler: the stored value {value!r} is not sm2 or fsrs; "
            "set it again with `quizzer config scheduler sm2`"
        )
    return "fsrs" if value == "fsrs" else "sm2"


def fsrs_config(session: Session) -> fsrs6.Config:
    """FSRS's parameters and options as the settings hold them."""
    parameters = _stored(session, PARAMETERS_KEY)
    retention = _stored(session, "desired-retention")
    maximum = _stored(session, "maximum-interval")
    fuzz = _stored(session, "fuzz")
    try:
        return fsrs6.Config(
            parameters=None if parameters is None else tuple(float(p) for p in parameters),
            desired_retention=(
                fsrs6.DEFAULT_DESIRED_RETENTION if retention is None else float(retention)
            ),
            maximum_interval=fsrs6.DEFAULT_MAXIMUM_INTERVAL if maximum is None else int(maximum),
            fuzz=True if fuzz is None else fuzz == "on",
        )
    except (TypeError, ValueError, OverflowError):
        raise QuizzerError(
            "the stored FSRS settings cannot be read; set desired-retention, maximum-interval "
            "and fuzz again with `quizzer config`"
        ) from None


def load_fsrs(session: Session) -> fsrs6.Fsrs | None:
    """The FSRS scheduler when it is the one in use, else None (and py-fsrs is not loaded)."""
    if scheduler_in_use(session) != "fsrs":
        return None
    return fsrs6.Fsrs(fsrs_config(session))


@dataclass(frozen=True)
class Switched:
    """What switching scheduler did."""

    scheduler: SchedulerName
    cards: int
    changed: bool


def question_names(session: Session, question_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Questions' ``DECK/ID`` by their id, all or ``question_ids`` (FSRS's fuzz seed)."""
    stmt = select(Question.id, Deck.slug, Question.qid).join(Deck, Deck.id == Question.deck_id)
    if question_ids is not None:
        stmt = stmt.where(Question.id.in_(question_ids))
    return {qid: f"{slug}/{name}" for qid, slug, name in session.execute(stmt)}


def _in_use(session: Session, fsrs: fsrs6.Fsrs | None) -> fsrs6.Fsrs | None:
    """The FSRS scheduler if FSRS is in use now (``fsrs`` when given, to save making it)."""
    if scheduler_in_use(session) != "fsrs":
        return None
    return fsrs if fsrs is not None else fsrs6.Fsrs(fsrs_config(session))


def refresh_fsrs(
    session: Session, fsrs: fsrs6.Fsrs, question_ids: Sequence[int] | None = None
) -> int:
    """Compute the memory state and due date of cards (all: None) by replaying their log.

    A card never graded keeps its due date (the day it was added).
    """
    answers = store.graded_answers(session, question_ids)
    names = question_names(session, question_ids)
    stmt = select(Card)
    if question_ids is not None:
        stmt = stmt.where(Card.question_id.in_(question_ids))
    count = 0
    for row in session.scalars(stmt):
        memory = fsrs.replay(answers.get(row.question_id, []), seed=names[row.question_id])
        store.store_memory(row, memory)
        count += 1
    session.flush()
    return count


def switch_scheduler(session: Session, to: str) -> Switched:
    """Make ``to`` ("sm2" or "fsrs") the scheduler; every card's due date follows it.

    To FSRS: each card's memory state is computed by replaying its review log. Back to
    SM-2: each card continues from SM-2's own state, which every answer kept up to date.
    """
    if to not in SCHEDULERS:
        raise QuizzerError(f"scheduler: {to!r} is not one of sm2, fsrs")
    current = scheduler_in_use(session)
    if to == "fsrs":
        fsrs = fsrs6.Fsrs(fsrs_config(session))
        count = refresh_fsrs(session, fsrs) if current != "fsrs" else 0
    else:
        count = 0
        if current != "sm2":
            for row in session.scalars(select(Card)):
                row.due = store.sm2_due(store.to_state(row))
                count += 1
    setting = session.get(Setting, "scheduler")
    if setting is None:
        session.add(Setting(key="scheduler", value=to))
    else:
        setting.value = to
    session.flush()
    return Switched("fsrs" if to == "fsrs" else "sm2", count, to != current)


# --- the queue ----------------------------------------------------------------------


Phase = Literal["due", "new", "drill"]


@dataclass(frozen=True)
class QueueItem:
    """One card to ask, and why it is asked today."""

    question_id: int
    phase: Phase


def _started_on(day: date) -> Select[int]:
    # Served by ix_reviews_new_started (a partial index of exactly these rows).
    return select(Review.question_id).where(
        Review.day == day, Review.kind == "graded", Review.last_graded_before.is_(None)
    )


def new_started_on(session: Session, day: date) -> int:
    """How many new cards had their first graded answer on ``day``, in any deck.

    The limit is per day, not per ``--deck``: ten new cards in one deck and ten in another
    make twenty new cards that day.
    """
    return len(new_started_ids(session, day))


def new_started_ids(session: Session, day: date) -> list[int]:
    """The cards that had their first graded answer on ``day``, in any deck."""
    return list(session.scalars(_started_on(day)))


def due_ids(session: Session, *, today: date, decks: Sequence[str] = ()) -> list[int]:
    """Cards due today or earlier, most overdue first."""
    stmt = (
        select(Card.question_id)
        .join(Question, Question.id == Card.question_id)
        .where(store.due_by(today))
        .order_by(Card.due, Question.deck_id, Question.position)
    )
    return list(session.scalars(store.in_decks(stmt, decks)))


#: How new cards are introduced (the `new-order` setting).
NEW_ORDERS = ("interleaved", "in-order", "random")
DEFAULT_NEW_ORDER = "interleaved"


def new_ids(
    session: Session,
    *,
    today: date,
    limit: int,
    decks: Sequence[str] = (),
    order: str = DEFAULT_NEW_ORDER,
    started: Sequence[int] = (),
) -> list[int]:
    """Up to ``limit`` never-answered cards, in the ``order`` of NEW_ORDERS.

    ``started`` are the cards first answered today (new_started_ids): they keep their
    places in the day's order, so answering a card leaves the others where they were and
    a review resumed later in the day asks them in the order it would have.

    *interleaved* takes each deck's next card in turn (file order within a deck), so a
    day's new cards come from every deck and neighbours in a file, which give each other
    away, are days apart; *in-order* is deck by deck in file order; *random* is shuffled
    afresh each day, the same all day. A new card is due from the day it was added: a
    review ``--today`` an earlier day does not see it (the scheduler would refuse it).
    """
    if limit <= 0:
        return []
    wanted = store.NEW & (Card.due <= today) & store.NOT_SUSPENDED
    if started:
        wanted = wanted | Card.question_id.in_(started)
    candidates = store.in_decks(
        select(Card.question_id).join(Question, Question.id == Card.question_id).where(wanted),
        decks,
    )
    taken = set(started)
    total = limit + len(taken)
    if not taken:
        # A collection that has learned every card: one look at ix_card_states_due_new
        # instead of walking every deck's questions in file order to find none.
        any_new = select(Card.question_id).where(store.NEW, Card.due <= today, store.NOT_SUSPENDED)
        if session.scalar(any_new.limit(1)) is None:
            return []

    def fresh(ids: Iterable[int]) -> list[int]:
        return [q for q in ids if q not in taken][:limit]

    if order == "in-order":
        stmt = candidates.order_by(Question.deck_id, Question.position)
        return fresh(session.scalars(stmt.limit(total)))
    if order == "random":
        # A shuffle that is the same all day and new the next: a hash of the id and the
        # day that SQLite and PostgreSQL compute alike in 64-bit integers (squared, so the
        # order is not an arithmetic progression of the ids). It reads every new card.
        day, prime = today.toordinal(), 2_147_483_647
        mixed = (Question.id * 48271 + day * 69621) % prime
        stmt = candidates.order_by((mixed * mixed + day) % prime, Question.id)
        return fresh(session.scalars(stmt.limit(total)))
    # Interleaved: each deck's first cards (one short query a deck, on the deck/position
    # index: a window over every new card cost 80 ms at 90k of them), then deck by deck.
    decks_chosen = select(Deck.id).order_by(Deck.id)
    if decks:
        decks_chosen = decks_chosen.where(Deck.slug.in_(decks))
    firsts = [
        list(
            session.scalars(
                candidates.where(Question.deck_id == deck_id)
                .order_by(Question.position, Question.id)
                .limit(total)
            )
        )
        for deck_id in session.scalars(decks_chosen)
    ]
    turns = itertools.zip_longest(*firsts)
    return fresh(q for turn in turns for q in turn if q is not None)


def drill_ids(session: Session, *, today: date, decks: Sequence[str] = ()) -> list[int]:
    """Cards whose latest answer today scored below 4: the same-day drill, oldest first."""
    latest = (
        select(func.max(Review.id).label("id"))
        .where(Review.day == today)
        .group_by(Review.question_id)
        .subquery()
    )
    stmt = (
        select(Review.question_id)
        .join(latest, latest.c.id == Review.id)
        .join(Question, Question.id == Review.question_id)
        .join(Card, Card.question_id == Review.question_id)
        .where(
            Review.quality < scheduler.DRILL_UNTIL,
            # Not answered on a later day since (a review --today an earlier day).
            Card.last_graded == today,
            store.NOT_SUSPENDED,
        )
        .order_by(Review.id)
    )
    return list(session.scalars(store.in_decks(stmt, decks)))


def build_queue(
    session: Session,
    *,
    today: date,
    decks: Sequence[str] = (),
    new_per_day: int,
    due_and_new_left: int | None = None,
) -> list[QueueItem]:
    """What is left to ask today: due cards, then new ones within the daily limit, then drill.

    ``due_and_new_left`` caps the due and new cards (``review --limit``); drill is not capped.
    """
    due, new, drill = _phases(session, today=today, decks=decks, new_per_day=new_per_day)
    fresh = [QueueItem(q, "due") for q in due] + [QueueItem(q, "new") for q in new]
    if due_and_new_left is not None:
        fresh = fresh[: max(0, due_and_new_left)]
    return fresh + [QueueItem(q, "drill") for q in drill]


def _phases(
    session: Session, *, today: date, decks: Sequence[str], new_per_day: int
) -> tuple[list[int], list[int], list[int]]:
    """The due, new and drill cards of build_queue, uncapped."""
    due = due_ids(session, today=today, decks=decks)
    started = new_started_ids(session, today)
    new_left = max(0, new_per_day - len(started))
    order = _stored(session, "new-order") or DEFAULT_NEW_ORDER
    new = new_ids(session, today=today, limit=new_left, decks=decks, order=order, started=started)
    return due, new, drill_ids(session, today=today, decks=decks)


#: What today's answers add up to: count, and the sums of ids, question ids and qualities.
Mark = tuple[int, int, int, int]


class Queue:
    """The queue of one review, kept between cards and updated as they are answered.

    It starts as build_queue and stays equal to what build_queue would give after each
    answer, rerating and skip (tests/test_review_queue.py), without asking the database
    again. Other processes may answer meanwhile (a second terminal, another machine on
    PostgreSQL): :meth:`stale` notices, with one query over today's answers, when
    today's answers are no longer just the ones this queue made plus those it started
    with, and the review then loads the queue again. Undo loads it again too.
    """

    def __init__(self, *, today: date, decks: Sequence[str] = (), new_per_day: int) -> None:
        self.today = today
        self.decks = tuple(decks)
        self.new_per_day = new_per_day
        self.due: list[int] = []
        self.new: list[int] = []
        self.drill: list[int] = []
        #: Skipped cards, in the order they were skipped: they go to the back.
        self.skipped: list[int] = []
        #: This review's own answers still logged: review id -> (question id, quality).
        self._ours: dict[int, tuple[int, int]] = {}
        #: Today's answers by everyone else, as last seen.
        self._others: Mark | None = None

    # --- reading ------------------------------------------------------------------

    def load(self, session: Session) -> None:
        """Read the queue afresh (start, undo, or a change made by another process)."""
        self.due, self.new, self.drill = _phases(
            session, today=self.today, decks=self.decks, new_per_day=self.new_per_day
        )
        self._others = self._theirs(session)

    def _theirs(self, session: Session) -> Mark:
        count, ids, questions, qualities = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Review.id), 0),
                func.coalesce(func.sum(Review.question_id), 0),
                func.coalesce(func.sum(Review.quality), 0),
            ).where(Review.day == self.today)
        ).one()
        ours = self._ours.items()
        return (
            int(count) - len(ours),
            int(ids) - sum(i for i, _ in ours),
            int(questions) - sum(q for _, (q, _) in ours),
            int(qualities) - sum(g for _, (_, g) in ours),
        )

    def stale(self, session: Session) -> bool:
        """Whether another process changed today's answers since the queue was read."""
        return self._others is None or self._theirs(session) != self._others

    def still_asks(self, question: Question, phase: Phase) -> bool:
        """Whether ``question`` (freshly read) is still asked today as ``phase``."""
        row = question.state
        if question.retired or row.suspended:
            return False
        if phase == "new":
            return row.last_graded is None
        if phase == "drill":
            return row.last_graded == self.today
        return (
            row.last_graded is not None
            and row.last_graded != self.today
            and (row.due <= self.today)
        )

    def items(self, cap: int | None = None) -> list[QueueItem]:
        """The whole queue as build_queue orders it, skipped cards last (``cap``: --limit)."""
        fresh = [QueueItem(q, "due") for q in self.due] + [QueueItem(q, "new") for q in self.new]
        if cap is not None:
            fresh = fresh[: max(0, cap)]
        queue = fresh + [QueueItem(q, "drill") for q in self.drill]
        order = {qid: n for n, qid in enumerate(self.skipped, start=1)}
        return sorted(queue, key=lambda item: order.get(item.question_id, 0))

    def __len__(self) -> int:
        return len(self.due) + len(self.new) + len(self.drill)

    def total(self, cap: int | None = None) -> int:
        """How many cards are left (``cap``: what --limit leaves of the due and new ones)."""
        fresh = len(self.due) + len(self.new)
        if cap is not None:
            fresh = min(fresh, max(0, cap))
        return fresh + len(self.drill)

    def head(self, cap: int | None = None) -> QueueItem | None:
        """The next card to ask: the first not skipped, else the first skipped."""
        skipped = set(self.skipped)
        fresh_left = len(self.due) + len(self.new)
        if cap is not None:
            fresh_left = min(fresh_left, max(0, cap))
        phases: tuple[tuple[Phase, list[int]], ...] = (
            ("due", self.due),
            ("new", self.new),
            ("drill", self.drill),
        )
        seen = 0
        present: dict[int, Phase] = {}
        for phase, ids in phases:
            for question_id in ids:
                if phase != "drill":
                    if seen >= fresh_left:
                        break
                    seen += 1
                if question_id not in skipped:
                    return QueueItem(question_id, phase)
                present.setdefault(question_id, phase)
        for question_id in self.skipped:
            if question_id in present:
                return QueueItem(question_id, present[question_id])
        return None

    # --- changing -----------------------------------------------------------------

    def skip(self, question_id: int) -> None:
        """``question_id`` goes to the back (after the cards skipped before it)."""
        self.skipped = [q for q in self.skipped if q != question_id]
        self.skipped.append(question_id)

    def answered(self, question_id: int, recorded: Recorded, *, quality: int) -> None:
        """Follow one answer this review recorded (in the transaction that recorded it)."""
        self.skipped = [q for q in self.skipped if q != question_id]
        for ids in (self.due, self.new, self.drill):
            if question_id in ids:
                ids.remove(question_id)
        if recorded.review_id is not None:
            self._ours[recorded.review_id] = (question_id, quality)
        # The drill is ordered by each card's latest answer today: this one is the newest.
        if scheduler.needs_drill(quality) and not recorded.leeched:
            self.drill.append(question_id)

    def rerated(self, question_id: int, before: Recorded, after: Recorded, *, quality: int) -> None:
        """Follow a rerating: ``before``'s log row was replaced by ``after``'s."""
        if before.review_id is not None:
            self._ours.pop(before.review_id, None)
        self.answered(question_id, after, quality=quality)

    def undone(self, session: Session) -> None:
        """Follow an undo (of any answer): the queue is read again."""
        if self._ours:
            kept = set(session.scalars(select(Review.id).where(Review.id.in_(list(self._ours)))))
            self._ours = {i: answer for i, answer in self._ours.items() if i in kept}
        self.load(session)


# --- answering ----------------------------------------------------------------------


#: Failures (lapses) after which a card is a leech: tagged and suspended.
DEFAULT_LEECH_THRESHOLD = 8


def is_leech_lapse(lapses: int, threshold: int) -> bool:
    """Whether reaching ``lapses`` makes a card a leech: at the threshold, then every half of it."""
    if threshold <= 0 or lapses < threshold:
        return False
    return (lapses - threshold) % max(1, threshold // 2) == 0


@dataclass(frozen=True)
class Recorded:
    """What recording one answer did."""

    outcome: scheduler.Outcome
    leeched: bool
    #: FSRS's memory state after the answer, when FSRS scheduled it.
    memory: fsrs6.Memory | None = None
    #: The answer's row in the review log.
    review_id: int | None = None
    #: FSRS's memory state before the answer (what another rating would start from).
    memory_before: fsrs6.Memory | None = None


def record_answer(
    session: Session,
    question: Question,
    *,
    quality: int,
    today: date,
    now: datetime,
    typed: str | None = None,
    seconds: float | None = None,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
    fsrs: fsrs6.Fsrs | None = None,
    variant: int | None = None,
) -> Recorded:
    """Apply one answer through the scheduler in use (the `scheduler` setting) and log it.
    Refused answers change nothing. ``fsrs`` saves making the FSRS scheduler per answer.

    Under FSRS the card's due date is FSRS's, and SM-2's state follows every graded answer
    too (as if the card were due for SM-2), so switching back to SM-2 loses nothing.

    A graded failure that brings the card's lapses to the leech threshold (and every
    half-threshold after it) tags it as a leech and suspends it.

    The card's state row is locked and read again first: of two processes answering the
    same card at once (a shared PostgreSQL server), the second waits for the first to
    commit and then sees its state, so its answer is a drill and never a second grade.
    On SQLite the IMMEDIATE transaction already serializes writers (FOR UPDATE is not
    emitted there).
    """
    # Fetched, not just executed: the ORM refreshes question.state only as rows are read.
    session.scalars(
        select(Card)
        .where(Card.question_id == question.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    row = question.state
    fsrs = _in_use(session, fsrs)
    memory_before = memory_after = None
    try:
        if fsrs is None:
            outcome = scheduler.answer(store.to_state(row), quality=quality, day=today)
        else:
            outcome, memory_before, memory_after = _answer_fsrs(
                fsrs, row, quality=quality, today=today, seed=question.name
            )
    except QuizzerError as exc:
        raise type(exc)(f"{question.name}: {exc}") from None
    before, after = outcome.before, outcome.after
    logged = Review(
        question_id=question.id,
        answered_at=now,
        day=today,
        quality=quality,
        kind=outcome.kind,
        typed=typed,
        seconds=seconds,
        variant=variant,
        ease_before=before.ease,
        repetitions_before=before.repetitions,
        interval_before=before.interval,
        due_before=before.due,
        lapses_before=before.lapses,
        last_graded_before=before.last_graded,
        leech_before=row.leech,
        suspended_before=row.suspended,
        ease_after=after.ease,
        repetitions_after=after.repetitions,
        interval_after=after.interval,
        due_after=after.due,
        lapses_after=after.lapses,
        scheduler="sm2" if fsrs is None else "fsrs",
        stability_before=memory_before.stability if memory_before else None,
        difficulty_before=memory_before.difficulty if memory_before else None,
        stability_after=memory_after.stability if memory_after else None,
        difficulty_after=memory_after.difficulty if memory_after else None,
    )
    session.add(logged)
    store.store_state(row, after)
    if fsrs is not None:
        store.store_memory(row, memory_after)
    leeched = after.lapses > before.lapses and is_leech_lapse(after.lapses, leech_threshold)
    if leeched:
        row.leech = True
        row.suspended = True
    session.flush()
    return Recorded(outcome, leeched, memory_after, logged.id, memory_before)


def _answer_fsrs(
    fsrs: fsrs6.Fsrs, row: Card, *, quality: int, today: date, seed: str
) -> tuple[scheduler.Outcome, fsrs6.Memory | None, fsrs6.Memory | None]:
    """One answer under FSRS: the outcome (``due`` is FSRS's) and the memory before/after."""
    scheduler.check_quality(quality)
    state = store.to_state(row)
    memory = store.to_memory(row)
    if state.last_graded is not None and today == state.last_graded:
        return scheduler.Outcome("drill", state, state), memory, memory
    if today < state.due:
        raise NotDueError(f"not due until {state.due.isoformat()}")
    after_memory = fsrs.review(memory, quality=quality, day=today, seed=seed)
    # SM-2 follows along: graded as if due today when FSRS asks before SM-2 would.
    own = replace(state, due=min(store.sm2_due(state), today))
    sm2_after = scheduler.answer(own, quality=quality, day=today).after
    outcome = scheduler.Outcome("graded", state, replace(sm2_after, due=after_memory.due))
    return outcome, memory, after_memory


def grade(
    session: Session,
    name: str,
    quality: int,
    *,
    today: date,
    now: datetime,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
) -> Recorded:
    """Record one answer for the question named ``DECK/ID`` (``quizzer grade``)."""
    question = store.get_question(session, name)
    if question.retired:
        how = "deleted" if question.deck.source is None else "removed from its deck file"
        raise QuizzerError(f"{name}: this question is retired ({how}); nothing changed")
    if question.state.suspended:
        raise QuizzerError(
            f"{name}: this card is suspended (a leech); `quizzer unsuspend {name}` brings it "
            "back, `quizzer edit` rewrites it; nothing changed"
        )
    return record_answer(
        session,
        question,
        quality=quality,
        today=today,
        now=now,
        leech_threshold=leech_threshold,
    )


@dataclass(frozen=True)
class Undone:
    """The answer that was taken back."""

    question_id: int
    name: str
    quality: int
    kind: str
    day: date


def undo_last(
    session: Session, fsrs: fsrs6.Fsrs | None = None, *, question_id: int | None = None
) -> Undone:
    """Take back the most recent answer: its log entry goes, the card's state is restored.

    SM-2's state is restored from the log's ``before`` columns, and so is FSRS's when FSRS
    graded the answer; an answer SM-2 graded, taken back under FSRS, has the card's memory
    state replayed from the rest of its log. The due date is the one the scheduler in use
    gives the restored state. ``fsrs`` saves making the FSRS scheduler when it is in use.
    With ``question_id``, the most recent answer to that question is taken back.
    """
    fsrs = _in_use(session, fsrs)
    # Locked (on a server) so two machines undoing at once take back two answers, not one twice.
    latest = select(Review).order_by(Review.id.desc()).limit(1).with_for_update()
    if question_id is not None:
        latest = latest.where(Review.question_id == question_id)
    review = session.scalars(latest).one_or_none()
    if review is None:
        raise QuizzerError("nothing to undo: no answers have been given")
    question = store.load_question(session, review.question_id)
    state = question.state
    before = store.state_before(review)
    by_fsrs = review.scheduler == "fsrs"
    store.store_state(state, before)
    if by_fsrs:
        state.stability, state.difficulty = review.stability_before, review.difficulty_before
        if fsrs is None:
            state.due = store.sm2_due(before)
    if review.leech_before is not None:
        state.leech = review.leech_before
    if review.suspended_before is not None:
        state.suspended = review.suspended_before
    undone = Undone(question.id, question.name, review.quality, review.kind, review.day)
    session.execute(delete(Review).where(Review.id == review.id))
    session.flush()
    if fsrs is not None and not by_fsrs:
        refresh_fsrs(session, fsrs, [question.id])
    return undone


def rerate(
    session: Session,
    recorded: Recorded,
    quality: int,
    *,
    today: date,
    now: datetime,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
    fsrs: fsrs6.Fsrs | None = None,
) -> Recorded | None:
    """Give a recorded answer another quality: a right answer is saved as "good" the
    moment it is checked, and the learner's rating then only adjusts it. What was typed and
    how long it took are kept; the state is as if ``quality`` had been given.

    None, changing nothing, when the answer is gone (undone) or is no longer its card's
    latest (another process answered the card meanwhile): it then stays as it was saved.
    """
    answer = session.scalars(
        select(Review).where(Review.id == recorded.review_id).with_for_update()
    ).one_or_none()
    if answer is None:
        return None
    later = session.scalar(
        select(func.count())
        .select_from(Review)
        .where(Review.question_id == answer.question_id, Review.id > answer.id)
    )
    if later:
        return None
    question_id, typed, seconds = answer.question_id, answer.typed, answer.seconds
    variant = answer.variant
    undo_last(session, fsrs, question_id=question_id)
    return record_answer(
        session,
        store.load_question(session, question_id),
        quality=quality,
        today=today,
        now=now,
        typed=typed,
        seconds=seconds,
        leech_threshold=leech_threshold,
        fsrs=fsrs,
        variant=variant,
    )


def next_variant(session: Session, question_id: int, count: int) -> int | None:
    """The variant to show of a question with ``count`` variants: the one after the
    variant its latest answer showed (0, the question's own, when none did); None when
    the question does not vary. Derived from the log alone, so undoing an answer
    restores the rotation, and no two showings in a row are the same."""
    if count < 2:
        return None
    last = session.scalar(
        select(Review.variant)
        .where(Review.question_id == question_id, Review.variant.is_not(None))
        .order_by(Review.id.desc())
        .limit(1)
    )
    return 0 if last is None else (last + 1) % count


# --- what is ahead ------------------------------------------------------------------


@dataclass(frozen=True)
class Outlook:
    """How much is waiting: tomorrow, in the next seven days, and when the next card is due."""

    tomorrow: int
    week: int
    next_due: date | None
    new_waiting: int


def due_soon(session: Session, *, today: date, decks: Sequence[str] = ()) -> tuple[int, int]:
    """Cards due by tomorrow and within the next 7 days (one query, of due dates)."""
    tomorrow, week = today + timedelta(days=1), today + timedelta(days=7)
    days = store.due_days()
    stmt = store.by_deck_in(
        select(
            func.coalesce(func.sum(case((days.c.day <= tomorrow, days.c.cards), else_=0)), 0),
            func.coalesce(func.sum(days.c.cards), 0),
        ).where(days.c.day <= week),
        days,
        decks,
    )
    first, second = session.execute(stmt).one()
    return int(first), int(second)


def next_due(session: Session, *, today: date, decks: Sequence[str] = ()) -> date | None:
    """The first day after today with a card due."""
    days = store.due_days()
    first: date | None = session.scalar(
        store.by_deck_in(select(func.min(days.c.day)).where(days.c.day > today), days, decks)
    )
    return first


def new_waiting(session: Session, *, decks: Sequence[str] = ()) -> int:
    """Never-answered cards of active questions (in ``decks``: all when empty)."""
    counts = store.deck_counts()
    left = counts.c.questions - counts.c.retired - counts.c.learned
    stmt = store.by_deck_in(select(func.coalesce(func.sum(left), 0)), counts, decks)
    return int(session.scalar(stmt) or 0)


def outlook(session: Session, *, today: date, decks: Sequence[str] = ()) -> Outlook:
    """Due counts for tomorrow and the next 7 days, and the next due date after today."""
    tomorrow, week = due_soon(session, today=today, decks=decks)
    return Outlook(
        tomorrow,
        week,
        next_due(session, today=today, decks=decks),
        new_waiting(session, decks=decks),
    )
