"""A small client of the mock's control plane (``/__admin``, contract: ``openapi/admin.yaml``).

Standard library only, so test suites can use it without new dependencies::

    admin = AdminClient("http://127.0.0.1:8080")
    admin.reset()
    rule = admin.add_fault(operationId="listCampaigns", status=503, times=1)
    admin.snapshot("before")
    ...
    admin.restore("before")
    admin.add_outcome_rule(pattern="+92300*", result="BUSY")
    admin.advance(86400)  # a day of the campaign runtime, done before it answers
    admin.calls(result="BUSY")

A non-2xx answer raises :class:`AdminError` carrying the problem-details body.
"""

from __future__ import annotations

import datetime as _dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ADMIN_PREFIX = "/__admin"
_SNAKE_TO_CAMEL = {
    "operation_id": "operationId",
    "latency_ms": "latencyMs",
    "close_connection": "closeConnection",
    "advance_seconds": "advanceSeconds",
    "campaign_id": "campaignId",
    "contact_id": "contactId",
    "feeder_interval_seconds": "feederIntervalSeconds",
    "call_seconds": "callSeconds",
    "time_zone": "timeZone",
    "empty_phone": "emptyPhone",
    "default_distribution": "defaultDistribution",
    "campaign_distributions": "campaignDistributions",
}


