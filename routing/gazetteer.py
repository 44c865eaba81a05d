"""Gazetteer of Mali: regions, cercles, Bamako communes and quarters, towns and sites, matched from free text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

from .errors import GazetteerError
from .text import normalise

PlaceKind = Literal["region", "cercle", "commune", "quarter", "town", "site"]
PLACE_KINDS: tuple[str, ...] = ("region", "cercle", "commune", "quarter", "town", "site")
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PLACES_FILE = DATA_DIR / "places.csv"

# Longer names tolerate more edits; short ones must match exactly or nearly so, or "San"
# and "Bla" would match half the country.
_MIN_FUZZY_LENGTH = 4
_AMBIGUITY_MARGIN = 3.0  # fuzzy scores this close to the best are equally plausible
_MAX_WINDOW = 4  # longest run of words tried as a place name inside a sentence


@dataclass(frozen=True, slots=True)
class Place:
    """One named place of Mali with its position and the region (2023 reform) it lies in."""

    code: str
    kind: str
    name: str
    region_code: str
    region_name: str
    latitude: float
    longitude: float
    parent_code: str | None = None
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    approx: bool = False


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """The answer to a free-text place: one place, several to choose from, or none.

    `status` is "exact" (one place: `places[0]`), "ambiguous" (ask the caller to choose among
    `places`) or "unknown" (no place; fall back to the menus). `fuzzy` tells whether typo
    tolerance was needed, and `score` is the similarity (100 for an exact name).
    """

    status: Literal["exact", "ambiguous", "unknown"]
    places: list[Place] = field(default_factory=list)
    fuzzy: bool = False
    score: float = 0.0

    @property
    def place(self) -> Place | None:
        """Return the single matched place, or None unless the status is exact."""
        return self.places[0] if self.status == "exact" else None


_KIND_RANK = {kind: rank for rank, kind in enumerate(PLACE_KINDS)}


class Gazetteer:
    """Places of Mali indexed once for menus and free-text matching.

    Build it with `load_gazetteer()` (the shipped places.csv) or from `Place` objects.
    """

    def __init__(self, places: Iterable[Place]):
        self._places: dict[str, Place] = {}
        self._keys: dict[str, set[str]] = {}
        for place in places:
            if place.code in self._places:
                raise GazetteerError(f"place code {place.code!r} appears twice")
            if place.kind not in _KIND_RANK:
                raise GazetteerError(f"place {place.code!r} has unknown kind {place.kind!r}")
            self._places[place.code] = place
            for name in (place.name, *place.aliases):
                key = normalise(name)
                if key:
                    self._keys.setdefault(key, set()).add(place.code)
        self._key_list = list(self._keys)
        regions = [p for p in self._places.values() if p.kind == "region"]
        # Most callers are in Bamako, so the district leads the menu; the rest keep the
        # official order of the regions, as in the data file.
        self._regions = sorted(regions, key=lambda p: 0 if "district" in p.tags else 1)
        self._children: dict[str, list[Place]] = {}
        for region in regions:
            children = [
                p for p in self._places.values() if p.region_code == region.code and p.kind in ("cercle", "commune")
            ]
            capital_key = normalise(region.name)

            def menu_key(place: Place, capital_key: str = capital_key) -> tuple[int, str]:
                # The regional capital first, then alphabetical: what a caller expects.
                return (0 if normalise(place.name).startswith(capital_key) else 1, normalise(place.name))

            self._children[region.code] = sorted(children, key=menu_key)

    def __len__(self) -> int:
        return len(self._places)

    def __iter__(self):
        return iter(self._places.values())

    def regions(self) -> list[Place]:
        """Return the regions for a menu: the Bamako district first, then the official order."""
        return list(self._regions)

    def cercles(self, region_code: str) -> list[Place]:
        """Return the cercles of a region (communes for Bamako), its capital first.

        Returns [] for a code that is not a region, as the flow engine's PlaceDirectory
        protocol expects. Raises nothing.
        """
        return list(self._children.get(region_code, ()))

    def get(self, code: str) -> Place:
        """Return the place with this code; raises GazetteerError when there is none."""
        try:
            return self._places[code]
        except KeyError:
            raise GazetteerError(f"unknown place code {code!r}") from None

    def match(self, text: str) -> PlaceMatch:
        """Match a caller's free text to places, accent- and case-insensitively, with typos.

        Takes what the caller typed (a name alone or inside a short sentence); returns a
        PlaceMatch. Raises nothing.
        """
        query = normalise(text)
        if not query:
            return PlaceMatch("unknown")
        codes = self._keys.get(query)
        if codes:
            return self._resolve(codes, fuzzy=False, score=100.0)
        words = query.split()
        for size in range(min(len(words), _MAX_WINDOW), 0, -1):
            found: set[str] = set()
            for start in range(len(words) - size + 1):
                found |= self._keys.get(" ".join(words[start : start + size]), set())
            if found:
                return self._resolve(found, fuzzy=False, score=100.0)
        best = self._fuzzy(query)
        if best is None and len(words) > 1:
            for word in words:
                best = self._fuzzy(word)
                if best is not None:
                    break
        if best is None:
            return PlaceMatch("unknown")
        codes, score = best
        return self._resolve(codes, fuzzy=True, score=score)

    def _fuzzy(self, query: str) -> tuple[set[str], float] | None:
        if len(query) < _MIN_FUZZY_LENGTH:
            return None
        cutoff = 75.0 if len(query) <= 5 else 80.0
        hits = process.extract(query, self._key_list, scorer=fuzz.ratio, score_cutoff=cutoff, limit=10)
        if not hits:
            return None
        top = hits[0][1]
        codes: set[str] = set()
        for key, score, _ in hits:
            if score >= top - _AMBIGUITY_MARGIN:
                codes |= self._keys[key]
        return codes, float(top)

    def _resolve(self, codes: set[str], *, fuzzy: bool, score: float) -> PlaceMatch:
        places = [self._places[c] for c in codes]
        # "Gao" names both the region and its capital: the capital is the more precise answer
        # and still carries the region, so a region yields to any place inside it.
        inner_regions = {p.region_code for p in places if p.kind != "region"}
        places = [p for p in places if not (p.kind == "region" and p.code in inner_regions)]
        places.sort(key=lambda p: (_KIND_RANK[p.kind], normalise(p.name), p.code))
        status = "exact" if len(places) == 1 else "ambiguous"
        return PlaceMatch(status, places, fuzzy=fuzzy, score=score)


def parse_places_csv(text: str) -> list[Place]:
    """Parse the places.csv format (see docs/routing.md) into Place objects.

    Raises GazetteerError naming the line of the first malformed row.
    """
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    region_names = {r["code"]: r["name"] for r in rows if r.get("kind") == "region"}
    places: list[Place] = []
    for line, row in enumerate(rows, start=2):
        try:
            places.append(
                Place(
                    code=row["code"],
                    kind=row["kind"],
                    name=row["name"],
                    region_code=row["region_code"],
                    region_name=region_names[row["region_code"]],
                    latitude=float(row["latitude"]),
                    longitude=float(row["longitude"]),
                    parent_code=row["parent_code"] or None,
                    aliases=tuple(a for a in row["aliases"].split("|") if a),
                    tags=tuple(t for t in row["tags"].split("|") if t),
                    approx=row["approx"] == "yes",
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GazetteerError(f"places.csv:{line}: malformed row ({exc})") from None
    return places


def load_gazetteer(path: str | Path | None = None) -> Gazetteer:
    """Load a gazetteer from a places CSV file (default: the shipped routing/data/places.csv).

    Raises GazetteerError on a malformed file and OSError when it cannot be read.
    """
    source = Path(path) if path is not None else DEFAULT_PLACES_FILE
    return Gazetteer(parse_places_csv(source.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """Return the shipped gazetteer, loaded on first call and shared afterwards."""
    return load_gazetteer()
