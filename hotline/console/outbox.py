"""The outbox: SMS the development console provider kept instead of sending, with encoding and segments."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l

from hotline.console import blueprint
from hotline.console.access import add_nav_item, requires_role
from hotline.outbox import console_outbox

add_nav_item("console.outbox", _l("Outbox"), ("admin", "operator"), 50)


def masked_phone(phone: str | None) -> str:
    """A number with all but its last two digits hidden: enough to tell messages apart, not to call."""
    if not phone or len(phone) < 4:
        return "•••"
    return phone[:4] + "•" * (len(phone) - 6) + phone[-2:]


@blueprint.get("/outbox")
@requires_role("admin", "operator")
def outbox():
    """The newest 100 messages of the console provider."""
    return render_template("console/outbox.html", messages=console_outbox(100), masked_phone=masked_phone,
                           console_in_use="console" in current_app.config.get("SMS_PROVIDERS", []))
