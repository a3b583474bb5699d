"""cards per deck and due date, variant answers per day, kept by triggers, for stats

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:20:00.000000

``stats`` and ``decks`` counted every card of the collection for each deck's new, learned,
retired and due counts and for the due forecast, and read every answer of the last 30
days for the variant split: their cost followed the collection's size. The database now
keeps these counts itself, like ``review_days`` (0010):

* ``deck_cards``: per deck, its questions, the retired ones, and the active ones whose
  card is learned (new = questions - retired - learned, as a question without a card
  counts as new);
* ``due_days``: per deck and due date, the active, learned, unsuspended cards due then;
* ``review_days`` gains the answers on varying questions (``variant`` set) and, of the
  graded ones, how many showed the question's own code (variant 0) or another variant,
  and how many of each passed.

Triggers on ``questions`` (insert, delete, a change of deck or retirement) and on
``card_states`` (insert, delete, a change of question, due date, learning or suspension)
keep the first two, whatever writes them (an answer, undo, import, purge, ``db copy``,
another program's SQL). Each trigger updates ``deck_cards`` before ``due_days``, so on
PostgreSQL two transactions changing one deck queue on its row instead of deadlocking
over due dates. The upgrade counts what is already there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


# --- deck_cards and due_days ----------------------------------------------------------


def _card(card: str, question: str, sign: str) -> str:
    """Count (sign "+") or uncount ("-") the card ``card`` of the question ``question``.

    ``card`` and ``question`` are rows or aliases: NEW/OLD, or ``c``/``q`` of the FROM
    clause that ``_card_of`` and ``_question_card`` put around these statements.
    """
    learned = f"{card}.last_graded IS NOT NULL AND NOT {question}.retired"
    due = f"{learned} AND NOT {card}.suspended"
    add = f"""
        INSERT INTO due_days (deck_id, day, cards)
        SELECT {question}.deck_id, {card}.due, 1 FROM {{source}} WHERE {due}
        ON CONFLICT (deck_id, day) DO UPDATE SET cards = due_days.cards + 1;
    """
    remove = f"""
        UPDATE due_days SET cards = cards - 1
        WHERE (deck_id, day) IN (
            SELECT {question}.deck_id, {card}.due FROM {{source}} WHERE {due});
        DELETE FROM due_days WHERE cards = 0 AND (deck_id, day) IN (
            SELECT {question}.deck_id, {card}.due FROM {{source}} WHERE {due});
    """
    return f"""
        UPDATE deck_cards SET learned = learned {sign} 1
        WHERE deck_id IN (SELECT {question}.deck_id FROM {{source}} WHERE {learned});
        {add if sign == "+" else remove}
    """


def _card_row(row: str, sign: str) -> str:
    """(Un)count the card ``row`` (NEW/OLD of card_states) with its question, if any."""
    source = f"questions AS q WHERE q.id = {row}.question_id AND"
    # The statements end "FROM {source} WHERE cond": folding the question lookup in.
    return _card(row, "q", sign).replace("{source} WHERE", source)


#: Inside a deck's delete, its questions go by the cascade after it: their deck's counts
#: go with it, and are not to be updated (PostgreSQL would check the deck still exists).
def _deck_exists(row: str) -> str:
    return f"EXISTS (SELECT 1 FROM decks AS d WHERE d.id = {row}.deck_id)"


def _question_card(row: str, sign: str) -> str:
    """(Un)count the card, if any, of the question ``row`` (NEW/OLD of questions)."""
    source = f"card_states AS c WHERE c.question_id = {row}.id AND {_deck_exists(row)} AND"
    return _card("c", row, sign).replace("{source} WHERE", source)


def _question(row: str, sign: str) -> str:
    """(Un)count the question ``row`` itself (NEW/OLD of questions) in its deck."""
    retired = _flag(f"{row}.retired")
    if sign == "+":
        return f"""
            INSERT INTO deck_cards (deck_id, questions, retired, learned)
            VALUES ({row}.deck_id, 1, {retired}, 0)
            ON CONFLICT (deck_id) DO UPDATE SET
                questions = deck_cards.questions + 1,
                retired = deck_cards.retired + excluded.retired;
        """
    return f"""
        UPDATE deck_cards SET questions = questions - 1, retired = retired - {retired}
        WHERE deck_id = {row}.deck_id AND {_deck_exists(row)};
    """


# Each trigger touches deck_cards first (see the module's docstring).
_QUESTION_INSERT = _question("NEW", "+") + _question_card("NEW", "+")
_QUESTION_DELETE = _question("OLD", "-") + _question_card("OLD", "-")
_QUESTION_UPDATE = (
    _question("OLD", "-")
    + _question("NEW", "+")
    + _question_card("OLD", "-")
    + _question_card("NEW", "+")
)
_CARD_INSERT = _card_row("NEW", "+")
_CARD_DELETE = _card_row("OLD", "-")
_CARD_UPDATE = _card_row("OLD", "-") + _card_row("NEW", "+")

_QUESTION_COLUMNS = "deck_id, retired"
_CARD_COLUMNS = "question_id, last_graded, due, suspended"

_FILL_DECK_CARDS = """
    INSERT INTO deck_cards (deck_id, questions, retired, learned)
    SELECT q.deck_id, count(*),
           sum(CASE WHEN q.retired THEN 1 ELSE 0 END),
           sum(CASE WHEN NOT q.retired AND c.last_graded IS NOT NULL THEN 1 ELSE 0 END)
    FROM questions AS q LEFT JOIN card_states AS c ON c.question_id = q.id
    GROUP BY q.deck_id
