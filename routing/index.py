"""Spatial index of a directory snapshot: providers in exact nearest-first order, fast."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .directory import Provider
from .geo import EARTH_RADIUS_KM, haversine_km

# Cell size per kind, from how many providers of that kind there are: big cells keep a small
# directory's walk short, small cells keep a dense one's cells small (a few dozen providers
# around Bamako even at 100,000). (count threshold, cell size in degrees), largest first.
CELL_SIZES: tuple[tuple[int, float], ...] = ((20_000, 0.02), (5_000, 0.05), (1_000, 0.1), (0, 0.25))


def cell_degrees_for(count: int) -> float:
    """Return the cell size in degrees for a grid of `count` providers."""
    return next(size for threshold, size in CELL_SIZES if count >= threshold)


_EPSILON_KM = 1e-6  # rounding margin so a lower bound never exceeds a true distance


def rank_key(distance_km: float, provider: Provider) -> tuple[float, int, str]:
    """Return the ranking key: nearer first, then more free beds, then id (for a stable order)."""
    beds = provider.beds_free if provider.beds_free is not None else -1
    return (distance_km, -beds, provider.id)


@dataclass(frozen=True, slots=True)
class HelpPoint:
    """A provider near a place, with its distance and the number callers may be given."""

    provider: Provider
    distance_km: float
    phone: str | None


class _KindGrid:
    """Providers of one kind bucketed by cell, walked ring by ring from the query's cell."""

    __slots__ = ("cell", "cells", "cos_min", "count", "i_max", "i_min", "j_max", "j_min", "wraps")

    def __init__(self, providers: Sequence[Provider]):
        self.cell = cell = cell_degrees_for(len(providers))
        self.cells: dict[tuple[int, int], list[tuple[float, float, Provider]]] = {}
        max_abs_lat = 0.0
        lons: list[float] = []
        for p in providers:
            key = (math.floor(p.latitude / cell), math.floor(p.longitude / cell))
            self.cells.setdefault(key, []).append((p.latitude, p.longitude, p))
            max_abs_lat = max(max_abs_lat, abs(p.latitude))
            lons.append(p.longitude)
        self.count = sum(len(v) for v in self.cells.values())
        self.cos_min = math.cos(math.radians(max_abs_lat))
        # Near the antimeridian, neighbouring cells are far apart in index; the ring bound
        # would then be wrong, so such a grid gives up the bound and is walked whole.
        self.wraps = bool(lons) and max(lons) - min(lons) > 180
        rows = [k[0] for k in self.cells] or [0]
        cols = [k[1] for k in self.cells] or [0]
        self.i_min, self.i_max, self.j_min, self.j_max = min(rows), max(rows), min(cols), max(cols)

    def _ring_bound(self, ring: int, cos_min: float) -> float:
        # A cell `ring` steps away lies at least (ring - 1) whole cells away in latitude or in
        # longitude; the longitude case is the smaller distance, at the highest latitude.
        if ring <= 1 or self.wraps:
            return 0.0
        half = math.radians((ring - 1) * self.cell) / 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, cos_min * math.sin(min(half, math.pi / 2)))) - _EPSILON_KM

    def nearest(self, lat: float, lon: float, max_km: float) -> Iterator[tuple[float, int, str, Provider]]:
        """Yield (distance, -beds, id, provider) in rank order, up to `max_km`."""
        if not self.count:
            return
        ci = math.floor(lat / self.cell)
        cj = math.floor(lon / self.cell)
        cos_min = min(self.cos_min, math.cos(math.radians(abs(lat))))
        last_ring = max(ci - self.i_min, self.i_max - ci, cj - self.j_min, self.j_max - cj, 0)
        cells = self.cells
        heap: list[tuple[float, int, str, Provider]] = []
        ring = 0
        while True:
            if ring <= last_ring:
                for key in self._ring_cells(ci, cj, ring):
                    for plat, plon, p in cells[key]:
                        d = haversine_km(lat, lon, plat, plon)
                        heapq.heappush(heap, (*rank_key(d, p), p))
            bound = self._ring_bound(ring + 1, cos_min) if ring < last_ring else math.inf
            while heap and heap[0][0] < bound:
                item = heapq.heappop(heap)
                if item[0] > max_km:
                    return
                yield item
            if bound == math.inf or bound > max_km:
                return
            ring += 1

    def _ring_cells(self, ci: int, cj: int, ring: int) -> list[tuple[int, int]]:
        cells = self.cells
        if ring == 0:
            return [(ci, cj)] if (ci, cj) in cells else []
        if 8 * ring > len(cells):
            # A sparse grid: cheaper to test the occupied cells than to walk the whole ring.
            return [k for k in cells if max(abs(k[0] - ci), abs(k[1] - cj)) == ring]
        found = []
        for dj in range(-ring, ring + 1):
            for key in ((ci - ring, cj + dj), (ci + ring, cj + dj)):
                if key in cells:
                    found.append(key)
        for di in range(-ring + 1, ring):
            for key in ((ci + di, cj - ring), (ci + di, cj + ring)):
                if key in cells:
                    found.append(key)
        return found


