"""What routing decided and what the audit trail recorded, as sentences in the reader's language.

Routing stays free of Flask and translations: it stores each reason as a code with its parameters
(and an English sentence for logs and the command line). The console words them here, from the
catalogue, naming every code (roles, kinds, groups, languages, rules) in the reader's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from hotline.console.labels import day_name, distance, has_label, hours_label, label, labels, number

Params = dict[str, Any]
# routing.escalation words a provider's silence or decline in English; these are its codes for older records.
_WHY_CODES = {"declined": "declined", "did not answer on any contact": "silent",
              "is no longer active in the directory": "inactive"}
_ENGLISH_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ExplanationLine:
    """One line of a routing explanation, with the reasons behind it when there are several."""

    text: str
    details: list[str] = field(default_factory=list)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]


def _rules(names: Iterable[str]) -> str:
    """Why a role was asked for: the alert rules in words (a rule the console does not know, by its name)."""
    words = [label("alert_rule", name) if has_label("alert_rule", name) else _("the rule “%(name)s”", name=name)
             for name in names]
    return ", ".join(words)


def _languages(codes: Any) -> str:
    return labels("language", _list(codes))


def _why(params: Params) -> str:
    """A provider's silence, decline or leaving, in words."""
    code = params.get("why_code") or _WHY_CODES.get(str(params.get("why")), "")
    return {"declined": _("has declined"), "silent": _("did not answer on any contact"),
            "inactive": _("is no longer active in the directory")}.get(code, str(params.get("why", "")))


def _nobody_left(params: Params) -> str:
    """Why escalation stops looking among the role's providers, in words."""
    code, limit = params.get("left_code"), params.get("limit")
    if code is None:
        # Older records have only routing's English: "3 providers of this role have been tried".
        left = str(params.get("left", ""))
        code, limit = ("limit", left.split()[0]) if left[:1].isdigit() else ("none_left", 0)
    if code == "limit":
        limit = int(limit or 0)
        return ngettext("%(num)d provider of this role has been tried",
                        "%(num)d providers of this role have been tried", limit)
    return _("no other eligible provider is left in the ranked list")


def _closed_now(params: Params) -> str:
    weekday = params.get("weekday")
    clock = params.get("clock")
    if weekday is None:
        # Decisions stored before the weekday was kept say "Mon 14:00" in English.
        day, _space, clock = str(params.get("time", "")).partition(" ")
        weekday = _ENGLISH_DAYS.index(day.lower()) if day.lower() in _ENGLISH_DAYS else None
    when = f"{day_name(int(weekday))} {clock}" if weekday is not None else str(params.get("time", ""))
    return _("it is closed now (%(when)s; hours: %(hours)s)", when=when, hours=hours_label(params.get("hours")))


def _police_exception(params: Params) -> str:
    name = str(params.get("name", ""))
    if has_label("police_exception_reason", name):
        why = label("police_exception_reason", name)
    else:
        why = str(params.get("why", ""))  # an exception added to the rules file speaks the file's words
    return _("the caller did not consent, but the exception “%(name)s” applies: %(why)s",
             name=label("police_exception", name), why=why)


def _esc_unrouted(params: Params) -> str | None:
    cause = params.get("cause")
    if cause == "desk_declined":
        return _("the national desk (%(provider)s) declined: an operator must take this case by hand",
                 provider=params.get("provider", ""))
    if cause == "no_desk":
        return _("%(provider)s %(why)s, %(left)s, and there is no national desk: an operator must take this "
                 "case by hand", provider=params.get("provider", ""), why=_why(params), left=_nobody_left(params))
    return None


def _role_alerted(params: Params) -> str:
    names = params.get("names")
    if isinstance(names, str):
        # Decisions stored before "role_desk" existed name the national desk in English here.
        return REASONS["role_desk"](params) or ""
    return _("needed because %(why)s; alerted: %(names)s", why=_rules(params["asked_by"]),
             names=", ".join(_list(names)))


