"""Staff SMS: the referral alert and the replies to staff, from the catalogue, GSM-7 when possible."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from .case import CaseProfile
from .catalogue import SMS_LANGUAGES, Catalogue, default_catalogue
from .text import fold_ascii

GSM_CODEC = "gsm03.38"
MAX_SEGMENTS = 2
_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_MULTI = {"GSM-7": 153, "UCS-2": 67}
_PLACE_LIMITS = (40, 24, 14)  # place names are cut step by step if an alert runs long


@dataclass(frozen=True, slots=True)
class RenderedSms:
    """An SMS ready to send: its text, encoding, length in septets/characters and segments."""

    text: str
    encoding: Literal["GSM-7", "UCS-2"]
    length: int
    segments: int


def measure_sms(text: str) -> RenderedSms:
    """Return `text` with its encoding (GSM-7 if the gsm0338 codec takes it) and segment count."""
    try:
        length = len(text.encode(GSM_CODEC))  # extension characters take two septets
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
    except UnicodeEncodeError:
        length = len(text.encode("utf-16-le")) // 2
        encoding = "UCS-2"
    single, multi = _SINGLE[encoding], _MULTI[encoding]
    segments = 1 if length <= single else math.ceil(length / multi)
    return RenderedSms(text, encoding, length, segments)


def fold_gsm(text: str) -> str:
    """Return `text` made GSM-7: accents and Bambara letters folded, other signs replaced by "?"."""
    folded = fold_ascii(text)
    out = []
    for char in folded:
        try:
            char.encode(GSM_CODEC)
            out.append(char)
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def render_alert(
    case: CaseProfile,
    *,
    place_name: str | None,
    language: str = "fr",
    caller_phone: str | None = None,
    catalogue: Catalogue | None = None,
) -> RenderedSms:
    """Render the referral alert for a provider's staff.

    Takes the case, the name of the caller's place (None when unknown), the staff's language
    (fr, bm or en) and the caller's number, which is included only when the case says the
    caller consented to be called back. Returns a GSM-7 SMS of at most two segments: place
    names and then needs are shortened if needed. Raises CatalogueError for an unknown
    language.
    """
    texts = catalogue or default_catalogue()
    if language not in SMS_LANGUAGES:
        language = "fr"
    risk = texts.label("risk", case.risk_level, language)
    if case.danger_now:
        risk = f"{risk}, {texts.label('danger_now', None, language)}"
    needs = [texts.label("need", n, language) for n in _ordered(case.needs)]
    callback = ""
    if case.consent_callback and caller_phone:
        callback = texts.sms("callback", language, phone=caller_phone)
    place = place_name or "?"
    needs_text = ", ".join(needs) if needs else texts.label("no_needs", None, language)
    for limit in (None, *_PLACE_LIMITS):
        shown = place if limit is None or len(place) <= limit else place[: limit - 1] + "."
        sms = _alert_text(texts, language, case, risk, shown, needs_text, callback)
        if sms.segments <= MAX_SEGMENTS:
            return sms
    # Still too long: keep the first needs and say how many more there are.
    for keep in range(len(needs) - 1, 0, -1):
        short = ", ".join(needs[:keep]) + f" +{len(needs) - keep}"
        sms = _alert_text(texts, language, case, risk, shown, short, callback)
        if sms.segments <= MAX_SEGMENTS:
            return sms
    return sms


def render_staff_message(
    key: str, *, language: str = "fr", catalogue: Catalogue | None = None, **params
) -> RenderedSms:
    """Render a reply to staff (help, accepted, declined, closed, capacity_updated, info,
    unknown_reference) in fr, bm or en, folded to GSM-7.

    Raises CatalogueError for an unknown key or language, or a missing placeholder value.
    """
    texts = catalogue or default_catalogue()
    return measure_sms(fold_gsm(texts.sms(key, language, **params)))


def _alert_text(texts, language, case, risk, place, needs, callback) -> RenderedSms:
    text = texts.sms(
        "alert",
        language,
        ref=case.reference,
        risk=risk,
        place=place,
        age=texts.label("age_band", case.age_band, language),
        sex=texts.label("sex", case.sex, language),
        needs=needs,
        callback=callback,
    )
    return measure_sms(fold_gsm(text))


_NEED_ORDER = ("shelter", "medical", "police", "protection", "psychosocial", "legal", "family_tracing", "return_home")


def _ordered(needs: Iterable[str]) -> list[str]:
    # A fixed order: the most urgent needs first, and the same text for the same case.
    wanted = set(needs)
    return [n for n in _NEED_ORDER if n in wanted]
