"""`hotline flows check|test` and `hotline simulate`: operators' flow tools, with no database.

Every command runs the pure engines only: `flows` with the real gazetteer (what callers get)
and the help points of the shipped demo directory, and, in the simulator, `routing` on that
directory. Nothing here opens the database or the queue, so the commands work on a laptop
with no services running.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

import flows as engine
from flows.lint import flow_files, flow_id_of
from hotline.conversation import DirectoryHelp
from hotline.simulation import case_profile, demo_directory, plan_alerts, simulated_reference, summarize_case
from routing.gazetteer import default_gazetteer
from routing.rules import load_rules

__all__ = ["case_profile", "check_flows", "flows_group", "simulate", "test_flows"]

SHIPPED = Path(engine.__file__).resolve().parent / "shipped"
FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def shipped_dir() -> Path:
    """The shipped flows folder, relative to the working directory when it is inside it."""
    try:
        return SHIPPED.relative_to(Path.cwd())
    except ValueError:
        return SHIPPED


def demo_help_directory() -> DirectoryHelp:
    """Help points from the shipped demo directory, as the app gives them from its database."""
    index = demo_directory()
    return DirectoryHelp(lambda: index, default_gazetteer())


def shipped_flow_ids() -> set[str]:
    """The ids of the shipped flows (a switch may start any of them)."""
    return {flow_id for path in flow_files([SHIPPED])[0]
            if (flow_id := flow_id_of(path.read_text(encoding="utf-8"), str(path)))}


# --------------------------------------------------------------------------- flows check / test


@click.group("flows")
def flows_group() -> None:
    """Check and test the conversation flows (against the real gazetteer; no database)."""


@flows_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON (for the console).")
def check_flows(paths: tuple[Path, ...], as_json: bool) -> None:
    """Lint flow files (default: every flow in flows/shipped/); exit 1 on errors.

    A flow may switch to any flow checked with it or shipped; help lists are also measured
    with the demo directory's help points near each region.
    """
    targets = list(paths) or [shipped_dir()]
    places = default_gazetteer()
    problems = engine.lint_paths(targets, places=places, known_flows=shipped_flow_ids(),
                                 help_directory=demo_help_directory())
    errors = sum(1 for p in problems if p.severity == "error")
    if as_json:
        click.echo(json.dumps(engine.problems_to_json(problems), ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))  # file:line: severity: sentence
        files, _ = flow_files(targets)
        click.echo(f"{len(files)} flow file(s) checked against the gazetteer "
                   f"({len(places.regions())} regions): {errors} error(s), "
                   f"{len(problems) - errors} warning(s)")
    if errors:
        raise SystemExit(1)


@flows_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test_flows(paths: tuple[Path, ...]) -> None:
    """Run transcript tests (default: flows/shipped/*.test.yaml); exit 1 on any failure."""
    report = engine.run_transcripts(list(paths) or [shipped_dir()], places=default_gazetteer(),
                                    help_directory=demo_help_directory())
    for problem in report.problems:
        click.echo(str(problem))
    for failure in report.failures:
        click.echo(str(failure))  # file:line: test '...' [channel] step N: difference
    click.echo(f"{len(report.passed)} passed, {len(report.failures)} failed"
               + (f", {len(report.problems)} file problem(s)" if report.problems else ""))
    for flow_id in sorted(report.nodes):
        total = len(report.nodes[flow_id])
        for channel in ("ussd", "sms"):
            missing = sorted(report.uncovered(flow_id, channel))
            line = f"coverage {flow_id} [{channel}]: {total - len(missing)}/{total} nodes visited"
            click.echo(line + (f"; not visited: {', '.join(missing)}" if missing else ""))
    if not report.ok:
        raise SystemExit(1)


# ---------------------------------------------------------------------------------- simulate


@click.command("simulate")
@click.option("--flow", "flow_id", default="screening", show_default=True,
              help="Id of a shipped flow (flows/shipped/<ID>.yaml).")
@click.option("--file", "flow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Load this flow file instead of a shipped flow.")
@click.option("--channel", type=click.Choice(["ussd", "sms"]), default="ussd", show_default=True)
@click.option("--lang", default=None,
              help="Preset the language (fr, bm, en) as an SMS keyword does; the flow then skips "
                   "its language menu. Default: the caller chooses.")
@click.option("--report-lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the case summary and the routing explanation.")
@click.option("--at", "at_time", default=None,
              help="Route as if at this ISO time (opening hours matter); default: now (UTC).")
def simulate(flow_id: str, flow_file: Path | None, channel: str, lang: str | None,
             report_lang: str, at_time: str | None) -> None:
    """Talk to a flow in the terminal, one reply per line, and see who would be alerted.

    Each screen is shown as the gateway sends it (USSD: CON/END and its length; SMS: its
    encoding and segments). STOP, AIDE/HELP and 0 (back, on USSD) work as for callers. The
    session ends at the flow's end, at STOP, or at the end of the input.
    """
    flow = _load_flow(flow_id, flow_file)
    if lang is not None and lang not in flow.languages:
        raise click.UsageError(f"flow {flow.id!r} has no language {lang!r}; it has "
                               f"{', '.join(flow.languages)}")
    now = _routing_time(at_time)
    directories = {"places": default_gazetteer(), "help_directory": demo_help_directory()}
    reference = simulated_reference()
    click.echo(f"flow {flow.id} {flow.version}, {channel}, case reference {reference} "
               "(STOP to stop, AIDE/HELP for help, 0 to go back on USSD; end of input stops)")
    state, out = engine.start(flow, channel, case_ref=reference, lang=lang, **directories)
    flow, state, out = _follow_switch(flow, state, out, channel, reference, directories)
    _show(flow, out, report_lang, now)
    stream = sys.stdin
    interactive = stream.isatty()
    while out.continues:
        if interactive:
            click.echo("> ", nl=False)
        line = stream.readline()
        if not line:
            click.echo("(end of input: the session is left unfinished)")
            return
        reply = line.rstrip("\r\n")
        if not interactive:
            click.echo(f"> {reply}")
        state, out = engine.step(flow, state, reply, **directories)
        flow, state, out = _follow_switch(flow, state, out, channel, reference, directories)
        _show(flow, out, report_lang, now)
    click.echo("(session over)")


def _follow_switch(flow: engine.Flow, state: dict[str, Any], out: engine.Output, channel: str,
                   reference: str, directories: dict[str, Any]
                   ) -> tuple[engine.Flow, dict[str, Any], engine.Output]:
    """Start the shipped flow a FLOW_SWITCH names, in the session's language, as the app does."""
    for _ in range(4):
        switch = out.event(engine.EventKind.FLOW_SWITCH)
        if switch is None:
            break
        target_id = switch.data["flow"]
        if target_id not in shipped_flow_ids():
            click.echo(f"  [switch to {target_id}: no such shipped flow; the caller gets the safe ending]")
            break
        target = _load_flow(target_id, None)
        language = switch.data.get("language")
        click.echo(f"  [switch: {flow.id} hands over to {target.id} {target.version}, language {language}]")
        state, started = engine.start(target, channel, case_ref=reference,
                                      lang=language if language in target.languages else None, **directories)
        earlier = tuple(e for e in out.events if e.kind != engine.EventKind.FLOW_SWITCH)
        flow, out = target, dataclasses.replace(started, events=earlier + started.events)
    return flow, state, out


def _load_flow(flow_id: str, flow_file: Path | None) -> engine.Flow:
    if flow_file is None:
        shipped = sorted(p.name.removesuffix(".yaml") for p in flow_files([SHIPPED])[0])
        if not FLOW_ID.match(flow_id) or flow_id not in shipped:
            raise click.UsageError(f"no shipped flow {flow_id!r}; the shipped flows are "
                                   f"{', '.join(shipped)} (or give --file PATH)")
        flow_file = shipped_dir() / f"{flow_id}.yaml"
    try:
        return engine.load_flow(flow_file)
    except engine.FlowError as error:
        raise click.ClickException("the flow does not load:\n"
                                   + "\n".join(str(p) for p in error.problems)) from None


def _routing_time(at_time: str | None) -> datetime:
    if at_time is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at_time)
    except ValueError:
        raise click.BadParameter(f"{at_time!r} is not an ISO time such as 2026-01-31T22:00",
                                 param_hint="--at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _show(flow: engine.Flow, out: engine.Output, report_lang: str, now: datetime) -> None:
    """Print one screen as the gateway would carry it, then what the engine reported."""
    page = f", page {out.page + 1}/{out.pages}" if out.pages > 1 else ""
    if out.channel == "ussd":
        click.echo(("CON " if out.continues else "END ") + out.text)
        meta = f"USSD, {out.length}/{flow.settings.ussd_max_chars} characters{page}"
    else:
        click.echo(out.text)
        meta = (f"SMS, {out.encoding}, {out.segments} segment(s), {out.length} units{page}"
                + ("" if out.continues else ", last message"))
    click.echo(click.style(f"  [{meta}]", dim=True))
    for event in out.events:
        if event.kind == engine.EventKind.LANGUAGE_SET:
            click.echo(f"  [language: {event.data['language']}]")
        elif event.kind == engine.EventKind.STOPPED:
            click.echo("  [STOP: the session was ended and its answers forgotten]")
        elif event.kind == engine.EventKind.FAILED_SAFE:
            click.echo(f"  [safe closing: {event.data.get('reason')}]")
        elif event.kind == engine.EventKind.CASE_READY:
            _show_case(flow, event.data, report_lang)
            _show_routing(event.data, report_lang, now)


def _show_case(flow: engine.Flow, case: dict[str, Any], lang: str) -> None:
    """Print the CASE_READY payload: reference, risk and why, indicators, needs, place."""
    summary = summarize_case(flow, case, lang)
    click.echo("")
    click.echo(f"=== case ready: reference {summary.reference} ({summary.flow_id} "
               f"{summary.flow_version}, reporter {summary.reporter}, {summary.language}) ===")
    click.echo(f"risk: {summary.risk_level} (score {summary.score})")
    for reason in summary.risk_reasons:
        if reason["rule"] == "threshold":
            click.echo(f"  score {reason['score']} reaches {reason['level']} "
                       f"(threshold {reason['threshold']})")
        else:
            click.echo(f"  {reason['indicator']} raises it to at least {reason['at_least']}")
    click.echo("indicators:" + ("" if summary.indicators else " none"))
    for item in summary.indicators:
        sources = ", ".join(f"{node} = {answer}" for node, answer in item.sources) or "-"
        click.echo(f"  {item.id} ({item.label}; {item.source}, +{item.points}): from {sources}")
    for extra in summary.extra_points:
        click.echo(f"  +{extra['points']} points from {extra['node']} = {extra['answer']}")
    needs = [label for _code, label in summary.needs]
    click.echo(f"needs: {', '.join(needs) if needs else 'none'}")
    place = summary.place
    if place:
        region = "" if place["name"] == place["region_name"] else f", {place['region_name']}"
        click.echo(f"place: {place['name']}{region} ({place['code']}; "
                   f"{place['latitude']:.4f}, {place['longitude']:.4f})")
    else:
        click.echo("place: unknown (the national desk takes the case)")
    click.echo(f"person: age {summary.age_band}, sex {summary.sex}, child "
               f"{_yes(summary.minor)}, danger now {_yes(summary.danger_now)}")
    click.echo(f"consent: call back {_yes(summary.consent_callback)}, police "
               f"{_yes(summary.consent_police)}")


def _show_routing(case: dict[str, Any], lang: str, now: datetime) -> None:
    plan = plan_alerts(case, demo_directory(), load_rules(), now=now, lang=lang)
    profile, decision = plan.profile, plan.decision
    click.echo("")
    click.echo(f"=== who would be alerted (demo directory, at {now:%Y-%m-%d %H:%M} UTC) ===")
    click.echo(f"as routing sees it: risk {profile.risk_level}, age {profile.age_band}, "
               f"sex {profile.sex}, needs {', '.join(sorted(profile.needs)) or 'none'}")
    if plan.unknown_needs:
        click.echo(f"(needs routing does not know, left out: {', '.join(plan.unknown_needs)})")
    if not decision.referrals:
        click.echo("nobody: an operator must act (see the explanation)")
    for referral in decision.referrals:
        distance = ("place unknown" if referral.distance_km is None
                    else f"{referral.distance_km:.1f} km")
        also = f" (also for {', '.join(referral.also_for)})" if referral.also_for else ""
        desk = ", national desk fallback" if referral.fallback else ""
        click.echo(f"- {referral.provider_name} [{referral.kind}] as {referral.role}{also}, "
                   f"{distance}{desk}: {referral.reason.sentence(lang)}")
    click.echo(f"first answer expected within {plan.deadline_minutes} min, else escalation")
    click.echo("why:")
    for sentence in plan.explanation:
        click.echo(f"  {sentence}")


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"
