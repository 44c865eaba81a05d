"""Transcript tests: YAML conversations run on the real engine over USSD and SMS."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.engine import CHANNELS, offer_resume, start, step
from flows.errors import FlowError, FlowProblem
from flows.flow import Flow
from flows.help import HelpDirectory
from flows.lint import flow_files, flow_id_of
from flows.loader import load_flow_text
from flows.output import EventKind, Output
from flows.places import PlaceDirectory
from flows.schema import describe_location
from flows.source import line_of, read_yaml
from flows.textfold import loose_text
from flows.vocabulary import Vocabulary

ChannelName = Literal["ussd", "sms"]
PerChannel = str | dict[ChannelName, str]
Expectation = str | list[str] | dict[ChannelName, str | list[str]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepSpec(_Strict):
    """One step: a reply (or a resume offer) and what the screen must show."""

    send: PerChannel | None = None
    resume: bool = False
    expect: Expectation | None = None
    expect_re: Expectation | None = None
    expect_not: Expectation | None = None
    node: str | None = None
    flow: str | None = None  # the flow now running (after a switch)
    end: bool | None = None


class CaseSpec(_Strict):
    """What the CASE_READY payload must say (only the keys given are checked)."""

    risk_level: Literal["low", "medium", "high", "critical"] | None = None
    indicators: list[str] | None = None
    needs: list[str] | None = None
    place: PerChannel | None = None  # a code; per channel when menus and text differ
    reporter: str | None = None
    language: str | None = None
    age_band: str | None = None
    sex: str | None = None
    minor: bool | None = None
    danger_now: bool | None = None
    consent: dict[str, bool] | None = None


class TestSpec(_Strict):
    """One conversation."""

    name: str
    channels: list[ChannelName] = Field(default_factory=lambda: list(CHANNELS))
    lang: str | None = None
    case_ref: str = "TEST0001"
    steps: list[StepSpec] = Field(min_length=1)
    end: bool | None = None
    case: CaseSpec | Literal["none"] | None = None
    events: list[str] = Field(default_factory=list)


class TranscriptFile(_Strict):
    """A transcript file: the flow it tests (path relative to the file) and its tests."""

    flow: str
    tests: list[TestSpec] = Field(min_length=1)


@dataclass(frozen=True)
class TranscriptFailure:
    """Where a transcript went wrong: file, test, channel, step (0 = the start) and why."""

    path: str
    test: str
    channel: str
    step: int
    line: int
    message: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: test '{self.test}' [{self.channel}] step "
                f"{self.step}: {self.message}")


@dataclass
class TranscriptReport:
    """Results of a transcript run and the nodes each flow visited per channel."""

    passed: list[tuple[str, str, str]] = field(default_factory=list)
    failures: list[TranscriptFailure] = field(default_factory=list)
    problems: list[FlowProblem] = field(default_factory=list)
    visited: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    nodes: dict[str, set[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every test passed and every file loaded."""
        return not self.failures and not self.problems

    def uncovered(self, flow_id: str, channel: str) -> set[str]:
        """Return the nodes of `flow_id` that no test visited on `channel`."""
        return self.nodes.get(flow_id, set()) - self.visited.get(flow_id, {}).get(channel,
                                                                                   set())

    def summary(self) -> str:
        """Return a short plain-text summary with every failure on its own line."""
        lines = [str(p) for p in self.problems] + [str(f) for f in self.failures]
        lines.append(f"{len(self.passed)} passed, {len(self.failures)} failed")
        for flow_id in sorted(self.nodes):
            for channel in CHANNELS:
                missing = sorted(self.uncovered(flow_id, channel))
                if missing:
                    lines.append(f"{flow_id} [{channel}] nodes not visited: "
                                 f"{', '.join(missing)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form for the console."""
        return {
            "ok": self.ok,
            "passed": [{"path": p, "test": t, "channel": c} for p, t, c in self.passed],
            "failures": [f.__dict__ for f in self.failures],
            "problems": [p.to_dict() for p in self.problems],
            "uncovered": {fid: {ch: sorted(self.uncovered(fid, ch)) for ch in CHANNELS}
                          for fid in sorted(self.nodes)},
        }


def transcript_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into transcript files (*.test.yaml)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.glob("*.test.yaml")))
        else:
            found.append(path)
    return found


class _FlowLibrary:
    """Flows loaded once per run, found by path or, for a switch, by id beside a flow file."""

    def __init__(self, vocabulary: Vocabulary | None):
        self.vocabulary = vocabulary
        self.by_path: dict[Path, Flow] = {}
        self.ids: dict[Path, dict[str, Path]] = {}

    def load(self, path: Path) -> Flow:
        """Return the flow of `path`; raises OSError or FlowError."""
        if path not in self.by_path:
            self.by_path[path] = load_flow_text(path.read_text(encoding="utf-8"), str(path),
                                                vocabulary=self.vocabulary)
        return self.by_path[path]

    def find(self, flow_id: str, folder: Path) -> Flow | None:
        """Return the flow with this id among the flow files of `folder`, or None."""
        if folder not in self.ids:
            found: dict[str, Path] = {}
            for path in flow_files([folder])[0]:
                try:
                    other = flow_id_of(path.read_text(encoding="utf-8"), str(path))
                except (OSError, UnicodeDecodeError):
                    continue
                if other:
                    found.setdefault(other, path.resolve())
            self.ids[folder] = found
        path = self.ids[folder].get(flow_id)
        if path is None:
            return None
        try:
            return self.load(path)
        except (OSError, FlowError):
            return None


