"""Tests of the engine: stop, help, back, pagination, misses, resume, expiry, state, cases."""

from __future__ import annotations

import copy
import json

import pytest
from flows_helpers import FULL_SMS, FULL_USSD, TO_DANGER, drive

from flows import (
    EventKind,
    FlowMismatch,
    is_expired,
    load_flow_text,
    offer_resume,
    resume_decision,
    start,
    step,
)

MINI = """
id: mini
version: "3"
languages: [fr, en]
default_language: fr
start: code
variables: {danger_now: false, minor: false, age_band: null, sex: null,
            consent_callback: false, consent_police: false, doubled: null, picks: null}
nodes:
  code:
    kind: input
    text: {fr: "Votre code ?", en: "Your code?"}
    hint: {fr: "Deux lettres et trois chiffres.", en: "Two letters, three digits."}
    validate: {type: pattern, pattern: "[A-Z]{2}[0-9]{3}"}
    save_as: code_value
    next: count
  count:
    kind: input
    text: {fr: "Combien ?", en: "How many?"}
    validate: {type: number, min: 1, max: 9}
    save_as: count_value
    next: double
  double:
    kind: actions
    compute: {doubled: "count_value * 2"}
    score: 2
    next: pick
  pick:
    kind: menu
    multiple: true
    text: {fr: "Choisissez", en: "Choose"}
    save_as: picks
    next: note
    options:
      - {value: a, label: {fr: Abri, en: Shelter}, needs: [shelter]}
      - {value: b, label: {fr: Soins, en: Care}, needs: [medical]}
  note:
    kind: input
    text: {fr: "Un mot ?", en: "A word?"}
    validate: {type: text, max_length: 5}
    save_as: word
    next: case
  case:
    kind: case
    next: bye
  bye:
    kind: end
    text: {fr: "Fin {{ doubled }} {{ word }} {{ answers.count }}", en: "End {{ doubled }}"}
"""


@pytest.fixture(scope="module")
def mini():
    """A small flow exercising inputs, computes, multiple choice and a template."""
    return load_flow_text(MINI, "mini.yaml")


def test_start_shows_language_menu_on_both_channels(screening):
    """The first screen is the language menu, and SMS outputs know their encoding."""
    state, out = start(screening, "ussd", case_ref="R1")
    assert out.continues and out.node == "language" and "1. Francais" in out.text
    assert out.encoding is None and out.length == len(out.text) <= 182
    state, out = start(screening, "sms", case_ref="R1")
    assert "1. Français" in out.text
    assert (out.encoding, out.segments) == ("UCS-2", 1)
    assert state["flow"] == "screening" and state["flow_version"] == screening.version


def test_language_choice_emits_event_and_switches_texts(screening):
    """Choosing Bambara emits LANGUAGE_SET and the next screen is in Bambara."""
    state, outs = drive(screening, "sms", ["2"])
    assert outs[-1].event(EventKind.LANGUAGE_SET).data == {"language": "bm"}
    assert state["lang"] == "bm" and "fu ye" in outs[-1].text


def test_keyword_language_skips_the_language_menu(screening):
    """A preset language (from an SMS keyword) starts at the introduction."""
    assert screening.keyword_language("farati") == "bm"
    _state, out = start(screening, "sms", case_ref="R1", lang="bm")
    assert out.node == "intro" and out.event(EventKind.LANGUAGE_SET) is not None


@pytest.mark.parametrize("word", ["STOP", "arret", "ARRÊT", "Dabila", "stop!"])
def test_stop_words_end_and_forget_the_session(screening, word):
    """Every stop word, in any language, ends the session and clears the answers."""
    state, outs = drive(screening, "ussd", [*TO_DANGER, "1", word])
    out = outs[-1]
    assert not out.continues and out.event(EventKind.STOPPED) is not None
    assert "8000" in out.text
    assert state["done"] == "stopped" and state["answers"] == {} and state["vars"] == {}
    assert state["hits"] == [] and state["case_ref"] is None and state["history"] == []


@pytest.mark.parametrize("word", ["AIDE", "help", "DÈMÈ", "dɛmɛ"])
def test_help_repeats_the_question_with_a_hint_without_a_miss(screening, word):
    """Help words repeat the current question with its hint and do not count as misses."""
    state, outs = drive(screening, "sms", [*TO_DANGER, word, word, word])
    assert outs[-1].continues and outs[-1].node == "danger"
    assert "numéro de votre choix" in outs[-1].text and "danger" in outs[-1].text
    assert state["misses"] == 0


