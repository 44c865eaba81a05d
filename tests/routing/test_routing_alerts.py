"""Tests of the staff alert SMS, the replies to staff and the text catalogue."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the codec used to check the texts)
import pytest
from routing_helpers import make_case

from routing.alerts import measure_sms, render_alert, render_staff_message
from routing.catalogue import REASON_LANGUAGES, SMS_LANGUAGES, default_catalogue
from routing.errors import CatalogueError
from routing.vocabulary import AGE_BANDS, NEEDS, RISK_LEVELS, SEXES

ALL_NEEDS = frozenset(NEEDS)


def assert_gsm_within_two_segments(text: str) -> None:
    """Check with the gsm0338 codec that text is GSM-7 and at most 306 septets."""
    encoded = text.encode("gsm03.38")
    assert len(encoded) <= 306


@pytest.mark.parametrize("language", SMS_LANGUAGES)
def test_alert_carries_the_minimal_facts(language):
    """The alert has the reference, risk, place, profile and needs, and no caller number."""
    case = make_case(risk_level="critical", age_band="12_17", needs={"shelter", "medical"})
    sms = render_alert(case, place_name="Kéniéba", language=language, caller_phone="+22376123456")
    assert "K7F3Q" in sms.text and "Kenieba" in sms.text
    assert "+22376123456" not in sms.text  # no consent to be called back
    labels = default_catalogue()
    assert labels.label("risk", "critical", language).upper() in sms.text.upper()
    assert sms.encoding == "GSM-7" and sms.segments <= 2
    assert_gsm_within_two_segments(sms.text)


def test_caller_number_only_with_consent():
    """The caller's number is in the alert only when the caller consented to a call back."""
    case = make_case(consent_callback=True)
    assert "+22376123456" in render_alert(case, place_name="Gao", caller_phone="+22376123456").text
    assert "+22376123456" not in render_alert(make_case(), place_name="Gao", caller_phone="+22376123456").text


@pytest.mark.parametrize("language", SMS_LANGUAGES)
def test_longest_alert_fits_two_gsm_segments(language):
    """Every need, danger now, a callback and a very long place still fit two GSM-7 segments."""
    case = make_case(
        risk_level="critical",
        danger_now=True,
        age_band="unknown",
        sex="unknown",
        needs=ALL_NEEDS,
        consent_callback=True,
    )
    place = "Quartier Baco-Djicoroni ACI, près du goudron, Commune V, District de Bamako, Mali"
    sms = render_alert(case, place_name=place, language=language, caller_phone="+22376123456")
    assert sms.segments <= 2 and sms.length <= 306
    assert_gsm_within_two_segments(sms.text)
    assert "K7F3Q" in sms.text and "+22376123456" in sms.text


def test_bambara_letters_are_folded_for_gsm():
    """Bambara letters and French accents are folded so the alert stays GSM-7."""
    case = make_case(needs={"family_tracing"})
    sms = render_alert(case, place_name="Ségou", language="bm")
    assert "ɲ" not in sms.text and "ɛ" not in sms.text and "Segou" in sms.text
    sms.text.encode("gsm03.38")


STAFF_KEYS = ["help", "accepted", "declined", "closed", "capacity_updated", "info", "unknown_reference"]


@pytest.mark.parametrize("key", STAFF_KEYS)
@pytest.mark.parametrize("language", SMS_LANGUAGES)
def test_staff_messages_in_every_language_fit_one_segment(key, language):
    """Help text and acknowledgements exist in fr, bm and en, each one GSM-7 segment."""
    sms = render_staff_message(key, language=language, ref="K7F3Q", beds=3, desk_phone="+22320000101")
    assert sms.encoding == "GSM-7" and sms.segments == 1
    sms.text.encode("gsm03.38")


def test_unknown_text_or_language_raises():
    """An unknown message key or language raises CatalogueError."""
    with pytest.raises(CatalogueError):
        render_staff_message("no_such_text", language="fr")
    with pytest.raises(CatalogueError):
        render_staff_message("help", language="de")


def test_labels_cover_the_vocabulary():
    """Every risk level, age band, sex and need has a label in fr, bm and en."""
    catalogue = default_catalogue()
    for language in SMS_LANGUAGES:
        for group, keys in (("risk", RISK_LEVELS), ("age_band", AGE_BANDS), ("sex", SEXES), ("need", NEEDS)):
            for key in keys:
                assert catalogue.label(group, key, language)


def test_reasons_exist_in_english_and_french():
    """Every explanation sentence has an English and a French version."""
    catalogue = default_catalogue()
    for code, texts in catalogue.reasons.items():
        for language in REASON_LANGUAGES:
            assert texts.get(language), (code, language)


def test_measure_sms_counts_segments_and_encoding():
    """Segment counts follow GSM-7 160/153 and UCS-2 70/67, extension characters count twice."""
    assert measure_sms("a" * 160).segments == 1
    assert measure_sms("a" * 161).segments == 2
    assert measure_sms("{" * 80).length == 160
    assert measure_sms("ê" * 70).encoding == "UCS-2" and measure_sms("ê" * 71).segments == 2