def run_transcripts(paths: Iterable[str | Path], *, places: PlaceDirectory | None = None,
                    vocabulary: Vocabulary | None = None,
                    help_directory: HelpDirectory | None = None) -> TranscriptReport:
    """Run every transcript test found in `paths` on each channel it names.

    `places` and `help_directory` are passed to the engine as the app passes them. When a
    flow switches to another (FLOW_SWITCH), the test goes on in that flow, found by id
    among the flow files beside the tested one, started in the session's language.
    Returns a TranscriptReport; files that cannot be read or flows that do not load become
    `problems`, wrong screens or cases become `failures`. Never raises for bad files.
    """
    report = TranscriptReport()
    library = _FlowLibrary(vocabulary)
    for path in transcript_files(paths):
        try:
            tree = read_yaml(path.read_text(encoding="utf-8"), str(path))
            spec = TranscriptFile.model_validate(tree)
        except OSError as exc:
            report.problems.append(FlowProblem(str(path), 1, "error",
                                               f"The file cannot be read: {exc}."))
            continue
        except FlowError as exc:
            report.problems.extend(exc.problems)
            continue
        except ValidationError as exc:
            report.problems.extend(
                FlowProblem(str(path), line_of(tree, tuple(e["loc"])), "error",
                            f"{describe_location(tuple(e['loc']))}: {e['msg']}.")
                for e in exc.errors())
            continue
        flow_path = (path.parent / spec.flow).resolve()
        try:
            flow = library.load(flow_path)
        except (OSError, FlowError) as exc:
            problems = getattr(exc, "problems", None) or [
                FlowProblem(str(path), line_of(tree, ("flow",)), "error",
                            f"The flow {spec.flow} cannot be read: {exc}.")]
            report.problems.extend(problems)
            continue
        report.nodes.setdefault(flow.id, set(flow.nodes))

        def find(flow_id: str, folder: Path = flow_path.parent) -> Flow | None:
            found = library.find(flow_id, folder)
            if found is not None:
                report.nodes.setdefault(found.id, set(found.nodes))
            return found

        for t_index, test in enumerate(spec.tests):
            for channel in test.channels:
                session = _Session(flow, test, channel, places, help_directory, find,
                                   report.visited)
                failure = _run_one(session, str(path), tree, t_index)
                if failure:
                    report.failures.append(failure)
                else:
                    report.passed.append((str(path), test.name, channel))
    return report


def _for_channel(value: Any, channel: str) -> Any:
    if isinstance(value, dict):
        return value.get(channel)
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _check_output(spec: StepSpec, out: Output, channel: str, flow_id: str) -> str | None:
    shown = loose_text(out.text)
    for expected in _as_list(_for_channel(spec.expect, channel)):
        if loose_text(expected) not in shown:
            return f"expected {expected!r} in the screen, got {out.text!r}"
    for pattern in _as_list(_for_channel(spec.expect_re, channel)):
        if not re.search(pattern, shown, re.IGNORECASE):
            return f"expected a match for /{pattern}/ in the screen, got {out.text!r}"
    for unwanted in _as_list(_for_channel(spec.expect_not, channel)):
        if loose_text(unwanted) in shown:
            return f"did not expect {unwanted!r} in the screen, got {out.text!r}"
    if spec.flow is not None and flow_id != spec.flow:
        return f"expected to be in flow {spec.flow!r}, but in flow {flow_id!r}"
    if spec.node is not None and out.node != spec.node:
        return f"expected to wait at node {spec.node!r}, but waiting at {out.node!r}"
    if spec.end is not None and out.continues == spec.end:
        return ("expected the session to end here" if spec.end else
                "expected the session to go on, but it ended") + f" (screen {out.text!r})"
    if channel == "ussd" and len(out.text) > 182:
        return f"the USSD screen has {len(out.text)} characters, over 182"
    return None