def test_three_misses_end_safely_with_the_hotline_number(screening):
    """The third invalid reply in a row gives the safe closing text, never a dead end."""
    state, outs = drive(screening, "ussd", [*TO_DANGER, "9", "x"])
    assert all("non comprise" in o.text for o in outs[-2:])
    state, out = step(screening, state, "banana")
    assert not out.continues and "8000" in out.text
    assert out.event(EventKind.FAILED_SAFE).data["reason"] == "three_misses"
    assert state["done"] == "failed" and state["answers"] == {}


def test_a_good_answer_resets_the_miss_count(screening):
    """Misses only count in a row: a valid answer starts the count again."""
    state, outs = drive(screening, "ussd", [*TO_DANGER, "9", "9", "2", "9", "9"])
    assert outs[-1].continues and state["misses"] == 2


def test_ussd_pagination_and_back_keep_numbering(screening):
    """98 shows the next page with continued numbers, 0 goes back a page, then a node."""
    replies = [*TO_DANGER, "2", "2", "1"]
    state, outs = drive(screening, "ussd", replies)
    first = outs[-1]
    assert first.node == "situation" and first.pages == 2 and "98. Suite" in first.text
    state, second = step(screening, state, "98")
    assert second.page == 1 and second.text.startswith("6. Transport")
    assert "0. Retour" in second.text and len(second.text) <= 182
    state, out = step(screening, state, "7")  # an option of page 2 chosen on page 2
    assert state["answers"]["situation"] == "armed_group" and out.node == "documents"
    assert "armed_group_recruitment" in [h["indicator"] for h in state["hits"]]
    state, out = step(screening, state, "0")
    assert out.node == "situation" and "situation" not in state["answers"]
    assert out.page == 1  # back to the page the answer was given on
    assert [h["indicator"] for h in state["hits"]] == ["child_under_18"]
    state, out = step(screening, state, "0")
    assert out.page == 0 and "Quelle est votre situation" in out.text
    state, out = step(screening, state, "0")
    assert out.node == "sex" and "sex" not in state["answers"]


def test_back_undoes_variables_indicators_and_language(screening):
    """Going back restores what the previous answer recorded, language included."""
    state, _outs = drive(screening, "ussd", ["3", "ok", "1", "1"])
    assert state["vars"]["danger_now"] is True and state["hits"]
    state, out = step(screening, state, "0")
    assert out.node == "danger" and state["vars"]["danger_now"] is False
    assert state["hits"] == [] and "danger" not in state["answers"]
    for _ in range(3):
        state, out = step(screening, state, "0")
    assert out.node == "language" and state["lang"] == "fr"


def test_zero_on_sms_is_an_ordinary_invalid_answer(screening):
    """On SMS, 0 is not a back command (SMS menus show no back line)."""
    state, outs = drive(screening, "sms", [*TO_DANGER, "0"])
    assert outs[-1].node == "danger" and state["misses"] == 1


def test_full_screening_makes_a_case_on_both_channels(screening):
    """A complete screening emits one CASE_READY with an explainable risk."""
    for channel, replies in (("ussd", FULL_USSD), ("sms", FULL_SMS)):
        state, outs = drive(screening, channel, replies, case_ref="CASE0042")
        cases = [e for o in outs for e in o.events if e.kind == EventKind.CASE_READY]
        assert len(cases) == 1
        case = cases[0].data
        assert {"case_ref", "flow_id", "flow_version", "vocabulary_version", "channel",
                "language", "reporter", "risk_level", "score", "risk_reasons", "indicators",
                "extra_points", "needs", "place", "age_band", "sex", "minor", "danger_now",
                "consent", "answers", "variables"} <= set(case)
        assert case["case_ref"] == "CASE0042" and case["channel"] == channel
        assert case["risk_level"] == "critical" and case["minor"] is True
        assert case["place"]["code"] == "ML-BKO-C4"
        assert case["needs"] == ["shelter", "medical"]
        documents = next(i for i in case["indicators"]
                         if i["id"] == "retention_of_identity_documents")
        assert documents["sources"] == [{"node": "documents", "answer": "yes"}]
        assert documents["points"] == 3
        assert {"rule": "threshold", "level": "critical", "score": case["score"],
                "threshold": 12} in case["risk_reasons"]
        assert "CASE0042" in outs[-1].text and not outs[-1].continues
        assert state["done"] == "ended" and state["case_sent"] is True
        json.dumps(case)


