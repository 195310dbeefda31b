"""Figures of issue 11 (a hostile client): bulk uploads, memory of the control plane, sizes.

Starts ``python -m ecm_mock.cli serve`` (granian, default settings unless said) as a
subprocess on a free port for each case, and measures over HTTP with the standard library:

- bulk uploads of 100,000 contact rows (JSON and CSV: valid, invalid, one number repeated)
  and of 100,000 DNC rows, 20,000 invalid DNC rows, 3,000,000 repeated DNC rows as CSV (over
  the row cap): time, status, size of the answer;
- another session's requests while a 100,000-row upload runs: p50 and p99 against the same
  requests with nothing else running (and their ratio);
- 20 requests with 50,000 unknown properties each: the server's RSS before and after, the
  size of ``GET /__admin/journal?limit=20``;
- 200 snapshots of a session holding 5,000 contacts: how many were taken, RSS before/after;
- 10,000 fault rules (none matching the request): how many were taken, and the campaign list
  with them against without (time per request, ratio).

A figure, not a test: nothing here asserts. The table goes to stdout. The server runs the
``ecm_mock`` that ``python`` imports: set PYTHONPATH to measure another tree (an older commit).

    python benchmarks/hostile.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROWS = 100_000
LOGIN = {"username": "admin", "password": "admin"}


# ---------------------------------------------------------------------- server
class Server:
    def __init__(self, port: int, process: subprocess.Popen) -> None:
        self.port, self.process = port, process
        self.token = ""

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> tuple[int, bytes, float]:
        """(status, answer, seconds) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {"Content-Type": content_type, **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            return response.status, data, time.perf_counter() - started
        except (OSError, http.client.HTTPException) as error:
            return 0, str(error).encode(), time.perf_counter() - started
        finally:
            connection.close()

    def login(self) -> None:
        status, data, _ = self.call("POST", "/umm/api/login", json.dumps(LOGIN).encode())
        assert status == 200, data
        self.token = json.loads(data)["token"]

    def rss(self) -> int:
        """Resident set size of the server's processes (granian's and its worker's), bytes."""
        total = 0
        for pid in _tree(self.process.pid):
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024
        return total


def _tree(root: int) -> list[int]:
    """``root`` and its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


@contextmanager
def serving(*options: str) -> Iterator[Server]:
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "ecm_mock.cli", "serve", "--port", "0", *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"listening on http://[\d.]+:(\d+)", _read(log.name))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {_read(log.name)[-2000:]}")
            time.sleep(0.05)  # poll interval of the log file
        server = Server(int(match.group(1)), process)
        for _ in range(200):  # until it answers
            if server.call("GET", "/__admin/clock")[0] == 200:
                break
            time.sleep(0.05)
        server.login()
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        Path(log.name).unlink(missing_ok=True)


def _read(name: str) -> str:
    return Path(name).read_text(errors="replace")


# ----------------------------------------------------------------------- bodies
def multipart(fields: dict[str, str], csv: str) -> tuple[bytes, str]:
    boundary = "hostile-bench"
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value.encode() + b"\r\n"
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="rows.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body += csv.encode() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def contact_rows(kind: str, n: int = ROWS) -> list[dict[str, str]]:
    if kind == "valid":
        return [{"phone01": f"+1555{i:07d}", "firstName": "Ann"} for i in range(n)]
    if kind == "invalid":
        return [{"phone01": f"x{i}", "firstName": "Ann"} for i in range(n)]
    return [{"phone01": "+15550000001", "firstName": "Ann"}] * n  # one number repeated


def contact_csv(kind: str, n: int = ROWS) -> str:
    rows = contact_rows(kind, n)
    return "phone01,firstName\n" + "".join(f"{r['phone01']},{r['firstName']}\n" for r in rows)


# ------------------------------------------------------------------------ cases
Table = list[tuple[str, str]]


def uploads(table: Table) -> None:
    with serving() as server:
        for kind, campaign in (("valid", 1), ("invalid", 2), ("duplicate", 3)):
            body = json.dumps({"campaignId": campaign, "contacts": contact_rows(kind)}).encode()
            _upload(table, server, f"100,000 {kind} contact rows, JSON", body, "application/json")
        for kind, campaign in (("valid", 2), ("invalid", 3), ("duplicate", 1)):
            body, media = multipart({"campaignId": str(campaign)}, contact_csv(kind))
            _upload(table, server, f"100,000 {kind} contact rows, CSV", body, media)
        dnc = [{"primaryNumber": f"+1666{i:07d}"} for i in range(ROWS)]
        _upload(table, server, "100,000 valid DNC rows, JSON", json.dumps(dnc).encode(), None)
        bad = [{"primaryNumber": f"x{i}", "reason": "r"} for i in range(20_000)]
        _upload(table, server, "20,000 invalid DNC rows, JSON", json.dumps(bad).encode(), None)
        body, media = multipart({}, "primaryNumber\n" + "+1\n" * 3_000_000)  # 9 MB
        _upload(table, server, "3,000,000 repeated DNC rows, CSV", body, media)
        table.append(("server RSS after the uploads", _mb(server.rss())))


def _upload(table: Table, server: Server, label: str, body: bytes, media: str | None) -> None:
    path = "/umm/ecm/dnc/bulkUpload" if "DNC" in label else "/umm/ecm/campaignContact/bulkUpload"
    status, data, seconds = server.call("POST", path, body, media or "application/json")
    summary = ""
    if status == 200:
        report = json.loads(data)
        summary = ", ".join(f"{k} {v}" for k, v in report.items() if isinstance(v, int))
    else:
        summary = data[:120].decode(errors="replace")
    table.append(
        (f"upload: {label}", f"{status}, {seconds:.2f} s, answer {len(data):,} B ({summary})")
    )


def other_session(table: Table) -> None:
    """The campaign list alone, and while an upload of 100,000 rows runs: of another session
    during a valid upload, of the upload's own session during an invalid one."""
    with serving() as server:
        alone = _latencies(server, {}, lambda: False, 200)
        _row(table, "campaign list, nothing else running", alone)
        for kind, session, label in (
            ("valid", "other", "another session's campaign list during a valid upload"),
            ("invalid", None, "the same session's campaign list during an invalid upload"),
        ):
            body = json.dumps({"campaignId": 1, "contacts": contact_rows(kind)}).encode()
            done = threading.Event()
            upload = threading.Thread(
                target=lambda body=body, done=done: (
                    server.call("POST", "/umm/ecm/campaignContact/bulkUpload", body),
                    done.set(),
                )
            )
            upload.start()
            headers = {"X-Mock-Session": session} if session else {}
            during = _latencies(server, headers, done.is_set, 100_000)
            upload.join()
            _row(table, label, during)
            ratio = _percentile(during, 99) / max(_percentile(alone, 99), 1e-9)
            table.append(("  its p99 / p99 with nothing else running", f"{ratio:.1f}x"))


def _row(table: Table, label: str, values: list[float]) -> None:
    table.append(
        (
            label,
            f"{len(values)} requests, p50 {_ms(values, 50)}, p99 {_ms(values, 99)}, "
            f"max {max(values) * 1000:.1f} ms",
        )
    )


def _latencies(server: Server, headers: dict, stop: Callable[[], bool], most: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    sent = {"Authorization": f"Bearer {server.token}", **headers}
    values: list[float] = []
    while not stop() and len(values) < most:
        started = time.perf_counter()
        connection.request("GET", "/umm/ecm/campaign/list", headers=sent)
        connection.getresponse().read()
        values.append(time.perf_counter() - started)
    connection.close()
    return values


def journal(table: Table) -> None:
    """20 such requests, then 20 more: memory the journal holds grows with them, what the
    allocator keeps after a large request (its high-water mark) does not."""
    with serving() as server:
        before = server.rss()
        body = json.dumps({"name": "x", **{f"k{i}": i for i in range(50_000)}}).encode()
        sizes, seconds, statuses, rss = [], [], set(), []
        for _ in range(2):
            for _ in range(20):
                status, data, spent = server.call("POST", "/umm/ecm/callStrategy/save", body)
                sizes.append(len(data))
                seconds.append(spent)
                statuses.add(status)
            rss.append(server.rss())
        _, data, _ = server.call("GET", "/__admin/journal?limit=20")
        table.append(
            (
                "journal: 20 requests of 50,000 unknown properties",
                f"status {sorted(statuses)}, {statistics.mean(seconds):.2f} s each, "
                f"answers {max(sizes):,} B",
            )
        )
        table.append(
            (
                "  server RSS before, after 20, after 40",
                f"{_mb(before)}, {_mb(rss[0])} (+{_mb(rss[0] - before)}), "
                f"{_mb(rss[1])} (+{_mb(rss[1] - before)})",
            )
        )
        table.append(("  GET /__admin/journal?limit=20", f"{len(data):,} B"))


def snapshots(table: Table) -> None:
    with serving() as server:
        headers = {"X-Mock-Session": "big"}
        rows = json.dumps({"campaignId": 1, "contacts": contact_rows("valid", 5000)}).encode()
        server.call("POST", "/umm/ecm/campaignContact/bulkUpload", rows, headers=headers)
        before = server.rss()
        statuses: dict[int, int] = {}
        for i in range(200):
            body = json.dumps({"name": f"s{i}"}).encode()
            status, _, _ = server.call("POST", "/__admin/snapshots", body, headers=headers)
            statuses[status] = statuses.get(status, 0) + 1
        after = server.rss()
        table.append(
            (
                "snapshots: 200 of a 5,000-contact session",
                ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items())),
            )
        )
        table.append(
            ("  server RSS before, after", f"{_mb(before)}, {_mb(after)} (+{_mb(after - before)})")
        )


