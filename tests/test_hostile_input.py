"""Hostile input at every webhook, and hostile text in the console: never a 500, never a hang, never raw HTML."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from hotline.db import get_session
from hotline.models import Case, Contact, Conversation, DurableJob, InboundMessage, OutboundMessage, Provider
from tests.conftest import gateway_settings
from tests.console_helpers import login, make_user, post_form
from tests.gateway_requests import AT_TOKEN, send_at_sms, twilio_signature
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

EXAMPLE_CHANNEL = Path(__file__).resolve().parent.parent / "hotline" / "channels" / "examples" / "aggregator-ussd.yaml"
HTTP_TOKEN = "aggregator-secret"
SMS_CHANNEL = """\
id: form-sms
kind: sms
request:
  format: form
  fields: {sender: from, text: body, message_id: msgid}
auth: {token_param: token, token_env: HOSTILE_SMS_TOKEN}
"""
# What a refused request must leave untouched, and what an accepted one may add to.
STORED = (Contact, InboundMessage, Conversation, DurableJob)
HOSTILE_TEXT = "<script>alert(1)</script>'; DROP TABLE cases;--"
_ids = itertools.count(1)


@pytest.fixture
def app_overrides(tmp_path, monkeypatch):
    """Every gateway configured: the AT token, Twilio signatures, and two generic HTTP channels."""
    monkeypatch.setenv("EXAMPLE_USSD_TOKEN", HTTP_TOKEN)
    monkeypatch.setenv("HOSTILE_SMS_TOKEN", HTTP_TOKEN)
    sms_channel = tmp_path / "form-sms.yaml"
    sms_channel.write_text(SMS_CHANNEL)
    nowhere = SimpleNamespace(twilio_url="http://127.0.0.1:9", africastalking_url="http://127.0.0.1:9")
    return {**gateway_settings(nowhere, "console"),
            "HOTLINE_HTTP_CHANNELS": f"{EXAMPLE_CHANNEL},{sms_channel}"}


def _valid(name: str) -> str:
    """A fresh, well-formed value for a field, so that random forms also reach the deeper parsers."""
    number = next(_ids)
    return {
        "phone": f"+2237{number % 10_000_000:07d}", "session": f"ATUid_hostile_{number}",
        "id": f"ATXid_hostile_{number}", "sid": f"SM{number:032d}",
    }[name]


# Each webhook: (path, body kind, how to sign it, the fields it reads with a valid value for each).
ENDPOINTS = {
    "at-ussd": ("/webhooks/africastalking/ussd?token=" + AT_TOKEN, "form", None, {
        "sessionId": "session", "serviceCode": "*384*77#", "phoneNumber": "phone", "networkCode": "61002",
        "text": ""}),
    "at-ussd-events": ("/webhooks/africastalking/ussd/events?token=" + AT_TOKEN, "form", None, {
        "sessionId": "session", "status": "Incomplete", "phoneNumber": "phone"}),
    "at-sms": ("/webhooks/africastalking/sms?token=" + AT_TOKEN, "form", None, {
        "from": "phone", "to": "8000", "text": "Bonjour", "date": "2026-11-22 10:04:45", "id": "id",
        "linkId": "link-1"}),
    "at-delivery": ("/webhooks/africastalking/sms/delivery?token=" + AT_TOKEN, "form", None, {
        "id": "id", "status": "Success", "failureReason": ""}),
    "twilio-sms": ("/webhooks/twilio/sms", "form", "twilio", {
        "MessageSid": "sid", "AccountSid": "AC" + "0" * 32, "From": "phone", "To": "+15005550006",
        "Body": "Bonjour", "NumMedia": "0"}),
    "twilio-status": ("/webhooks/twilio/sms/status", "form", "twilio", {
        "MessageSid": "sid", "MessageStatus": "delivered", "ErrorCode": "30003"}),
    "http-json-ussd": (f"/webhooks/http/example-ussd?key={HTTP_TOKEN}", "json", None, {
        "sessionId": "session", "msisdn": "phone", "input": "", "shortCode": "*8000#", "requestId": "id"}),
    "http-form-sms": (f"/webhooks/http/form-sms?token={HTTP_TOKEN}", "form", None, {
        "from": "phone", "body": "Bonjour", "msgid": "id"}),
}
VALID_KINDS = {"phone", "session", "id", "sid"}


def _headers(signer: str | None, path: str, form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(path, form)} if signer == "twilio" else {}


def _counts(app) -> dict[str, int]:
    with app.app_context():
        session = get_session()
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in STORED}


def _orphan_contacts(app) -> int:
    """Contacts without any inbound message: what a half-written request would leave behind."""
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Contact).where(
            ~Contact.id.in_(select(InboundMessage.contact_id))))


def _check_answer(app, response, before: dict[str, int]) -> None:
    """A clear 2xx, or a 4xx with a reason and nothing stored; never a 5xx."""
    status = response.status_code
    body = response.get_data()
    assert status < 500, (status, body[:300])
    if status >= 400:
        assert 400 <= status < 500 and body.strip(), (status, body[:300])
        assert _counts(app) == before, "a refused request stored something"


def _post(client, endpoint: str, fields: dict[str, str]):
    path, kind, signer, _ = ENDPOINTS[endpoint]
    if kind == "json":
        return client.post(path, data=json.dumps(fields), content_type="application/json")
    return client.post(path, data=fields, headers=_headers(signer, path.split("?")[0], fields))


def _filled(endpoint: str) -> dict[str, str]:
    return {name: _valid(value) if value in VALID_KINDS else value
            for name, value in ENDPOINTS[endpoint][3].items()}


# Text a gateway (or an attacker posing as one) may send: controls, NULs, HTML, SQL, any script.
hostile_text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(codec="utf-8", max_codepoint=0x20), max_size=10),
    st.sampled_from([HOSTILE_TEXT, "\x00", "a\x00b", "\r\n", "*" * 300, "1*" * 200, "ɛɔɲŋ", "\ufeff", "\u202e",
                     "%00", "{{ 7*7 }}", "+223 76 00 00 01", "0022376000001", "END", "CON "]),
    st.text(st.sampled_from("1*#9 "), min_size=500, max_size=3000),
)


@st.composite
def hostile_forms(draw):
    """An endpoint and a form for it: some fields missing, some valid, some hostile, some extra."""
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    form = {}
    for name, value in _filled(endpoint).items():
        choice = draw(st.sampled_from(["valid"] * 4 + ["hostile", "missing"]))
        if choice == "valid":
            form[name] = value
        elif choice == "hostile":
            form[name] = draw(hostile_text)
    extra = draw(st.dictionaries(st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
                                 hostile_text, max_size=3))
    return endpoint, {**extra, **form}


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=hostile_forms())
def test_random_forms_get_a_clear_answer_and_refusals_store_nothing(embedded_app, case):
    """Random, partial and hostile forms at every webhook (Twilio validly signed) get a 2xx or a 4xx with a reason."""
    endpoint, form = case
    before = _counts(embedded_app)
    response = _post(embedded_app.test_client(), endpoint, form)
    event(f"{endpoint}: {response.status_code}")
    _check_answer(embedded_app, response, before)
    assert _orphan_contacts(embedded_app) == 0


CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
                 "multipart/form-data", "multipart/form-data; boundary=xyz", "application/json", "text/plain",
                 "application/xml", "", "garbage/; ;=", "application/x-www-form-urlencoded; charset=utf-16"]


@pytest.mark.timeout(60)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(sorted(ENDPOINTS)), content_type=st.sampled_from(CONTENT_TYPES),
       raw=st.one_of(st.binary(max_size=300),
                     st.builds(lambda prefix, junk: prefix + junk,
                               st.sampled_from([b"sessionId=a&phoneNumber=76000001&serviceCode=1&text=",
                                                b"from=76000001&id=x&text=", b'{"msisdn": "76000001", "input": ',
                                                b"--xyz\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n"]),
                               st.binary(max_size=200))))
def test_raw_bodies_with_invalid_utf8_and_any_content_type_are_never_a_500(embedded_app, endpoint, content_type, raw):
    """Arbitrary bytes (invalid UTF-8 included) under any content type get a 2xx or a 4xx with a reason."""
    path, _, signer, _ = ENDPOINTS[endpoint]
    headers = {"X-Twilio-Signature": twilio_signature(path, {})} if signer else {}
    before = _counts(embedded_app)
    response = embedded_app.test_client().post(path, data=raw, headers={**headers, "Content-Type": content_type})
    _check_answer(embedded_app, response, before)
    assert _orphan_contacts(embedded_app) == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_invalid_utf8_in_a_valid_form_is_stored_as_replacement_characters_or_refused(app, client, endpoint):
    """A well-formed form whose values carry invalid UTF-8 is decoded with U+FFFD or refused, never a 500."""
    fields = _filled(endpoint)
    path, kind, signer, _ = ENDPOINTS[endpoint]
    if kind == "json":
        raw = json.dumps(fields).encode().replace(b'"input": ""', b'"input": "\xff\xfe\xc3"')
        content_type = "application/json"
    else:
        text_field = next(name for name in ("text", "Body", "body", "failureReason", "ErrorCode", "status")
                          if name in fields)
        raw = "&".join(f"{k}={quote_from_bytes(v.encode())}" for k, v in fields.items() if k != text_field)
        raw = (raw + f"&{text_field}=%FF%FE%C3%28bad").encode()
        content_type = "application/x-www-form-urlencoded"
    form = {k: v for k, v in fields.items()}
    if signer:  # Twilio signs what it sent; the app reads U+FFFD where the bytes were invalid
        form[text_field] = "\ufffd\ufffd\ufffd(bad"
    before = _counts(app)
    response = client.post(path, data=raw, content_type=content_type,
                           headers=_headers(signer, path.split("?")[0], form))
    _check_answer(app, response, before)


HOSTILE_VALUES = {"nul": "a\x00b", "controls": "".join(map(chr, range(1, 32))) + "\x7f", "long": "7" * 20_000,
                  "html": HOSTILE_TEXT, "blank": "   "}


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("endpoint", "field"), [(endpoint, field) for endpoint in sorted(ENDPOINTS)
                                                 for field in ENDPOINTS[endpoint][3]])
def test_hostile_value_in_each_field_is_answered_or_refused_cleanly(app, client, endpoint, field):
    """A NUL, control characters, 20,000 characters, HTML or blanks in any one field: a 2xx or a 4xx, no half rows."""
    for label, value in HOSTILE_VALUES.items():
        form = {**_filled(endpoint), field: value}
        before = _counts(app)
        response = _post(client, endpoint, form)
        try:
            _check_answer(app, response, before)
            assert _orphan_contacts(app) == 0
        except AssertionError as failure:
            raise AssertionError(f"{endpoint} {field}={label}: {failure}") from None


@pytest.mark.timeout(20)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_one_megabyte_body_is_a_413_and_stores_nothing(app, client, endpoint, chunked):
    """A 1 MB body (with or without a Content-Length) is refused with 413 and a reason, and nothing is stored."""
    path, kind, signer, _ = ENDPOINTS[endpoint]
    fields = {**_filled(endpoint), "padding": "x" * 1_000_000}
    body = json.dumps(fields).encode() if kind == "json" else "&".join(
        f"{k}={quote_from_bytes(v.encode())}" for k, v in fields.items()).encode()
    headers = {**_headers(signer, path.split("?")[0], fields),
               "Content-Type": "application/json" if kind == "json" else "application/x-www-form-urlencoded"}
    before = _counts(app)
    if chunked:
        from io import BytesIO

        # As gunicorn hands over a chunked request: no length, the stream ends where the body does.
        response = client.post(path, input_stream=BytesIO(body), headers={**headers, "Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input_terminated": True})
    else:
        response = client.post(path, data=body, headers=headers)
    assert response.status_code == 413 and response.get_data().strip()
    assert _counts(app) == before


@pytest.mark.timeout(20)
@pytest.mark.parametrize("payload", [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
                                     b'{"msisdn": 1' + b"0" * 5000 + b"}", b"\xff\xfe{}", b"null", b"[]", b'"x"',
                                     b'{"msisdn": {"a": [1, 2]}, "sessionId": ["x"], "input": 1e999}'],
                         ids=["deep-list", "deep-object", "huge-int", "bad-utf8", "null", "list", "string",
                              "odd-types"])
def test_generic_json_channel_refuses_bad_json_with_a_400(app, client, payload):
    """Deeply nested, oversized-number, non-UTF-8 or non-object JSON is a 400 with a reason, not a 500."""
    path = ENDPOINTS["http-json-ussd"][0]
    before = _counts(app)
    response = client.post(path, data=payload, content_type="application/json")
    assert response.status_code == 400 and response.get_data().strip()
    assert _counts(app) == before


@pytest.mark.timeout(20)
@pytest.mark.parametrize("dial", ["1*" * 20_000, "*" * 40_000, "9" * 40_000])
def test_a_huge_dial_string_is_answered_quickly(embedded_app, dial):
    """A first USSD hop carrying tens of thousands of inputs gets a screen (or a 4xx) within the timeout."""
    client = embedded_app.test_client()
    form = {**_filled("at-ussd"), "text": dial}
    before = _counts(embedded_app)
    response = _post(client, "at-ussd", form)
    _check_answer(embedded_app, response, before)
    if response.status_code == 200:
        assert response.get_data(as_text=True).startswith(("CON ", "END "))


def test_hostile_sms_text_is_stored_intact(app, client):
    """An SMS body with HTML, script, SQL, controls and Bambara letters is stored exactly as sent."""
    body = HOSTILE_TEXT + "\t\r\n ɛɔɲŋ <img src=x onerror=alert(1)>"
    assert send_at_sms(client, "+22376000777", body, message_id="ATXid_intact").status_code == 200
    with app.app_context():
        stored = get_session().scalar(select(InboundMessage.body).where(
            InboundMessage.gateway_message_id == "ATXid_intact"))
        assert stored == body
        get_session().execute(text("SELECT 1 FROM cases LIMIT 1"))  # and the table is still there


# ------------------------------------------------------------------------------ the console

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def _assert_escaped(page: str, *raw: str) -> None:
    for value in raw:
        assert value not in page, f"{value!r} appears unescaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img" in page


@pytest.fixture
def operator_case(app, client):
    """The demo directory, one screened case and a signed-in operator; returns the case reference."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_hostile_console", "+22376400099", BAMAKO_DANGER)
    login(client, make_user(app, "operator"))
    return reference


