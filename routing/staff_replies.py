"""Parser of staff SMS replies (OK, NON, FIN, INFO, PLACES and their synonyms); pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .text import fold_ascii


@dataclass(frozen=True, slots=True)
class Accept:
    """Staff accept the case `reference`."""

    reference: str


@dataclass(frozen=True, slots=True)
class Decline:
    """Staff decline the case `reference`, with the reason they gave if any."""

    reference: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """Staff close the case `reference` (help given, nothing more to do)."""

    reference: str


@dataclass(frozen=True, slots=True)
class Info:
    """Staff ask for details of the case `reference`."""

    reference: str


@dataclass(frozen=True, slots=True)
class Capacity:
    """Staff report how many beds are free now."""

    beds: int


@dataclass(frozen=True, slots=True)
class Help:
    """Staff ask how to reply."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """A reply that could not be read; the app answers with the short help text.

    `code` is one of: empty, unknown_command, missing_reference, missing_number, bad_number.
    """

    code: str
    detail: str


StaffReply = Accept | Decline | Close | Info | Capacity | Help | Unknown

# Synonyms in French, English and Bambara (awɔ / ayi are "yes" / "no"; "a banna" is "it
# is finished"). The Bambara words are to be reviewed by a native speaker.
_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(
        ["OK", "OKAY", "OUI", "YES", "Y", "ACCEPT", "ACCEPTE", "ACCEPTER", "ACCEPTED", "AWO", "AWA", "OWO"], "accept"
    ),
    **dict.fromkeys(["NON", "NO", "N", "DECLINE", "DECLINED", "REFUSE", "REFUS", "REFUSER", "AYI", "AYE"], "decline"),
    **dict.fromkeys(
        ["FIN", "CLOSE", "CLOSED", "DONE", "CLOS", "CLOTURE", "CLOTURER", "TERMINE", "BANNA", "ABANNA"], "close"
    ),
    **dict.fromkeys(["INFO", "INFOS", "DETAIL", "DETAILS", "KUNNAFONI"], "info"),
    **dict.fromkeys(["PLACES", "PLACE", "LITS", "LIT", "BEDS", "BED", "DILAN", "DILANW"], "capacity"),
    **dict.fromkeys(["AIDE", "HELP", "?", "DEME", "MENU"], "help"),
}
# Longest first, so that "NON..." is read as NON and not as NO + "N...".
_BY_LENGTH = sorted(_KEYWORDS, key=len, reverse=True)
_REFERENCE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,19}$")
_SEPARATORS = re.compile(r"[\s:;,.#/!]+")
_MAX_BEDS = 999


def default_is_reference(token: str) -> bool:
    """Return whether `token` looks like a case reference: 3-20 letters, digits or hyphens."""
    return bool(_REFERENCE.match(token))


def parse_staff_reply(text: str, *, is_reference: Callable[[str], bool] = default_is_reference) -> StaffReply:
    """Read a staff member's SMS reply.

    Takes the SMS text and, optionally, a predicate that tells whether a token is a known
    case reference (to read replies typed without a space, such as "OKK7F3Q", the right
    way). Returns Accept, Decline, Close, Info, Capacity, Help or Unknown (with a reason
    code). Case-insensitive; extra spaces and punctuation between words are ignored.
    Raises nothing.
    """
    folded = fold_ascii(text or "").upper().strip()
    if not folded:
        return Unknown("empty", "the message is empty")
    tokens = [t for t in _SEPARATORS.split(folded) if t]
    if not tokens:
        return Help() if "?" in folded else Unknown("empty", "the message has no words")
    first, rest = tokens[0], tokens[1:]
    command = _KEYWORDS.get(first)
    if command is None:
        command, first_argument = _split_glued(first, rest, is_reference)
        if command is None:
            return Unknown("unknown_command", f'"{tokens[0]}" is not a reply word')
        rest = [first_argument, *rest]
    if command == "help":
        return Help()
    if command == "capacity":
        return _capacity(rest)
    if not rest:
        return Unknown("missing_reference", "the case reference is missing")
    reference = rest[0]
    if not is_reference(reference):
        return Unknown("missing_reference", f'"{reference}" is not a case reference')
    if command == "accept":
        return Accept(reference)
    if command == "close":
        return Close(reference)
    if command == "info":
        return Info(reference)
    return Decline(reference, _reason_after(text, reference))


def _split_glued(token: str, rest: list[str], is_reference: Callable[[str], bool]) -> tuple[str | None, str]:
    """Split a reply word glued to its argument ("OKK7F3Q", "PLACES3")."""
    fallback: tuple[str | None, str] = (None, "")
    for word in _BY_LENGTH:
        if len(token) > len(word) and token.startswith(word):
            command, argument = _KEYWORDS[word], token[len(word) :]
            if command == "capacity" and argument.lstrip("-").isdigit():
                return command, argument
            if command in ("accept", "decline", "close", "info") and is_reference(argument):
                return command, argument
    return fallback


def _capacity(rest: list[str]) -> StaffReply:
    if not rest:
        return Unknown("missing_number", "the number of free beds is missing")
    raw = rest[0]
    if not re.fullmatch(r"\d+", raw):
        return Unknown("bad_number", f'"{raw}" is not a number of beds')
    beds = int(raw)
    if beds > _MAX_BEDS:
        return Unknown("bad_number", f"{beds} beds is more than any shelter has")
    return Capacity(beds)


def _reason_after(text: str, reference: str) -> str | None:
    """Return what staff wrote after the reference, in their own letters and case."""
    folded = fold_ascii(text).upper()
    position = folded.find(reference)
    if position < 0 or len(folded) != len(text):
        # Folding changed the length (rare letters); fall back to the folded words.
        tail = folded[position + len(reference) :] if position >= 0 else ""
    else:
        tail = text[position + len(reference) :]
    tail = tail.strip(" \t\r\n:;,.-")
    return tail or None
