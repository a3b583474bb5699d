"""``python -m quizzer``."""

from quizzer.cli import main

main(prog_name="quizzer")
