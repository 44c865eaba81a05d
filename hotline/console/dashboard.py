"""The dashboard: open cases by risk, referrals awaiting an answer, failed alerts, queue and gateway health."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.db import get_session
from hotline.health import service_status
from hotline.models import Alert, Case, DurableJob, OutboundMessage, Provider, Referral
from hotline.models.types import utcnow

RISK_ORDER = ("critical", "high", "medium", "low")
OPEN_CASE_STATES = ("open", "referred", "unrouted")
WAITING_REFERRAL_STATES = ("pending", "alerted")

add_nav_item("console.dashboard", _l("Dashboard"), ("admin", "operator", "provider_staff", "analyst"), 10)


def _provider_case_ids(provider_id: int):
    return select(Referral.case_id).where(Referral.provider_id == provider_id)


def _open_real_cases():
    return (Case.status.in_(OPEN_CASE_STATES), Case.simulated.is_(False))


def open_cases_by_risk(provider_id: int | None = None) -> dict[str, int]:
    query = select(Case.risk_level, func.count(Case.id)).where(*_open_real_cases())
    if provider_id is not None:
        query = query.where(Case.id.in_(_provider_case_ids(provider_id)))
    counts = dict(get_session().execute(query.group_by(Case.risk_level)).all())
    return {level: counts.get(level, 0) for level in RISK_ORDER}


def newest_open_cases(provider_id: int | None = None, limit: int = 15) -> list[Case]:
    query = select(Case).where(*_open_real_cases())
    if provider_id is not None:
        query = query.where(Case.id.in_(_provider_case_ids(provider_id)))
    return list(get_session().scalars(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def newest_simulated_cases(limit: int = 5) -> list[Case]:
    """Cases made in the simulator, shown apart so nobody takes them for a caller's."""
    query = select(Case).where(Case.simulated.is_(True), Case.status != "closed")
    return list(get_session().scalars(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def waiting_referrals(provider_id: int | None = None, limit: int = 50) -> list[dict]:
    """Referrals alerted but not answered, soonest escalation first, with the seconds left."""
    query = (select(Referral, Case.reference, Case.risk_level, Provider.name)
             .join(Case, Case.id == Referral.case_id).join(Provider, Provider.id == Referral.provider_id)
             .where(Referral.status.in_(WAITING_REFERRAL_STATES)))
    if provider_id is not None:
        query = query.where(Referral.provider_id == provider_id)
    now = utcnow()
    rows = get_session().execute(query.order_by(Referral.deadline_at.asc(), Referral.id).limit(limit)).all()
    return [{"referral": referral, "reference": reference, "risk_level": risk, "provider_name": name,
             "seconds_left": int((referral.deadline_at - now).total_seconds()) if referral.deadline_at else None}
            for referral, reference, risk, name in rows]


def count_waiting_referrals() -> int:
    return get_session().scalar(select(func.count(Referral.id))
                                .where(Referral.status.in_(WAITING_REFERRAL_STATES))) or 0


def failed_alerts(limit: int = 50) -> list[dict]:
    """Alert SMS that could not be sent: which case and provider, and the gateway's reason."""
    query = (select(OutboundMessage, Case.reference, Provider.name)
             .join(Alert, Alert.outbound_message_id == OutboundMessage.id)
             .join(Referral, Referral.id == Alert.referral_id)
             .join(Case, Case.id == Referral.case_id).join(Provider, Provider.id == Referral.provider_id)
             .where(OutboundMessage.purpose == "alert", OutboundMessage.state == "failed")
             .order_by(OutboundMessage.id.desc()).limit(limit))
    return [{"message": message, "reference": reference, "provider_name": name}
            for message, reference, name in get_session().execute(query).all()]


def count_failed_alerts() -> int:
    return get_session().scalar(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.purpose == "alert", OutboundMessage.state == "failed")) or 0


def job_counts() -> dict[str, int]:
    rows = dict(get_session().execute(select(DurableJob.state, func.count(DurableJob.id))
                                      .where(DurableJob.state.in_(("pending", "running", "failed")))
                                      .group_by(DurableJob.state)).all())
    return {state: rows.get(state, 0) for state in ("pending", "running", "failed")}


@blueprint.get("/")
@requires_role("admin", "operator", "provider_staff", "analyst")
def dashboard():
    """Each role sees what it may: counts only for analysts, its own referrals for provider staff."""
    user = current_user()
    context: dict = {"risk_order": RISK_ORDER}
    if user.role == "analyst":
        context.update(by_risk=open_cases_by_risk(), waiting_count=count_waiting_referrals(),
                       failed_count=count_failed_alerts(), jobs=job_counts())
    elif user.role == "provider_staff":
        provider = get_session().get(Provider, user.provider_id) if user.provider_id else None
        provider_id = user.provider_id or -1
        context.update(provider=provider, by_risk=open_cases_by_risk(provider_id),
                       cases=newest_open_cases(provider_id), waiting=waiting_referrals(provider_id))
    else:
        context.update(by_risk=open_cases_by_risk(), cases=newest_open_cases(), waiting=waiting_referrals(),
                       simulated=newest_simulated_cases(),
                       failed=failed_alerts(), health=service_status(), jobs=job_counts(),
                       sms_providers=current_app.config.get("SMS_PROVIDERS", []))
    return render_template("console/dashboard.html", **context)
