"""Reading an Anki package (.apkg, .colpkg) into plain values, safely.

A package is a zip holding one SQLite collection, in one of three forms:

* ``collection.anki2`` / ``collection.anki21``: plain SQLite; note types and decks are JSON
  in the ``col`` row (``models``, ``decks``).
* ``collection.anki21b`` (Anki 2.1.50 and later): the same database compressed with zstd;
  note types, fields, templates and decks are tables whose ``config`` columns are protobuf
  messages. Such packages also carry a dummy ``collection.anki2`` telling old Anki versions
  to upgrade, so the newest form present is the one read.

Packages come from strangers, so nothing here trusts one: members are never extracted by
name (the collection is read into memory and opened there), names that would climb out of a
folder are refused, every decompression is capped in bytes and in ratio, and anything
unreadable is one QuizzerError naming the file. Pure: no database of quizzer's, no terminal.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from quizzer.errors import QuizzerError

#: The collection members, newest form first.
COLLECTION_MEMBERS: Final = ("collection.anki21b", "collection.anki21", "collection.anki2")

#: Largest uncompressed collection or media list read (bytes). A 20k-note collection is
#: about 40 MB; a collection 50 times that is refused rather than filling the memory.
MAX_UNCOMPRESSED: Final = 2 * 1024**3
#: An uncompressed size above this many times the compressed one, plus SLACK, is a bomb:
#: SQLite full of HTML compresses about 10:1, a run of zeros 1000:1 (deflate) or far more (zstd).
MAX_RATIO: Final = 100
SLACK: Final = 16 * 1024 * 1024

_CHUNK = 1 << 20
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

#: Tables every collection has, and the ones only the newest form has.
_TABLES: Final = ("col", "notes", "cards", "revlog")
_TABLES_21B: Final = ("notetypes", "fields", "templates", "decks")


@dataclass(frozen=True)
class NoteType:
    """A note type: its fields in order, and its card templates (front, back) in order."""

    id: int
    name: str
    cloze: bool
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Note:
    id: int
    guid: str
    notetype_id: int
    mod: int
    tags: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Card:
    """A card as Anki stores it (``deck_id`` is its home deck, even in a filtered deck)."""

    id: int
    note_id: int
    deck_id: int
    ord: int
    type: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int


@dataclass(frozen=True)
class RevlogEntry:
    """One answer: ``id`` is when (ms since 1970); ease 1-4 is the button, 0 a manual change."""

    id: int
    card_id: int
    ease: int
    ivl: int
    factor: int
    time_ms: int
    type: int


@dataclass(frozen=True)
class Collection:
    """What was read from a package."""

    path: str
    form: str
    #: When the collection was created (Unix seconds, at the day's rollover): day 0 of due days.
    created: int
    notetypes: dict[int, NoteType]
    #: Deck names with "::" between levels.
    decks: dict[int, str]
    #: Deck descriptions (HTML, as Anki keeps them), where a deck has one.
    descriptions: dict[int, str]
    notes: list[Note]
    cards: list[Card]
    revlog: list[RevlogEntry]
    #: Media files the package holds (never read).
    media_files: tuple[str, ...]


def read_package(path: Path, *, with_progress: bool = False) -> Collection:
    """Read the Anki package at ``path``; the review log only ``with_progress``.

    Raises QuizzerError with one line naming the file for anything that is not a readable
    package: not a zip, damaged, a bomb, unsafe member names, no collection, not SQLite,
    missing tables, unreadable note types.
    """
    where = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise QuizzerError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    with handle:
        if handle.read(4) not in _ZIP_MAGIC:
            raise QuizzerError(f"{where}: not an Anki package (not a zip file)")
        handle.seek(0)
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise QuizzerError(
                f"{where}: not an Anki package (a damaged zip file: {exc})"
            ) from None
        with archive:
            members = _members(archive, where)
            name = next((m for m in COLLECTION_MEMBERS if m in members), None)
            if name is None:
                raise QuizzerError(
                    f"{where}: not an Anki package (no collection.anki21b, collection.anki21 "
                    "or collection.anki2 in it)"
                )
            data = _read_member(archive, members[name], where)
            media = _read_member(archive, members["media"], where) if "media" in members else b""
    if name.endswith("b"):
        data = _unzstd(data, where=f"{where}: {name}")
        media = _unzstd(media, where=f"{where}: media") if media else b""
    form = name.removeprefix("collection.")
    connection = _open_sqlite(data, where=f"{where}: {name}")
    try:
        return _read_collection(connection, where, form, with_progress, _media_names(media, where))
    except sqlite3.DatabaseError as exc:
        raise QuizzerError(f"{where}: {name}: the collection cannot be read ({exc})") from None
    finally:
        connection.close()


# --- the zip ------------------------------------------------------------------------------


def _members(archive: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name or "\x00" in name:
            raise QuizzerError(f"{where}: unsafe member name {name!r} (refused, nothing read)")
        if name in members:
            raise QuizzerError(f"{where}: member {name!r} appears twice (refused)")
        members[name] = info
    return members


def _limit(compressed: int) -> int:
    return min(MAX_UNCOMPRESSED, MAX_RATIO * compressed + SLACK)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """A member's bytes, read into memory with its size capped (whatever its header says)."""
    limit = _limit(info.compress_size)
    if info.file_size > limit:
        raise QuizzerError(
            f"{where}: {info.filename} would unpack to {info.file_size} bytes from "
            f"{info.compress_size} (refused as a zip bomb)"
        )
    if info.flag_bits & 0x1:
        raise QuizzerError(f"{where}: {info.filename} is encrypted (Anki never encrypts)")
    chunks, size = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise QuizzerError(
                        f"{where}: {info.filename} unpacks to more than {limit} bytes "
                        "(refused as a zip bomb)"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise QuizzerError(f"{where}: {info.filename} cannot be unpacked ({exc})") from None
    return b"".join(chunks)


# --- zstd ---------------------------------------------------------------------------------


def _unzstd(data: bytes, *, where: str) -> bytes:
    """Decompress a zstd frame, capped like a zip member; one line for a bad or cut one."""
    if not data.startswith(_ZSTD_MAGIC):
        raise QuizzerError(f"{where}: not zstd-compressed as Anki writes it")
    limit = _limit(len(data))
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]  # 3.14+
    except ImportError:
        out, done = _unzstd_with_zstandard(data, limit, where)
    else:
        decompressor: Any = zstd.ZstdDecompressor()
        try:
            out = decompressor.decompress(data, max_length=limit + 1)
        except zstd.ZstdError as exc:
            raise QuizzerError(f"{where}: damaged zstd data ({exc})") from None
        done = decompressor.eof
    if len(out) > limit:
        raise _bomb(where, limit)
    if not done:
        raise QuizzerError(f"{where}: the zstd data is cut short (a truncated package)")
    return bytes(out)