class DirectoryIndex(Sequence[Provider]):
    """An immutable snapshot of the active providers, indexed by kind and position.

    Build it once per directory version (`DirectoryIndex.build(providers)`) and rebuild it
    when the directory or a bed count changes. It is a Sequence of its active providers, so
    it can be passed wherever the engine takes `providers`.
    """

    def __init__(self, providers: Sequence[Provider], grids: dict[str, _KindGrid]):
        self._providers = tuple(providers)
        self._grids = grids
        self._by_id = {p.id: p for p in self._providers}

    @classmethod
    def build(cls, providers: Iterable[Provider]) -> DirectoryIndex:
        """Index the active providers among `providers`; raises ValueError on a repeated id."""
        active = [p for p in providers if p.active]
        seen: set[str] = set()
        by_kind: dict[str, list[Provider]] = {}
        for p in active:
            if p.id in seen:
                raise ValueError(f"provider id {p.id!r} appears twice")
            seen.add(p.id)
            by_kind.setdefault(p.kind, []).append(p)
        return cls(active, {kind: _KindGrid(ps) for kind, ps in by_kind.items()})

    def __len__(self) -> int:
        return len(self._providers)

    def __getitem__(self, item):  # type: ignore[override]
        return self._providers[item]

    @property
    def by_id(self) -> Mapping[str, Provider]:
        """Return the active providers by id (read-only view)."""
        return MappingProxyType(self._by_id)

    def get(self, provider_id: str) -> Provider | None:
        """Return the active provider with this id, or None."""
        return self._by_id.get(provider_id)

    def count_of_kinds(self, kinds: Iterable[str]) -> int:
        """Return how many active providers are of these kinds."""
        return sum(self._grids[k].count for k in kinds if k in self._grids)

    def nearest(
        self, latitude: float, longitude: float, kinds: Iterable[str], *, max_km: float = math.inf
    ) -> Iterator[tuple[float, Provider]]:
        """Yield (distance_km, provider) for providers of `kinds`, nearest first, up to max_km.

        Order: distance, then more free beds, then id; the same order as sorting every
        provider by `rank_key`, which the tests check against a brute-force scan.
        """
        streams = [self._grids[k].nearest(latitude, longitude, max_km) for k in set(kinds) if k in self._grids]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams)
        for d, _, _, p in merged:
            yield d, p


def nearest_help(
    index: DirectoryIndex,
    latitude: float,
    longitude: float,
    *,
    kinds: Iterable[str] | None = None,
    limit: int = 3,
    only_public_phone: bool = False,
) -> list[HelpPoint]:
    """Return up to `limit` active providers nearest to a place, for a "help near me" answer.

    Takes the index, a position, the kinds to list (default: every kind but shelters, whose
    location is kept private) and whether to list only providers that publish a phone.
    Returns HelpPoints nearest first; `phone` is set only for providers that publish one.
    Raises ValueError when limit is below 1.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    wanted = set(kinds) if kinds is not None else set(_PUBLIC_KINDS)
    points: list[HelpPoint] = []
    for distance, provider in index.nearest(latitude, longitude, wanted):
        if only_public_phone and not provider.publishes_phone:
            continue
        points.append(HelpPoint(provider, distance, provider.public_phone))
        if len(points) == limit:
            break
    return points


# Shelter addresses are protected: traffickers look for the people who escaped them.
_PUBLIC_KINDS = (
    "police",
    "gendarmerie",
    "child_protection",
    "health",
    "legal_aid",
    "ngo",
    "national_desk",
)
