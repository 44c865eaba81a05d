"""Console sign-in: argon2 passwords, throttling, CSRF, server-side sessions (idle, logout, revoked), users create."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.commands.users import users
from hotline.db import get_session
from hotline.models import ConsoleSession, User
from hotline.models.types import utcnow
from tests.console_helpers import PASSWORD, audit_events, csrf_token, login, make_user, post_form


def test_login_and_logout(app, client):
    """A user signs in with email and password, sees the dashboard, and after signing out is sent to the login."""
    email = make_user(app, "operator")
    assert client.get("/console/").headers["Location"].startswith("/console/login")
    response = login(client, email)
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert "Tableau de bord" in client.get("/console/").get_data(as_text=True)
    response = post_form(client, "/console/logout")
    assert response.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302
    assert [e.action for e in audit_events(app, "auth.login")] == ["auth.login"]
    assert len(audit_events(app, "auth.logout")) == 1


def test_passwords_are_stored_as_argon2_hashes(app):
    """The password is stored only as an argon2id hash."""
    email = make_user(app, "admin")
    with app.app_context():
        stored = get_session().scalar(select(User.password_hash).where(User.email == email))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_five_wrong_passwords_lock_the_account(app, client):
    """After five failures even the right password is refused until the lock has passed."""
    email = make_user(app, "operator")
    for _ in range(5):
        assert login(client, email, "wrong password!").status_code == 401
    refused = login(client, email)
    assert refused.status_code == 401 and "bloqué" in refused.get_data(as_text=True)
    assert len(audit_events(app, "auth.locked")) == 1 and len(audit_events(app, "auth.failed")) == 4
    with app.app_context():
        user = get_session().scalar(select(User).where(User.email == email))
        assert user.locked_until > utcnow() + timedelta(minutes=14)
        user.locked_until = utcnow() - timedelta(seconds=1)
        get_session().commit()
    assert login(client, email).status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_answer(app, client):
    """Sign-in does not tell whether an email has an account."""
    email = make_user(app, "operator")
    wrong_password = login(client, email, "not the password").get_data(as_text=True)
    unknown = login(client, "nobody@hotline.test", "not the password").get_data(as_text=True)
    assert "Adresse e-mail ou mot de passe incorrect." in wrong_password
    assert "Adresse e-mail ou mot de passe incorrect." in unknown


def test_form_post_without_csrf_token_is_refused(app, client):
    """A console form posted without its CSRF token is refused and changes nothing."""
    email = make_user(app, "admin")
    assert client.post("/console/login", data={"email": email, "password": PASSWORD}).status_code == 400
    login(client, email)
    response = client.post("/console/users", data={"email": "x@hotline.test", "name": "X", "role": "analyst",
                                                   "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 400
    with app.app_context():
        assert get_session().scalar(select(User).where(User.email == "x@hotline.test")) is None


def _age_sessions(app, seconds: float) -> None:
    """Move every open console session's last activity ``seconds`` into the past."""
    with app.app_context():
        db = get_session()
        for record in db.scalars(select(ConsoleSession).where(ConsoleSession.ended_at.is_(None))):
            record.last_seen_at -= timedelta(seconds=seconds)
        db.commit()


def test_session_ends_after_the_idle_timeout(app, client):
    """A session left idle longer than HOTLINE_CONSOLE_IDLE_MINUTES is ended and must sign in again."""
    login(client, make_user(app, "operator"))
    assert client.get("/console/").status_code == 200
    _age_sessions(app, app.config["HOTLINE_CONSOLE_IDLE_MINUTES"] * 60 - 5)
    assert client.get("/console/").status_code == 200  # still inside the limit: activity renews it
    _age_sessions(app, app.config["HOTLINE_CONSOLE_IDLE_MINUTES"] * 60 + 1)
    response = client.get("/console/")
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"
    assert "inactivité" in client.get("/console/login").get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    with app.app_context():
        assert get_session().scalars(select(ConsoleSession.end_reason)).all() == ["idle"]


