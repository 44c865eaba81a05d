"""The development SMS provider: keeps messages in the outbox table that the console and CLI show."""

from __future__ import annotations

import logging

from hotline.channels.base import SendResult

log = logging.getLogger(__name__)


class ConsoleProvider:
    name = "console"

    def send(self, to: str, body: str, *, reference: str) -> SendResult:
        # The body and number stay in the (encrypted) outbox row; the log names only the reference.
        log.info("console outbox: message %s kept (see `hotline outbox`)", reference)
        return SendResult(provider=self.name, provider_message_id=f"console-{reference}")
