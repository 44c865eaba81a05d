"""SMS encoding (GSM-7 or UCS-2) and segment counts of an outgoing text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsEncoding:
    """How an SMS text travels: `encoding`, `segments` billed, and `length` in units.

    `length` counts septets for GSM-7 (an extension character such as '€' or '[' is two)
    and UTF-16 code units for UCS-2.
    """

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    length: int


def sms_encoding(text: str) -> SmsEncoding:
    """Return the encoding, segment count and length of `text` sent as one SMS.

    GSM-7 is used when the `gsm0338` codec can encode every character, else UCS-2. Segments
    follow the concatenation limits (160/153 septets, 70/67 UCS-2 units), never splitting an
    escape sequence or a surrogate pair. An empty text is one segment. Raises nothing.
    """
    try:
        septets = len(text.encode("gsm03.38"))  # an escaped character encodes to 2 bytes
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        if units <= UCS2_SINGLE:
            return SmsEncoding("UCS-2", 1, units)
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        return SmsEncoding("UCS-2", _segments(sizes, UCS2_SINGLE, UCS2_PART), units)
    if septets <= GSM7_SINGLE:
        return SmsEncoding("GSM-7", 1, septets)
    sizes = [len(ch.encode("gsm03.38")) for ch in text]
    return SmsEncoding("GSM-7", _segments(sizes, GSM7_SINGLE, GSM7_PART), septets)


def is_gsm7(text: str) -> bool:
    """Return True when every character of `text` exists in the GSM 03.38 alphabet."""
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def _segments(sizes: list[int], single: int, part: int) -> int:
    total = sum(sizes)
    if total <= single:
        return 1
    # A multi-part message is filled greedily; a character that would straddle two parts
    # (an escaped GSM character, a surrogate pair) moves whole to the next part.
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count += 1
            used = 0
        used += size
    return count
