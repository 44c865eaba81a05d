"""Tests of the provider directory model, its CSV/YAML importer and the demo directory."""

from __future__ import annotations

from datetime import datetime

import pytest

from routing.directory import (
    DEMO_PROVIDERS_FILE,
    FICTITIOUS_PREFIX,
    OpeningHours,
    load_demo_providers,
    normalise_phone,
    parse_providers,
)
from routing.gazetteer import default_gazetteer

HEADER = (
    "id,name,kind,latitude,longitude,place,serves,services,beds_free,hours,languages,contacts,"
    "active,demo,publishes_phone"
)
GOOD = (
    "sh1,Centre A,shelter,12.63,-7.99,bamako.commune-v,women;girls,shelter;psychosocial,5,24/7,"
    'fr;bm,"Awa: 76 12 34 56;+223 66 12 34 56",yes,no,no'
)


def csv_text(*rows: str) -> str:
    """Return a CSV provider file with the standard header and these rows."""
    return "\n".join([HEADER, *rows]) + "\n"


def test_good_csv_row_imports():
    """A complete CSV row imports with numbers in E.164 and lists split on ';'."""
    result = parse_providers(csv_text(GOOD), "csv")
    assert result.ok
    (provider,) = result.providers
    assert provider.id == "sh1" and provider.kind == "shelter"
    assert provider.serves == {"women", "girls"}
    assert [c.phone for c in provider.contacts] == ["+22376123456", "+22366123456"]
    assert provider.contacts[0].name == "Awa" and provider.contacts[1].name is None
    assert provider.beds_free == 5 and provider.hours.always_open
    assert provider.active and not provider.demo and not provider.publishes_phone


def test_bad_rows_are_reported_by_spreadsheet_row_number():
    """Each bad row is reported with its spreadsheet row number (header = 1) and a reason."""
    rows = [
        GOOD,  # row 2
        GOOD.replace("sh1,Centre A,shelter", "p1,Police X,polise"),  # row 3: unknown kind
        GOOD.replace("sh1,", "sh3,").replace("Awa: 76 12 34 56", "Awa: 12345"),  # row 4
        GOOD.replace("sh1,", "sh4,").replace("12.63,-7.99", "112.63,-7.99"),  # row 5
        GOOD.replace("sh1,Centre A,", "sh5,,"),  # row 6: no name
        GOOD.replace("sh1,", "sh6,").replace("12.63,-7.99", "douze,-7.99"),  # row 7
    ]
    result = parse_providers(csv_text(*rows), "csv")
    assert not result.ok
    assert [p.id for p in result.providers] == ["sh1"]
    by_row = {(e.row, e.field) for e in result.row_errors}
    assert (3, "kind") in by_row
    assert (4, "contacts") in by_row
    assert (5, "latitude") in by_row
    assert (6, "name") in by_row
    assert (7, "latitude") in by_row
    kind_error = next(e for e in result.row_errors if e.row == 3)
    assert "polise" in kind_error.reason and "police" in kind_error.reason
    assert str(kind_error).startswith("row 3: kind:")
    number_error = next(e for e in result.row_errors if e.row == 4)
    assert "12345" in number_error.reason


def test_blank_lines_keep_spreadsheet_numbering():
    """A blank spreadsheet line is skipped, and the rows after it keep their numbers."""
    bad = GOOD.replace("sh1,", "sh2,").replace(",shelter,", ",hospital,")
    result = parse_providers(csv_text(GOOD, ",,,,,,,,,,,,,,", bad), "csv")
    assert [e.row for e in result.row_errors] == [4]


def test_unknown_column_is_refused():
    """A CSV with a column outside the documented set is refused as a whole."""
    with pytest.raises(ValueError, match="unknown column"):
        parse_providers("name,kind,colour\nA,shelter,blue\n", "csv")


def test_duplicate_ids_are_row_errors():
    """A second row with the same id is reported, naming the first row."""
    result = parse_providers(csv_text(GOOD, GOOD), "csv")
    assert [e.row for e in result.row_errors] == [3]
    assert "row 2" in result.row_errors[0].reason


def test_missing_id_is_made_from_name_and_place():
    """A row without an id gets a stable one made from its name and place."""
    result = parse_providers(csv_text(GOOD.replace("sh1,", ",", 1)), "csv")
    assert result.providers[0].id == "centre-a-bamako-commune-v"


def test_fictitious_numbers_only_in_demo_rows():
    """The +223 20 00 block is refused in real rows and accepted in demo rows."""
    real = GOOD.replace("Awa: 76 12 34 56", "20 00 01 01")
    result = parse_providers(csv_text(real), "csv")
    assert [e.field for e in result.row_errors] == ["contacts"]
    assert "fictitious" in result.row_errors[0].reason
    demo = real.replace(",yes,no,no", ",yes,yes,no")
    assert parse_providers(csv_text(demo), "csv").ok


