"""End-to-end SMS latency: inbound SMS to the reply and to the referral alert at the SMS API, at 20 messages/s.

Run from the repository root (PostgreSQL on 127.0.0.1:5432 must answer; redis-server must be installed):

    .venv/bin/python bench/bench_e2e_sms.py

(about 3 minutes; ``--quick`` is a smoke run under a minute; ``--rate`` and ``--seconds`` change the load).
Goal: the referral alert's p95, from the final SMS of a screening to the alert request at the SMS API, under 1 s.

What it does, with the production pieces and nothing mocked inside the hotline:

1. starts a private ``redis-server`` on a free port (other benchmarks and test runs on this machine use
   the shared Redis and the same RQ queue names; their workers must not take these jobs), and a local
   stand-in for Twilio's and Africa's Talking's SMS APIs that answers as they do and notes when each
   request arrived;
2. creates the PostgreSQL schema ``bench_e2e_sms`` afresh, runs ``hotline db upgrade`` and
   ``hotline providers import --demo`` in it;
3. starts ``gunicorn -w 2 -k sync 'hotline:create_app()'`` and two ``hotline worker`` processes (RQ,
   with RQ's scheduler and the reconciler), in production mode, with ``SMS_PROVIDERS=twilio,africastalking``:
   replies to callers leave through the Africa's Talking SDK (the gateway they wrote through) and
   referral alerts through the Twilio SDK, both SDKs pointed at the stand-in with ``TWILIO_API_URL`` and
   ``AT_API_URL``;
4. screens one caller step by step (a check that the path still ends in a critical case in Bamako), then
   drives simulated callers: Africa's Talking inbound SMS form fields posted to
   ``/webhooks/africastalking/sms?token=AT_WEBHOOK_TOKEN``, one POST every 1/rate s (fixed spacing,
   open loop), handed in turn to rate x think "lanes", so each caller answers every ``--think`` s.
   Every caller screens in French from the keyword ``TRAITE`` to the end (10 SMS): in danger now, a
   girl of 12-17 or a young woman of 18-25, in one of 11 quarters of Bamako, needs a shelter and the
   police, consents to a call back and to the police. Its last SMS closes a critical case that routing
   refers to a shelter, the police, the national desk and (for a child) child protection, each alerted
   by SMS (3 or 4 alerts a case): one inbound SMS in ten makes a case. The first caller of most lanes
   stops after 1-9 answers, as people do, so the lanes are at different steps and the rate is a steady
   ``--rate`` from the first second;
5. measures, for each SMS posted in the window (after the warm-up, which is long enough for the first
   screenings to finish): POST sent -> the reply's request at the SMS API; and, for each final SMS,
   POST sent -> each alert request carrying the case's reference at the SMS API. Errors: non-2xx
   webhook answers, replies and alerts missing after ``--grace`` s (the alerts due are counted in the
   database), final replies without a reference. CPU (utime+stime from ``/proc``) of gunicorn, the RQ
   workers (with their scheduler process), PostgreSQL, Redis and this script over the window. Where
   the alert latency goes: stage by stage from the timestamps of the durable job rows, the RQ queues'
   depths sampled every 0.5 s, and the queue entries that ran before their job row was committed
   (RQ keeps what the runner answered: "skipped");
6. prints tables, writes ``bench/results/e2e_sms.json`` (git-ignored) and its section of
   ``docs/PERFORMANCE.md`` between the ``bench_e2e_sms`` markers, stops every process it started (a
   worker still running after 5 s of SIGTERM is killed, and the report says so) and drops the schema,
   also on an error, Ctrl-C or SIGTERM. Server and worker logs are copied to ``bench/results/``.

Nothing personal is printed or kept: callers use numbers of the unassigned block +223 20 01 xx xx,
and only counts, ids and times leave this script.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ussd_load import delta, free_port, machine_busy, postgres_cpu  # noqa: E402
from hotline.cases import REFERENCE_ALPHABET, REFERENCE_LENGTH  # noqa: E402
from workers.registry import QUEUE_NAMES  # noqa: E402

VENV_BIN = Path(sys.executable).parent
RESULTS_DIR = ROOT / "bench" / "results"
RESULTS = RESULTS_DIR / "e2e_sms.json"
DOC = ROOT / "docs" / "PERFORMANCE.md"
DOC_BEGIN = "<!-- BEGIN bench_e2e_sms (generated by bench/bench_e2e_sms.py; do not edit by hand) -->"
DOC_END = "<!-- END bench_e2e_sms -->"
SMS_PATH = "/webhooks/africastalking/sms"
SHORT_CODE = "8000"
GOAL_ALERT_P95_MS = 1000.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
TWILIO_SID = "AC" + "0" * 32
REFERENCE_RE = re.compile(rf"(?<![A-Z0-9])[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}(?![A-Z0-9])")

# Quarters of Bamako the shipped gazetteer resolves without asking which one (checked against the
# engine); spread over communes I, II, IV, V and VI so routing measures distances from several places.
BAMAKO_QUARTERS = ("Lafiabougou", "Badalabougou", "Hamdallaye", "Sogoniko", "Magnambougou", "Kalaban Coura",
                   "Niarela", "Bagadadji", "Missira", "Banconi", "Sebenikoro")
SCREENING_STEPS = 10
PILOT_CALLER = 9999


def screening_answers(caller_index: int) -> list[str]:
    """The 10 SMS of one screening that ends in a critical case in Bamako.

    The keyword sets French and skips the language menu; "OK" acknowledges the intro; then: may
    talk, in danger now (which makes the case critical and asks the place at once), age band,
    female, a quarter, needs "1 3" (shelter, police), call back yes, police yes.
    """
    age_band = "2" if caller_index % 2 == 0 else "3"  # 12-17 (child protection is alerted too) or 18-25
    quarter = BAMAKO_QUARTERS[caller_index % len(BAMAKO_QUARTERS)]
    return ["TRAITE", "OK", "1", "1", age_band, "1", quarter, "1 3", "1", "1"]


def caller_phone(caller_index: int) -> str:
    # The +223 20 01 block: no operator assigns it, and the demo directory's staff use 20 00.
    return f"+2232001{caller_index:04d}"


# ------------------------------------------------------------------------------------ /proc


def proc_stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_cpu(pid: int) -> float | None:
    """utime+stime of ``pid`` in seconds, None when it is gone."""
    fields = proc_stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_start_time(pid: int) -> int | None:
    fields = proc_stat_fields(pid)
    return None if fields is None else int(fields[19])


def child_pids(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(x) for x in handle.read().split()]
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (gunicorn's workers, an RQ worker's scheduler process)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += child_pids(current)
    return tree


def tree_cpu(pid: int) -> dict[int, float]:
    return {p: cpu for p in process_tree(pid) if (cpu := proc_cpu(p)) is not None}


def wait_for_quiet(limit_s: float, busy_max_pct: float = 30.0) -> float:
    """Wait up to ``limit_s`` for the machine to be mostly idle (other people's runs skew the figures);
    return how busy it was over the last 2 s."""
    deadline = time.monotonic() + limit_s
    while True:
        before = machine_busy()
        time.sleep(2.0)
        after = machine_busy()
        busy = 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])
        if busy <= busy_max_pct or time.monotonic() >= deadline:
            return round(busy, 1)


# -------------------------------------------------------------------------------- processes


class Child:
    """A process this benchmark started, in a session of its own so that Ctrl-C reaches only the
    benchmark, which then stops it (and what it forked) by pid."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._descendants: set[tuple[int, int | None]] = set()
        self.killed = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _note_descendants(self) -> None:
        # Once the parent is gone its children are orphans nobody stops: remember them while it lives.
        for pid in process_tree(self.pid)[1:]:
            self._descendants.add((pid, proc_start_time(pid)))

    def terminate(self) -> None:
        """SIGTERM: gunicorn stops gracefully; an RQ worker stops after its current job."""
        if self.running():
            self._note_descendants()
            self.process.send_signal(signal.SIGTERM)

    def finish(self, deadline: float) -> float:
        """Wait for the end until ``deadline`` (monotonic), then SIGKILL it; returns seconds it took."""
        started = time.monotonic()
        if self.running():
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        if self.running():
            self.killed = True
            self._note_descendants()  # a `hotline worker` that started over has a new scheduler process
            self.process.kill()
            self.process.wait(timeout=10)
        for pid, start_time in self._descendants:
            # Only the very process recorded, not a new one that reused its pid.
            if start_time is not None and proc_start_time(pid) == start_time:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()
        return time.monotonic() - started


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


# A busy RQ worker stops after its job, well within this; one still running after it is killed (and
# reported: before the fix in workers/rq_worker.py an idle worker served again on SIGTERM).
WORKER_STOP_GRACE = 5.0


def stop_children(children: list[Child]) -> dict[str, dict]:
    """Workers first (nothing may take jobs while the rest goes away), then gunicorn, then Redis."""
    outcome = {}
    groups = ([c for c in children if c.name.startswith("worker")], [c for c in children if c.name == "gunicorn"],
              [c for c in children if c.name == "redis"])
    for group, grace in zip(groups, (WORKER_STOP_GRACE, 20.0, 10.0), strict=True):
        for child in group:
            child.terminate()
        deadline = time.monotonic() + grace
        for child in group:
            outcome[child.name] = {"seconds": round(child.finish(deadline), 1), "killed": child.killed}
    return outcome


def start_private_redis(workdir: Path) -> tuple[Child, str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    child = Child("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                            "--dir", str(workdir)], dict(os.environ), workdir / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    def answers() -> bool:
        try:
            return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
        except Exception:
            return False

    wait_until(answers, 15, "the private redis-server")
    return child, url


# ------------------------------------------------------------------------- SMS API stand-in


@dataclass(frozen=True)
class ApiRequest:
    arrived: float  # time.time() once the body is read, the clock the POSTs are stamped with
    gateway: str
    recipient: str
    body: str


class SmsApiStandIn:
    """Answers as Twilio's and Africa's Talking's send-SMS APIs do, and notes when each request arrived.

    HTTP/1.1 with keep-alive, so the Twilio SDK's pooled connection is reused as it would be in
    production (the Africa's Talking SDK opens a connection per call whatever the server does).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._by_recipient: dict[str, list[ApiRequest]] = defaultdict(list)
        self.counts: Counter = Counter()
        self._next_id = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                stand_in._handle(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SmsApiStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests_to(self, recipient: str) -> list[ApiRequest]:
        with self._lock:
            return list(self._by_recipient.get(recipient, ()))

    def all_requests(self) -> dict[str, list[ApiRequest]]:
        with self._lock:
            return {recipient: list(found) for recipient, found in self._by_recipient.items()}

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        arrived = time.time()
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        gateway = "twilio" if handler.path.startswith("/twilio/") else "africastalking"
        recipient = form.get("To") or form.get("to") or ""
        with self._lock:
            self._next_id += 1
            number = self._next_id
            self._by_recipient[recipient].append(ApiRequest(arrived, gateway, recipient,
                                                            form.get("Body") or form.get("message") or ""))
            self.counts[gateway] += 1
        if gateway == "twilio":
            answer = {"sid": f"SM{number:032d}", "status": "queued", "to": recipient, "from": form.get("From"),
                      "body": form.get("Body"), "account_sid": TWILIO_SID}
        else:
            answer = {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [
                {"number": recipient, "cost": "XOF 25.0000", "statusCode": 101, "status": "Success",
                 "messageId": f"ATXid_{number:08d}"}]}}
        payload = json.dumps(answer).encode()
        handler.send_response(201)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


# ---------------------------------------------------------------------------------- traffic


@dataclass
class Caller:
    index: int
    phone: str
    answers: list[str]
    completes: bool  # sends the whole screening (a case), or stops early


@dataclass
class Message:
    caller: Caller
    step: int
    gateway_id: str
    offset: float  # seconds after the start of the load when it is due
    due: float = 0.0
    sent_at: float | None = None
    answered_at: float | None = None
    status: int | None = None
    error: str | None = None

    @property
    def final(self) -> bool:
        return self.caller.completes and self.step == SCREENING_STEPS - 1

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def build_traffic(rate: float, think: float, seconds: float, run_tag: str) -> tuple[list[Message], int]:
    """One message every 1/rate s, slot k going to lane k mod L (L = rate x think), so each caller
    answers every L/rate s. Lane l's first caller stops after l mod 10 answers: the lanes' full
    screenings then start at different steps, and the messages of each round are spread over every step."""
    lanes = max(1, round(rate * think))
    slots = int(rate * seconds)
    current: list[tuple[Caller, int] | None] = [None] * lanes
    first_in_lane = [True] * lanes
    messages: list[Message] = []
    next_caller = 0
    for slot in range(slots):
        lane = slot % lanes
        state = current[lane]
        if state is None or state[1] >= len(state[0].answers):
            full = screening_answers(next_caller)
            keep = lane % SCREENING_STEPS if first_in_lane[lane] else SCREENING_STEPS
            first_in_lane[lane] = False
            if keep == 0:
                keep = SCREENING_STEPS
            caller = Caller(next_caller, caller_phone(next_caller), full[:keep], keep == SCREENING_STEPS)
            next_caller += 1
            if next_caller >= PILOT_CALLER:
                raise ValueError("more callers than the phone block holds: lower --rate or --seconds")
            state = (caller, 0)
        caller, step = state
        messages.append(Message(caller, step, f"ATXid_e2e_{run_tag}_{caller.index}_{step}", slot / rate))
        current[lane] = (caller, step + 1)
    return messages, lanes


def at_sms_form(phone: str, text: str, gateway_id: str) -> dict[str, str]:
    """An incoming SMS as Africa's Talking posts it."""
    return {"from": phone, "to": SHORT_CODE, "text": text, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "id": gateway_id, "linkId": "link-" + gateway_id}


def post_form(port: int, path: str, form: dict[str, str], timeout: float = 30.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, urlencode(form).encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def post_scheduled_sms(message: Message, port: int, path: str) -> None:
    form = at_sms_form(message.caller.phone, message.caller.answers[message.step], message.gateway_id)
    message.sent_at = time.time()
    try:
        message.status = post_form(port, path, form)
    except OSError as error:
        message.error = type(error).__name__
    message.answered_at = time.time()


class CpuWindow:
    """CPU of every part, read at the start and the end of the measured window by a thread of its own."""

    def __init__(self, parts: dict[str, list[int]], redis_pid: int | None, window: tuple[float, float]):
        self.parts, self.redis_pid, self.window = parts, redis_pid, window
        self.samples: list[dict] = []
        self._thread = threading.Thread(target=self._run, name="cpu-window", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=max(0.0, self.window[1] - time.time()) + 5)

    def _sample(self) -> dict:
        return {
            "at": time.time(),
            "parts": {name: {pid: cpu for root in roots for pid, cpu in tree_cpu(root).items()}
                      for name, roots in self.parts.items()},
            "postgres": postgres_cpu(),
            "redis": {self.redis_pid: proc_cpu(self.redis_pid) or 0.0} if self.redis_pid else {},
            "self": sum(os.times()[:2]),
            "machine": machine_busy(),
        }

    def _run(self) -> None:
        for moment in self.window:
            time.sleep(max(0.0, moment - time.time()))
            self.samples.append(self._sample())

    def summary(self, messages_in_window: int) -> dict:
        if len(self.samples) < 2:
            return {}
        before, after = self.samples
        seconds = after["at"] - before["at"]

        def figures(cpu_seconds: float) -> dict:
            return {"cpu_seconds": round(cpu_seconds, 2), "cores": round(cpu_seconds / seconds, 3),
                    "ms_per_inbound_sms": round(cpu_seconds * 1000 / messages_in_window, 2)
                    if messages_in_window else None}

        result = {name: figures(delta(before["parts"][name], after["parts"][name])) for name in self.parts}
        result["postgresql"] = figures(delta(before["postgres"], after["postgres"]))
        result["redis"] = figures(delta(before["redis"], after["redis"]))
        result["benchmark_script"] = figures(after["self"] - before["self"])
        busy = (after["machine"][0] - before["machine"][0]) / CLK_TCK
        ours = sum(item["cpu_seconds"] for item in result.values())
        result["machine"] = {"busy_pct": round(100.0 * (after["machine"][0] - before["machine"][0])
                                               / max(1, after["machine"][1] - before["machine"][1]), 1),
                             "busy_cores": round(busy / seconds, 2),
                             # the kernel's network work, and other people's processes on this shared machine
                             "other_cores": round((busy - ours) / seconds, 2), "window_s": round(seconds, 1)}
        return result


class QueueDepths:
    """Jobs waiting in each RQ queue, sampled every ``interval`` s over the window: a backlog shows who waits."""

    def __init__(self, redis_url: str, window: tuple[float, float], interval: float = 0.5):
        self.redis_url, self.window, self.interval = redis_url, window, interval
        self.samples: dict[str, list[int]] = {name: [] for name in QUEUE_NAMES}
        self._thread = threading.Thread(target=self._run, name="queue-depths", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=max(0.0, self.window[1] - time.time()) + 5)

    def _run(self) -> None:
        from redis import Redis

        connection = Redis.from_url(self.redis_url)
        time.sleep(max(0.0, self.window[0] - time.time()))
        while time.time() < self.window[1]:
            for name in QUEUE_NAMES:
                self.samples[name].append(connection.llen(f"rq:queue:{name}"))
            time.sleep(self.interval)

    def summary(self) -> dict:
        return {name: {"mean": round(statistics.fmean(depths), 2) if depths else None,
                       "p95": percentile(sorted(depths), 95), "max": max(depths, default=None),
                       "empty_pct": round(100 * depths.count(0) / len(depths), 1) if depths else None}
                for name, depths in self.samples.items()}


def run_outcomes(redis_url: str, row_ids: list[int]) -> dict[int, list[str]]:
    """What the runner answered for each run of a durable row's first queue entry ("done", "skipped", ...).

    "skipped" means the runner found no pending row to claim: for a row that was then run and
    done, its queue entry ran before the transaction that wrote the row had committed, and only
    the reconciler's next pass pushed it again.
    """
    from redis import Redis
    from rq.job import Job

    connection = Redis.from_url(redis_url)
    outcomes = {}
    jobs = Job.fetch_many([f"hotline-job-{row}-0" for row in row_ids], connection=connection)
    for row, job in zip(row_ids, jobs, strict=True):
        if job is not None:
            outcomes[row] = [str(result.return_value) for result in reversed(job.results())]
    return outcomes


def skipped_runs_by_job(redis_url: str) -> dict[str, dict[str, int]]:
    """Over the whole run, per job name: queue entries run, and runs that found their row not claimable."""
    from redis import Redis
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    connection = Redis.from_url(redis_url)
    counts: dict[str, Counter] = defaultdict(Counter)
    for name in QUEUE_NAMES:
        ids = FinishedJobRegistry(name, connection=connection).get_job_ids()
        for job in Job.fetch_many(ids, connection=connection):
            if job is None:
                continue
            job_name = (job.description or "?").split(" (")[0]
            for result in job.results():
                counts[job_name]["runs"] += 1
                counts[job_name]["skipped"] += str(result.return_value) == "skipped"
    return {name: dict(found) for name, found in sorted(counts.items())}


# --------------------------------------------------------------------------------- database


class Database:
    """The benchmark's own read-only look at the hotline's tables (counts and timestamps only)."""

    def __init__(self, url: str, schema: str):
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute(f'SET search_path TO "{schema}"')

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()

    def alerts_due(self, references: list[str]) -> dict[str, int]:
        """Alert SMS the hotline wrote for each case (the number that must reach the SMS API)."""
        if not references:
            return {}
        rows = self.connection.execute(
            "SELECT c.reference, count(a.id) FROM cases c LEFT JOIN referrals r ON r.case_id = c.id "
            "LEFT JOIN alerts a ON a.referral_id = r.id WHERE c.reference = ANY(%s) GROUP BY c.reference",
            (references,)).fetchall()
        return dict(rows)

    def case_timings(self, references: list[str]) -> dict[str, dict]:
        rows = self.connection.execute(
            "SELECT c.reference, c.status, c.risk_level, c.created_at, j.created_at, j.due_at, j.started_at, "
            "j.finished_at, j.id, c.place_code FROM cases c LEFT JOIN durable_jobs j ON j.key = 'route_case:' || c.id "
            "WHERE c.reference = ANY(%s)", (references,)).fetchall()
        return {r[0]: {"status": r[1], "risk": r[2], "case_created": ts(r[3]), "route_created": ts(r[4]),
                       "route_due": ts(r[5]), "route_started": ts(r[6]), "route_finished": ts(r[7]),
                       "route_job": r[8], "place": r[9]} for r in rows}

    def message_timings(self, gateway_ids: list[str]) -> dict[str, dict]:
        rows = self.connection.execute(
            "SELECT m.gateway_message_id, m.received_at, j.started_at, j.finished_at FROM inbound_messages m "
            "LEFT JOIN durable_jobs j ON j.key = 'sms-in:' || m.id WHERE m.gateway_message_id = ANY(%s)",
            (gateway_ids,)).fetchall()
        return {r[0]: {"stored": ts(r[1]), "job_started": ts(r[2]), "job_finished": ts(r[3])} for r in rows}

    def alert_timings(self, references: list[str]) -> list[dict]:
        rows = self.connection.execute(
            "SELECT c.reference, r.role, o.id, o.created_at, o.sent_at, o.state, o.provider, j.created_at, j.due_at, "
            "j.started_at, j.id FROM alerts a JOIN referrals r ON r.id = a.referral_id "
            "JOIN cases c ON c.id = r.case_id "
            "JOIN outbound_messages o ON o.id = a.outbound_message_id "
            "LEFT JOIN durable_jobs j ON j.key = 'send_sms:' || o.id WHERE c.reference = ANY(%s)",
            (references,)).fetchall()
        return [{"reference": r[0], "role": r[1], "outbound_id": r[2], "written": ts(r[3]), "sent": ts(r[4]),
                 "state": r[5], "provider": r[6], "job_created": ts(r[7]), "job_due": ts(r[8]),
                 "job_started": ts(r[9]), "send_job": r[10]} for r in rows]

    def table_counts(self) -> dict[str, int]:
        return {table: self.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("inbound_messages", "outbound_messages", "cases", "referrals", "alerts",
                              "durable_jobs")}

    def job_states(self) -> dict[str, int]:
        rows = self.connection.execute("SELECT name || ':' || state, count(*) FROM durable_jobs GROUP BY 1").fetchall()
        return dict(rows)


def ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def prepare_schema(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(args.postgres, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{args.schema}"')
    for command in (["db", "upgrade"], ["providers", "import", "--demo"]):
        done = subprocess.run([str(VENV_BIN / "hotline"), *command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"hotline {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def drop_schema(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(args.postgres, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE')


def app_environment(args: argparse.Namespace, redis_url: str, api: SmsApiStandIn, instance: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "AT_", "TWILIO_", "DATABASE_URL", "REDIS_URL", "SMS_PROVIDERS"))}
    separator = "&" if "?" in args.postgres else "?"
    env.update({
        "HOTLINE_ENV": "production",
        "DATABASE_URL": f"{args.postgres}{separator}options={quote(f'-csearch_path={args.schema}')}",
        "REDIS_URL": redis_url,
        "HOTLINE_PII_KEY": Fernet.generate_key().decode(),
        "SECRET_KEY": "bench-" + os.urandom(24).hex(),
        # Alerts (no inbound gateway) take the first provider; replies the gateway the caller wrote through.
        "SMS_PROVIDERS": "twilio,africastalking",
        "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": os.urandom(16).hex(), "TWILIO_FROM": "+15005550006",
        "TWILIO_API_URL": api.url + "/twilio",
        "AT_USERNAME": "hotline-bench", "AT_API_KEY": os.urandom(16).hex(), "AT_SENDER_ID": "HOTLINE",
        "AT_API_URL": api.url + "/africastalking/version1",
        "AT_WEBHOOK_TOKEN": args.token,
        "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
        "HOTLINE_INSTANCE_PATH": str(instance),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


# --------------------------------------------------------------------------------- analysis


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(p / 100.0 * len(sorted_values))) - 1]


def distribution(values_ms: list[float]) -> dict:
    ordered = sorted(values_ms)
    return {"count": len(ordered), "p50": percentile(ordered, 50), "p95": percentile(ordered, 95),
            "p99": percentile(ordered, 99), "max": ordered[-1] if ordered else None,
            "mean": statistics.fmean(ordered) if ordered else None}


def references_in(text: str) -> set[str]:
    return set(REFERENCE_RE.findall(text))


@dataclass
class Matched:
    """Replies paired with the messages they answer, and alert arrivals by case reference."""

    reply_at: dict[str, float] = field(default_factory=dict)  # gateway id -> reply arrival
    reference_of: dict[str, str | None] = field(default_factory=dict)  # final gateway id -> case reference
    alerts_at: dict[str, list[float]] = field(default_factory=dict)  # reference -> alert arrivals


def match(messages: list[Message], api: SmsApiStandIn, caller_phones: set[str]) -> Matched:
    """Pair the k-th accepted SMS of a caller with the k-th reply to that number: the send job sends
    one number's messages in the order they were written, and each SMS gets one reply."""
    found = api.all_requests()
    result = Matched()
    by_caller: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        if message.accepted:
            by_caller[message.caller.phone].append(message)
    for phone, sent in by_caller.items():
        replies = sorted(found.get(phone, ()), key=lambda request: request.arrived)
        for message, reply in zip(sorted(sent, key=lambda m: m.step), replies, strict=False):
            result.reply_at[message.gateway_id] = reply.arrived
            if message.final:
                refs = references_in(reply.body)
                result.reference_of[message.gateway_id] = next(iter(refs)) if len(refs) == 1 else None
    wanted = {ref for ref in result.reference_of.values() if ref}
    alerts: dict[str, list[float]] = defaultdict(list)
    for recipient, requests in found.items():
        if recipient in caller_phones:
            continue
        for request in requests:
            for ref in references_in(request.body) & wanted:
                alerts[ref].append(request.arrived)
    result.alerts_at = {ref: sorted(times) for ref, times in alerts.items()}
    return result


def outstanding(measured: list[Message], matched: Matched, db: Database) -> tuple[int, int, dict[str, int]]:
    """(replies not yet at the API, alerts not yet at the API, alerts due per case) for the measured SMS."""
    replies_missing = sum(1 for m in measured if m.accepted and m.gateway_id not in matched.reply_at)
    references = [ref for m in measured if m.final and (ref := matched.reference_of.get(m.gateway_id))]
    due = db.alerts_due(references)
    alerts_missing = sum(max(0, due.get(ref, 0) - len(matched.alerts_at.get(ref, ()))) for ref in references)
    # A case with no alert written yet (routing not done) is missing at least one.
    alerts_missing += sum(1 for ref in references if due.get(ref, 0) == 0)
    return replies_missing, alerts_missing, due


STAGES = (
    ("webhook: POST sent -> SMS stored", "post", "stored"),
    ("queue: SMS stored -> process_caller_sms job started", "stored", "process_started"),
    ("conversation step: job started -> case opened", "process_started", "case_created"),
    ("commit + queue: case opened -> route_case job started", "case_created", "route_started"),
    ("routing: route_case started -> alert SMS written", "route_started", "alert_written"),
    ("commit + queue: alert written -> its send_sms job started", "alert_written", "send_started"),
    ("send: send_sms started -> request at the SMS API", "send_started", "arrived"),
)


def alert_breakdown(finals: list[Message], matched: Matched, db: Database, redis_url: str) -> dict:
    """Where an alert's time goes, stage by stage, from the durable job rows' timestamps.

    Alerts are paired with API arrivals per case in time order, and per case the rows in the order
    their send jobs started; an alert that an earlier send job to the same number took along (one
    number's SMS leave in order, one job at a time) has no send stage of its own and is counted apart.
    """
    references = {m.gateway_id: matched.reference_of.get(m.gateway_id) for m in finals}
    refs = [ref for ref in references.values() if ref]
    cases = db.case_timings(refs)
    inbound = db.message_timings([m.gateway_id for m in finals])
    rows_by_ref: dict[str, list[dict]] = defaultdict(list)
    for row in db.alert_timings(refs):
        rows_by_ref[row["reference"]].append(row)
    route_jobs = [case["route_job"] for case in cases.values() if case["route_job"]]
    send_jobs = [row["send_job"] for rows in rows_by_ref.values() for row in rows if row["send_job"]]
    outcomes = run_outcomes(redis_url, route_jobs + send_jobs)

    def ran_early(row_id: int | None) -> bool:
        return row_id is not None and "skipped" in outcomes.get(row_id, [])

    early_totals: list[float] = []
    stage_ms: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    taken_along = 0
    scheduled_delays: list[float] = []
    roles: Counter = Counter()
    providers: Counter = Counter()
    states: Counter = Counter()
    for message in finals:
        ref = references.get(message.gateway_id)
        if not ref or ref not in cases:
            continue
        case, stored = cases[ref], inbound.get(message.gateway_id, {})
        if case["route_due"] is not None and case["route_created"] is not None:
            scheduled_delays.append(case["route_due"] - case["route_created"])
        rows = sorted(rows_by_ref.get(ref, []), key=lambda row: row["sent"] or math.inf)
        arrivals = matched.alerts_at.get(ref, [])
        for row, arrived in zip(rows, arrivals, strict=False):
            roles[row["role"]] += 1
            providers[row["provider"]] += 1
            states[row["state"]] += 1
            if row["job_due"] is not None and row["job_created"] is not None:
                scheduled_delays.append(row["job_due"] - row["job_created"])
            own_job = row["job_started"] is not None and row["job_started"] <= arrived
            taken_along += not own_job
            points = {"post": message.sent_at, "stored": stored.get("stored"),
                      "process_started": stored.get("job_started"), "case_created": case["case_created"],
                      "route_started": case["route_started"], "alert_written": row["written"],
                      "send_started": row["job_started"] if own_job else None, "arrived": arrived}
            totals.append((arrived - message.sent_at) * 1000)
            if ran_early(case["route_job"]) or ran_early(row["send_job"]):
                early_totals.append(totals[-1])
            for label, start, end in STAGES:
                if points[start] is not None and points[end] is not None:
                    stage_ms[label].append((points[end] - points[start]) * 1000)
    mean_total = statistics.fmean(totals) if totals else None
    stages = []
    for label, _, _ in STAGES:
        figures = distribution(stage_ms.get(label, []))
        figures["stage"] = label
        figures["share_of_mean_total_pct"] = (round(100 * figures["mean"] / mean_total, 1)
                                              if figures["mean"] is not None and mean_total else None)
        stages.append(figures)
    return {"stages": stages, "total": distribution(totals), "alerts_taken_along_by_an_earlier_send_job": taken_along,
            "route_case_jobs": len(route_jobs),
            "route_case_run_before_its_row_was_committed": sum(map(ran_early, route_jobs)),
            "alert_send_jobs": len(send_jobs),
            "alert_send_run_before_its_row_was_committed": sum(map(ran_early, send_jobs)),
            "alerts_delayed_by_an_early_run": distribution(early_totals),
            "alert_roles": dict(roles), "alert_providers": dict(providers), "alert_states": dict(states),
            "max_scheduled_delay_ms": round(max(scheduled_delays) * 1000, 1) if scheduled_delays else None}


def analyse(messages: list[Message], measured: list[Message], matched: Matched, due: dict[str, int],
            window_s: float) -> dict:
    webhook_ms = [(m.answered_at - m.sent_at) * 1000 for m in measured if m.accepted]
    reply_ms = [(matched.reply_at[m.gateway_id] - m.sent_at) * 1000 for m in measured
                if m.gateway_id in matched.reply_at]
    each_alert, first_alert, last_alert = [], [], []
    finals = [m for m in measured if m.final]
    for message in finals:
        ref = matched.reference_of.get(message.gateway_id)
        arrivals = matched.alerts_at.get(ref, []) if ref else []
        if arrivals:
            latencies = [(at - message.sent_at) * 1000 for at in arrivals]
            each_alert += latencies
            first_alert.append(min(latencies))
            if len(arrivals) >= due.get(ref, 0):
                last_alert.append(max(latencies))
    statuses = Counter(str(m.status) for m in measured if m.status is not None and not m.accepted)
    transport = Counter(m.error for m in measured if m.error)
    references = [ref for m in finals if (ref := matched.reference_of.get(m.gateway_id))]
    errors = {
        "webhook_non_2xx": sum(statuses.values()), "webhook_non_2xx_by_status": dict(statuses),
        "webhook_no_answer": sum(transport.values()), "webhook_no_answer_by_kind": dict(transport),
        "replies_missing": sum(1 for m in measured if m.accepted and m.gateway_id not in matched.reply_at),
        "final_replies_without_a_reference": sum(1 for m in finals if m.gateway_id in matched.reply_at
                                                 and not matched.reference_of.get(m.gateway_id)),
        "cases_without_an_alert_written": sum(1 for ref in references if due.get(ref, 0) == 0),
        "alerts_missing": sum(max(0, due.get(ref, 0) - len(matched.alerts_at.get(ref, ()))) for ref in references),
    }
    errors["total"] = sum(v for k, v in errors.items() if not k.endswith("by_status") and not k.endswith("by_kind"))
    lags = sorted((m.sent_at - m.due) * 1000 for m in measured if m.sent_at is not None)
    # Open loop: a caller's next SMS leaves on time even if the previous reply has not come yet.
    overtaken = 0
    by_gateway_id = {m.gateway_id: m for m in messages}
    for message in measured:
        previous = by_gateway_id.get(message.gateway_id.rpartition("_")[0] + f"_{message.step - 1}")
        if message.step and previous is not None and message.sent_at is not None:
            reply = matched.reply_at.get(previous.gateway_id)
            overtaken += reply is None or reply > message.sent_at
    alerts_per_case = Counter(len(matched.alerts_at.get(ref, ())) for ref in references)
    return {
        "traffic": {
            "sms_posted_in_window": sum(1 for m in measured if m.sent_at is not None),
            "achieved_rate_per_s": round(sum(1 for m in measured if m.sent_at is not None) / window_s, 2),
            "final_sms_in_window": len(finals), "cases_in_window": len(references),
            "callers_in_window": len({m.caller.index for m in measured}),
            "alerts_in_window": len(each_alert),
            "alerts_per_case": {str(k): v for k, v in sorted(alerts_per_case.items())},
            "generator_lag_ms": {"p50": percentile(lags, 50), "p99": percentile(lags, 99),
                                 "max": lags[-1] if lags else None},
            "sms_sent_before_the_previous_reply_came": overtaken,
        },
        "latency_ms": {"webhook_answer": distribution(webhook_ms), "reply": distribution(reply_ms),
                       "alert_each": distribution(each_alert), "alert_first_of_case": distribution(first_alert),
                       "alert_last_of_case": distribution(last_alert)},
        "errors": errors,
        "raw_ms": {"reply": [round(x, 1) for x in reply_ms], "alert_each": [round(x, 1) for x in each_alert]},
    }


def started_over(worker: Child) -> bool:
    """An RQ worker asked to stop that began a new generation instead of exiting."""
    log = worker.log_path.read_text(errors="replace")
    asked = log.find("warm shut down requested")
    return asked != -1 and " started with PID " in log[asked:]


def log_problems(children: list[Child]) -> dict[str, dict]:
    found = {}
    for child in children:
        with contextlib.suppress(OSError):
            lines = child.log_path.read_text(errors="replace").splitlines()
            serious = [line for line in lines if "Traceback" in line or " ERROR " in line or "[ERROR]" in line
                       or "WORKER TIMEOUT" in line or "CRITICAL" in line]
            warnings = [line for line in lines if " WARNING " in line or "[WARNING]" in line]
            found[child.name] = {"errors": len(serious), "warnings": len(warnings), "first": (serious + warnings)[:5]}
    return found


# ----------------------------------------------------------------------------------- report


def fmt(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{1 if digits == 0 and abs(value) < 10 else digits}f}"
    return f"{value:,}"


def tables(report: dict) -> str:
    lat, traffic, errors = report["latency_ms"], report["traffic"], report["errors"]
    settings, goal = report["settings"], report["goal"]
    lines = [
        f"**Goal (alert p95 under {GOAL_ALERT_P95_MS / 1000:.0f} s, and no errors): "
        f"{'met' if goal['met'] else 'NOT met'}** "
        f"(p95 of each alert {fmt(goal['alert_p95_ms'])} ms; errors {errors['total']}).",
        "",
        f"Offered {settings['rate']:g} SMS/s for a {settings['seconds']:g} s window after {settings['warmup']:g} s "
        f"of warm-up; {traffic['sms_posted_in_window']:,} SMS posted in the window "
        f"({traffic['achieved_rate_per_s']:g}/s) by {traffic['callers_in_window']:,} callers "
        f"({settings['lanes']} at a time, one answer every {settings['caller_gap_s']:g} s each), "
        f"{traffic['cases_in_window']:,} cases and {traffic['alerts_in_window']:,} alerts "
        f"(alerts per case: {', '.join(f'{k}: {v}' for k, v in traffic['alerts_per_case'].items()) or '-'}). "
        f"Generator lag p99 {fmt(traffic['generator_lag_ms']['p99'])} ms, "
        f"max {fmt(traffic['generator_lag_ms']['max'])} ms; SMS sent before the caller's previous reply had come: "
        f"{traffic['sms_sent_before_the_previous_reply_came']}.",
        "",
        "| latency (ms) | count | p50 | p95 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = (("reply: POST sent -> reply SMS request at the API", "reply"),
            ("alert: final POST sent -> each alert request at the API", "alert_each"),
            ("alert: final POST sent -> first alert of the case", "alert_first_of_case"),
            ("alert: final POST sent -> last alert of the case", "alert_last_of_case"),
            ("webhook answer: POST sent -> 200 (context)", "webhook_answer"))
    for label, key in rows:
        d = lat[key]
        lines.append(f"| {label} | {d['count']:,} | {fmt(d['p50'])} | {fmt(d['p95'])} | {fmt(d['p99'])} | "
                     f"{fmt(d['max'])} |")
    lines += ["", "| errors | count |", "| --- | ---: |"]
    labels = (("webhook answers not 2xx", "webhook_non_2xx"), ("webhook POSTs with no answer", "webhook_no_answer"),
              (f"replies missing after {settings['grace']:g} s", "replies_missing"),
              ("final replies without a case reference", "final_replies_without_a_reference"),
              ("cases with no alert written", "cases_without_an_alert_written"),
              (f"alerts missing after {settings['grace']:g} s", "alerts_missing"))
    lines += [f"| {label} | {errors[key]:,} |" for label, key in labels]
    problems = report.get("log_problems", {})
    lines.append(f"| error lines in server/worker logs (warnings) | {sum(p['errors'] for p in problems.values())} "
                 f"({sum(p['warnings'] for p in problems.values())}) |")
    cpu = report.get("cpu", {})
    if cpu:
        lines += ["", "| CPU over the window | cores | ms per inbound SMS |", "| --- | ---: | ---: |"]
        names = (("gunicorn (master + workers)", "gunicorn"),
                 ("RQ workers (with their scheduler process)", "rq_workers"),
                 ("PostgreSQL (every postgres process on the machine)", "postgresql"),
                 ("Redis (private)", "redis"), ("this script (load generator + SMS API stand-in)", "benchmark_script"))
        for label, key in names:
            lines.append(f"| {label} | {fmt(cpu[key]['cores'], 2)} | {fmt(cpu[key]['ms_per_inbound_sms'], 2)} |")
        m = cpu["machine"]
        lines.append(f"| machine: {m['busy_pct']}% busy of {report['machine']['usable_cpus']} CPUs; "
                     f"other processes and the kernel | {fmt(m['other_cores'], 2)} | |")
    breakdown = report.get("alert_breakdown")
    if breakdown and breakdown["total"]["count"]:
        lines += ["", "Where an alert's time goes (from the durable job rows' timestamps; shares of the mean total):",
                  "", "| stage | count | p50 ms | p95 ms | mean ms | share |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for stage in breakdown["stages"]:
            share = stage["share_of_mean_total_pct"]
            lines.append(f"| {stage['stage']} | {stage['count']:,} | {fmt(stage['p50'])} | {fmt(stage['p95'])} | "
                         f"{fmt(stage['mean'])} | {'-' if share is None else f'{share}%'} |")
        total = breakdown["total"]
        lines.append(f"| total: final POST sent -> alert request at the API | {total['count']:,} | "
                     f"{fmt(total['p50'])} | {fmt(total['p95'])} | {fmt(total['mean'])} | 100% |")
        largest = max((st for st in breakdown["stages"] if st["share_of_mean_total_pct"] is not None),
                      key=lambda st: st["share_of_mean_total_pct"], default=None)
        if largest is not None:
            lines += ["", f"Largest share of an alert's time: {largest['stage']} "
                      f"({largest['share_of_mean_total_pct']}% of the mean)."]
        early = breakdown["alerts_delayed_by_an_early_run"]
        lines += ["", f"Queue entries run before the transaction that wrote their job row had committed (the runner "
                  f"found nothing to claim; the row then waited for the reconciler's next pass, or for a later "
                  f"send job to the same number to take it along): route_case "
                  f"{breakdown['route_case_run_before_its_row_was_committed']} of {breakdown['route_case_jobs']}, "
                  f"alert send_sms {breakdown['alert_send_run_before_its_row_was_committed']} of "
                  f"{breakdown['alert_send_jobs']}; the {early['count']} alerts they held back took p50 "
                  f"{fmt(early['p50'])} ms, max {fmt(early['max'])} ms. Alerts sent by an earlier send job to the "
                  "same number (no send stage of their own): "
                  f"{breakdown['alerts_taken_along_by_an_earlier_send_job']}. "
                  f"Largest scheduled delay of a route_case or alert send_sms row (due_at - created_at): "
                  f"{fmt(breakdown['max_scheduled_delay_ms'])} ms."]
    depths = report.get("queue_depths")
    if depths:
        lines += ["", "| RQ queue, jobs waiting (sampled every 0.5 s in the window) | mean | p95 | max | empty |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {name} | {fmt(d['mean'], 1)} | {fmt(d['p95'])} | {fmt(d['max'])} | "
                  f"{fmt(d['empty_pct'], 0)}% |" for name, d in depths.items()]
    runs = report.get("queue_runs_by_job")
    if runs:
        lines += ["", "| queue entries run over the whole run, by job | runs | found their row not claimable |",
                  "| --- | ---: | ---: |"]
        lines += [f"| {name} | {c.get('runs', 0):,} | {c.get('skipped', 0):,} |" for name, c in runs.items()]
    if "workers_that_started_over_on_sigterm" in report:
        stopping = report["stopping"]
        lines += ["", f"Stopping: {report['workers_that_started_over_on_sigterm']} of {settings['rq_workers']} "
                  f"`hotline worker` processes were still running after SIGTERM (killed after "
                  f"{WORKER_STOP_GRACE:g} s); "
                  + ", ".join(f"{name} {item['seconds']:g} s{' (killed)' if item['killed'] else ''}"
                              for name, item in stopping.items()) + "."]
    return "\n".join(lines)


def write_doc(report: dict, table_text: str) -> None:
    m, s = report["machine"], report["settings"]
    section = "\n".join([
        DOC_BEGIN,
        "## End to end: inbound SMS to the reply and the referral alert at the SMS API",
        "",
        "Generated by `bench/bench_e2e_sms.py`; regenerate with:",
        "",
        "```sh",
        report["command"],
        "```",
        "",
        f"Run of {report['finished_at']} ({report['run_seconds']:.0f} s run) at commit {m['git_head']} on "
        f"{m['nproc']} CPUs ({m['usable_cpus']} usable), Python {m['python']}, {m['gunicorn']}, "
        f"PostgreSQL {m['postgresql']}, Redis {m['redis']} (a private server), RQ {m['rq']}, twilio SDK "
        f"{m['twilio']}, africastalking SDK {m['africastalking']}; load average before the run "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_before'])}"
        + (f" (machine {m['busy_pct_before']}% busy just before)" if m.get("busy_pct_before") is not None else "")
        + f". `gunicorn -w {s['web_workers']} -k sync "
        f"'hotline:create_app()'` and {s['rq_workers']} `hotline worker` processes, `HOTLINE_ENV=production`, "
        f"PostgreSQL schema `{s['schema']}` (fresh, `hotline db upgrade`, `hotline providers import --demo`). "
        "Callers post Africa's Talking inbound SMS forms (`?token=` checked) at a fixed spacing, open loop; each "
        "screens in French to a critical case in a quarter of Bamako (10 SMS). Replies leave through the Africa's "
        "Talking SDK, alerts through the Twilio SDK, both pointed at a local stand-in for the SMS APIs (in the "
        "benchmark's process) that stamps each request's arrival. Latency counts from the POST being sent. The "
        "machine is shared and noisy: other people's work runs beside this one. Figures in JSON: "
        "`bench/results/e2e_sms.json` (git-ignored).",
        "",
        table_text,
        DOC_END,
    ])
    # Read just before writing: other benchmarks write their own sections of this file.
    text = DOC.read_text() if DOC.exists() else ("# Performance\n\nEach section below is generated by the "
                                                  "benchmark script it names; do not edit the sections by hand.\n")
    start, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(DOC_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def machine_note(args: argparse.Namespace, redis_url: str, load_before: tuple[float, float, float]) -> dict:
    from importlib.metadata import version

    import psycopg
    from redis import Redis

    with psycopg.connect(args.postgres) as connection:
        pg_version = connection.execute("SHOW server_version").fetchone()[0]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    gunicorn = subprocess.run([str(VENV_BIN / "gunicorn"), "--version"], capture_output=True, text=True)
    return {
        "git_head": head.stdout.strip() or "unknown", "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
        "platform": platform.platform(), "gunicorn": gunicorn.stdout.strip(), "postgresql": pg_version,
        "redis": Redis.from_url(redis_url).info("server").get("redis_version"), "rq": version("rq"),
        "twilio": version("twilio"), "africastalking": version("africastalking"),
        "load_average_before": load_before,
    }


# ------------------------------------------------------------------------------------- run


def pilot_screening(port: int, path: str, api: SmsApiStandIn, db: Database) -> dict:
    """One caller screened step by step: the path still ends in a case whose alerts reach the API."""
    started = time.monotonic()
    caller = Caller(PILOT_CALLER, caller_phone(PILOT_CALLER), screening_answers(0), True)
    for step, text in enumerate(caller.answers):
        status = post_form(port, path, at_sms_form(caller.phone, text, f"ATXid_e2e_pilot_{os.getpid()}_{step}"))
        if status != 200:
            raise RuntimeError(f"pilot: the SMS webhook answered {status} to step {step}")
        wait_until(lambda n=step + 1: len(api.requests_to(caller.phone)) >= n, 60, f"the reply to pilot step {step}",
                   0.02)
    refs = references_in(api.requests_to(caller.phone)[-1].body)
    if len(refs) != 1:
        raise RuntimeError("pilot: the last reply carries no case reference (the flow or the answers changed?)")
    reference = refs.pop()
    case = db.case_timings([reference]).get(reference) or {}
    if case.get("risk") != "critical" or not (case.get("place") or "").startswith("bamako"):
        raise RuntimeError(f"pilot: the case is {case.get('risk')!r} at {case.get('place')!r}, not critical in "
                           "Bamako (the flow, the gazetteer or the answers changed?)")
    # Its alerts are not awaited: the load's own cases measure them.
    return {"sms": len(caller.answers), "seconds": round(time.monotonic() - started, 1)}


def run_load(args: argparse.Namespace, port: int, path: str, api: SmsApiStandIn, db: Database,
             cpu_parts: dict[str, list[int]], redis_pid: int | None, redis_url: str) -> dict:
    messages, lanes = build_traffic(args.rate, args.think, args.warmup + args.seconds, f"{os.getpid()}")
    start = time.time() + 1.0
    for message in messages:
        message.due = start + message.offset
    window = (start + args.warmup, start + args.warmup + args.seconds)
    measured = [m for m in messages if window[0] <= m.due < window[1]]
    cpu = CpuWindow(cpu_parts, redis_pid, window)
    cpu.start()
    depths = QueueDepths(redis_url, window)
    depths.start()
    caller_phones = {m.caller.phone for m in messages}
    print(f"load: {len(messages):,} SMS from {len({m.caller.index for m in messages}):,} callers over "
          f"{args.warmup + args.seconds:.0f} s ({lanes} lanes; measured window {args.seconds:.0f} s after "
          f"{args.warmup:.0f} s)", flush=True)
    executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="post")
    try:
        next_note = start + 10
        for message in messages:
            delay = message.due - time.time()
            if delay > 0:
                time.sleep(delay)
            executor.submit(post_scheduled_sms, message, port, path)
            if time.time() >= next_note:
                next_note += 10
                posted = [m for m in messages if m.answered_at is not None]
                bad = sum(1 for m in posted if not m.accepted)
                print(f"  {time.time() - start:5.0f} s: {len(posted):,} SMS answered by the webhook ({bad} not 2xx), "
                      f"{sum(api.counts.values()):,} requests at the SMS API", flush=True)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    cpu.join()
    depths.join()
    last_post = time.time()
    # Late replies and alerts still count if they come within the grace period.
    while True:
        matched = match(messages, api, caller_phones)
        replies_missing, alerts_missing, due = outstanding(measured, matched, db)
        if (replies_missing == 0 and alerts_missing == 0) or time.time() - last_post > args.grace:
            break
        time.sleep(0.25)
    drained_s = time.time() - last_post
    print(f"after the last POST: {drained_s:.1f} s until every reply and alert had come "
          f"(or the {args.grace:g} s grace ran out); {replies_missing} replies and {alerts_missing} alerts missing",
          flush=True)
    result = analyse(messages, measured, matched, due, args.seconds)
    result["cpu"] = cpu.summary(result["traffic"]["sms_posted_in_window"])
    result["alert_breakdown"] = alert_breakdown([m for m in measured if m.final], matched, db, redis_url)
    result["queue_depths"] = depths.summary()
    result["queue_runs_by_job"] = skipped_runs_by_job(redis_url)
    result["traffic"]["seconds_after_last_post_until_settled"] = round(drained_s, 1)
    result["traffic"]["sms_posted_total"] = sum(1 for m in messages if m.sent_at is not None)
    result["traffic"]["api_requests_by_gateway"] = dict(api.counts)
    result["settings_effective"] = {"lanes": lanes, "caller_gap_s": round(lanes / args.rate, 3)}
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="inbound SMS per second, all callers together")
    parser.add_argument("--seconds", type=float, default=None, help="measured window (default 60; --quick 10)")
    parser.add_argument("--think", type=float, default=None,
                        help="seconds between one caller's SMS (default 4; --quick 1.5)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before the window (default: 9 x think + 5, so screenings finish in it)")
    parser.add_argument("--grace", type=float, default=None,
                        help="seconds to wait for late replies and alerts after the last POST (default 45, beyond "
                             "one reconciler pass; --quick 8)")
    parser.add_argument("--quick", action="store_true", help="a smoke run under a minute")
    parser.add_argument("--quiet-wait", type=float, default=None, metavar="SECONDS",
                        help="first wait up to this long for the machine to be under 30%% busy (default 60; --quick 0)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--rq-workers", type=int, default=2, help="`hotline worker` processes")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="bench_e2e_sms")
    parser.add_argument("--token", default="bench-" + os.urandom(8).hex(), help="AT_WEBHOOK_TOKEN")
    parser.add_argument("--keep-schema", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    args.seconds = args.seconds if args.seconds is not None else (10.0 if args.quick else 60.0)
    args.think = args.think if args.think is not None else (1.5 if args.quick else 4.0)
    args.grace = args.grace if args.grace is not None else (8.0 if args.quick else 45.0)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0.0 if args.quick else 60.0)
    if args.warmup is None:
        args.warmup = (SCREENING_STEPS - 1) * args.think + (1.0 if args.quick else 5.0)
    if not 0 < args.rate <= 500 or not 1 <= args.seconds <= 600 or not 0.5 <= args.think <= 60:
        parser.error("--rate 0-500, --seconds 1-600, --think 0.5-60")
    if not 1 <= args.web_workers <= 16 or not 1 <= args.rq_workers <= 16:
        parser.error("--web-workers and --rq-workers 1-16")
    if "127.0.0.1" not in args.postgres and "localhost" not in args.postgres:
        parser.error("this benchmark only targets 127.0.0.1")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.schema):
        parser.error("--schema must be a plain lower-case identifier")
    return args


def stop_on_signal(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    began = time.monotonic()
    args = parse_args(argv)
    busy_before = wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
    load_before = os.getloadavg()
    given = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python bench/bench_e2e_sms.py", *given])
    # Set explicitly: a shell starting this in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-e2e-sms-"))
    children: list[Child] = []
    api: SmsApiStandIn | None = None
    db: Database | None = None
    schema_made = False
    try:
        redis, redis_url = start_private_redis(workdir)
        children.append(redis)
        api = SmsApiStandIn().start()
        env = app_environment(args, redis_url, api, workdir / "instance")
        machine = machine_note(args, redis_url, load_before)
        machine["busy_pct_before"] = busy_before
        print(f"schema {args.schema}: fresh; hotline db upgrade; hotline providers import --demo ...", flush=True)
        schema_made = True
        prepare_schema(args, env)
        port = free_port()
        gunicorn = Child("gunicorn", [str(VENV_BIN / "gunicorn"), "-w", str(args.web_workers), "-k", "sync",
                                      "--no-control-socket", "-b", f"127.0.0.1:{port}", "hotline:create_app()"],
                         env, workdir / "gunicorn.log")
        children.append(gunicorn)
        workers = [Child(f"worker-{n}", [str(VENV_BIN / "hotline"), "worker", "--name", f"e2e-sms-{os.getpid()}-{n}"],
                         env, workdir / f"worker-{n}.log") for n in range(1, args.rq_workers + 1)]
        children += workers

        def healthy() -> bool:
            if not gunicorn.running():
                raise RuntimeError(f"gunicorn exited:\n{gunicorn.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                    return answer.status == 200 and len(child_pids(gunicorn.pid)) >= args.web_workers
            except OSError:
                return False

        wait_until(healthy, 60, "gunicorn to answer /healthz")
        from redis import Redis
        from rq import Worker

        def workers_up() -> bool:
            for worker in workers:
                if not worker.running():
                    raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
            return Worker.count(connection=Redis.from_url(redis_url)) >= args.rq_workers

        wait_until(workers_up, 60, "the RQ workers to register")
        db = Database(args.postgres, args.schema)
        path = f"{SMS_PATH}?token={quote(args.token)}"
        pilot = pilot_screening(port, path, api, db)
        print(f"pilot screening: {pilot['sms']} SMS to a critical case in Bamako, {pilot['seconds']} s; "
              f"hotline on :{port}, {args.rq_workers} RQ workers, private Redis", flush=True)
        cpu_parts = {"gunicorn": [gunicorn.pid], "rq_workers": [w.pid for w in workers]}
        result = run_load(args, port, path, api, db, cpu_parts, redis.pid, redis_url)
        alert_p95 = result["latency_ms"]["alert_each"]["p95"]
        report = {
            "command": command, "machine": machine,
            "settings": {"rate": args.rate, "seconds": args.seconds, "warmup": args.warmup, "think": args.think,
                         "grace": args.grace, "web_workers": args.web_workers, "rq_workers": args.rq_workers,
                         "schema": args.schema, "quick": args.quick, "webhook": SMS_PATH + "?token=...",
                         "sms_providers": env["SMS_PROVIDERS"], **result.pop("settings_effective")},
            "pilot": pilot,
            "goal": {"alert_p95_ms_max": GOAL_ALERT_P95_MS, "alert_p95_ms": alert_p95,
                     "met": alert_p95 is not None and alert_p95 < GOAL_ALERT_P95_MS and result["errors"]["total"] == 0},
            **result,
            "rows_after": db.table_counts(), "job_states_after": db.job_states(),
        }
        report["stopping"] = stop_children(children)
        report["workers_that_started_over_on_sigterm"] = sum(map(started_over, workers))
        report["log_problems"] = log_problems(children)
        report["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        report["run_seconds"] = round(time.monotonic() - began, 1)
        text = tables(report)
        print()
        print(text)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nwrote {RESULTS.relative_to(ROOT)}", end="")
        if not args.no_doc:
            write_doc(report, text)
            print(f" and {DOC.relative_to(ROOT)}", end="")
        print(f"; run time {report['run_seconds']:.0f} s (before teardown)")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping what was started", file=sys.stderr)
        return 130
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        if db is not None:
            db.close()
        # Workers first, so nothing consumes jobs while the web server and Redis go away.
        with contextlib.suppress(Exception):
            stop_children(children)
        if schema_made and not args.keep_schema:
            with contextlib.suppress(Exception):
                drop_schema(args)
        if api is not None:
            api.stop()
        for child in children:  # the logs hold ids and counts, never numbers or texts
            with contextlib.suppress(OSError):
                RESULTS_DIR.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(child.log_path, RESULTS_DIR / f"e2e_sms.{child.name}.log")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
