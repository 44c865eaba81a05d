"""Application settings read from the environment, with the variable names of the product brief."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"


class ConfigError(RuntimeError):
    """A configuration that the application refuses to start with."""


class Settings(BaseModel):
    """Everything the application reads from its environment.

    Field names are the environment variable names, so the README table, the
    environment and ``app.config`` all use the same words.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    HOTLINE_ENV: Literal["development", "production"] = "development"
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    SECRET_KEY: str = DEFAULT_SECRET_KEY
    HOTLINE_PII_KEY: str | None = None
    SMS_PROVIDERS: list[str] = Field(default_factory=lambda: ["console"])
    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_FROM: str | None = None
    TWILIO_API_URL: str | None = None
    AT_USERNAME: str | None = None
    AT_API_KEY: str | None = None
    AT_SENDER_ID: str | None = None
    AT_API_URL: str | None = None
    AT_WEBHOOK_TOKEN: str | None = None
    # Public base URL (https://host) the gateways call; Twilio signatures are checked against it.
    HOTLINE_PUBLIC_URL: str | None = None
    # How many reverse proxies to trust for X-Forwarded-Proto/Host when HOTLINE_PUBLIC_URL is unset.
    HOTLINE_TRUSTED_PROXIES: int = 0
    # Seconds an SMS API call may take before it counts as a timeout.
    HOTLINE_SMS_TIMEOUT: float = 10.0
    # Comma-separated YAML files of generic HTTP gateways (see hotline/channels/examples/).
    HOTLINE_HTTP_CHANNELS: str | None = None
    # The flow a USSD dial starts (the main menu), and the flow an SMS without a known keyword starts.
    HOTLINE_USSD_FLOW: str = "main"
    HOTLINE_SMS_FLOW: str = "screening"
    # Answer deadlines overriding the routing rules', e.g. "critical=10m,high=30m" (tests, demo).
    HOTLINE_ESCALATION_DEADLINES: str | None = None
    # The national desk's number that staff are told to call for case details.
    HOTLINE_DESK_PHONE: str = "8000"
    # Minutes of inactivity after which a console session ends.
    HOTLINE_CONSOLE_IDLE_MINUTES: int = 30
    # Map tiles for the console's provider map (e.g. a local tile server); empty = markers on a blank map.
    HOTLINE_MAP_TILES_URL: str | None = None
    # Closed cases and ended conversations are anonymised this many days after they end.
    HOTLINE_RETENTION_DAYS: int = 180
    # More SMS than this from one number in a minute are kept but not answered.
    HOTLINE_SMS_PER_MINUTE: int = 30
    # Seconds between two passes of the reconciler that re-enqueues due jobs.
    HOTLINE_RECONCILE_INTERVAL: float = 30.0
    # How many times a job's handler is tried before its row is marked failed.
    HOTLINE_JOB_MAX_ATTEMPTS: int = 8
    # Seconds before retry 2, 3, ... of every job, e.g. "1,2,4" (tests); unset = each job's own backoff.
    HOTLINE_JOB_BACKOFF: str | None = None

    @field_validator("SMS_PROVIDERS", mode="before")
    @classmethod
    def _split_provider_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator(
        "DATABASE_URL",
        "REDIS_URL",
        "HOTLINE_PII_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "AT_USERNAME",
        "AT_API_KEY",
        "AT_WEBHOOK_TOKEN",
        mode="before",
    )
    @classmethod
    def _blank_means_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); unknown names are ignored."""
        environ = os.environ if environ is None else environ
        return cls.model_validate({name: environ[name] for name in cls.model_fields if name in environ})

    @property
    def africastalking_configured(self) -> bool:
        return bool(self.AT_USERNAME or self.AT_API_KEY or "africastalking" in self.SMS_PROVIDERS)


class TestSettings(Settings):
    """Settings for the test suite: a fixed PII key and a fast reconciler."""

    SECRET_KEY: str = "test-secret-key"
    HOTLINE_PII_KEY: str | None = "L8KmZLTeHK6k4R9OlTyUC7rpZALOyx34N1GCeGd4Y9c="
    HOTLINE_RECONCILE_INTERVAL: float = 1.0


def production_problems(settings: Settings) -> list[str]:
    """Return one sentence per unsafe setting for production; empty when it is safe to start."""
    if settings.HOTLINE_ENV != "production":
        return []
    problems = []
    if settings.SECRET_KEY == DEFAULT_SECRET_KEY or len(settings.SECRET_KEY) < 16:
        problems.append("SECRET_KEY must be set to a long random value in production")
    if not settings.HOTLINE_PII_KEY:
        problems.append("HOTLINE_PII_KEY must be set in production (personal data is encrypted with it)")
    if settings.africastalking_configured and not settings.AT_WEBHOOK_TOKEN:
        problems.append(
            "AT_WEBHOOK_TOKEN must be set in production when Africa's Talking is configured"
        )
    if "console" in settings.SMS_PROVIDERS:
        problems.append("SMS_PROVIDERS must not include 'console' in production (it sends nothing)")
    return problems
