"""Per-caller locks so two workers never handle one caller's messages at the same time."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from hotline.db import get_db

_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()
_lock_engines: dict[str, Engine] = {}


def _lock_engine(engine: Engine) -> Engine:
    """An engine without a pool for lock connections, next to the application's engine.

    A lock's connection exists only while the lock is held. A pooled one outlives it, and a
    process forked meanwhile (RQ's scheduler, forked by the worker between jobs) inherits its
    socket: after a SIGKILL of the worker the child kept the PostgreSQL session, and the lock,
    alive until it exited.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _local_locks_guard:
        if key not in _lock_engines:
            _lock_engines[key] = create_engine(engine.url, poolclass=NullPool, hide_parameters=True,
                                               connect_args={"connect_timeout": 5})
        return _lock_engines[key]


def _advisory_key(scope: str, name: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{scope}\n{name}".encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def caller_lock(name: str, timeout_seconds: float = 30.0) -> Iterator[None]:
    """Hold the lock called ``name`` across transactions, for every process on the database.

    PostgreSQL: a session advisory lock on a connection of its own, so the caller's
    session may commit as often as it likes while holding it. SQLite (the embedded
    default, one process): a lock per name inside this process.
    """
    database = get_db()
    if database.dialect != "postgresql":
        with _local_locks_guard:
            lock = _local_locks.setdefault(name, threading.Lock())
        if not lock.acquire(timeout=timeout_seconds):
            raise TimeoutError("caller lock busy")
        try:
            yield
        finally:
            lock.release()
        return
    # Advisory locks are shared by the whole PostgreSQL database, whatever the schema: the URL (its
    # search_path option included) keeps two hotlines in one database from locking each other's callers.
    key = _advisory_key(database.engine.url.render_as_string(hide_password=True), name)
    # Autocommit: the lock belongs to the connection, and no transaction should stay open on it.
    with _lock_engine(database.engine).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = time.monotonic() + timeout_seconds
        while not connection.scalar(select(func.pg_try_advisory_lock(key))):
            if time.monotonic() > deadline:
                raise TimeoutError("caller lock busy")
            time.sleep(0.02)
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(key)))