"""
_FILL_DUE_DAYS = """
    INSERT INTO due_days (deck_id, day, cards)
    SELECT q.deck_id, c.due, count(*)
    FROM card_states AS c JOIN questions AS q ON q.id = c.question_id
    WHERE c.last_graded IS NOT NULL AND NOT q.retired AND NOT c.suspended
    GROUP BY q.deck_id, c.due
"""

# --- review_days: answers on varying questions -------------------------------------------

#: review_days' columns, each with how one answer ``{r}`` counts in it.
_DAY_COLUMNS = {
    "reviews": "1",
    "graded": _flag("{r}.kind = 'graded'"),
    "correct": _flag("{r}.kind = 'graded' AND {r}.quality >= 3"),
    "varied": _flag("{r}.variant IS NOT NULL"),
    "own_graded": _flag("{r}.variant = 0 AND {r}.kind = 'graded'"),
    "own_correct": _flag("{r}.variant = 0 AND {r}.kind = 'graded' AND {r}.quality >= 3"),
    "other_graded": _flag("{r}.variant <> 0 AND {r}.kind = 'graded'"),
    "other_correct": _flag("{r}.variant <> 0 AND {r}.kind = 'graded' AND {r}.quality >= 3"),
}
_NEW_DAY_COLUMNS = ("varied", "own_graded", "own_correct", "other_graded", "other_correct")


def _deck_of(row: str) -> str:
    return f"(SELECT q.deck_id FROM questions AS q WHERE q.id = {row}.question_id)"


_OLD_DAY_COLUMNS = ("reviews", "graded", "correct")


def _add_answer(row: str, columns: Sequence[str] = tuple(_DAY_COLUMNS)) -> str:
    names = ", ".join(columns)
    values = ", ".join(_DAY_COLUMNS[c].format(r=row) for c in columns)
    sums = ",\n".join(f"{c} = review_days.{c} + excluded.{c}" for c in columns)
    return f"""
        INSERT INTO review_days (deck_id, day, {names})
        SELECT q.deck_id, {row}.day, {values}
        FROM questions AS q WHERE q.id = {row}.question_id
        ON CONFLICT (deck_id, day) DO UPDATE SET {sums};
    """


def _remove_answer(row: str, columns: Sequence[str] = tuple(_DAY_COLUMNS)) -> str:
    sums = ",\n".join(f"{c} = {c} - {_DAY_COLUMNS[c].format(r=row)}" for c in columns)
    return f"""
        UPDATE review_days SET {sums}
        WHERE deck_id = {_deck_of(row)} AND day = {row}.day;
        DELETE FROM review_days
        WHERE deck_id = {_deck_of(row)} AND day = {row}.day AND reviews = 0;
    """


def _remove_question_answers(columns: Sequence[str] = tuple(_DAY_COLUMNS)) -> str:
    """Before a question goes: its answers leave their days (the cascade that deletes
    them then finds no question, so their own trigger takes nothing away twice)."""
    sums = ",\n".join(
        f"{c} = {c} - (SELECT coalesce(sum({_DAY_COLUMNS[c].format(r='r')}), 0) "
        "FROM reviews AS r WHERE r.question_id = OLD.id AND r.day = review_days.day)"
        for c in columns
    )
    return f"""
        UPDATE review_days SET {sums}
        WHERE deck_id = OLD.deck_id AND {_deck_exists("OLD")}
          AND day IN (SELECT r.day FROM reviews AS r WHERE r.question_id = OLD.id);
        DELETE FROM review_days WHERE deck_id = OLD.deck_id AND reviews = 0;
    """


def _move_question_answers() -> str:
    """After a question moves to another deck: its answers leave the old deck's days and
    join the new deck's."""
    columns = tuple(_DAY_COLUMNS)
    sums = ", ".join(f"sum({_DAY_COLUMNS[c].format(r='r')})" for c in columns)
    added = ",\n".join(f"{c} = review_days.{c} + excluded.{c}" for c in columns)
    return f"""
        {_remove_question_answers(columns)}
        INSERT INTO review_days (deck_id, day, {", ".join(columns)})
        SELECT NEW.deck_id, r.day, {sums}
        FROM reviews AS r WHERE r.question_id = NEW.id GROUP BY r.day
        ON CONFLICT (deck_id, day) DO UPDATE SET {added};
    """


