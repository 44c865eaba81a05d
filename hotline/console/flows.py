"""Flows: the published versions of each flow, a YAML editor with live lint and preview, publish, diff."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

import flows as engine
from hotline.audit import record_event
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.console.cases import regions
from hotline.conversation import help_directory, places
from hotline.db import get_session
from hotline.flow_store import checksum, publish_flow_source, publish_shipped_flows, shipped_flow_files
from hotline.models import Conversation, FlowVersion, User

FLOW_ROLES = ("admin", "operator")
# The same limit as every other form of the app: a flow file is a few tens of kilobytes.
MAX_SOURCE_CHARS = 60_000
FLOW_ID_LINE = re.compile(r"^id\s*:\s*['\"]?([^'\"#\s]+)", re.M)

add_nav_item("console.flows", _l("Flows"), FLOW_ROLES, 40)


# ------------------------------------------------------------------------------ reading


def ensure_published() -> None:
    """On first use the shipped flows become version 1 (as the first caller would make them)."""
    db = get_session()
    if db.scalar(select(func.count(FlowVersion.id))) == 0:
        publish_shipped_flows(db)


def versions_of(flow_id: str) -> list[FlowVersion]:
    """Every published version of ``flow_id``, newest first; 404 when the flow was never published."""
    ensure_published()
    rows = list(get_session().scalars(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                                      .order_by(FlowVersion.number.desc())))
    if not rows:
        abort(404)
    return rows


def version_of(flow_id: str, number: int | None) -> FlowVersion:
    rows = versions_of(flow_id)
    if number is None:
        return rows[0]
    for row in rows:
        if row.number == number:
            return row
    abort(404)


def active_conversations() -> dict[int, int]:
    """Running sessions per flow version id (each stays on the version it began on)."""
    rows = get_session().execute(select(Conversation.flow_version_id, func.count(Conversation.id))
                                 .where(Conversation.status == "active")
                                 .group_by(Conversation.flow_version_id)).all()
    return {version_id: count for version_id, count in rows if version_id is not None}


def publisher_names(rows: list[FlowVersion]) -> dict[int, str]:
    ids = {row.published_by_id for row in rows if row.published_by_id}
    if not ids:
        return {}
    return dict(get_session().execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def known_flow_ids() -> set[str]:
    """Flow ids a switch may name: every published flow and every shipped file."""
    published = set(get_session().scalars(select(FlowVersion.flow_id).distinct()))
    return published | {path.name.removesuffix(".yaml") for path in shipped_flow_files()}


# ------------------------------------------------------------------------------ checking


def check_source(flow_id: str, source: str) -> list[engine.FlowProblem]:
    """Lint a flow text with the real gazetteer; the text must keep the flow's id."""
    path = f"{flow_id}.yaml"
    if len(source) > MAX_SOURCE_CHARS:
        return [engine.FlowProblem(path, 1, "error", _("The text is too long (%(count)d characters; at most "
                                                       "%(limit)d).", count=len(source), limit=MAX_SOURCE_CHARS))]
    problems = engine.lint_flow_text(source, path, places=places(), known_flows=known_flow_ids(),
                                     help_directory=help_directory(get_session()))
    found = FLOW_ID_LINE.search(source)
    if found and found.group(1) != flow_id:
        line = source.count("\n", 0, found.start()) + 1
        problems.append(engine.FlowProblem(path, line, "error", _(
            "The id must stay %(id)s: a new flow is made from a file, not in this editor.", id=flow_id)))
    return sorted(problems)


def problem_rows(problems: list[engine.FlowProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "severity": p.severity, "message": p.message} for p in problems]


def preview_groups(flow: engine.Flow) -> list[dict[str, Any]]:
    """The editor's preview: per node, per language, the USSD and SMS screens with their sizes.

    A location node has one cercle menu per region; only the longest of them is shown, with a count.
    """
    nodes: dict[str, dict[str, Any]] = {}
    for screen in engine.preview_nodes(flow, places=places()):
        node = nodes.setdefault(screen.node, {"id": screen.node, "kind": screen.kind, "line": screen.line,
                                              "languages": defaultdict(lambda: {"ussd": [], "sms": []})})
        node["languages"][screen.lang][screen.channel].append(screen)
    for node in nodes.values():
        for channels in node["languages"].values():
            for channel, screens in channels.items():
                channels[channel] = fold_cercle_menus(screens)
        node["languages"] = dict(node["languages"])
    return list(nodes.values())


def fold_cercle_menus(screens: list[engine.ScreenPreview]) -> list[dict[str, Any]]:
    cercles = [s for s in screens if s.variant.startswith("cercle")]
    longest = max(cercles, key=lambda s: s.chars, default=None)
    shown = []
    for screen in screens:
        if screen.variant.startswith("cercle") and screen is not longest:
            continue
        folded = len({s.variant for s in cercles}) if screen is longest else 0
        shown.append({"screen": screen, "cercle_menus": folded})
    return shown


def preview_variant(variant: str) -> str:
    """Which sub-step of a location or help-list node a preview screen shows, in words."""
    kind, _space, region = variant.partition(" ")
    region_name = dict(regions()).get(region, region)
    if variant == "text":
        return _("place typed as text")
    if variant == "region":
        return _("region menu")
    if variant == "region not found":
        return _("region menu after a place that was not found")
    if kind == "cercle":
        return _("cercle menu of %(region)s", region=region_name)
    if kind == "near":
        return _("help points near %(region)s", region=region_name)
    return variant


