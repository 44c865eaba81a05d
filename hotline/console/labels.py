"""Words for the codes the console shows (risk levels, statuses, roles, audit actions), in the catalogue."""

from __future__ import annotations

from flask import Flask
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
    "role": {"admin": _l("administrator"), "operator": _l("operator"), "provider_staff": _l("provider staff"),
             "analyst": _l("analyst"), "shelter": _l("shelter"), "police": _l("police"),
             "child_protection": _l("child protection"), "national_desk": _l("national desk")},
    "kind": {"shelter": _l("shelter"), "police": _l("police"), "gendarmerie": _l("gendarmerie"),
             "child_protection": _l("child protection"), "health": _l("health"), "legal_aid": _l("legal aid"),
             "ngo": _l("NGO"), "national_desk": _l("national desk")},
    "group": {"women": _l("women"), "men": _l("men"), "girls": _l("girls"), "boys": _l("boys")},
    "service": {"shelter": _l("shelter"), "medical": _l("medical care"), "psychosocial": _l("psychosocial support"),
                "legal": _l("legal help"), "family_tracing": _l("family tracing"),
                "return_home": _l("return home"), "protection": _l("protection")},
    "action": {"case.opened": _l("case opened"), "case.routed": _l("case routed"),
               "case.unrouted": _l("no provider could take the case"),
               "case.status_changed": _l("status changed"), "case.note_added": _l("note added"),
               "case.pii_viewed": _l("personal data viewed"), "referral.created": _l("referral created"),
               "referral.alerted": _l("staff alerted by SMS"), "referral.escalated": _l("escalated"),
               "referral.accepted": _l("accepted by SMS"), "referral.declined": _l("declined by SMS"),
               "referral.closed": _l("closed by SMS")},
    "sex": {"female": _l("female"), "male": _l("male")},
    "age_band": {"under_12": _l("under 12"), "12_17": _l("12 to 17"), "18_25": _l("18 to 25"),
                 "26_40": _l("26 to 40"), "over_40": _l("over 40"), "26_plus": _l("26 or more")},
    "purpose": {"reply": _l("reply to a caller"), "alert": _l("alert to staff"),
                "confirmation": _l("confirmation"), "staff_reply": _l("reply to staff")},
    "reporter": {"victim": _l("the person concerned"), "witness": _l("a witness")},
}


def label(group: str, code: str | None) -> str:
    """The translated word for ``code`` in ``group``, or the code itself when it has none."""
    if code is None:
        return "—"
    return str(LABELS.get(group, {}).get(code, code))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["label"] = label