#: Counted again from the log, every column (one pass, not one per day and column).
_REFILL_DAYS = [
    "DELETE FROM review_days",
    f"""INSERT INTO review_days (deck_id, day, {", ".join(_DAY_COLUMNS)})
    SELECT q.deck_id, r.day, {", ".join(f"sum({v.format(r='r')})" for v in _DAY_COLUMNS.values())}
    FROM reviews AS r JOIN questions AS q ON q.id = r.question_id
    GROUP BY q.deck_id, r.day""",
]
_ANSWER_COLUMNS = "question_id, day, kind, quality, variant"
_OLD_ANSWER_COLUMNS = "question_id, day, kind, quality"


# --- the triggers -------------------------------------------------------------------------


def _sqlite_day_triggers(columns: Sequence[str]) -> list[str]:
    return [
        f"CREATE TRIGGER review_days_insert AFTER INSERT ON reviews BEGIN "
        f"{_add_answer('NEW', columns)} END",
        f"CREATE TRIGGER review_days_delete AFTER DELETE ON reviews BEGIN "
        f"{_remove_answer('OLD', columns)} END",
        f"CREATE TRIGGER review_days_update AFTER UPDATE OF "
        f"{_ANSWER_COLUMNS if columns != _OLD_DAY_COLUMNS else _OLD_ANSWER_COLUMNS} ON reviews "
        f"BEGIN {_remove_answer('OLD', columns)} {_add_answer('NEW', columns)} END",
        f"CREATE TRIGGER review_days_question BEFORE DELETE ON questions "
        f"BEGIN {_remove_question_answers(columns)} END",
    ]


def _postgresql_day_triggers(columns: Sequence[str]) -> list[str]:
    watched = _ANSWER_COLUMNS if columns != _OLD_DAY_COLUMNS else _OLD_ANSWER_COLUMNS
    return [
        f"""CREATE OR REPLACE FUNCTION review_days_count() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN {_remove_answer("OLD", columns)} END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {_add_answer("NEW", columns)} END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION review_days_question() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN {_remove_question_answers(columns)} RETURN OLD; END $$""",
        f"CREATE TRIGGER review_days_count AFTER INSERT OR DELETE OR UPDATE OF {watched} "
        "ON reviews FOR EACH ROW EXECUTE FUNCTION review_days_count()",
    ]


def _sqlite_card_triggers() -> list[str]:
    def trigger(name: str, when: str, table: str, body: str) -> str:
        return f"CREATE TRIGGER {name} {when} ON {table} BEGIN {body} END"

    return [
        trigger("deck_cards_question_insert", "AFTER INSERT", "questions", _QUESTION_INSERT),
        trigger("deck_cards_question_delete", "BEFORE DELETE", "questions", _QUESTION_DELETE),
        trigger(
            "deck_cards_question_update",
            f"AFTER UPDATE OF {_QUESTION_COLUMNS}",
            "questions",
            _QUESTION_UPDATE,
        ),
        trigger(
            "review_days_question_deck",
            "AFTER UPDATE OF deck_id",
            "questions",
            _move_question_answers(),
        ).replace(" BEGIN ", " WHEN OLD.deck_id <> NEW.deck_id BEGIN ", 1),
        trigger("deck_cards_card_insert", "AFTER INSERT", "card_states", _CARD_INSERT),
        trigger("deck_cards_card_delete", "AFTER DELETE", "card_states", _CARD_DELETE),
        trigger(
            "deck_cards_card_update",
            f"AFTER UPDATE OF {_CARD_COLUMNS}",
            "card_states",
            _CARD_UPDATE,
        ),
    ]