def editor_context(flow_id: str, source: str, problems: list[engine.FlowProblem]) -> dict[str, Any]:
    """What the editor shows around the text: problems, and the preview when the flow loads."""
    flow = None
    if not engine.has_errors(problems):
        try:
            flow = engine.load_flow_text(source, f"{flow_id}.yaml")
        except engine.FlowError:
            flow = None
    # "flow_languages", not "languages": the page's own language switcher reads that name.
    return {"problems": problem_rows(problems), "preview": preview_groups(flow) if flow else None,
            "flow_languages": list(flow.languages) if flow else [],
            "max_chars": flow.settings.ussd_max_chars if flow else 182,
            "segment_budget": flow.settings.sms_segment_budget if flow else None, "variant_label": preview_variant}


# ------------------------------------------------------------------------------ pages


@blueprint.get("/flows")
@requires_role(*FLOW_ROLES)
def flows():
    """Every flow with its published versions, who published them and how many sessions run on each."""
    ensure_published()
    rows = list(get_session().scalars(select(FlowVersion).order_by(FlowVersion.flow_id,
                                                                   FlowVersion.number.desc())))
    grouped: dict[str, list[FlowVersion]] = defaultdict(list)
    for row in rows:
        grouped[row.flow_id].append(row)
    return render_template("console/flows.html", flows=dict(grouped), names=publisher_names(rows),
                           running=active_conversations())


def render_editor(flow_id: str, source: str, problems: list[engine.FlowProblem], *, base: FlowVersion,
                  status: int = 200):
    rows = versions_of(flow_id)
    return render_template("console/flow_edit.html", flow_id=flow_id, source=source, base=base, versions=rows,
                           names=publisher_names(rows), running=active_conversations(),
                           **editor_context(flow_id, source, problems)), status


@blueprint.get("/flows/<flow_id>")
@requires_role(*FLOW_ROLES)
def flows_edit(flow_id: str):
    """The YAML editor, opened on the newest version (or ``?version=N``), with its problems and preview."""
    number = request.args.get("version", type=int)
    base = version_of(flow_id, number)
    return render_editor(flow_id, base.source, check_source(flow_id, base.source), base=base)


@blueprint.post("/flows/<flow_id>/lint")
@requires_role(*FLOW_ROLES)
def flows_lint(flow_id: str):
    """The editor's live check: problems (line, severity, sentence) and the preview, as JSON."""
    versions_of(flow_id)
    payload = request.get_json(silent=True) or {}
    source = payload.get("source")
    if not isinstance(source, str):
        return jsonify({"error": _("Send the flow text as {\"source\": \"...\"}.")}), 400
    problems = check_source(flow_id, source)
    context = editor_context(flow_id, source, problems)
    errors = sum(1 for p in problems if p.severity == "error")
    return jsonify({"problems": context["problems"], "errors": errors, "warnings": len(problems) - errors,
                    "problems_html": render_template("console/_flow_problems.html", **context),
                    "preview_html": render_template("console/_flow_preview.html", **context)})


@blueprint.post("/flows/<flow_id>/publish")
@requires_role(*FLOW_ROLES)
def flows_publish(flow_id: str):
    """Publish the text as the next version; refused, with the problems listed, while it has errors."""
    latest = version_of(flow_id, None)
    source = (request.form.get("source") or "").replace("\r\n", "\n")
    problems = check_source(flow_id, source)
    if engine.has_errors(problems):
        flash(_("Not published: the flow has errors. Fix them and publish again."), "error")
        return render_editor(flow_id, source, problems, base=latest, status=422)
    if checksum(source) == latest.checksum:
        flash(_("Nothing to publish: the text is the same as version %(number)d.", number=latest.number),
              "warning")
        return redirect(url_for("console.flows_edit", flow_id=flow_id))
    db = get_session()
    user = current_user()
    row = publish_flow_source(db, source, published_by_id=user.id, path=f"{flow_id}.yaml")
    record_event(db, "flow.published", "flow_version", row.id, actor="user", user_id=user.id,
                 details={"flow": flow_id, "number": row.number, "label": row.label, "checksum": row.checksum,
                          "previous": latest.number})
    db.commit()
    flash(_("Version %(number)d of %(flow)s is published. New sessions use it; running sessions keep "
            "their version.", number=row.number, flow=flow_id), "success")
    return redirect(url_for("console.flows_edit", flow_id=flow_id))


@blueprint.get("/flows/<flow_id>/diff")
@requires_role(*FLOW_ROLES)
def flows_diff(flow_id: str):
    """The changes between two versions (default: the one before the newest, and the newest)."""
    rows = versions_of(flow_id)
    newer = version_of(flow_id, request.args.get("to", type=int))
    default_older = next((row.number for row in rows if row.number < newer.number), newer.number)
    older = version_of(flow_id, request.args.get("from", type=int) or default_older)
    lines = list(difflib.unified_diff(older.source.splitlines(), newer.source.splitlines(),
                                      fromfile=f"{flow_id} v{older.number}", tofile=f"{flow_id} v{newer.number}",
                                      lineterm="", n=3))
    return render_template("console/flow_diff.html", flow_id=flow_id, versions=rows, older=older, newer=newer,
                           lines=[(diff_kind(line), line) for line in lines])


def diff_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")
