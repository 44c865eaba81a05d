"""`hotline demo`: the whole path on the embedded default, printed as a timeline a newcomer can follow."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import click
from sqlalchemy import select

from hotline.app import create_app
from hotline.db import get_db, get_session
from hotline.directory import save_providers
from hotline.migrate import upgrade_database
from hotline.models import AuditEvent, Case, OutboundMessage, Provider, Referral
from routing.directory import load_demo_providers

DEMO_TOKEN = "demo-token"
BAMAKO_CALLER = "+22376000101"
GAO_CALLER = "+22376000202"
# Main menu: French, 1 report; then: continue; may talk; danger now; 12-17; girl; Bamako; Commune I;
# shelter + police; call back; police.
BAMAKO_INPUTS = ["1", "1", "1", "1", "1", "2", "1", "1", "1", "1 3", "1", "1"]
# Main menu: French, 1 report; then: continue; may talk; danger now; 18-25; woman; Gao; Gao; shelter;
# no call back; no police.
GAO_INPUTS = ["1", "1", "1", "1", "1", "3", "1", "8", "1", "1", "2", "2"]


class Timeline:
    """Prints what happens with the seconds since the demo began."""

    def __init__(self):
        self.started = time.monotonic()

    def say(self, who: str, text: str, *, color: str | None = None) -> None:
        stamp = f"{time.monotonic() - self.started:6.1f}s"
        lines = text.splitlines() or [""]
        click.echo(f"{stamp}  {click.style(f'{who:<10}', fg=color, bold=True)} {lines[0]}")
        for line in lines[1:]:
            click.echo(f"{'':8}  {'':<10} {line}")

    def heading(self, text: str) -> None:
        click.echo("\n" + click.style(f"== {text} ", bold=True) + "=" * max(0, 70 - len(text)))


@click.command()
@click.option("--deadline", type=int, default=4, show_default=True,
              help="Seconds staff have to answer an alert in the demo (real rules: minutes to hours).")
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the demo database in this folder (default: a temporary folder).")
def demo(deadline: int, instance: Path | None) -> None:
    """Run a scripted screening, routing, OK reply and escalation on the embedded default."""
    folder = instance or Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app({
        "INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}", "REDIS_URL": None,
        "SMS_PROVIDERS": "console", "AT_WEBHOOK_TOKEN": DEMO_TOKEN, "HOTLINE_EMBEDDED_WORKER": False,
        "HOTLINE_ESCALATION_DEADLINES": ",".join(f"{level}={deadline}s" for level in
                                                 ("critical", "high", "medium", "low")),
    })
    # The timeline says what happens; routine log lines would drown it.
    for name in ("hotline", "workers", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    timeline = Timeline()
    with app.app_context():
        upgrade_database(get_db().engine)
        save_providers(get_session(), load_demo_providers())
        get_session().commit()
    timeline.heading("Set-up")
    timeline.say("system", f"embedded default in {folder}: SQLite, in-process queue, console SMS outbox")
    timeline.say("system", f"demo directory of Mali loaded; staff must answer alerts within {deadline}s")
    client = app.test_client()

    timeline.heading("1. A girl in danger in Bamako dials the USSD code")
    bamako_ref = _screen(app, client, timeline, "DEMO-BKO", BAMAKO_CALLER, BAMAKO_INPUTS)
    _run_jobs(app)
    _show_routing(app, timeline, bamako_ref)
    _show_outbox(app, timeline)

    timeline.heading("2. The AJDM shelter answers OK by SMS, then the others do too")
    for number, code in enumerate(_alerted_providers(app, bamako_ref)):
        timeline.say(code.split(".")[0], f"OK {bamako_ref}", color="green")
        client.post(f"/webhooks/africastalking/sms?token={DEMO_TOKEN}", data={
            "from": _first_contact(app, code), "to": "8000", "text": f"OK {bamako_ref}",
            "id": f"demo-sms-{number}", "date": "2026-01-01 10:00:00", "linkId": "demo"})
        _run_jobs(app)
        _show_outbox(app, timeline)
    _show_referrals(app, timeline, bamako_ref)

    timeline.heading("3. A woman in danger in Gao; nobody answers")
    gao_ref = _screen(app, client, timeline, "DEMO-GAO", GAO_CALLER, GAO_INPUTS)
    _run_jobs(app)
    _show_routing(app, timeline, gao_ref)
    _show_outbox(app, timeline)
    for _round in range(2):
        timeline.say("system", f"waiting {deadline}s for an answer that does not come ...")
        time.sleep(deadline + 1.2)
        _run_jobs(app)
        _show_escalations(app, timeline)
        _show_outbox(app, timeline)
    _show_referrals(app, timeline, gao_ref)
    timeline.heading("Done")
    timeline.say("system", "run `hotline serve` to start the hotline itself; `hotline outbox` lists kept SMS")
    timeline.say("system", "console: `hotline users create --email you@example.org --name You --role admin`, "
                           "then sign in at http://127.0.0.1:5000/console/")


def _screen(app, client, timeline: Timeline, session_id: str, phone: str, inputs: list[str]) -> str:
    typed: list[str] = []
    for answer in [None, *inputs]:
        if answer is not None:
            typed.append(answer)
            timeline.say("caller", answer, color="cyan")
        screen = client.post(f"/webhooks/africastalking/ussd?token={DEMO_TOKEN}", data={
            "sessionId": session_id, "serviceCode": "*8000#", "phoneNumber": phone, "networkCode": "61002",
            "text": "*".join(typed)}).get_data(as_text=True)
        timeline.say("USSD", screen, color="yellow")
    with app.app_context():
        return get_session().scalars(select(Case.reference).order_by(Case.id.desc())).first()


def _run_jobs(app) -> None:
    from workers.queue import get_queue

    with app.app_context():
        while get_queue().run_due():
            pass


def _alerted_providers(app, reference: str) -> list[str]:
    """Codes of the providers alerted for a case, the shelter first."""
    with app.app_context():
        session = get_session()
        case = session.scalar(select(Case).where(Case.reference == reference))
        referrals = session.scalars(select(Referral).where(Referral.case_id == case.id)).all()
        shelter_first = sorted(referrals, key=lambda referral: referral.role != "shelter")
        return [session.get(Provider, referral.provider_id).code for referral in shelter_first]


def _first_contact(app, code: str) -> str:
    with app.app_context():
        provider = get_session().scalar(select(Provider).where(Provider.code == code))
        return min(provider.contacts, key=lambda contact: contact.position).phone


_shown_messages: set[int] = set()
_shown_events: set[int] = set()


def _show_outbox(app, timeline: Timeline) -> None:
    with app.app_context():
        for message in get_session().scalars(select(OutboundMessage).order_by(OutboundMessage.id)):
            if message.id in _shown_messages:
                continue
            _shown_messages.add(message.id)
            timeline.say("SMS out", f"to {message.to_phone} ({message.purpose}, {message.encoding}, "
                                    f"{message.segments} SMS):\n{message.body}", color="magenta")


def _show_routing(app, timeline: Timeline, reference: str) -> None:
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.reference == reference))
        timeline.say("case", f"{case.reference}: risk {case.risk_level} (score {case.risk_score}), "
                             f"needs {', '.join(case.needs) or 'none'}", color="red")
        for line in case.routing_explanation["explanation"]["en"]:
            # Candidates nobody needed to look at are noise in a demo; the console shows them all.
            if "not examined" not in line and "ranked" not in line:
                timeline.say("routing", line)


def _show_referrals(app, timeline: Timeline, reference: str) -> None:
    with app.app_context():
        session = get_session()
        case = session.scalar(select(Case).where(Case.reference == reference))
        for referral in session.scalars(select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)):
            provider = session.get(Provider, referral.provider_id)
            timeline.say("referral", f"{referral.role:<16} {provider.name:<55} {referral.status}"
                                     f" (contact {referral.contact_position + 1})")


def _show_escalations(app, timeline: Timeline) -> None:
    with app.app_context():
        for event in get_session().scalars(select(AuditEvent).where(
                AuditEvent.action.in_(("referral.escalated", "case.unrouted"))).order_by(AuditEvent.id)):
            if event.id in _shown_events:
                continue
            _shown_events.add(event.id)
            reason = (event.details.get("reason") or {}).get("sentence", "")
            timeline.say("escalate", f"referral {event.subject_id}: {event.details.get('action')} - {reason}",
                         color="red")
