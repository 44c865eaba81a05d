"""The ceiling for bench_ussd_load.py: a bare Flask app answering ``CON hello`` at the USSD webhook's path.

Served with the same gunicorn settings as the hotline (``gunicorn --pythonpath bench bare_app:app``).
It reads nothing from the request: it is the cost of gunicorn + Flask + one plain-text answer.
"""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


@app.post("/webhooks/africastalking/ussd")
def ussd() -> Response:
    return Response("CON hello", mimetype="text/plain")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok", mimetype="text/plain")
