"""Settings from the environment and the production start-up checks."""

import subprocess

import pytest

from hotline import create_app
from hotline.config import ConfigError, Settings
from tests.helpers import HOTLINE_BIN, PROJECT_ROOT, hotline_env

SAFE_PRODUCTION = {
    "HOTLINE_ENV": "production",
    "SECRET_KEY": "a-long-random-secret-for-production-use",
    "HOTLINE_PII_KEY": "L8KmZLTeHK6k4R9OlTyUC7rpZALOyx34N1GCeGd4Y9c=",
    "SMS_PROVIDERS": "twilio",
}


def test_settings_read_the_brief_variable_names():
    """Every variable of the brief is read under its own name; SMS_PROVIDERS is a comma list."""
    settings = Settings.from_environ(
        {"DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://h:1/0", "SMS_PROVIDERS": "africastalking, twilio",
         "AT_WEBHOOK_TOKEN": "t", "TWILIO_API_URL": "http://127.0.0.1:9", "AT_API_URL": "http://127.0.0.1:8"}
    )
    assert settings.DATABASE_URL == "sqlite:///x.db"
    assert settings.REDIS_URL == "redis://h:1/0"
    assert settings.SMS_PROVIDERS == ["africastalking", "twilio"]
    assert settings.TWILIO_API_URL == "http://127.0.0.1:9"
    assert settings.AT_API_URL == "http://127.0.0.1:8"


def test_blank_variables_count_as_unset():
    """An empty REDIS_URL means the embedded queue, not a broken Redis URL."""
    assert Settings.from_environ({"REDIS_URL": " ", "DATABASE_URL": ""}).REDIS_URL is None


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"HOTLINE_PII_KEY": None}, "HOTLINE_PII_KEY"),
        ({"AT_USERNAME": "hotline", "AT_API_KEY": "k"}, "AT_WEBHOOK_TOKEN"),
        ({"SMS_PROVIDERS": "africastalking"}, "AT_WEBHOOK_TOKEN"),
        ({"SMS_PROVIDERS": "console"}, "SMS_PROVIDERS"),
    ],
)
def test_production_refuses_unsafe_settings(monkeypatch, tmp_path, change, variable):
    """Production mode refuses each unsafe setting with a one-line message naming the variable."""
    for name, value in {**SAFE_PRODUCTION, **change}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    lines = str(refused.value).splitlines()
    assert len(lines) == 1
    assert variable in lines[0]


def test_production_starts_when_safe(monkeypatch, tmp_path):
    """A complete production configuration starts, with secure session cookies."""
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "HOTLINE_EMBEDDED_WORKER": False})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_cli_names_the_variable_and_exits_non_zero(tmp_path):
    """`hotline` in production with the default secret exits 2 and says which variable is wrong."""
    env = hotline_env(HOTLINE_ENV="production", SECRET_KEY=None, HOTLINE_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run([HOTLINE_BIN, "db", "upgrade"], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_keeps_a_generated_pii_key(tmp_path, monkeypatch):
    """Without HOTLINE_PII_KEY in development, a key is made once under instance/ and reused."""
    monkeypatch.delenv("HOTLINE_PII_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path), "HOTLINE_EMBEDDED_WORKER": False,
              "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    first = create_app(config)
    token = first.extensions["hotline.pii"].encrypt("+22370000000")
    second = create_app(config)
    assert second.extensions["hotline.pii"].decrypt(token) == "+22370000000"
    assert (tmp_path / "pii.key").stat().st_mode & 0o077 == 0
