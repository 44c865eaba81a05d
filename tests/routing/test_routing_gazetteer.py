"""Tests of the Mali gazetteer: data file, menus and free-text matching."""

from __future__ import annotations

import pytest

from routing.errors import GazetteerError
from routing.gazetteer import DEFAULT_PLACES_FILE, Gazetteer, Place, default_gazetteer

REGIONS_2023 = {
    "Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti", "Tombouctou", "Gao", "Kidal",
    "Taoudénit", "Ménaka", "Nioro", "Kita", "Dioïla", "Nara", "Bougouni", "Koutiala", "San",
    "Douentza", "Bandiagara",
}  # fmt: skip


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once for the module."""
    return default_gazetteer()


@pytest.mark.parametrize("text", ["Bamako", "bamako", "Bamakô", "Bamakko", "BAMAKO", " bamako "])
def test_bamako_spellings_match_bamako(gazetteer, text):
    """Every common spelling and typo of Bamako answers the Bamako district."""
    match = gazetteer.match(text)
    assert match.status == "exact"
    assert match.place.code == "bamako"


@pytest.mark.parametrize("text", ["Kenieba", "Kéniéba", "keniéba", "KENIEBA"])
def test_kenieba_with_or_without_accents(gazetteer, text):
    """Kéniéba matches with or without accents, in any case."""
    match = gazetteer.match(text)
    assert match.status == "exact"
    assert match.place.name == "Kéniéba"
    assert match.place.region_code == "kayes"


@pytest.mark.parametrize("text", ["Tombouctou", "Timbuktu", "Tumbutu", "tombuctou"])
def test_tombouctou_in_french_english_and_songhay(gazetteer, text):
    """Tombouctou is found under its French, English and Songhay names and a misspelling."""
    match = gazetteer.match(text)
    assert match.status == "exact"
    assert match.place.name == "Tombouctou"
    assert match.place.region_name == "Tombouctou"


def test_gao_is_exact_and_not_fuzzy(gazetteer):
    """Gao matches exactly one place (the town, standing for its region too)."""
    match = gazetteer.match("Gao")
    assert match.status == "exact"
    assert not match.fuzzy
    assert match.place.name == "Gao" and match.place.region_code == "gao"


def test_name_shared_by_two_places_is_ambiguous(gazetteer):
    """Faladié, a Bamako quarter and a village of Koulikoro region, asks the caller to choose."""
    match = gazetteer.match("Faladie")
    assert match.status == "ambiguous"
    regions = sorted(p.region_code for p in match.places)
    assert regions == ["bamako", "koulikoro"]


@pytest.mark.parametrize("text", ["xyzzy qwerty", "zzzz", "", "   ", "123", "!!!"])
def test_nonsense_is_unknown(gazetteer, text):
    """Text that names no place is unknown, so the flow falls back to the menus."""
    match = gazetteer.match(text)
    assert match.status == "unknown"
    assert match.places == [] and match.place is None


def test_place_inside_a_sentence(gazetteer):
    """A place named inside a short sentence is found."""
    assert gazetteer.match("je suis à Kangaba chez mon patron").place.name == "Kangaba"


def test_bambara_letters_are_folded(gazetteer):
    """Bambara spellings with ɛ and ɔ match (Sɛgu -> Ségou, Kulikɔrɔ -> Koulikoro)."""
    assert gazetteer.match("Sɛgu").place.name == "Ségou"
    assert gazetteer.match("Kulikɔrɔ").place.name == "Koulikoro"


def test_quarters_and_communes_of_bamako(gazetteer):
    """Bamako quarters and communes match and lie in the Bamako district."""
    banconi = gazetteer.match("Bankoni").place
    assert banconi.kind == "quarter" and banconi.region_code == "bamako"
    assert gazetteer.match("Commune 4").place.name == "Commune IV"


def test_mining_and_border_places_are_tagged(gazetteer):
    """Gold-mining areas and border posts carry their tags."""
    for name in ("Kéniéba", "Kangaba", "Yanfolila", "Kadiolo", "Sadiola", "Sitakili"):
        assert "gold_mining" in gazetteer.match(name).place.tags, name
    for name in ("Zégoua", "Diboli", "Kourémalé"):
        assert "border" in gazetteer.match(name).place.tags, name
    for name in ("Gao", "Ménaka", "Tombouctou", "Kidal"):
        assert "transit" in gazetteer.match(name).place.tags, name


def test_regions_are_the_2023_regions_and_bamako_first(gazetteer):
    """regions() lists the 19 regions of the 2023 reform, the Bamako district first."""
    regions = gazetteer.regions()
    assert regions[0].code == "bamako"
    assert {r.name for r in regions[1:]} == REGIONS_2023
    assert all(r.kind == "region" for r in regions)


def test_every_region_has_cercles_capital_first(gazetteer):
    """Each region lists at least one cercle, its capital first, and the rest alphabetically."""
    for region in gazetteer.regions():
        cercles = gazetteer.cercles(region.code)
        assert cercles, region.name
        assert all(c.region_code == region.code for c in cercles)
        if region.code != "bamako":
            assert cercles[0].latitude == region.latitude and cercles[0].longitude == region.longitude
    kayes = [c.name for c in gazetteer.cercles("kayes")]
    assert kayes[0] == "Kayes" and "Kéniéba" in kayes


def test_bamako_lists_its_six_communes(gazetteer):
    """The Bamako district's menu holds its six communes in order."""
    names = [c.name for c in gazetteer.cercles("bamako")]
    assert names == [f"Commune {n}" for n in ("I", "II", "III", "IV", "V", "VI")]


def test_unknown_codes(gazetteer):
    """get() raises GazetteerError for an unknown code; cercles() of a non-region is empty."""
    with pytest.raises(GazetteerError):
        gazetteer.get("atlantis")
    assert gazetteer.cercles("atlantis") == []
    assert gazetteer.cercles("kayes.kenieba") == []
    assert gazetteer.get("kayes.kenieba").name == "Kéniéba"


def test_every_place_lies_in_mali(gazetteer):
    """Every position is inside Mali's bounding box, so no coordinate was swapped."""
    for place in gazetteer:
        assert 10.0 <= place.latitude <= 25.1, place
        assert -12.3 <= place.longitude <= 4.3, place


def test_duplicate_codes_are_refused():
    """A gazetteer refuses two places with the same code."""
    place = Place("x", "town", "X", "r", "R", 12.0, -8.0)
    with pytest.raises(GazetteerError):
        Gazetteer([place, place])


def test_committed_file_matches_the_build_script():
    """places.csv is exactly what build_gazetteer.py produces from its sources."""
    from routing.data.build_gazetteer import build, render_csv

    assert DEFAULT_PLACES_FILE.read_text(encoding="utf-8") == render_csv(build())


def test_gazetteer_satisfies_the_flow_engine_protocol(gazetteer):
    """The gazetteer has the methods the flow engine's PlaceDirectory protocol calls."""
    for name in ("regions", "cercles", "match", "get"):
        assert callable(getattr(gazetteer, name))
    match = gazetteer.match("Kati")
    assert match.status == "exact" and match.places[0].region_name == "Koulikoro"
