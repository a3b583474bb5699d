"""Reading a snippet's stderr: the line of its uncaught exception, if it raised one."""

from __future__ import annotations

import re
import signal

_TRACEBACK_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = "Exception Group Traceback (most recent call last):"
_SYNTAX_LINE = re.compile(r"^(SyntaxError|IndentationError|TabError)(: .*)?$")
_SCRIPT_FRAME = re.compile(r'^  File ".*", line \d+$', re.MULTILINE)
#: Lines that introduce a traceback Python prints besides the main one: a thread's uncaught
#: exception, or one raised where it cannot propagate (``__del__``, a callback at exit).
_SIDE_INTRO = ("Exception in thread ", "Exception ignored ")
#: Lines that chain the next traceback to the one before it (same block).
_CHAIN_LINES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def final_exception_line(stderr: str, exit_status: int) -> str | None:
    """The last line Python printed for an uncaught exception, or None if there was none.

    An uncaught exception exits with status 1 (or dies of SIGINT for KeyboardInterrupt)
    after printing a traceback; a SyntaxError in the script itself prints a
    ``File ..., line N`` block without the header. Writing to stderr and exiting,
    or ``sys.exit(3)``, is not an exception. For an exception group the group's own
    line (``ExceptionGroup: msg (2 sub-exceptions)``) is used rather than the box border.

    Tracebacks of threads (``Exception in thread ...:``) and of exceptions Python could
    only report (``Exception ignored in: ...``, from ``__del__`` at exit, say) are not the
    main one, whether they come before it or after. What stderr cannot tell apart: a
    program that prints a traceback itself and then exits with status 1, or writes to
    stderr at exit after its uncaught exception's traceback.
    """
    if exit_status not in (1, -signal.SIGINT):
        return None
    lines = [line for line in stderr.split("\n") if line.strip()]
    if not lines:
        return None
    # Split stderr into blocks, each a traceback (with its chained ones) or other text.
    blocks: list[tuple[int, bool]] = []  # (first line, is it a main traceback?)
    for i, line in enumerate(lines):
        if line.startswith(_SIDE_INTRO):
            blocks.append((i, False))
        elif _is_header(line) and not (
            i and lines[i - 1].startswith((*_CHAIN_LINES, *_SIDE_INTRO))
        ):
            blocks.append((i, True))
    mains = [n for n, (_, is_main) in enumerate(blocks) if is_main]
    if not mains:
        last = lines[-1]
        if _SYNTAX_LINE.match(last) and _SCRIPT_FRAME.search(stderr):
            return last
        return None
    start = blocks[mains[-1]][0]
    end = blocks[mains[-1] + 1][0] if mains[-1] + 1 < len(blocks) else len(lines)
    block = lines[start:end]
    header_at = max(i for i, line in enumerate(block) if _is_header(line))
    if _GROUP_HEADER not in block[header_at]:
        return block[-1]
    found = None
    for line in block[header_at + 1 :]:
        if line.startswith("  +-"):
            break
        if line.startswith("  | ") and not line.startswith("  |  "):
            found = line[4:]
    return found


def _is_header(line: str) -> bool:
    return line.endswith(_TRACEBACK_HEADER) or _GROUP_HEADER in line
