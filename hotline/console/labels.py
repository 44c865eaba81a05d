"""Words for the codes the console shows (risk levels, statuses, roles, audit actions), in the catalogue."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import reduce

from babel.dates import get_day_names
from flask import Flask
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LABELS = {
    "risk": {"critical": _l("critical"), "high": _l("high"), "medium": _l("medium"), "low": _l("low")},
    "case_status": {"open": _l("open"), "referred": _l("referred"), "unrouted": _l("not placed"),
                    "closed": _l("closed")},
    "outcome": {"sheltered": _l("sheltered"), "returned_home": _l("returned home"),
                "referred_elsewhere": _l("referred elsewhere"), "prosecution": _l("complaint or prosecution"),
                "no_trafficking": _l("no trafficking found"), "unreachable": _l("could not be reached"),
                "duplicate": _l("duplicate")},
    "referral_status": {"pending": _l("pending"), "alerted": _l("alerted, waiting"), "accepted": _l("accepted"),
                        "declined": _l("declined"), "expired": _l("no answer in time"), "closed": _l("closed"),
                        "unrouted": _l("not placed")},
    "message_state": {"queued": _l("queued"), "sending": _l("sending"), "sent": _l("sent"),
                      "delivered": _l("delivered"), "failed": _l("failed"), "suppressed": _l("suppressed")},
    # Console roles and the routing rules' roles share this group: both are shown as "role".
    "role": {"admin": _l("administrator"), "operator": _l("operator"), "provider_staff": _l("provider staff"),
             "analyst": _l("analyst"), "shelter": _l("shelter"), "police": _l("police"),
             "child_protection": _l("child protection"), "national_desk": _l("national desk"),
             "medical": _l("medical care"), "legal": _l("legal help"), "support": _l("support")},
    "kind": {"shelter": _l("shelter"), "police": _l("police"), "gendarmerie": _l("gendarmerie"),
             "child_protection": _l("child protection"), "health": _l("health"), "legal_aid": _l("legal aid"),
             "ngo": _l("NGO"), "national_desk": _l("national desk")},
    "group": {"women": _l("women"), "men": _l("men"), "girls": _l("girls"), "boys": _l("boys")},
    "service": {"shelter": _l("shelter"), "medical": _l("medical care"), "psychosocial": _l("psychosocial support"),
                "legal": _l("legal help"), "family_tracing": _l("family tracing"),
                "return_home": _l("return home"), "protection": _l("protection")},
    "action": {"case.opened": _l("case opened"), "case.routed": _l("case routed"),
               "case.unrouted": _l("no provider could take the case"),
               "case.simulated": _l("simulated case kept"),
               "case.status_changed": _l("status changed"), "case.note_added": _l("note added"),
               "case.pii_viewed": _l("personal data viewed"), "referral.created": _l("referral created"),
               "referral.alerted": _l("staff alerted by SMS"), "referral.escalated": _l("escalated"),
               "referral.accepted": _l("accepted by SMS"), "referral.declined": _l("declined by SMS"),
               "referral.closed": _l("closed by SMS")},
    "sex": {"female": _l("female"), "male": _l("male"), "unknown": _l("not said")},
    "age_band": {"under_12": _l("under 12"), "12_17": _l("12 to 17"), "18_25": _l("18 to 25"),
                 "26_40": _l("26 to 40"), "over_40": _l("over 40"), "26_plus": _l("26 or more"),
                 "unknown": _l("age not known")},
    "purpose": {"reply": _l("reply to a caller"), "alert": _l("alert to staff"),
                "confirmation": _l("confirmation"), "staff_reply": _l("reply to staff")},
    "reporter": {"victim": _l("the person concerned"), "witness": _l("a witness"),
                 "job_offer": _l("someone checking a job offer"), "other": _l("someone else")},
    "language": {"fr": _l("French"), "bm": _l("Bambara"), "en": _l("English"), "son": _l("Songhai"),
                 "ff": _l("Fulfulde"), "taq": _l("Tamasheq"), "snk": _l("Soninke"), "ar": _l("Arabic")},
    "channel": {"ussd": _l("USSD"), "sms": _l("SMS"), "http": _l("HTTP gateway")},
    "answer": {"yes": _l("yes"), "no": _l("no"), "unknown": _l("does not know")},
    "sms_provider": {"console": _l("console outbox (nothing sent)"), "twilio": _l("Twilio"),
                     "africastalking": _l("Africa’s Talking")},
    "health": {"ok": _l("working"), "down": _l("not answering")},
    # Routing: which alert rule asked for a role, as the clause "needed because ..." ends.
    "alert_rule": {"danger_now": _l("someone is in danger now"), "critical": _l("the risk is critical"),
                   "child": _l("the person is a child"), "high_risk": _l("the risk is high"),
                   "needs_shelter": _l("the caller asks for shelter"),
                   "needs_police": _l("the caller asks for the police"),
                   "needs_medical": _l("the caller asks for medical care"),
                   "needs_legal": _l("the caller asks for legal help"),
                   "needs_support": _l("the caller asks for support"),
                   "follow_up": _l("the risk is low or medium, so the national desk follows the case up")},
    "police_exception": {"child": _l("child"), "danger_to_life": _l("danger to life")},
    "police_exception_reason": {
        "child": _l("the person is a child, and a child in a trafficking situation must be protected whatever "
                    "the consent"),
        "danger_to_life": _l("the caller said someone is in danger now, and a life comes before consent")},
    "police_decision": {"consent": _l("police alerted with the caller's consent"),
                        "no_consent": _l("police not alerted: no consent"),
                        "not_asked": _l("police not needed")},
    "candidate_outcome": {"chosen": _l("chosen"), "ranked": _l("next in line"), "left_out": _l("left out"),
                          "already_chosen": _l("already chosen")},
    "escalation_event": {"timeout": _l("no answer in time"), "declined": _l("declined by the provider")},
    "escalation_action": {"alert_next_contact": _l("next contact alerted"),
                          "alert_next_provider": _l("next provider alerted"),
                          "hand_to_national_desk": _l("handed to the national desk"),
                          "retry_national_desk": _l("national desk alerted again"),
                          "unrouted": _l("not placed: an operator must act")},
    # Flow nodes, as the editor's preview names them (the YAML keyword stays in the flow text).
    "node_kind": {"message": _l("message"), "menu": _l("menu"), "input": _l("typed answer"),
                  "location": _l("place"), "end": _l("closing screen"), "help_list": _l("help list"),
                  "branch": _l("branch"), "actions": _l("actions"), "case": _l("case"),
                  "switch": _l("switch to another flow")},
}

_HOURS_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
               "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6}
_HOURS_WORD = re.compile(r"[a-z]+|24/7")


def label(group: str, code: str | None) -> str:
    """The translated word for ``code`` in ``group``, or the code itself when it has none."""
    if code is None:
        return "—"
    return str(LABELS.get(group, {}).get(code, code))


def has_label(group: str, code: str | None) -> bool:
    return code is not None and code in LABELS.get(group, {})


def labels(group: str, codes: Iterable[str]) -> str:
    """Several codes of one group in words, separated by commas."""
    return ", ".join(label(group, code) for code in codes)


def join_clauses(clauses: Iterable[str]) -> str:
    """Clauses joined by semicolons, spaced as the reader's language wants (French puts a space before)."""
    items = list(clauses)
    if not items:
        return ""
    return reduce(lambda first, then: _("%(first)s; %(then)s", first=first, then=then), items)


