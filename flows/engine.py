"""The conversation engine: start, step, resume and expiry decisions as pure functions.

A session is a plain JSON-ready dict (see `new_state` and docs/flows.md). Every function
takes the state and returns a new one; the input state is never changed, the clock is never
read, and the same flow, state and reply always give the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from flows.answers import parse_integer, split_choices
from flows.errors import FlowMismatch
from flows.expressions import Answers
from flows.flow import AUTO_KINDS, CompiledEffects, CompiledNode, Flow
from flows.help import HelpDirectory, NoHelpDirectory, help_to_dict
from flows.location import LocationSteps, location_back, location_start
from flows.output import Event, EventKind, Output
from flows.places import PlaceDirectory, default_places
from flows.render import MORE, Screen, render_sms, render_sms_page, render_ussd
from flows.sms_text import sms_encoding
from flows.textfold import normalize_answer
from flows.vocabulary import assess_risk, score_of

Channel = Literal["ussd", "sms"]
CHANNELS = ("ussd", "sms")
STATE_FORMAT = 1
MAX_MISSES = 3
MAX_AUTO_HOPS = 200
MENU_LIKE = frozenset({"menu", "message", "help_list"})


class _Invalid(Exception):
    """A reply that does not answer the question (re-ask with a hint)."""


# ---------------------------------------------------------------------------- public API


def new_state(flow: Flow, channel: str, case_ref: str | None, lang: str,
              lang_preset: bool) -> dict[str, Any]:
    """Return a fresh session state (not yet on any node).

    Layout: v (format), flow, flow_version, channel, case_ref, lang, lang_preset, node
    (waiting for a reply, None once over), page, misses, done (None, "ended", "stopped",
    "failed"), resume (a resume question is pending), vars, answers, hits (indicator
    records {indicator, node, answer}), points ({node, answer, points}), needs, history
    (undo records for "0 back"), loc (location sub-step), case_sent, replies, listings
    (help_list node id -> the help points found when the caller reached it).
    """
    return {
        "v": STATE_FORMAT, "flow": flow.id, "flow_version": flow.version,
        "channel": channel, "case_ref": case_ref, "lang": lang, "lang_preset": lang_preset,
        "node": None, "page": 0, "misses": 0, "done": None, "resume": False,
        "vars": dict(flow.variables), "answers": {}, "hits": [], "points": [], "needs": [],
        "history": [], "loc": None, "case_sent": False, "replies": 0, "listings": {},
    }


def start(flow: Flow, channel: str, *, case_ref: str, lang: str | None = None,
          places: PlaceDirectory | None = None,
          help_directory: HelpDirectory | None = None) -> tuple[dict[str, Any], Output]:
    """Start a session of `flow` on `channel` ("ussd" or "sms").

    `case_ref` is the reference the caller can quote (made by the app); `lang` presets the
    language (for example from an SMS keyword or a FLOW_SWITCH; the flow sees
    `lang_preset`). `places` is the place directory for location nodes (default: the
    shipped demo directory); `help_directory` finds the help points of help_list nodes
    (default: none, so a help list shows its empty text).
    Returns (state, output). Raises ValueError for an unknown channel or language.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use 'ussd' or 'sms'")
    if lang is not None and lang not in flow.languages:
        raise ValueError(f"flow {flow.id!r} has no language {lang!r}")
    st = new_state(flow, channel, case_ref, lang or flow.default_language, lang is not None)
    run = _Run(flow, st, places, help_directory)
    if lang is not None:
        run.events.append(Event(EventKind.LANGUAGE_SET, {"language": lang}))
    return run.guarded(lambda: run.advance(flow.start, None))


def step(flow: Flow, state: dict[str, Any], text: str, *,
         places: PlaceDirectory | None = None,
         help_directory: HelpDirectory | None = None) -> tuple[dict[str, Any], Output]:
    """Advance the session by one reply `text`.

    Returns (new state, output); `state` itself is not modified. Stop words end and forget
    the session, help words repeat the question with a hint, "0" goes back and "98" shows
    more on USSD menus, an invalid reply re-asks with a hint and the third miss in a row
    ends with the safe closing text. Internal failures (a template that cannot render)
    also end with the safe closing text and a FAILED_SAFE event. A reply that reaches a
    switch (node or menu option `flow:`) ends this flow's part with a FLOW_SWITCH event:
    the caller starts that flow (see docs/flows.md).
    Raises FlowMismatch when the state belongs to another flow id or version.
    """
    _check_pinned(flow, state)
    st = _copy_state(state)
    run = _Run(flow, st, places, help_directory)
    return run.guarded(lambda: run.reply(text if isinstance(text, str) else str(text)))


