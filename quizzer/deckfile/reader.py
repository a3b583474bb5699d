"""The one strict YAML reader: import, ``add --from`` and ``edit`` all read through it."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor

from quizzer.bulk import gc_paused
from quizzer.deckfile.messages import (
    STR_TAG,
    first_error,
    got,
    line_column,
    locate,
    node_at,
    one_line,
    questions_root,
    short,
    yaml_error,
)
from quizzer.deckfile.models import Deck, Question, QuestionList
from quizzer.errors import DeckFileError
from quizzer.files import MAX_FILE_BYTES as MAX_FILE_BYTES
from quizzer.files import deck_paths, open_regular

# --- reading YAML safely ------------------------------------------------------------
#
# Deck files come from anywhere, so the YAML layer is hardened beyond PyYAML's safe
# loader: anchors and aliases are refused (a "billion laughs" file is a few hundred
# bytes of aliases that PyYAML shares but anything walking the result expands), nesting
# and the number of values are bounded, and every failure becomes one DeckFileError
# line naming the file, the question and the field.

#: Deepest nesting of values accepted; a deck needs five (deck, questions, question,
#: choices, choice).
MAX_DEPTH = 32
#: Most YAML values (scalars, lists and mappings) in one file. A question is about
#: fourteen, so this allows some 17,000 questions, and bounds the work a hostile file
#: of tiny values can cause (a few seconds and some 250 MB at this limit).
MAX_NODES = 250_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOM = "\ufeff"
# What YAML 1.1 (and so PyYAML) accepts in a stream; checked up front so the message
# can say where the offending character is instead of PyYAML's two-line report.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ANCHORS_REFUSED = (
    "anchors and aliases (&name, *name) are not allowed in deck files; write the value out"
)


class _StrictComposer(yaml.composer.Composer):
    """PyYAML's composer, bounded in depth and size, noting the first anchor or alias."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0
        #: Where the first anchor or alias is. The file is refused once the node tree
        #: is whole, so the message can name the question; until then aliased nodes are
        #: shared, never copied, so composing stays as cheap as the text.
        self.anchor_mark: yaml.Mark | None = None
        #: The (parent, index) pairs down to where composing failed, to name the question;
        #: built while the error unwinds, so composing a good file pays nothing for it.
        self.error_path: list[tuple[yaml.Node | None, Any]] | None = None

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        try:
            event = cast(Any, self).peek_event()  # a mixin: the parser supplies the events
            if self.anchor_mark is None and (
                type(event) is yaml.AliasEvent or getattr(event, "anchor", None) is not None
            ):
                self.anchor_mark = event.start_mark
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_NODES} values; split the deck into smaller files",
                    event.start_mark,
                )
            if self._depth >= MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            self._depth += 1
            node = super().compose_node(parent, index)
        except yaml.MarkedYAMLError:
            if self.error_path is None:
                self.error_path = []
            self.error_path.insert(0, (parent, index))
            raise
        self._depth -= 1
        return node


class _ValueError(yaml.constructor.ConstructorError):
    """A value PyYAML cannot build, or one a deck file must not contain."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(None, None, problem, mark)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    # No flatten_mapping: merge keys are refused rather than merged, and a key given
    # twice is an error instead of PyYAML's silent "last one wins".
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            raise _ValueError(
                "merge keys (<<) are not allowed in deck files; write the keys out",
                key_node.start_mark,
            )
        key = _construct(loader, key_node)
        if not isinstance(key, str):
            raise _ValueError(
                f"key {short(key)} is not a field name (keys are text, like 'prompt')",
                key_node.start_mark,
            )
        if key in mapping:
            raise _ValueError("duplicate key (each key may appear once)", key_node.start_mark)
        mapping[key] = _construct(loader, value_node)
    return mapping


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as exc:
        # PyYAML's constructors fail in assorted ways on odd scalars ("!!timestamp x",
        # a 5000-digit integer, "!!binary" that is not base64); only a ValueError's
        # text is meant for people, and its advice after ";" is for programmers.
        kind = str(node.tag).rsplit(":", 1)[-1]
        reason = f" ({str(exc).split(';')[0]})" if isinstance(exc, ValueError) else ""
        raise _ValueError(f"cannot read this value as {kind}{reason}", node.start_mark) from None


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _ValueError(
        f"unknown tag {short(node.tag)}: deck files hold text, numbers, lists and mappings",
        node.start_mark,
    )


def _loader_classes() -> list[type[Any]]:
    """The deck loaders: on libyaml's parser when PyYAML has it, else pure Python."""
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.resolver import Resolver
    from yaml.scanner import Scanner

    made: list[type[Any]] = []

    class _PyDeckLoader(Reader, Scanner, Parser, _StrictComposer, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _StrictComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    made.append(_PyDeckLoader)
    if getattr(yaml, "__with_libyaml__", False):
        from yaml._yaml import CParser

        # The composer comes first so its Python methods win over CParser's C ones.
        class _CDeckLoader(_StrictComposer, CParser, SafeConstructor, Resolver):
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                _StrictComposer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        made.insert(0, _CDeckLoader)
    for loader in made:
        loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
        loader.add_constructor(None, _refuse_tag)
    return made


#: The loaders parse_deck may use, the preferred (fastest) first.
_LOADERS = _loader_classes()


# --- the fast path: a well-formed file read straight from libyaml's events ----------
#
# Composing a node tree in Python and constructing values from it was 80% of importing a
# 10k-question file. Most files are plain: no anchors, no tags, no duplicate keys. For
# those, _plain_data builds the same dicts, lists and scalars straight from the events;
# anything else (including every error) gives None, and the full loader above does the
# work and names the question and field. It never accepts what the full loader refuses:
# tests/test_import_fast_paths.py checks that both agree.

#: The implicit scalar types the fast path builds itself; any other (a timestamp, a merge
#: key) goes to the full loader.
_PLAIN_SCALARS: dict[str, Any] = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    )
}


