"""Shared fixtures: an app per test (fixed clock), its client, a token, a live server on port 0.

``pytest --engine remote`` runs the same tests with the app's state in an engine behind a Unix
socket (as ``ecm-mock serve --workers N`` runs it), served from a thread of the test process:
every request and answer then crosses the socket, pickled. Tests that reach into the app's
services directly are marked ``local_engine`` and skipped then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecm_mock import FixedClock, Settings, create_app, load_spec, services_of
from ecm_mock.app import build_engine
from ecm_mock.engine import Engine
from ecm_mock.remote import EngineServer, RemoteEngine
from ecm_mock.serving import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "ecm.yaml"
REFERENCE = ROOT.parent / "shared" / "ecm-api" / "REFERENCE.md"
START = 1_790_000_000.0  # a fixed "now" (2026-09-21) for the clock of test apps


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=("local", "remote"),
        default="local",
        help="where test apps keep their state: in-process, or behind a Unix socket",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_engine: reads the app's services directly")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--engine") == "remote":
        skip = pytest.mark.skip(reason="reads the app's services directly (local engine only)")
        for item in items:
            if "local_engine" in item.keywords:
                item.add_marker(skip)


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
def engine(request, settings, clock, tmp_path_factory) -> Iterator[tuple[Engine, str] | None]:
    """With ``--engine remote``: the Engine and the Unix socket a thread serves it on."""
    if request.config.getoption("--engine") == "local":
        yield None
        return
    local = build_engine(settings, clock=clock)
    # a short directory: a Unix socket's path is limited to about 100 bytes
    address = str(tmp_path_factory.mktemp("engine", numbered=True) / "e.sock")
    server = EngineServer(local, address)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield local, address
    server.stop()
    thread.join(5)


@pytest.fixture
def app(settings, clock, engine):
    if engine is None:
        return create_app(settings, clock=clock)
    return create_app(settings, engine=RemoteEngine(engine[1]))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app, engine):
    """The app's sessions, clock, faults, journal: in this process either way."""
    return engine[0].services if engine is not None else services_of(app)


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
    """The test's app on a real threaded WSGI server (waitress) on a free port."""
    with BackgroundServer(app) as server:
        yield server.url
