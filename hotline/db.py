"""Database engine and sessions: one session per request or job, removed at teardown."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

EXTENSION_KEY = "hotline.db"


def database_url(configured: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL to use: the configured one (psycopg 3 driver), or SQLite under instance/."""
    if not configured:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(instance_path) / 'hotline.db'}"
    # Hosting platforms hand out postgres:// URLs; the installed driver is psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if configured.startswith(prefix):
            return "postgresql+psycopg://" + configured[len(prefix):]
    return configured


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web thread read while the in-process queue writes; the timeout waits out writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def build_engine(url: str) -> Engine:
    # hide_parameters: SQL errors in logs must never carry the values (numbers, texts) of a row.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # A lost database must fail fast (a 503 the gateway retries), not hang the request. No
    # pre-ping: it costs a round trip per transaction, and SQLAlchemy already throws away the
    # whole pool on the first disconnect error, so only the request that met it fails.
    return create_engine(url, pool_size=5, max_overflow=10, pool_timeout=10, pool_recycle=1800,
                         hide_parameters=True, connect_args={"connect_timeout": 5})


def _app_context_id() -> int:
    return id(app_ctx._get_current_object())


class Database:
    """An engine and a thread-scoped session factory for one application."""

    def __init__(self, url: str):
        self.url = url
        self.engine = build_engine(url)
        # One session per application context (a request, a job), as Flask-SQLAlchemy does.
        self.sessions = scoped_session(
            sessionmaker(bind=self.engine, expire_on_commit=False), scopefunc=_app_context_id
        )
        self._pid = os.getpid()

    @property
    def session(self) -> Session:
        if os.getpid() != self._pid:
            # A forked RQ work horse must not share the parent's pooled connections.
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.sessions()

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def init_app(app: Flask) -> Database:
    database = Database(database_url(app.config.get("DATABASE_URL"), app.instance_path))
    app.extensions[EXTENSION_KEY] = database

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.sessions.remove()

    return database


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]


def get_session() -> Session:
    """The session of the current request or job."""
    return get_db().session
