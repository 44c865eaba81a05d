"""Help points near a place: the directory interface a help_list node asks, and a small static one.

The app adapts routing's provider index to `HelpDirectory` (shelters left out, phones only
where the provider publishes one); this module must not import routing.
`StaticHelpDirectory` serves the engine's own tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class NearbyHelp:
    """One help point as a caller is told it: name, kind, town and a public phone or None."""

    name: str
    kind: str
    town: str
    phone: str | None = None
    distance_km: float | None = None


@runtime_checkable
class HelpDirectory(Protocol):
    """Where a help_list node finds help points (the app adapts routing's provider index)."""

    def nearest(self, latitude: float, longitude: float, *, kinds: Sequence[str] | None,
                limit: int) -> list[Any]:
        """Return up to `limit` help points nearest first, each with name, kind, town, phone.

        `kinds` None means the directory's own default (the app leaves shelters out).
        `phone` is None unless the provider publishes one.
        """
        ...


def help_to_dict(point: Any) -> dict[str, Any]:
    """Return the JSON-ready dict of any help-point-like object (the form kept in the state)."""
    distance = getattr(point, "distance_km", None)
    phone = getattr(point, "phone", None)
    return {"name": str(point.name), "kind": str(point.kind), "town": str(point.town or ""),
            "phone": str(phone) if phone else None,
            "distance_km": round(float(distance), 1) if distance is not None else None}


class StaticHelpDirectory:
    """A `HelpDirectory` over a fixed list of points with positions (for tests and demos)."""

    def __init__(self, points: Iterable[Mapping[str, Any]], *,
                 default_kinds: Sequence[str] | None = None):
        """Build from mappings {name, kind, town, latitude, longitude, phone?}.

        `default_kinds` is what `kinds=None` lists (default: every kind). Raises KeyError
        or ValueError on a point without a name, kind or position.
        """
        self._points = [(float(p["latitude"]), float(p["longitude"]),
                         NearbyHelp(str(p["name"]), str(p["kind"]), str(p.get("town") or ""),
                                    p.get("phone") or None)) for p in points]
        self._default_kinds = tuple(default_kinds) if default_kinds is not None else None

    def nearest(self, latitude: float, longitude: float, *, kinds: Sequence[str] | None = None,
                limit: int = 3) -> list[NearbyHelp]:
        """Return up to `limit` points of `kinds`, nearest first (ties by name)."""
        wanted = kinds if kinds is not None else self._default_kinds
        ranked = sorted(
            ((_haversine_km(latitude, longitude, lat, lon), point)
             for lat, lon, point in self._points if wanted is None or point.kind in wanted),
            key=lambda item: (item[0], item[1].name))
        return [NearbyHelp(p.name, p.kind, p.town, p.phone, d) for d, p in ranked[:limit]]


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class NoHelpDirectory:
    """The directory used when the caller gives none: it knows no help point (safe default)."""

    def nearest(self, latitude: float, longitude: float, *, kinds: Sequence[str] | None = None,
                limit: int = 3) -> list[NearbyHelp]:
        """Return no help point."""
        return []
