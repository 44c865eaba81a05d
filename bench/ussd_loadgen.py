"""Load generator for bench_ussd_load.py: simulated USSD callers against one server, in its own process.

Not meant to be run by hand: bench_ussd_load.py starts it as
``python bench/ussd_loadgen.py CONFIG_JSON`` and reads one JSON document from its standard output.

The client is a minimal HTTP/1.1 client on asyncio (standard library only): every hop opens a TCP
connection, writes one pre-built ``POST`` with ``Connection: close`` and reads the answer until the
server closes it (see ``Client`` for why connect and write are blocking calls). gunicorn's sync
workers close the connection after each answer anyway, so this is what any client does against
them, and it keeps the generator's own CPU per hop low (the orchestrator reads that CPU so a run can
show the generator was not the bottleneck).

Two modes:

- ``closed``: C callers, each sending its next hop as soon as the answer to the previous one came
  back, a new session (new sessionId and phone number) after the last hop of each.
- ``open``: hops arrive at a fixed mean rate whatever the server does (Poisson or evenly spaced
  arrivals). Each arrival is the next hop of the caller who has been ready longest (a caller is
  ready a think time after the answer to its previous hop) or, when nobody is ready, a new caller
  dialling. Latency is counted from the arrival's scheduled time, so a late generator or a queue in
  the server both show up in it (no coordinated omission).

Every loop is bounded in time (``deadline``) and in count (``max_hops``); only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import json
import os
import random
import socket
import struct
import sys
import time
from urllib.parse import urlencode

HOST = "127.0.0.1"


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """Minimal HTTP/1.1 client: one connection per request, ``Connection: close``.

    The request is written in the same step as the connect: on loopback the handshake of a
    non-blocking connect is complete when the call returns (if the server's accept queue has room),
    so a sync worker that accepts the connection finds the whole request there instead of waiting
    for this process's event loop to come round to writing it (that wait would be the generator's
    delay counted as the server's). When the handshake is not complete (a full accept queue), it
    waits for it without blocking the loop. The answer is read until the server closes. The socket
    is closed with an RST (SO_LINGER 0) so neither side keeps it in TIME_WAIT: tens of thousands of
    connections a minute would otherwise exhaust the ephemeral ports.
    """

    def __init__(self, port: int, path: str, timeout: float):
        self.address = (HOST, port)
        self.timeout = timeout
        self.head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n").encode()
        self.loop = asyncio.get_running_loop()
        self.linger = struct.pack("ii", 1, 0)
        self.waited_connects = 0  # connects not complete at once: the server's accept queue was full

    async def _connected(self, sock: socket.socket) -> None:
        """Wait until a non-blocking connect has finished; raise its error."""
        writable = self.loop.create_future()
        fd = sock.fileno()
        self.loop.add_writer(fd, lambda: writable.done() or writable.set_result(None))
        try:
            await writable
        finally:
            self.loop.remove_writer(fd)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))

    def request(self, form: dict[str, str]) -> bytes:
        body = urlencode(form).encode()
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def post(self, payload: bytes) -> tuple[int, str]:
        """Return (status, body text); raises OSError or TimeoutError."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        chunks = []
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, self.linger)
            sock.setblocking(False)
            code = sock.connect_ex(self.address)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))
            async with asyncio.timeout(self.timeout):
                try:
                    sent = sock.send(payload)
                except (BlockingIOError, OSError) as error:
                    if isinstance(error, BlockingIOError) or error.errno in (errno.ENOTCONN, errno.EAGAIN):
                        self.waited_connects += 1
                        await self._connected(sock)
                        sent = 0
                    else:
                        raise
                if sent < len(payload):
                    await self.loop.sock_sendall(sock, payload[sent:])
                while data := await self.loop.sock_recv(sock, 65536):
                    chunks.append(data)
        finally:
            sock.close()
        raw = b"".join(chunks)
        head, _, body = raw.partition(b"\r\n\r\n")
        try:
            status = int(head[9:12])
        except ValueError:
            status = 0
        return status, body.decode("utf-8", "replace")