def _postgresql_card_triggers() -> list[str]:
    return [
        f"""CREATE FUNCTION deck_cards_question() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN {_QUESTION_INSERT}
            ELSIF TG_OP = 'DELETE' THEN {_QUESTION_DELETE}
            ELSE {_QUESTION_UPDATE}
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION deck_cards_card() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN {_CARD_DELETE} END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {_CARD_INSERT} END IF;
            RETURN NULL;
        END $$""",
        # Before a question is deleted, after it is inserted or changed (as on SQLite).
        "CREATE TRIGGER deck_cards_question_delete BEFORE DELETE ON questions "
        "FOR EACH ROW EXECUTE FUNCTION deck_cards_question()",
        f"CREATE TRIGGER deck_cards_question AFTER INSERT OR UPDATE OF {_QUESTION_COLUMNS} "
        "ON questions FOR EACH ROW EXECUTE FUNCTION deck_cards_question()",
        f"CREATE TRIGGER deck_cards_card AFTER INSERT OR DELETE OR UPDATE OF {_CARD_COLUMNS} "
        "ON card_states FOR EACH ROW EXECUTE FUNCTION deck_cards_card()",
        f"""CREATE FUNCTION review_days_question_deck() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_move_question_answers()} RETURN NULL; END $$""",
        "CREATE TRIGGER review_days_question_deck AFTER UPDATE OF deck_id ON questions "
        "FOR EACH ROW WHEN (OLD.deck_id IS DISTINCT FROM NEW.deck_id) "
        "EXECUTE FUNCTION review_days_question_deck()",
    ]


def _drop_day_triggers(postgresql: bool) -> None:
    if postgresql:
        op.execute("DROP TRIGGER review_days_count ON reviews")
    else:
        for name in ("question", "update", "delete", "insert"):
            op.execute(f"DROP TRIGGER review_days_{name}")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # 0010's triggers on reviews count fewer columns: made anew below.
    _drop_day_triggers(postgresql)
    for column in _NEW_DAY_COLUMNS:
        op.add_column(
            "review_days", sa.Column(column, sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "deck_cards",
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Integer(), nullable=False),
        sa.Column("learned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deck_id"], ["decks.id"], name=op.f("fk_deck_cards_deck_id_decks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deck_id", name=op.f("pk_deck_cards")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "due_days",
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cards", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deck_id"], ["decks.id"], name=op.f("fk_due_days_deck_id_decks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deck_id", "day", name=op.f("pk_due_days")),
        # Kept in key order (SQLite): the same counts are the same file, whatever order
        # the cards were written in (a `db copy` round trip is byte-identical).
        sqlite_with_rowid=False,
    )
    # The forecast reads every deck's days up to a date.
    op.create_index("ix_due_days_day_cards", "due_days", ["day", "cards"])
    if postgresql:
        statements = _postgresql_card_triggers() + _postgresql_day_triggers(tuple(_DAY_COLUMNS))
    else:
        statements = _sqlite_card_triggers() + _sqlite_day_triggers(tuple(_DAY_COLUMNS))
    for statement in statements:
        op.execute(statement)
    for statement in [_FILL_DECK_CARDS, _FILL_DUE_DAYS, *_REFILL_DAYS]:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER deck_cards_card ON card_states")
        op.execute("DROP TRIGGER deck_cards_question ON questions")
        op.execute("DROP TRIGGER deck_cards_question_delete ON questions")
        op.execute("DROP FUNCTION deck_cards_card()")
        op.execute("DROP FUNCTION deck_cards_question()")
        op.execute("DROP TRIGGER review_days_question_deck ON questions")
        op.execute("DROP FUNCTION review_days_question_deck()")
    else:
        for name in ("card_update", "card_delete", "card_insert"):
            op.execute(f"DROP TRIGGER deck_cards_{name}")
        for name in ("question_update", "question_delete", "question_insert"):
            op.execute(f"DROP TRIGGER deck_cards_{name}")
        op.execute("DROP TRIGGER review_days_question_deck")
    _drop_day_triggers(postgresql)
    op.drop_index("ix_due_days_day_cards", table_name="due_days")
    op.drop_table("due_days")
    op.drop_table("deck_cards")
    with op.batch_alter_table("review_days") as batch:
        for column in reversed(_NEW_DAY_COLUMNS):
            batch.drop_column(column)
    # 0010's triggers again, counting its three columns.
    if postgresql:
        statements = _postgresql_day_triggers(_OLD_DAY_COLUMNS)
    else:
        statements = _sqlite_day_triggers(_OLD_DAY_COLUMNS)
    for statement in statements:
        op.execute(statement)
