"""Benchmark of the routing engine: one case among 100, 10,000 and 100,000 generated providers.

Run from the repository root:

    .venv/bin/python bench/bench_routing.py [--routes 2000] [--seed 7]

Prints, per directory size, the index build time and the median and p95 time of route()
for random cases (critical and high, adults and children, consent or not), and of
nearest_help(). Providers are spread over Mali's bounding box, denser around towns.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.case import CasePlace, CaseProfile
from routing.directory import Contact, OpeningHours, Provider
from routing.engine import route
from routing.gazetteer import default_gazetteer
from routing.index import DirectoryIndex, nearest_help
from routing.rules import load_rules

KINDS = ["shelter", "ngo", "police", "gendarmerie", "child_protection", "health", "legal_aid"]
SERVICES = ["shelter", "medical", "psychosocial", "legal", "family_tracing", "return_home", "protection"]
GROUPS = ["women", "men", "girls", "boys"]
HOURS = [OpeningHours.parse("24/7"), OpeningHours.parse("mon-fri 08:00-17:00")]


def generate_providers(count: int, rng: random.Random, towns: list[tuple[float, float]]) -> list[Provider]:
    """Return `count` valid providers: 70% within ~30 km of a town, 30% anywhere in Mali."""
    providers = [
        Provider(
            id="desk",
            name="desk",
            kind="national_desk",
            latitude=12.64,
            longitude=-8.0,
            serves=frozenset(GROUPS),
            hours=HOURS[0],
            languages=("fr",),
            contacts=(Contact(phone="+22320000101"),),
        )
    ]
    for i in range(count - 1):
        if rng.random() < 0.7:
            lat, lon = rng.choice(towns)
            lat += rng.gauss(0, 0.15)
            lon += rng.gauss(0, 0.15)
        else:
            lat, lon = rng.uniform(10.2, 24.5), rng.uniform(-12.0, 4.0)
        kind = rng.choice(KINDS)
        providers.append(
            Provider.model_construct(
                id=f"p{i}",
                name=f"Provider {i}",
                kind=kind,
                latitude=lat,
                longitude=lon,
                place=None,
                serves=frozenset(rng.sample(GROUPS, rng.randint(1, 4))),
                services=frozenset(rng.sample(SERVICES, rng.randint(1, 4)))
                | ({"shelter"} if kind == "shelter" else set()),
                beds_free=rng.randint(0, 6) if kind in ("shelter", "ngo") else None,
                hours=rng.choice(HOURS),
                languages=tuple(rng.sample(["fr", "bm", "en"], rng.randint(1, 3))),
                contacts=(Contact(phone="+22320000102"),),
                active=rng.random() > 0.05,
                demo=True,
                publishes_phone=rng.random() > 0.5,
            )
        )
    return providers


def generate_case(rng: random.Random, towns: list[tuple[float, float]], n: int) -> CaseProfile:
    """Return a random case near a town."""
    lat, lon = rng.choice(towns)
    return CaseProfile(
        reference=f"C{n}",
        risk_level=rng.choice(["critical", "high", "high", "medium"]),
        danger_now=rng.random() < 0.3,
        age_band=rng.choice(["under_12", "12_17", "18_25", "26_plus"]),
        sex=rng.choice(["female", "male"]),
        needs=frozenset(rng.sample(["shelter", "medical", "legal", "psychosocial"], rng.randint(0, 3))),
        language=rng.choice(["fr", "bm", "en"]),
        place=CasePlace(latitude=lat + rng.gauss(0, 0.05), longitude=lon + rng.gauss(0, 0.05)),
        consent_police=rng.random() < 0.5,
    )


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of `values` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=2000, help="routes timed per directory size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rules = load_rules()
    towns = [(p.latitude, p.longitude) for p in default_gazetteer() if p.kind in ("cercle", "commune", "town")]
    start = datetime(2025, 3, 3, tzinfo=UTC)
    rows = []
    for size in (100, 10_000, 100_000):
        providers = generate_providers(size, rng, towns)
        t0 = time.perf_counter()
        index = DirectoryIndex.build(providers)
        build_ms = (time.perf_counter() - t0) * 1000
        cases = [generate_case(rng, towns, n) for n in range(args.routes)]
        nows = [start + timedelta(minutes=rng.randint(0, 7 * 24 * 60)) for _ in cases]
        for case, now in zip(cases[:50], nows[:50], strict=True):  # warm-up
            route(case, index, rules, now=now)
        route_ms, help_ms, referrals = [], [], 0
        for case, now in zip(cases, nows, strict=True):
            t0 = time.perf_counter()
            decision = route(case, index, rules, now=now)
            route_ms.append((time.perf_counter() - t0) * 1000)
            referrals += len(decision.referrals)
            t0 = time.perf_counter()
            nearest_help(index, case.place.latitude, case.place.longitude, limit=3)
            help_ms.append((time.perf_counter() - t0) * 1000)
        rows.append(
            (
                size,
                build_ms,
                statistics.median(route_ms),
                percentile(route_ms, 0.95),
                statistics.median(help_ms),
                percentile(help_ms, 0.95),
                referrals / len(cases),
            )
        )
    print(f"routes per size: {args.routes} (seed {args.seed}); times in ms")
    header = ("providers", "index build", "route p50", "route p95", "help p50", "help p95", "referrals/case")
    print(" | ".join(f"{h:>14}" for h in header))
    for size, build, r50, r95, h50, h95, refs in rows:
        print(
            " | ".join(
                f"{v:>14}"
                for v in (
                    f"{size:,}",
                    f"{build:.1f}",
                    f"{r50:.3f}",
                    f"{r95:.3f}",
                    f"{h50:.3f}",
                    f"{h95:.3f}",
                    f"{refs:.2f}",
                )
            )
        )


if __name__ == "__main__":
    main()
