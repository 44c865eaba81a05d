"""Builders of providers and cases shared by the routing tests."""

from __future__ import annotations

from routing.case import CasePlace, CaseProfile
from routing.directory import Contact, OpeningHours, Provider

ALL_GROUPS = frozenset({"women", "men", "girls", "boys"})


def make_provider(pid: str, kind: str = "shelter", lat: float = 12.6, lon: float = -8.0, **extra) -> Provider:
    """Return a valid provider; keyword arguments override the defaults."""
    fields = {
        "id": pid,
        "name": extra.pop("name", pid.upper()),
        "kind": kind,
        "latitude": lat,
        "longitude": lon,
        "serves": ALL_GROUPS,
        "services": frozenset({"shelter", "psychosocial", "medical", "legal"}),
        "beds_free": 3 if kind in ("shelter", "ngo") else None,
        "hours": OpeningHours.parse("24/7"),
        "languages": ("fr", "bm", "en"),
        "contacts": (Contact(phone="+22376000001"), Contact(phone="+22376000002")),
    }
    fields.update(extra)
    return Provider(**fields)


def make_case(lat: float | None = 12.6, lon: float | None = -8.0, **extra) -> CaseProfile:
    """Return a case at a place (None for an unknown place); keywords override defaults."""
    place = CasePlace(latitude=lat, longitude=lon) if lat is not None else None
    fields = {
        "reference": "K7F3Q",
        "risk_level": "high",
        "age_band": "26_plus",
        "sex": "female",
        "language": "fr",
        "place": place,
    }
    fields.update(extra)
    return CaseProfile(**fields)
