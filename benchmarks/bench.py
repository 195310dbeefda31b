"""Side-by-side benchmark: ecm-mock as `make run` serves it, plain Flask on the same server and
on granian's WSGI, and Prism: one run, ratios first, then one table.

Servers, each started as a subprocess on a free port (start-up = process start to the first
HTTP answer):

- **ecm-mock, the default**: ``.venv/bin/ecm-mock serve`` (one process: granian's embedded
  server behind ecm-mock's asynchronous front; validation on); again with
  ``--fake-contacts 100000`` and ``--fake-contacts N`` (``--contacts``) for start-up time,
  memory (PSS from /proc/PID/smaps_rollup, summed over the process group) and the contacts page;
- plain Flask (benchmarks/raw_flask.py: attempt save only, no validation, no state shared) on
  the same server (benchmarks/raw_front.py: the same granian embedded server behind the same
  front, one process), and on granian's WSGI interface (one process, one thread: the fastest
  way to serve a Flask app on granian);
- Prism 5.16 (``@stoplight/prism-cli@5.16.0``, npm-installed into benchmarks/.prism when
  missing) mocking openapi/ecm.yaml, which validates requests.

Load: wrk (system package) with 16 connections and 2 threads. Attempt save (POST with a token
and a retry map, spread round-robin over many strategies) runs on the four servers in
``--rounds`` rounds, interleaved (the machine is shared and noisy: each ratio is taken within
a round, then the median over the rounds). Login (GET with a JSON body) and the campaign list
on ecm-mock and Prism; a page of 50 contacts of 1,000,000; bulk uploads of 100,000 contacts as
JSON and as CSV.

Serving (issue 12), on the default ecm-mock: 200 requests delayed 3 s by a latency fault while
another operation runs under wrk (when each delayed one ends; the other's p99); 10,000 idle
keep-alive connections at once (how long new requests take meanwhile); a 100,000-row upload
while another session's requests run under wrk (their p99).

The campaign runtime (no wrk): in-process, advancing a frozen clock 24 hours with 100,000
contacts (``--runtime-contacts``) over 10 ACTIVE campaigns, and the same day again in the
slices a running clock makes (how long each holds the store's lock); then ``ecm-mock serve``
with that data and its clock running at a simulated day per wall second (the runtime always
behind): the wait of contacts pages, beside the same requests with the simulation off.

A figure, not a test: nothing here asserts. Progress goes to stderr, the report to stdout.
Every server started is killed at the end, also on failure or Ctrl-C.

    python benchmarks/bench.py [--duration 10] [--rounds 3] [--contacts 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
BIN = Path(sys.executable).parent
SPEC = ROOT / "openapi" / "ecm.yaml"
PRISM_VERSION = "5.16.0"
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"

ECM = "ecm-mock (default: `ecm-mock serve`)"
RAW_FRONT = "plain Flask on the same server (granian RSGI + ecm-mock's front, 1 process)"
RAW_WSGI = "plain Flask on granian WSGI (1 process, 1 thread)"
PRISM = "Prism 5.16"
ROWS = (ECM, RAW_FRONT, RAW_WSGI, PRISM)
ECM_OPTIONS: tuple[str, ...] = ()  # the default, as `make run` serves it
READY_PATH = "/__admin/clock"  # ecm-mock answers it once its app and state are built

ATTEMPTS_PER_STRATEGY = 90  # 99 fit (attempt 100 would point its retry map at itself)
RATE_CAPACITY = 8000  # attempt saves/s the strategies are sized for; more → 406s, reported
TICKS = os.sysconf("SC_CLK_TCK")
CREDENTIALS = {"username": "admin", "password": "admin"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- servers
class StartError(RuntimeError):
    """A server did not come up; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and Pss (RSS with shared pages split) of ``pid`` in bytes."""
    values = {}
    for name, keys in (("status", ("VmRSS", "VmHWM")), ("smaps_rollup", ("Pss",))):
        try:
            with open(f"/proc/{pid}/{name}") as status:
                for line in status:
                    key, _, rest = line.partition(":")
                    if key in keys:
                        values[key] = int(rest.split()[0]) * 1024
        except OSError:
            pass
    return values


def _group_stats(pgid: int) -> dict[int, list[str]]:
    """/proc/PID/stat fields (after the name) of every live process in process group ``pgid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is the 5th field of stat
            found[int(entry)] = fields
    return found


