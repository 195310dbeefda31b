"""Shared fixtures: an app per test (fixed clock), its client, a token, a live server on port 0."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from waitress.server import create_server

from ecm_mock import FixedClock, Settings, create_app, load_spec, services_of

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "ecm.yaml"
REFERENCE = ROOT.parent / "shared" / "ecm-api" / "REFERENCE.md"
START = 1_790_000_000.0  # a fixed "now" (2026-09-21) for the clock of test apps


@pytest.fixture(scope="session")
def spec():
    return load_spec(SPEC_PATH)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def app(settings, clock):
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return services_of(app).store


@pytest.fixture
def token(client) -> str:
    response = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    assert response.status_code == 200, response.json
    return response.json["token"]


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(client, auth):
    """``api("POST", path, json=...)``: the client with the admin's token."""

    def call(method: str, path: str, **kwargs):
        headers = {**auth, **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on host:port (never a fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.01)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test's app on a real threaded WSGI server (waitress) on a free port."""
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=5)
