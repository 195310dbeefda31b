"""The engine: everything that reads or changes a mock's state, one call per request.

The HTTP side (:mod:`ecm_mock.app`) parses and validates a request, hands it to the engine as
an :class:`Envelope`, and renders and checks the :class:`Outcome`. The engine picks faults,
resolves the session, checks credentials, runs the handler and keeps the journal.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import runtime
from .errors import JSON, PROBLEM_JSON, ApiError, ErrorItem, field_error, problem
from .resources import Call
from .resources._base import Services
from .spec import Operation, Spec
from .validation import ContractValidator, ValidatedRequest

log = logging.getLogger("ecm_mock")

ECM, ADMIN = "ecm", "admin"
SESSION_HEADER = "X-Mock-Session"
ADMIN_TOKEN_HEADER = "X-Admin-Token"  # noqa: S105 - a header name
SESSION_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # admin.yaml's Name schema

Handler = Callable[[Call], Any]


@dataclass(slots=True)
class Envelope:
    """One request as the HTTP side hands it over: validated, or with its validation errors."""

    plane: str  # ECM or ADMIN
    operation_id: str
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # only those the engine reads (see ENGINE_HEADERS)
    request: ValidatedRequest | None  # None when the request broke the contract
    errors: tuple[ErrorItem, ...] = ()
    error_status: int = 400  # the status to answer when ``errors`` is not empty
    started: float = field(default_factory=time.monotonic)  # system-wide clock, any process
    fault: int | None = None  # set when sent again after a fault's delay


ENGINE_HEADERS = ("Authorization", SESSION_HEADER, ADMIN_TOKEN_HEADER)


@dataclass(slots=True)
class Outcome:
    """What to answer. ``body`` is a JSON value (None: no body)."""

    status: int
    body: Any = None
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    checked: bool = True  # check it against the contract (not faults, not the mock's own)
    delay: float = 0.0  # a fault's latency: wait this long first
    resume: bool = False  # after the delay, send the envelope again with ``fault`` set
    close: bool = False  # drop the connection instead of answering
    fault: int | None = None
    data: bytes | None = None  # ``body`` rendered (UTF-8 JSON), once the engine has checked it


class Engine:
    """State, sessions, faults, journal, clock and tokens of one mock, behind :meth:`handle`.

    Safe to call from many threads: the state is locked per store, as before.
    """

    def __init__(
        self,
        services: Services,
        handlers: dict[str, dict[str, Handler]],
        specs: dict[str, Spec],
        validators: dict[str, ContractValidator],
    ) -> None:
        self.services = services
        self._handlers = handlers
        self._specs = specs
        self._validators = validators
        self._admin_sessions = (
            {
                op_id: _takes_session(specs[ADMIN].operation_document(op_id))
                for op_id in specs[ADMIN].operations
            }
            if ADMIN in specs
            else {}
        )

    def handle(self, envelope: Envelope) -> Outcome:
        outcome, validated = self._outcome(envelope)
        if envelope.plane != ECM or outcome.resume:
            return outcome
        self.record(
            envelope,
            0 if outcome.close else outcome.status,  # what the client got: no answer, or this
            (time.monotonic() - envelope.started + outcome.delay) * 1000,
            outcome.fault if outcome.fault is not None else envelope.fault,
            validated,
        )
        return outcome

    def record(
        self,
        envelope: Envelope,
        status: int,
        millis: float | None = None,
        fault: int | None = None,
        validated: bool = True,
    ) -> int:
        """Journal a request (also one the HTTP side answered alone: 404, 405, 413).

        ``status`` 0: the connection was closed instead of answering (``closed``).
        ``validated``: it got as far as validation (not stopped by a fault, its session name
        or its credentials), so its validation errors are what it was answered for.
        """
        if millis is None:
            millis = (time.monotonic() - envelope.started) * 1000
        closed = {"closed": True} if status == 0 else {}
        return self.services.journal.add(
            {
                "at": self.services.clock.iso(),
                "method": envelope.method,
                "path": envelope.path,
                "query": envelope.query_string,
                "operationId": envelope.operation_id or None,
                "session": envelope.headers.get(SESSION_HEADER),
                "status": status,
                "durationMs": round(millis, 3),
                "fault": fault,
                **closed,
            },
            envelope.errors if validated else (),
        )

    def runtime_due(self) -> bool:
        """Is the campaign runtime of any store behind the clock? (A glance, no lock.)"""
        services = self.services
        return runtime.anything_due(services.sessions.stores(), services.clock.time())

    def run_due(self, max_seconds: float | None = 0.005) -> bool:
        """Let the campaign runtime of every store catch up with the clock: the one entry for
        a running clock, called periodically by the serving code (never by ``create_app``).

        Works in slices under each store's lock, released between them, and stops after
        about ``max_seconds`` (None: when done). True when every store is up to date.
        """
        services = self.services
        return runtime.run_due(services.sessions.stores(), services.clock.time, max_seconds)

    # ------------------------------------------------------------------ internals
    def _outcome(self, envelope: Envelope) -> tuple[Outcome, bool]:
        """The answer, and whether the request got as far as validation."""
        services = self.services
        fault_id = envelope.fault
        if envelope.plane == ECM and fault_id is None:
            picked = services.faults.pick(envelope.operation_id, envelope.method, envelope.path)
            if picked:
                fault, latency = picked
                rule = fault.rule
                if rule.get("status"):  # deliberate: not checked against the contract
                    error = ApiError(rule["status"], f"fault injected by rule {fault.id}")
                    return _problem(error, checked=False, delay=latency, fault=fault.id), False
                if rule.get("closeConnection"):
                    return Outcome(200, close=True, delay=latency, fault=fault.id), False
                if latency > 0:
                    return Outcome(0, delay=latency, resume=True, fault=fault.id), False
                fault_id = fault.id
        plane, op_id = envelope.plane, envelope.operation_id
        op = self._specs[plane].operation(op_id)
        validated = False
        try:
            in_session = plane == ECM or self._admin_sessions.get(op_id)
            session = self._session(envelope.headers.get(SESSION_HEADER)) if in_session else None
            user = self._authenticate(envelope, op.secured)
            validated = True
            if envelope.errors:
                raise ApiError(envelope.error_status, _summary(envelope.errors), envelope.errors)
            # a new session is made only for a request that got this far
            store = services.sessions.store(session) if in_session else services.store
            # everything the handler changes is undone unless its answer is good
            with store.request() as request:
                body = self._handlers[plane][op_id](
                    Call(op, envelope.request, services, store, user, session)
                )
                outcome = Outcome(
                    op.success_status, body, None if body is None else JSON, fault=fault_id
                )
                self._check(plane, op, envelope, outcome)
                request.keep = True
            return outcome, True
        except ApiError as error:
            outcome = _problem(error, checked=not error.outside_contract, fault=fault_id)
        except Exception as error:  # a bug in a handler: the one error shape, and the log
            log.exception("unhandled error on %s %s", envelope.method, envelope.path)
            message = f"internal error ({type(error).__name__}); see the mock's log"
            outcome = _problem(ApiError(500, message), checked=False, fault=fault_id)
        try:
            self._check(plane, op, envelope, outcome)
        except ApiError as error:  # an error answer that breaks the contract: a bug too
            outcome = _problem(error, checked=False, fault=fault_id)
            self._check(plane, op, envelope, outcome)
        return outcome, validated

    def _check(self, plane: str, op: Operation, envelope: Envelope, outcome: Outcome) -> None:
        """Render the answer and check it against the contract (unless the settings say not
        to); a 500 :class:`ApiError` naming what broke if it cannot be sent or breaks it."""
        if outcome.body is not None:
            try:
                outcome.data = json.dumps(
                    outcome.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode("utf-8")
            except (ValueError, TypeError, RecursionError) as error:
                log.exception("the answer of %s cannot be sent", op.operation_id)
                message = f"the mock's answer to {op.operation_id} cannot be written as JSON"
                raise ApiError(500, f"{message} (a bug in ecm-mock): {error}") from None
        mode = self.services.settings.response_validation
        if not outcome.checked or mode == "off":
            return
        errors = self._validators[plane].check_answer(
            op,
            envelope.method,
            envelope.path,
            envelope.query_string,
            outcome.status,
            outcome.media_type,
            outcome.headers,
            outcome.body,
            outcome.data,
        )
        if not errors:
            return
        log.error(
            "response of %s broke the contract: %s",
            op.operation_id,
            "; ".join(f"{e.pointer}: {e.message}" for e in errors),
        )
        if mode == "strict":
            message = f"the mock's response to {op.operation_id} broke the contract"
            raise ApiError(500, f"{message} (a bug in ecm-mock)", errors)

    def _session(self, name: str | None) -> str | None:
        if name is not None and not SESSION_NAME.match(name):
            message = "a session name is 1 to 64 letters, digits, '.', '_' or '-'"
            raise ApiError(
                400,
                message,
                [ErrorItem("header", f"/header/{SESSION_HEADER}", message)],
                outside_contract=True,
            )
        return name

    def _authenticate(self, envelope: Envelope, secured: bool) -> str | None:
        if envelope.plane == ADMIN:
            token = self.services.settings.admin_token
            given = envelope.headers.get(ADMIN_TOKEN_HEADER, "")
            if token and not hmac.compare_digest(given.encode(), token.encode()):
                raise field_error(
                    401,
                    f"/header/{ADMIN_TOKEN_HEADER}",
                    "the admin token is missing or wrong",
                    "security",
                )
            return None
        if not secured:
            return None
        return self.services.tokens.verify(envelope.headers.get("Authorization"))


def _problem(error: ApiError, **extra: Any) -> Outcome:
    return Outcome(error.status, problem(error), PROBLEM_JSON, dict(error.headers), **extra)


def _summary(errors: tuple[ErrorItem, ...]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.pointer or first.location}: {first.message}{more}"


def _takes_session(spec_operation: dict[str, Any]) -> bool:
    """Does a control-plane operation act on a session's state (it declares the header)?"""
    return any(
        p.get("$ref", "").endswith("/Session") or p.get("name") == SESSION_HEADER
        for p in spec_operation.get("parameters", [])
    )
