"""Simulator: a phone on screen that talks to the real engine and shows who routing would alert, in a sandbox.

The session lives in a signed form field (the engine's state, the screens so far and the draft text
when trying an unpublished flow), never in the logs. At CASE_READY the real routing engine runs on
the database's directory as a dry run and the case is stored marked simulated, so operators find it
on the dashboard and its own page; no referral, job or SMS is made for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app, flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

import flows as engine
from hotline.cases import new_reference, record_simulated_case
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.console.explanations import decision_lines, reason_text
from hotline.console.flows import check_source, ensure_published, problem_rows
from hotline.conversation import MAX_FLOW_SWITCHES, help_directory, places
from hotline.db import get_session
from hotline.directory import directory_snapshot
from hotline.flow_store import FlowStore, flow_store
from hotline.models import FlowVersion
from hotline.models.types import utcnow
from hotline.referrals import routing_record, routing_rules
from hotline.simulation import plan_alerts, summarize_case

SIMULATOR_ROLES = ("admin", "operator")
CHANNELS = ("ussd", "sms")
LANGUAGE_NAMES = {"fr": "Français", "bm": "Bamanankan", "en": "English"}
MAX_REPLY_CHARS = 160
KNOWN_EVENTS = {engine.EventKind.LANGUAGE_SET, engine.EventKind.CASE_READY, engine.EventKind.STOPPED,
                engine.EventKind.FAILED_SAFE, engine.EventKind.FLOW_SWITCH}

add_nav_item("console.simulator", _l("Simulator"), SIMULATOR_ROLES, 45)


class SimulationRefused(ValueError):
    """The simulation cannot start or go on; the message says why, for the operator."""


def serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="hotline.console.simulator")


def console_language() -> str:
    return str(get_locale() or "fr")


def published_choices() -> list[FlowVersion]:
    """The newest published version of each flow, by flow id."""
    ensure_published()
    rows = get_session().scalars(select(FlowVersion).order_by(FlowVersion.flow_id, FlowVersion.number.desc()))
    newest: dict[str, FlowVersion] = {}
    for row in rows:
        newest.setdefault(row.flow_id, row)
    return list(newest.values())


def engine_options() -> dict[str, Any]:
    """The gazetteer and the help points from the database's directory, as the conversation service passes them."""
    return {"places": places(), "help_directory": help_directory(get_session())}


def follow_switch(session: dict[str, Any], flow: engine.Flow, state: dict[str, Any],
                  output: engine.Output) -> tuple[dict[str, Any], engine.Flow, dict[str, Any], engine.Output]:
    """When the flow hands over (FLOW_SWITCH), start the newest version of the named flow, as callers get.

    The case reference and the language carry over; the switch stays in the events shown.
    An unknown flow leaves the engine's safe closing text.
    """
    shown, latest = output.events, output
    for _switch in range(MAX_FLOW_SWITCHES):
        switch = latest.event(engine.EventKind.FLOW_SWITCH)
        if switch is None:
            break
        try:
            published = flow_store().latest(get_session(), switch.data["flow"])
        except LookupError:
            break
        target, language = published.flow, switch.data.get("language")
        state, latest = engine.start(target, session["channel"], case_ref=state["case_ref"],
                                     lang=language if language in target.languages else None, **engine_options())
        session = {**session, "source": {"version_id": published.version_id}}
        shown, flow = shown + latest.events, target
    return session, flow, state, replace(latest, events=shown)


def load_simulated_flow(source: dict[str, Any]) -> tuple[engine.Flow, str]:
    """The flow a simulation runs: a published version (by id) or a draft text; and a label for people."""
    if "version_id" in source:
        row = get_session().get(FlowVersion, source["version_id"])
        if row is None:
            raise SimulationRefused(_("This flow version no longer exists."))
        store: FlowStore = flow_store()
        return store.flow_for_version(get_session(), row.id), _("%(flow)s, published version %(number)d",
                                                                flow=row.flow_id, number=row.number)
    try:
        flow = engine.load_flow_text(source["draft"], f"{source['flow_id']}.yaml")
    except engine.FlowError:
        raise SimulationRefused(_("The draft has errors: fix them in the editor first.")) from None
    return flow, _("%(flow)s, draft from the editor (not published)", flow=source["flow_id"])


def screen_record(flow: engine.Flow, output: engine.Output) -> dict[str, Any]:
    """One screen as the phone shows it, with its size and what the engine reported."""
    events = []
    for event in output.events:
        if event.kind == engine.EventKind.CASE_READY:
            events.append({"kind": str(event.kind), "data": {"case_ref": event.data.get("case_ref")}})
        else:
            events.append({"kind": str(event.kind), "data": event.data,
                           "known": event.kind in KNOWN_EVENTS})
    return {"who": "hotline", "text": output.text, "continues": output.continues, "length": output.length,
            "max_chars": flow.settings.ussd_max_chars, "encoding": output.encoding, "segments": output.segments,
            "page": output.page, "pages": output.pages, "node": output.node, "events": events}


def session_after(flow: engine.Flow, session: dict[str, Any], state: dict[str, Any],
                  output: engine.Output) -> dict[str, Any]:
    """The simulation with the new state and screen (after any flow switch); the case payload kept once ready."""
    session, flow, state, output = follow_switch(session, flow, state, output)
    session = {**session, "state": state, "over": not output.continues,
               "transcript": [*session["transcript"], screen_record(flow, output)]}
    ready = output.event(engine.EventKind.CASE_READY)
    if ready is not None:
        session["case"] = ready.data
        session["stored_case"] = store_simulated_case(session)
    return session


