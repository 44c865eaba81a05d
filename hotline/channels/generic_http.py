"""A gateway described in YAML (field names, auth, reply format), for in-country aggregators without code."""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.channels.inbound import InboundSms, UssdHop, WebhookError, gateway_id
from hotline.channels.phone import InvalidPhoneNumber, to_e164
from hotline.config import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestFields(_Strict):
    sender: str
    text: str
    session: str | None = None
    message_id: str | None = None
    service_code: str | None = None


class RequestFormat(_Strict):
    format: Literal["form", "json"] = "form"
    fields: RequestFields
    # cumulative: every input of the session joined by `separator`; latest: only the newest one.
    text_mode: Literal["cumulative", "latest"] = "cumulative"
    separator: str = "*"


class Auth(_Strict):
    token_param: str = "token"
    # Name of the environment variable that holds the shared token (never the token itself).
    token_env: str


class Reply(_Strict):
    format: Literal["text", "json"] = "text"
    continue_template: str = "CON {text}"
    end_template: str = "END {text}"
    json_text_field: str = "message"
    json_continue_field: str = "action"
    continue_value: str = "continue"
    end_value: str = "end"


class HttpChannelConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    kind: Literal["ussd", "sms"]
    request: RequestFormat
    auth: Auth
    reply: Reply = Reply()

    @model_validator(mode="after")
    def _fields_for_kind(self) -> HttpChannelConfig:
        if self.kind == "ussd" and not self.request.fields.session:
            raise ValueError("a ussd channel needs request.fields.session")
        if self.kind == "sms" and not self.request.fields.message_id:
            raise ValueError("an sms channel needs request.fields.message_id (for deduplication)")
        return self


class ChannelConfigError(ConfigError):
    """A channel file that cannot be used; the message names the file and the problem."""


def load_channel_config(path: str | Path) -> HttpChannelConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return HttpChannelConfig.model_validate(data)
    except (OSError, yaml.YAMLError) as error:
        raise ChannelConfigError(f"{path}: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in error.errors())
        raise ChannelConfigError(f"{path}: {problems}") from None


class HttpChannel:
    """Parses requests and renders replies the way one configured gateway expects."""

    def __init__(self, config: HttpChannelConfig, environ: Mapping[str, str] | None = None):
        self.config = config
        self.gateway = f"http-{config.id}"
        self._token = (environ if environ is not None else os.environ).get(config.auth.token_env)
        if not self._token:
            raise ChannelConfigError(f"channel {config.id}: environment variable {config.auth.token_env} is not set")

    def check_token(self, query: Mapping[str, str]) -> None:
        given = query.get(self.config.auth.token_param) or ""
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            raise WebhookError("missing or wrong token", status=403)

    def read_payload(self, body: bytes, form: Mapping[str, str]) -> Mapping[str, Any]:
        if self.config.request.format == "form":
            return form
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise WebhookError("body is not JSON") from None
        except RecursionError:  # thousands of nested brackets fit in a small body
            raise WebhookError("body is not JSON this gateway sends (nested too deeply)") from None
        if not isinstance(payload, dict):
            raise WebhookError("JSON body must be an object")
        return {key: "" if value is None else str(value) for key, value in payload.items()}

    def _field(self, payload: Mapping[str, Any], name: str | None, *, required: bool = True) -> str:
        value = str(payload.get(name) or "").strip() if name else ""
        if required and not value:
            raise WebhookError(f"missing field '{name}'")
        return value

    def _id(self, payload: Mapping[str, Any], name: str | None, *, required: bool = True) -> str:
        return gateway_id(self._field(payload, name, required=required), name or "")

    def _sender(self, payload: Mapping[str, Any]) -> str:
        field = self.config.request.fields.sender
        try:
            return to_e164(self._field(payload, field))
        except InvalidPhoneNumber as error:
            raise WebhookError(f"field '{field}' is {error}") from None

    def parse_ussd(self, payload: Mapping[str, Any]) -> UssdHop:
        fields = self.config.request.fields
        text = str(payload.get(fields.text) or "")
        latest = self.config.request.text_mode == "latest"
        if not latest and self.config.request.separator != "*":
            text = text.replace(self.config.request.separator, "*")
        return UssdHop(
            gateway=self.gateway,
            session_id=self._id(payload, fields.session),
            phone=self._sender(payload),
            service_code=self._field(payload, fields.service_code, required=False),
            text="" if latest else text,
            latest_input=text if latest else None,
            hop_id=self._id(payload, fields.message_id, required=False) or None,
        )

    def parse_sms(self, payload: Mapping[str, Any]) -> InboundSms:
        fields = self.config.request.fields
        if fields.text not in payload:
            raise WebhookError(f"missing field '{fields.text}'")
        return InboundSms(gateway=self.gateway, message_id=self._id(payload, fields.message_id),
                          sender=self._sender(payload), text=str(payload[fields.text]))

    def render_reply(self, text: str, continues: bool) -> tuple[str, str]:
        """The reply body and its content type."""
        reply = self.config.reply
        if reply.format == "json":
            body = {reply.json_text_field: text,
                    reply.json_continue_field: reply.continue_value if continues else reply.end_value}
            return json.dumps(body, ensure_ascii=False), "application/json"
        template = reply.continue_template if continues else reply.end_template
        return template.replace("{text}", text), "text/plain"


def load_channels(paths: str | None, environ: Mapping[str, str] | None = None) -> dict[str, HttpChannel]:
    """The channels of ``HOTLINE_HTTP_CHANNELS`` (comma-separated YAML paths), by id."""
    channels: dict[str, HttpChannel] = {}
    for raw in (paths or "").split(","):
        if raw.strip():
            channel = HttpChannel(load_channel_config(raw.strip()), environ)
            if channel.config.id in channels:
                raise ChannelConfigError(f"{raw.strip()}: channel id {channel.config.id!r} is used twice")
            channels[channel.config.id] = channel
    return channels