# Each reason code of routing, worded from its parameters. `asked_by` is the alert rules' names.
REASONS: dict[str, Callable[[Params], str | None]] = {
    "wrong_kind": lambda p: _("its kind (%(kind)s) cannot fill this role", kind=label("kind", p.get("kind"))),
    "inactive": lambda p: _("it is marked inactive"),
    "not_serving": lambda p: _("it serves %(serves)s, not %(groups)s", serves=labels("group", _list(p.get("serves"))),
                               groups=labels("group", _list(p.get("groups")))),
    "missing_services": lambda p: ngettext("it does not offer this service: %(services)s",
                                           "it does not offer these services: %(services)s",
                                           len(_list(p.get("services"))),
                                           services=labels("service", _list(p.get("services")))),
    "capacity_unknown": lambda p: _("it has not reported its free beds"),
    "no_bed": lambda p: _("it has no free bed"),
    "closed_now": _closed_now,
    "language": lambda p: _("it does not speak %(language)s (it speaks %(languages)s)",
                            language=label("language", p.get("language")), languages=_languages(p.get("languages"))),
    "chosen": lambda p: _("nearest eligible, %(distance)s away: alerted now", distance=distance(p.get("distance"))),
    "ranked": lambda p: _("eligible, %(distance)s away: number %(rank)s in line if the first ones do not answer",
                          distance=distance(p.get("distance")), rank=p.get("rank")),
    "already_chosen": lambda p: _("already alerted for the role “%(role)s”; one alert covers both",
                                  role=label("role", p.get("role"))),
    "role_alerted": _role_alerted,
    "role_desk": lambda p: _("needed because %(why)s; alerted: the national desk", why=_rules(p["asked_by"])),
    "role_no_eligible": lambda p: _("needed because %(why)s; no eligible provider within %(km)s km, so the national "
                                    "desk takes it", why=_rules(p["asked_by"]), km=number(p.get("max_km"))),
    "role_place_unknown": lambda p: _("needed because %(why)s; the caller's place is unknown, so the national desk "
                                      "takes it", why=_rules(p["asked_by"])),
    "role_police_not_allowed": lambda p: _("needed because %(why)s; police not alerted: %(police)s",
                                           why=_rules(p["asked_by"]), police=p.get("police") or ""),
    "role_unrouted": lambda p: _("needed because %(why)s; no provider and no national desk in the directory: an "
                                 "operator must act", why=_rules(p["asked_by"])),
    "not_examined": lambda p: ngettext(
        "%(num)d other provider of these kinds was not examined: farther than those ranked, or beyond %(km)s km",
        "%(num)d other providers of these kinds were not examined: farther than those ranked, or beyond %(km)s km",
        int(p.get("count") or 0), km=number(p.get("max_km"))),
    "police_consent": lambda p: _("the caller consented to the police being told"),
    "police_exception": _police_exception,
    "police_no_consent": lambda p: _("the caller did not consent to the police being told, and no exception "
                                     "applies"),
    "police_not_asked": lambda p: _("no rule asked for the police in this case"),
    "desk_too_far": lambda p: _("no eligible provider for the role “%(role)s” within %(km)s km",
                                role=label("role", p.get("role")), km=number(p.get("max_km"))),
    "desk_place_unknown": lambda p: _("the caller's place is unknown, so no distance can be measured"),
    "desk_no_role": lambda p: _("no rule asked for any provider, so the national desk follows the case up"),
    "desk_missing": lambda p: _("the directory has no active national desk: an operator must route this case by "
                                "hand"),
    "desk_asked": lambda p: _("the rules ask for the national desk in this case"),
    "esc_next_contact": lambda p: _("no answer from contact %(previous)s of %(provider)s before the deadline: "
                                    "alert its contact %(next)s", previous=p.get("previous"),
                                    provider=p.get("provider"), next=p.get("next")),
    "esc_next_provider": lambda p: _("%(provider)s %(why)s: alert the next eligible provider for the role "
                                     "“%(role)s”, %(next)s (provider %(tried)s of at most %(limit)s)",
                                     provider=p.get("provider"), why=_why(p), role=label("role", p.get("role")),
                                     next=p.get("next"), tried=p.get("tried"), limit=p.get("limit")),
    "esc_desk": lambda p: _("%(provider)s %(why)s, and %(left)s: hand the case to the national desk",
                            provider=p.get("provider"), why=_why(p), left=_nobody_left(p)),
    "esc_desk_retry": lambda p: _("no contact of the national desk answered: alert its first contact again"),
    "esc_unrouted": _esc_unrouted,
}


def reason_text(reason: dict[str, Any] | None, **extra: Any) -> str:
    """One stored reason ({"code", "params", "sentence"}) in the reader's words.

    ``extra`` adds parameters the reason itself does not carry (the role's alert rules as a list, the
    police decision in words). A code this console does not know keeps routing's own sentence.
    """
    if not reason:
        return "—"
    params = {**(reason.get("params") or {}), **extra}
    params["asked_by"] = _list(params.get("asked_by"))  # stored as "a, b" in the reason itself
    wording = REASONS.get(str(reason.get("code")))
    try:
        text = wording(params) if wording else None
    except (KeyError, TypeError, ValueError):
        text = None  # a record from an older routing with other parameters
    return text or str(reason.get("sentence") or reason.get("code") or "—")