class AdminError(Exception):
    """The mock answered a non-2xx status; ``problem`` is its problem-details body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.detail = str(problem.get("detail") or problem.get("title") or "no detail")
        title = problem.get("title")
        head = f"{status} {title}" if title else str(status)
        super().__init__(f"{head}: {self.detail}")


class AdminClient:
    """The control plane of one mock server, acting on one session (or the default state).

    ``token`` is sent as ``X-Admin-Token`` (needed when the mock was started with one);
    ``session`` as ``X-Mock-Session`` on the state operations (reset, fixtures, state,
    snapshots) and the campaign runtime's (calls, outcome model and rules). Faults, the
    journal and the clock are global to the server.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        session: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AdminClient({self.base_url!r}, session={self.session!r})"

    def for_session(self, name: str | None) -> AdminClient:
        """The same server, acting on the isolated session ``name`` (None: the default state)."""
        return AdminClient(self.base_url, token=self.token, session=name, timeout=self.timeout)

    # state ---------------------------------------------------------------------------------

    def reset(self) -> dict[str, Any]:
        """Back to the fixtures; returns ``{"session", "counts"}``. Snapshots are kept."""
        return self._call("POST", "/reset", scoped=True)

    def load_fixtures(self, document: dict[str, Any]) -> dict[str, Any]:
        """Replace the state with a fixture document (kinds left out are empty)."""
        return self._call("PUT", "/fixtures", document, scoped=True)

    def state(self) -> dict[str, Any]:
        """Everything the state holds, as JSON data."""
        return self._call("GET", "/state", scoped=True)

    def snapshots(self) -> list[dict[str, Any]]:
        """The snapshots taken, oldest first: ``[{"name", "takenAt"}]``."""
        return self._call("GET", "/snapshots", scoped=True)

    def snapshot(self, name: str) -> dict[str, Any]:
        """Take (or overwrite) the snapshot ``name``."""
        return self._call("POST", "/snapshots", {"name": name}, scoped=True)

    def restore(self, name: str) -> dict[str, Any]:
        """Put the snapshot ``name`` back."""
        return self._call("POST", f"/snapshots/{_segment(name)}/restore", scoped=True)

    def delete_snapshot(self, name: str) -> None:
        self._call("DELETE", f"/snapshots/{_segment(name)}", scoped=True)

    def sessions(self) -> dict[str, Any]:
        """``{"limit": N, "sessions": [names, most recently used last]}``."""
        return self._call("GET", "/sessions")

    # faults --------------------------------------------------------------------------------

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, in the order they are tried."""
        return self._call("GET", "/faults")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a rule, e.g. ``add_fault(operationId="listCampaigns", status=503, times=1)``.

        Keys are those of admin.yaml's ``FaultRule`` (``operation_id``, ``latency_ms`` and
        ``close_connection`` work too). Returns the stored rule with its ``id``.
        """
        return self._call("POST", "/faults", _camel(rule))

    def remove_fault(self, id: int) -> None:
        self._call("DELETE", f"/faults/{int(id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # journal -------------------------------------------------------------------------------

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Recent requests, newest last; filters: operationId, method, status, session, limit."""
        query = {k: v for k, v in _camel(filters).items() if v is not None}
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._call("GET", f"/journal{suffix}")

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    # clock ---------------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        """``{"now", "epochSeconds", "frozen"}``."""
        return self._call("GET", "/clock")

    def set_clock(self, **change: Any) -> dict[str, Any]:
        """``set_clock(frozen=True, now=...)``, ``set_clock(advanceSeconds=3600)``, ...

        ``now`` may be a string or a timezone-aware :class:`datetime.datetime`.
        """
        body = _camel(change)
        if isinstance(body.get("now"), _dt.datetime):
            body["now"] = body["now"].isoformat()
        return self._call("PUT", "/clock", body)

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the clock ``seconds`` forward; every session's campaign runtime does what fell
        due meanwhile before this returns. Returns the clock."""
        return self.set_clock(advanceSeconds=seconds)

    # the campaign runtime ------------------------------------------------------------------

    def calls(self, **filters: Any) -> list[dict[str, Any]]:
        """The call log, oldest first; filters: campaignId, contactId, result, channel, since
        (a string or an aware :class:`datetime.datetime`), limit (the newest N)."""
        query = {k: v for k, v in _camel(filters).items() if v is not None}
        if isinstance(query.get("since"), _dt.datetime):
            query["since"] = query["since"].isoformat()
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._call("GET", f"/runtime/calls{suffix}", scoped=True)

    def clear_calls(self) -> None:
        self._call("DELETE", "/runtime/calls", scoped=True)

    def outcome_model(self) -> dict[str, Any]:
        """The outcome model: distributions, feeder interval, time zone, empty-phone rule..."""
        return self._call("GET", "/runtime/model", scoped=True)

    def set_outcome_model(self, **change: Any) -> dict[str, Any]:
        """Change some of the model, e.g. ``set_outcome_model(enabled=False)`` or
        ``set_outcome_model(campaignDistributions={"4": {"BUSY": 1}})``."""
        return self._call("PUT", "/runtime/model", _camel(change), scoped=True)

    def outcome_rules(self) -> list[dict[str, Any]]:
        """The outcome rules, in the order they are tried."""
        return self._call("GET", "/runtime/rules", scoped=True)

    def add_outcome_rule(self, **rule: Any) -> dict[str, Any]:
        """Force results: ``add_outcome_rule(pattern="+92300*", result="BUSY")`` (or
        ``number=``, ``regex=``; ``campaignId=``, ``times=``). Returns it with its ``id``."""
        return self._call("POST", "/runtime/rules", _camel(rule), scoped=True)

    def remove_outcome_rule(self, id: int) -> None:
        self._call("DELETE", f"/runtime/rules/{int(id)}", scoped=True)

    def clear_outcome_rules(self) -> None:
        self._call("DELETE", "/runtime/rules", scoped=True)

    # transport -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, *, scoped: bool = False) -> Any:
        headers = {}
        if self.token is not None:
            headers["X-Admin-Token"] = self.token
        if scoped and self.session is not None:
            headers["X-Mock-Session"] = self.session
        return request_json(
            method, self.base_url + ADMIN_PREFIX + path, body, headers, timeout=self.timeout
        )


def login(
    base_url: str,
    username: str = "admin",
    password: str = "admin",  # noqa: S107 - the mock's default user
    timeout: float = 10,
) -> str:
    """Log in to the mock's ECM API (``POST /umm/api/login``) and return the bearer token."""
    answer = request_json(
        "POST",
        base_url.rstrip("/") + "/umm/api/login",
        {"username": username, "password": password},
        timeout=timeout,
    )
    return answer["token"]


def request_json(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Any:
    """One JSON request: the decoded answer (None when empty), AdminError on non-2xx."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
        error.close()
        raise AdminError(error.code, _problem(error.code, error.reason, raw)) from None
    return json.loads(raw) if raw.strip() else None


def _problem(status: int, reason: str, raw: bytes) -> dict[str, Any]:
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        text = raw.decode("utf-8", "replace").strip()
        problem = {"title": str(reason), "status": status, "detail": text or str(reason)}
    return problem


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    return {_SNAKE_TO_CAMEL.get(key, key): value for key, value in values.items()}


def _segment(name: str) -> str:
    return urllib.parse.quote(name, safe="")


__all__ = ["ADMIN_PREFIX", "AdminClient", "AdminError", "login", "request_json"]
