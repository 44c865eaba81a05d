"""Tests of the routing rules loader and linter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.errors import RulesError
from routing.rules import DEFAULT_RULES_FILE, load_rules, parse_duration, parse_rules

SHIPPED = DEFAULT_RULES_FILE.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """Return the 1-based line of the first occurrence of `needle` in `text`."""
    return text[: text.index(needle)].count("\n") + 1


def problems(text: str) -> list[tuple[int, str]]:
    """Return the (line, message) pairs of the RulesError raised for `text`."""
    with pytest.raises(RulesError) as caught:
        parse_rules(text, filename="rules.yaml")
    return [(p.line, p.message) for p in caught.value.problems]


def test_shipped_rules_load():
    """The shipped rules load, with the deadlines the product brief gives."""
    rules = load_rules()
    assert rules.deadline_for("critical") == timedelta(minutes=10)
    assert rules.deadline_for("high") == timedelta(minutes=30)
    assert rules.deadline_for("medium") == timedelta(hours=4)
    assert rules.deadline_for("low") == timedelta(hours=24)
    assert rules.roles["police"].police
    assert {e.name for e in rules.police_consent.exceptions} == {"child", "danger_to_life"}


def test_unknown_kind_is_named_with_its_line():
    """An unknown provider kind is reported at its line with the allowed kinds."""
    text = SHIPPED.replace("kinds: [police, gendarmerie]", "kinds: [polise, gendarmerie]")
    ((line, message),) = problems(text)
    assert line == line_of(text, "polise")
    assert '"polise" is not a known provider kind' in message and "gendarmerie" in message


def test_unknown_service_and_risk_level_are_named():
    """Unknown services and risk levels are reported, each at its own line."""
    text = SHIPPED.replace("services: [medical]", "services: [medicine]").replace("risk: [high]", "risk: [hihg]")
    found = problems(text)
    assert (line_of(text, "medicine"), found[0][1]) == found[0]
    assert any("medicine" in m and "service" in m for _, m in found)
    assert any(line == line_of(text, "hihg") and "risk level" in m for line, m in found)


def test_unknown_setting_is_named_at_its_key():
    """A misspelt setting is reported at the line of the key."""
    text = SHIPPED.replace("    capacity: true", "    capcity: true")
    ((line, message),) = problems(text)
    assert line == line_of(text, "capcity")
    assert "capcity" in message


def test_alert_naming_an_undefined_role():
    """An alert rule naming a role that is not defined is reported at its line."""
    text = SHIPPED.replace("roles: [medical]", "roles: [medic]")
    ((line, message),) = problems(text)
    assert line == line_of(text, "[medic]")
    assert '"medic"' in message and "not defined" in message


def test_missing_deadline_and_bad_duration():
    """Deadlines must cover every risk level and be durations such as 10m or 4h."""
    found = problems(SHIPPED.replace("    low: 24h\n", ""))
    assert any("missing for risk level(s): low" in m for _, m in found)
    found = problems(SHIPPED.replace("medium: 4h", "medium: soon"))
    assert any('"soon" is not a duration' in m for _, m in found)


def test_unknown_deadline_risk_level():
    """A deadline for an unknown risk level is refused."""
    text = SHIPPED.replace("critical: 10m", "crtical: 10m")
    assert any(line == line_of(text, "crtical") and "risk level" in m for line, m in problems(text))


def test_unknown_time_zone_and_invalid_yaml():
    """An unknown time zone and broken YAML are reported with a line."""
    found = problems(SHIPPED.replace("timezone: Africa/Bamako", "timezone: Africa/Atlantis"))
    assert any("Africa/Atlantis" in m for _, m in found)
    ((line, message),) = problems("version: 1\nroles: [unclosed\n")
    assert line >= 2 and "not valid YAML" in message


def test_error_text_is_file_colon_line():
    """The exception's text lists each problem as file:line: sentence."""
    with pytest.raises(RulesError) as caught:
        parse_rules(SHIPPED.replace("capacity: true", "capacity: maybe"), filename="r.yaml")
    assert str(caught.value).startswith("r.yaml:")
    assert "true or false" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("30 min", 1800), ("4h", 14400), ("1d", 86400), ("90s", 90)]
)
def test_durations(text, seconds):
    """Durations are read in seconds, minutes, hours and days."""
    assert parse_duration(text).total_seconds() == seconds