class Caller:
    """One simulated caller: a unique sessionId and phone number, the inputs typed so far."""

    __slots__ = ("answers", "hop", "inputs", "phone", "session_id")

    def __init__(self, session_id: str, phone: str, answers: list[str]):
        self.session_id = session_id
        self.phone = phone
        self.answers = answers
        self.inputs: list[str] = []
        self.hop = 0

    def form(self, service_code: str) -> dict[str, str]:
        return {"sessionId": self.session_id, "serviceCode": service_code, "phoneNumber": self.phone,
                "networkCode": "61001", "text": "*".join(self.inputs)}

    def advance(self) -> None:
        """After a CON answer: the caller types its next answer."""
        self.hop += 1
        self.inputs.append(self.answers[len(self.inputs)] if len(self.inputs) < len(self.answers) else "1")


class Recorder:
    def __init__(self, window_start: float, window_end: float):
        self.window_start, self.window_end = window_start, window_end
        self.latencies_ms: list[float] = []  # hops whose (scheduled) start is in the window
        self.completed_in_window = 0  # hops whose answer came back inside the window
        self.errors: dict[str, int] = {}
        self.errors_in_window = 0
        self.hops_total = 0
        self.sessions_started = 0
        self.sessions_ended_early = 0  # an END before the planned last hop
        self.lag_ms: list[float] = []  # open loop: how late the generator sent each hop in the window
        self.max_in_flight = 0
        self.waited_connects = 0

    def record(self, start: float, end: float, error: str | None) -> None:
        self.hops_total += 1
        in_window = self.window_start <= start < self.window_end
        if error is None:
            if in_window:
                self.latencies_ms.append((end - start) * 1000.0)
            if self.window_start <= end < self.window_end:
                self.completed_in_window += 1
        else:
            self.errors[error] = self.errors.get(error, 0) + 1
            if in_window:
                self.errors_in_window += 1


def classify(status: int, body: str, expect_continue: bool) -> tuple[str | None, bool]:
    """(error or None, continues) for one answer."""
    if status != 200:
        return f"http {status}", False
    if body.startswith("CON "):
        return None, True
    if body.startswith("END "):
        return (None, False) if not expect_continue else ("early END", False)
    return "not a USSD answer", False


async def send_hop(client: Client, caller: Caller, service_code: str, hops: int, check_screens: bool
                   ) -> tuple[str | None, bool]:
    payload = client.request(caller.form(service_code))
    try:
        status, body = await client.post(payload)
    except TimeoutError:
        return "timeout", False
    except OSError as error:
        return f"connection: {type(error).__name__}", False
    expect_continue = check_screens and caller.hop + 1 < hops
    return classify(status, body, expect_continue)


async def closed_loop(cfg: dict, rec: Recorder) -> None:
    client = Client(cfg["port"], cfg["path"], cfg["timeout"])
    deadline, hops, answers = cfg["deadline"], cfg["hops"], cfg["answers"]
    budget = [cfg["max_hops"]]
    counter = iter(range(10**9))

    async def one_caller(index: int) -> None:
        while time.monotonic() < deadline and budget[0] > 0:
            n = next(counter)
            caller = Caller(f"{cfg['tag']}-{n}", phone_number(cfg["phone_base"] + n), answers)
            rec.sessions_started += 1
            while caller.hop < hops and time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                start = time.monotonic()
                error, continues = await send_hop(client, caller, cfg["service_code"], hops, cfg["check_screens"])
                rec.record(start, time.monotonic(), error)
                if error is not None or not continues:
                    if error == "early END":
                        rec.sessions_ended_early += 1
                    break
                caller.advance()

    await asyncio.sleep(max(0.0, cfg["start_at"] - time.monotonic()))
    await asyncio.gather(*(one_caller(i) for i in range(cfg["callers"])))
    rec.waited_connects = client.waited_connects