def group_pids(pgid: int) -> list[int]:
    return sorted(_group_stats(pgid))


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in process group ``pgid``."""
    stats = _group_stats(pgid).values()
    return sum(int(f[11]) + int(f[12]) for f in stats) / TICKS  # utime, stime


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the bench dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Server:
    """One server subprocess in its own process group, its output in a log file."""

    running: ClassVar[list[Server]] = []

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        workdir: Path,
        cwd: Path = ROOT,
        ready_path: str | None = None,
    ):
        self.name, self.argv, self.port, self.cwd = name, argv, port, cwd
        self.ready_path = ready_path  # None: ready when the port accepts a connection
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"{name.replace(' ', '_')}-{port}.log"
        self.process: subprocess.Popen | None = None
        self.startup = math.nan

    def start(self, timeout: float = 60, max_rss: float = math.inf) -> Server:
        """Start and wait for the port; StartError when it exits, times out or grows too big."""
        log(f"start {self.name}: {shlex.join(self.argv)}")
        with open(self.log_path, "wb") as out:
            began = time.perf_counter()
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as a whole, not by ^C
                preexec_fn=die_with_parent,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        Server.running.append(self)
        deadline = began + timeout
        while True:
            if self._answers():
                self.startup = time.perf_counter() - began
                log(f"{self.name} answers after {self.startup:.2f} s")
                return self
            if self.process.poll() is not None:
                raise StartError(f"exited with {self.process.returncode}: {self.tail()}")
            rss = self.memory().get("Pss", 0)
            if rss > max_rss:
                self.stop()
                raise StartError(f"PSS {gb(rss)} before it answered (limit {gb(max_rss)})")
            if time.perf_counter() > deadline:
                self.stop()
                raise StartError(f"no answer after {timeout:.0f} s (PSS {gb(rss)})")
            time.sleep(0.01)  # poll interval of the connect loop, not a wait for readiness

    def _answers(self) -> bool:
        try:
            if self.ready_path is None:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            with urllib.request.urlopen(self.url + self.ready_path, timeout=1):
                return True
        except urllib.error.HTTPError:  # an answer all the same
            return True
        except (OSError, urllib.error.URLError):
            return False

    def memory(self) -> dict[str, int]:
        """VmRSS, VmHWM and Pss summed over the server's processes (its process group).

        Summed RSS counts the pages a forked worker shares with its parent twice; PSS does not.
        """
        if not self.process:
            return {}
        total = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
        for pid in group_pids(self.process.pid):
            for key, value in proc_status(pid).items():
                total[key] += value
        return total

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.process.pid) if self.process else 0.0

    def tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no output)"
        text = [line.strip() for line in text if line.strip()]
        errors = [line for line in text if "Error" in line and not line.startswith("at ")]
        return " | ".join(errors[-1:] or text[-lines:]) or "(no output)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if self in Server.running:
            Server.running.remove(self)
        if process is None or process.poll() is not None:
            return
        began = time.perf_counter()
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            break
        # processes left behind in the group go too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log(f"stopped {self.name} in {time.perf_counter() - began:.1f} s")

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.running):
            server.stop()


def ecm_mock(workdir: Path, *options: str, row: str = ECM) -> Server:
    port = free_port()
    argv = [str(BIN / "ecm-mock"), "serve", "--port", str(port), *options]
    return Server(row, argv, port, workdir, ready_path=READY_PATH)


# ----------------------------------------------------------------------------- HTTP client
def call(base: str, method: str, path: str, body=None, token=None, timeout=30):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def login(base: str) -> str:
    # GET with a JSON body, as the vendor documents it (Prism serves only the GET)
    return call(base, "GET", "/umm/api/login", CREDENTIALS)["token"]


# ------------------------------------------------------------------------------------ wrk
LUA_COMMON = """
local counter = 0
setup = function(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
init = function(args)
  math.randomseed(1000 + tid)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

LUA_LOGIN = """
wrk.method = "GET"
wrk.path = "/umm/api/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"admin","password":"admin"}'
"""

LUA_SAVE = """
local ids = {IDS}
local n = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"}
request = function()
  n = n + 1
  local cs = ids[((n * THREADS + tid) % #ids) + 1]
  local body = '{"csId":' .. cs .. ',"name":"Bench","phone":"1","channel":0,' ..
    '"retryMap":[{"attempt_number":100,"delay":10,"call_result":2}]}'
  return wrk.format("POST", "/umm/ecm/callStrategyAttempt/save", headers, body)
end
"""

LUA_GET = """
wrk.method = "GET"
wrk.path = "PATH"
wrk.headers["Authorization"] = "Bearer TOKEN"
"""

LUA_CONTACTS = """
local headers = {["Authorization"] = "Bearer TOKEN"}
request = function()
  local page = math.random(0, PAGES - 1)
  return wrk.format("GET",
    "/umm/ecm/campaignContact/list?campaignId=CAMPAIGN&size=50&page=" .. page, headers)
end
"""


class Load:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args, self.workdir = args, workdir
        self.notes: list[str] = []
        self.strategy_ids: list[int] = []  # made by the ecm-mock run, reused by the others

    def script(self, name: str, body: str, **values: object) -> Path:
        for key, value in values.items():
            body = body.replace(key, str(value))
        path = self.workdir / f"{name}.lua"
        path.write_text(LUA_COMMON + body)
        return path

    def wrk(self, server: Server, script: Path, duration: int) -> dict:
        argv = [
            "wrk",
            f"-t{self.args.threads}",
            f"-c{self.args.connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.url,
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + 60, preexec_fn=die_with_parent
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
        if result.returncode or not lines:
            raise RuntimeError(f"wrk failed: {(result.stderr or result.stdout).strip()[-200:]}")
        return json.loads(lines[-1][len("BENCH ") :])

    def sample(self, server: Server, script: Path, duration: int | None = None) -> dict:
        """One wrk run (after a short warm-up): rate, p50 and p99 (ms), errors, CPU share."""
        if self.args.warmup:
            self.wrk(server, script, self.args.warmup)
        cpu_before, began = server.cpu_seconds(), time.perf_counter()
        stats = self.wrk(server, script, duration or self.args.duration)
        cpu = (server.cpu_seconds() - cpu_before) / (time.perf_counter() - began)
        errors = {
            k: stats[k] for k in ("connect", "read", "write", "status", "timeout") if stats[k]
        }
        return {
            "rate": stats["requests"] / (stats["duration_us"] / 1e6),
            "p50": stats["p50_us"] / 1000,
            "p99": stats["p99_us"] / 1000,
            "requests": stats["requests"],
            "errors": errors,
            "cpu": cpu,
        }

    def measure(self, row: str, label: str, server: Server, script: Path) -> str:
        """One table cell: ``req/s · p50 / p99`` of a wrk run after a short warm-up."""
        sample = self.sample(server, script)
        cell = f"{sample['rate']:,.0f} · {sample['p50']:.1f} / {sample['p99']:.1f}"
        note = f"{row}, {label}: server processes used {sample['cpu'] * 100:.0f}% of a core"
        if sample["errors"]:
            cell += " (errors)"
            note += f"; ERRORS {sample['errors']} of {sample['requests']:,} requests"
        self.notes.append(note)
        log(f"{row}, {label}: {cell} (req/s · p50 / p99 ms), cpu {sample['cpu'] * 100:.0f}%")
        if sample["errors"].get("status", 0) == sample["requests"]:
            return f"failed: all {sample['requests']:,} requests answered >= 400"
        return cell


# ------------------------------------------------------------------------------ helpers
def gb(value: float) -> str:
    if value >= 1024**3:
        return f"{value / 1024**3:.2f} GB"
    return f"{value / 1024**2:.0f} MB"


def short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if not isinstance(error, StartError) else str(error)
    return text.replace("|", "/").replace("\n", " ")[:300]


def guarded(cells: dict, keys: list[tuple[str, str]], step: Callable[[], None]) -> None:
    """Run one step; on an error, every cell it owns that is still empty says why."""
    try:
        step()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # a failed step is a finding, the run goes on
        log(f"failed: {short(error)}")
        reason = f"failed: {short(error)}"
        for row, column in keys:
            if column not in cells[row]:
                cells[row][column] = reason
                reason = "failed (see the first failed cell)"


def ensure_prism() -> Path:
    package = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    installed = json.loads(package.read_text())["version"] if package.exists() else None
    if installed != PRISM_VERSION or not PRISM_BIN.exists():
        npm = shutil.which("npm")
        if not npm:
            raise StartError("npm not found: cannot install Prism")
        log(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR}")
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(PRISM_DIR),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"@stoplight/prism-cli@{PRISM_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode:
            raise StartError(f"npm install failed: {result.stderr.strip()[-200:]}")
    return PRISM_BIN


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    memory = ""
    try:
        total = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        memory = f", {int(total) / 1024**2:.0f} GB RAM"
    except (OSError, IndexError, ValueError):
        pass
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[:2]
    return (
        f"nproc {cores}, {model}{memory}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {' '.join(wrk)}"
    )


def command_line() -> str:
    here = Path.cwd()

    def rel(path: str) -> str:
        try:
            return str(Path(path).relative_to(here))
        except ValueError:
            return path

    return shlex.join([rel(sys.executable), rel(os.path.abspath(sys.argv[0])), *sys.argv[1:]])


# -------------------------------------------------------------------------------- steps
def start_servers(args, workdir: Path, cells: dict, columns: dict) -> dict[str, Server]:
    """The four servers, up at once (the attempt-save rounds interleave them); ecm-mock's
    start-up is the median of ``--startup-runs`` starts, the last one kept."""
    servers: dict[str, Server] = {}
    times, memory, server = [], {}, None
    for attempt in range(args.startup_runs):
        server = ecm_mock(workdir, *ECM_OPTIONS).start(timeout=args.startup_timeout)
        times.append(server.startup)
        memory = server.memory()
        if attempt < args.startup_runs - 1:
            server.stop()
    spread = f" ({min(times):.2f} to {max(times):.2f})" if len(times) > 1 else ""
    cells[ECM][columns["startup"]] = (
        f"{statistics.median(times):.2f} s{spread}, PSS {gb(memory.get('Pss', 0))}"
    )
    servers[ECM] = server
    port = free_port()
    argv = [sys.executable, str(BENCH / "raw_front.py"), str(port)]
    servers[RAW_FRONT] = Server(RAW_FRONT, argv, port, workdir, cwd=BENCH, ready_path="/")
    port = free_port()
    argv = [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port"]
    argv += [str(port), "--workers", "1", "--blocking-threads", "1", "raw_flask:app"]
    servers[RAW_WSGI] = Server(RAW_WSGI, argv, port, workdir, cwd=BENCH, ready_path="/")
    if "prism" not in args.skip:
        port = free_port()
        argv = [str(ensure_prism()), "mock", "-p", str(port), "-h", "127.0.0.1"]
        argv.append(str(SPEC.relative_to(ROOT)))
        servers[PRISM] = Server(PRISM, argv, port, workdir)
    for row in (RAW_FRONT, RAW_WSGI, PRISM):
        if row in servers:
            try:
                servers[row].start(timeout=args.startup_timeout)
            except StartError as error:
                cells[row][columns["save"]] = f"failed: {short(error)}"
                del servers[row]
    if PRISM in servers:
        cells[PRISM][columns["startup"]] = f"{servers[PRISM].startup:.2f} s"
    return servers


def login_cell(load: Load, cells, columns, row: str, server: Server) -> None:
    call(server.url, "GET", "/umm/api/login", CREDENTIALS)  # the workload works at all
    script = load.script(f"login-{server.port}", LUA_LOGIN)
    cells[row][columns["login"]] = load.measure(row, "login", server, script)


def list_cell(load: Load, cells, columns, row: str, server: Server, token: str) -> None:
    call(server.url, "GET", "/umm/ecm/campaign/list", token=token)
    path = "/umm/ecm/campaign/list"
    script = load.script(f"list-{server.port}", LUA_GET, PATH=path, TOKEN=token)
    cells[row][columns["list"]] = load.measure(row, "campaign list", server, script)


def save_script(args, load: Load, ids: list[int], token: str, port: int) -> Path:
    return load.script(
        f"save-{port}",
        LUA_SAVE,
        IDS=", ".join(map(str, ids)),
        THREADS=args.threads,
        TOKEN=token,
    )


def save_rounds(args, load: Load, cells, columns, servers: dict[str, Server]) -> list[str]:
    """Attempt save on every server, ``--rounds`` times, interleaved (each round in another
    order); a cell is the median of its rounds; the ratios, taken within each round, come
    back as lines (median, and the range over the rounds)."""
    ecm = servers[ECM]
    token = login(ecm.url)
    seconds = (args.duration + args.warmup) * args.rounds
    count = math.ceil(RATE_CAPACITY * seconds / ATTEMPTS_PER_STRATEGY)
    log(f"creating {count} strategies to spread the attempts over")
    ids = [
        call(ecm.url, "POST", "/umm/ecm/callStrategy/save", {"name": f"Bench {i}"}, token)["id"]
        for i in range(count)
    ]
    scripts = {ECM: save_script(args, load, ids, token, ecm.port)}
    for row in (RAW_FRONT, RAW_WSGI):
        if row in servers:
            scripts[row] = save_script(args, load, ids, "x", servers[row].port)
    if PRISM in servers:
        prism_token = login(servers[PRISM].url)  # Prism answers the example's fixed token
        scripts[PRISM] = save_script(args, load, list(range(1, 101)), prism_token, 0)
    rows = [row for row in ROWS if row in scripts]
    samples: dict[str, list[dict]] = {row: [] for row in rows}
    for round_number in range(args.rounds):
        order = rows[round_number % len(rows) :] + rows[: round_number % len(rows)]
        for row in order:
            sample = load.sample(servers[row], scripts[row])
            samples[row].append(sample)
            log(
                f"round {round_number + 1}, {row}: {sample['rate']:,.0f} req/s, p50 "
                f"{sample['p50']:.1f} / p99 {sample['p99']:.1f} ms, errors {sample['errors']}"
            )
    for row in rows:
        rates = [s["rate"] for s in samples[row]]
        p50 = statistics.median(s["p50"] for s in samples[row])
        p99 = statistics.median(s["p99"] for s in samples[row])
        cell = f"{statistics.median(rates):,.0f} · {p50:.1f} / {p99:.1f}"
        if len(rates) > 1:
            cell += f" ({min(rates):,.0f} to {max(rates):,.0f})"
        if any(s["errors"] for s in samples[row]):
            errors = [s["errors"] for s in samples[row] if s["errors"]]
            cell += " (errors)"
            load.notes.append(f"{row}, attempt save: ERRORS {errors}")
        cells[row][columns["save"]] = cell
    lines = []
    mine = [s["rate"] for s in samples[ECM]]
    for row, target in ((PRISM, "at least 2.5x"), (RAW_FRONT, "at least 0.6"), (RAW_WSGI, None)):
        if row not in samples:
            continue
        ratios = [m / s["rate"] for m, s in zip(mine, samples[row], strict=True) if s["rate"]]
        if not ratios:
            continue
        spread = f" ({min(ratios):.2f} to {max(ratios):.2f} over {len(ratios)} rounds)"
        against = "x" if row == PRISM else " of"
        wanted = f"; target {target}" if target else ""
        lines.append(
            f"**attempt save, ecm-mock default: {statistics.median(ratios):.2f}{against} "
            f"{row}**{spread}{wanted}"
        )
    p99s = [s["p99"] for s in samples[ECM]]
    lines.append(
        f"**attempt save, ecm-mock default: p99 {statistics.median(p99s):.1f} ms** at "
        f"{args.connections} connections ({min(p99s):.1f} to {max(p99s):.1f}); target at most 10 ms"
    )
    return lines


def bulk_cells(args, cells, columns, base: str, token: str) -> None:
    cells[ECM][columns["bulk_json"]] = timed_upload(*bulk_json(base, token, args.bulk), "JSON")
    cells[ECM][columns["bulk_csv"]] = timed_upload(*bulk_csv(base, token, args.bulk), "CSV")


def bulk_json(base: str, token: str, count: int, campaign: int = 1, prefix: str = "+1777"):
    rows = [
        {"phone01": f"{prefix}{i:09d}", "firstName": "Bulk", "lastName": f"Row{i}"}
        for i in range(count)
    ]
    body = json.dumps({"campaignId": campaign, "contacts": rows}).encode()
    request = urllib.request.Request(
        base + "/umm/ecm/campaignContact/bulkUpload",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    return request, count, len(body)


def bulk_csv(base: str, token: str, count: int):
    csv_text = "phone01,firstName,lastName\r\n" + "".join(
        f"+1888{i:09d},Bulk,Row{i}\r\n" for i in range(count)
    )
    boundary = "----ecm-mock-bench-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="campaignId"\r\n\r\n2\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="contacts.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        f"{csv_text}\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        base + "/umm/ecm/campaignContact/bulkUpload",
        data=body,
        method="POST",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {token}",
        },
    )
    return request, count, len(body)


def timed_upload(request: urllib.request.Request, count: int, size: int, kind: str) -> str:
    log(f"bulk upload of {count:,} contacts as {kind} ({size / 1e6:.1f} MB)")
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            report = json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode(errors="replace")
        return f"failed: HTTP {error.code} {detail}"
    seconds = time.perf_counter() - began
    log(f"... {seconds:.2f} s: inserted {report['inserted']:,} of {report['received']:,}")
    cell = f"{seconds:.2f} s"
    if report["inserted"] != count:
        cell += f" (inserted {report['inserted']:,} of {count:,})"
    return cell


# ------------------------------------------------------------------------------ serving
def _get(url: str, token: str | None = None, timeout: float = 60) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def delay_figure(args, load: Load, server: Server, token: str) -> str:
    """200 requests delayed 3 s at once; meanwhile another operation under wrk."""
    import threading

    count, delay = args.delayed, 3.0
    rule = {"operationId": "listCampaigns", "latencyMs": int(delay * 1000), "times": count}
    call(server.url, "POST", "/__admin/faults", rule)
    ended: list[tuple[int, float]] = []
    lock = threading.Lock()
    began = time.perf_counter()

    def delayed() -> None:
        status = _get(server.url + "/umm/ecm/campaign/list", token)
        with lock:
            ended.append((status, time.perf_counter() - began))

    threads = [threading.Thread(target=delayed) for _ in range(count)]
    for thread in threads:
        thread.start()
    path = "/umm/ecm/campaign/fetchCiscoCampaigns"  # small: the figure is the wait, not the work
    script = load.script("delay-other", LUA_GET, PATH=path, TOKEN=token)
    other = load.wrk(server, script, 2)
    for thread in threads:
        thread.join(timeout=60)
    urllib.request.urlopen(
        urllib.request.Request(server.url + "/__admin/faults", method="DELETE"), timeout=30
    ).close()
    times = sorted(t for _, t in ended)
    statuses = sorted({s for s, _ in ended})
    rate = other["requests"] / (other["duration_us"] / 1e6)
    return (
        f"**{count} requests delayed {delay:.0f} s at once** (a latency fault): {len(ended)} "
        f"answered {statuses}, ending {times[0]:.2f} to {times[-1]:.2f} s after they were "
        f"sent (target: together at 3 s, ±0.3); meanwhile another operation (Cisco campaigns, "
        f"wrk {args.threads} threads, {args.connections} connections) {rate:,.0f} req/s, "
        f"**p99 {other['p99_us'] / 1000:.1f} ms** (target under 20 ms)"
    )


def idle_figure(args, server: Server) -> str:
    """``--idle`` keep-alive connections, each after one request, idle at once; new requests
    meanwhile (each on a new connection)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, args.idle + 1024) if hard != resource.RLIM_INFINITY else args.idle + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    idle = []
    request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    try:
        for _ in range(args.idle):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            connection.sendall(request)
            idle.append(connection)
        for connection in idle:  # each answered, and kept alive
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += connection.recv(65536)
        waits = []
        for _ in range(50):
            began = time.perf_counter()
            _get(server.url + "/healthz")
            waits.append((time.perf_counter() - began) * 1000)
    finally:
        for connection in idle:
            connection.close()
    return (
        f"**{len(idle):,} idle keep-alive connections at once**: 50 new requests meanwhile "
        f"took {_figures(waits)} (target: answered within 50 ms)"
    )


def upload_figure(args, load: Load, server: Server, token: str) -> str:
    """A 100,000-row upload to one session while another session's requests run."""
    import threading

    other = "bench-other"
    _get(server.url + "/umm/ecm/callStrategy/list", token)  # the default session's state
    headers = f'wrk.headers["X-Mock-Session"] = "{other}"\n'
    path = "/umm/ecm/callStrategy/list"
    script = load.script("upload-other", LUA_GET + headers, PATH=path, TOKEN=token)
    load.wrk(server, script, 1)  # the other session made, and warm
    request, count, size = bulk_json(server.url, token, args.bulk, campaign=3, prefix="+1666")
    upload: dict[str, str] = {}
    thread = threading.Thread(
        target=lambda: upload.update(cell=timed_upload(request, count, size, "JSON"))
    )
    thread.start()
    during = load.wrk(server, script, 2)
    thread.join(timeout=600)
    return (
        f"**a {count:,}-row upload** (JSON, {upload.get('cell')}) while another session's "
        f"requests ran (strategy list, wrk {args.connections} connections): their **p99 "
        f"{during['p99_us'] / 1000:.1f} ms** (target under 50 ms), "
        f"{during['requests'] / (during['duration_us'] / 1e6):,.0f} req/s"
    )


def run_contacts(args, workdir: Path, load: Load, cells, columns, count: int) -> None:
    """Start-up and memory with ``count`` fake contacts; the contacts page on the largest."""
    column = columns[f"memory_{count}"]
    server = ecm_mock(workdir, *ECM_OPTIONS, "--fake-contacts", str(count))
    try:
        try:
            server.start(timeout=args.startup_timeout, max_rss=args.max_rss_gb * 1024**3)
        except StartError as error:
            cells[ECM][column] = f"failed: {short(error)}"
            if count == args.contacts:
                cells[ECM][columns["contacts"]] = "not measured: the server did not start"
            return
        memory = server.memory()
        cells[ECM][column] = f"{server.startup:.2f} s, PSS {gb(memory.get('Pss', 0))}"
        if count != args.contacts:
            return
        token = login(server.url)
        first = call(
            server.url, "GET", "/umm/ecm/campaignContact/list?campaignId=1&size=50", token=token
        )
        pages = first["totalPages"]
        log(f"campaign 1 has {first['totalElements']:,} contacts, {pages:,} pages of 50")
        script = load.script("contacts", LUA_CONTACTS, PAGES=max(pages, 1), CAMPAIGN=1, TOKEN=token)
        cells[ECM][columns["contacts"]] = load.measure(
            ECM, f"contacts page of 50 ({count:,} contacts)", server, script
        )
        after = server.memory()
        load.notes.append(
            f"ecm-mock with {count:,} contacts, after the contacts load: PSS "
            f"{gb(after.get('Pss', 0))}, RSS {gb(after.get('VmRSS', 0))} summed over its "
            f"processes, peak RSS {gb(after.get('VmHWM', 0))} summed"
        )
    finally:
        server.stop()


# ------------------------------------------------------------------------ campaign runtime
RUNTIME_START = 1_790_000_000.0  # Monday 2026-09-21 14:13:20 UTC
EVERY_DAY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def runtime_setup(send, contacts: int) -> list[int]:
    """10 ACTIVE campaigns (all day, every day) and ``contacts`` contacts spread over them in
    five time-zone groups; a strategy of three voice attempts with retry maps. ``send(method,
    path, body)`` is the ECM API. Returns the campaigns' ids."""
    strategy = send("POST", "/umm/ecm/callStrategy/save", {"name": "Bench"})["id"]
    attempts = [
        ("1", [{"call_result": 1, "attempt_number": 2, "delay": 10},
               {"call_result": 2, "attempt_number": 2, "delay": 30}]),
        ("2", [{"call_result": 1, "attempt_number": 3, "delay": 60}]),
        ("1", []),
    ]  # fmt: skip
    for number, (phone, retry_map) in enumerate(attempts, start=1):
        body = {"csId": strategy, "name": f"a{number}", "phone": phone, "channel": 0,
                "attemptNumber": number, "retryMap": retry_map}  # fmt: skip
        send("POST", "/umm/ecm/callStrategyAttempt/save", body)
    zones = ["Asia/Karachi", "Europe/London", "America/New_York", "Asia/Dubai", None]
    campaigns = []
    for k in range(10):
        body = {"name": f"Bench{k}", "campaignType": "AGENT", "ciscoCampaignId": 5001,
                "strategyId": strategy, "startTime": "00:00", "endTime": "23:59",
                "daysOfWeek": EVERY_DAY}  # fmt: skip
        campaigns.append(send("POST", "/umm/ecm/campaign/createCampaign", body)["id"])
        rows = [
            {"phone01": f"+1555{k:02d}{i:06d}", **({"timeZone": z} if (z := zones[i % 5]) else {})}
            for i in range(contacts // 10)
        ]
        body = {"campaignId": campaigns[-1], "contacts": rows}
        send("POST", "/umm/ecm/campaignContact/bulkUpload", body)
    for campaign_id in campaigns:
        send("PUT", "/umm/ecm/campaign/status", {"id": campaign_id, "status": "ACTIVE"})
    return campaigns


def in_process_runtime(count: int):
    """An app on a frozen clock with :func:`runtime_setup`'s data."""
    from ecm_mock import FixedClock, Settings, create_app

    app = create_app(Settings(token_ttl=10**8), clock=FixedClock(RUNTIME_START))
    client = app.test_client()
    token = client.post("/umm/api/login", json=CREDENTIALS).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    runtime_setup(lambda m, p, b: client.open(p, method=m, json=b, headers=headers).json, count)
    return app


def run_runtime(args, workdir: Path) -> list[str]:
    """The campaign runtime's figures, as lines for the end of the report."""
    import ecm_mock.runtime as runtime
    from ecm_mock import services_of
    from ecm_mock.server import freeze

    count = args.runtime_contacts
    lines = []

    # 1. a frozen clock advanced 24 h, in-process (what a test does: PUT /__admin/clock)
    log(f"campaign runtime: {count:,} contacts over 10 ACTIVE campaigns, advance 24 h")
    app = in_process_runtime(count)
    client = app.test_client()
    began = time.perf_counter()
    answer = client.put("/__admin/clock", json={"advanceSeconds": 86400})
    seconds = time.perf_counter() - began
    with services_of(app).store.transaction() as state:
        made = state.runtime.last_call
    lines.append(
        f"campaign runtime: advancing a frozen clock 24 h (`PUT /__admin/clock`, status "
        f"{answer.status_code}) with {count:,} contacts over 10 ACTIVE campaigns took "
        f"**{seconds:.2f} s** (target at most 5 s; {seconds / 5:.2f} of it): {made:,} calls made"
    )
    log(lines[-1])

    # 2. the same day again from its start, one slice at a time as Engine.run_due makes them:
    # how long each holds the store's lock (no other thread running)
    app = in_process_runtime(count)
    freeze()  # the garbage collection of `ecm-mock serve`: start-up's objects frozen
    store, slices, cpu = services_of(app).store, [], []
    while True:
        began, began_cpu = time.perf_counter(), time.thread_time()
        with store.transaction() as state:
            done = runtime.advance(state, RUNTIME_START + 86400, runtime.SLICE)
        slices.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - began_cpu) * 1000)
        if done:
            break
    lines.append(
        f"campaign runtime, the same day in slices as a running clock makes them: "
        f"{len(slices):,} slices under the store's lock, {_figures(slices)} each; their CPU "
        f"time {_figures(cpu)} (the rest: other processes on the machine; with the garbage "
        "collection of `ecm-mock serve`)"
    )
    log(lines[-1])

    # 3. a served mock whose running clock keeps the runtime behind: requests' waits
    # tokens must outlive the days the running clock goes through
    options = (*ECM_OPTIONS, "--token-ttl", str(10**8))
    server = ecm_mock(workdir, *options, row="ecm-mock runtime").start(timeout=args.startup_timeout)
    try:
        base = server.url
        token = login(base)
        campaigns = runtime_setup(lambda m, p, b: call(base, m, p, b, token, timeout=300), count)
        call(base, "PUT", "/__admin/clock", {"frozen": True})

        def waits() -> list[float]:
            times = []
            for i in range(args.runtime_requests):
                path = (
                    f"/umm/ecm/campaignContact/list?campaignId={campaigns[i % 10]}"
                    f"&size=50&page={i % 7}"
                )
                request = urllib.request.Request(
                    base + path, headers={"Authorization": f"Bearer {token}"}
                )
                began = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                times.append((time.perf_counter() - began) * 1000)
            return times

        call(base, "PUT", "/__admin/runtime/model", {"enabled": False})
        call(base, "PUT", "/__admin/clock", {"frozen": False, "speed": 86400})
        quiet = waits()
        call(base, "PUT", "/__admin/runtime/model", {"enabled": True})
        busy = waits()
        behind = call(base, "GET", "/__admin/state")["runtime"]
        now = call(base, "GET", "/__admin/clock")["now"]
    finally:
        server.stop()
    lines.append(
        f"campaign runtime, `ecm-mock serve` with its clock running at "
        f"a simulated day per wall second ({count:,} contacts, 10 ACTIVE campaigns; the runtime "
        f"always behind: at {behind['processedUntil']}, {behind['calls']:,} calls made, when "
        f"the clock said {now}): {len(busy)} contacts pages of 50, one at a time, waited "
        f"{_figures(busy)}; with the simulation off {_figures(quiet)} "
        "(target: the runtime holds no request up more than 20 ms)"
    )
    log(lines[-1])
    return lines


def _figures(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.1f} / p99 {p99:.1f} / max {ordered[-1]:.1f} ms"


# --------------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10)")
    parser.add_argument(
        "--contacts", type=int, help="fake contacts for the contacts page (default 1000000)"
    )
    parser.add_argument("--bulk", type=int, help="contacts per bulk upload (default 100000)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=int, help="seconds of wrk before each run (default 1)")
    parser.add_argument(
        "--rounds", type=int, help="interleaved rounds of attempt save (median; default 3)"
    )
    parser.add_argument("--delayed", type=int, help="requests delayed at once (default 200)")
    parser.add_argument("--idle", type=int, help="idle connections at once (default 10000)")
    parser.add_argument(
        "--startup-runs", type=int, help="start-ups of ecm-mock with default data (median; 3)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=300, help="seconds a server may take to listen"
    )
    parser.add_argument(
        "--max-rss-gb", type=float, default=8, help="stop a start-up whose RSS grows beyond this"
    )
    parser.add_argument(
        "--runtime-contacts",
        type=int,
        help="contacts of the campaign-runtime figures (default 100000)",
    )
    parser.add_argument(
        "--runtime-requests",
        type=int,
        help="requests timed while the runtime runs behind (default 500)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to leave out: prism,serving,contacts,runtime",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 s runs, 10,000 contacts, one start-up of the default mock",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": 2 if quick else 10,
        "contacts": 10_000 if quick else 1_000_000,
        "bulk": 10_000 if quick else 100_000,
        "warmup": 1,
        "startup_runs": 1 if quick else 3,
        "rounds": 1 if quick else 3,
        "delayed": 50 if quick else 200,
        "idle": 1000 if quick else 10_000,
        "runtime_contacts": 10_000 if quick else 100_000,
        "runtime_requests": 100 if quick else 500,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    memory_counts = sorted({min(100_000, args.contacts), args.contacts})
    columns = {
        "save": "attempt save",
        "login": "login",
        "list": "campaign list",
        "contacts": f"contacts page of 50 ({args.contacts:,} contacts)",
        "startup": "start-up (default data)",
        **{f"memory_{n}": f"{n:,} contacts: start-up, PSS" for n in memory_counts},
        "bulk_json": f"bulk upload {args.bulk:,} JSON",
        "bulk_csv": f"bulk upload {args.bulk:,} CSV",
    }
    cells: dict[str, dict[str, str]] = {row: {} for row in ROWS}
    headline: list[str] = []

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with it ignored
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        with tempfile.TemporaryDirectory(prefix="ecm-bench-") as tmp:
            workdir = Path(tmp)
            load = Load(args, workdir)
            servers: dict[str, Server] = {}

            def start() -> None:
                servers.update(start_servers(args, workdir, cells, columns))

            guarded(cells, [(ECM, columns["startup"]), (ECM, columns["save"])], start)
            if ECM in servers:
                ecm = servers[ECM]
                guarded(
                    cells,
                    [(row, columns["save"]) for row in ROWS],
                    lambda: headline.extend(save_rounds(args, load, cells, columns, servers)),
                )
                token = login(ecm.url)
                for row in (ECM, PRISM):
                    if row not in servers:
                        continue
                    server = servers[row]
                    row_token = token if row == ECM else login(server.url)
                    guarded(
                        cells,
                        [(row, columns["login"])],
                        lambda row=row, server=server: login_cell(
                            load, cells, columns, row, server
                        ),
                    )
                    guarded(
                        cells,
                        [(row, columns["list"])],
                        lambda row=row, server=server, t=row_token: list_cell(
                            load, cells, columns, row, server, t
                        ),
                    )
                bulk = [(ECM, columns["bulk_json"]), (ECM, columns["bulk_csv"])]
                guarded(cells, bulk, lambda: bulk_cells(args, cells, columns, ecm.url, token))
                if "serving" not in args.skip:
                    for figure in (
                        lambda: delay_figure(args, load, ecm, token),
                        lambda: idle_figure(args, ecm),
                        lambda: upload_figure(args, load, ecm, token),
                    ):
                        try:
                            headline.append(figure())
                        except Exception as error:  # a failed step is a finding
                            headline.append(f"serving figure failed: {short(error)}")
                        log(headline[-1])
            Server.stop_all()
            if "contacts" not in args.skip:
                for count in memory_counts:
                    keys = [(ECM, columns[f"memory_{count}"])]
                    if count == args.contacts:
                        keys.append((ECM, columns["contacts"]))
                    guarded(
                        cells,
                        keys,
                        lambda count=count: run_contacts(
                            args, workdir, load, cells, columns, count
                        ),
                    )
            notes = load.notes
            if "runtime" not in args.skip:
                try:
                    headline.extend(run_runtime(args, workdir))
                except Exception as error:  # a failed step is a finding, the run goes on
                    headline.append(f"campaign runtime: failed: {short(error)}")
    finally:
        Server.stop_all()

    elapsed = time.perf_counter() - started
    print(f"Command: `{command_line()}`  ")
    print(f"Machine: {machine()}  ")
    print(
        f"Load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
        f"{f' after a {args.warmup} s warm-up' if args.warmup else ''}; attempt save in "
        f"{args.rounds} interleaved round(s). Run took {elapsed:.0f} s.\n"
    )
    for line in headline:
        print(f"- {line}")
    print()
    header = ["server", *columns.values()]
    print(
        "wrk cells are requests/s · p50 / p99 latency in ms (attempt save: medians over the "
        "rounds, then the range of requests/s); '-' = not measured.\n"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in ROWS:
        values = [cells[row].get(key, "-") or "-" for key in columns.values()]
        print("| " + " | ".join([row, *values]) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        Server.stop_all()
        print("interrupted", file=sys.stderr)
        sys.exit(130)
