"""The application factory: settings, database, personal-data cipher, queue and web endpoints."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from hotline import db, pii
from hotline.config import ConfigError, Settings, TestSettings, production_problems


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment, with ``config`` overriding it (tests).

    Raises ConfigError, one line per unsafe setting, when production mode is not safe.
    """
    overrides = dict(config or {})
    settings_class = TestSettings if overrides.get("TESTING") else Settings
    from_environment = settings_class.from_environ().model_dump()
    known = {name: overrides.pop(name) for name in list(overrides) if name in settings_class.model_fields}
    settings = settings_class.model_validate({**from_environment, **known})

    problems = production_problems(settings)
    if problems:
        raise ConfigError("\n".join(problems))

    instance_path = overrides.pop("INSTANCE_PATH", None) or os.environ.get("HOTLINE_INSTANCE_PATH")
    app = Flask("hotline", instance_path=os.path.abspath(instance_path) if instance_path else None)
    app.config.update(settings.model_dump())
    app.config.setdefault("HOTLINE_EMBEDDED_WORKER", not overrides.get("TESTING", False))
    app.config.update(overrides)
    # Gateways post small forms; anything bigger is refused with 413 before it is read.
    if "MAX_CONTENT_LENGTH" not in overrides:
        app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if settings.HOTLINE_TRUSTED_PROXIES:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.HOTLINE_TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    if settings.HOTLINE_ENV == "production":
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True)
    _configure_logging(app)

    pii.init_app(app)
    database = db.init_app(app)

    from workers import queue

    backend = queue.init_app(app, database.sessions.session_factory)
    if app.config["HOTLINE_EMBEDDED_WORKER"] and hasattr(backend, "start"):
        backend.start()

    from hotline import directory, flow_store, health, webhooks

    flow_store.init_app(app)
    directory.init_app(app)
    from hotline.channels.generic_http import load_channels

    app.extensions["hotline.http_channels"] = load_channels(app.config.get("HOTLINE_HTTP_CHANNELS"))
    app.register_blueprint(health.blueprint)
    app.register_blueprint(webhooks.blueprint)
    from hotline import console

    console.init_app(app)
    return app


# Loggers of libraries that would write request bodies (numbers, message texts) at INFO or DEBUG.
QUIET_LOGGERS = ("twilio.http_client", "africastalking")


def _configure_logging(app: Flask) -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.logger.setLevel(logging.INFO)
