"""The app factory: routes from the spec's operationIds, one validation path, one error shape."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import admin
from .auth import TokenService
from .clock import ControlledClock
from .errors import ApiError, ErrorItem, field_error, problem_response
from .faults import Faults
from .fixtures import read_fixtures, state_factory
from .journal import Journal
from .resources import Call, all_handlers
from .resources._base import Services
from .settings import Settings
from .spec import Operation, Spec, admin_spec_path, load_spec
from .state import Sessions
from .validation import ContractValidator

log = logging.getLogger("ecm_mock")
access_log = logging.getLogger("ecm_mock.access")

EXTENSION = "ecm_mock"
ADMIN_PREFIX = "/__admin"
SESSION_HEADER = "X-Mock-Session"
SESSION_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # admin.yaml's Name schema

Handler = Callable[[Call], Any]


class ConfigurationError(Exception):
    """The app cannot be built: handlers and operations disagree, or the data is unusable."""


@functools.lru_cache(maxsize=8)
def contract_validator(spec: Spec) -> ContractValidator:
    """One validator per loaded spec, shared by every app built on it."""
    return ContractValidator(spec)


def create_app(
    settings: Settings | None = None,
    *,
    clock: ControlledClock | None = None,
    fixtures: dict[str, Any] | None = None,
) -> Flask:
    """Build a mock app. ``fixtures`` (a fixture document) replaces ``settings.fixtures``."""
    settings = settings or Settings()
    spec = load_spec(settings.spec_path)
    validator = contract_validator(spec)
    document = fixtures if fixtures is not None else read_fixtures(settings.fixtures)
    clock = clock or ControlledClock()

    services = Services(
        spec=spec,
        settings=settings,
        sessions=Sessions(state_factory(document, validator, settings), settings.max_sessions),
        clock=clock,
        tokens=TokenService(clock.time, settings.token_ttl, settings.jwt_secret),
        validator=validator,
        faults=Faults(settings.seed),
        journal=Journal(settings.journal_size),
    )
    app = Flask("ecm_mock")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[EXTENSION] = services
    _register(app, spec, all_handlers(), lambda op, h: _ecm_view(services, op, h))
    if settings.admin:
        admin_spec = load_spec(admin_spec_path(), ecm=False)
        admin_validator = contract_validator(admin_spec)
        _register(
            app,
            admin_spec,
            admin.handlers,
            lambda op, h: _admin_view(services, admin_validator, op, h),
        )
    _register_error_handlers(app)
    _register_access_log(app, services)
    return app


def services_of(app: Flask) -> Services:
    """The sessions, clock, faults, journal, settings and spec an app owns."""
    return app.extensions[EXTENSION]


def check_handlers(spec: Spec, handlers: dict[str, Callable]) -> None:
    """Every operation has a handler and every handler an operation, or the app won't start."""
    missing = sorted(set(spec.operations) - set(handlers))
    extra = sorted(set(handlers) - set(spec.operations))
    problems = []
    if missing:
        problems.append(f"operations without a handler: {', '.join(missing)}")
    if extra:
        problems.append(f"handlers without an operation in the spec: {', '.join(extra)}")
    if problems:
        raise ConfigurationError("; ".join(problems))


def _register(
    app: Flask,
    spec: Spec,
    handlers: dict[str, Handler],
    make_view: Callable[[Operation, Handler], Callable],
) -> None:
    check_handlers(spec, handlers)
    for op in spec.operations.values():
        view = make_view(op, handlers[op.operation_id])
        view.__name__ = op.operation_id
        app.add_url_rule(
            re.sub(r"\{(\w+)\}", r"<\1>", op.path),
            endpoint=op.operation_id,
            view_func=view,
            methods=[op.method, *op.also_accepts],
            provide_automatic_options=False,
        )


def _session(services: Services) -> tuple[str | None, Any]:
    name = request.headers.get(SESSION_HEADER)
    if name is not None and not SESSION_NAME.match(name):
        message = "a session name is 1 to 64 letters, digits, '.', '_' or '-'"
        raise ApiError(
            400,
            message,
            [ErrorItem("header", f"/header/{SESSION_HEADER}", message)],
            outside_contract=True,
        )
    return name, services.sessions.store(name)


def _takes_session(spec_operation: dict[str, Any]) -> bool:
    """Does a control-plane operation act on a session's state (it declares the header)?"""
    return any(
        p.get("$ref", "").endswith("/Session") or p.get("name") == SESSION_HEADER
        for p in spec_operation.get("parameters", [])
    )