def test_yaml_rows_carry_entry_number_and_line():
    """YAML entries are numbered from 1 and errors give the line in the file."""
    text = """providers:
  - id: a
    name: A
    kind: police
    latitude: 12.6
    longitude: -8
    serves: [women, men]
    hours: 24/7
    languages: [fr]
    contacts: ["+223 76 12 34 56"]
  - id: b
    name: B
    kind: shelter
    latitude: 12.6
    longitude: -8
    serves: [women, aliens]
    hours: "mon-fri 8:00-17:00"
    languages: [fr]
    contacts: []
"""
    result = parse_providers(text, "yaml")
    assert [p.id for p in result.providers] == ["a"]
    assert {(e.row, e.line, e.field) for e in result.row_errors} >= {(2, 11, "serves"), (2, 11, "contacts")}
    assert str(result.row_errors[0]).startswith("entry 2 (line 11)")


def test_format_is_guessed_from_the_file_name(tmp_path):
    """A path ending in .csv or .yaml is read in that format."""
    path = tmp_path / "providers.csv"
    path.write_text(csv_text(GOOD), encoding="utf-8")
    assert parse_providers(path).ok
    assert parse_providers(str(path)).ok
    with pytest.raises(ValueError, match="format"):
        parse_providers(csv_text(GOOD))


@pytest.mark.parametrize(
    ("text", "when", "open_"),
    [
        ("24/7", datetime(2025, 3, 2, 3, 0), True),
        ("mon-fri 08:00-17:00", datetime(2025, 3, 3, 8, 0), True),  # Monday 08:00
        ("mon-fri 08:00-17:00", datetime(2025, 3, 3, 17, 0), False),
        ("mon-fri 08:00-17:00", datetime(2025, 3, 1, 10, 0), False),  # Saturday
        ("lun-ven 8h00-12h30; sam 09:00-12:00", datetime(2025, 3, 1, 10, 0), True),
        ("fri 20:00-02:00", datetime(2025, 3, 8, 1, 30), True),  # Saturday 01:30
        ("fri 20:00-02:00", datetime(2025, 3, 8, 2, 30), False),
        ("daily 07:00-19:00", datetime(2025, 3, 2, 7, 0), True),
    ],
)
def test_opening_hours(text, when, open_):
    """Opening hours read weekday ranges, French days, several ranges and night shifts."""
    assert OpeningHours.parse(text).is_open(when) is open_


@pytest.mark.parametrize("text", ["", "sometimes", "mon-fri 25:00-26:00", "xyz 08:00-10:00", "mon 08:00-08:00"])
def test_bad_opening_hours_are_refused(text):
    """Hours that cannot be read raise ValueError with a reason."""
    with pytest.raises(ValueError):
        OpeningHours.parse(text)


def test_phone_numbers_default_to_mali():
    """Numbers without a country code are read as Malian; foreign numbers keep theirs."""
    assert normalise_phone("76 12 34 56") == "+22376123456"
    assert normalise_phone("+33 6 12 34 56 78") == "+33612345678"
    with pytest.raises(ValueError):
        normalise_phone("not a number")


def test_demo_directory_imports_cleanly():
    """The shipped demo directory passes the importer with no row error."""
    result = parse_providers(DEMO_PROVIDERS_FILE, "yaml")
    assert result.ok, [str(e) for e in result.row_errors]
    assert len(result.providers) == len(load_demo_providers()) > 50


def test_demo_directory_is_all_demo_with_fictitious_numbers():
    """Every demo entry is marked demo and every number is in the fictitious block."""
    for provider in load_demo_providers():
        assert provider.demo, provider.id
        for contact in provider.contacts:
            assert contact.phone.startswith(FICTITIOUS_PREFIX), provider.id


def test_demo_directory_covers_every_regional_capital():
    """The demo has AJDM, Direy Ben, a national desk, and every public kind in each capital."""
    providers = load_demo_providers()
    names = " ".join(p.name for p in providers)
    assert "AJDM" in names and "Direy Ben" in names
    assert any(p.kind == "national_desk" for p in providers)
    gazetteer = default_gazetteer()
    places = {(p.kind, p.place) for p in providers}
    for region in gazetteer.regions():
        capital = region.code if region.code == "bamako" else gazetteer.cercles(region.code)[0].code
        for kind in ("police", "gendarmerie", "child_protection", "health", "legal_aid"):
            assert (kind, capital) in places, (kind, region.name)
    for provider in providers:
        if provider.place:
            gazetteer.get(provider.place)
