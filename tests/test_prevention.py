"""Prevention through the USSD webhook: the main menu, a job check that opens a case, help near the caller."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.db import get_session
from hotline.models import Case, Conversation
from tests.conftest import gateway_settings
from tests.gateway_requests import send_ussd, ussd_session
from tests.helpers import run_jobs
from tests.referral_helpers import load_demo_directory, referrals_of

CALLER = "+22376500001"
# French; 2 check a job offer; continue; a middleman; abroad; travel to repay; papers not kept; pay clear;
# leave in a hurry; not a child -> high reading; continue; open a case; region 8 (Gao); cercle Gao;
# call back yes; police yes.
JOB_CHECK_HIGH = ["1", "2", "1", "3", "4", "3", "2", "1", "1", "2", "1", "1", "8", "1", "1", "1"]
# French; 4 help near me; region 8 (Gao); cercle Gao.
HELP_FROM_GAO = ["1", "4", "8", "1"]
# Names of the shelters of the demo directory, which help lists must never show.
SHELTERS = ("AJDM", "Direy Ben")


@pytest.fixture
def app_overrides(fake_gateway):
    return {**gateway_settings(fake_gateway, "africastalking"), "HOTLINE_USSD_FLOW": "main"}


@pytest.fixture
def directory(app):
    load_demo_directory(app)
    return app


def conversation_of(app, session_id: str) -> Conversation:
    with app.app_context():
        session = get_session()
        session.expire_all()
        return session.scalar(select(Conversation).where(Conversation.gateway_session_id == session_id))


@pytest.mark.parametrize(("choice", "flow_id", "first_screen"), [
    ("1", "screening", "Ce service est gratuit et confidentiel"),
    ("2", "job-check", "Vérifiez une offre d'emploi"),
    ("3", "rights", "La traite, c'est tromper"),
    ("4", "help-near-me", "Aide près de chez vous. Choisissez la région"),
])
def test_main_menu_reaches_each_flow_in_the_chosen_language(app, client, choice, flow_id, first_screen):
    """Each main-menu option starts its flow in the same session, in French, without asking the language again."""
    screens = ussd_session(client, f"ATUid_menu_{choice}", CALLER, ["1", choice])
    assert screens[0].startswith("CON Langue / Kan / Language")
    assert "4. Aide près de chez vous" in screens[1] and "98." not in screens[1]
    assert screens[2].startswith("CON ") and first_screen in screens[2], screens[2]
    assert "Langue" not in screens[2]
    assert all(len(s) - 4 <= 182 for s in screens)
    conversation = conversation_of(app, f"ATUid_menu_{choice}")
    assert conversation.flow_id == flow_id
    assert conversation.state["flow"] == flow_id
    assert conversation.state["case_ref"] == conversation.case_reference
    assert conversation.ussd_text_consumed == len(f"1*{choice}")


def test_switched_session_goes_on_in_the_new_flow_and_skips_a_gateway_retry(app, client):
    """After the switch the next hops step the job check, and a resent hop gets the same screen."""
    ussd_session(client, "ATUid_next", CALLER, ["1", "2"])
    after = send_ussd(client, "ATUid_next", CALLER, "1*2*1").get_data(as_text=True)
    assert "Qui vous propose ce travail" in after
    again = send_ussd(client, "ATUid_next", CALLER, "1*2*1").get_data(as_text=True)
    assert again == after
    bambara = ussd_session(client, "ATUid_bm", "+22376500009", ["2", "2"])
    assert "Baara dili laje sani i ka taa" in bambara[-1]  # Bambara letters folded for USSD


def test_dial_string_with_answers_crosses_into_the_chosen_flow(app, client):
    """A dial such as *384*77*1*3# carries the menu answers: the rights flow's first screen comes back."""
    screen = send_ussd(client, "ATUid_dial", CALLER, "1*3").get_data(as_text=True)
    assert screen.startswith("CON La traite, c'est tromper")
    assert conversation_of(app, "ATUid_dial").flow_id == "rights"


def test_help_near_me_from_gao_lists_gao_before_bamako(directory, client):
    """From Gao: the Gao services first (phones only where published), then the national desk in Bamako."""
    screens = ussd_session(client, "ATUid_help", CALLER, [*HELP_FROM_GAO, "98", "98", "1", "1"])
    listing = "\n".join(screens[4:8])
    assert screens[4].startswith("CON Aide près de Gao :")
    assert "Santé, Gao, tél +22320000201 : Hopital regional de Gao" in screens[4]
    assert "Police, Gao, tél +22320000194" in screens[5]
    child_office = screens[6]
    assert "Protection de l'enfant, Gao : Direction regionale" in child_office
    assert "tél" not in child_office  # this office publishes no phone
    assert "Permanence nationale anti-traite (demo), Commune III, Bamako, tél +22320000101" in screens[7]
    assert listing.index("Gao") < listing.index("Bamako")
    assert "Bamako" not in "\n".join(screens[4:7])
    assert not any(name in s for s in screens for name in SHELTERS)
    assert screens[-1].startswith("END Pour un abri sur, appelez le 8000")  # û is folded for USSD
    assert all(len(s) - 4 <= 182 for s in screens)


def test_help_near_me_without_a_directory_says_to_call(app, client):
    """With no provider in the database, the list says so and gives the hotline number."""
    screens = ussd_session(client, "ATUid_empty", CALLER, HELP_FROM_GAO)
    assert "Aucun service connu près de ce lieu. Appelez le 8000" in screens[-1]


def test_high_job_check_with_consent_opens_a_routed_case(directory, client):
    """A high job-check reading with consent becomes a case under the conversation's reference, routed."""
    app = directory
    screens = ussd_session(client, "ATUid_job", CALLER, JOB_CHECK_HIGH)
    reading = screens[10]
    assert reading.startswith("CON Risque ÉLEVÉ"), reading
    assert "Voyage à rembourser" in reading and "Départ pressé ou secret" in reading
    assert screens[-1].startswith("END Merci. Votre référence :")
    run_jobs(app)
    conversation = conversation_of(app, "ATUid_job")
    assert conversation.flow_id == "job-check" and conversation.status == "completed"
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.reference == conversation.case_reference))
        assert case is not None and case.reference in screens[-1]
        assert (case.flow_id, case.reporter, case.risk_level) == ("job-check", "job_offer", "high")
        assert case.flow_version_id == conversation.flow_version_id
        assert {i["id"] for i in case.indicators} == {
            "offer_unknown_recruiter", "offer_risky_destination", "offer_travel_debt", "offer_rushed_or_secret"}
        assert case.place_code == "gao.gao"
        assert case.consent_police is True and case.consent_callback is True
        assert case.status == "referred"
    referrals = referrals_of(app, conversation.case_reference)
    assert referrals, "the case was not routed"
    assert all(status == "alerted" for _, _, status, _ in referrals)
    assert any(code.endswith(".gao") for _, code, _, _ in referrals)


def test_job_check_without_a_case_opens_none(app, client):
    """Declining the case after a high reading ends with advice and no case."""
    screens = ussd_session(client, "ATUid_nocase", CALLER, [*JOB_CHECK_HIGH[:11], "2"])
    assert screens[-1].startswith("END D'accord. Ne partez pas sans vos papiers")
    with app.app_context():
        assert get_session().scalars(select(Case)).first() is None
