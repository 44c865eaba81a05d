"""Shared fixtures: applications on the embedded default and on real PostgreSQL + Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from hotline import create_app
from hotline.migrate import upgrade_database
from hotline.models import Base
from tests.helpers import IN_CI, PG_BASE_URL, PG_SCHEMA, PG_URL, REDIS_TEST_URL, HotlineProcess


def _service_missing(name: str, error: Exception) -> None:
    message = f"{name} is needed for this test and cannot be reached: {error}"
    if IN_CI:
        pytest.fail(message)  # CI has the services: a missing one is a failure, never a skip
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, migrated once per test run."""
    try:
        admin = create_engine(PG_BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        admin.dispose()
    except Exception as error:
        _service_missing("PostgreSQL", error)
    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    upgrade_database(engine)
    engine.dispose()
    yield PG_URL
    admin = create_engine(PG_BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        _service_missing("Redis", error)
    return REDIS_TEST_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


def _truncate_all(app) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with app.extensions["hotline.db"].engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_overrides() -> dict:
    """Extra settings for the application fixtures; test modules override this fixture."""
    return {}


# Most tests drive the screening flow straight from the dial; the main menu's own tests say
# "HOTLINE_USSD_FLOW": "main" in their app_overrides.
BASE_SETTINGS = {"HOTLINE_USSD_FLOW": "screening"}


@pytest.fixture
def embedded_app(tmp_path, sqlite_template, app_overrides):
    """The embedded default: a fresh SQLite file and the in-process queue (not started)."""
    database = tmp_path / "hotline.db"
    shutil.copy(sqlite_template, database)
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": None,
         "INSTANCE_PATH": str(tmp_path / "instance"), **BASE_SETTINGS, **app_overrides}
    )
    yield app
    app.extensions["hotline.queue"].stop()
    app.extensions["hotline.db"].engine.dispose()


@pytest.fixture
def services_app(tmp_path, postgres_schema, redis_url, app_overrides):
    """Production shape: PostgreSQL and Redis, both emptied before and after the test."""
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    app = create_app(
        {"TESTING": True, "DATABASE_URL": postgres_schema, "REDIS_URL": redis_url,
         "INSTANCE_PATH": str(tmp_path / "instance"), **BASE_SETTINGS, **app_overrides}
    )
    _truncate_all(app)
    yield app
    _truncate_all(app)
    app.extensions["hotline.db"].engine.dispose()
    redis.flushdb()


@pytest.fixture(params=["embedded", "services"])
def app(request):
    """The application on each deployment shape in turn."""
    return request.getfixturevalue(f"{request.param}_app")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_hotline(tmp_path) -> Iterator:
    """Start `hotline ...` subprocesses; each is stopped when the test ends."""
    started: list[HotlineProcess] = []

    def start(*args: str, env: dict[str, str]) -> HotlineProcess:
        process = HotlineProcess(list(args), env, tmp_path / f"hotline-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def fake_gateway():
    """Local stand-ins for the Twilio and Africa's Talking APIs, recording what the SDKs send."""
    from tests.fake_gateway import FakeGateway

    gateway = FakeGateway().start()
    yield gateway
    gateway.stop()


def gateway_settings(gateway, providers: str) -> dict:
    """Settings that point the real SDKs at ``gateway``."""
    from tests.fake_gateway import TWILIO_SID, TWILIO_TOKEN

    return {
        "SMS_PROVIDERS": providers,
        "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM": "+15005550006",
        "TWILIO_API_URL": gateway.twilio_url,
        "AT_USERNAME": "hotline-test", "AT_API_KEY": "at-test-key", "AT_SENDER_ID": "HOTLINE",
        "AT_API_URL": gateway.africastalking_url, "AT_WEBHOOK_TOKEN": "at-webhook-token",
        "HOTLINE_SMS_TIMEOUT": 1.0, "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
    }
