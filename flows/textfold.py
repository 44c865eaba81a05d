"""Text folding: GSM-safe USSD text and the normal form used to compare answers."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from unidecode import unidecode

from flows.sms_text import is_gsm7

# Bambara letters have conventional ASCII spellings readers know; unidecode alone would turn
# ɲ into "n" and lose the difference between "ɲ" and "n".
_BAMBARA = str.maketrans({
    "ɛ": "e", "Ɛ": "E", "ɔ": "o", "Ɔ": "O", "ɲ": "ny", "Ɲ": "Ny", "ŋ": "ng", "Ŋ": "Ng",
    "’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"', "–": "-", "—": "-",
    "…": "...", "\u00a0": " ", "\u202f": " ",
})
# GSM extension characters cost two septets and some USSD gateways drop them.
_EXTENSION = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "\\": "/", "|": "/",
                            "^": "'", "~": "-", "€": "EUR", "`": "'"})
_PLAIN_GSM_ASCII = re.compile(r"[\n\r A-Za-z0-9@$_!\"#%&'()*+,\-./:;<=>?]*")


def _single_septet(ch: str) -> bool:
    return is_gsm7(ch) and len(ch.encode("gsm03.38")) == 1


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if _single_septet(ch):
        return ch
    folded = unidecode(ch).translate(_EXTENSION)
    return "".join(c for c in folded if _single_septet(c))


def ussd_safe(text: str) -> str:
    """Return `text` using only single-septet GSM 03.38 characters, readable on any handset.

    Bambara letters get their usual spellings (ɛ->e, ɔ->o, ɲ->ny, ŋ->ng), GSM extension
    characters get plain look-alikes, anything else is folded with unidecode (ê->e, ç->c)
    or dropped when it has no spelling. So len(result) is the screen's septet count.
    """
    if _PLAIN_GSM_ASCII.fullmatch(text):
        return text
    text = text.translate(_BAMBARA)
    return "".join(_fold_char(ch) for ch in text)


_PUNCT = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=16384)
def normalize_answer(text: str) -> str:
    """Return the comparison form of an answer: folded to ASCII, lower case, no punctuation.

    "ARRÊT", "arret" and "Arrêt !" all give "arret"; "dɛmɛ" gives "deme".
    """
    text = unicodedata.normalize("NFC", text).translate(_BAMBARA)
    text = unidecode(text).lower()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def loose_text(text: str) -> str:
    """Return `text` folded to ASCII and case-folded, punctuation kept (for comparisons).

    The USSD screen and the SMS of the same node compare equal in this form.
    """
    return unidecode(unicodedata.normalize("NFC", text).translate(_BAMBARA)).casefold()