def faults(table: Table) -> None:
    with serving() as server:
        alone = _per_request(server)
        statuses: dict[int, int] = {}
        for i in range(10_000):
            rule = json.dumps({"path": f"/nowhere/{i}", "status": 503}).encode()
            status = server.call("POST", "/__admin/faults", rule)[0]
            statuses[status] = statuses.get(status, 0) + 1
        with_rules = _per_request(server)
        table.append(
            (
                "faults: 10,000 rules added",
                ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items())),
            )
        )
        table.append(
            (
                "  campaign list without, with the rules",
                f"{alone * 1000:.2f} ms, {with_rules * 1000:.2f} ms ({with_rules / alone:.2f}x)",
            )
        )


def _per_request(server: Server, n: int = 2000) -> float:
    values = _latencies(server, {}, lambda: False, n)
    return statistics.median(values)


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _ms(values: list[float], p: int) -> str:
    return f"{_percentile(values, p) * 1000:.1f} ms" if values else "-"


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


CASES = {
    "uploads": uploads,
    "other-session": other_session,
    "journal": journal,
    "snapshots": snapshots,
    "faults": faults,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="these cases only")
    args = parser.parse_args()
    table: Table = []
    for name in args.only or CASES:
        print(f"[{name}]", file=sys.stderr, flush=True)
        CASES[name](table)
    width = max(len(label) for label, _ in table)
    for label, value in table:
        print(f"{label.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
