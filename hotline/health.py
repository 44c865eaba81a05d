"""GET /healthz: whether the database and the queue answer, for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, jsonify

from hotline.db import get_db
from workers.queue import get_queue

blueprint = Blueprint("health", __name__)


def service_status() -> dict:
    """Ask the database and the queue; return their status and whether all is well."""
    checks = {}
    database = get_db()
    try:
        database.ping()
        checks["database"] = {"status": "ok", "dialect": database.dialect}
    except Exception as error:
        checks["database"] = {"status": "down", "error": type(error).__name__}
    backend = get_queue()
    try:
        backend.ping()
        checks["queue"] = {"status": "ok", "backend": backend.name}
    except Exception as error:
        checks["queue"] = {"status": "down", "backend": backend.name, "error": type(error).__name__}
    healthy = all(check["status"] == "ok" for check in checks.values())
    return {"status": "ok" if healthy else "down", **checks}


@blueprint.get("/healthz")
def healthz():
    status = service_status()
    return jsonify(status), 200 if status["status"] == "ok" else 503
