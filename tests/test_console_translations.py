"""The console in French: a complete, compiled catalogue, and pages with no English sentence or raw code left."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import get_args

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from flows.schema import CaseNode
from hotline.console.explanations import decision_lines, reason_text
from hotline.console.labels import has_label, label
from routing.directory import OpeningHours, load_demo_providers
from routing.engine import route
from routing.rules import load_rules
from routing.vocabulary import GROUPS, PROVIDER_KINDS, RISK_LEVELS, SERVICES
from tests.console_helpers import csrf_token, login, make_user, post_form
from tests.gateway_requests import send_at_sms
from tests.helpers import run_jobs
from tests.referral_helpers import BAMAKO_DANGER, GAO_DANGER, contact_phones, load_demo_directory, screen_case
from tests.routing.routing_helpers import make_case, make_provider

TRANSLATIONS = Path(__file__).resolve().parent.parent / "hotline" / "translations"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
ROOT = TRANSLATIONS.parent.parent
# The marking functions of the console's code and templates; a plural's id is its (singular, plural) pair.
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_ngettext": (1, 2)}
# French wants a space before : ; ? and !. These translations quote machine syntax, where there is none.
MACHINE_SYNTAX = ("Authorization: Bearer", '{"source": "..."}', "« colonne: valeur »")
# English the console used to show on French pages (from routing, the directory import and the templates).
ENGLISH = ("asked by", "alerted now", "the national desk", "in line if", "the caller", "consented",
           "did not consent", "a life comes before", "is missing", "is not a number", "is not a known",
           "cannot read hours", "is not a valid phone number", "is out of range", "codec", "not valid YAML",
           "rows are wrong", "row is wrong", "via console", "error(s)", "warning(s)", "providers.", "declined,")
# Codes the console used to show as they are stored.
RAW_CODES = ("job_offer", "danger_now", "danger_to_life", "needs_shelter", "child_protection", "national_desk",
             "risk_level=", "contact_position=", "deadline_seconds", "referrals=", "provider=", "police=consent",
             "exception:", "12_17", "18_25", "desk_asked", "role_alerted", "chosen:", "ranked:", "mon-thu",
             "bamako.commune", "hand_to_national_desk")


def _catalogue(path: Path, reader):
    with path.open("rb") as handle:
        return reader(handle) if reader is read_mo else reader(handle, locale="fr")


def _plain(value):
    # Plural entries come back as lists from the .mo and as tuples from the .po.
    return tuple(value) if isinstance(value, list | tuple) else value


class _VisibleText(HTMLParser):
    """The words a reader sees: text outside scripts, code, raw data, flow and SMS texts, and form fields."""

    HIDDEN = frozenset({"script", "style", "code", "pre", "textarea", "template", "option", "title"})

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.hidden: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag in self.HIDDEN or "sms" in classes or tag == "figure":
            self.hidden.append(tag)

    def handle_endtag(self, tag):
        if self.hidden and self.hidden[-1] == tag:
            self.hidden.pop()

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.words.append(" ".join(data.split()))


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " | ".join(parser.words)


def test_every_msgid_has_a_french_translation():
    """Every message of the French catalogue is translated (each plural form too) and none is fuzzy."""
    catalogue = _catalogue(PO, read_po)
    untranslated = [m.id for m in catalogue
                    if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))]
    assert untranslated == []
    assert len(catalogue) > 100


def test_compiled_catalogue_matches_the_po_file():
    """The committed .mo holds exactly the translations of the .po (run `pybabel compile` after editing)."""
    po = {_plain(m.id): _plain(m.string) for m in _catalogue(PO, read_po) if m.id}
    mo = {_plain(m.id): _plain(m.string) for m in _catalogue(MO, read_mo) if m.id}
    assert mo == po


def test_every_console_text_is_in_the_catalogue():
    """Each text marked for translation in the console's code and templates has an entry in the catalogue."""
    method_map = [("hotline/console/**.py", "python"), ("hotline/templates/console/**.html", "jinja2")]
    found = {message for _file, _line, message, _comments, _context in
             extract_from_dir(str(ROOT), method_map, keywords=KEYWORDS)}
    catalogue = {_plain(m.id) for m in _catalogue(PO, read_po) if m.id}
    assert found, "no text found: is the extraction looking in the right place?"
    assert any(isinstance(message, tuple) for message in found), "plural texts are not extracted"
    assert sorted(found - catalogue, key=str) == []