async def open_loop(cfg: dict, rec: Recorder) -> None:
    client = Client(cfg["port"], cfg["path"], cfg["timeout"])
    rate, hops, answers = cfg["rate"], cfg["hops"], cfg["answers"]
    think_min, think_max = cfg["think"]
    rng = random.Random(cfg["seed"])
    start_at, stop_at = cfg["start_at"], cfg["stop_at"]
    ready: list[tuple[float, int, Caller]] = []  # (ready time, tie-break, caller)
    counter = iter(range(10**9))
    in_flight: set[asyncio.Task] = set()
    max_in_flight = cfg["max_in_flight"]

    async def hop(caller: Caller, scheduled: float) -> None:
        sent = time.monotonic()
        if rec.window_start <= scheduled < rec.window_end:
            rec.lag_ms.append((sent - scheduled) * 1000.0)
        error, continues = await send_hop(client, caller, cfg["service_code"], hops, cfg["check_screens"])
        end = time.monotonic()
        rec.record(scheduled, end, error)
        if error == "early END":
            rec.sessions_ended_early += 1
        if error is None and continues and caller.hop + 1 < hops:
            caller.advance()
            heapq.heappush(ready, (end + rng.uniform(think_min, think_max), next(counter), caller))

    def next_gap() -> float:
        return rng.expovariate(rate) if cfg["arrivals"] == "poisson" else 1.0 / rate

    scheduled = start_at
    sent = 0
    while scheduled < stop_at and sent < cfg["max_hops"]:
        now = time.monotonic()
        if now >= stop_at + 1.0:  # the generator itself fell behind: do not run past the window
            rec.record(scheduled, now, "generator: behind schedule")
            scheduled += next_gap()
            continue
        if scheduled > now:
            await asyncio.sleep(scheduled - now)
            now = time.monotonic()
        if ready and ready[0][0] <= scheduled:
            caller = heapq.heappop(ready)[2]
        else:
            n = next(counter)
            caller = Caller(f"{cfg['tag']}-{n}", phone_number(cfg["phone_base"] + n), answers)
            rec.sessions_started += 1
        if len(in_flight) >= max_in_flight:
            rec.record(scheduled, now, "generator: too many in flight")
        else:
            task = asyncio.ensure_future(hop(caller, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            rec.max_in_flight = max(rec.max_in_flight, len(in_flight))
        sent += 1
        scheduled += next_gap()
    if in_flight:
        await asyncio.wait(list(in_flight), timeout=cfg["timeout"] + 1.0)
    rec.waited_connects = client.waited_connects


def phone_number(n: int) -> str:
    """A valid Malian mobile number (+2237 and 7 digits), unique for n below 10**7."""
    return f"+2237{n % 10**7:07d}"


def main() -> None:
    cfg = json.loads(sys.argv[1])
    try:
        import uvloop  # optional: the figures say which loop ran

        loop_name = "uvloop" if cfg.get("uvloop") else "asyncio"
        if cfg.get("uvloop"):
            uvloop.install()
    except ImportError:
        loop_name = "asyncio"
    rec = Recorder(cfg["window_start"], cfg["window_end"])
    run = closed_loop if cfg["mode"] == "closed" else open_loop
    asyncio.run(run(cfg, rec))
    json.dump({
        "loop": loop_name,
        "latencies_ms": [round(x, 3) for x in rec.latencies_ms],
        "lag_ms": [round(x, 3) for x in rec.lag_ms],
        "completed_in_window": rec.completed_in_window,
        "errors": rec.errors,
        "errors_in_window": rec.errors_in_window,
        "hops_total": rec.hops_total,
        "sessions_started": rec.sessions_started,
        "sessions_ended_early": rec.sessions_ended_early,
        "max_in_flight": rec.max_in_flight,
        "waited_connects": rec.waited_connects,
        "cpu_seconds_total": cpu_seconds(),
    }, sys.stdout)


if __name__ == "__main__":
    main()
