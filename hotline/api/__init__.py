"""The JSON API under /api/v1: cases, referrals, providers and statistics, with bearer-token auth."""

from __future__ import annotations

from flask import Blueprint, Flask

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"


def init_app(app: Flask) -> None:
    """Register the API's endpoints and JSON errors, and exempt it from the console's CSRF check."""
    # Importing the modules declares their endpoints on the blueprint (once per process).
    from hotline.api import cases, errors, openapi, providers, referrals, statistics  # noqa: F401
    from hotline.console import csrf

    # The API authenticates by a token in a header, never by cookie: a forged cross-site request has no token.
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
