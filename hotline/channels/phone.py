"""Phone numbers as E.164, read with `phonenumbers`, Mali (+223) when no country code is given."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "ML"


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number that can receive an SMS."""


# A USSD session sends the same number with every hop, and parsing is a visible share of a hop's CPU.
@lru_cache(maxsize=4096)
def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Normalise ``raw`` (``76 00 00 01``, ``0022376000001``, ``+223 76...``) to E.164.

    Raises InvalidPhoneNumber when it cannot be parsed or is not a possible number.
    """
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber("not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """A number with all but its last two digits hidden, for screens that must not show it whole."""
    return e164[:4] + "•" * max(0, len(e164) - 6) + e164[-2:]
