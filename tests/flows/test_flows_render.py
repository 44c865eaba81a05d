"""Tests of channel rendering: USSD limits and pagination, SMS lists, shipped screens."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows import preview_nodes
from flows.render import Screen, render_sms, render_sms_page, render_ussd
from flows.sms_text import is_gsm7, sms_encoding

LABEL = st.text(min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=300), labels=st.lists(LABEL, max_size=20),
       notice=st.text(max_size=80), back=st.booleans(), page=st.integers(0, 10))
def test_every_ussd_screen_fits_and_is_gsm(body, labels, notice, back, page):
    """Any body, options and notice render to at most 182 GSM single-septet characters."""
    screen = Screen(body, tuple(labels), menu=bool(labels))
    text, pages = render_ussd(screen, page=page, show_back=back, notice=notice,
                              more="Suite", back="Retour", limit=182)
    assert len(text) <= 182 and is_gsm7(text)
    assert pages >= 1


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.text(min_size=1, max_size=25), min_size=1, max_size=40))
def test_pagination_shows_every_option_exactly_once(labels):
    """Walking the pages shows each option number once, in order."""
    screen = Screen("Question ?", tuple(labels), menu=True)
    _, pages = render_ussd(screen, page=0, show_back=True, notice="", more="More",
                           back="Back", limit=182)
    numbers = []
    for page in range(pages):
        text, _ = render_ussd(screen, page=page, show_back=True, notice="", more="More",
                              back="Back", limit=182)
        numbers += [int(line.split(".")[0]) for line in text.split("\n")
                    if line.split(".")[0].isdigit() and line.split(".")[0] not in ("98", "0")]
    assert numbers == list(range(1, len(labels) + 1))


def test_more_and_back_lines_appear_where_expected():
    """Page 0 has 98 and no back without history; later pages have 0 back."""
    screen = Screen("Q", tuple(f"Option number {i}" for i in range(1, 16)), menu=True)
    first, pages = render_ussd(screen, page=0, show_back=False, notice="", more="Suite",
                               back="Retour", limit=182)
    assert pages == 2 and "98. Suite" in first and "0. Retour" not in first
    last, _ = render_ussd(screen, page=1, show_back=False, notice="", more="Suite",
                          back="Retour", limit=182)
    assert "98. Suite" not in last and last.endswith("0. Retour")


def test_sms_menu_lists_every_option_and_keeps_unicode():
    """SMS shows all options numbered, Bambara letters kept (unless folding is asked)."""
    screen = Screen("Mun bɛ i mago la?", tuple(f"Fɛn {i}" for i in range(1, 13)), menu=True)
    text = render_sms(screen, notice="", fold=False)
    assert text.count("\n") == 12 and "12. Fɛn 12" in text
    assert "Fen 12" in render_sms(screen, notice="", fold=True)


def test_every_shipped_ussd_screen_fits_in_every_language(screening, witness):
    """Each screen of both shipped flows, in fr, bm and en, is at most 182 characters."""
    for flow in (screening, witness):
        previews = preview_nodes(flow, channels=("ussd",))
        assert {p.lang for p in previews} == {"fr", "bm", "en"}
        assert all(p.chars <= 182 and is_gsm7(p.text) for p in previews)
        assert {p.node for p in previews} >= {"language", "where", "closing", "needs"}


def test_preview_reports_sms_encoding_and_segments(screening):
    """The editor preview gives each SMS its encoding and segment count."""
    previews = preview_nodes(screening, channels=("sms",), languages=["bm"])
    intro = next(p for p in previews if p.node == "intro")
    assert intro.encoding == "UCS-2" and intro.segments == 2
    assert intro.to_dict()["chars"] == intro.chars
    assert all(p.segments <= screening.settings.sms_segment_budget for p in previews)


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=40),
       budget=st.integers(1, 3))
def test_sms_pages_show_every_option_once_within_the_budget(labels, budget):
    """A long SMS menu is split into pages within the budget, each option shown once."""
    labels = [label.replace("\n", " ") for label in labels]
    screen = Screen("Choisissez :", tuple(labels), menu=True)
    _, pages = render_sms_page(screen, page=0, notice="", fold=False, budget=budget,
                               more="Suite")
    shown = []
    for page in range(pages):
        text, _ = render_sms_page(screen, page=page, notice="", fold=False, budget=budget,
                                  more="Suite")
        options = [line for line in text.split("\n") if not line.startswith("98. ")]
        if page == 0:
            options = options[1:]
        shown += options
        if pages > 1 and len(options) > 1:
            assert sms_encoding(text).segments <= budget
        assert text.endswith("98. Suite") == (page < pages - 1)
    assert shown == [f"{i}. {label}" for i, label in enumerate(labels, 1)]


def test_an_sms_menu_within_the_budget_is_one_message(screening):
    """A menu that fits the budget is sent whole, exactly as before."""
    screen = Screen("Question ?", ("Oui", "Non"), menu=True)
    assert render_sms_page(screen, page=0, notice="", fold=False, budget=1,
                           more="Suite") == (render_sms(screen, notice="", fold=False), 1)