def _bomb(where: str, limit: int) -> QuizzerError:
    return QuizzerError(f"{where}: unpacks to more than {limit} bytes (refused as a zip bomb)")


def _unzstd_with_zstandard(data: bytes, limit: int, where: str) -> tuple[bytes, bool]:
    import zstandard

    if zstandard.frame_content_size(data) > limit:
        raise _bomb(where, limit)
    stream = zstandard.ZstdDecompressor().decompressobj()
    chunks, size = [], 0
    try:
        # Fed a little at a time, so a bomb is stopped after a few MB rather than unpacked.
        for start in range(0, len(data), 1024):
            chunk = stream.decompress(data[start : start + 1024])
            size += len(chunk)
            if size > limit:
                raise _bomb(where, limit)
            chunks.append(chunk)
            if stream.eof:
                break
    except zstandard.ZstdError as exc:
        raise QuizzerError(f"{where}: damaged zstd data ({exc})") from None
    return b"".join(chunks), bool(stream.eof)


# --- SQLite -------------------------------------------------------------------------------


def _open_sqlite(data: bytes, *, where: str) -> sqlite3.Connection:
    """The collection opened in memory, read-only: never a file named by the package."""
    if not data.startswith(_SQLITE_MAGIC):
        raise QuizzerError(f"{where}: not an SQLite database")
    if data[18:20] == b"\x02\x02":
        # A WAL-mode header: in memory there is no WAL, so read it as a rollback journal.
        data = data[:18] + b"\x01\x01" + data[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise QuizzerError(f"{where}: not a readable SQLite database ({exc})") from None
    return connection


def _read_collection(
    db: sqlite3.Connection, where: str, form: str, with_progress: bool, media: tuple[str, ...]
) -> Collection:
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    modern = "notetypes" in tables
    needed = _TABLES + (_TABLES_21B if modern else ())
    missing = [name for name in needed if name not in tables]
    if missing:
        raise QuizzerError(
            f"{where}: collection.{form}: not an Anki collection (no table {missing[0]!r})"
        )
    row = db.execute("SELECT crt, models, decks FROM col").fetchone()
    if row is None:
        raise QuizzerError(f"{where}: collection.{form}: not an Anki collection (empty col table)")
    created = int(row[0])
    if modern:
        notetypes, (decks, descriptions) = _notetypes_21b(db, where), _decks_21b(db, where)
    else:
        notetypes, decks, descriptions = _legacy_json(row[1], row[2], where)
    notes = [
        Note(
            id=int(nid),
            guid=str(guid),
            notetype_id=int(mid),
            mod=int(mod),
            tags=tuple(str(tags).split()),
            fields=tuple(str(flds).split("\x1f")),
        )
        for nid, guid, mid, mod, tags, flds in db.execute(
            "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id"
        )
    ]
    cards = [
        Card(
            id=int(r[0]),
            note_id=int(r[1]),
            # A card in a filtered deck remembers its home deck in odid.
            deck_id=int(r[12]) if r[12] else int(r[2]),
            ord=int(r[3]),
            type=int(r[4]),
            queue=int(r[5]),
            # ...and its own due in odue.
            due=int(r[11]) if r[12] and r[11] else int(r[6]),
            ivl=int(r[7]),
            factor=int(r[8]),
            reps=int(r[9]),
            lapses=int(r[10]),
        )
        for r in db.execute(
            "SELECT id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, odue, odid "
            "FROM cards ORDER BY nid, ord"
        )
    ]
    revlog = []
    if with_progress:
        revlog = [
            RevlogEntry(*(int(value) for value in r))
            for r in db.execute(
                "SELECT id, cid, ease, ivl, factor, time, type FROM revlog ORDER BY cid, id"
            )
        ]
    return Collection(
        where, form, created, notetypes, decks, descriptions, notes, cards, revlog, media
    )


def _legacy_json(
    models: str, decks: str, where: str
) -> tuple[dict[int, NoteType], dict[int, str], dict[int, str]]:
    try:
        model_data, deck_data = json.loads(models), json.loads(decks)
        notetypes = {}
        for model in model_data.values():
            fields = sorted(model["flds"], key=lambda f: f["ord"])
            templates = sorted(model["tmpls"], key=lambda t: t["ord"])
            notetypes[int(model["id"])] = NoteType(
                id=int(model["id"]),
                name=str(model["name"]),
                cloze=model.get("type") == 1,
                fields=tuple(str(f["name"]) for f in fields),
                templates=tuple((str(t["qfmt"]), str(t["afmt"])) for t in templates),
            )
        names = {int(deck["id"]): str(deck["name"]) for deck in deck_data.values()}
        descriptions = {
            int(deck["id"]): str(deck["desc"]) for deck in deck_data.values() if deck.get("desc")
        }
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise QuizzerError(
            f"{where}: the collection's note types or decks cannot be read ({exc!r})"
        ) from None
    return notetypes, names, descriptions


def _notetypes_21b(db: sqlite3.Connection, where: str) -> dict[int, NoteType]:
    fields: dict[int, list[str]] = {}
    for ntid, name in db.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
        fields.setdefault(int(ntid), []).append(str(name))
    templates: dict[int, list[tuple[str, str]]] = {}
    try:
        for ntid, config in db.execute("SELECT ntid, config FROM templates ORDER BY ntid, ord"):
            # Notetype.Template.Config: q_format = 1, a_format = 2.
            message = protobuf_fields(bytes(config))
            front = _text(message, 1)
            back = _text(message, 2)
            templates.setdefault(int(ntid), []).append((front, back))
        notetypes = {}
        for ntid, name, config in db.execute("SELECT id, name, config FROM notetypes"):
            # Notetype.Config: kind = 1 (0 normal, 1 cloze).
            kind = protobuf_fields(bytes(config)).get(1, [0])[0]
            notetypes[int(ntid)] = NoteType(
                id=int(ntid),
                name=str(name),
                cloze=kind == 1,
                fields=tuple(fields.get(int(ntid), ())),
                templates=tuple(templates.get(int(ntid), ())),
            )
    except (ValueError, UnicodeDecodeError) as exc:
        raise QuizzerError(f"{where}: the collection's note types cannot be read ({exc})") from None
    return notetypes


def _text(message: dict[int, list[int | bytes]], number: int) -> str:
    values = message.get(number)
    if not values:
        return ""
    value = values[-1]
    if not isinstance(value, bytes):
        raise ValueError(f"field {number} is not text")
    return value.decode("utf-8")


def _decks_21b(db: sqlite3.Connection, where: str) -> tuple[dict[int, str], dict[int, str]]:
    names, descriptions = {}, {}
    try:
        for did, name, kind in db.execute("SELECT id, name, kind FROM decks"):
            # Levels of a deck's name are separated by U+001F in this table.
            names[int(did)] = str(name).replace("\x1f", "::")
            # DeckKindContainer: normal = 1; Deck.Normal: description = 4.
            normal = protobuf_fields(bytes(kind)).get(1)
            if normal and isinstance(normal[0], bytes):
                description = _text(protobuf_fields(normal[0]), 4)
                if description:
                    descriptions[int(did)] = description
    except (ValueError, UnicodeDecodeError) as exc:
        raise QuizzerError(f"{where}: the collection's decks cannot be read ({exc})") from None
    return names, descriptions


def _media_names(media: bytes, where: str) -> tuple[str, ...]:
    """The media files a package holds: JSON {"0": name} (legacy) or protobuf MediaEntries."""
    if not media:
        return ()
    if media.lstrip().startswith(b"{"):
        try:
            names = json.loads(media)
            return tuple(str(name) for name in names.values())
        except (ValueError, AttributeError):
            raise QuizzerError(f"{where}: the media list cannot be read") from None
    try:
        # MediaEntries: repeated MediaEntry entries = 1; MediaEntry: name = 1.
        entries = protobuf_fields(media).get(1, [])
        return tuple(
            _text(protobuf_fields(entry), 1) for entry in entries if isinstance(entry, bytes)
        )
    except (ValueError, UnicodeDecodeError):
        raise QuizzerError(f"{where}: the media list cannot be read") from None


# --- protobuf -----------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("a protobuf varint is cut short")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _wire(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire_type == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("a protobuf field runs past its message")
            yield number, data[pos : pos + length]
            pos += length
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
            if pos > len(data):
                raise ValueError("a protobuf field runs past its message")
        else:
            raise ValueError(f"protobuf wire type {wire_type} is not read here")


def protobuf_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """The fields of one protobuf message by number: varints as ints, the rest as bytes.

    Enough of the wire format for the few fields quizzer reads of Anki's config columns;
    fixed-width fields are skipped.
    """
    fields: dict[int, list[int | bytes]] = {}
    for number, value in _wire(data):
        fields.setdefault(number, []).append(value)
    return fields
