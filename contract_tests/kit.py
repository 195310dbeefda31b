"""The kit's own plumbing: where the target is, how to talk to it, what this run created.

Everything here is plain Python (requests); the pytest wiring is in ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from ecm_mock import Spec

ENV_PREFIX = "ECM_CONTRACT_"
SUITES = ("fuzz", "stateful", "scenarios")


# Checks that an operation cannot pass by construction of the contract, with the reason. They
# are skipped for that operation and listed in the drift report; nothing else is ever skipped.
KNOWN_LIMITS: dict[str, dict[str, str]] = {
    "deleteCampaign": {
        "positive_data_acceptance": "OpenAPI cannot say 'exactly one of id and crmCampaignId'; "
        "both or neither is answered 400, as the vendor documents",
    },
}


def known_limits(spec: Spec, operation_id: str) -> dict[str, str]:
    """The checks skipped for an operation: :data:`KNOWN_LIMITS` plus methods it tolerates."""
    limits = dict(KNOWN_LIMITS.get(operation_id, {}))
    also = spec.operation(operation_id).also_accepts
    if also:
        why = f"the mock also accepts {', '.join(also)} here (x-ecm-also-accepts)"
        limits["unsupported_method"] = limits["allow_header_conformance"] = why
    return limits


class TargetError(Exception):
    """The target cannot be reached, or logging in to it fails (exit code 2)."""


@dataclass(frozen=True)
class KitConfig:
    """How a contract run is set up. ``target=None``: a mock is started in-process."""

    target: str | None = None
    username: str = "admin"
    password: str = "admin"  # noqa: S105 - the mock's default user
    seed: int = 0
    max_examples: int = 25
    suites: tuple[str, ...] = SUITES
    allow_destructive: bool = False
    report_dir: str | None = None

    @property
    def against_mock(self) -> bool:
        return self.target is None

    @property
    def destructive(self) -> bool:
        """May the kit send anything that changes data it did not create?"""
        return self.against_mock or self.allow_destructive

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> KitConfig:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, kind in (
            ("target", str),
            ("username", str),
            ("password", str),
            ("seed", int),
            ("max_examples", int),
            ("report_dir", str),
        ):
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = kind(raw)
        if environ.get(ENV_PREFIX + "SUITES"):
            values["suites"] = parse_suites(environ[ENV_PREFIX + "SUITES"])
        if environ.get(ENV_PREFIX + "ALLOW_DESTRUCTIVE", "").lower() in ("1", "true", "yes"):
            values["allow_destructive"] = True
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# The kit's options, shared by `ecm-mock contract` (argparse) and pytest (addoption).
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--target", {"help": "base URL of the UMM to test (default: an in-process mock)"}),
    ("--username", {"help": "login user (default admin)"}),
    ("--password", {"help": "login password (default admin)"}),
    ("--seed", {"type": int, "help": "seed of the generated requests (default 0)"}),
    ("--max-examples", {"type": int, "help": "examples per operation (default 25)"}),
    ("--suite", {"help": "comma-separated: fuzz,stateful,scenarios (default all)"}),
    (
        "--allow-destructive",
        {
            "action": "store_true",
            "default": None,
            "help": "against a real target, also send requests that change "
            "data (fuzz every operation, run the stateful suite)",
        },
    ),
    ("--report-dir", {"help": "write junit.xml (with ecm-mock contract), drift.md, drift.json"}),
)


def add_options(add: Callable[..., Any]) -> None:
    """Declare :data:`OPTIONS` with ``add`` (argparse's add_argument or pytest's addoption)."""
    for flag, settings in OPTIONS:
        add(flag, **settings)


def config_from_options(option: Callable[[str], Any]) -> KitConfig:
    """A :class:`KitConfig` from option values (``option("--seed")``), then ECM_CONTRACT_*."""
    suites = option("--suite")
    return KitConfig.from_env(
        target=option("--target"),
        username=option("--username"),
        password=option("--password"),
        seed=option("--seed"),
        max_examples=option("--max-examples"),
        suites=parse_suites(suites) if suites else None,
        allow_destructive=option("--allow-destructive"),
        report_dir=option("--report-dir"),
    )


def parse_suites(text: str) -> tuple[str, ...]:
    suites = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in suites if s not in SUITES]
    if unknown or not suites:
        raise ValueError(
            f"unknown suite(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SUITES)}"
        )
    return suites


def run_prefix() -> str:
    """A name prefix unique to one run (letters and digits: campaign names allow no more)."""
    return "kit" + secrets.token_hex(3)


@dataclass
class Exchange:
    """One request the kit sent and what came back, enough to reproduce it with curl."""

    operation_id: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    status: int
    response_text: str
    files: dict[str, tuple[str, bytes, str]] | None = None

    def curl(self) -> str:
        """The request as a curl command ($TOKEN stands for the bearer token)."""
        parts = ["curl", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                value = "Bearer $TOKEN"
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.files is not None:
            for name, value in (self.body or {}).items():
                parts += ["-F", shlex.quote(f"{name}={value}")]
            for name, (filename, _content, media_type) in self.files.items():
                parts += ["-F", shlex.quote(f"{name}=@{filename};type={media_type}")]
        elif self.body is not None:
            parts += [
                "-H",
                shlex.quote("Content-Type: application/json"),
                "-d",
                shlex.quote(json.dumps(self.body, separators=(",", ":"))),
            ]
        return " ".join(parts)


class KitSession:
    """Calls ECM operations by operationId. Logs in once, again on a 401, and remembers calls."""

    def __init__(
        self,
        spec: Spec,
        base_url: str,
        username: str,
        password: str,
        http: requests.Session | None = None,
    ) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self._username, self._password = username, password
        self._http = http or requests.Session()
        self._token: str | None = None
        self._lock = threading.Lock()
        self.last: Exchange | None = None

    def login(self) -> str:
        """A fresh token; :class:`TargetError` when the target is down or refuses us."""
        op = self.spec.operation("loginUser")
        try:
            response = self._http.request(
                op.method,
                self.base_url + op.path,
                timeout=15,
                json={"username": self._username, "password": self._password},
            )
        except requests.RequestException as exc:
            raise TargetError(f"cannot reach {self.base_url}: {exc}") from None
        if response.status_code != 200:
            raise TargetError(
                f"login as {self._username!r} at {self.base_url} failed: "
                f"{response.status_code} {response.text[:200]}"
            )
        try:
            token = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise TargetError(
                f"login at {self.base_url} answered no token: {response.text[:200]}"
            ) from None
        with self._lock:
            self._token = token
        return token

    @property
    def token(self) -> str:
        with self._lock:
            token = self._token
        return token or self.login()

    def call(
        self,
        operation_id: str,
        *,
        json: Any = None,
        params: dict | None = None,
        files: dict | None = None,
        data: dict | None = None,
        token: str | None = None,
        authenticate: bool = True,
    ) -> requests.Response:
        op = self.spec.operation(operation_id)
        url = self.base_url + op.path
        for attempt in (1, 2):
            headers = {}
            if op.secured and authenticate:
                headers["Authorization"] = f"Bearer {token or self.token}"
            response = self._http.request(
                op.method,
                url,
                json=json,
                params=params,
                files=files,
                data=data,
                headers=headers,
                timeout=30,
            )
            if response.status_code == 401 and attempt == 1 and authenticate and not token:
                self.login()  # the token may have expired: log in again once
                continue
            break
        self.last = Exchange(
            operation_id,
            op.method,
            response.request.url,
            headers,
            json if json is not None else data,
            response.status_code,
            response.text[:2000],
            files,
        )
        return response


@dataclass
class Created:
    """What this run created, deleted again in reverse order when its test ends."""

    session: KitSession
    _undo: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def add(self, what: str, undo: Callable[[], Any]) -> None:
        self._undo.append((what, undo))

    def delete(self, operation_id: str, **params: Any) -> None:
        """Register ``operation_id(params)`` as the undo of something just created."""
        self.add(f"{operation_id} {params}", lambda: self.session.call(operation_id, params=params))

    def cleanup(self) -> list[str]:
        problems = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                response = undo()
                if response is not None and response.status_code not in (200, 404):
                    problems.append(f"{what}: {response.status_code}")
            except Exception as exc:  # cleanup goes on whatever happens
                problems.append(f"{what}: {exc}")
        return problems


@contextmanager
def in_process_mock(seed: int = 0) -> Iterator[str]:
    """A fresh ecm-mock on a free local port, for as long as the block runs."""
    from ecm_mock import Settings, create_app
    from ecm_mock.serving import BackgroundServer

    with BackgroundServer(create_app(Settings(seed=seed))) as server:
        yield server.url
