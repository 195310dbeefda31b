"""Shared fixtures: an app per test (fixed clock), its client, a token, a live server on port 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecm_mock import FixedClock, Settings, create_app, load_spec, services_of
from ecm_mock.serving import BackgroundServer

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
def services(app):
    """The app's sessions, clock, faults, journal."""
    return services_of(app)


@pytest.fixture
def store(services):
    return services.store


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


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test's app on a real server (serving.BackgroundServer: granian) on a free port."""
    with BackgroundServer(app) as server:
        yield server.url
