"""Builds the outbound SMS providers named in SMS_PROVIDERS, in the order they are tried."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hotline.channels.africastalking import AfricasTalkingProvider
from hotline.channels.base import SmsProvider
from hotline.channels.console import ConsoleProvider
from hotline.channels.twilio import TwilioProvider


def public_url(config: Mapping[str, Any], path: str) -> str | None:
    """The URL at which a gateway reaches ``path``, when the public base URL is configured."""
    base = config.get("HOTLINE_PUBLIC_URL")
    return base.rstrip("/") + path if base else None


PROVIDER_FACTORIES: dict[str, Callable[[Mapping[str, Any]], SmsProvider]] = {
    "console": lambda _config: ConsoleProvider(),
    "africastalking": AfricasTalkingProvider,
    "twilio": lambda config: TwilioProvider(config, status_callback=public_url(config, "/webhooks/twilio/sms/status")),
}


def build_providers(config: Mapping[str, Any]) -> list[SmsProvider]:
    """One provider per name in ``SMS_PROVIDERS``; raises ValueError naming an unknown one."""
    providers = []
    for name in config["SMS_PROVIDERS"]:
        try:
            factory = PROVIDER_FACTORIES[name]
        except KeyError:
            known = ", ".join(sorted(PROVIDER_FACTORIES))
            raise ValueError(f"SMS_PROVIDERS names {name!r}, which is not one of: {known}") from None
        providers.append(factory(config))
    return providers