def offer_resume(flow: Flow, state: dict[str, Any], channel: str, *,
                 places: PlaceDirectory | None = None,
                 help_directory: HelpDirectory | None = None) -> tuple[dict[str, Any], Output]:
    """Ask "1. Continue / 2. Start again" for an unfinished session (after a redial or expiry).

    The next `step` continues the old session where it was or starts it again. Returns
    (state, output). Raises FlowMismatch for another flow/version, ValueError when the
    session is already over or the channel is unknown.
    """
    _check_pinned(flow, state)
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use 'ussd' or 'sms'")
    if state.get("done") or not state.get("node"):
        raise ValueError("this session is over; start a new one instead of resuming")
    st = _copy_state(state)
    st["channel"] = channel
    st["resume"] = True
    st["misses"] = 0
    run = _Run(flow, st, places, help_directory)
    return run.guarded(lambda: run.show_resume(""))


def is_expired(flow: Flow, state_last_activity_epoch: float, now_epoch: float,
               channel: str) -> bool:
    """Return True when a session silent since `state_last_activity_epoch` has expired.

    SMS: after `sms_expiry_minutes`. USSD: after `ussd_resume_minutes` (the redial window).
    Times are seconds since the epoch, passed in by the caller.
    """
    silent = now_epoch - state_last_activity_epoch
    if channel == "sms":
        return silent >= flow.settings.sms_expiry_minutes * 60
    return silent >= flow.settings.ussd_resume_minutes * 60


def resume_decision(flow: Flow, state: dict[str, Any] | None, state_last_activity_epoch: float,
                    now_epoch: float, channel: str) -> Literal["continue", "offer_resume",
                                                              "restart"]:
    """Decide what a new message does to an earlier unfinished session.

    USSD (each dial is a new network session): within the resume window "offer_resume",
    else "restart". SMS: before expiry "continue"; after it, as the flow's
    `sms_after_expiry` says ("offer_resume" only within `sms_resume_max_minutes`).
    A missing or finished state always gives "restart".
    """
    if not state or state.get("done") or not state.get("node"):
        return "restart"
    silent = now_epoch - state_last_activity_epoch
    if channel == "ussd":
        return "restart" if is_expired(flow, state_last_activity_epoch, now_epoch,
                                       "ussd") else "offer_resume"
    if not is_expired(flow, state_last_activity_epoch, now_epoch, "sms"):
        return "continue"
    if (flow.settings.sms_after_expiry == "offer_resume"
            and silent < flow.settings.sms_resume_max_minutes * 60):
        return "offer_resume"
    return "restart"


# ------------------------------------------------------------------------------ internals


def _check_pinned(flow: Flow, state: dict[str, Any]) -> None:
    if state.get("flow") != flow.id or state.get("flow_version") != flow.version:
        raise FlowMismatch(
            f"session belongs to flow {state.get('flow')!r} version "
            f"{state.get('flow_version')!r}, not {flow.id!r} version {flow.version!r}; "
            "load the version the session started on")


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    # Entries of hits/points/history are never changed once appended, so copying the
    # containers (not their items) keeps the caller's state intact.
    st = dict(state)
    st["vars"] = dict(state["vars"])
    st["answers"] = dict(state["answers"])
    st["hits"] = list(state["hits"])
    st["points"] = list(state["points"])
    st["needs"] = list(state["needs"])
    st["history"] = list(state["history"])
    if state.get("loc") is not None:
        st["loc"] = dict(state["loc"])
    return st


@lru_cache(maxsize=8192)
def _sms_encoding_cached(text: str) -> tuple[str, int, int]:
    enc = sms_encoding(text)
    return enc.encoding, enc.segments, enc.length