def police_text(decision: dict[str, Any]) -> str:
    """Whether the police may be told, and why, for a stored decision."""
    return reason_text((decision.get("police") or {}).get("reason"))


def decision_lines(decision: dict[str, Any] | None) -> list[ExplanationLine]:
    """A stored routing decision (``RoutingDecision.to_dict()``) as lines: police, each role, each candidate,
    then the national desk's part, every one in the reader's language."""
    if not decision:
        return []
    police = police_text(decision)
    lines = [ExplanationLine(_("Police: %(text)s", text=police))]
    for outcome in decision.get("roles") or []:
        role = label("role", outcome.get("role"))
        why = reason_text(outcome.get("reason"), asked_by=_list(outcome.get("asked_by")), police=police)
        lines.append(ExplanationLine(_("Role “%(role)s”: %(text)s", role=role, text=why)))
        if outcome.get("not_examined"):
            skipped = reason_text({"code": "not_examined", "params": {"count": outcome["not_examined"],
                                                                      "max_km": outcome.get("max_distance_km")}})
            lines.append(ExplanationLine(_("Role “%(role)s”: %(text)s", role=role, text=skipped)))
    for note in decision.get("candidates") or []:
        text = _("Role “%(role)s”, %(provider)s (%(distance)s): %(outcome)s", role=label("role", note.get("role")),
                 provider=note.get("provider_name"), distance=distance(note.get("distance_km")),
                 outcome=label("candidate_outcome", note.get("outcome")))
        lines.append(ExplanationLine(text, [reason_text(reason) for reason in note.get("reasons") or []]))
    for fallback in decision.get("fallbacks") or []:
        lines.append(ExplanationLine(_("National desk: %(text)s", text=reason_text(fallback))))
    return lines


def without_sentences(data: Any) -> Any:
    """The stored decision without its English sentences: codes and parameters only, for the raw view."""
    if isinstance(data, dict):
        return {key: without_sentences(value) for key, value in data.items() if key != "sentence"}
    if isinstance(data, list):
        return [without_sentences(item) for item in data]
    return data


def _police_code(code: str | None) -> str:
    if code and code.startswith("exception:"):
        name = code.removeprefix("exception:")
        return _("police alerted without consent, by the exception “%(name)s”", name=label("police_exception", name))
    return label("police_decision", code)


def event_details(action: str, details: dict[str, Any] | None) -> list[str]:
    """What an audit event of a case or referral recorded, in words (never personal data: events hold none)."""
    details = details or {}
    if action in ("case.opened", "case.simulated"):
        found = [_("risk: %(risk)s", risk=label("risk", details.get("risk_level")))]
        if details.get("flow"):
            found.append(_("flow: %(flow)s", flow=details["flow"]))
        if details.get("channel"):
            found.append(_("channel: %(channel)s", channel=label("channel", details["channel"])))
        return found
    if action == "case.routed":
        count = int(details.get("referrals") or 0)
        return [ngettext("%(num)d referral", "%(num)d referrals", count), _police_code(details.get("police"))]
    if action == "referral.created":
        return [_("for the role “%(role)s”", role=label("role", details.get("role")))]
    if action == "referral.alerted":
        minutes = int(details.get("deadline_seconds") or 0) // 60
        return [_("contact no. %(position)d", position=int(details.get("contact_position") or 0) + 1),
                ngettext("answer expected within %(num)d minute", "answer expected within %(num)d minutes", minutes)]
    if action in ("referral.escalated", "case.unrouted"):
        reason = details.get("reason")
        if isinstance(reason, str):
            # Routing that found no provider at all records this fixed English phrase.
            return [_("no provider could be chosen")]
        found = []
        if details.get("event"):
            found.append(label("escalation_event", details["event"]))
        if details.get("action"):
            found.append(label("escalation_action", details["action"]))
        if reason:
            found.append(reason_text(reason))
        return found
    if action == "case.status_changed":
        found = [_("from “%(before)s” to “%(after)s”", before=label("case_status", details.get("from")),
                   after=label("case_status", details.get("to")))]
        if details.get("outcome"):
            found.append(_("outcome: %(outcome)s", outcome=label("outcome", details["outcome"])))
        return found
    if action == "case.pii_viewed":
        return [_("through the API") if details.get("via") == "api" else _("in the console")]
    if action == "referral.declined":
        return [_("with a reason") if details.get("has_reason") else _("without a reason")]
    if action in ("case.note_added", "referral.accepted", "referral.closed"):
        return []
    # An event this console has no words for yet: its recorded facts, as they are.
    return [f"{key}={value}" for key, value in details.items() if key != "reason"]
