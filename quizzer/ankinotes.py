"""Anki notes as quizzer questions: HTML to text, clozes, templates, quizzer's own notes.

One note becomes one question, from its first card's template:

* a note quizzer exported (it has a ``QuizzerId`` field holding ``deck/id``) comes back as
  the question it was: same deck, id, type, prompt, code, answer, choices (in their order
  before the export shuffled them), explanation, tags and Python version;
* a cloze note becomes a recall question: the front with each cloze shown as ``[...]`` (or
  ``[hint]``), the answer the text with the clozes filled in, "Back Extra" the explanation;
* a note whose front has ``{{type:Field}}`` becomes a recall question whose answer is that
  field;
* any other note: the front as the prompt, the back (without the front) as the answer.

HTML becomes text: tags go, ``<br>``, ``<div>``, ``<p>`` and list items become line breaks,
entities are decoded; images, sounds and scripts are dropped and counted. Pure: the standard
library only.
"""

from __future__ import annotations

import hashlib
import html
import random
import re
from dataclasses import dataclass, field
from typing import Final

from quizzer.ankipkg import Note, NoteType

#: The field that marks a note quizzer exported; it holds "deck-slug/question-id".
QUIZZER_ID_FIELD: Final = "QuizzerId"
#: The Anki tag root quizzer's exports put every note under.
QUIZZER_TAG_ROOT: Final = "quizzer"


@dataclass
class Converted:
    """A note as question fields (plain data, validated later by the deck-file models)."""

    qid: str
    type: str
    prompt: str
    answer: str
    code: str | None = None
    choices: list[str] | None = None
    explanation: str | None = None
    tags: list[str] = field(default_factory=list)
    python: str | None = None
    #: The deck slug a quizzer note came from (None for other notes: their Anki deck decides).
    deck_slug: str | None = None
    #: Media (images, sounds) named in the fields, left out of the question.
    media: set[str] = field(default_factory=set)


# --- names --------------------------------------------------------------------------------


def deck_slug(name: str) -> str:
    """A quizzer deck slug for an Anki deck name: ``Parent::Child`` -> ``parent-child``.

    Lower-cased; every run of characters other than ASCII letters and digits (``::``
    included) becomes one hyphen; at most 90 characters. A name with no such character at
    all gets ``anki-`` and a hash of the name.
    """
    words = re.findall(r"[a-z0-9]+", name.lower())
    slug = "-".join(words)[:90].strip("-")
    if not slug:
        return "anki-" + hashlib.sha256(name.encode()).hexdigest()[:10]
    return slug


def note_qid(guid: str) -> str:
    """The question id of an Anki note: ``anki-`` and a hash of its GUID, so it is the same
    in every import of that note (whatever its text or deck) and a re-import updates it."""
    return "anki-" + hashlib.sha256(guid.encode()).hexdigest()[:12]


