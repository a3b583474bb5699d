"""The Anki cards' script (quizzer/anki_card.js) on the real rendered cards: real Anki renders
each side, headless Chromium runs it. Skipped, saying why, where Chromium is missing.

The front and the back are two pages of one origin, as AnkiDroid shows them: what the front
leaves in sessionStorage is what the back reads.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from anki.collection import Collection
from helpers import Invoke, anki_import

from quizzer.anki import ExportQuestion, export_apkg
from quizzer.answers import answer_matches
from quizzer.db import resource_dir

if TYPE_CHECKING:
    from anki.cards import Card
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ORIGIN = "http://card.test"
T0 = datetime(2026, 12, 10, 12, tzinfo=UTC)

MULTI = ExportQuestion(
    deck_slug="js",
    deck_title="Script",
    qid="two-lines",
    type="predict_output",
    prompt="What prints?",
    code="print(1)\nprint('  two')\n",
    answer="1\n  two\n",
    choices=None,
    explanation=None,
    tags=(),
    changed_at=T0,
)
RAISES = ExportQuestion(
    deck_slug="js",
    deck_title="Script",
    qid="missing-key",
    type="predict_output",
    prompt="What prints?",
    code='print("start")\n{}["k"]\n',
    answer="start\nKeyError: 'k'\n",
    choices=None,
    explanation=None,
    tags=(),
    changed_at=T0,
)
ONE_LINE = ExportQuestion(
    deck_slug="js",
    deck_title="Script",
    qid="one-line",
    type="predict_output",
    prompt="What prints?",
    code="print(1 / 0)\n",
    answer="ZeroDivisionError: division by zero\n",
    choices=None,
    explanation=None,
    tags=(),
    changed_at=T0,
)
CHOICE = ExportQuestion(
    deck_slug="js",
    deck_title="Script",
    qid="threads",
    type="multiple_choice",
    prompt="Which gets faster with threads under the GIL?",
    code=None,
    answer="Downloading pages",
    choices=("Downloading pages", "Hashing strings", "Sorting ints", "Parsing JSON"),
    explanation=None,
    tags=(),
    changed_at=T0,
)


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"!! no Chromium at {CHROMIUM}: the card-script tests did not run "
            "(apt-get install chromium; .ci/run installs it)"
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def anki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    tmp = tmp_path_factory.mktemp("cards")
    export_apkg([MULTI, RAISES, ONE_LINE, CHOICE], tmp / "cards.apkg")
    collection = Collection(str(tmp / "c.anki2"))
    _import(collection, tmp / "cards.apkg")
    yield collection
    collection.close()


def _import(col: Collection, package: Path) -> None:
    anki_import(col, package)


def _card(col: Collection, question: ExportQuestion) -> Card:
    (card_id,) = col.find_cards(f'"QuizzerId:{question.deck_slug}/{question.qid}"')
    return col.get_card(card_id)


def _page(html_body: str) -> str:
    # What every client wraps a side in: a body of class "card".
    head = '<!doctype html><html><head><meta charset="utf-8"></head>'
    return f'{head}<body class="card">{html_body}</body></html>'


def _sides(card: Card) -> tuple[str, str]:
    """The front and back as the desktop's reviewer shows them: Anki's own rendering, with
    the type-in marker replaced by the box (front) and the comparison (back) it stands for."""
    front = card.question().replace("[[type:TypeAnswer]]", '<input type="text" id="typeans">')
    back = card.answer().replace("[[type:TypeAnswer]]", '<code id="typeans">…</code>')
    return _page(front), _page(back)


Errors = list[str]


@pytest.fixture
def open_card(
    browser: Browser,
) -> Iterator[Callable[[Card], tuple[Page, Callable[[], None], Errors]]]:
    """Show a card's front; the returned function turns it over (the back, same origin)."""
    contexts = []

    def show(
        card: Card, *, width: int = 420, javascript: bool = True
    ) -> tuple[Page, Callable[[], None], Errors]:
        front, back = _sides(card)
        context = browser.new_context(
            viewport={"width": width, "height": 800}, java_script_enabled=javascript
        )
        contexts.append(context)
        context.route(
            f"{ORIGIN}/**",
            lambda route: route.fulfill(
                content_type="text/html; charset=utf-8",
                body=back if route.request.url.endswith("/back") else front,
            ),
        )
        page = context.new_page()
        errors: Errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{ORIGIN}/front")

        def turn() -> None:
            page.goto(f"{ORIGIN}/back")

        return page, turn, errors

    yield show
    for context in contexts:
        context.close()


OpenCard = Callable[..., tuple["Page", Callable[[], None], Errors]]


def _type_and_turn(open_card: OpenCard, card: Card, typed: str) -> Page:
    page, turn, errors = open_card(card)
    area = page.locator("textarea.quizzer-typed")
    assert area.is_visible()
    area.fill(typed)
    turn()
    assert errors == []
    return page


