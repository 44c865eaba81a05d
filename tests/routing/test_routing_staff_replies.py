"""Tests of the staff SMS reply parser."""

from __future__ import annotations

import pytest

from routing.staff_replies import (
    Accept,
    Capacity,
    Close,
    Decline,
    Help,
    Info,
    Unknown,
    parse_staff_reply,
)


@pytest.mark.parametrize(
    "text",
    [
        "OK K7F3Q",
        "ok k7f3q",
        "  Ok    K7F3Q  ",
        "OKK7F3Q",
        "ok:K7F3Q",
        "OUI K7F3Q",
        "YES K7F3Q",
        "accept K7F3Q",
        "AWO K7F3Q",
        "awɔ k7f3q",
        "Okay K7F3Q",
    ],
)
def test_accept_and_synonyms(text):
    """OK and its French, English and Bambara synonyms accept, however spaced or cased."""
    assert parse_staff_reply(text) == Accept("K7F3Q")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NON K7F3Q", None),
        ("non k7f3q pas de place", "pas de place"),
        ("NONK7F3Q", None),
        ("NO K7F3Q full", "full"),
        ("DECLINE K7F3Q: no staff tonight", "no staff tonight"),
        ("AYI K7F3Q", None),
        ("refuse K7F3Q", None),
    ],
)
def test_decline_with_optional_reason(text, reason):
    """NON and its synonyms decline, keeping the reason in the staff's own words."""
    assert parse_staff_reply(text) == Decline("K7F3Q", reason)


@pytest.mark.parametrize("text", ["FIN K7F3Q", "close K7F3Q", "DONE K7F3Q", "banna K7F3Q", "FINK7F3Q"])
def test_close(text):
    """FIN and its synonyms close the case."""
    assert parse_staff_reply(text) == Close("K7F3Q")


@pytest.mark.parametrize("text", ["INFO K7F3Q", "details k7f3q", "INFOK7F3Q"])
def test_info(text):
    """INFO and its synonyms ask for details."""
    assert parse_staff_reply(text) == Info("K7F3Q")


@pytest.mark.parametrize(("text", "beds"), [("PLACES 3", 3), ("places3", 3), ("LITS 0", 0), ("beds: 12", 12)])
def test_capacity(text, beds):
    """PLACES <n> (or LITS, BEDS) reports the free beds."""
    assert parse_staff_reply(text) == Capacity(beds)


@pytest.mark.parametrize("text", ["AIDE", "help", "?", "Menu"])
def test_help(text):
    """Asking for help is recognised."""
    assert parse_staff_reply(text) == Help()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello there", "unknown_command"),
        ("OK", "missing_reference"),
        ("NON", "missing_reference"),
        ("OK ??", "missing_reference"),
        ("PLACES", "missing_number"),
        ("PLACES beaucoup", "bad_number"),
        ("PLACES -2", "bad_number"),
        ("PLACES 5000", "bad_number"),
    ],
)
def test_unknown_replies_carry_a_reason(text, code):
    """Unreadable replies give Unknown with a reason code, so the app sends the help text."""
    reply = parse_staff_reply(text)
    assert isinstance(reply, Unknown) and reply.code == code and reply.detail


def test_known_reference_predicate_resolves_glued_words():
    """With the app's list of references, a glued reply is split the right way."""
    known = {"N7F3"}
    assert parse_staff_reply("NON7F3") == Decline("7F3")
    assert parse_staff_reply("NON7F3", is_reference=lambda t: t in known) == Decline("N7F3")
    assert isinstance(parse_staff_reply("OKX9", is_reference=lambda t: t in known), Unknown)
    assert parse_staff_reply("NN7F3", is_reference=lambda t: t in known) == Decline("N7F3")
    assert parse_staff_reply("NONN7F3", is_reference=lambda t: t in known) == Decline("N7F3")
