"""The gateways' webhooks: authenticate, parse with the gateway's adapter, hand to the conversation service."""

from __future__ import annotations

import io
import logging
from functools import wraps

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from hotline import conversation, inbox
from hotline.channels import africastalking, twilio
from hotline.channels.inbound import WebhookError

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def gateway_endpoint(view):
    """Turn adapter errors into a 4xx with the reason, and a database outage into 503 so the gateway retries."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except WebhookError as error:
            log.info("%s refused: %s", request.path, error.reason)
            return _plain(error.reason, error.status)
        except OperationalError:
            log.exception("database unavailable during %s", request.path)
            return _plain("temporarily unavailable, retry", 503)

    return wrapper


@blueprint.before_request
def _bound_streamed_body():
    """Read a chunked body (no Content-Length) up to the limit here, so that a bigger one is a 413.

    Werkzeug checks MAX_CONTENT_LENGTH against the Content-Length header; a streamed body it
    silently cuts at the limit instead, and a cut form could be stored as if it were whole.
    """
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None or request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return None
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return _too_large(None)
    request.environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    return None


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    return _plain(f"request body over {current_app.config['MAX_CONTENT_LENGTH']} bytes", 413)


def _check_africastalking_token() -> None:
    africastalking.check_token(request.args.get("token"), current_app.config.get("AT_WEBHOOK_TOKEN"))


def _twilio_url() -> str:
    """The URL Twilio signed: the configured public URL, or the request's own (behind ProxyFix)."""
    public = current_app.config.get("HOTLINE_PUBLIC_URL")
    if not public:
        return request.url
    query = request.query_string.decode()
    return public.rstrip("/") + request.path + (f"?{query}" if query else "")


def _check_twilio_signature() -> None:
    twilio.verify_signature(current_app.config.get("TWILIO_AUTH_TOKEN"), _twilio_url(), request.form,
                            request.headers.get("X-Twilio-Signature"))


@blueprint.post("/africastalking/ussd")
@gateway_endpoint
def africastalking_ussd():
    _check_africastalking_token()
    hop = africastalking.parse_ussd(request.form)
    screen = conversation.answer_ussd_hop(hop)
    return _plain(africastalking.render_ussd(screen.text, screen.continues))


@blueprint.post("/africastalking/ussd/events")
@gateway_endpoint
def africastalking_ussd_events():
    _check_africastalking_token()
    conversation.end_ussd_session(africastalking.parse_ussd_end(request.form))
    return _plain("OK")


@blueprint.post("/africastalking/sms")
@gateway_endpoint
def africastalking_sms():
    _check_africastalking_token()
    inbox.receive_sms(africastalking.parse_sms(request.form))
    return _plain("OK")


@blueprint.post("/africastalking/sms/delivery")
@gateway_endpoint
def africastalking_sms_delivery():
    _check_africastalking_token()
    inbox.record_delivery(africastalking.parse_delivery(request.form))
    return _plain("OK")


@blueprint.post("/http/<channel_id>")
@gateway_endpoint
def generic_http(channel_id: str):
    channel = current_app.extensions["hotline.http_channels"].get(channel_id)
    if channel is None:
        return _plain("unknown channel", 404)
    channel.check_token(request.args)
    payload = channel.read_payload(request.get_data(cache=True), request.form)
    if channel.config.kind == "sms":
        inbox.receive_sms(channel.parse_sms(payload))
        body, mimetype = "OK", "text/plain"
    else:
        screen = conversation.answer_ussd_hop(channel.parse_ussd(payload))
        body, mimetype = channel.render_reply(screen.text, screen.continues)
    return Response(body, mimetype=mimetype)


@blueprint.post("/twilio/sms")
@gateway_endpoint
def twilio_sms():
    _check_twilio_signature()
    inbox.receive_sms(twilio.parse_sms(request.form))
    # Replies go through the send job rather than TwiML: the job keeps one caller's replies in
    # order across workers, retries and fails over, and records delivery; TwiML would do none.
    return Response(twilio.EMPTY_TWIML, mimetype="application/xml")


@blueprint.post("/twilio/sms/status")
@gateway_endpoint
def twilio_sms_status():
    _check_twilio_signature()
    inbox.record_delivery(twilio.parse_status(request.form))
    return Response(twilio.EMPTY_TWIML, mimetype="application/xml")