def number(value: float | int | str | None, decimals: int | None = 0) -> str:
    """A number written the reader's way (French: 6,6 and 1 234), with ``decimals`` places (None: as many as
    it has, up to three); anything unreadable is returned as it came."""
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—" if value is None else str(value)
    if decimals is None:
        return format_decimal(amount)
    return format_decimal(amount, format="#,##0." + "0" * decimals if decimals else "#,##0")


def distance(km: float | int | str | None) -> str:
    """A distance in kilometres with one decimal, e.g. "6,6 km" in French."""
    return _("%(km)s km", km=number(km, decimals=1)) if km is not None else "—"


def day_name(weekday: int) -> str:
    """The short name of a weekday (0 = Monday) in the reader's language."""
    return str(get_day_names("abbreviated", locale=get_locale() or "fr")[weekday])


def hours_label(text: str | None) -> str:
    """Opening hours as the directory writes them ("mon-fri 08:00-17:00; sat 09:00-13:00") in the reader's words."""
    if not text:
        return "—"

    def word(found: re.Match) -> str:
        token = found.group(0)
        if token == "24/7":
            return _("open day and night, every day")
        if token in ("daily", "everyday", "tlj"):
            return _("every day")
        return day_name(_HOURS_DAYS[token]) if token in _HOURS_DAYS else token

    parts = [_HOURS_WORD.sub(word, part.strip()) for part in text.split(";") if part.strip()]
    return join_clauses(parts)


def init_app(app: Flask) -> None:
    """Give every console template the labels, and routing's reasons in the reader's words."""
    from hotline.console.explanations import decision_lines, reason_text

    app.jinja_env.globals.update(label=label, labels=labels, distance=distance, number=number,
                                 hours_label=hours_label, decision_lines=decision_lines, reason_text=reason_text)