def _verdict(page: Page) -> str:
    verdict = page.locator(".verdict")
    assert verdict.count() == 1
    return str(verdict.get_attribute("class")).split()[-1]


def test_a_right_multi_line_answer(anki: Collection, open_card: OpenCard) -> None:
    # Trailing spaces and blank lines do not count; leading spaces do.
    page = _type_and_turn(open_card, _card(anki, MULTI), "1   \n  two\n\n")
    assert _verdict(page) == "right"
    assert page.locator("textarea.quizzer-typed").input_value() == "1   \n  two\n\n"
    assert page.locator("pre.quizzer-output").inner_text() == "1\n  two"


def test_a_wrong_multi_line_answer(anki: Collection, open_card: OpenCard) -> None:
    page = _type_and_turn(open_card, _card(anki, MULTI), "1\ntwo")
    assert _verdict(page) == "wrong"


def test_an_exception_given_by_its_type(anki: Collection, open_card: OpenCard) -> None:
    assert _verdict(_type_and_turn(open_card, _card(anki, RAISES), "start\nKeyError")) == "right"
    page = _type_and_turn(open_card, _card(anki, RAISES), "start\nKeyError: k")
    assert _verdict(page) == "wrong"  # a message, if given, must be Python's


def test_one_line_answers_use_the_same_box(anki: Collection, open_card: OpenCard) -> None:
    page, turn, errors = open_card(_card(anki, ONE_LINE))
    # Anki's own one-line box (no exception rule) gives way to the script's.
    assert not page.locator("#typeans").is_visible()
    page.locator("textarea.quizzer-typed").fill("ZeroDivisionError")
    turn()
    assert _verdict(page) == "right" and errors == []
    assert not page.locator("#typeans").is_visible()


def test_nothing_typed_is_self_graded_as_before(anki: Collection, open_card: OpenCard) -> None:
    page, turn, errors = open_card(_card(anki, MULTI))
    turn()
    assert page.locator(".verdict").count() == 0 and errors == []


def _order(page: Page) -> list[str]:
    return [str(li.get_attribute("data-choice")) for li in page.locator("ol.choices li").all()]


def test_a_tapped_choice(anki: Collection, open_card: OpenCard) -> None:
    card = _card(anki, CHOICE)
    for tapped, verdict in ((CHOICE.answer, "right"), ("Sorting ints", "wrong")):
        page, turn, errors = open_card(card)
        order = _order(page)
        page.locator("ol.choices li", has_text=tapped).click()
        assert page.locator("li.chosen").inner_text() == tapped
        turn()
        assert errors == []
        assert _order(page) == order  # the back lists the choices as the front did
        assert _verdict(page) == verdict
        assert page.locator("li.chosen").inner_text().startswith(tapped)
        assert page.locator("li.correct").inner_text().startswith(CHOICE.answer)


def test_choices_are_shuffled_at_every_showing(anki: Collection, open_card: OpenCard) -> None:
    card = _card(anki, CHOICE)
    page, _, _ = open_card(card)
    orders = {tuple(_order(page))}
    for _ in range(15):  # 16 showings at most; two orders suffice
        if len(orders) > 1:
            break
        page.reload()
        orders.add(tuple(_order(page)))
    assert len(orders) > 1


def test_without_javascript_the_card_is_as_before(anki: Collection, open_card: OpenCard) -> None:
    page, _, _ = open_card(_card(anki, CHOICE), javascript=False)
    assert _order(page) == ["0", "1", "2", "3"]  # the export's fixed order, nothing to tap
    assert page.locator("ol.choices.tap").count() == 0
    page, _, _ = open_card(_card(anki, ONE_LINE), javascript=False)
    assert not page.locator("textarea.quizzer-typed").is_visible()
    assert page.locator("#typeans").is_visible()  # Anki's own one-line box


@pytest.fixture(scope="module")
def matcher(browser: Browser, anki: Collection) -> Iterator[Page]:
    """A card's front, loaded once: the script's comparison is a pure function of its two
    arguments, so each case below calls it on the same page."""
    page = browser.new_page()
    front, _ = _sides(_card(anki, MULTI))
    page.set_content(front)
    yield page
    page.close()


