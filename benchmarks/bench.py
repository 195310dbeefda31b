"""Side-by-side benchmark: ecm-mock, the raw Flask ceiling and Prism, in one run, one table.

Servers, each started as a subprocess on a free port (start-up = process start to the first
HTTP answer):

- ecm-mock, as the figures below are meant: ``.venv/bin/ecm-mock serve --threads 1`` (one
  process, one Python thread on granian; validation on); again with ``--fake-contacts 100000``
  and ``--fake-contacts N`` (``--contacts``) for start-up time, memory (PSS from
  /proc/PID/smaps_rollup, summed over the processes; VmRSS from
  /proc/PID/status) and the contacts page;
- ecm-mock with its default 8 threads, and with ``--workers 2`` (two HTTP worker processes and
  an engine process holding the one state): attempt save only;
- raw Flask: benchmarks/raw_flask.py (attempt save only, no validation, no state shared) on the
  same server setups: granian with one process and one thread (the ceiling of the first row)
  and granian with 2 workers (the ceiling of ``--workers 2``); and on gunicorn (2 gthread
  workers of 4 threads with SO_REUSEPORT, pip-installed into this venv when missing: not a
  project dependency), the ceiling the issue first named;
- Prism 5.16 (``@stoplight/prism-cli@5.16.0``, npm-installed into benchmarks/.prism when
  missing) mocking openapi/ecm.yaml, which validates requests.

Load: wrk (system package) with 16 connections and 2 threads; requests/s, p50 and p99 latency
for login (GET with a JSON body), attempt save (POST with a token and a retry map, spread
round-robin over many strategies: one holds at most 99 such attempts), campaign list and a
page of 50 contacts (a random page of campaign 1, a third of the fake contacts). Then bulk
uploads of 100,000 contacts to ecm-mock, as JSON and as a CSV multipart file.

The campaign runtime (no wrk): in-process, advancing a frozen clock 24 hours with 100,000
contacts (``--runtime-contacts``) over 10 ACTIVE campaigns, and the same day again in the
slices a running clock makes (how long each holds the store's lock); then ``ecm-mock serve``
with that data and its clock running at a simulated day per wall second (the runtime always
behind): the wait of contacts pages, beside the same requests with the simulation off.

A figure, not a test: nothing here asserts. Progress goes to stderr, the table to stdout.
Every server started is killed at the end, also on failure or Ctrl-C.

    python benchmarks/bench.py [--duration 10] [--contacts 1000000] [--bulk 100000] [--quick]
                               [--runtime-contacts 100000]
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

ECM = "ecm-mock (1 process, --threads 1)"
ECM_THREADS = "ecm-mock (default: 1 process, 8 threads)"
ECM_WORKERS = "ecm-mock (--workers 2 --threads 2)"
GRANIAN = "raw Flask (granian, 1 process, 1 thread)"
GRANIAN_WORKERS = "raw Flask (granian, 2 workers)"
GUNICORN = "raw Flask (gunicorn, 2 workers)"
PRISM = "Prism"
ROWS = (ECM, ECM_THREADS, ECM_WORKERS, GRANIAN, GRANIAN_WORKERS, GUNICORN, PRISM)
ECM_OPTIONS = ("--threads", "1")
VARIANTS = {ECM_THREADS: (), ECM_WORKERS: ("--workers", "2", "--threads", "2")}
CEILINGS = {ECM: GRANIAN, ECM_WORKERS: GRANIAN_WORKERS}
READY_PATH = "/__admin/clock"  # ecm-mock answers it once its app and state are built

ATTEMPTS_PER_STRATEGY = 90  # 99 fit (attempt 100 would point its retry map at itself)
RATE_CAPACITY = 15000  # attempt saves/s the strategies are sized for; more → 406s, reported
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
        # workers left behind in the group (gunicorn's) go too
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

    def measure(self, row: str, label: str, server: Server, script: Path) -> str:
        """One table cell: ``req/s · p50 / p99`` of a wrk run after a short warm-up."""
        if self.args.warmup:
            self.wrk(server, script, self.args.warmup)
        cpu_before, began = server.cpu_seconds(), time.perf_counter()
        stats = self.wrk(server, script, self.args.duration)
        cpu = (server.cpu_seconds() - cpu_before) / (time.perf_counter() - began)
        rate = stats["requests"] / (stats["duration_us"] / 1e6)
        errors = {k: stats[k] for k in ("connect", "read", "write", "status", "timeout")}
        cell = f"{rate:,.0f} · {stats['p50_us'] / 1000:.1f} / {stats['p99_us'] / 1000:.1f}"
        note = f"{row}, {label}: server processes used {cpu * 100:.0f}% of a core"
        bad = {k: v for k, v in errors.items() if v}
        if bad:
            cell += " (errors)"
            note += f"; ERRORS {bad} of {stats['requests']:,} requests"
        self.notes.append(note)
        log(f"{row}, {label}: {cell} (req/s · p50 / p99 ms), cpu {cpu * 100:.0f}%")
        if bad.get("status", 0) == stats["requests"]:
            return f"failed: all {stats['requests']:,} requests answered >= 400"
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


def ensure_gunicorn() -> Path:
    gunicorn = BIN / "gunicorn"
    if not gunicorn.exists():
        log("gunicorn is missing: pip install gunicorn into this venv")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "gunicorn"], check=True)
    return gunicorn


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
def run_ecm_default(args, workdir: Path, load: Load, cells: dict, columns: dict) -> None:
    """Start-up (median of runs), then login, attempt save and campaign list, then bulk."""
    times, memory = [], {}
    server = None
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
    try:
        base = server.url
        token = login(base)
        wrk_columns = [(ECM, columns[k]) for k in ("login", "save", "list")]
        guarded(cells, wrk_columns[:1], lambda: login_cell(load, cells, columns, ECM, server))
        guarded(
            cells,
            wrk_columns[1:2],
            lambda: save_cell(args, load, cells, columns, server, token, ECM),
        )
        guarded(
            cells,
            wrk_columns[2:],
            lambda: list_cell(load, cells, columns, ECM, server, token),
        )
        bulk = [(ECM, columns["bulk_json"]), (ECM, columns["bulk_csv"])]
        guarded(cells, bulk, lambda: bulk_cells(args, cells, columns, base, token))
    finally:
        server.stop()


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


def save_cell(args, load: Load, cells, columns, server: Server, token: str, row: str) -> None:
    seconds = args.duration + args.warmup
    count = math.ceil(RATE_CAPACITY * seconds / ATTEMPTS_PER_STRATEGY)
    log(f"creating {count} strategies to spread the attempts over")
    began = time.perf_counter()
    ids = [
        call(server.url, "POST", "/umm/ecm/callStrategy/save", {"name": f"Bench {i}"}, token)["id"]
        for i in range(count)
    ]
    log(f"... in {time.perf_counter() - began:.1f} s")
    load.strategy_ids = load.strategy_ids or ids
    script = save_script(args, load, ids, token, server.port)
    cells[row][columns["save"]] = load.measure(row, "attempt save", server, script)


def run_ecm_variant(args, workdir: Path, load: Load, cells, columns, row: str) -> None:
    """Attempt save on another set-up of ecm-mock (its own state: strategies made anew)."""
    server = ecm_mock(workdir, *VARIANTS[row], row=row).start(timeout=args.startup_timeout)
    try:
        save_cell(args, load, cells, columns, server, login(server.url), row)
        load.notes.append(
            f"{row}: `ecm-mock serve {shlex.join(VARIANTS[row])}`".replace(" `", " `")
        )
    finally:
        server.stop()


def bulk_cells(args, cells, columns, base: str, token: str) -> None:
    count = args.bulk
    rows = [
        {"phone01": f"+1777{i:09d}", "firstName": "Bulk", "lastName": f"Row{i}"}
        for i in range(count)
    ]
    body = json.dumps({"campaignId": 1, "contacts": rows}).encode()
    request = urllib.request.Request(
        base + "/umm/ecm/campaignContact/bulkUpload",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    cells[ECM][columns["bulk_json"]] = timed_upload(request, count, len(body), "JSON")

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
    cells[ECM][columns["bulk_csv"]] = timed_upload(request, count, len(body), "CSV")


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


def run_raw(args, workdir: Path, load: Load, cells, columns, row: str, token: str) -> None:
    port = free_port()
    if row == GUNICORN:
        gunicorn = str(ensure_gunicorn())
        # --reuse-port: a socket per worker, so the kernel spreads the keep-alive connections
        argv = [gunicorn, "-w", "2", "-k", "gthread", "--threads", "4", "--reuse-port"]
        usage = subprocess.run([gunicorn, "--help"], capture_output=True, text=True).stdout
        if "--no-control-socket" in usage:  # gunicorn >= 25 would open ~/.gunicorn/gunicorn.ctl
            argv.append("--no-control-socket")
        argv += ["-b", f"127.0.0.1:{port}", "raw_flask:app"]
    else:  # granian, as ecm-mock serve runs it
        workers, threads = ("2", "2") if row == GRANIAN_WORKERS else ("1", "1")
        argv = [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--workers", workers, "--blocking-threads", threads]
        argv += ["raw_flask:app"]
    server = Server(row, argv, port, workdir, cwd=BENCH, ready_path="/")
    try:
        server.start(timeout=args.startup_timeout)
        ids = load.strategy_ids or list(range(1, 101))
        call(server.url, "POST", "/umm/ecm/callStrategyAttempt/save", {"csId": ids[0]}, token)
        script = save_script(args, load, ids, token or "x", port)
        cells[row][columns["save"]] = load.measure(row, "attempt save", server, script)
        load.notes.append(f"{row}: `{shlex.join(argv[1:])}`")
    finally:
        server.stop()


def run_prism(args, workdir: Path, load: Load, cells, columns) -> None:
    prism = ensure_prism()
    port = free_port()
    argv = [str(prism), "mock", "-p", str(port), "-h", "127.0.0.1", str(SPEC.relative_to(ROOT))]
    server = Server(PRISM, argv, port, workdir)
    try:
        server.start(timeout=args.startup_timeout)
        cells[PRISM][columns["startup"]] = f"{server.startup:.2f} s"
        token = login(server.url)  # Prism answers the spec's example: a fixed token
        keys = [(PRISM, columns[k]) for k in ("login", "save", "list")]
        guarded(cells, keys[:1], lambda: login_cell(load, cells, columns, PRISM, server))

        def save() -> None:
            body = {"csId": 1, "name": "Bench", "phone": "1", "channel": 0}
            call(server.url, "POST", "/umm/ecm/callStrategyAttempt/save", body, token)
            script = save_script(args, load, list(range(1, 101)), token, port)
            cells[PRISM][columns["save"]] = load.measure(PRISM, "attempt save", server, script)

        guarded(cells, keys[1:2], save)
        guarded(cells, keys[2:], lambda: list_cell(load, cells, columns, PRISM, server, token))
    finally:
        server.stop()


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
    from ecm_mock.server import _freeze

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
    _freeze()  # the garbage collection of `ecm-mock serve`: start-up's objects frozen
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
        f"campaign runtime, `ecm-mock serve {' '.join(ECM_OPTIONS)}` with its clock running at "
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
        help="comma-separated parts to leave out: "
        "ecm,threads,workers,granian,gunicorn,prism,contacts,runtime",
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
        "login": "login",
        "save": "attempt save",
        "list": "campaign list",
        "contacts": f"contacts page of 50 ({args.contacts:,} contacts)",
        "startup": "start-up (default data)",
        **{f"memory_{n}": f"{n:,} contacts: start-up, PSS" for n in memory_counts},
        "bulk_json": f"bulk upload {args.bulk:,} JSON",
        "bulk_csv": f"bulk upload {args.bulk:,} CSV",
    }
    cells: dict[str, dict[str, str]] = {row: {} for row in ROWS}

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with it ignored
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        with tempfile.TemporaryDirectory(prefix="ecm-bench-") as tmp:
            workdir = Path(tmp)
            load = Load(args, workdir)
            token = ""
            if "ecm" not in args.skip:
                every = ("login", "save", "list", "startup", "bulk_json", "bulk_csv")
                guarded(
                    cells,
                    [(ECM, columns[k]) for k in every],
                    lambda: run_ecm_default(args, workdir, load, cells, columns),
                )
            for row, part in ((ECM_THREADS, "threads"), (ECM_WORKERS, "workers")):
                if part not in args.skip:
                    guarded(
                        cells,
                        [(row, columns["save"])],
                        lambda row=row: run_ecm_variant(args, workdir, load, cells, columns, row),
                    )
            for row, part in (
                (GRANIAN, "granian"),
                (GRANIAN_WORKERS, "granian"),
                (GUNICORN, "gunicorn"),
            ):
                if part not in args.skip:
                    guarded(
                        cells,
                        [(row, columns["save"])],
                        lambda row=row: run_raw(args, workdir, load, cells, columns, row, token),
                    )
            if "prism" not in args.skip:
                keys = [(PRISM, columns[k]) for k in ("login", "save", "list", "startup")]
                guarded(cells, keys, lambda: run_prism(args, workdir, load, cells, columns))
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
                    notes = [*run_runtime(args, workdir), *notes]
                except Exception as error:  # a failed step is a finding, the run goes on
                    notes = [f"campaign runtime: failed: {short(error)}", *notes]
    finally:
        Server.stop_all()

    elapsed = time.perf_counter() - started
    header = ["server", *columns.values()]
    print(f"Command: `{command_line()}`  ")
    print(f"Machine: {machine()}  ")
    print(
        f"Load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
        f"{f' after a {args.warmup} s warm-up' if args.warmup else ''}; "
        "wrk cells are requests/s · p50 / p99 latency in ms; '-' = not applicable.  "
    )
    print(f"Run took {elapsed:.0f} s.\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in ROWS:
        values = [cells[row].get(key, "-") or "-" for key in columns.values()]
        print("| " + " | ".join([row, *values]) + " |")
    print()
    for line in ratios(cells, columns["save"]):
        print(f"- {line}")
    for note in notes:
        print(f"- {note}")
    return 0


def _rate(cell: str | None) -> float | None:
    try:
        return float(cell.split(" ", 1)[0].replace(",", "")) if cell else None
    except ValueError:
        return None


def ratios(cells: dict, column: str) -> list[str]:
    """Attempt save of each ecm-mock row against Prism and against its own ceiling."""
    lines = []
    prism = _rate(cells[PRISM].get(column))
    for row, ceiling_row in CEILINGS.items():
        mine, ceiling = _rate(cells[row].get(column)), _rate(cells[ceiling_row].get(column))
        if mine is None:
            continue
        parts = []
        if prism:
            parts.append(f"{mine / prism:.2f}x Prism (target 2x)")
        if ceiling:
            parts.append(f"{mine / ceiling:.2f} of {ceiling_row} (target 0.5)")
        if parts:
            lines.append(f"attempt save, {row}: " + "; ".join(parts))
    return lines


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        Server.stop_all()
        print("interrupted", file=sys.stderr)
        sys.exit(130)
