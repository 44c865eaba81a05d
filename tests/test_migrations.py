"""`hotline db upgrade` on SQLite and PostgreSQL, and migrations that match the models."""

import os
import subprocess

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from hotline.migrate import head_revision
from hotline.models import Base
from tests.helpers import HOTLINE_BIN, PG_BASE_URL, PROJECT_ROOT, hotline_env


def run_upgrade(env):
    return subprocess.run([HOTLINE_BIN, "db", "upgrade"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_twice_on_a_new_sqlite_file(tmp_path):
    """A new SQLite file is created and migrated; a second run succeeds and changes nothing."""
    database = tmp_path / "new.db"
    env = hotline_env(DATABASE_URL=f"sqlite:///{database}", HOTLINE_INSTANCE_PATH=str(tmp_path))
    for _ in range(2):
        result = run_upgrade(env)
        assert result.returncode == 0, result.stderr
        assert f"revision {head_revision()}" in result.stdout
    tables = set(inspect(create_engine(f"sqlite:///{database}")).get_table_names())
    assert {"contacts", "cases", "durable_jobs", "outbound_messages", "referrals"} <= tables


def test_db_upgrade_twice_on_postgresql(tmp_path, postgres_schema):
    """A fresh PostgreSQL schema is migrated by the CLI, twice, without error."""
    schema = f"hotline_upgrade_check_{os.getpid()}"
    admin = create_engine(PG_BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    env = hotline_env(DATABASE_URL=f"{PG_BASE_URL}?options=-csearch_path%3D{schema}",
                      HOTLINE_INSTANCE_PATH=str(tmp_path))
    try:
        for _ in range(2):
            result = run_upgrade(env)
            assert result.returncode == 0, result.stderr
            assert "(postgresql)" in result.stdout
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def test_migrations_match_the_models_on_both_databases(sqlite_template, postgres_schema):
    """Autogenerate finds nothing to add: the migrations create exactly the typed models."""
    for url in (f"sqlite:///{sqlite_template}", postgres_schema.replace("postgresql://", "postgresql+psycopg://")):
        engine = create_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()
