"""The app factory: routes from the spec's operationIds, one validation path, one error shape."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from .auth import TokenService
from .clock import Clock
from .errors import ApiError, ErrorItem, problem_response
from .fake import add_fake_data
from .fixtures import build_state, read_fixtures
from .resources import Call, all_handlers
from .resources._base import Services
from .settings import Settings
from .spec import Operation, Spec, load_spec
from .state import Store
from .validation import ContractValidator

log = logging.getLogger("ecm_mock")
access_log = logging.getLogger("ecm_mock.access")

EXTENSION = "ecm_mock"


class ConfigurationError(Exception):
    """The app cannot be built: handlers and operations disagree, or the data is unusable."""


@functools.lru_cache(maxsize=8)
def contract_validator(spec: Spec) -> ContractValidator:
    """One validator per loaded spec, shared by every app built on it."""
    return ContractValidator(spec)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    fixtures: dict[str, Any] | None = None,
) -> Flask:
    """Build a mock app. ``fixtures`` (a fixture document) replaces ``settings.fixtures``."""
    settings = settings or Settings()
    spec = load_spec(settings.spec_path)
    validator = contract_validator(spec)
    document = fixtures if fixtures is not None else read_fixtures(settings.fixtures)
    clock = clock or Clock()

    def fresh_state():
        state = build_state(document, validator, settings.cisco)
        add_fake_data(state, settings.seed, settings.fake_contacts, settings.fake_dnc)
        return state

    services = Services(
        spec=spec,
        settings=settings,
        store=Store(fresh_state),
        clock=clock,
        tokens=TokenService(clock.time, settings.token_ttl, settings.jwt_secret),
        validator=validator,
    )
    handlers = all_handlers()
    check_handlers(spec, handlers)

    app = Flask("ecm_mock")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[EXTENSION] = services
    for op in spec.operations.values():
        app.add_url_rule(
            re.sub(r"\{(\w+)\}", r"<\1>", op.path),
            endpoint=op.operation_id,
            view_func=_view(services, op, handlers[op.operation_id]),
            methods=[op.method, *op.also_accepts],
            provide_automatic_options=False,
        )
    _register_error_handlers(app)
    _register_access_log(app)
    return app


def services_of(app: Flask) -> Services:
    """The store, clock, settings and spec an app owns."""
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


def _view(services: Services, op: Operation, handler: Callable[[Call], Any]) -> Callable:
    def view(**_path: Any) -> Response:
        try:
            user = (
                services.tokens.verify(request.headers.get("Authorization")) if op.secured else None
            )
            check = services.validator.check_request(op, request)
            if check.errors:
                raise ApiError(check.status, _summary(check.errors), check.errors)
            body = handler(Call(op, check.request, services, user))
            response = Response(
                json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                status=op.success_status,
                mimetype="application/json",
            )
        except ApiError as error:
            response = problem_response(error)
        return _checked(services, op, response)

    view.__name__ = op.operation_id
    return view


def _checked(services: Services, op: Operation, response: Response) -> Response:
    """The response, if it meets the contract; else (strict) a 500 that says how it broke it."""
    mode = services.settings.response_validation
    if mode == "off":
        return response
    errors = services.validator.check_response(op, request, response)
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


def _register_access_log(app: Flask) -> None:
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
        return response