class _Session:
    """One test on one channel: the flow now running (switches change it) and its state."""

    def __init__(self, flow: Flow, test: TestSpec, channel: str,
                 places: PlaceDirectory | None, help_directory: HelpDirectory | None,
                 find: Any, visited: dict[str, dict[str, set[str]]]):
        self.flow = flow
        self.test = test
        self.channel = channel
        self.engine = {"places": places, "help_directory": help_directory}
        self.find = find
        self.visited = visited
        self.state: dict[str, Any] | None = None
        self.kinds: set[str] = set()
        self.case: dict[str, Any] | None = None

    def start(self, lang: str | None) -> Output:
        self.state, out = start(self.flow, self.channel, case_ref=self.test.case_ref,
                                lang=lang, **self.engine)
        return out

    def step(self, text: str) -> Output:
        self.state, out = step(self.flow, self.state, text, **self.engine)
        return out

    def resume(self) -> Output:
        self.state, out = offer_resume(self.flow, self.state, self.channel, **self.engine)
        return out

    def record(self, out: Output) -> str | None:
        """Note the nodes and events of `out`; return a failure message or None."""
        seen = self.visited.setdefault(self.flow.id, {}).setdefault(self.channel, set())
        seen.update(out.visited)
        if out.node:
            seen.add(out.node)
        for event in out.events:
            self.kinds.add(str(event.kind))
            if event.kind == EventKind.CASE_READY:
                self.case = event.data
            if event.kind == EventKind.FAILED_SAFE and "failed_safe" not in self.test.events:
                return (f"the engine failed safe ({event.data.get('reason')}, "
                        f"{event.data.get('error', '')}): {out.text!r}")
        return None

    def follow(self, out: Output) -> tuple[Output, str | None]:
        """Start the flow a FLOW_SWITCH names, as the app does; return its first output."""
        for _ in range(8):
            event = out.event(EventKind.FLOW_SWITCH)
            if event is None:
                return out, None
            target = self.find(event.data["flow"])
            if target is None:
                return out, f"the flow switched to unknown flow {event.data['flow']!r}"
            self.flow = target
            lang = event.data.get("language")
            out = self.start(lang if lang in target.languages else None)
            problem = self.record(out)
            if problem:
                return out, problem
        return out, "the flows switched more than 8 times in one step"


def _run_one(session: _Session, path: str, tree: Any, t_index: int) -> TranscriptFailure | None:
    test, channel = session.test, session.channel

    def fail(step_no: int, message: str, loc: tuple[Any, ...] = ()) -> TranscriptFailure:
        line = line_of(tree, ("tests", t_index, *loc))
        return TranscriptFailure(path, test.name, channel, step_no, line, message)

    if test.lang is not None and test.lang not in session.flow.languages:
        return fail(0, f"the flow has no language {test.lang!r}", ("lang",))
    out: Output | None = None
    steps = test.steps
    for number, spec in enumerate(steps):
        loc = ("steps", number)
        try:
            if number == 0 and spec.send is None and not spec.resume:
                out = session.start(test.lang)
            else:
                if session.state is None:
                    out = session.start(test.lang)
                    problem = session.record(out)
                    if problem is None:
                        out, problem = session.follow(out)
                    if problem:
                        return fail(number, problem, loc)
                if spec.resume:
                    out = session.resume()
                else:
                    text = _for_channel(spec.send, channel)
                    if text is None:
                        continue  # this step is for the other channel only
                    out = session.step(str(text))
            problem = session.record(out)
            if problem is None:
                out, problem = session.follow(out)
        except Exception as exc:
            return fail(number, f"the engine raised {type(exc).__name__}: {exc}", loc)
        if problem:
            return fail(number, problem, loc)
        problem = _check_output(spec, out, channel, session.flow.id)
        if problem:
            return fail(number, problem, loc)
    if out is None:
        return fail(0, "the test has no step for this channel", ("steps",))
    if test.end is not None and out.continues == test.end:
        return fail(len(steps) - 1, "expected the session to be over at the end" if test.end
                    else "expected the session to go on at the end", ("end",))
    for kind in test.events:
        if kind not in session.kinds:
            return fail(len(steps) - 1, f"expected a {kind} event", ("events",))
    case = session.case
    if test.case == "none":
        if case is not None:
            return fail(len(steps) - 1, "expected no case, but a case was made", ("case",))
    elif test.case is not None:
        if case is None:
            return fail(len(steps) - 1, "expected a case, but none was made", ("case",))
        problem = _compare_case(test.case, case, channel)
        if problem:
            return fail(len(steps) - 1, problem, ("case",))
    return None


def _compare_case(spec: CaseSpec, case: dict[str, Any], channel: str) -> str | None:
    wanted = spec.model_dump(exclude_none=True)
    if isinstance(wanted.get("place"), dict):
        wanted["place"] = wanted["place"].get(channel)
        if wanted["place"] is None:
            del wanted["place"]  # this channel's place is not checked
    for key, value in wanted.items():
        if key == "indicators":
            got = sorted(i["id"] for i in case["indicators"])
            if sorted(value) != got:
                return f"case indicators: expected {sorted(value)}, got {got}"
        elif key == "needs":
            if sorted(value) != sorted(case["needs"]):
                return f"case needs: expected {sorted(value)}, got {sorted(case['needs'])}"
        elif key == "place":
            got_place = (case.get("place") or {}).get("code")
            if value != got_place:
                return f"case place: expected {value!r}, got {got_place!r}"
        elif key == "consent":
            for name, flag in value.items():
                if case["consent"].get(name) != flag:
                    return (f"case consent {name}: expected {flag}, got "
                            f"{case['consent'].get(name)}")
        elif case.get(key) != value:
            label = "risk level" if key == "risk_level" else key.replace("_", " ")
            return f"case {label}: expected {value!r}, got {case.get(key)!r}"
    return None
