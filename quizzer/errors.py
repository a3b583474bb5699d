"""The exceptions quizzer raises for things a user can act on.

Core modules raise these; only ``cli.py`` turns them into messages and exit codes.
"""

from __future__ import annotations


class QuizzerError(Exception):
    """A failure the user can act on; its message is shown as one line, exit 1."""

    exit_code = 1


class UsageError(QuizzerError):
    """A command-line value of the wrong form (exit 2, like click's own usage errors)."""

    exit_code = 2


class DeckFileError(QuizzerError):
    """A deck file that cannot be read or does not follow the deck format."""


class DatabaseError(QuizzerError):
    """A database quizzer must not or cannot use (not ours, too new, unreadable)."""


class NotFoundError(QuizzerError):
    """A deck or question that does not exist."""

    @classmethod
    def deck(cls, slug: str) -> NotFoundError:
        """No deck named ``slug``."""
        return cls(f"{slug}: no such deck (see `quizzer decks`)")


class SchedulingError(QuizzerError):
    """An answer the scheduler refuses (not due, quality out of range, date overflow)."""


class NotDueError(SchedulingError):
    """A graded answer before the card's due date."""


class SandboxError(QuizzerError):
    """The sandbox could not run a snippet at all (as opposed to the snippet failing)."""
