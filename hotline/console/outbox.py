"""The outbox: SMS the development console provider kept instead of sending, with encoding and segments.

Numbers are masked, in the "to" column and inside the text (an alert carries the caller's number
when they agreed to a call back); showing one message in full is an audited action, as on a case.
"""

from __future__ import annotations

import phonenumbers
from flask import abort, current_app, render_template
from flask_babel import lazy_gettext as _l

from hotline.audit import record_event
from hotline.channels.phone import masked
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.db import get_session
from hotline.models import OutboundMessage
from hotline.outbox import console_outbox

OUTBOX_ROLES = ("admin", "operator")
OUTBOX_SIZE = 100

add_nav_item("console.outbox", _l("Outbox"), OUTBOX_ROLES, 50)


def masked_phone(phone: str | None) -> str:
    """A number with all but its last two digits hidden: enough to tell messages apart, not to call."""
    return masked(phone) if phone and len(phone) >= 4 else "•••"


def masked_text(body: str | None) -> str:
    """The text with every phone number in it masked (numbers written the Malian or the international way)."""
    if not body:
        return ""
    pieces, position = [], 0
    for match in phonenumbers.PhoneNumberMatcher(body, "ML", leniency=phonenumbers.Leniency.POSSIBLE):
        pieces += [body[position:match.start], masked_phone(match.raw_string)]
        position = match.end
    return "".join(pieces) + body[position:]


def render_outbox(revealed: OutboundMessage | None = None):
    return render_template("console/outbox.html", messages=console_outbox(OUTBOX_SIZE), masked_phone=masked_phone,
                           masked_text=masked_text, revealed_id=revealed.id if revealed else None,
                           console_in_use="console" in current_app.config.get("SMS_PROVIDERS", []))


@blueprint.get("/outbox")
@requires_role(*OUTBOX_ROLES)
def outbox():
    """The newest messages of the console provider, numbers masked."""
    return render_outbox()


@blueprint.post("/outbox/<int:message_id>/reveal")
@requires_role(*OUTBOX_ROLES)
def outbox_reveal(message_id: int):
    """Show one message with its numbers, and record who saw it."""
    db = get_session()
    message = db.get(OutboundMessage, message_id)
    if message is None or message.provider != "console":
        abort(404)
    record_event(db, "outbox.pii_viewed", "outbound_message", message.id, actor="user", user_id=current_user().id,
                 details={"purpose": message.purpose})
    db.commit()
    return render_outbox(message)
