"""Write answers back into a deck file without disturbing anything else in it.

A round-trip dump (even ruamel.yaml's, which keeps comments) re-emits the whole document:
it re-indents sequences, drops quotes and moves comments, so a one-answer change would
show up as a diff of the whole file. Instead, ruamel.yaml's composer finds where each
answer's value starts and ends in the text, ruamel.yaml renders the new value, and only
those characters are replaced. Every other byte stays as it was. The result is parsed
again and compared with the intended deck before anything is written, and the file is
replaced atomically.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quizzer.deckfile.models import Deck, Question, Variant
from quizzer.deckfile.reader import MAX_FILE_BYTES, parse_deck
from quizzer.errors import DeckFileError
from quizzer.files import write_bytes_atomically

__all__ = ["add_variants", "update_answers", "update_variant_answers", "update_version_answers"]

_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*")
# Characters YAML cannot hold as they are (outside its printable set), and line breaks
# other than \n that a literal block would turn into \n: only escapes keep them exact.
_NEEDS_ESCAPES = re.compile(
    "[^\x09\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)


@dataclass(frozen=True, slots=True)
class _Answer:
    """Where one answer's value sits in the text."""

    start: int
    end: int
    style: str | None  # None (plain), "'", '"', "|" or ">"
    key_column: int
    in_flow: bool
    block_offset: int  # how far block contents sit right of their key, in this question