class _Run(LocationSteps):
    """One call of the engine: the state being built, events and nodes visited."""

    __slots__ = ("_ctx", "events", "flow", "helpers", "places", "st", "undo", "visited")

    def __init__(self, flow: Flow, st: dict[str, Any], places: PlaceDirectory | None,
                 helpers: HelpDirectory | None = None):
        self.flow = flow
        self.st = st
        self.places = places
        self.helpers = helpers
        self.events: list[Event] = []
        self.visited: list[str] = []
        self.undo: dict[str, Any] | None = None
        self._ctx: dict[str, Any] | None = None

    # -- plumbing

    def guarded(self, action: Callable[[], Output]) -> tuple[dict[str, Any], Output]:
        try:
            out = action()
        except Exception as exc:  # the caller must still get a safe closing screen
            return self.fail_safe("error", error=type(exc).__name__)
        return self.st, out

    def directory(self) -> PlaceDirectory:
        return self.places if self.places is not None else default_places()

    def text(self, key: str) -> str:
        return self.flow.texts[self.st["lang"]][key]

    def context(self) -> dict[str, Any]:
        if self._ctx is None:
            st = self.st
            ctx = dict(st["vars"])
            ctx.update(lang=st["lang"], channel=st["channel"], case_ref=st["case_ref"],
                       hotline_number=self.flow.settings.hotline_number,
                       answers=Answers(st["answers"]),
                       score=score_of(self.flow.vocabulary, st["hits"], st["points"]),
                       indicators=[h["indicator"] for h in st["hits"]],
                       needs=list(st["needs"]), lang_preset=st["lang_preset"],
                       indicator_labels=self.indicator_labels())
            self._ctx = ctx
        return self._ctx

    def changed(self) -> None:
        self._ctx = None

    def indicator_labels(self) -> list[str]:
        """Labels of the indicators found, in the session language, heaviest first."""
        vocabulary = self.flow.vocabulary
        found = list(dict.fromkeys(h["indicator"] for h in self.st["hits"]))
        found.sort(key=lambda i: -vocabulary.indicators[i].weight)  # stable: ties keep order
        lang = self.st["lang"]
        return [vocabulary.indicators[i].label.get(lang, i) for i in found]

    # -- replies

    def reply(self, text: str) -> Output:
        st = self.st
        if st.get("done") or not st.get("node"):
            return self.fail_safe("session_over")[1]
        st["replies"] = st.get("replies", 0) + 1
        key = normalize_answer(text)
        if key in self.flow.stop_words:
            return self.stop()
        if st.get("resume"):
            return self.resume_reply(key)
        node = self.flow.nodes[st["node"]]
        if key in self.flow.help_words:
            return self.show(node, self.hint(node))
        if st["channel"] == "ussd" and self.is_menu_now(node):
            if key == "0":
                return self.back(node)
            if key == str(MORE):
                pages = self.render(node, "")[1]
                if st["page"] + 1 < pages:
                    st["page"] += 1
                    return self.show(node, "")
        elif self.is_menu_now(node) and key in (str(MORE), normalize_answer(self.text("more"))):
            # A long SMS menu comes in pages within the segment budget; "98" (or the word
            # "Suite") asks for the next one. SMS has no back: earlier pages are in the inbox.
            pages = self.render(node, "")[1]
            if st["page"] + 1 < pages:
                st["page"] += 1
                return self.show(node, "")
        try:
            if node.kind == "location":
                return self.location_reply(node, text, key)
            value, options = self.accept(node, text, key)
        except _Invalid:
            return self.miss(node)
        return self.answered(node, value, options, node.next)

    def accept(self, node: CompiledNode, raw: str, key: str) -> tuple[Any, list[Any]]:
        lang = self.st["lang"]
        if node.kind == "message":
            return None, []
        if node.kind == "help_list":
            return len(self.st.get("listings", {}).get(node.id) or []), []
        if node.kind == "menu":
            if node.multiple:
                parts = split_choices(raw)
                if not parts:
                    raise _Invalid
                chosen = []
                for part in parts:
                    opt = self.pick(node, normalize_answer(part), lang)
                    if opt not in chosen:
                        chosen.append(opt)
                return [o.value for o in chosen], chosen
            opt = self.pick(node, key, lang)
            return opt.value, [opt]
        # input
        kind = node.validation
        if kind in ("number", "age"):
            number = parse_integer(key)
            if number is None or (node.minimum is not None and number < node.minimum) or (
                    node.maximum is not None and number > node.maximum):
                raise _Invalid
            return number, []
        if kind == "yes_no":
            if key in ("1", "2"):
                return key == "1", []
            found = self.flow.yes_no.match(key, lang) if self.flow.yes_no else None
            if found is None:
                raise _Invalid
            return found == 0, []
        answer = raw.strip()
        if not answer:
            raise _Invalid
        if kind == "pattern":
            if len(answer) > node.max_length or not node.pattern or not node.pattern.fullmatch(
                    answer):
                raise _Invalid
            return answer, []
        return answer[: node.max_length], []

    def pick(self, node: CompiledNode, key: str, lang: str) -> Any:
        if key.isdigit():
            number = int(key)
            if 1 <= number <= len(node.options):
                return node.options[number - 1]
            raise _Invalid
        index = node.matcher.match(key, lang) if node.matcher else None
        if index is None:
            raise _Invalid
        return node.options[index]

    def answered(self, node: CompiledNode, value: Any, options: list[Any],
                 next_id: str | None) -> Output:
        st = self.st
        self.undo = {"node": node.id, "page": st["page"], "vars": {}, "lang": st["lang"],
                     "hits": len(st["hits"]), "points": len(st["points"]),
                     "needs": len(st["needs"]), "loc": st.get("loc"),
                     "case_sent": st.get("case_sent", False)}
        st["history"].append(self.undo)
        st["answers"][node.id] = value
        if node.save_as:
            self.set_var(node.save_as, value)
        switch = None
        for opt in options:
            if opt.effects is not None:
                self.apply(opt.effects, node.id, opt.value)
            next_id = opt.next or next_id
            switch = switch or opt.flow
        self.changed()
        if switch:
            return self.switch_to(switch, node.id)
        return self.advance(next_id or node.next, node.id)

    def miss(self, node: CompiledNode) -> Output:
        st = self.st
        st["misses"] = st.get("misses", 0) + 1
        if st["misses"] >= MAX_MISSES:
            return self.fail_safe("three_misses")[1]
        return self.show(node, f"{self.text('invalid')} {self.hint(node)}",
                         short=self.text("invalid"))

    def back(self, node: CompiledNode) -> Output:
        st = self.st
        if st["page"] > 0:
            st["page"] -= 1
            return self.show(node, "")
        loc = st.get("loc")
        if node.kind == "location" and loc:
            previous = location_back(loc, node, st["channel"])
            if previous is not None:
                st["loc"] = previous
                st["page"] = 0
                return self.show(node, "")
        if not st["history"]:
            return self.show(node, "")
        record = st["history"].pop()
        for name, old in record["vars"].items():
            st["vars"][name] = old
        del st["hits"][record["hits"]:]
        del st["points"][record["points"]:]
        del st["needs"][record["needs"]:]
        st["answers"].pop(record["node"], None)
        st["lang"] = record["lang"]
        target = self.flow.nodes[record["node"]]
        st["loc"] = record["loc"] or (location_start(target, st["channel"])
                                      if target.kind == "location" else None)
        st["case_sent"] = record["case_sent"]
        st["node"] = record["node"]
        st["page"] = record["page"]
        st["misses"] = 0
        self.changed()
        self.visited.append(target.id)
        return self.show(target, "")

    # -- effects and movement

    def set_var(self, name: str, value: Any) -> None:
        undo = self.undo
        if undo is not None and name not in undo["vars"]:
            undo["vars"][name] = self.st["vars"].get(name)
        self.st["vars"][name] = value

    def apply(self, eff: CompiledEffects, node_id: str, answer: Any) -> None:
        st = self.st
        for name, value in eff.sets:
            self.set_var(name, list(value) if isinstance(value, list | tuple) else value)
        for name, compute in eff.computes:
            result = compute(self.context())
            self.set_var(name, _json_value(result))
            self.changed()
        for indicator in eff.indicators:
            st["hits"].append({"indicator": indicator, "node": node_id, "answer": answer})
        if eff.score:
            st["points"].append({"node": node_id, "answer": answer, "points": eff.score})
        for need in eff.needs:
            if need not in st["needs"]:
                st["needs"].append(need)
        if eff.language and eff.language != st["lang"]:
            st["lang"] = eff.language
            self.events.append(Event(EventKind.LANGUAGE_SET, {"language": eff.language}))
        self.changed()

    def advance(self, node_id: str | None, from_node: str | None) -> Output:
        st = self.st
        hops = 0
        while True:
            hops += 1
            if node_id is None or node_id not in self.flow.nodes or hops > MAX_AUTO_HOPS:
                return self.fail_safe("broken_flow")[1]
            node = self.flow.nodes[node_id]
            self.visited.append(node_id)
            if node.kind == "switch":
                return self.switch_to(node.flow, node.id)
            if node.kind in AUTO_KINDS:
                node_id = self.run_auto(node)
                continue
            st["page"] = 0
            st["misses"] = 0
            if node.kind == "help_list":
                self.find_help(node)
            if node.kind == "end":
                st["node"] = None
                st["done"] = "ended"
                st["loc"] = None
                return self.show(node, "", continues=False)
            st["node"] = node_id
            st["loc"] = (location_start(node, st["channel"]) if node.kind == "location"
                         else None)
            return self.show(node, "")

    def run_auto(self, node: CompiledNode) -> str | None:
        if node.kind == "branch":
            context = self.context()
            for check, _source, target in node.branches:
                if check(context):
                    return target
            return node.otherwise
        if node.kind == "actions":
            if node.effects is not None:
                self.apply(node.effects, node.id, None)
            return node.next
        # case
        self.events.append(Event(EventKind.CASE_READY, self.case_payload(node)))
        self.st["case_sent"] = True
        return node.next

    def case_payload(self, node: CompiledNode) -> dict[str, Any]:
        st = self.st
        flow = self.flow
        risk = assess_risk(flow.vocabulary, st["hits"], st["points"])
        found = {h["indicator"] for h in st["hits"]}
        variables = st["vars"]
        place = next((dict(variables[name]) for name in flow.place_vars
                      if isinstance(variables.get(name), dict)), None)
        return {
            "case_ref": st["case_ref"], "flow_id": flow.id, "flow_version": flow.version,
            "vocabulary_version": flow.vocabulary.version, "channel": st["channel"],
            "language": st["lang"], "reporter": node.reporter,
            "risk_level": risk.level, "score": risk.score, "risk_reasons": risk.reasons,
            "indicators": risk.indicators, "extra_points": risk.extra_points,
            "needs": list(st["needs"]), "place": place,
            "age_band": variables.get("age_band"), "sex": variables.get("sex"),
            "minor": bool(variables.get("minor")) or "child_under_18" in found,
            "danger_now": bool(variables.get("danger_now")) or "immediate_danger" in found,
            "consent": {"callback": variables.get("consent_callback") is True,
                        "police": variables.get("consent_police") is True},
            "answers": dict(st["answers"]), "variables": dict(variables),
        }

    def find_help(self, node: CompiledNode) -> None:
        """Ask the help directory once, on arrival, so every page shows the same points."""
        listing = node.help
        place = self.st["vars"].get(listing.place_var)
        points: list[dict[str, Any]] = []
        if isinstance(place, dict) and place.get("latitude") is not None and place.get(
                "longitude") is not None:
            directory = self.helpers if self.helpers is not None else NoHelpDirectory()
            found = directory.nearest(float(place["latitude"]), float(place["longitude"]),
                                      kinds=listing.kinds, limit=listing.limit)
            points = [help_to_dict(p) for p in list(found)[:listing.limit]]
        listings = dict(self.st.get("listings") or {})
        listings[node.id] = points
        self.st["listings"] = listings

    def help_line(self, node: CompiledNode, number: int, point: dict[str, Any]) -> str:
        lang = self.st["lang"]
        listing = node.help
        values = {**self.context(), **point, "number": number,
                  "kind_label": listing.kind_labels[lang].get(point["kind"], point["kind"])}
        return listing.item.render(lang, lambda: values)

    # -- endings

    def switch_to(self, flow_id: str, node_id: str) -> Output:
        """End this flow's part: the caller starts `flow_id` in the session's language.

        The output carries the safe closing text, so a caller that cannot start the other
        flow still gives the caller a proper ending.
        """
        st = self.st
        st["node"] = None
        st["done"] = "switched"
        st["loc"] = None
        st["page"] = 0
        self.events.append(Event(EventKind.FLOW_SWITCH, {"flow": flow_id, "language": st["lang"],
                                                         "node": node_id}))
        return self.closing(self.text("failed_safe"))

    def stop(self) -> Output:
        node = self.st.get("node")
        self.st = _forgotten(self.flow, self.st, "stopped")
        self.events.append(Event(EventKind.STOPPED, {"node": node}))
        return self.closing(self.text("stopped"))

    def fail_safe(self, reason: str, **extra: Any) -> tuple[dict[str, Any], Output]:
        node = self.st.get("node")
        self.st = _forgotten(self.flow, self.st, "failed")
        self.events.append(Event(EventKind.FAILED_SAFE, {"reason": reason, "node": node,
                                                         **extra}))
        return self.st, self.closing(self.text("failed_safe"))

    def closing(self, body: str) -> Output:
        return self.output(body, False, node=None)

    # -- resume

    def show_resume(self, notice: str) -> Output:
        st = self.st
        screen = Screen(self.text("resume_prompt"),
                        (self.text("resume_continue"), self.text("resume_restart")), menu=True)
        return self.emit(screen, notice, continues=True, node=st["node"], show_back=False,
                         cache_key=("@resume", st["lang"], st["channel"], notice))

    def resume_reply(self, key: str) -> Output:
        st = self.st
        if key in self.flow.help_words:
            return self.show_resume(self.text("hint_menu"))
        choice = {"1": 0, "2": 1}.get(key)
        if choice is None and self.flow.resume_matcher is not None:
            choice = self.flow.resume_matcher.match(key, st["lang"])
        if choice is None:
            st["misses"] = st.get("misses", 0) + 1
            if st["misses"] >= MAX_MISSES:
                return self.fail_safe("three_misses")[1]
            return self.show_resume(self.text("invalid"))
        if choice == 0:
            st["resume"] = False
            st["misses"] = 0
            node = self.flow.nodes[st["node"]]
            self.visited.append(node.id)
            return self.show(node, "")
        fresh = new_state(self.flow, st["channel"], st["case_ref"], st["lang"],
                          st["lang_preset"])
        self.st = fresh
        self.changed()
        return self.advance(self.flow.start, None)

    # -- rendering

    def is_menu_now(self, node: CompiledNode) -> bool:
        if node.kind in MENU_LIKE:
            return True
        return node.kind == "location" and bool(self.st.get("loc")) and (
            self.st["loc"]["stage"] != "text")

    def hint(self, node: CompiledNode) -> str:
        lang = self.st["lang"]
        if node.hint is not None:
            return node.hint.render(lang, self.context)
        texts = self.flow.texts[lang]
        if node.kind == "menu":
            return texts["hint_menu_multiple" if node.multiple else "hint_menu"]
        if node.kind in ("message", "help_list"):
            return texts["hint_message"]
        if node.kind == "location":
            loc = self.st.get("loc") or {}
            return texts["hint_location_text" if loc.get("stage", "text") == "text"
                         else "hint_menu"]
        if node.validation in ("number", "age"):
            if node.range_hint.get(lang) and node.validation == "number":
                return node.range_hint[lang]
            return texts["hint_age" if node.validation == "age" else "hint_number"]
        return texts[{"yes_no": "hint_yes_no", "pattern": "hint_pattern"}.get(
            node.validation or "", "hint_text")]

    def screen(self, node: CompiledNode) -> Screen:
        st = self.st
        lang = st["lang"]
        texts = self.flow.texts[lang]
        kind = node.kind
        if kind == "menu":
            return Screen(node.text.render(lang, self.context),
                          tuple(o.label[lang] for o in node.options), menu=True)
        if kind == "message":
            return Screen(node.text.render(lang, self.context), (texts["continue"],),
                          menu=True, sms_options=False, sms_footer=texts["continue_sms"])
        if kind == "help_list":
            points = (st.get("listings") or {}).get(node.id) or []
            if not points:
                return Screen(node.help.empty.render(lang, self.context), (texts["continue"],),
                              menu=True, sms_options=False, sms_footer=texts["continue_sms"])
            return Screen(node.text.render(lang, self.context), (texts["continue"],),
                          menu=True, sms_options=False, sms_footer=texts["continue_sms"],
                          items=tuple(self.help_line(node, i, p)
                                      for i, p in enumerate(points, 1)))
        if kind == "location":
            loc = st.get("loc") or location_start(node, st["channel"])
            stage = loc["stage"]
            if stage == "text":
                return Screen(node.loc_texts["location_text"].render(lang, self.context))
            key = {"region": "location_not_found" if loc.get("not_found") else
                   "location_region", "cercle": "location_cercle",
                   "choose": "location_choose"}[stage]
            labels = tuple(label for _, label in
                           self.location_options(node, loc, self.directory()))
            return Screen(node.loc_texts[key].render(lang, self.context), labels, menu=True)
        return Screen(node.text.render(lang, self.context) if node.text else "")

    def render(self, node: CompiledNode, notice: str, short: str = "") -> tuple[str, int]:
        st = self.st
        channel = st["channel"]
        show_back = (channel == "ussd" and self.flow.settings.ussd_show_back
                     and bool(st["history"]) and self.is_menu_now(node))
        cacheable = node.kind not in ("location", "help_list") and (
            node.text is None or node.text.is_static(st["lang"]))
        key = (node.id, st["lang"], channel, st["page"], show_back, notice)
        if cacheable:
            hit = self.flow.screen_cache.get(key)
            if hit is not None:
                return hit
        screen = self.screen(node)
        if channel == "ussd":
            result = render_ussd(screen, page=st["page"], show_back=show_back, notice=notice,
                                 more=self.text("more"), back=self.text("back"),
                                 limit=self.flow.settings.ussd_max_chars, short_notice=short)
        else:
            result = render_sms_page(screen, page=st["page"], notice=notice,
                                     fold=self.flow.settings.sms_fold_to_gsm,
                                     budget=self.flow.settings.sms_segment_budget,
                                     more=self.text("more"))
        if cacheable and len(self.flow.screen_cache) < 20000:
            self.flow.screen_cache[key] = result
        return result

    def show(self, node: CompiledNode, notice: str, continues: bool = True,
             short: str = "") -> Output:
        text, pages = self.render(node, notice, short)
        return self.output(text, continues, node=node.id if continues else None, pages=pages)

    def emit(self, screen: Screen, notice: str, *, continues: bool, node: str | None,
             show_back: bool, cache_key: tuple[Any, ...]) -> Output:
        st = self.st
        hit = self.flow.screen_cache.get(cache_key)
        if hit is None:
            if st["channel"] == "ussd":
                hit = render_ussd(screen, page=0, show_back=show_back, notice=notice,
                                  more=self.text("more"), back=self.text("back"),
                                  limit=self.flow.settings.ussd_max_chars)
            else:
                hit = (render_sms(screen, notice=notice,
                                  fold=self.flow.settings.sms_fold_to_gsm), 1)
            self.flow.screen_cache[cache_key] = hit
        return self.output(hit[0], continues, node=node, pages=hit[1])

    def output(self, text: str, continues: bool, *, node: str | None,
               pages: int = 1) -> Output:
        st = self.st
        if st["channel"] == "sms":
            encoding, segments, length = _sms_encoding_cached(text)
        else:
            encoding, segments, length = None, None, len(text)
        return Output(text=text, continues=continues, channel=st["channel"],
                      events=tuple(self.events), node=node, page=st.get("page", 0),
                      pages=pages, encoding=encoding, segments=segments, length=length,
                      visited=tuple(self.visited))


def _forgotten(flow: Flow, st: dict[str, Any], how: str) -> dict[str, Any]:
    fresh = new_state(flow, st.get("channel", "sms"), None,
                      st.get("lang") or flow.default_language, False)
    fresh["vars"] = {}
    fresh["done"] = how
    return fresh


def _json_value(value: Any) -> Any:
    # Computed values land in the JSON state: keep only JSON types.
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)
