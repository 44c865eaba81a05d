"""Understanding callers' replies: option numbers and words (with typo tolerance), numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process

from flows.textfold import normalize_answer

FUZZY_CUTOFF = 80.0
FUZZY_MARGIN = 5.0
AMBIGUOUS = -1

_INTEGER = re.compile(r"-?\d+")
_NUMBER_LIST = re.compile(r"^\s*\d+(?:[\s,;.+/-]+\d+)*\s*$")
_WORD_LIST_SPLIT = re.compile(r"\s*(?:[,;+/]|\bet\b|\band\b|\bani\b)\s*")


class OptionMatcher:
    """Maps a normalised reply to an option index, per language then across languages.

    Built once per menu and language set from each option's words (label + synonyms).
    Exact words in the caller's language win, then exact words of any language, then a
    typo-tolerant match (rapidfuzz ratio >= 80 with a clear margin over other options).
    """

    __slots__ = ("_all_exact", "_all_keys", "_all_owners", "_exact", "_keys", "_owners")

    def __init__(self, words: Sequence[dict[str, Iterable[str]]]):
        """`words[i]` maps a language to the words that choose option i."""
        self._exact: dict[str, dict[str, int]] = {}
        self._all_exact: dict[str, int] = {}
        for index, by_lang in enumerate(words):
            for lang, items in by_lang.items():
                table = self._exact.setdefault(lang, {})
                for word in items:
                    key = normalize_answer(word)
                    if key:
                        _claim(table, key, index)
                        _claim(self._all_exact, key, index)
        self._keys = {lang: list(t) for lang, t in self._exact.items()}
        self._owners = {lang: list(t.values()) for lang, t in self._exact.items()}
        self._all_keys = list(self._all_exact)
        self._all_owners = list(self._all_exact.values())

    def match(self, key: str, lang: str) -> int | None:
        """Return the option index for normalised reply `key`, or None when unclear."""
        if not key:
            return None
        table = self._exact.get(lang)
        if table and key in table:
            found = table[key]
            return None if found == AMBIGUOUS else found
        if key in self._all_exact:
            found = self._all_exact[key]
            return None if found == AMBIGUOUS else found
        if len(key) < 3:
            return None
        if lang in self._keys:
            found = _fuzzy(key, self._keys[lang], self._owners[lang])
            if found is not None:
                return found
        return _fuzzy(key, self._all_keys, self._all_owners)


def _claim(table: dict[str, int], key: str, index: int) -> None:
    if table.get(key, index) != index:
        table[key] = AMBIGUOUS
    else:
        table[key] = index


def _fuzzy(key: str, keys: list[str], owners: list[int]) -> int | None:
    if not keys:
        return None
    hits = process.extract(key, keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=4)
    if not hits:
        return None
    best_owner = owners[hits[0][2]]
    if best_owner == AMBIGUOUS:
        return None
    for _, score, pos in hits[1:]:
        if owners[pos] != best_owner and score >= hits[0][1] - FUZZY_MARGIN:
            return None  # two options look alike: ask again rather than guess
    return best_owner


def parse_integer(text: str) -> int | None:
    """Return the one integer in a reply such as "25", "25 ans" or "san 25"; else None."""
    found = _INTEGER.findall(text)
    if len(found) != 1:
        return None
    return int(found[0])


def split_choices(raw: str) -> list[str] | None:
    """Split a multiple-choice reply ("1 3", "1,3", "abri et soins") into its parts.

    Returns None when the reply is empty.
    """
    if _NUMBER_LIST.match(raw):
        return re.findall(r"\d+", raw)
    parts = [p for p in _WORD_LIST_SPLIT.split(raw.strip()) if p.strip()]
    return parts or None
