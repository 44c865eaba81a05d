"""Tests of the indicator vocabulary, the risk rules and the static place directory."""

from __future__ import annotations

import pytest

from flows import (
    PlaceDirectory,
    StaticPlaceDirectory,
    assess_risk,
    default_places,
    default_vocabulary,
    load_vocabulary_text,
)
from flows.errors import FlowError


def test_vocabulary_is_versioned_and_labelled_in_three_languages():
    """Every indicator has a source, a weight and labels in fr, bm and en."""
    vocab = default_vocabulary()
    assert vocab.version
    for indicator in vocab.indicators.values():
        assert indicator.source in ("ILO", "UNODC", "Mali")
        assert set(indicator.label) == {"fr", "bm", "en"}
    ilo = [i for i in vocab.indicators.values() if i.source == "ILO"]
    assert len(ilo) == 11
    for mali in ("forced_begging_child", "mining_site_work", "sexual_exploitation_false_offer",
                 "armed_group_recruitment"):
        assert vocab.indicators[mali].source == "Mali"
    assert all(set(labels) == {"fr", "bm", "en"} for labels in vocab.needs.values())


def test_risk_levels_follow_thresholds():
    """The level is the highest threshold the score reaches."""
    vocab = default_vocabulary()
    hit = lambda ind: {"indicator": ind, "node": "n", "answer": "yes"}  # noqa: E731
    assert assess_risk(vocab, []).level == "low"
    assert assess_risk(vocab, [hit("deception"), hit("mining_site_work")]).level == "medium"
    assert assess_risk(vocab, [hit("debt_bondage"), hit("restriction_of_movement"),
                               hit("isolation")]).level == "high"


def test_rules_raise_the_level_and_say_why():
    """Danger now makes a case critical and a child at least high, with the reason kept."""
    vocab = default_vocabulary()
    danger = assess_risk(vocab, [{"indicator": "immediate_danger", "node": "d",
                                  "answer": "yes"}])
    assert danger.level == "critical"
    assert danger.reasons[-1] == {"rule": "indicator", "indicator": "immediate_danger",
                                  "at_least": "critical"}
    child = assess_risk(vocab, [{"indicator": "child_under_18", "node": "a", "answer": "1"}])
    assert child.level == "high" and child.score == 2


def test_an_indicator_found_twice_scores_once_but_keeps_both_sources():
    """Repeated indicators keep every answer that produced them, for the explanation."""
    vocab = default_vocabulary()
    risk = assess_risk(vocab, [{"indicator": "deception", "node": "a", "answer": "yes"},
                               {"indicator": "deception", "node": "b", "answer": "yes"}],
                       [{"node": "c", "answer": None, "points": 4}])
    assert risk.score == 6
    assert risk.indicators[0]["sources"] == [{"node": "a", "answer": "yes"},
                                             {"node": "b", "answer": "yes"}]


def test_broken_vocabulary_names_the_line():
    """A rule naming an unknown indicator is an error at its line."""
    text = ('version: "1"\nrisk:\n  thresholds: {low: 0, medium: 1, high: 2, critical: 3}\n'
            '  rules:\n    - {indicator: nope, at_least: high}\nneeds: {}\nindicators: {}\n')
    with pytest.raises(FlowError) as err:
        load_vocabulary_text(text, "v.yaml")
    assert err.value.problems[0].line == 5


def test_static_directory_matches_like_a_gazetteer():
    """Names match with accents, case, aliases, filler words and typos; shared names are ambiguous."""
    places = default_places()
    assert isinstance(places, PlaceDirectory)
    assert places.match("kenieba").places[0].code == "ML-1-KEN"
    assert places.match("Je suis à KATI").places[0].code == "ML-2-KTI"
    assert places.match("Timbuktu").places[0].code == "ML-6"
    assert places.match("Tombouctu").places[0].code == "ML-6-TOM"
    assert places.match("Kayes").places[0].code == "ML-1-KAY"  # the cercle, not the region
    ambiguous = places.match("Sirakoro")
    assert ambiguous.status == "ambiguous"
    assert {p.code for p in ambiguous.places} == {"ML-1-KIT", "ML-2-KTI"}
    assert places.match("Paris").status == "unknown"
    assert places.match("").status == "unknown"


def test_static_directory_lists_regions_and_cercles_in_order():
    """Regions come in file order with Bamako first; each has its cercles."""
    places = default_places()
    regions = places.regions()
    assert regions[0].name == "Bamako" and len(regions) == 11
    assert [c.name for c in places.cercles("ML-BKO")][:2] == ["Commune I", "Commune II"]
    assert places.cercles("nowhere") == []
    assert all(-13 < p.longitude < 5 and 10 < p.latitude < 25 for p in regions)


def test_static_directory_refuses_duplicate_codes():
    """Two places with one code is an error."""
    with pytest.raises(ValueError, match="used twice"):
        StaticPlaceDirectory([{"code": "A", "name": "A", "latitude": 0, "longitude": 0,
                               "cercles": [{"code": "A", "name": "B", "latitude": 0,
                                            "longitude": 0}]}])