def test_danger_now_makes_a_critical_case_even_with_no_other_indicator(screening):
    """Danger now is critical whatever the score."""
    replies = ["1", "ok", "1", "1", "3", "3", "1", "1", "6", "2", "2"]
    _state, outs = drive(screening, "ussd", replies)
    case = outs[-1].event(EventKind.CASE_READY).data
    assert case["score"] == 5 and case["risk_level"] == "critical"
    assert case["danger_now"] is True
    assert {"rule": "indicator", "indicator": "immediate_danger",
            "at_least": "critical"} in case["risk_reasons"]


def test_steps_are_deterministic_and_never_change_the_given_state(screening):
    """The same state and reply give the same result, and the input state is untouched."""
    state, _ = drive(screening, "ussd", [*TO_DANGER, "2", "2"])
    frozen = copy.deepcopy(state)
    first = step(screening, state, "1")
    second = step(screening, state, "1")
    assert first == second
    assert state == frozen


def test_state_survives_a_json_round_trip_at_every_step(screening):
    """The state is plain JSON: a session stored and reloaded at each step ends the same."""
    direct, outs_direct = drive(screening, "sms", FULL_SMS)
    state, out = start(screening, "sms", case_ref="REF00001")
    for reply in FULL_SMS:
        state = json.loads(json.dumps(state))
        state, out = step(screening, state, reply)
    assert out == outs_direct[-1]
    assert state == direct


def test_a_session_is_pinned_to_its_flow_version(screening, screening_text):
    """A state started on one version is refused by another version of the flow."""
    state, _ = start(screening, "ussd", case_ref="R")
    newer = load_flow_text(screening_text.replace('version: "2025.1"', 'version: "2025.2"'),
                           "screening.yaml")
    with pytest.raises(FlowMismatch):
        step(newer, state, "1")
    with pytest.raises(FlowMismatch):
        offer_resume(newer, state, "ussd")


def test_resume_continues_where_the_session_was(screening):
    """After a redial, 1 continues at the same node and page."""
    state, _ = drive(screening, "ussd", [*TO_DANGER, "2", "2", "1", "98"])
    state, out = offer_resume(screening, state, "ussd")
    assert "1. Continuer" in out.text and "2. Recommencer" in out.text and out.continues
    state, out = step(screening, state, "1")
    assert out.node == "situation" and out.page == 1 and out.text.startswith("6.")
    assert state["resume"] is False


def test_resume_can_start_again_keeping_the_reference(screening):
    """2 (or the word) starts the flow again from the start with no old answers."""
    state, _ = drive(screening, "sms", [*TO_DANGER, "1"], case_ref="KEEP01")
    state, out = offer_resume(screening, state, "sms")
    state, out = step(screening, state, "Recommencer")
    assert out.node == "language" and state["answers"] == {} and state["hits"] == []
    assert state["case_ref"] == "KEEP01"


def test_resume_question_has_help_stop_and_misses(screening):
    """The resume question understands help and stop, and fails safe after three misses."""
    state, _ = drive(screening, "ussd", TO_DANGER)
    resumed, _ = offer_resume(screening, state, "ussd")
    _, out = step(screening, resumed, "AIDE")
    assert "numéro de votre choix" in out.text
    _, out = step(screening, resumed, "STOP")
    assert out.event(EventKind.STOPPED) is not None
    again = resumed
    for _ in range(3):
        again, out = step(screening, again, "7")
    assert out.event(EventKind.FAILED_SAFE) is not None


def test_resume_of_a_finished_session_is_refused(screening):
    """There is nothing to resume once a session is over."""
    state, _ = drive(screening, "ussd", ["STOP"])
    with pytest.raises(ValueError, match="over"):
        offer_resume(screening, state, "ussd")


def test_a_reply_to_a_finished_session_still_gets_a_safe_screen(screening):
    """A stray reply after the end gives the safe closing text, not an exception."""
    state, _ = drive(screening, "ussd", ["STOP"])
    state, out = step(screening, state, "1")
    assert not out.continues and "8000" in out.text
    assert out.event(EventKind.FAILED_SAFE).data["reason"] == "session_over"


def test_expiry_uses_the_flow_windows_and_the_given_clock(screening):
    """SMS sessions expire after 12 h in the shipped flow, USSD resumes within 10 min."""
    assert not is_expired(screening, 1000, 1000 + 719 * 60, "sms")
    assert is_expired(screening, 1000, 1000 + 720 * 60, "sms")
    assert not is_expired(screening, 1000, 1000 + 599, "ussd")
    assert is_expired(screening, 1000, 1000 + 600, "ussd")


