"""GET /healthz reports the database and the queue, and answers 503 when either is down."""

from hotline import create_app


def test_healthz_ok_on_each_deployment_shape(client, app):
    """Both the embedded default and PostgreSQL + Redis report ok."""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["queue"]["backend"] == ("redis" if app.config["REDIS_URL"] else "embedded")


def test_healthz_503_when_the_database_is_down(tmp_path):
    """An unreachable database makes /healthz answer 503 and say which part is down."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none?connect_timeout=1"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["status"] == "down"
    assert response.get_json()["queue"]["status"] == "ok"


def test_healthz_503_when_redis_is_down(tmp_path):
    """An unreachable Redis makes /healthz answer 503 with the queue down."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["queue"] == {"status": "down", "backend": "redis", "error": "ConnectionError"}