class _NotPlain(Exception):
    """The file needs the full loader."""


def _plain_data(text: str) -> Any | None:
    """The data of a plain one-document YAML ``text``, or None if the full loader must read it."""
    if not getattr(yaml, "__with_libyaml__", False):
        return None
    from yaml._yaml import CParser

    parser = CParser(text)
    try:
        return _data_from_events(parser)
    except (_NotPlain, yaml.YAMLError, ValueError, OverflowError):
        return None
    finally:
        parser.dispose()


def _data_from_events(parser: Any) -> Any:
    resolver: Any = yaml.resolver.Resolver()
    constructor = SafeConstructor()
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    document_start, stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    # The open collections, and for each mapping the key waiting for its value.
    stack: list[Any] = []
    keys: list[Any] = []
    documents = 0
    values = 0
    root: Any = None
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event or kind is mapping_start or kind is sequence_start:
            values += 1
            if event.anchor is not None or event.tag is not None:
                raise _NotPlain
            if len(stack) >= MAX_DEPTH or values > MAX_NODES:
                raise _NotPlain
            if kind is not scalar_event:
                stack.append({} if kind is mapping_start else [])
                keys.append(None)
                continue
            value = event.value
            if event.implicit[0]:  # plain: its type depends on how it looks
                tag = resolver.resolve(yaml.ScalarNode, value, event.implicit)
                if tag != STR_TAG:
                    construct = _PLAIN_SCALARS.get(tag)
                    if construct is None:
                        raise _NotPlain
                    value = construct(constructor, yaml.ScalarNode(tag, value))
        elif kind in collection_end:
            value = stack.pop()
            keys.pop()
        elif kind is alias_event:
            raise _NotPlain
        elif kind is document_start:
            documents += 1
            if documents > 1:
                raise _NotPlain
            continue
        elif kind is stream_end:
            return root
        else:  # the stream's start, a document's end
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        if type(top) is list:
            top.append(value)
        elif keys[-1] is None:
            if type(value) is not str or value in top:
                raise _NotPlain
            keys[-1] = value
        else:
            top[keys[-1]] = value
            keys[-1] = None


def _checked_text(text: str, *, source: str) -> str:
    """``text`` without its leading BOM; a stray BOM or a character YAML refuses is an error
    saying where it is (PyYAML's own report takes two lines)."""
    text = text.removeprefix(_BOM)  # a UTF-8 BOM is harmless at the very start
    stray = text.find(_BOM)
    if stray >= 0:
        raise DeckFileError(
            f"{source}: a byte-order mark (U+FEFF) at {line_column(text, stray)}; "
            "only the very start of a file may have one"
        )
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise DeckFileError(
            f"{source}: character U+{ord(bad.group()):04X} at {line_column(text, bad.start())} "
            "is not allowed in a YAML file (control characters and lone surrogates are not text)"
        )
    return text


def parse_deck(text: str, *, source: str) -> Deck:
    """Validate deck-file ``text``; errors name ``source``, the question and the field.

    Every failure is a DeckFileError with a one-line message; anchors and aliases are
    refused, and nesting depth and the number of values are bounded.
    """
    text = _checked_text(text, source=source)
    data = _plain_data(text)
    if isinstance(data, dict):
        try:
            return Deck.model_validate(data)
        except ValidationError:
            pass  # the full loader below says which question and field
    root, data = _load_fully(text, source=source)
    if not isinstance(data, dict):
        raise DeckFileError(
            f"{source}: a deck file is a mapping with 'deck', 'title' and 'questions', "
            f"not {got(data)}"
        )
    try:
        return Deck.model_validate(data)
    except ValidationError as exc:
        raise DeckFileError(one_line(f"{source}: {first_error(root, exc)}")) from None


