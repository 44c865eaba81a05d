"""The operator console: server-rendered pages for operators, provider staff, analysts and admins."""

from __future__ import annotations

from flask import Blueprint, Flask, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

blueprint = Blueprint("console", __name__, url_prefix="/console")

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# CSV files of a whole directory are bigger than the gateways' small forms the app limits requests to.
IMPORT_MAX_BYTES = 2 * 1024 * 1024
csrf = CSRFProtect()


def select_locale() -> str:
    """The language the person chose with the switcher, else French."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Register the console pages, CSRF protection on every form, translations and session cookie flags."""
    from hotline import health, webhooks
    from hotline.console import access, auth, cases, dashboard, labels, outbox, providers, users  # noqa: F401

    app.config.setdefault("HOTLINE_LOGIN_MAX_FAILURES", 5)
    app.config.setdefault("HOTLINE_LOGIN_LOCK_MINUTES", 15)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    # The CSRF token lives as long as the login; the idle timeout ends both.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)

    # Runs before CSRFProtect reads the form, so the larger limit applies to the import upload only.
    @app.before_request
    def _allow_directory_upload() -> None:
        if request.endpoint == "console.providers_import" and request.method == "POST":
            request.max_content_length = IMPORT_MAX_BYTES

    csrf.init_app(app)
    # Gateways and load balancers cannot send a CSRF token; they authenticate otherwise.
    csrf.exempt(webhooks.blueprint)
    csrf.exempt(health.blueprint)
    from hotline.console import flows, simulator  # noqa: F401  (flow editor, simulator)
    Babel(app, locale_selector=select_locale)
    access.init_app(app)
    labels.init_app(app)
    from hotline.api import init_app as init_api
    from hotline.console import api_tokens, people, statistics  # noqa: F401

    init_api(app)
    app.register_blueprint(blueprint)