def test_resume_decision_follows_the_flow_settings(screening):
    """What a new message does to an unfinished session depends on channel and silence."""
    state, _ = drive(screening, "sms", TO_DANGER)
    assert resume_decision(screening, state, 0, 60, "sms") == "continue"
    assert resume_decision(screening, state, 0, 13 * 3600, "sms") == "offer_resume"
    assert resume_decision(screening, state, 0, 4 * 86400, "sms") == "restart"
    assert resume_decision(screening, state, 0, 60, "ussd") == "offer_resume"
    assert resume_decision(screening, state, 0, 3600, "ussd") == "restart"
    ended, _ = drive(screening, "sms", ["STOP"])
    assert resume_decision(screening, ended, 0, 60, "sms") == "restart"
    assert resume_decision(screening, None, 0, 60, "sms") == "restart"


def test_unknown_channel_or_language_is_refused(screening):
    """start() refuses a channel or a language the flow does not have."""
    with pytest.raises(ValueError, match="channel"):
        start(screening, "whatsapp", case_ref="R")
    with pytest.raises(ValueError, match="language"):
        start(screening, "sms", case_ref="R", lang="son")


def test_inputs_validate_patterns_numbers_and_text(mini):
    """Pattern, number range and text length are checked; computes and score apply."""
    state, outs = drive(mini, "sms", ["ab123", "AB123", "12", "3 fois", "1, 2", "bonjour"])
    assert "Deux lettres et trois chiffres." in outs[1].text
    assert "entre 1 et 9" in outs[3].text
    assert state["vars"]["code_value"] == "AB123" and state["vars"]["count_value"] == 3
    assert state["vars"]["doubled"] == 6 and state["vars"]["word"] == "bonjo"
    assert state["vars"]["picks"] == ["a", "b"] and state["needs"] == ["shelter", "medical"]
    case = outs[-1].event(EventKind.CASE_READY).data
    assert case["score"] == 2 and case["extra_points"] == [
        {"node": "double", "answer": None, "points": 2}]
    assert outs[-1].text == "Fin 6 bonjo 3"


def test_multiple_choice_accepts_words_and_numbers(mini):
    """A multiple-choice menu takes '1 2', '2,1' or words joined by 'et'."""
    for reply in ("1 2", "2,1", "abri et soins"):
        state, _ = drive(mini, "sms", ["AB123", "3", reply])
        assert sorted(state["vars"]["picks"]) == ["a", "b"]
    state, outs = drive(mini, "sms", ["AB123", "3", "1 7"])
    assert state["misses"] == 1 and outs[-1].node == "pick"


def test_a_template_that_fails_at_run_time_ends_safely(mini):
    """An internal failure gives the safe closing screen and a FAILED_SAFE event."""
    broken = load_flow_text(MINI.replace("{{ doubled }} {{ word }}",
                                         "{{ doubled + word }}"), "mini.yaml")
    _state, outs = drive(broken, "ussd", ["AB123", "3", "1", "mot"])
    out = outs[-1]
    assert not out.continues and "8000" in out.text
    assert out.event(EventKind.FAILED_SAFE).data["reason"] == "error"


def test_sms_words_with_typos_and_other_languages_are_understood(screening):
    """Answers match by label or synonym, accent- and case-insensitively, with typos."""
    state, _outs = drive(screening, "sms", ["FRANCAIS", "ok", "OUÍ", "nn"])
    assert state["answers"]["safe_now"] == "yes" and state["misses"] == 1
    for reply in ("Non", "plus de 40 ans", "garcon", "orpailage"):
        state, _out = step(screening, state, reply)
    assert state["answers"]["situation"] == "mining"
    state, _out = step(screening, state, "yes")  # an English word in a French session
    assert state["answers"]["documents"] == "yes"


def test_location_by_text_resolves_exact_ambiguous_and_unknown(screening):
    """SMS asks a place in words: exact goes on, ambiguous asks to choose, unknown falls back."""
    base = [*TO_DANGER, "1", "3", "1"]
    state, outs = drive(screening, "sms", [*base, "je suis à Kéniéba"])
    assert state["vars"]["place"]["code"] == "ML-1-KEN" and outs[-1].node == "needs"
    state, outs = drive(screening, "sms", [*base, "Sirakoro"])
    assert "1. Kita (Kayes)" in outs[-1].text and "3. Aucun de ces lieux" in outs[-1].text
    state, out = step(screening, state, "3")
    assert "Où êtes-vous ? Choisissez la région" in out.text
    state, out = step(screening, state, "2")
    state, out = step(screening, state, "Kita")
    assert state["vars"]["place"]["code"] == "ML-1-KIT"
    state, outs = drive(screening, "sms", [*base, "Tombouctouu"])
    assert state["vars"]["place"]["code"] == "ML-6-TOM"
    state, outs = drive(screening, "sms", [*base, "Lagos"])
    assert "Lieu non trouvé" in outs[-1].text and "12. Je ne sais pas" in outs[-1].text
    state, out = step(screening, state, "Yanfolila")
    assert state["vars"]["place"]["code"] == "ML-3-YAN"