def _load_fully(text: str, *, source: str) -> tuple[yaml.Node, Any]:
    """The node tree of ``text`` and the data built from it, or a located DeckFileError."""
    loader = _LOADERS[0](text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise yaml_error(source, exc, loader.error_path) from None
        except (yaml.YAMLError, RecursionError) as exc:  # unmarked: should not happen
            raise DeckFileError(one_line(f"{source}: invalid YAML: {exc}")) from None
        if root is None:
            raise DeckFileError(
                f"{source}: the file is empty; a deck needs 'deck', 'title', 'questions'"
            )
        if loader.anchor_mark is not None:
            raise _located(source, root, loader.anchor_mark, _ANCHORS_REFUSED)
        try:
            return root, loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if mark is None:
                raise DeckFileError(one_line(f"{source}: invalid YAML: {problem}")) from None
            raise _located(source, root, mark, problem) from None
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            # A scalar at the top level that PyYAML cannot build (mappings say where).
            raise DeckFileError(one_line(f"{source}: invalid YAML: {exc}")) from None
    finally:
        loader.dispose()


def _located(source: str, root: yaml.Node, mark: yaml.Mark, problem: str) -> DeckFileError:
    label, field = locate(root, mark)
    field_part = f"field {field!r}: " if field else ""
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    return DeckFileError(one_line(f"{source}: {label}: {field_part}{problem} ({where})"))


@gc_paused()
def load_deck(path: Path) -> Deck:
    """Read and validate one deck file (UTF-8, an optional BOM, at most MAX_FILE_BYTES)."""
    return parse_deck(read_text(path), source=str(path))


def read_text(path: Path) -> str:
    """The text of a deck file: UTF-8, at most MAX_FILE_BYTES; else a one-line DeckFileError."""
    limit = f"deck files are limited to {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise DeckFileError(f"{path}: the file is {size // (1024 * 1024)} MiB; {limit}")
            # Bounded even when the size lies (a device or a pipe reports 0).
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DeckFileError(f"{path}: the file is too big; {limit}")
    return _decode(path, raw)


@gc_paused()
def load_questions_or_deck(path: Path) -> Deck | list[Question]:
    """A deck file, or a YAML list of questions (``add --from``), read as strictly as
    ``import`` reads a deck: anything but a list gets exactly import's answer."""
    source = str(path)
    text = read_text(path)
    root, data = _load_fully(_checked_text(text, source=source), source=source)
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        return parse_deck(text, source=source)
    questions = questions_root(root)
    try:
        return list(QuestionList.model_validate({"questions": data}).questions)
    except ValidationError as exc:
        raise DeckFileError(one_line(f"{source}: {first_error(questions, exc)}")) from None


def strict_load(text: str) -> Any:
    """One YAML document read by the deck-file rules (no anchors, aliases, merge keys,
    duplicate keys or tags; bounded depth and size): for text that is not a whole deck,
    such as a question being edited. Raises ``yaml.YAMLError``.

    Read by PyYAML's pure-Python parser, whose messages are PyYAML's usual words (a text
    this size costs nothing to parse either way)."""
    loader = _LOADERS[-1](text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if loader.anchor_mark is not None:
            raise yaml.composer.ComposerError(None, None, _ANCHORS_REFUSED, loader.anchor_mark)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def _decode(path: Path, raw: bytes) -> str:
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if raw.startswith(bom):
            raise DeckFileError(f"{path}: the file is {name} text; save it as UTF-8")
    if b"\0" in raw:
        raise DeckFileError(
            f"{path}: not a text file: it contains NUL bytes "
            "(binary data, or UTF-16 text; deck files are UTF-8)"
        )
    try:
        return raw.decode("utf-8")  # parse_deck drops one leading BOM, and only one
    except UnicodeDecodeError as exc:
        text = raw[: exc.start].decode("utf-8").removeprefix(_BOM)
        raise DeckFileError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02X} at "
            f"{line_column(text, len(text))} (save the file as UTF-8)"
        ) from None


def refuse_missing_answers(path: Path, deck: Deck) -> None:
    """Refuse a deck whose variants lack answers (import never runs code): a located
    DeckFileError saying to run ``quizzer check --update``."""
    for index, question in enumerate(deck.questions):
        if question.vary is None and question.variants is None:
            continue
        missing = question.missing_answers()
        if not missing:
            continue
        field = "variants" if question.variants is not None else "vary"
        root, _ = _load_fully(_checked_text(read_text(path), source=str(path)), source=str(path))
        node = node_at(root, ("questions", index, field))
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DeckFileError(
            f"{path}: question {short(question.id)} (#{index + 1}): field {field!r}: "
            f"variant {missing[0]}{more} has no answer (line {node.start_mark.line + 1}); "
            f"run `quizzer check --update {path}` to write every variant's answer"
        )


def load_decks(paths: Iterable[Path]) -> list[tuple[Path, Deck]]:
    """Load every deck file named by ``paths``; a deck slug may appear in only one file."""
    loaded: list[tuple[Path, Deck]] = []
    owners: dict[str, Path] = {}
    for path in deck_paths(paths):
        deck = load_deck(path)
        if deck.deck in owners and owners[deck.deck].resolve() != path.resolve():
            raise DeckFileError(
                f"{path}: field 'deck': slug {deck.deck!r} is already used by {owners[deck.deck]}"
            )
        if deck.deck not in owners:
            owners[deck.deck] = path
            loaded.append((path, deck))
    return loaded