def test_outbox_shows_a_hostile_sms_as_text(app, client, operator_case):
    """An SMS with script and SQL in it is escaped in the outbox HTML and kept intact in the database."""
    with app.app_context():
        session = get_session()
        session.add(OutboundMessage(purpose="reply", to_phone="+22376000001", to_hash="hostile", body=HOSTILE_TEXT,
                                    provider="console", provider_message_id="console-hostile", state="sent"))
        session.commit()
    page = client.get("/console/outbox").get_data(as_text=True)
    _assert_escaped(page, SCRIPT)
    assert "&#39;; DROP TABLE cases;--" in page
    with app.app_context():
        assert get_session().scalar(select(OutboundMessage.body).where(
            OutboundMessage.provider_message_id == "console-hostile")) == HOSTILE_TEXT


def test_case_note_and_answers_with_html_show_as_text(app, client, operator_case):
    """A case note and a caller's answer holding script or an onerror image are escaped on the case page."""
    path = f"/console/cases/{operator_case}"
    post_form(client, f"{path}/notes", {"body": HOSTILE_TEXT + IMG}, token_from=path)
    _assert_escaped(client.get(path).get_data(as_text=True), SCRIPT, IMG)
    with app.app_context():
        session = get_session()
        case = session.scalar(select(Case).where(Case.reference == operator_case))
        assert session.execute(text("SELECT count(*) FROM case_notes")).scalar_one() == 1
        answers = dict(case.answers or {})
        answers["answers"] = {**(answers.get("answers") or {}), "place_text": SCRIPT, "needs_text": [IMG, "ok"]}
        case.answers = answers
        session.commit()
    page = post_form(client, f"{path}/personal-data", token_from=path).get_data(as_text=True)
    _assert_escaped(page, SCRIPT, IMG)


def test_provider_with_html_in_its_name_shows_as_text(app, client, operator_case):
    """A provider named with an onerror image is saved intact and escaped on the list, edit and map pages."""
    name = f"Centre {IMG}{SCRIPT}"
    form = {"id": "ngo.hostile.kayes", "name": name, "kind": "ngo", "latitude": "14.45", "longitude": "-11.44",
            "serves": ["women"], "hours": "24/7", "languages": "fr", "contacts": "+223 76 12 34 99",
            "active": "yes"}
    assert post_form(client, "/console/providers/new", form).status_code == 302
    with app.app_context():
        assert get_session().scalar(select(Provider.name).where(Provider.code == "ngo.hostile.kayes")) == name
    for page_path in ("/console/providers", "/console/providers/ngo.hostile.kayes/edit"):
        _assert_escaped(client.get(page_path).get_data(as_text=True), SCRIPT, IMG)
    map_page = client.get("/console/providers/map").get_data(as_text=True)
    assert SCRIPT not in map_page and IMG not in map_page  # tojson writes < as \u003c inside the JSON script