def store_simulated_case(session: dict[str, Any]) -> str:
    """Keep the simulation's case with its dry-run routing; its reference (the same case on a replay)."""
    db = get_session()
    plan = plan_alerts(session["case"], directory_snapshot(db).index, routing_rules(), now=utcnow())
    case = record_simulated_case(db, session["case"], flow_version_id=session["source"].get("version_id"),
                                 routing_explanation=routing_record(plan.decision), actor_id=current_user().id)
    db.commit()
    return case.reference


def start_simulation(source: dict[str, Any], channel: str, lang: str | None) -> dict[str, Any]:
    flow, _label = load_simulated_flow(source)
    if channel not in CHANNELS:
        raise SimulationRefused(_("Choose USSD or SMS."))
    if lang is not None and lang not in flow.languages:
        raise SimulationRefused(_("The flow %(flow)s has no language %(lang)s.", flow=flow.id, lang=lang))
    # A reference no real case or conversation holds, as the simulated case is stored under it.
    state, output = engine.start(flow, channel, case_ref=new_reference(get_session()), lang=lang,
                                 **engine_options())
    session = {"user": current_user().id, "source": source, "channel": channel, "lang": lang,
               "transcript": [], "case": None}
    return session_after(flow, session, state, output)


def read_token(token: str | None) -> dict[str, Any]:
    try:
        session = serializer().loads(token or "")
    except BadSignature:
        raise SimulationRefused(_("This simulation cannot be read any more; start a new one.")) from None
    if session.get("user") != current_user().id:
        raise SimulationRefused(_("This simulation cannot be read any more; start a new one."))
    return session


def routing_view(case: dict[str, Any], lang: str) -> dict[str, Any]:
    """Who would be alerted for the simulated case: the real engine on the database's directory (read only)."""
    now = utcnow()
    plan = plan_alerts(case, directory_snapshot(get_session()).index, routing_rules(), now=now, lang=lang)
    return {"plan": plan, "referrals": [{"name": r.provider_name, "kind": r.kind, "role": r.role,
                                         "also_for": r.also_for, "distance_km": r.distance_km,
                                         "fallback": r.fallback, "reason": reason_text(r.reason.to_dict(lang))}
                                        for r in plan.decision.referrals],
            "police": reason_text(plan.decision.police.reason.to_dict(lang)),
            "explanation_lines": decision_lines(plan.decision.to_dict(lang))}


def render_simulator(session: dict[str, Any] | None = None, *, problems: list[dict[str, Any]] | None = None,
                     status: int = 200):
    lang = console_language()
    context: dict[str, Any] = {"choices": published_choices(), "channels": CHANNELS,
                               "language_names": LANGUAGE_NAMES, "sim": session, "problems": problems or [],
                               "chosen_flow": request.values.get("flow") or "screening", "max_reply": MAX_REPLY_CHARS}
    if session is not None:
        flow, flow_label = load_simulated_flow(session["source"])
        context.update(token=serializer().dumps(session), flow_label=flow_label, flow=flow,
                       screen=session["transcript"][-1], chosen_flow=flow.id)
        if session.get("case"):
            context["case"] = summarize_case(flow, session["case"], lang)
            context["indicator_name"] = lambda code: getattr(flow.vocabulary.indicators.get(code), "label", {}).get(
                lang, code)
            context["routing"] = routing_view(session["case"], lang)
    return render_template("console/simulator.html", **context), status


def requested_language() -> str | None:
    lang = request.form.get("lang") or None
    return lang if lang in LANGUAGE_NAMES else None


@blueprint.get("/simulator")
@requires_role(*SIMULATOR_ROLES)
def simulator():
    """Choose a flow (its newest published version), a channel and a language, then start."""
    return render_simulator()


@blueprint.post("/simulator/start")
@requires_role(*SIMULATOR_ROLES)
def simulator_start():
    """Start a session on the newest published version, on the editor's draft, or again on the same flow."""
    form = request.form
    try:
        if form.get("mode") == "draft":
            flow_id = form.get("flow_id") or ""
            text = (form.get("source") or "").replace("\r\n", "\n")
            problems = check_source(flow_id, text)
            if engine.has_errors(problems):
                flash(_("The draft has errors: fix them in the editor first."), "error")
                return render_simulator(problems=problem_rows(problems), status=422)
            source: dict[str, Any] = {"draft": text, "flow_id": flow_id}
        elif form.get("token"):
            source = read_token(form.get("token"))["source"]
        else:
            row = next((r for r in published_choices() if r.flow_id == form.get("flow")), None)
            if row is None:
                raise SimulationRefused(_("Choose a published flow."))
            source = {"version_id": row.id}
        session = start_simulation(source, form.get("channel") or "ussd", requested_language())
    except SimulationRefused as refused:
        flash(str(refused), "error")
        return render_simulator(status=422)
    return render_simulator(session)


@blueprint.post("/simulator/reply")
@requires_role(*SIMULATOR_ROLES)
def simulator_reply():
    """Send the caller's reply to the engine and show the next screen (and the case when it is ready)."""
    try:
        session = read_token(request.form.get("token"))
        if session.get("over"):
            raise SimulationRefused(_("The session is over; start a new one."))
        flow, _label = load_simulated_flow(session["source"])
        reply = (request.form.get("reply") or "")[:MAX_REPLY_CHARS]
        session["transcript"] = [*session["transcript"], {"who": "caller", "text": reply}]
        state, output = engine.step(flow, session["state"], reply, **engine_options())
    except SimulationRefused as refused:
        flash(str(refused), "error")
        return render_simulator(status=422)
    except engine.FlowMismatch:
        flash(_("This simulation cannot be read any more; start a new one."), "error")
        return render_simulator(status=422)
    return render_simulator(session_after(flow, session, state, output))
