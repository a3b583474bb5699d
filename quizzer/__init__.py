"""quizzer: spaced-repetition flashcards for the parts of Python people get wrong."""

__version__ = "0.2.0"
