"""Tests of SMS encoding and segment counts, and of the USSD text folding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flows import sms_encoding, ussd_safe
from flows.sms_text import is_gsm7
from flows.textfold import normalize_answer


def test_160_plain_characters_are_one_gsm_segment():
    """160 GSM characters fit one segment."""
    assert sms_encoding("a" * 160) == sms_encoding("a" * 160)
    enc = sms_encoding("a" * 160)
    assert (enc.encoding, enc.segments, enc.length) == ("GSM-7", 1, 160)


def test_161_characters_need_two_segments():
    """161 GSM characters need two segments of 153."""
    assert sms_encoding("a" * 161).segments == 2
    assert sms_encoding("a" * 306).segments == 2
    assert sms_encoding("a" * 307).segments == 3


def test_cedilla_forces_ucs2():
    """'ç' is not in the GSM alphabet, so the whole text goes UCS-2 (70/67)."""
    assert sms_encoding("ça va").encoding == "UCS-2"
    assert sms_encoding("ç" * 70).segments == 1
    assert sms_encoding("ç" * 71).segments == 2
    assert sms_encoding("ç" * 135).segments == 3


def test_bambara_letters_force_ucs2_and_accents_e_stay_gsm():
    """Bambara ɛ forces UCS-2, while é and è are GSM characters."""
    assert sms_encoding("dɛmɛ").encoding == "UCS-2"
    assert sms_encoding("été très").encoding == "GSM-7"


def test_extension_characters_count_two_septets():
    """'€' and '[' are escaped GSM characters and count as two septets."""
    assert sms_encoding("€").length == 2
    assert sms_encoding("[").length == 2
    assert sms_encoding("€" * 80).segments == 1
    assert sms_encoding("€" * 81).segments == 2


def test_escape_sequence_never_straddles_two_segments():
    """An escaped character that would be split moves whole to the next segment."""
    text = "a" * 152 + "€" + "a" * 152 + "€"  # 308 septets, but the first € ends at 154
    assert sms_encoding(text).length == 308
    assert sms_encoding(text).segments == 3


def test_surrogate_pairs_count_two_units():
    """Characters outside the BMP count as two UCS-2 units."""
    assert sms_encoding("🙂").length == 2
    assert sms_encoding("🙂" * 35).segments == 1
    assert sms_encoding("🙂" * 36).segments == 2


def test_empty_text_is_one_segment():
    """An empty message still costs one segment."""
    assert sms_encoding("").segments == 1


def test_ussd_fold_spells_bambara_letters():
    """USSD text spells Bambara letters the usual way and folds other non-GSM letters."""
    assert ussd_safe("Ɲɛ ɔ ŋ ɲ Ɛ Ɔ") == "Nye o ng ny E O"
    assert ussd_safe("Êtes-vous sûr ? ça") == "Etes-vous sur ? ca"
    assert ussd_safe("prix [10€]") == "prix (10EUR)"


@given(st.text(max_size=300))
def test_ussd_fold_is_single_septet_gsm(text):
    """Whatever the input, folded USSD text is GSM-7 with one septet per character."""
    folded = ussd_safe(text)
    assert is_gsm7(folded)
    assert sms_encoding(folded).length == len(folded)


@given(st.text(max_size=400))
def test_segments_agree_with_length(text):
    """Segment counts never fall below what the length implies."""
    enc = sms_encoding(text)
    if enc.encoding == "GSM-7":
        assert enc.segments == 1 if enc.length <= 160 else enc.segments >= -(-enc.length // 153)
    else:
        assert enc.segments == 1 if enc.length <= 70 else enc.segments >= -(-enc.length // 67)


def test_answers_compare_without_case_accents_or_punctuation():
    """Stop and help words match however they are typed."""
    assert normalize_answer("ARRÊT !") == normalize_answer("arret") == "arret"
    assert normalize_answer("DƐMƐ") == normalize_answer("dèmè") == "deme"
