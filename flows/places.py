"""Places: the directory interface the location node asks, and a small static directory.

The real gazetteer (routing/gazetteer.py) implements `PlaceDirectory` structurally; this
module must not import it. `StaticPlaceDirectory` serves tests, linting and the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from rapidfuzz import fuzz, process

from flows.errors import FlowError, FlowProblem
from flows.source import read_yaml
from flows.textfold import normalize_answer

MatchStatus = Literal["exact", "ambiguous", "unknown"]


@runtime_checkable
class PlaceLike(Protocol):
    """What the engine reads from a place (the gazetteer's own class may differ)."""

    code: str
    name: str
    region_code: str
    region_name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Place:
    """A region, cercle or commune: a code, a display name, its region and its position."""

    code: str
    name: str
    region_code: str
    region_name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class PlaceMatch:
    """The outcome of matching free text: exact (one place), ambiguous (several), unknown."""

    status: MatchStatus
    places: list[Any] = field(default_factory=list)


@runtime_checkable
class PlaceDirectory(Protocol):
    """The places the location node offers and matches (implemented by routing's gazetteer)."""

    def regions(self) -> list[Any]:
        """Return the regions (Place-like objects) in the order menus show them."""
        ...

    def cercles(self, region_code: str) -> list[Any]:
        """Return the cercles (or communes) of one region in menu order; [] if unknown."""
        ...

    def match(self, text: str) -> PlaceMatch:
        """Match a caller's free text (any spelling) to places."""
        ...


def place_to_dict(place: Any) -> dict[str, Any]:
    """Return the JSON-ready dict of any Place-like object (the form kept in session state)."""
    return {
        "code": str(place.code), "name": str(place.name),
        "region_code": str(place.region_code), "region_name": str(place.region_name),
        "latitude": float(place.latitude), "longitude": float(place.longitude),
    }


# Words callers put around a place name ("je suis à Kati", "n bɛ Kati", "cercle de Kita").
_FILLER = frozenset({
    "a", "au", "aux", "je", "suis", "de", "du", "des", "la", "le", "les", "l", "d", "en",
    "cercle", "region", "commune", "ville", "village", "quartier", "pres", "vers", "dans",
    "i", "am", "in", "at", "near", "the", "n", "be", "bi", "kono", "ye",
})
_FUZZY_CUTOFF = 80.0
_FUZZY_SPREAD = 6.0


class StaticPlaceDirectory:
    """A `PlaceDirectory` built from a list of regions, each with its cercles and aliases."""

    def __init__(self, regions: Iterable[Mapping[str, Any]]):
        """Build from mappings {code, name, latitude, longitude, aliases?, cercles: [...]}.

        Each cercle is {code, name, latitude, longitude, aliases?}. Raises ValueError on a
        duplicate code or a missing field.
        """
        self._regions: list[Place] = []
        self._cercles: dict[str, list[Place]] = {}
        self._by_code: dict[str, Place] = {}
        self._names: dict[str, list[Place]] = {}
        for reg in regions:
            region = Place(str(reg["code"]), str(reg["name"]), str(reg["code"]),
                           str(reg["name"]), float(reg["latitude"]), float(reg["longitude"]))
            self._add(region, reg.get("aliases") or [])
            self._regions.append(region)
            self._cercles[region.code] = []
            for cer in reg.get("cercles") or []:
                cercle = Place(str(cer["code"]), str(cer["name"]), region.code, region.name,
                               float(cer["latitude"]), float(cer["longitude"]))
                self._add(cercle, cer.get("aliases") or [])
                self._cercles[region.code].append(cercle)
        self._keys = list(self._names)

    def _add(self, place: Place, aliases: Iterable[str]) -> None:
        if place.code in self._by_code:
            raise ValueError(f"place code {place.code!r} is used twice")
        self._by_code[place.code] = place
        for name in (place.name, *aliases):
            bucket = self._names.setdefault(normalize_answer(str(name)), [])
            if place not in bucket:
                bucket.append(place)

    @classmethod
    def from_yaml_text(cls, text: str, path: str = "<places>") -> StaticPlaceDirectory:
        """Build from YAML text with a top-level `regions:` list; raises FlowError if invalid."""
        data = read_yaml(text, path)
        regions = data.get("regions") if isinstance(data, dict) else None
        if not isinstance(regions, list):
            raise FlowError([FlowProblem(path, 1, "error",
                                         "A places file needs a 'regions:' list.")])
        try:
            return cls(regions)
        except (KeyError, TypeError, ValueError) as exc:
            raise FlowError([FlowProblem(path, 1, "error",
                                         f"The places file is not valid: {exc}.")]) from None

    @classmethod
    def from_file(cls, path: str | Path) -> StaticPlaceDirectory:
        """Build from a YAML file the caller names; raises FlowError or OSError."""
        return cls.from_yaml_text(Path(path).read_text(encoding="utf-8"), str(path))

    def regions(self) -> list[Place]:
        """Return the regions in file order."""
        return list(self._regions)

    def cercles(self, region_code: str) -> list[Place]:
        """Return the cercles of `region_code` in file order ([] for an unknown region)."""
        return list(self._cercles.get(region_code, []))

    def get(self, code: str) -> Place | None:
        """Return the place with this code, or None."""
        return self._by_code.get(code)

    def match(self, text: str) -> PlaceMatch:
        """Match free text accent- and case-insensitively, with typo tolerance.

        A name shared by a region and one of its own cercles means the cercle (the more
        precise place); a name shared by places in different regions is ambiguous.
        """
        key = normalize_answer(text)
        if not key:
            return PlaceMatch("unknown", [])
        trimmed = " ".join(w for w in key.split() if w not in _FILLER)
        for candidate in dict.fromkeys((key, trimmed)):
            if candidate and candidate in self._names:
                return self._decide(self._names[candidate])
        query = trimmed or key
        if len(query) < 4:
            return PlaceMatch("unknown", [])
        hits = process.extract(query, self._keys, scorer=fuzz.ratio,
                               score_cutoff=_FUZZY_CUTOFF, limit=8)
        if not hits:
            return PlaceMatch("unknown", [])
        best = hits[0][1]
        found: list[Place] = []
        for name, score, _ in hits:
            if score >= best - _FUZZY_SPREAD:
                found.extend(p for p in self._names[name] if p not in found)
        return self._decide(found)

    @staticmethod
    def _decide(places: list[Place]) -> PlaceMatch:
        cercle_regions = {p.region_code for p in places if p.code != p.region_code}
        precise = [p for p in places
                   if not (p.code == p.region_code and p.code in cercle_regions)]
        if len(precise) == 1:
            return PlaceMatch("exact", precise)
        return PlaceMatch("ambiguous", precise)


@lru_cache(maxsize=1)
def default_places() -> StaticPlaceDirectory:
    """Return the shipped demo directory (flows/places.yaml), read once per process."""
    return StaticPlaceDirectory.from_file(Path(__file__).with_name("places.yaml"))

