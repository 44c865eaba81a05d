"""Faults while 1,000 SMS flow: Redis lost, a worker killed, the gateway failing, duplicates, a flood.

Screenings that end in referred cases run through the same faults, with answer deadlines of seconds.
Afterwards nothing acknowledged is lost, no reply or alert is sent twice, every reply goes out in
order, and every escalation that fell due was carried out once, and never for an accepted referral.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline import create_app
from hotline.db import get_session
from hotline.models import (
    Alert,
    AuditEvent,
    Base,
    Case,
    Conversation,
    DurableJob,
    InboundMessage,
    OutboundMessage,
    Provider,
    ProviderContact,
    Referral,
)
from hotline.models.types import utcnow
from routing.rules import load_rules
from tests.conftest import gateway_settings
from tests.fault_tools import CuttableLink, PrivateRedis
from tests.gateway_requests import send_at_sms, ussd_session
from tests.helpers import hotline_env
from tests.referral_helpers import BAMAKO_DANGER, GAO_DANGER, load_demo_directory

CALLERS = 196
MESSAGES_PER_CALLER = 5
FLOOD_NUMBER = "+22379999999"
FLOOD_SIZE = 40
ANSWERS = ["AIDE", "1", "1", "2", "3"]
DEADLINE_SECONDS = 8  # staff have seconds, not minutes, to answer an alert, so that escalations happen in the run
# Screenings that end in a referred case, run just before the SMS of that number: on a healthy system,
# while Redis is down (150-300), just before a worker is SIGKILLed (420), while the gateway fails (500), late.
SCREENINGS = {50: ["bamako"], 100: ["gao"], 160: ["bamako", "gao"], 250: ["bamako"], 415: ["gao"],
              500: ["bamako", "gao"], 800: ["bamako", "gao"]}
SCREENING_INPUTS = {"bamako": BAMAKO_DANGER, "gao": GAO_DANGER}
# Screenings (in the order run) whose shelter answers OK to its first alert; every other referral stays silent.
ACCEPTED_SCREENINGS = {0, 2, 4, 6, 9}
# How late a due job may still be while the system counts as settled: a delayed job lost with Redis, or
# left without a scheduler by the SIGKILL (RQ's scheduler lock outlives its holder for a minute), comes
# back through the reconciler some seconds after it falls due, and a busy worker adds a few more.
ON_TIME = timedelta(seconds=15)


def record(section: str, figures: dict) -> None:
    """Add figures to the reliability report when bench/reliability_report.py asked for them."""
    path = os.environ.get("HOTLINE_RELIABILITY_OUT")
    if not path:
        return
    report = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    report[section] = figures
    Path(path).write_text(json.dumps(report, indent=2, default=str))


def caller(index: int) -> str:
    return f"+2237{7000000 + index:07d}"


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def fault_app(postgres_schema, private_redis, fake_gateway, tmp_path):
    settings = {**gateway_settings(fake_gateway, "africastalking,twilio"), "HOTLINE_JOB_BACKOFF": "1,1,2,2,3",
                "HOTLINE_JOB_MAX_ATTEMPTS": 20, "HOTLINE_ESCALATION_DEADLINES": ",".join(
                    f"{level}={DEADLINE_SECONDS}s" for level in ("critical", "high", "medium", "low")),
                "HOTLINE_USSD_FLOW": "screening"}
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_schema, "REDIS_URL": private_redis.url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **settings})
    _empty_tables(app)
    app.fault_env = hotline_env(DATABASE_URL=postgres_schema, REDIS_URL=private_redis.url,
                                HOTLINE_INSTANCE_PATH=str(tmp_path), **{k: str(v) for k, v in settings.items()})
    yield app
    app.extensions["hotline.db"].engine.dispose()


def _empty_tables(app) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with app.extensions["hotline.db"].engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def count(model, *where) -> int:
    return get_session().scalar(select(func.count()).select_from(model).where(*where))


def recipient(request) -> str:
    return request.form.get("to") or request.form.get("To")


def text_of(request) -> str:
    return request.form.get("message") or request.form.get("Body")


class StaffDesk(threading.Thread):
    """Shelter staff who answer `OK <reference>` to the first alert they get about a case they take."""

    def __init__(self, app, gateway):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.gateway = gateway
        with app.app_context():
            self.phones = set(get_session().scalars(select(ProviderContact.phone).join(Provider).where(
                Provider.kind == "shelter")))
        self.taking: set[str] = set()
        self.answered: dict[str, str] = {}  # reference -> gateway id of the OK
        self.error: BaseException | None = None
        self._quit = threading.Event()

    def take(self, reference: str) -> None:
        self.taking = self.taking | {reference}

    def done(self) -> bool:
        return self.taking <= self.answered.keys()

    def run(self) -> None:
        try:
            while not self._quit.wait(0.2):
                for request in self.gateway.sent():
                    phone = recipient(request)
                    if phone not in self.phones:
                        continue
                    for reference in self.taking - self.answered.keys():
                        if reference in text_of(request):
                            message_id = f"STAFF-OK-{reference}"
                            response = send_at_sms(self.client, phone, f"OK {reference}", message_id=message_id)
                            assert response.status_code == 200, response.status_code
                            self.answered[reference] = message_id
        except BaseException as error:  # re-raised on the test's thread by stop()
            self.error = error

    def stop(self) -> None:
        self._quit.set()
        self.join(10)
        if self.error is not None:
            raise self.error


def screen(app, client, index: int, place: str) -> str:
    """Run USSD screening ``index`` to its last screen; return the reference of the case it opened."""
    session_id = f"FAULT-USSD-{index}"
    screens = ussd_session(client, session_id, f"+2237660{index:04d}", SCREENING_INPUTS[place])
    assert screens[-1].startswith("END "), f"screening {index} did not end"
    with app.app_context():
        return get_session().scalar(select(Conversation.case_reference).where(
            Conversation.gateway_session_id == session_id))


def still_waiting(app, cases: int) -> str | None:
    """What is still due and not done (None once settled); escalations not yet overdue, and their alerts, may wait."""
    with app.app_context():
        session = get_session()
        session.expire_all()
        now = utcnow()
        overdue = now - ON_TIME
        unread = count(InboundMessage, InboundMessage.channel == "sms", InboundMessage.state == "received")
        if unread:
            return f"{unread} inbound SMS not processed"
        if count(Case) < cases or count(Case, Case.status == "open"):
            return f"{count(Case)} cases of {cases}, {count(Case, Case.status == 'open')} not routed"
        queued = session.scalars(select(OutboundMessage).where(OutboundMessage.state == "queued")).all()
        late = [f"{m.purpose} {m.id} written {(now - m.created_at).total_seconds():.0f}s ago" for m in queued
                if m.purpose != "alert" or m.created_at < overdue]
        if late:
            return f"outbound messages not sent: {late[:5]}"
        fresh_alerts = {m.id for m in queued}
        for job in session.scalars(select(DurableJob).where(DurableJob.state.in_(("pending", "running")),
                                                           DurableJob.name != "purge_personal_data")):
            escalating = job.name == "escalate_referral" or (job.name == "send_sms" and job.args[0] in fresh_alerts)
            if not escalating or job.due_at < overdue:
                return (f"job {job.id} ({job.name}) {job.state}, attempt {job.attempts}, due "
                        f"{(now - job.due_at).total_seconds():.0f}s ago")
        # Every case's first referrals must have reached their first deadline, so that silence was acted on.
        first = [f"escalate:{referral_id}:1" for referral_id in session.scalars(
            select(Referral.id).where(Referral.escalated_from_id.is_(None)))]
        due = session.scalars(select(DurableJob.due_at).where(DurableJob.key.in_(first))).all()
        if len(due) < len(first) or any(at >= overdue for at in due):
            return "first deadlines of the cases' referrals not all past"
        return None


def wait_until_settled(app, cases: int, staff: StaffDesk, workers, timeout: float) -> None:
    """Poll until nothing due is left undone; fail with what is still waiting and the workers' latest logs."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = "the staff have not yet answered every alert they take" if not staff.done() else None
        waiting = waiting or still_waiting(app, cases)
        if waiting is None:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(worker.output()[-3000:] for worker in workers)
            pytest.fail(f"not settled after {timeout}s: {waiting}; worker logs:\n{logs}")
        time.sleep(1)


