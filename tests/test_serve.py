"""`ecm-mock serve`: a real process on a free port, configured by options and ECM_MOCK_*."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ecm_mock import Settings
from ecm_mock.serving import wait_for_port

SAVE = "/umm/ecm/callStrategy/save"
ECM_MOCK = shutil.which("ecm-mock") or str(Path(os.sys.executable).parent / "ecm-mock")


def _start(
    *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """Start ``ecm-mock serve`` on a free port. Its output goes to a pipe (read it at the end,
    a few requests' worth), or to ``log`` when a test makes many requests: a pipe nobody
    reads fills up and stops the server."""
    out = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [ECM_MOCK, "serve", "--port", "0", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    announced = re.compile(r"listening on http://([\d.]+):(\d+)")
    if log:
        out.close()
        deadline = time.monotonic() + 30
        while not (match := announced.search(log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)  # poll interval of the output file, not a wait for readiness
    else:
        seen: list[str] = []
        while not (match := announced.search(seen[-1] if seen else "")):
            seen.append(process.stdout.readline())
            assert seen[-1] and len(seen) < 20, "".join(seen)
    host, port = match.group(1), int(match.group(2))
    wait_for_port(host, port)
    return process, f"http://{host}:{port}"


def _call(base: str, method: str, path: str, body=None, token: str | None = None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_serve_answers_logs_and_stops_cleanly_on_ctrl_c():
    process, base = _start("--seed", "3", "--fake-contacts", "10")
    try:
        status, login = _call(
            base, "GET", "/umm/api/login", {"username": "admin", "password": "admin"}
        )
        assert status == 200
        status, page = _call(
            base, "GET", "/umm/ecm/campaignContact/list?campaignId=1", token=login["token"]
        )
        assert page["totalElements"] == 3 + 4  # 10 fake contacts over 3 campaigns: 4, 3, 3
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "ecm-mock: stopped" in output
    assert re.search(r'"GET /umm/ecm/campaignContact/list\?campaignId=1" 200 [\d.]+ms', output)
    assert "Traceback" not in output


def test_serve_reads_ecm_mock_environment_variables():
    process, base = _start(env={"ECM_MOCK_CISCO": "ccx", "ECM_MOCK_TOKEN_TTL": "60"})
    try:
        _, login = _call(base, "POST", "/umm/api/login", {"username": "admin", "password": "admin"})
        assert login["expires_in"] == 60
        _, cisco = _call(base, "GET", "/umm/ecm/campaign/fetchCiscoCampaigns", token=login["token"])
        assert "type" in cisco[0]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


def test_serve_refuses_bad_settings_with_a_message(tmp_path):
    result = subprocess.run(
        [ECM_MOCK, "serve", "--fixtures", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "fixtures directory not found" in result.stderr
    result = subprocess.run(
        [ECM_MOCK, "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ECM_MOCK_CISCO": "avaya"},
    )
    assert result.returncode == 2
    assert "cisco must be 'cce' or 'ccx'" in result.stderr


def test_settings_from_env_and_overrides():
    env = {"ECM_MOCK_PORT": "9001", "ECM_MOCK_SEED": "5", "ECM_MOCK_FIXTURES": "/x"}
    settings = Settings.from_env(env, seed=6)
    assert (settings.port, settings.seed, settings.fixtures) == (9001, 6, Path("/x"))
    with pytest.raises(ValueError, match="ECM_MOCK_PORT='eighty' is not a number"):
        Settings.from_env({"ECM_MOCK_PORT": "eighty"})


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return sorted(found)


def _ready(base: str) -> None:
    """Wait until the workers answer (granian may open the port before they load the app)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/__admin/clock", timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # poll interval, not a wait for readiness


def test_serve_with_workers_keeps_one_state_across_its_processes():
    process, base = _start("--workers", "2", "--threads", "2")
    try:
        _ready(base)
        assert len(_children(process.pid)) == 3  # the engine and two HTTP workers
        _, login = _call(base, "POST", "/umm/api/login", {"username": "admin", "password": "admin"})
        token = login["token"]
        made = {
            _call(base, "POST", SAVE, {"name": f"Across {i}"}, token)[1]["id"] for i in range(20)
        }
        assert len(made) == 20  # one id sequence: no two workers gave out the same id
        for _ in range(10):  # each call on a new connection: the kernel spreads them
            _, strategies = _call(base, "GET", "/umm/ecm/callStrategy/list", token=token)
            assert made <= {s["id"] for s in strategies}
        _call(base, "POST", "/__admin/reset")
        _, strategies = _call(base, "GET", "/umm/ecm/callStrategy/list", token=token)
        assert not made & {s["id"] for s in strategies}
        _, journal = _call(base, "GET", "/__admin/journal?operationId=saveStrategy")
        assert len(journal) == 20
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "ecm-mock: stopped" in output
    assert "Traceback" not in output


def test_serve_with_workers_refuses_bad_fixtures_with_a_message(tmp_path):
    result = subprocess.run(
        [ECM_MOCK, "serve", "--workers", "2", "--fixtures", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "fixtures directory not found" in result.stderr


def test_serve_with_workers_stops_when_its_engine_dies():
    process, base = _start("--workers", "2")
    try:
        _ready(base)
        engine = _children(process.pid)[0]  # started before the HTTP workers
        os.kill(engine, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "the engine process stopped" in output
    assert process.returncode != 0


def test_the_contract_kit_passes_against_serve_with_workers(tmp_path):
    """The whole kit (fuzz, stateful, scenarios) against the multi-process server."""
    process, base = _start("--workers", "2", "--threads", "2", log=tmp_path / "serve.log")
    try:
        _ready(base)
        result = subprocess.run(
            [
                ECM_MOCK,
                "contract",
                "--target",
                base,
                "--allow-destructive",
                "--report-dir",
                tmp_path,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (tmp_path / "junit.xml").exists()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
