"""`hotline serve` brings the embedded default up from nothing: SQLite under instance/, jobs in-process."""

from __future__ import annotations

import json
import urllib.request

from tests.helpers import free_port, hotline_env, wait_for


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return None


def test_serve_creates_the_database_and_reports_healthy(tmp_path, run_hotline):
    """A first start creates and migrates instance/hotline.db and /healthz says ok."""
    port = free_port()
    instance = tmp_path / "instance"
    env = hotline_env(HOTLINE_INSTANCE_PATH=str(instance), HOTLINE_PII_KEY=None)
    server = run_hotline("serve", "--port", str(port), env=env)
    answer = wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), timeout=30,
                      message="the server to answer")
    assert answer == (200, {"status": "ok", "database": {"status": "ok", "dialect": "sqlite"},
                            "queue": {"status": "ok", "backend": "embedded"}}), server.output()
    assert (instance / "hotline.db").exists()
    assert (instance / "pii.key").exists()
    assert "jobs run in this process" in server.output()