def _copy_cookie(source, target) -> None:
    """Give ``target`` the session cookie of ``source``, as someone who copied it would."""
    cookie = source.get_cookie("session", domain="localhost")
    target.set_cookie("session", cookie.value, domain="localhost")


def test_a_copied_cookie_stops_working_at_logout(app, client):
    """Logging out ends the session on the server: a copy of the cookie taken before is refused."""
    login(client, make_user(app, "operator"))
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert client.get("/console/").status_code == 302
    response = thief.get("/console/")
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"


def test_deactivating_a_user_ends_their_open_sessions(app, client):
    """An admin deactivating a user signs them out at once, on every browser."""
    operator_email = make_user(app, "operator")
    operator = app.test_client()
    login(operator, operator_email)
    assert operator.get("/console/").status_code == 200
    login(client, make_user(app, "admin"))
    with app.app_context():
        operator_id = get_session().scalar(select(User.id).where(User.email == operator_email))
    client.post(f"/console/users/{operator_id}/deactivate", data={"csrf_token": csrf_token(client, "/console/users")})
    assert operator.get("/console/").status_code == 302
    with app.app_context():
        reasons = get_session().scalars(select(ConsoleSession.end_reason)
                                        .where(ConsoleSession.user_id == operator_id)).all()
        assert reasons == ["deactivated"]


def test_the_database_holds_no_usable_session_token(app, client):
    """Only a hash of the cookie's token is stored: the stored value does not open a session."""
    login(client, make_user(app, "operator"))
    with app.app_context():
        stored = get_session().scalar(select(ConsoleSession.token_hash))
    with client.session_transaction() as session:
        assert session["sid"] != stored
        session["sid"] = stored
    assert client.get("/console/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(app, client):
    """The session cookie cannot be read by scripts and is not sent by other sites' forms."""
    response = login(client, make_user(app, "operator"))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_starts_a_fresh_session(app, client):
    """The CSRF token of the login page stops working after sign-in (no session fixation)."""
    email = make_user(app, "operator")
    before = csrf_token(client)
    login(client, email)
    assert client.post("/console/logout", data={"csrf_token": before}).status_code == 400


def test_deactivated_user_is_signed_out(app, client):
    """Deactivating a user ends their open session at its next request."""
    email = make_user(app, "operator")
    login(client, email)
    with app.app_context():
        get_session().scalar(select(User).where(User.email == email)).active = False
        get_session().commit()
    assert client.get("/console/").headers["Location"] == "/console/login"
    assert login(client, email).status_code == 401


def test_language_switcher_changes_the_console_language(app, client):
    """French is the default; the switcher turns the console to English and back."""
    login(client, make_user(app, "operator"))
    assert "Dossiers" in client.get("/console/").get_data(as_text=True)
    post_form(client, "/console/language", {"lang": "en", "back": "/console/cases"})
    page = client.get("/console/cases").get_data(as_text=True)
    assert "Cases" in page and "Dossiers" not in page and '<html lang="en">' in page
    post_form(client, "/console/language", {"lang": "fr"})
    assert "Dossiers" in client.get("/console/").get_data(as_text=True)


def test_users_create_command_reads_the_password_from_stdin(app):
    """`hotline users create --password-stdin` makes a user who can sign in; a short password is refused."""
    runner = app.test_cli_runner()
    result = runner.invoke(users, ["create", "--email", "Analyst@Hotline.test", "--name", "Awa", "--role",
                                   "analyst", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "analyst@hotline.test").status_code == 302
    short = runner.invoke(users, ["create", "--email", "b@hotline.test", "--name", "B", "--role", "analyst",
                                  "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output


def test_users_create_command_prompts_twice_and_checks_the_provider(app):
    """Without --password-stdin the password is asked twice; provider staff need a known provider code."""
    runner = app.test_cli_runner()
    result = runner.invoke(users, ["create", "--email", "s@hotline.test", "--name", "S", "--role",
                                   "provider_staff", "--provider", "no.such.provider"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code != 0 and "no provider has the code" in result.output
    result = runner.invoke(users, ["create", "--email", "o@hotline.test", "--name", "O", "--role", "operator"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