def expected_successor(referral: Referral, current: Provider, by_code: dict[str, Provider],
                       max_providers: int) -> tuple[str, str, int]:
    """(provider code, role, providers tried) that the rules hand a referral silent on every contact to."""
    if referral.providers_tried < max_providers:
        ranked = list(referral.ranked)
        start = ranked.index(current.code) + 1 if current.code in ranked else 0
        for code in ranked[start:]:
            candidate = by_code.get(code)
            if candidate is not None and candidate.active and code != current.code:
                return code, referral.role, referral.providers_tried + 1
    desk = min(code for code, p in by_code.items() if p.kind == "national_desk" and p.active)
    return desk, "national_desk", referral.providers_tried


def check_escalations(session, settled_at) -> dict:
    """Check every referral's alerts and escalations against the rules; return figures for the report."""
    overdue = settled_at - ON_TIME
    max_providers = load_rules().escalation.max_providers_per_role
    providers = {p.id: p for p in session.scalars(select(Provider))}
    by_code = {p.code: p for p in providers.values()}
    position = {c.id: c.position for c in session.scalars(select(ProviderContact))}
    referrals = session.scalars(select(Referral).order_by(Referral.id)).all()
    alerts = defaultdict(list)
    for alert in session.scalars(select(Alert).order_by(Alert.id)):
        alerts[alert.referral_id].append(alert)
    successors = defaultdict(list)
    for referral in referrals:
        if referral.escalated_from_id is not None:
            successors[referral.escalated_from_id].append(referral)
    jobs = {job.key: job for job in session.scalars(select(DurableJob).where(DurableJob.name == "escalate_referral"))}
    assert {job.state for job in jobs.values()} <= {"done", "pending"}
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(("referral.escalated", "referral.accepted")))).all()
    escalated = Counter(e.subject_id for e in events if e.action == "referral.escalated")
    accepted_at = {e.subject_id: e.at for e in events if e.action == "referral.accepted"}
    for referral in referrals:
        provider = providers[referral.provider_id]
        contacts = sum(1 for c in provider.contacts if c.active)
        desk = provider.kind == "national_desk"
        # One alert row per alert; silence moves to the next contact, and a silent desk starts again at its first.
        alerted = [position[a.provider_contact_id] for a in alerts[referral.id]]
        assert alerted == [i % contacts if desk else i for i in range(referral.alert_count)], referral.id
        # The escalation after every alert but the last ran; the last one may wait only if not yet overdue.
        assert all(jobs[f"escalate:{referral.id}:{n}"].state == "done" for n in range(1, referral.alert_count))
        last = jobs[f"escalate:{referral.id}:{referral.alert_count}"]
        assert last.state == "done" or last.due_at >= overdue, referral.id
        moved_on = successors[referral.id]
        assert len(moved_on) <= 1, referral.id
        assert escalated[referral.id] == referral.alert_count - 1 + len(moved_on), referral.id
        if referral.status == "alerted":
            assert last.state == "pending" and not moved_on, referral.id
        elif referral.status == "accepted":
            # Accepted: nothing escalates from then on, though the deadline's job ran (and did nothing).
            assert not moved_on, referral.id
            assert all(a.created_at <= accepted_at[referral.id] for a in alerts[referral.id]), referral.id
        else:
            assert referral.status == "expired" and not desk and last.state == "done", referral.id
            assert referral.alert_count == contacts, referral.id
            successor = moved_on[0]
            assert (providers[successor.provider_id].code, successor.role, successor.providers_tried) == \
                expected_successor(referral, provider, by_code, max_providers), referral.id
    lateness = sorted((job.finished_at - job.due_at).total_seconds() for job in jobs.values() if job.state == "done")
    accepted = [r for r in referrals if r.status == "accepted"]
    return {
        "referrals": len(referrals),
        "referrals_made_by_escalation": len([r for r in referrals if r.escalated_from_id is not None]),
        "handed_to_national_desk": len([r for r in referrals if r.role == "national_desk"
                                        and r.escalated_from_id is not None]),
        "escalations": sum(escalated.values()),
        "escalation_jobs_run": len(lateness),
        "escalation_jobs_not_yet_due": len(jobs) - len(lateness),
        "median_seconds_late": round(lateness[len(lateness) // 2], 1) if lateness else None,
        "max_seconds_late": round(lateness[-1], 1) if lateness else None,
        "accepted": len(accepted),
        "accepted_after_an_escalation": len([r for r in accepted if r.alert_count > 1]),
        "alerts": sum(len(rows) for rows in alerts.values()),
    }


def check_staff_answers(session, answered: dict[str, str]) -> None:
    """A shelter's OK is obeyed: no deadline falling after its arrival was acted on, and the referral is accepted."""
    for reference, message_id in answered.items():
        arrived = session.scalar(select(InboundMessage.received_at).where(
            InboundMessage.gateway_message_id == message_id))
        case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        shelter = session.scalar(select(Referral).where(
            Referral.case_id == case_id, Referral.role == "shelter", Referral.escalated_from_id.is_(None)))
        moved_on = count(Referral, Referral.escalated_from_id == shelter.id)
        # Escalation n follows alert n: the ones before the last alert, and the last one if the case moved on.
        for number in range(1, shelter.alert_count + moved_on):
            due = session.scalar(select(DurableJob.due_at).where(DurableJob.key == f"escalate:{shelter.id}:{number}"))
            assert due <= arrived, f"{reference}: escalation {number} was due after the shelter's OK had arrived"
        # Silent past its last contact's deadline before the OK came, the shelter was rightly passed over.
        assert shelter.status == ("expired" if moved_on else "accepted"), reference


@pytest.mark.timeout(480)
def test_nothing_is_lost_or_doubled_through_faults(fault_app, private_redis, fake_gateway, run_hotline):
    """1,000 SMS, a flood and 10 referred screenings through Redis loss, a SIGKILL, gateway errors and duplicates."""
    app = fault_app
    client = app.test_client()
    load_demo_directory(app)
    staff = StaffDesk(app, fake_gateway)
    staff.start()
    name = iter(range(100))
    workers = [run_hotline("worker", "--name", f"fault-{next(name)}-{time.monotonic_ns()}", env=app.fault_env)
               for _ in range(2)]
    acknowledged: list[str] = []
    references: list[str] = []
    places: list[str] = []
    started = time.monotonic()
    events: list[str] = []
    traffic = [(caller(i), ANSWERS[step], f"ATX-{i}-{step}") for step in range(MESSAGES_PER_CALLER)
               for i in range(CALLERS)]
    for number, (sender, text, message_id) in enumerate(traffic):
        if number == 150:
            private_redis.stop()  # Redis lost: webhooks must keep answering, jobs wait in the database
            events.append(f"{time.monotonic() - started:.1f}s: Redis killed (message 150)")
        if number == 300:
            private_redis.start()  # back, empty: the reconciler re-enqueues what it lost
            events.append(f"{time.monotonic() - started:.1f}s: Redis restarted empty (message 300)")
        if number == 420:
            workers[0].stop(signal.SIGKILL)  # a worker killed in the middle of whatever it was doing
            workers.append(run_hotline("worker", "--name", f"fault-{next(name)}", env=app.fault_env))
            events.append(f"{time.monotonic() - started:.1f}s: a worker SIGKILLed, a new one started (message 420)")
        if number == 500:
            fake_gateway.script["africastalking"] = ["error-5xx"] * 10 + ["429"] * 5 + ["hang"] * 3
            fake_gateway.script["twilio"] = ["error-5xx"] * 8 + ["429"] * 4
            fake_gateway.hang_seconds = 2
            events.append(f"{time.monotonic() - started:.1f}s: gateway APIs answer 500, 429 and time out, then recover "
                          "(message 500)")
        for place in SCREENINGS.get(number, []):
            reference = screen(app, client, len(references), place)
            if len(references) in ACCEPTED_SCREENINGS:
                staff.take(reference)
            references.append(reference)
            places.append(place)
        if number in SCREENINGS:
            screened = "a USSD screening ends in a case" if len(SCREENINGS[number]) == 1 else \
                "two USSD screenings end in cases"
            events.append(f"{time.monotonic() - started:.1f}s: {screened} (message {number})")
        response = send_at_sms(client, sender, text, message_id=message_id)
        assert response.status_code == 200, (number, response.get_data(as_text=True))
        acknowledged.append(message_id)
        if number == 700:
            # The gateway delivers 50 earlier messages again.
            for _sender, _text, repeated in traffic[600:650]:
                assert send_at_sms(client, _sender, _text, message_id=repeated).status_code == 200
            events.append(f"{time.monotonic() - started:.1f}s: 50 messages delivered again (message 700)")
    # Two SMS from one caller at the same instant, then a flood from one number.
    twins = [threading.Thread(target=send_at_sms, args=(app.test_client(), caller(0), word),
                              kwargs={"message_id": f"TWIN-{word}"}) for word in ("1", "2")]
    for thread in twins:
        thread.start()
    for thread in twins:
        thread.join()
    for index in range(FLOOD_SIZE):
        send_at_sms(client, FLOOD_NUMBER, f"flood {index}", message_id=f"FLOOD-{index}")

    posted = time.monotonic() - started
    events.append(f"{posted:.1f}s: two SMS from one caller at the same instant, then {FLOOD_SIZE} from one number")
    wait_until_settled(app, len(references), staff, workers, timeout=300)
    settled_at = utcnow()
    seconds_to_settle = time.monotonic() - started - posted
    # Escalations go on for ever (a silent desk is alerted again): freeze everything before counting.
    staff.stop()
    for worker in workers:
        worker.stop()
    acknowledged += staff.answered.values()
    # A job the SIGKILL interrupted waits for its timeout before the reconciler frees it: the long settles.
    released = sum(int(n) for worker in workers for n in re.findall(r"reconciler released (\d+) jobs", worker.output()))

    with app.app_context():
        session = get_session()
        session.expire_all()
        inbound = session.scalars(select(InboundMessage).where(InboundMessage.channel == "sms")).all()
        # Every acknowledged message is stored, once.
        assert len(inbound) == len(acknowledged) + 2 + FLOOD_SIZE
        assert len({m.gateway_message_id for m in inbound}) == len(inbound)
        assert count(InboundMessage, InboundMessage.channel == "ussd") == sum(
            len(SCREENING_INPUTS[place]) + 1 for place in places)
        states = Counter(m.state for m in inbound)
        assert states["throttled"] == FLOOD_SIZE - 30
        assert states["processed"] == len(inbound) - states["throttled"]
        # Every processed message has exactly one reply, and none was sent twice.
        outbound = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        replies = [m for m in outbound if m.purpose != "alert"]
        replies_per_inbound = Counter(m.in_reply_to_id for m in replies)
        assert set(replies_per_inbound.values()) == {1}
        assert len(replies) == states["processed"]
        in_doubt = [m for m in outbound if m.state == "sending"]
        assert len(in_doubt) <= 1  # at most the one the SIGKILL may have caught between commit and HTTP call
        assert {m.state for m in replies} <= {"sent", "sending"}
        # An alert may still wait only if an escalation wrote it moments before the workers stopped.
        alert_messages = [m for m in outbound if m.purpose == "alert"]
        assert all(m.state in ("sent", "sending") or m.created_at >= settled_at - ON_TIME for m in alert_messages)
        assert {m.state for m in alert_messages} <= {"sent", "sending", "queued"}
        written = defaultdict(list)
        for message in outbound:
            if message.state in ("sent", "sending"):
                written[message.to_phone].append((message.body, message.state == "sending"))
        received = defaultdict(list)
        for request in fake_gateway.sent():
            received[recipient(request)].append(text_of(request))
        # Compared as counts and booleans, so that a failure never prints a number or a text.
        unwritten = len(received.keys() - written.keys())
        assert unwritten == 0, "the gateway got messages for numbers nothing was written to"
        for phone, bodies in written.items():
            # Sent once each, in the order written; a message in doubt may or may not have left.
            surely = [body for body, doubtful in bodies if not doubtful]
            as_written = received[phone] in (surely, [body for body, _ in bodies])
            assert as_written, f"{len(received[phone])} SMS got for {len(surely)} sent: doubled, lost or reordered"
        # Each alert row's SMS reached the gateway exactly once.
        alert_rows = session.scalars(select(Alert)).all()
        assert sorted(a.outbound_message_id for a in alert_rows) == sorted(m.id for m in alert_messages)
        alert_texts = {m.body for m in alert_messages}
        delivered = Counter((recipient(r), text_of(r)) for r in fake_gateway.sent() if text_of(r) in alert_texts)
        sent = Counter((m.to_phone, m.body) for m in alert_messages if m.state == "sent")
        doubtful = Counter((m.to_phone, m.body) for m in alert_messages if m.state == "sending")
        for key in delivered.keys() | sent.keys():
            extra, allowed = delivered[key] - sent[key], doubtful[key]
            assert 0 <= extra <= allowed, "an alert reached the gateway more or fewer times than its rows say"

        # Every case was routed, and no referral was accepted but by a shelter whose staff answered OK.
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        assert sorted(c.reference for c in cases) == sorted(references)
        assert all(c.status == "referred" for c in cases)
        referral_rows = session.scalars(select(Referral)).all()
        by_case = defaultdict(list)
        for referral in referral_rows:
            by_case[referral.case_id].append(referral)
        for case in cases:
            assert [r for r in by_case[case.id] if r.escalated_from_id is None], case.reference
            taken = [r.role for r in by_case[case.id] if r.status == "accepted"]
            assert taken == [] or (taken == ["shelter"] and case.reference in staff.answered), case.reference
        referral_figures = check_escalations(session, settled_at)
        check_staff_answers(session, staff.answered)
    record("flow_with_faults", {
        "events": events, "acknowledged": len(acknowledged) + 2 + FLOOD_SIZE, "stored": len(inbound),
        "duplicates_delivered": 50, "processed": states["processed"], "throttled": states["throttled"],
        "replies": len(replies), "replies_sent": sum(1 for m in replies if m.state == "sent"),
        "messages_in_doubt": len(in_doubt), "jobs_released_after_their_worker_died": released,
        "gateway_requests_accepted": len(fake_gateway.sent()),
        "seconds_posting": round(posted, 1), "seconds_to_settle": round(seconds_to_settle, 1),
    })
    record("referrals_with_faults", {
        "cases": len(cases), "deadline_seconds": DEADLINE_SECONDS, "staff_ok_sent": len(staff.answered),
        **referral_figures,
        "alerts_sent": sum(1 for m in alert_messages if m.state == "sent"),
        "alerts_written_as_workers_stopped": sum(1 for m in alert_messages if m.state == "queued"),
    })


def test_database_loss_answers_503_and_keeps_no_half_rows(postgres_schema, fake_gateway, tmp_path, redis_url):
    """With PostgreSQL unreachable the webhook answers 503; the gateway's retry after recovery is stored once."""
    link = CuttableLink(5432)
    url = postgres_schema.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **gateway_settings(fake_gateway, "africastalking")})
    _empty_tables(app)
    client = app.test_client()
    try:
        assert send_at_sms(client, caller(1), "AIDE", message_id="PG-1").status_code == 200
        link.cut()
        lost = send_at_sms(client, caller(2), "AIDE", message_id="PG-2")
        assert lost.status_code == 503
        assert client.get("/healthz").status_code == 503
        link.restore()
        assert send_at_sms(client, caller(2), "AIDE", message_id="PG-2").status_code == 200
        with app.app_context():
            ids = sorted(get_session().scalars(select(InboundMessage.gateway_message_id)))
            assert ids == ["PG-1", "PG-2"]
            assert count(DurableJob, DurableJob.name == "process_caller_sms") == 2
        record("database_loss", {"answer_while_lost": lost.status_code, "stored_after_retry": ids})
    finally:
        link.close()
        app.extensions["hotline.db"].engine.dispose()
