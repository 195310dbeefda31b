"""The kit's own plumbing: how to talk to the target, what this run created, how to replay.

Everything here is plain Python (requests); the pytest wiring is in ``conftest.py`` and the
options in ``config.py``.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from ecm_mock import Spec

from .config import KitConfig

# Checks that an operation cannot pass by construction of the contract, with the reason. They
# are skipped for that operation and listed in the drift report; nothing else is ever skipped.
KNOWN_LIMITS: dict[str, dict[str, str]] = {
    "deleteCampaign": {
        "positive_data_acceptance": "OpenAPI cannot say 'exactly one of id and crmCampaignId'; "
        "both or neither is answered 400, as the vendor documents",
    },
}

# Where a replay of an in-process run goes: what `make run` / `ecm-mock serve` listens on.
REPLAY_MOCK_URL = "http://127.0.0.1:8080"
TOKEN_VARIABLE = "$TOKEN"  # noqa: S105 - a shell variable's name
_AUTHORIZATION = re.compile(r"-H '(?i:authorization):[^']*'")


def known_limits(spec: Spec, operation_id: str) -> dict[str, str]:
    """The checks skipped for an operation, and why."""
    return dict(KNOWN_LIMITS.get(operation_id, {}))


class TargetError(Exception):
    """The target cannot be reached, or logging in to it fails (exit code 2)."""


def replayable(curl: str, actual_base: str, replay_base: str) -> str:
    """A curl command that runs as pasted: the replay base URL, the token as ``$TOKEN``."""
    curl = curl.replace(actual_base.rstrip("/"), replay_base.rstrip("/"))
    return _AUTHORIZATION.sub(f'-H "Authorization: Bearer {TOKEN_VARIABLE}"', curl)


def login_command(config: KitConfig, base: str, login_path: str) -> str:
    """The shell line that sets ``$TOKEN`` for the replay commands of a report."""
    body = json.dumps({"username": config.username, "password": "PASSWORD"})
    body = shlex.quote(body).replace("PASSWORD", "'\"$ECM_PASSWORD\"'")
    return (
        f"TOKEN=$(curl -s -X POST {shlex.quote(base.rstrip('/') + login_path)} "
        f"-H 'Content-Type: application/json' -d {body} "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')"
    )


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
        """The request as a curl command (the bearer token as ``$TOKEN``)."""
        parts = ["curl", "-X", self.method]
        for name, value in self.headers.items():
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
        parts.append(shlex.quote(self.url))
        return replayable(" ".join(parts), "", "")


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
        url = self.base_url + op.path
        try:
            response = self._http.request(
                op.method,
                url,
                timeout=15,
                json={"username": self._username, "password": self._password},
            )
        except requests.RequestException as exc:
            raise TargetError(f"cannot reach {self.base_url}: {_reason(exc)}") from None
        if response.status_code != 200:
            raise TargetError(f"login as {self._username!r} at {url} failed: {_describe(response)}")
        try:
            token = response.json()["token"]
            if not isinstance(token, str) or not token:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise TargetError(
                f"{url} is not a UMM login: it answered 200 {_describe(response)} without a token"
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
            response.request.url or url,
            headers,
            json if json is not None else data,
            response.status_code,
            response.text[:2000],
            files,
        )
        return response


def _reason(error: requests.RequestException) -> str:
    """The innermost cause of a connection error, in one line."""
    cause: BaseException = error
    while cause.__cause__ is not None or (cause.__context__ is not None and cause.args == ()):
        cause = cause.__cause__ or cause.__context__
    text = str(cause.args[-1] if cause.args else cause) or type(cause).__name__
    return " ".join(text.split())[:200]


def _describe(response: requests.Response) -> str:
    """A response in a few words: its status and, when it is short text or JSON, its body."""
    media = response.headers.get("Content-Type", "no content type").split(";")[0].strip()
    if "json" in media or media.startswith("text/plain"):
        text = " ".join(response.text.split())
        return f"{response.status_code} {media}: {text[:200]}"
    return f"{response.status_code} {media} ({len(response.content)} bytes)"


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
def in_process_mock() -> Iterator[str]:
    """A fresh ecm-mock (default settings) on a free local port, while the block runs."""
    from ecm_mock import Settings, create_app
    from ecm_mock.serving import BackgroundServer

    with BackgroundServer(create_app(Settings())) as server:
        yield server.url