def test_french_punctuation_has_its_space():
    """In French a space comes before : ; ? and ! (a colon glued to its word, as in "appelant:", is a defect)."""
    glued = []
    for message in _catalogue(PO, read_po):
        for text in message.string if isinstance(message.string, tuple) else [message.string]:
            if not message.id or not text:
                continue
            for quoted in MACHINE_SYNTAX:
                text = text.replace(quoted, "")
            if re.search(r"[^\s\d][:;?!](\s|$)", text):
                glued.append(text)
    assert glued == []


def test_codes_shown_by_the_console_have_words_in_both_languages(app):
    """Reporters (job_offer too), risks, kinds, groups, services, routing roles and rules have a label in fr and en."""
    rules = load_rules()
    groups = {
        "reporter": get_args(CaseNode.model_fields["reporter"].annotation),
        "risk": RISK_LEVELS, "kind": PROVIDER_KINDS, "group": GROUPS, "service": SERVICES,
        "role": tuple(rules.roles), "alert_rule": tuple(alert.name for alert in rules.alerts),
        "police_exception": tuple(e.name for e in rules.police_consent.exceptions),
        "police_exception_reason": tuple(e.name for e in rules.police_consent.exceptions),
        "case_status": ("open", "referred", "unrouted", "closed"), "channel": ("ussd", "sms"),
        "candidate_outcome": ("chosen", "ranked", "left_out", "already_chosen"),
        "language": ("fr", "bm", "en"), "sms_provider": ("console",), "health": ("ok", "down"),
    }
    assert [(group, code) for group, codes in groups.items() for code in codes if not has_label(group, code)] == []
    with app.test_request_context():
        with force_locale("fr"):
            # Words that are the same in French are the only codes that may read as themselves.
            same = [(group, code) for group, codes in groups.items() for code in codes
                    if label(group, code) == code and code not in ("police", "gendarmerie", "protection")]
            assert same == []
            assert label("reporter", "job_offer") == "une personne qui vérifie une offre d’emploi"
        with force_locale("en"):
            assert label("reporter", "job_offer") == "someone checking a job offer"


@pytest.fixture
def french_world(app, client):
    """Two screened cases (Bamako with consent, Gao under the danger-to-life exception, its shelter declining),
    and one user of each role, in French (the console's default language)."""
    load_demo_directory(app)
    bamako = screen_case(app, client, "ATUid_fr_1", "+22376400081", BAMAKO_DANGER)
    gao = screen_case(app, client, "ATUid_fr_2", "+22376400082", GAO_DANGER)
    send_at_sms(client, contact_phones(app, "shelter.direy-ben.gao")[0], f"NON {gao} complet")
    run_jobs(app)
    emails = {role: make_user(app, role, provider="shelter.ajdm.bamako" if role == "provider_staff" else None)
              for role in ("admin", "operator", "provider_staff", "analyst")}
    return app, bamako, gao, emails


