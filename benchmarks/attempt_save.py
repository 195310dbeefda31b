"""Throughput of the attempt-save operation (POST, request and response validation on).

Starts `ecm-mock serve` on a free port, logs in, creates strategies to spread the attempts
over, then drives POST /umm/ecm/callStrategyAttempt/save with wrk (system package `wrk`).
Prints requests/s and latency percentiles. A figure, not a test: nothing here asserts.

    python benchmarks/attempt_save.py [--duration 10] [--connections 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

LUA = """
local n = 0
request = function()
  n = n + 1
  local cs = FIRST + (n % COUNT)
  local body = '{"csId":' .. cs .. ',"name":"Bench","phone":"1","channel":0,' ..
    '"retryMap":[{"attempt_number":100,"delay":10,"call_result":2}]}'
  return wrk.format("POST", "/umm/ecm/callStrategyAttempt/save",
    {["Content-Type"]="application/json", ["Authorization"]="Bearer TOKEN"}, body)
end
"""


def call(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    mock = str(Path(sys.executable).parent / "ecm-mock")
    server = subprocess.Popen(
        [mock, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = re.search(r":(\d+) ", server.stdout.readline()).group(1)
        base = f"http://127.0.0.1:{port}"
        token = call(base, "POST", "/umm/api/login", {"username": "admin", "password": "admin"})[
            "token"
        ]
        count = 400  # 100 attempts fit in a strategy; spread the load over many
        ids = [
            call(base, "POST", "/umm/ecm/callStrategy/save", {"name": f"Bench {i}"}, token)["id"]
            for i in range(count)
        ]
        script = LUA.replace("FIRST", str(ids[0])).replace("COUNT", str(count))
        script = script.replace("TOKEN", token)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        result = subprocess.run(
            [
                "wrk",
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "-s",
                handle.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print(
            f"attempt save, validation on, wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s, {os.cpu_count()} cores"
        )
        print(result.stdout)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