def _ecm_view(services: Services, op: Operation, handler: Handler) -> Callable:
    def view(**_path: Any) -> Response:
        picked = services.faults.pick(op.operation_id, request.method, request.path)
        if picked:
            fault, latency = picked
            g.ecm_fault = fault.id
            time.sleep(latency)  # this request's thread only; the server has others
            if fault.rule.get("status"):  # deliberate: not checked against the contract
                return problem_response(
                    ApiError(fault.rule["status"], f"fault injected by rule {fault.id}")
                )
            if fault.rule.get("closeConnection"):
                return _cut_off()

        def authenticate() -> str | None:
            if not op.secured:
                return None
            return services.tokens.verify(request.headers.get("Authorization"))

        return _respond(services, services.validator, op, handler, authenticate, True)

    return view


def _admin_view(
    services: Services, validator: ContractValidator, op: Operation, handler: Handler
) -> Callable:
    token = services.settings.admin_token
    with_session = _takes_session(validator.spec.operation_document(op.operation_id))

    def authenticate() -> None:
        given = request.headers.get("X-Admin-Token", "")
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            raise field_error(
                401, "/header/X-Admin-Token", "the admin token is missing or wrong", "security"
            )

    def view(**_path: Any) -> Response:
        return _respond(services, validator, op, handler, authenticate, with_session)

    return view


def _respond(
    services: Services,
    validator: ContractValidator,
    op: Operation,
    handler: Handler,
    authenticate: Callable[[], str | None],
    with_session: bool,
) -> Response:
    """Session, auth, validation, the handler and the answer's check: one path for all."""
    try:
        session, store = _session(services) if with_session else (None, services.store)
        user = authenticate()
        response = _answer(
            validator,
            op,
            handler,
            lambda checked: Call(op, checked, services, store, user, session),
        )
    except ApiError as error:
        if error.outside_contract:
            return problem_response(error)
        response = problem_response(error)
    return _checked(services, validator, op, response)


def _answer(
    validator: ContractValidator, op: Operation, handler: Handler, make_call: Callable[[Any], Call]
) -> Response:
    """Validate the request, run the handler, answer its body with the success status."""
    check = validator.check_request(op, request)
    if check.errors:
        g.ecm_validation_errors = check.errors
        raise ApiError(check.status, _summary(check.errors), check.errors)
    body = handler(make_call(check.request))
    if body is None:
        return Response(status=op.success_status)
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=op.success_status,
        mimetype="application/json",
    )


def _cut_off() -> Response:
    """Headers that promise a body, then none: the server drops the connection mid-answer."""
    response = Response(iter(()), status=200, mimetype="application/json")
    response.headers["Content-Length"] = "1024"
    return response


def _checked(
    services: Services, validator: ContractValidator, op: Operation, response: Response
) -> Response:
    """The response, if it meets the contract; else (strict) a 500 that says how it broke it."""
    mode = services.settings.response_validation
    if mode == "off":
        return response
    errors = validator.check_response(op, request, response)
    if not errors:
        return response
    log.error(
        "response of %s broke the contract: %s",
        op.operation_id,
        "; ".join(f"{e.pointer}: {e.message}" for e in errors),
    )
    if mode == "warn":
        return response
    return problem_response(
        ApiError(
            500,
            f"the mock's response to {op.operation_id} broke the contract (a bug in ecm-mock)",
            errors,
        )
    )


def _summary(errors: list[ErrorItem]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.pointer or first.location}: {first.message}{more}"


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return problem_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        status = error.code or 500
        items = []
        if status == 404:
            detail = f"no operation at {request.path}"
            items = [ErrorItem("path", "", detail)]
        elif status == 405:
            allowed = headers.get("Allow")
            detail = f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
            items = [ErrorItem("method", "", detail)]
        elif status == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            detail = f"the body is larger than the limit of {limit} bytes"
            items = [ErrorItem("body", "/body", detail)]
        else:
            detail = error.description or error.name
        return problem_response(ApiError(status, detail, items, headers))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            ApiError(500, f"internal error ({type(error).__name__}); see the mock's log")
        )


def _register_access_log(app: Flask, services: Services) -> None:
    @app.before_request
    def start_timer() -> None:
        g.ecm_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("ecm_started")
        millis = (time.perf_counter() - started) * 1000 if started else 0.0
        access_log.info(
            '%s "%s %s" %s %.1fms',
            request.remote_addr,
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            millis,
        )
        if not request.path.startswith(ADMIN_PREFIX):
            errors = g.get("ecm_validation_errors") or []
            services.journal.add(
                {
                    "at": services.clock.iso(),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode("latin-1"),
                    "operationId": request.endpoint,
                    "session": request.headers.get(SESSION_HEADER),
                    "status": response.status_code,
                    "durationMs": round(millis, 3),
                    "fault": g.get("ecm_fault"),
                    "validationErrors": [asdict(e) for e in errors],
                }
            )
        return response