def _signed_in(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _assert_french(where: str, html: str, codes: tuple[str, ...] = RAW_CODES) -> None:
    text = visible_text(html)
    assert [phrase for phrase in ENGLISH if phrase in text] == [], where
    assert [code for code in codes if code in text] == [], where
    glued = re.findall(r"\w+[:;?!](?=\s|$)", text.replace("Authorization: Bearer", ""))
    assert glued == [], where


def test_case_page_explains_routing_and_its_timeline_in_french(french_world):
    """The routing explanation, consents, language and timeline of a case are French sentences, not codes."""
    app, _bamako, gao, emails = french_world
    page = _page(_signed_in(app, emails["operator"]), f"/console/cases/{gao}")
    _assert_french("case", page)
    routing = visible_text(page.split('id="routing"')[1].split('id="timeline"')[0])
    assert "Police : l’appelant n’a pas consenti, mais l’exception « danger de mort » s’applique" in routing
    assert "Rôle « centre d’accueil » : nécessaire car quelqu’un est en danger maintenant" in routing
    assert "alerté : la permanence nationale" in routing
    assert "(0,5 km) : choisie" in routing and "à 0,5 km : alertée maintenant" in routing
    assert "rappel : non · police : non" in page and 'id="case-language">français<' in page
    timeline = visible_text(page.split('id="timeline"')[1].split('id="personal-data"')[0])
    assert "risque : critique · flux : screening · canal : USSD" in timeline
    assert "contact n° 1 · réponse attendue sous 10 minutes" in timeline
    assert "Centre Direy Ben, Gao (demo) a refusé, et il ne reste aucune autre structure éligible" in timeline
    assert "via boîte d’envoi de la console" in timeline


def test_personal_data_shows_answers_in_words(french_world):
    """Revealed answers read "12 à 17 ans" and "oui" (the stored code stays in a tooltip only)."""
    app, bamako, _gao, emails = french_world
    client = _signed_in(app, emails["admin"])
    path = f"/console/cases/{bamako}"
    page = post_form(client, f"{path}/personal-data", token_from=path).get_data(as_text=True)
    shown = visible_text(page.split('id="personal-data"')[1])
    assert "12 à 17 ans" in shown and "Commune I (Bamako)" in shown and "oui" in shown
    assert "12_17" not in shown and "bamako.commune-i" not in shown and "yes" not in shown


def test_every_page_of_each_role_is_french(french_world):
    """Every page each role may open is free of the English sentences and raw codes the console used to show."""
    app, bamako, gao, emails = french_world
    pages = {
        "admin": ["/console/", "/console/cases", f"/console/cases/{gao}", "/console/providers",
                  "/console/providers/map", "/console/providers/new", "/console/providers/import", "/console/outbox",
                  "/console/users", "/console/flows", "/console/flows/screening", "/console/flows/screening/diff",
                  "/console/statistics", "/console/people", "/console/api-tokens"],
        "operator": ["/console/cases", f"/console/cases/{bamako}", "/console/providers", "/console/flows"],
        "provider_staff": ["/console/cases", f"/console/cases/{bamako}"],
        "analyst": ["/console/statistics"],
    }
    for role, paths in pages.items():
        client = _signed_in(app, emails[role])
        for path in paths:
            _assert_french(f"{role} {path}", _page(client, path))


def test_provider_list_shows_places_and_hours_in_words(french_world):
    """The directory shows "Commune V (Bamako)" and "lun.-jeu." instead of place codes and English day names."""
    app, _bamako, _gao, emails = french_world
    page = visible_text(_page(_signed_in(app, emails["operator"]), "/console/providers"))
    assert "Commune V (Bamako)" in page and "lun.-jeu. 08:00-16:00 ; ven. 08:00-12:30" in page
    assert "ouvert jour et nuit, tous les jours" in page


def _import(client, text: bytes, filename: str = "directory.csv"):
    return post_form(client, "/console/providers/import", {"file": (BytesIO(text), filename)},
                     token_from="/console/providers/import", content_type="multipart/form-data")


CSV_HEADER = b"id,name,kind,latitude,longitude,serves,hours,languages,contacts\n"


def test_import_names_each_bad_row_and_its_problem_in_french(french_world):
    """A bad CSV lists row, column and problem in French; a bad file says why in French too."""
    app, _bamako, _gao, emails = french_world
    client = _signed_in(app, emails["admin"])
    rows = (b"ngo.bad.gao,ONG,spaceship,16.27,abc,women,24/7,fr,+223 76 12 34 58\n"
            b"ngo.bad2.gao,,ngo,99,-0.04,aliens,never,fr,12\n")
    response = _import(client, CSV_HEADER + rows)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    # A file must hold the kinds' codes, so the import names them (each with its meaning).
    _assert_french("import", page, tuple(code for code in RAW_CODES if code not in PROVIDER_KINDS))
    problems = visible_text(page.split('id="row-errors"')[1])
    assert "<td>2</td><td><code>longitude</code></td><td>« abc » n’est pas un nombre en degrés décimaux</td>" in page
    assert "« spaceship » n’est pas une valeur connue ; utilisez : shelter (centre d’accueil)" in problems
    assert "<td>3</td><td><code>name</code></td><td>cette valeur manque</td>" in page
    assert "les horaires « never » ne peuvent pas être lus" in problems
    assert "« 12 » n’est pas un numéro de téléphone valide" in problems
    assert "99 est hors limites (de −90 à 90)" in problems
    assert "2 lignes sont erronées : rien n’a été importé." in page  # rows, not problems, are counted
    not_utf8 = _import(client, b"\xff\xfe\x00id").get_data(as_text=True)
    assert "Le fichier ne peut pas être lu : le fichier n’est pas du texte UTF-8" in not_utf8
    assert "codec" not in not_utf8
    bad_yaml = _import(client, b"providers: [1", "directory.yaml").get_data(as_text=True)
    assert "Le fichier ne peut pas être lu : ce n’est pas du YAML valide (ligne 2)" in bad_yaml
    columns = _import(client, b"nom,type\nx,y\n").get_data(as_text=True)
    assert "colonnes inconnues : nom, type ; les colonnes sont id, name" in columns


def test_provider_form_names_fields_by_their_labels(french_world):
    """The provider form's errors name the field as the form does ("Longitude : …"), not by its column code."""
    app, _bamako, _gao, emails = french_world
    client = _signed_in(app, emails["operator"])
    page = post_form(client, "/console/providers/new", {"id": "x.y", "name": "X", "kind": "ngo", "latitude": "a"})
    errors = visible_text(page.get_data(as_text=True).split('id="form-errors"')[1].split("</div>")[0])
    assert "Latitude : « a » n’est pas un nombre en degrés décimaux" in errors
    assert "Personnel à alerter : cette valeur manque" in errors and "contacts" not in errors


def test_counts_take_the_plural_form_of_their_number(french_world):
    """One bad row, one error, one provider read in the singular ("1 ligne est erronée"), in French and English."""
    app, _bamako, _gao, emails = french_world
    client = _signed_in(app, emails["admin"])
    one_bad = _import(client, CSV_HEADER + b"ngo.bad.gao,ONG,ngo,16.27,abc,women,24/7,fr,+223 76 12 34 58\n")
    assert "1 ligne est erronée : rien n’a été importé." in one_bad.get_data(as_text=True)
    editor = "/console/flows/screening"
    lint = client.post(f"{editor}/lint", json={"source": "id: screening\nfoo: [1"},
                       headers={"X-CSRFToken": csrf_token(client, editor)}).get_json()
    assert "1 erreur, 0 avertissement" in lint["problems_html"]
    assert f"{len(load_demo_providers())} prestataires." in _page(client, "/console/providers/map")
    post_form(client, "/console/language", {"lang": "en", "back": "/console/"})
    one_bad = _import(client, CSV_HEADER + b"ngo.bad.gao,ONG,ngo,16.27,abc,women,24/7,fr,+223 76 12 34 58\n")
    assert "1 row is wrong: nothing was imported." in one_bad.get_data(as_text=True)


def test_flow_editor_keeps_the_console_language_switcher(french_world):
    """The flow editor's languages (fr, bm, en) do not replace the console's switcher, which offers FR and EN."""
    app, _bamako, _gao, emails = french_world
    page = _page(_signed_in(app, emails["operator"]), "/console/flows/screening")
    switcher = page.split('class="lang-switch"')[1].split("</form>")[0]
    assert 'value="fr"' in switcher and 'value="en"' in switcher and 'value="bm"' not in switcher
    assert '<option value="bm">bambara</option>' in page  # the preview's filter names the flow's languages


def test_every_reason_a_provider_is_left_out_reads_in_french(app):
    """Serving others, lacking the service, no bed, closed, another language: each reason a French sentence."""
    closed = make_provider("shelter.closed", name="Foyer fermé", serves=frozenset({"men"}),
                           services=frozenset({"medical"}), beds_free=0, languages=("son",),
                           hours=OpeningHours.parse("mon-fri 08:00-09:00"))
    case = make_case(risk_level="high", needs=frozenset({"shelter"}))
    sunday = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
    decision = route(case, [closed, make_provider("shelter.open", lat=12.7)], load_rules(), now=sunday).to_dict()
    with app.test_request_context(), force_locale("fr"):
        lines = decision_lines(decision)
    left_out = next(line for line in lines if "Foyer fermé" in line.text)
    assert left_out.text.endswith(": écartée")
    assert left_out.details == [
        "elle accueille hommes, pas femmes",
        "elle n’offre pas ce service : centre d’accueil", "elle n’a aucun lit libre",
        "elle est fermée maintenant (dim. 14:00 ; horaires : lun.-ven. 08:00-09:00)",
        "elle ne parle pas français (elle parle songhaï)"]
    words = " ".join([line.text for line in lines] + [d for line in lines for d in line.details])
    assert [code for code in (*RAW_CODES, "high_risk", "left_out", "Sun") if code in words] == []


def test_reasons_stored_by_an_older_routing_still_read_in_french(app):
    """Decisions and escalations recorded before routing gave codes for everything are still worded in French."""
    older = [
        ({"code": "role_alerted", "params": {"asked_by": "critical", "names": "the national desk"}},
         "nécessaire car le risque est critique ; alerté : la permanence nationale"),
        ({"code": "closed_now", "params": {"hours": "mon-fri 08:00-17:00", "time": "Sun 14:05"}},
         "elle est fermée maintenant (dim. 14:05 ; horaires : lun.-ven. 08:00-17:00)"),
        ({"code": "esc_desk", "params": {"provider": "A", "why": "declined",
                                         "left": "3 providers of this role have been tried"}},
         "A a refusé, et 3 structures de ce rôle ont été essayées : confier le cas à la permanence nationale"),
        ({"code": "a_code_from_later", "params": {}, "sentence": "routing's own sentence"}, "routing's own sentence"),
    ]
    with app.test_request_context(), force_locale("fr"):
        assert [reason_text(reason) for reason, _french in older] == [french for _reason, french in older]