def tag_of(anki_tag: str) -> str | None:
    """A quizzer tag for an Anki tag: characters tags may not hold become hyphens."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:-]+", "-", anki_tag).strip("-")[:100]
    return cleaned or None


# --- HTML to text -------------------------------------------------------------------------

_BLOCKS: Final = {
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "table", "tr", "ul",
}  # fmt: skip
_SKIPPED: Final = {"script", "style", "head", "title"}
_SOUND = re.compile(r"\[sound:([^\]]*)\]")
_CONTROL_REFERENCE = re.compile(r"&#(\d+);")


_SLOW_TAGS: Final = ("<pre", "<script", "<style", "<head", "<title", "<!--")
_BLOCK_TAG = re.compile(
    r"<(/?)(" + "|".join(sorted(_BLOCKS, key=len, reverse=True)) + r")\b[^>]*>", re.IGNORECASE
)
_BR = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_MEDIA_TAG = re.compile(r"<(?:img|audio|video|source|object|embed|iframe)\b([^>]*)>", re.I)
_ANY_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_ENTITY = re.compile(r"&(#?[0-9a-zA-Z]+);")
_BREAKS = re.compile(r"[ \x00]*\x00[ \x00]*")


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    value = _charref(name[1:]) if name.startswith("#") else html.unescape(match.group())
    return _SPACES.sub(" ", value)


def _block(match: re.Match[str]) -> str:
    return "\x00- " if match.group(2).lower() == "li" and not match.group(1) else "\x00"


def _flat_to_text(markup: str, found: set[str]) -> str:
    """html_to_text for a field with no ``<pre>``: whitespace collapses everywhere."""
    markup = markup.replace("\x00", "\ufffd")  # NUL marks a block's edge below
    if "<" in markup:
        for attributes in _MEDIA_TAG.findall(markup):
            source = _SOURCE.search(attributes)
            if source:
                found.add(next(group for group in source.groups() if group is not None))
        markup = _SPACES.sub(" ", markup)
        markup = _BR.sub("\n", markup)
        markup = _BLOCK_TAG.sub(_block, markup)
        markup = _ANY_TAG.sub("", markup)
    else:
        markup = _SPACES.sub(" ", markup)
    if "&" in markup:
        markup = _ENTITY.sub(_entity, markup)
    # A block starts a new line unless one has just begun; spaces at a line's ends go.
    markup = _BREAKS.sub("\x00", markup)
    lines = [
        line.strip(" ") for line in markup.replace("\n\x00", "\n").replace("\x00", "\n").split("\n")
    ]
    text = "\n".join(lines).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _charref(name: str) -> str:
    # html.unescape drops control characters; quizzer's export writes them as references.
    try:
        number = int(name[1:], 16) if name[:1] in "xX" else int(name)
        return chr(number) if 0 < number < 0x110000 else "\ufffd"
    except ValueError:
        return f"&#{name};"


_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    r"|&(#?[0-9a-zA-Z]+);"
    r"|[^<&]+"
    r"|[<&]",
    re.DOTALL,
)
_SOURCE = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n]+")
_MEDIA_TAGS: Final = {"img", "audio", "video", "source", "object", "embed", "iframe"}


def html_to_text(markup: str, media: set[str] | None = None) -> str:
    """The text a reader sees of an Anki field: line breaks for ``<br>`` and blocks,
    entities decoded, whitespace collapsed outside ``<pre>``; media names go to ``media``.

    A small tokenizer rather than html.parser: a 10k-note package has 20k fields, and this
    is what an import spends most of its time on. Fields with no ``<pre>``, script or style
    (nearly all) take a faster path of a few substitutions that gives the same text.
    """
    found = media if media is not None else set()
    if "[sound:" in markup:
        found.update(_SOUND.findall(markup))
        markup = _SOUND.sub("", markup)
    lowered = markup.lower()
    if not any(tag in lowered for tag in _SLOW_TAGS):
        return _flat_to_text(markup, found)
    return _tokens_to_text(markup, found)


def _tokens_to_text(markup: str, found: set[str]) -> str:
    """html_to_text, token by token: ``<pre>`` keeps its whitespace, scripts are dropped."""
    parts: list[str] = []
    skipping: str | None = None
    pre = 0

    def line_break() -> None:
        # A block starts or ends: a new line, unless one has just begun.
        if parts and not parts[-1].endswith("\n"):
            parts.append("\n")

    def add(text: str) -> None:
        if not pre:
            text = _SPACES.sub(" ", text)
            if not parts or parts[-1].endswith("\n"):
                text = text.lstrip(" ")
        if text:
            parts.append(text)

    for match in _TOKEN.finditer(markup):
        closing, tag, attributes, entity = match.groups()
        if tag is not None:
            tag = tag.lower()
            if skipping is not None:
                if closing and tag == skipping:
                    skipping = None
                continue
            if tag in _SKIPPED:
                if not closing and not attributes.rstrip().endswith("/"):
                    skipping = tag
            elif tag == "br":
                parts.append("\n")
            elif tag in _MEDIA_TAGS:
                source = _SOURCE.search(attributes or "")
                if source and not closing:
                    found.add(next(group for group in source.groups() if group is not None))
            elif tag in _BLOCKS:
                line_break()
                if tag == "pre":
                    pre = max(0, pre - 1) if closing else pre + 1
                elif tag == "li" and not closing:
                    parts.append("- ")
        elif skipping is not None or match.group().startswith("<!--"):
            continue
        elif entity is not None:
            if entity.startswith("#"):
                add(_charref(entity[1:]))
            else:
                add(html.unescape(match.group()))
        else:
            add(match.group())
    text = "".join(parts).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _raw_text(markup: str) -> str:
    """Text inside quizzer's own ``<pre>`` blocks: tags removed, references decoded, nothing
    else touched (the exact code or output)."""
    without_tags = re.sub(r"<[^>]*>", "", markup)
    return (
        re.sub(r"&#(x?[0-9a-fA-F]+);", lambda m: _charref(m.group(1)), without_tags)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
    )


# --- clozes and templates -----------------------------------------------------------------

# The innermost cloze: its text holds no other cloze's start; hint after the first "::".
_CLOZE = re.compile(
    r"\{\{c\d+::((?:(?!\{\{c\d+::)(?!::)(?!\}\}).)*)(?:::((?:(?!\{\{c\d+::)(?!\}\}).)*))?\}\}",
    re.DOTALL,
)


def cloze_front(markup: str) -> str:
    """Every cloze hidden: ``[...]``, or ``[hint]`` when it has one."""
    previous = None
    while previous != markup:
        previous = markup
        markup = _CLOZE.sub(lambda m: f"[{m.group(2) or '...'}]", markup)
    return markup


def cloze_back(markup: str) -> str:
    """Every cloze filled in."""
    previous = None
    while previous != markup:
        previous = markup
        markup = _CLOZE.sub(lambda m: m.group(1), markup)
    return markup


_SECTION = re.compile(
    r"\{\{([#^])\s*([^{}]+?)\s*\}\}((?:(?!\{\{[#^]).)*?)\{\{/\s*\2\s*\}\}", re.DOTALL
)
_REPLACEMENT = re.compile(r"\{\{\s*([^{}#^/][^{}]*?)\s*\}\}")
_ANSWER_RULE = re.compile(r"<hr\s+id\s*=\s*['\"]?answer['\"]?\s*/?>", re.IGNORECASE)


def render(template: str, fields: dict[str, str], *, front: str = "", back: bool = False) -> str:
    """A card side as Anki renders it, for the parts that carry text: fields, conditional
    sections, ``cloze:`` (hidden on the front, filled in on the back), ``{{FrontSide}}``;
    ``type:`` boxes and other special fields render as nothing."""
    previous = None
    while previous != template:
        previous = template
        template = _SECTION.sub(
            lambda m: (
                m.group(3)
                if bool(fields.get(m.group(2), "").strip()) == (m.group(1) == "#")
                else ""
            ),
            template,
        )

    def replace(match: re.Match[str]) -> str:
        *filters, name = [part.strip() for part in match.group(1).split(":")]
        if name == "FrontSide" and not filters:
            return front
        if "type" in filters:
            return ""
        value = fields.get(name, "")
        if "cloze" in filters:
            return cloze_back(value) if back else cloze_front(value)
        return value

    return _REPLACEMENT.sub(replace, template)


def typed_field(template: str) -> str | None:
    """The field a ``{{type:Field}}`` box on ``template`` checks, if it has one."""
    match = re.search(r"\{\{\s*type:(?:cloze:)?\s*([^{}]+?)\s*\}\}", template)
    return match.group(1) if match else None


class NotText(ValueError):
    """A note that has no text to ask (an image occlusion)."""


# --- notes --------------------------------------------------------------------------------


def convert(note: Note, notetype: NoteType, *, card_ord: int = 0) -> Converted:
    """The question for ``note`` (see the module's docstring); its card ``card_ord``'s
    template is used (0: the first)."""
    fields = dict(zip(notetype.fields, note.fields, strict=False))
    if QUIZZER_ID_FIELD in fields and "/" in html.unescape(fields[QUIZZER_ID_FIELD]):
        return _quizzer_note(note, fields)
    media: set[str] = set()
    templates = notetype.templates or (("", ""),)
    if "image-occlusion" in templates[0][0] or "Occlusion" in notetype.fields:
        raise NotText("an image occlusion (an image, not text)")
    ord_ = 0 if notetype.cloze else min(card_ord, len(templates) - 1)
    front_template, back_template = templates[ord_]
    front = render(front_template, fields)
    prompt = html_to_text(front, media)
    explanation = ""
    typed = typed_field(front_template)
    if notetype.cloze:
        cloze = re.search(r"\{\{\s*(?:[^{}]*:)?cloze:\s*([^{}]+?)\s*\}\}", front_template)
        name = cloze.group(1) if cloze else (notetype.fields[0] if notetype.fields else "")
        answer = html_to_text(cloze_back(fields.get(name, "")), media)
        rest = render(_ANSWER_RULE.sub("", back_template.replace("{{FrontSide}}", "")), fields,
                      back=True)  # fmt: skip
        rest_text = html_to_text(rest, media)
        explanation = rest_text.replace(answer, "", 1).strip() if answer else rest_text
    elif typed is not None:
        answer = html_to_text(fields.get(typed, ""), media)
        after = _after_answer_rule(render(back_template, fields, front=front, back=True))
        explanation = html_to_text(after, media)
    else:
        answer = html_to_text(_back_only(back_template, fields, front), media)
    tags = [tag for tag in map(tag_of, note.tags) if tag]
    return Converted(
        qid=note_qid(note.guid),
        type="recall",
        prompt=prompt,
        answer=answer,
        explanation=explanation or None,
        tags=list(dict.fromkeys(tags)),
        media=media,
    )


def _after_answer_rule(rendered: str) -> str:
    parts = _ANSWER_RULE.split(rendered, maxsplit=1)
    return parts[1] if len(parts) == 2 else ""


def _back_only(back_template: str, fields: dict[str, str], front: str) -> str:
    """The back of a card without its front: after ``<hr id=answer>``, or with
    ``{{FrontSide}}`` left out."""
    rendered = render(back_template, fields, front=front, back=True)
    parts = _ANSWER_RULE.split(rendered, maxsplit=1)
    if len(parts) == 2:
        return parts[1]
    return render(back_template, fields, front="", back=True)


def _quizzer_note(note: Note, fields: dict[str, str]) -> Converted:
    """A note quizzer exported, back as its question (see quizzer.anki's _fields)."""
    slug, _, qid = html.unescape(fields[QUIZZER_ID_FIELD]).strip().partition("/")
    answer_html = fields.get("Answer", "")
    code = _raw_text(fields.get("Code", "")).rstrip()
    explanation_html = re.sub(
        r'<details class="trace">.*?</details>', "", fields.get("Explanation", ""), flags=re.DOTALL
    )
    prompt = _quizzer_text(fields.get("Prompt", ""))
    converted = Converted(
        qid=qid,
        type="recall",
        prompt=prompt,
        answer="",
        code=code + "\n" if code else None,
        explanation=_quizzer_text(explanation_html) or None,
        tags=_quizzer_tags(note.tags, slug),
        python=html.unescape(fields.get("Python", "")).strip() or None,
        deck_slug=slug,
    )
    choices = re.findall(r"<li[^>]*>(.*?)</li>", fields.get("Choices", ""), flags=re.DOTALL)
    if choices:
        converted.type = "multiple_choice"
        texts = [_quizzer_text(choice) for choice in choices]
        converted.choices = _unshuffled(texts, note.guid)
        marked = re.search(
            r'<li class="correct">(.*?) <span class="mark">', fields.get("ChoicesMarked", ""),
            flags=re.DOTALL,
        )  # fmt: skip
        converted.answer = _quizzer_text(marked.group(1) if marked else answer_html)
    elif "quizzer-output" in answer_html or "no-output" in answer_html:
        converted.type = "predict_output"
        output = re.search(r'<pre class="quizzer-output">(.*?)</pre>', answer_html, re.DOTALL)
        text = _raw_text(output.group(1)) if output else ""
        converted.answer = text + "\n" if text else ""
    else:
        converted.answer = _quizzer_text(answer_html)
    return converted


def _quizzer_text(markup: str) -> str:
    """Text quizzer's export wrote (escaped, line breaks as ``<br>``), exactly: spaces kept."""
    return _raw_text(re.sub(r"<br\s*/?>", "\n", markup)).strip("\n")


def _unshuffled(shown: list[str], guid: str) -> list[str]:
    """The choices in the order of the deck file: the export shuffles them with a
    ``random.Random(guid)``, the same permutation every time, so it can be undone."""
    order = list(range(len(shown)))
    random.Random(guid).shuffle(order)
    original = [""] * len(shown)
    for position, index in enumerate(order):
        original[index] = shown[position]
    return original


def _quizzer_tags(anki_tags: tuple[str, ...], slug: str) -> list[str]:
    """quizzer's tags from an export's ``quizzer::<deck>::<tag>`` (the deck's own tag dropped)."""
    prefix = f"{QUIZZER_TAG_ROOT}::{slug}"
    tags = []
    for tag in anki_tags:
        if tag.lower() == prefix.lower():
            continue
        if tag.lower().startswith(prefix.lower() + "::"):
            tag = tag[len(prefix) + 2 :]
        cleaned = tag_of(tag)
        if cleaned:
            tags.append(cleaned)
    return list(dict.fromkeys(tags))