def update_answers(path: Path, answers: Mapping[str, str]) -> int:
    """Set the ``answer`` of each question id in ``answers``; return how many changed.

    Comments, key order, quoting and layout of everything else stay byte for byte.
    Answers with a line break are written as ``|`` literal blocks when YAML allows it.
    The file is written only if an answer changed, through a temporary file in the same
    folder and an atomic rename. Raises :class:`DeckFileError` if the file is not a valid
    deck, an id is not in it, or an answer cannot be rewritten safely (e.g. it is a YAML
    alias); the file is then left untouched.
    """
    target = path.resolve()
    text, has_bom, deck = _load(path)
    known = {question.id for question in deck.questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise DeckFileError(f"{path}: no question with id {', '.join(map(repr, unknown))}")
    changed = {
        question.id: answers[question.id]
        for question in deck.questions
        if question.id in answers and question.answer != answers[question.id]
    }
    if not changed:
        return 0

    newline = "\r\n" if "\r\n" in text else "\n"
    located = _locate_answers(text, path)
    edits = []
    for qid, value in changed.items():
        if qid not in located:
            raise DeckFileError(
                f"{path}: question {qid!r}: cannot find its 'answer' value in the text"
            )
        edits.append(_edit(text, located[qid], value, newline))

    expected = deck.model_copy(
        update={
            "questions": [
                question.model_copy(update={"answer": changed[question.id]})
                if question.id in changed
                else question
                for question in deck.questions
            ]
        }
    )
    _write_checked(path, target, text, edits, expected, has_bom=has_bom, what="the answers")
    return len(changed)


def _load(path: Path) -> tuple[str, bool, Deck]:
    """A deck file's text, whether it starts with a BOM, and its deck."""
    raw = _read(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeckFileError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    return text, raw.startswith(codecs.BOM_UTF8), parse_deck(text, source=str(path))


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DeckFileError(f"{path}: the file is too big for a deck file")
        return path.read_bytes()
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _yaml(**settings: Any) -> Any:
    # Imported here: ruamel.yaml is only needed by the commands that write deck files.
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    for name, value in settings.items():
        setattr(yaml, name, value)
    return yaml


def _locate_answers(text: str, path: Path) -> dict[str, _Answer]:
    """Find each question's answer value in ``text`` with ruamel.yaml's composer."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    try:
        root = _yaml().compose(text)
    except YAMLError as exc:
        raise DeckFileError(f"{path}: invalid YAML: {exc}") from None

    def value_of(mapping: Any, key: str) -> tuple[Any, Any] | None:
        for key_node, value_node in mapping.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
        return None

    found: dict[str, _Answer] = {}
    questions = value_of(root, "questions") if isinstance(root, MappingNode) else None
    if questions is None or not isinstance(questions[1], SequenceNode):
        return found
    items = [item for item in questions[1].value if isinstance(item, MappingNode)]

    def offsets(pairs: list[tuple[Any, Any]]) -> list[int]:
        found = (
            _block_offset(text, value.start_mark.index, key.start_mark.column)
            for key, value in pairs
            if isinstance(value, ScalarNode) and value.style in ("|", ">")
        )
        return [offset for offset in found if offset is not None]

    # A new block is indented like the answer it replaces, else like the other blocks of
    # its question (its code, usually), else like the first block in the file.
    file_offsets = offsets([pair for item in items for pair in item.value])
    file_offset = file_offsets[0] if file_offsets else 2
    for item in items:
        id_pair, answer_pair = value_of(item, "id"), value_of(item, "answer")
        if id_pair is None or answer_pair is None:
            continue
        key_node, value_node = answer_pair
        start, end = value_node.start_mark.index, value_node.end_mark.index
        qid = str(id_pair[1].value)
        shared = getattr(value_node, "anchor", None) is not None or start < key_node.end_mark.index
        if not isinstance(value_node, ScalarNode) or shared or text[start : start + 1] in "&*!":
            raise DeckFileError(
                f"{path}: question {qid!r}: field 'answer' uses a YAML anchor, alias or tag; "
                "edit it by hand"
            )
        found[qid] = _Answer(
            start=start,
            end=end,
            style=value_node.style,
            key_column=key_node.start_mark.column,
            in_flow=bool(item.flow_style),
            block_offset=(offsets([answer_pair, *item.value]) or [file_offset])[0],
        )
    return found


def _block_offset(text: str, start: int, key_column: int) -> int | None:
    """How many columns right of its key a block scalar's content sits (None: unknown)."""
    header_end = text.find("\n", start)
    if header_end < 0:
        return None
    match = _BLOCK_HEADER.match(text, start)
    digits = re.sub(r"\D", "", match.group()) if match else ""
    if digits:
        return int(digits)
    for line in text[header_end + 1 :].split("\n"):
        if line.strip():
            offset = len(line) - len(line.lstrip(" ")) - key_column
            return offset if 1 <= offset <= 9 else None
    return None


def _render(value: str, answer: _Answer) -> tuple[str, list[str]]:
    """(first line, continuation lines) of ``value`` as ruamel.yaml writes it.

    The value is dumped as ``answer: ...`` at column 0; continuation lines (the body of a
    block scalar) come back without their indentation, for the caller to indent.
    """
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    scalar: str
    if answer.in_flow or _NEEDS_ESCAPES.search(value):
        scalar = DoubleQuotedScalarString(value)
    elif "\n" in value:
        scalar = LiteralScalarString(value)
    elif answer.style == '"':
        scalar = DoubleQuotedScalarString(value)
    elif answer.style == "'":
        scalar = SingleQuotedScalarString(value)
    else:
        scalar = value
    buffer = io.StringIO()
    # A huge width: never fold a long answer over several lines.
    _yaml(width=1 << 30).dump({"answer": scalar}, buffer)
    dumped = buffer.getvalue()
    prefix = "answer: "
    if not dumped.startswith(prefix):
        raise AssertionError(f"unexpected rendering {dumped!r}")
    first, *rest = dumped[len(prefix) :].split("\n")
    if rest and rest[-1] == "":
        rest.pop()
    if rest and rest[-1] == "...":
        # The document-end marker ruamel.yaml adds after a block that keeps its newlines.
        rest.pop()
    return first, [line[2:] if line.startswith("  ") else line.lstrip(" ") for line in rest]


def _edit(text: str, answer: _Answer, value: str, newline: str) -> tuple[int, int, str]:
    """(start, end, replacement) that puts ``value`` where ``answer`` is."""
    first, body = _render(value, answer)
    new_block = _BLOCK_HEADER.fullmatch(first) is not None
    old_block = answer.style in ("|", ">")
    start, end = answer.start, answer.end

    if old_block:
        # The composer's span of a block scalar runs on over the blank lines after it;
        # leave those where they are unless the new block keeps trailing newlines (|+).
        lines = text[start:end].splitlines(keepends=True)
        if not (new_block and "+" in first):
            while len(lines) > 1 and not lines[-1].strip():
                lines.pop()
        end = start + sum(len(line) for line in lines)
        header_end = text.find("\n", start, end)
        header = text[start : header_end if header_end >= 0 else end].rstrip("\r")
        match = _BLOCK_HEADER.match(header)
        tail = header[match.end() :] if match else ""  # e.g. "  # a comment"
    elif new_block:
        # A plain or quoted value turns into a block: the rest of its line (a comment,
        # if any) moves after the block header, and the block starts on the next line.
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end + 1
        tail = text[end:line_end].rstrip("\r\n")
        end = line_end
    else:
        return start, end, first

    if not new_block:
        return start, end, first + tail + newline

    offset = answer.block_offset
    # An indentation indicator (ruamel.yaml writes one when the first line starts with a
    # space) counts from the key's column: make it say the offset used here.
    first = re.sub(r"\d", str(offset), first, count=1)
    indent = answer.key_column + offset
    lines = [first + tail]
    lines += [" " * indent + line if line else "" for line in body]
    return start, end, newline.join(lines) + newline


def _write_checked(
    path: Path,
    target: Path,
    text: str,
    edits: list[tuple[int, int, str]],
    expected: Deck,
    *,
    has_bom: bool,
    what: str,
) -> None:
    """Apply ``edits`` (start, end, replacement: spans of ``text`` that do not overlap) and
    write the result to ``target`` (atomically, keeping a BOM) only if it parses to
    ``expected``: an edit that would change anything else is refused, naming ``what``."""
    new_text = text
    for start, end, replacement in sorted(edits, reverse=True):
        new_text = new_text[:start] + replacement + new_text[end:]
    try:
        edited = parse_deck(new_text, source=str(path))
    except DeckFileError as exc:
        raise DeckFileError(f"{path}: cannot rewrite {what} safely ({exc})") from None
    if edited != expected:
        raise DeckFileError(f"{path}: cannot rewrite {what} safely; edit them by hand")
    data = (codecs.BOM_UTF8 if has_bom else b"") + new_text.encode("utf-8")
    try:
        write_bytes_atomically(target, data)
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot write: {exc.strerror or exc}") from None


# --- variants: the whole ``variants:`` block of a question is written anew -----------
#
# A variant's answer may be missing (a ``vary:`` combination has no entry yet, or an
# author wrote only its code), so answers are inserted as well as replaced. Rather than
# splice inside the list, the question's ``variants:`` block is rendered by ruamel.yaml
# (code and answers as literal blocks) and put where the old block was, or after the
# question's last line. Everything outside that block stays byte for byte, and the
# result is parsed and compared with the intended deck before it is written.


def update_variant_answers(path: Path, answers: Mapping[str, Mapping[int, str]]) -> int:
    """Set the answers of variants (by question id and number in ``variant_runs``, 1 on:
    0 is the question's ``answer``, see :func:`update_answers`); return how many changed."""

    def edit(question: Question) -> tuple[Question, int]:
        runs = question.variant_runs()
        wanted = answers.get(question.id, {})
        changed = {
            number: answer
            for number, answer in wanted.items()
            if 0 < number < len(runs) and runs[number][2] != answer
        }
        return (question.with_variant_answers(changed) if changed else question), len(changed)

    return _rewrite_variants(path, set(answers), edit)


def add_variants(path: Path, qid: str, codes: list[tuple[str, str]]) -> int:
    """Add whole-snippet variants ``(code, answer)`` to question ``qid``; return how many
    were new (a code the question already has is left out)."""

    def edit(question: Question) -> tuple[Question, int]:
        if question.id != qid:
            return question, 0
        known = {code for _, code, _ in question.variant_runs()} or {question.code or ""}
        new = [Variant(code=code, answer=answer) for code, answer in codes if code not in known]
        if not new:
            return question, 0
        variants = [*(question.variants or []), *new]
        return question.model_copy(update={"variants": variants}), len(new)

    return _rewrite_variants(path, {qid}, edit)


def _rewrite_variants(path: Path, ids: set[str], edit: Any) -> int:
    target = path.resolve()
    text, has_bom, deck = _load(path)
    unknown = sorted(ids - {question.id for question in deck.questions})
    if unknown:
        raise DeckFileError(f"{path}: no question with id {', '.join(map(repr, unknown))}")
    count = 0
    new_questions = []
    changed: dict[str, Question] = {}
    for question in deck.questions:
        edited, number = edit(question)
        count += number
        if number:
            changed[question.id] = edited
        new_questions.append(edited)
    if not count:
        return 0
    newline = "\r\n" if "\r\n" in text else "\n"
    spans = _variant_spans(text, path)
    edits = []
    for qid, question in changed.items():
        if qid not in spans:
            raise DeckFileError(f"{path}: question {qid!r}: cannot find it in the text")
        start, end, column, insert = spans[qid]
        block = _render_variants(question, column, newline)
        edits.append(
            (start, end, block) if not insert else (start, end, newline + " " * column + block)
        )
    expected = deck.model_copy(update={"questions": new_questions})
    _write_checked(path, target, text, edits, expected, has_bom=has_bom, what="the variants")
    return count


def _variant_spans(text: str, path: Path) -> dict[str, tuple[int, int, int, bool]]:
    """For each question id: (start, end, key column, insert?) of its ``variants:`` block,
    or of the point after its last line where one is inserted."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    try:
        root = _yaml().compose(text)
    except YAMLError as exc:
        raise DeckFileError(f"{path}: invalid YAML: {exc}") from None
    found: dict[str, tuple[int, int, int, bool]] = {}
    if not isinstance(root, MappingNode):
        return found
    questions = [v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "questions"]
    if not questions or not isinstance(questions[0], SequenceNode):
        return found
    for item in questions[0].value:
        if not isinstance(item, MappingNode) or item.flow_style or not item.value:
            continue
        pairs = {str(k.value): (k, v) for k, v in item.value if isinstance(k, ScalarNode)}
        if "id" not in pairs:
            continue
        qid = str(pairs["id"][1].value)
        column = item.value[0][0].start_mark.column
        if "variants" in pairs:
            key, value = pairs["variants"]
            if getattr(value, "anchor", None) is not None or (
                isinstance(value, SequenceNode) and value.flow_style
            ):
                continue
            start = key.start_mark.index
            end = start + len(text[start : value.end_mark.index].rstrip())
            found[qid] = (start, end, column, False)
        else:
            start = item.start_mark.index
            end = start + len(text[start : item.end_mark.index].rstrip())
            found[qid] = (end, end, column, True)
    return found


def _render_variants(question: Question, column: int, newline: str) -> str:
    """The ``variants:`` block of ``question`` as text, its first line unindented (the
    caller puts it at ``column``) and no line break at the end."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    def scalar(value: str) -> Any:
        if _NEEDS_ESCAPES.search(value) or any(line != line.rstrip() for line in value.split("\n")):
            return DoubleQuotedScalarString(value)
        if "\n" in value:
            return LiteralScalarString(value)
        return value

    items = CommentedSeq()
    for variant in question.variants or []:
        item = CommentedMap()
        if variant.code is not None:
            item["code"] = scalar(variant.code)
        if variant.values is not None:
            values = CommentedMap(variant.values)
            values.fa.set_flow_style()
            item["values"] = values
        if variant.answer is not None:
            item["answer"] = scalar(variant.answer)
        items.append(item)
    yaml = _yaml(width=1 << 30)
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump({"variants": items}, buffer)
    lines = buffer.getvalue().rstrip("\n").split("\n")
    if lines and lines[-1] == "...":
        lines.pop()
    return newline.join([lines[0], *(" " * column + line if line else "" for line in lines[1:])])


def update_version_answers(
    path: Path, splits: Mapping[str, tuple[str, dict[str, str] | None]]
) -> int:
    """Set each question's ``answer`` and ``answers_by_python`` (None: the field goes);
    return how many questions changed.

    The ``answer`` is rewritten in place as :func:`update_answers` does; the
    ``answers_by_python`` mapping is written (or replaced) as a block right after the
    question's answer, one double-quoted ``"range": "answer"`` line a version range, so
    every answer is exact whatever it holds. Everything else stays byte for byte; the
    result is parsed and compared with the intended deck before it is written.
    """
    before = parse_deck(_read(path).decode("utf-8-sig", errors="replace"), source=str(path))
    touched = {
        q.id
        for q in before.questions
        if q.id in splits and (q.answer, q.answers_by_python) != splits[q.id]
    }
    update_answers(path, {qid: answer for qid, (answer, _) in splits.items()})
    text, has_bom, deck = _load(path)
    wanted = {
        q.id: by_python
        for q in deck.questions
        if q.id in splits and q.answers_by_python != (by_python := splits[q.id][1])
    }
    if not wanted:
        return len(touched)
    newline = "\r\n" if "\r\n" in text else "\n"
    edits = [
        _version_edit(text, path, qid, by_python, newline) for qid, by_python in wanted.items()
    ]
    expected = deck.model_copy(
        update={
            "questions": [
                q.model_copy(update={"answers_by_python": wanted[q.id]}) if q.id in wanted else q
                for q in deck.questions
            ]
        }
    )
    _write_checked(
        path, path.resolve(), text, edits, expected, has_bom=has_bom, what="the answers by version"
    )
    return len(touched)


def _double_quoted(value: str) -> str:
    import json

    # JSON's strings are YAML double-quoted scalars; non-ASCII stays as it is.
    return json.dumps(value, ensure_ascii=False)


def _version_edit(
    text: str, path: Path, qid: str, by_python: dict[str, str] | None, newline: str
) -> tuple[int, int, str]:
    """(start, end, replacement) writing question ``qid``'s answers_by_python block."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    root = _yaml().compose(text)

    def pair(mapping: Any, key: str) -> tuple[Any, Any] | None:
        for key_node, value_node in mapping.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
        return None

    questions = pair(root, "questions")
    assert questions is not None and isinstance(questions[1], SequenceNode)
    for item in questions[1].value:
        found = pair(item, "id") if isinstance(item, MappingNode) else None
        if found is None or str(found[1].value) != qid:
            continue
        if item.flow_style:
            raise DeckFileError(
                f"{path}: question {qid!r}: a flow mapping ({{...}}); add answers_by_python by hand"
            )
        answer = pair(item, "answer")
        assert answer is not None
        column = answer[0].start_mark.column
        block = ""
        if by_python is not None:
            block = (
                " " * column
                + "answers_by_python:"
                + newline
                + "".join(
                    f"{' ' * (column + 2)}{_double_quoted(spec)}: {_double_quoted(value)}{newline}"
                    for spec, value in by_python.items()
                )
            )
        existing = pair(item, "answers_by_python")
        if existing is not None:
            start = text.rfind("\n", 0, existing[0].start_mark.index) + 1
            value = existing[1]
            # A block mapping's own end mark lies on the next key's line: its last value's
            # end is where it ends.
            last = value.value[-1][1] if isinstance(value, MappingNode) and value.value else value
            end = _line_end_after(text, max(last.end_mark.index, value.start_mark.index))
            return start, end, block
        end = _line_end_after(text, answer[1].end_mark.index)
        return end, end, block
    raise DeckFileError(f"{path}: no question with id {qid!r}")


def _line_end_after(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (after its line break); a span that ends at the
    start of a line (a block's end) ends there, less the blank lines before it."""
    if index > 0 and text[index - 1] == "\n":
        while index > 1 and text[index - 2 : index] == "\n\n":
            index -= 1
        return index
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1
