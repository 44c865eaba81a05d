"""Text folding shared by place matching, staff replies and alerts."""

from __future__ import annotations

import re

from unidecode import unidecode

# unidecode turns ɲ into a bare "n"; Bambara writers use "ny" in ASCII, so map these first.
_BAMBARA_ASCII = str.maketrans({"ɲ": "ny", "Ɲ": "Ny", "ŋ": "ng", "Ŋ": "Ng", "ɛ": "e", "Ɛ": "E", "ɔ": "o", "Ɔ": "O"})
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold_ascii(text: str) -> str:
    """Return `text` with accents and Bambara letters folded to plain ASCII (case kept)."""
    return unidecode(text.translate(_BAMBARA_ASCII))


def normalise(text: str) -> str:
    """Return a matching key: ASCII-folded, lower case, words separated by single spaces.

    Takes any string; returns "" for text with no letters or digits. Raises nothing.
    """
    return _NON_WORD.sub(" ", fold_ascii(text).lower()).strip()


def slug(text: str) -> str:
    """Return a lower-case identifier made of ASCII letters, digits and hyphens."""
    return normalise(text).replace(" ", "-")