def test_location_menus_accept_unknown_and_a_region_without_cercle(screening):
    """'I don't know' at the region leaves no place; at the cercle it keeps the region."""
    base = [*TO_DANGER, "1", "3", "1"]
    state, _ = drive(screening, "ussd", [*base, "12"])
    assert state["vars"]["place"] is None and state["answers"]["where"] is None
    state, _ = drive(screening, "ussd", [*base, "7", "6"])
    assert state["vars"]["place"]["code"] == "ML-6"


def test_location_uses_the_directory_given(screening):
    """A caller-supplied directory (the gazetteer) replaces the demo places."""
    from flows import StaticPlaceDirectory

    places = StaticPlaceDirectory([{"code": "R1", "name": "Nord", "latitude": 1,
                                    "longitude": 2, "cercles": []}])
    base = [*TO_DANGER, "1", "3", "1"]
    state, outs = drive(screening, "ussd", base, places=places)
    assert "1. Nord" in outs[-1].text and "2. Je ne sais pas" in outs[-1].text
    state, out = step(screening, state, "1", places=places)
    assert state["vars"]["place"]["code"] == "R1" and out.node == "needs"


def test_the_loaded_flow_caches_static_screens(screening):
    """Static screens are rendered once per flow and reused across sessions."""
    drive(screening, "ussd", TO_DANGER)
    size = len(screening.screen_cache)
    drive(screening, "ussd", TO_DANGER, case_ref="OTHER")
    assert len(screening.screen_cache) == size > 0


def many_regions(count: int):
    """A demo-style directory with `count` regions and no cercles."""
    from flows import StaticPlaceDirectory

    return StaticPlaceDirectory([{"code": f"R{i}", "name": f"Région numéro {i}",
                                  "latitude": 0, "longitude": 0, "cercles": []}
                                 for i in range(1, count + 1)])


def test_a_long_sms_region_menu_comes_in_pages_within_the_budget(screening):
    """On SMS a region list over the budget is paged: 98 or 'suite' shows the next page."""
    places = many_regions(30)
    base = [*TO_DANGER, "1", "3", "1"]
    state, outs = drive(screening, "sms", [*base, "Lagos"], places=places)
    first = outs[-1]
    assert first.pages > 1 and first.page == 0
    assert first.segments <= screening.settings.sms_segment_budget
    assert "Lieu non trouvé" in first.text and first.text.endswith("98. Suite")
    state, second = step(screening, state, "98", places=places)
    assert second.page == 1 and "Lieu non trouvé" not in second.text
    first_numbers = {line.split(".")[0] for line in first.text.split("\n")[1:-1]}
    assert not first_numbers & {line.split(".")[0] for line in second.text.split("\n")}
    while state["page"] + 1 < second.pages:
        state, second = step(screening, state, "suite", places=places)
    assert "31. Je ne sais pas" in second.text and "98." not in second.text
    state, out = step(screening, state, "2", places=places)  # an earlier page's number
    assert state["vars"]["place"]["code"] == "R2" and out.node == "needs"


def test_98_on_an_sms_menu_that_fits_is_an_ordinary_answer(screening):
    """Without more pages, 98 on SMS is just a wrong answer."""
    state, outs = drive(screening, "sms", [*TO_DANGER, "98"])
    assert "Réponse non comprise" in outs[-1].text and state["misses"] == 1


def test_same_named_places_can_be_chosen_by_their_region(screening):
    """'Sirakoro' is in Kita and Kati: replying the region in brackets chooses it."""
    base = [*TO_DANGER, "1", "3", "1"]
    state, _ = drive(screening, "sms", [*base, "Sirakoro", "Koulikoro"])
    assert state["vars"]["place"]["code"] == "ML-2-KTI"
    state, outs = drive(screening, "sms", [*base, "Sirakoro", "Sirakoro"])
    assert "Réponse non comprise" in outs[-1].text  # the shared name alone is unclear
