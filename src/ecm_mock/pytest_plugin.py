"""pytest plugin: a live ecm-mock for client teams' tests (loaded automatically once installed).

Fixtures:

- ``ecm_mock_server`` (session): one mock on a free port for the whole run;
- ``ecm_mock`` (function): the same server, with its state (and campaign runtime),
  snapshots, sessions, fault rules, clock and journal reset before the test, so tests never
  see each other's data. The clock runs on wall time: data moves only in campaigns a test
  activates (``ecm_mock.admin.advance(seconds)`` runs the campaign runtime ahead).

Both give an :class:`EcmMock`: ``.url``, ``.admin`` (an :class:`~ecm_mock.AdminClient`) and
``.token(username, password)``. Options: ``--ecm-mock-seed``, ``--ecm-mock-fixtures``,
``--ecm-mock-cisco``; or the ini keys ``ecm_mock_seed``, ``ecm_mock_fixtures``,
``ecm_mock_cisco``; or the ``ECM_MOCK_*`` environment variables of ``ecm-mock serve``.
The server starts only when a test asks for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .admin_client import AdminClient, login

OPTIONS = ("seed", "fixtures", "cisco")


class EcmMock:
    """A running mock: its base ``url``, its control plane ``admin`` and a way to log in."""

    def __init__(
        self,
        url: str,
        admin: AdminClient,
        settings: Any,
        app: Any,
        fixtures: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.admin = admin
        self.settings = settings
        self.app = app
        self._fixtures = fixtures  # the start-up fixture document, as JSON data

    def __repr__(self) -> str:
        return f"<EcmMock {self.url}>"

    def token(self, username: str = "admin", password: str = "admin") -> str:  # noqa: S107
        """A bearer token from ``POST /umm/api/login`` (AdminError if the login is refused)."""
        return login(self.url, username, password, timeout=self.admin.timeout)

    def reset_all(self) -> None:
        """No fault rules, the clock running on wall time, the default state and every session
        back to their fixtures (their campaign runtimes too) with no snapshots, an empty
        journal."""
        self.admin.clear_faults()
        clock = self.admin.clock()  # first: a state's campaign runtime starts at the clock's now
        epoch = clock.get("epochSeconds") or _epoch(clock["now"])
        if clock["frozen"] or clock.get("speed", 1) != 1 or abs(epoch - time.time()) > 2:
            self.admin.set_clock(frozen=False, now=datetime.now(UTC), speed=1)
        for name in [None, *self.admin.sessions()["sessions"]]:
            admin = self.admin.for_session(name)
            if self._fixtures is None:
                admin.reset()
            else:  # not reset(): after a test's load_fixtures(), reset() goes back to *that*
                admin.load_fixtures(self._fixtures)
            for snapshot in admin.snapshots():
                admin.delete_snapshot(snapshot["name"])
        self.admin.clear_journal()


def _as_json(document: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return json.loads(json.dumps(document))
    except (TypeError, ValueError):  # not JSON data (a YAML timestamp?): plain resets then
        return None


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecm-mock", "ecm-mock server (fixtures ecm_mock, ecm_mock_server)")
    group.addoption(
        "--ecm-mock-seed", type=int, metavar="N", help="seed of the mock's generated data (0)"
    )
    group.addoption(
        "--ecm-mock-fixtures", metavar="DIR", help="fixtures directory (default: the shipped set)"
    )
    group.addoption("--ecm-mock-cisco", choices=("cce", "ccx"), help="Cisco flavour (cce)")
    for name in OPTIONS:
        parser.addini(f"ecm_mock_{name}", f"default of --ecm-mock-{name}")


def _settings(config: pytest.Config) -> Any:
    from ecm_mock.settings import Settings

    values: dict[str, Any] = {}
    for name in OPTIONS:
        value = config.getoption(f"--ecm-mock-{name}")
        base = Path.cwd()
        if value is None and config.getini(f"ecm_mock_{name}"):
            value = config.getini(f"ecm_mock_{name}")
            base = config.inipath.parent if config.inipath else config.rootpath
        if value is not None and name == "seed":
            value = int(value)
        if value is not None and name == "fixtures":
            value = base / value
        values[name] = value
    # ECM_MOCK_* fill in what options and ini leave out; the plugin needs the control plane
    return Settings.from_env(**values, admin=True)


@pytest.fixture(scope="session")
def ecm_mock_server(pytestconfig: pytest.Config) -> Iterator[EcmMock]:
    """One mock server for the session; its state is shared by every test that uses it."""
    from ecm_mock import ConfigurationError, FixtureError, SpecError, create_app, read_fixtures
    from ecm_mock.serving import BackgroundServer

    try:
        settings = _settings(pytestconfig)
        document = read_fixtures(settings.fixtures)
        app = create_app(settings, fixtures=document)
    except (ConfigurationError, FixtureError, SpecError, ValueError) as exc:
        problem = str(exc)
    else:
        problem = None
    if problem:
        pytest.fail(f"ecm-mock: {problem}", pytrace=False)
    server = BackgroundServer(app, port=0).start()
    try:
        admin = AdminClient(server.url, token=getattr(settings, "admin_token", None))
        yield EcmMock(server.url, admin, settings, app, _as_json(document))
    finally:
        server.stop()


@pytest.fixture
def ecm_mock(ecm_mock_server: EcmMock) -> EcmMock:
    """The session's mock, reset to its fixtures before the test."""
    ecm_mock_server.reset_all()
    return ecm_mock_server


__all__ = ["EcmMock", "ecm_mock", "ecm_mock_server"]
