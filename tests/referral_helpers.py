"""Helpers for referral tests: the demo directory loaded, screenings that make cases, due jobs run now."""

from __future__ import annotations

import time

from sqlalchemy import select

from hotline.db import get_session
from hotline.directory import save_providers
from hotline.models import DurableJob, Provider, ProviderContact, Referral
from hotline.models.types import utcnow
from routing.directory import load_demo_providers
from tests.gateway_requests import ussd_session
from tests.helpers import run_jobs

# French; may talk; danger now; 12-17; girl; region 1 (Bamako); commune 1; shelter + police; callback; police.
BAMAKO_DANGER = ["1", "1", "1", "1", "2", "1", "1", "1", "1 3", "1", "1"]
# French; may talk; danger now; 18-25; woman; region 8 (Gao); cercle Gao; shelter; no callback; no police.
GAO_DANGER = ["1", "1", "1", "1", "3", "1", "8", "1", "1", "2", "2"]


def load_demo_directory(app) -> None:
    with app.app_context():
        save_providers(get_session(), load_demo_providers())
        get_session().commit()


def screen_case(app, client, session_id: str, phone: str, inputs: list[str]) -> str:
    """Run a USSD screening and the jobs it causes; return the case reference from the last screen."""
    screens = ussd_session(client, session_id, phone, inputs)
    assert screens[-1].startswith("END "), screens[-1]
    run_jobs(app)
    from hotline.models import Case

    with app.app_context():
        return get_session().scalars(select(Case.reference).order_by(Case.id.desc())).first()


def contact_phones(app, provider_code: str) -> list[str]:
    with app.app_context():
        provider = get_session().scalar(select(Provider).where(Provider.code == provider_code))
        return [c.phone for c in sorted(provider.contacts, key=lambda c: c.position)]


def referrals_of(app, reference: str) -> list[tuple[str, str, str, int]]:
    """(role, provider code, status, contact position) of every referral of a case, oldest first."""
    from hotline.models import Case

    with app.app_context():
        session = get_session()
        session.expire_all()
        case = session.scalar(select(Case).where(Case.reference == reference))
        rows = session.scalars(select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)).all()
        return [(r.role, session.get(Provider, r.provider_id).code, r.status, r.contact_position) for r in rows]


def pass_deadlines(app) -> None:
    """Wait until every pending escalation is due (tests use deadlines of seconds), then run the due jobs."""
    with app.app_context():
        session = get_session()
        due = session.scalars(select(DurableJob.due_at).where(
            DurableJob.name == "escalate_referral", DurableJob.state == "pending")).all()
    if due:
        time.sleep(max(0.0, (max(due) - utcnow()).total_seconds()) + 1.1)
    run_jobs(app)


def staff_of(app, provider_code: str) -> ProviderContact:
    with app.app_context():
        provider = get_session().scalar(select(Provider).where(Provider.code == provider_code))
        return provider.contacts[0]
