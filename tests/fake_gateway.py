"""A local HTTP server that stands in for Twilio's and Africa's Talking's SMS APIs and records requests."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-twilio-auth-token"


@dataclass
class RecordedRequest:
    gateway: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.time)


class FakeGateway:
    """Answers as each API would; ``behaviour[gateway]`` is 'ok', 'error-4xx', 'error-5xx', '429' or 'hang'.

    ``script[gateway]`` is an optional list of behaviours used one per request before falling
    back to ``behaviour``, to make a gateway fail a few times and then recover.
    """

    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self.behaviour = {"twilio": "ok", "africastalking": "ok"}
        self.script: dict[str, list[str]] = {"twilio": [], "africastalking": []}
        self.hang_seconds = 15.0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                gateway._handle(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def twilio_url(self) -> str:
        return self.url + "/twilio"

    @property
    def africastalking_url(self) -> str:
        return self.url + "/africastalking/version1"

    def start(self) -> FakeGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sent(self, gateway: str | None = None) -> list[RecordedRequest]:
        """Requests the gateway accepted (2xx), oldest first."""
        with self._lock:
            return [r for r in self.requests if (gateway is None or r.gateway == gateway) and r.status < 300]

    def _next_behaviour(self, gateway: str) -> str:
        with self._lock:
            if self.script[gateway]:
                return self.script[gateway].pop(0)
            return self.behaviour[gateway]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode("utf-8")).items()}
        gateway = "twilio" if handler.path.startswith("/twilio/") else "africastalking"
        behaviour = self._next_behaviour(gateway)
        if behaviour == "hang":
            time.sleep(self.hang_seconds)
            return
        with self._lock:
            number = next(self._ids)
        status, body = (self._twilio if gateway == "twilio" else self._africastalking)(behaviour, form, number)
        recipient_refused = gateway == "africastalking" and behaviour == "error-4xx"
        with self._lock:
            self.requests.append(RecordedRequest(gateway, handler.path, form, dict(handler.headers),
                                                 status=422 if recipient_refused else status))
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _twilio(behaviour: str, form: dict, number: int):
        if behaviour == "error-4xx":
            return 400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
        if behaviour == "error-5xx":
            return 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        if behaviour == "429":
            return 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
        return 201, {"sid": f"SM{number:032d}", "status": "queued", "to": form.get("To"),
                     "from": form.get("From"), "body": form.get("Body"), "account_sid": TWILIO_SID}

    @staticmethod
    def _africastalking(behaviour: str, form: dict, number: int):
        if behaviour == "error-5xx":
            return 500, {"error": "internal"}
        if behaviour == "429":
            return 429, {"error": "too many requests"}
        recipient = {"number": form.get("to"), "cost": "XOF 25.0000"}
        if behaviour == "error-4xx":
            recipient.update(statusCode=403, status="InvalidPhoneNumber", messageId="None")
        else:
            recipient.update(statusCode=101, status="Success", messageId=f"ATXid_{number:08d}")
        return 201, {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [recipient]}}
