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


def test_switches_are_read_from_the_environment_as_the_flags_name_them():
    assert Settings.from_env({"ECM_MOCK_NO_ADMIN": "1"}).admin is False
    assert Settings.from_env({"ECM_MOCK_NO_RUNTIME": "yes"}).runtime is False
    assert Settings.from_env({"ECM_MOCK_NO_RUNTIME": "0"}).runtime is True
    assert Settings.from_env({"ECM_MOCK_ADMIN": "0"}).admin is False
    with pytest.raises(ValueError, match="ECM_MOCK_ADMIN and ECM_MOCK_NO_ADMIN are both set"):
        Settings.from_env({"ECM_MOCK_ADMIN": "1", "ECM_MOCK_NO_ADMIN": "1"})
    with pytest.raises(ValueError, match="ECM_MOCK_NO_ADMIN='maybe' is not a yes/no value"):
        Settings.from_env({"ECM_MOCK_NO_ADMIN": "maybe"})