@pytest.mark.parametrize(
    ("expected", "typed"),
    [
        ("a\nb\n", "a  \nb"),
        ("a\nb", "a\nB"),
        ("a\n\nb", "a\nb"),
        ("\ta", "    a"),
        ("x\r\ny", "x\ny"),
        ("start\nKeyError: 'k'", "start\nKeyError"),
        ("start\nKeyError: 'k'", "KeyError"),
        ("start\nmod.MyError: boom", "start\nmod.MyError"),
        ("start\nmod.MyError: boom", "start\nMyError"),
        ("Traceback\nValueError", "Traceback\nValueError"),
        ("done: 3", "done"),
        ("KeyboardInterrupt", "KeyboardInterrupt"),
        ("StopIteration: 1", "StopIteration"),
        ("ÜberError: x", "ÜberError"),
        ("", ""),
        ("a", ""),
    ],
)
def test_the_script_compares_as_review_does(matcher: Page, expected: str, typed: str) -> None:
    result = matcher.evaluate("([e, t]) => window.quizzerAnswers.matches(e, t)", [expected, typed])
    assert result is answer_matches(expected, typed)


# ------------------------------------------------------------------ every bundled card


def _errors_in(rendered: str) -> list[str]:
    # What Anki renders in place of a card it cannot render ("Front template has a
    # problem: ... no field called ...", a blank front), and any field left unfilled.
    markers = ("template has a problem", "templates/errors", "no field called", "is blank", "{{")
    text = re.sub(r"<script>.*?</script>|<style>.*?</style>", "", rendered, flags=re.DOTALL)
    return [marker for marker in markers if marker in html.unescape(text)]


_CUT = """
document.documentElement.scrollWidth > window.innerWidth
|| Array.from(document.querySelectorAll("pre")).some(p => p.scrollWidth > p.clientWidth + 1)
"""


#: By default every SAMPLE-th bundled card (and the widest) is shown in the browser; all of
#: them under -m stress. Anki renders every one either way.
SAMPLE = 8


def _widest(card: Any) -> int:
    return max(len(line) for field in card.note().fields for line in field.split("\n"))


@pytest.mark.parametrize(
    "every",
    [pytest.param(False, id="sample"), pytest.param(True, id="all", marks=pytest.mark.stress)],
)
def test_every_bundled_card_renders_and_runs(
    invoke: Invoke, browser: Browser, tmp_path: Path, every: bool
) -> None:
    assert invoke("import", str(resource_dir("decks"))).exit_code == 0
    package = tmp_path / "bundled.apkg"
    assert invoke("export", "-o", str(package)).exit_code == 0
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        _import(col, package)
        cards = [col.get_card(card_id) for card_id in col.find_cards("")]
        assert len(cards) > 150
        context = browser.new_context(viewport={"width": 420, "height": 800})
        sides: dict[str, str] = {}
        context.route(
            f"{ORIGIN}/**",
            lambda route: route.fulfill(
                content_type="text/html; charset=utf-8", body=sides[route.request.url]
            ),
        )
        page = context.new_page()
        errors: Errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        overflowing = []
        shown = {card.id for card in cards[::SAMPLE]} | {max(cards, key=_widest).id}
        for card in cards:
            name = card.note()["QuizzerId"]
            front, back = _sides(card)
            assert _errors_in(front) == [] and _errors_in(back) == [], name
            if not every and card.id not in shown:
                continue
            for side, body in (("front", front), ("back", back)):
                sides[f"{ORIGIN}/{side}"] = body
                page.goto(f"{ORIGIN}/{side}")
                # At a phone's width no line of code or output is cut (or scrolls): it wraps.
                if page.evaluate(_CUT):
                    overflowing.append(f"{name} ({side})")
            assert errors == [], name
        assert overflowing == []
        context.close()
    finally:
        col.close()


# As the desktop and AnkiMobile show a card: one page, the back's HTML put in place of the
# front's and its scripts run again; the window, not sessionStorage, carries the state.
_SHOW_BACK = """
(body) => {
  sessionStorage.clear();
  const holder = document.body;
  holder.innerHTML = body;
  for (const old of Array.from(holder.querySelectorAll("script"))) {
    const fresh = document.createElement("script");
    fresh.textContent = old.textContent;
    old.replaceWith(fresh);
  }
}
"""


def _body_of(page_html: str) -> str:
    return page_html.split('<body class="card">', 1)[1].rsplit("</body>", 1)[0]


def test_the_desktop_way_front_to_back(anki: Collection, open_card: OpenCard) -> None:
    card = _card(anki, RAISES)
    page, _, errors = open_card(card)
    page.locator("textarea.quizzer-typed").fill("start\nKeyError")
    page.evaluate(_SHOW_BACK, _body_of(_sides(card)[1]))
    assert _verdict(page) == "right" and errors == []

    card = _card(anki, CHOICE)
    page, _, errors = open_card(card)
    page.evaluate("() => { window.asked = []; window.pycmd = (c) => { window.asked.push(c); }; }")
    order = _order(page)
    page.locator("ol.choices li", has_text=CHOICE.answer).click()
    assert page.evaluate("window.asked") == ["ans"]  # a tap shows the answer
    page.evaluate(_SHOW_BACK, _body_of(_sides(card)[1]))
    assert _order(page) == order and _verdict(page) == "right" and errors == []
