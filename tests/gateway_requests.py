"""Action helpers that post to the webhooks exactly as each gateway does."""

from __future__ import annotations

import itertools

from twilio.request_validator import RequestValidator

from tests.fake_gateway import TWILIO_TOKEN

AT_TOKEN = "at-webhook-token"
PUBLIC_URL = "https://hotline.example.org"
_ids = itertools.count(1)


def send_ussd(client, session_id: str, phone: str, text: str, *, token: str | None = AT_TOKEN,
              service_code: str = "*384*77#"):
    """One USSD hop as Africa's Talking posts it: `text` is every input so far joined by '*'."""
    query = f"?token={token}" if token else ""
    return client.post(f"/webhooks/africastalking/ussd{query}", data={
        "sessionId": session_id, "serviceCode": service_code, "phoneNumber": phone,
        "networkCode": "61002", "text": text})


def ussd_session(client, session_id: str, phone: str, inputs: list[str]) -> list[str]:
    """Dial, then answer each of ``inputs`` in turn; return every screen (with CON/END)."""
    screens = [send_ussd(client, session_id, phone, "").get_data(as_text=True)]
    typed: list[str] = []
    for answer in inputs:
        typed.append(answer)
        screens.append(send_ussd(client, session_id, phone, "*".join(typed)).get_data(as_text=True))
    return screens


def send_at_sms(client, sender: str, text: str, *, message_id: str | None = None, token: str | None = AT_TOKEN,
                date: str = "2026-11-22 10:04:45"):
    """An incoming SMS as Africa's Talking posts it."""
    query = f"?token={token}" if token else ""
    return client.post(f"/webhooks/africastalking/sms{query}", data={
        "from": sender, "to": "8000", "text": text, "date": date,
        "id": message_id or f"ATXid_in_{next(_ids)}", "linkId": f"link-{next(_ids)}"})


def twilio_signature(path: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, form)


def send_twilio_sms(client, sender: str, text: str, *, message_sid: str | None = None,
                    signature: str | None = "sign"):
    """An incoming SMS as Twilio posts it, signed for the public URL unless told otherwise."""
    path = "/webhooks/twilio/sms"
    form = {"MessageSid": message_sid or f"SM{next(_ids):032d}", "AccountSid": "AC" + "0" * 32,
            "From": sender, "To": "+15005550006", "Body": text, "NumMedia": "0", "SmsStatus": "received"}
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = twilio_signature(path, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=form, headers=headers)
