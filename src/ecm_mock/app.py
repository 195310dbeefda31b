"""The app factory: routes from the spec's operationIds, one validation path, one error shape."""

from __future__ import annotations

import functools
import json
import logging
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Flask, Request, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request as WerkzeugRequest

from . import admin, runtime_admin
from .auth import TokenService
from .clock import ControlledClock
from .cors import register_cors
from .docs import NOT_ECM, register_docs
from .engine import ADMIN, ECM, ENGINE_HEADERS, Engine, Envelope, Outcome
from .errors import JSON, ApiError, ErrorItem, problem_response
from .faults import Faults
from .fixtures import read_fixtures, state_factory
from .intake import Limits
from .journal import Journal
from .resources import all_handlers
from .resources._base import Services
from .settings import Settings
from .spec import Operation, Spec, admin_spec_path, load_spec
from .state import Sessions, SnapshotBudget
from .validation import ContractValidator

log = logging.getLogger("ecm_mock")
access_log = logging.getLogger("ecm_mock.access")

EXTENSION = "ecm_mock"
ADMIN_PREFIX = "/__admin"
# WSGI environ keys. The app's own: when the request came in (time.monotonic, kept across a
# delay) and whether the engine journaled it. Between the app and a server that can wait
# without holding a thread (serving.AsyncFront):
STARTED = "ecm_mock.started"
JOURNALED = "ecm_mock.journaled"
DEFER = "ecm_mock.defer"  # set by the server: it waits for delays; the app never sleeps
DELAY = "ecm_mock.delay"  # set by the app: wait this long (seconds), then send this answer
RESUME = "ecm_mock.resume"  # set by the app: (seconds, fault id): wait, then call me again
FAULT = "ecm_mock.fault"  # set by the server on that second call: the fault already picked
# requests that may take long whatever their size (the server runs them off its event loop)
LONG_OPERATIONS = frozenset(
    {
        "bulkUploadCampaignContacts",
        "bulkUploadDncContacts",
        "resetState",
        "loadFixtures",
        "dumpState",
        "takeSnapshot",
        "restoreSnapshot",
    }
)
LONG_BODY_BYTES = 64 * 1024


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
    engine = build_engine(settings, clock=clock, fixtures=fixtures)
    app = Flask("ecm_mock")
    app.url_map.merge_slashes = False  # /a//b is no path of the API: 404, not a redirect
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[EXTENSION] = engine
    limits = Limits.of(settings)
    dispatcher = Dispatcher(app, engine, settings)
    _register(app, dispatcher, spec, ECM, engine, contract_validator(spec), limits)
    admin_spec = load_spec(admin_spec_path(), ecm=False) if settings.admin else None
    if admin_spec is not None:
        validator = contract_validator(admin_spec)
        _register(app, dispatcher, admin_spec, ADMIN, engine, validator, limits)
    register_docs(app, spec, admin_spec, ADMIN_PREFIX)
    dispatcher.after(register_cors(app, settings.cors_origin_list))
    _register_error_handlers(app)
    dispatcher.after(_access_log(engine, dispatcher))
    app.wsgi_app = dispatcher  # type: ignore[method-assign]
    return app


def build_engine(
    settings: Settings,
    *,
    clock: ControlledClock | None = None,
    fixtures: dict[str, Any] | None = None,
) -> Engine:
    """The state side of a mock: handlers checked against the spec, fixtures loaded."""
    spec = load_spec(settings.spec_path)
    validator = contract_validator(spec)
    document = fixtures if fixtures is not None else read_fixtures(settings.fixtures)
    clock = clock or ControlledClock()
    services = Services(
        spec=spec,
        settings=settings,
        sessions=Sessions(
            state_factory(document, validator, settings, clock),
            settings.max_sessions,
            SnapshotBudget(settings.max_snapshots, settings.snapshot_bytes),
        ),
        clock=clock,
        tokens=TokenService(clock.time, settings.token_ttl, settings.jwt_secret),
        validator=validator,
        faults=Faults(settings.seed, settings.max_faults),
        journal=Journal(settings.journal_size, settings.journal_bytes),
    )
    check_handlers(spec, all_handlers())
    handlers = {ECM: all_handlers()}
    specs = {ECM: spec}
    validators = {ECM: validator}
    if settings.admin:
        specs[ADMIN] = load_spec(admin_spec_path(), ecm=False)
        admin_handlers = {**admin.handlers, **runtime_admin.handlers}
        check_handlers(specs[ADMIN], admin_handlers)
        handlers[ADMIN] = admin_handlers
        validators[ADMIN] = contract_validator(specs[ADMIN])
    return Engine(services, handlers, specs, validators)


def heavy_policy(app: Flask) -> Callable[[dict[str, Any]], bool]:
    """May this request take long (so a server should run it off its event loop)?"""
    adapter = app.url_map.bind("")
    sessions = app.extensions[EXTENSION].services.sessions
    operations = app.wsgi_app.operations  # the Dispatcher's: (method, path) -> operationId

    def heavy(environ: dict[str, Any]) -> bool:
        try:
            if int(environ.get("CONTENT_LENGTH") or 0) > LONG_BODY_BYTES:
                return True
        except ValueError:
            return True
        session = environ.get("HTTP_X_MOCK_SESSION")
        if session and not sessions.has(session):  # its first use builds its state
            return True
        endpoint = operations.get((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        if endpoint is None:  # a path with parameters, or not an operation's
            try:
                endpoint, _ = adapter.match(environ["PATH_INFO"], environ["REQUEST_METHOD"])
            except HTTPException:
                return False
        return endpoint in LONG_OPERATIONS

    return heavy


def services_of(app: Flask) -> Services:
    """The sessions, clock, faults, journal, settings and spec an app owns."""
    engine = app.extensions[EXTENSION]
    return engine.services


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
    dispatcher: Dispatcher,
    spec: Spec,
    plane: str,
    engine: Engine,
    validator: ContractValidator,
    limits: Limits,
) -> None:
    """Each operation: a Flask route (for every request to its path), and, when its path has
    no parameters, an entry of the dispatcher's table (for the requests that match exactly)."""
    for op in spec.operations.values():
        handle = _view(plane, op, engine, validator, limits)

        def view(handle: Callable[[Request], Response] = handle, **_path: Any) -> Response:
            return handle(request._get_current_object())

        view.__name__ = op.operation_id
        app.add_url_rule(
            re.sub(r"\{(\w+)\}", r"<\1>", op.path),
            endpoint=op.operation_id,
            view_func=view,
            methods=[op.method],
            provide_automatic_options=False,
        )
        if "{" not in op.path:
            dispatcher.add(op, handle)


def _view(
    plane: str,
    op: Operation,
    engine: Engine,
    validator: ContractValidator,
    limits: Limits,
) -> Callable[..., Response]:
    """Validate, hand over to the engine (which runs, renders and checks), answer: one path
    for every route."""

    def view(req: Request) -> Response:
        # an error like any other (a body too large too): faults and auth come first
        check = validator.check_request(op, req, limits)
        environ = req.environ
        envelope = _envelope(
            req,
            plane,
            op.operation_id,
            request=None if check.errors else check.request,
            errors=tuple(check.errors),
            error_status=check.status,
            fault=environ.get(FAULT),  # the second call of a delayed request
        )
        outcome = engine.handle(envelope)
        defer = environ.get(DEFER)
        if outcome.resume and defer:  # the server waits, then calls again (journaled then)
            environ[RESUME] = (outcome.delay, outcome.fault)
            environ[JOURNALED] = True
            return Response(status=204)  # never sent
        if outcome.delay:
            if defer:
                environ[DELAY] = outcome.delay
            else:
                time.sleep(outcome.delay)  # a plain WSGI server: this thread waits
        if outcome.resume:
            outcome = engine.handle(replace(envelope, fault=outcome.fault))
        environ[JOURNALED] = True
        if outcome.close:
            return _cut_off()
        return _render(outcome)  # the engine has rendered and checked it

    return view


def _envelope(req: Request, plane: str, operation_id: str, **checked: Any) -> Envelope:
    """The request as the engine takes it; ``checked``: what validation made of it."""
    environ = req.environ
    return Envelope(
        plane=plane,
        operation_id=operation_id,
        method=req.method,
        path=req.path,
        query_string=req.query_string.decode("latin-1"),
        headers={name: environ[key] for name, key in _ENGINE_ENVIRON if key in environ},
        started=environ.get(STARTED) or time.monotonic(),
        **checked,
    )


_ENGINE_ENVIRON = [(h, "HTTP_" + h.upper().replace("-", "_")) for h in ENGINE_HEADERS]


def _render(outcome: Outcome) -> Response:
    if outcome.body is None and outcome.media_type is None:
        response = Response(status=outcome.status)
    else:
        response = Response(
            outcome.data
            if outcome.data is not None
            else json.dumps(outcome.body, ensure_ascii=False, separators=(",", ":")),
            status=outcome.status,
            content_type=outcome.media_type,
        )
    for name, value in outcome.headers.items():
        response.headers[name] = value
    return response


def _cut_off() -> Response:
    """Headers that promise a body, then none: the server drops the connection mid-answer."""
    response = Response(iter(()), status=200, mimetype=JSON)
    response.headers["Content-Length"] = "1024"
    return response


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
        return _unexpected(request._get_current_object(), error)


def _unexpected(req: Request, error: Exception) -> Response:
    """A bug of the mock's, in the one error shape (and the log)."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    return problem_response(
        ApiError(500, f"internal error ({type(error).__name__}); see the mock's log")
    )


def _without_dot_segments(path: str) -> str:
    """``path`` without its ``.`` and ``..`` segments, as a client resolving it would send it."""
    normal = posixpath.normpath(path)
    return normal if normal.startswith("/") else "/" + normal


def _access_log(engine: Engine, dispatcher: Dispatcher) -> Callable[[Request, Response], Response]:
    """Each answer: a line of the access log (to the dispatcher's ``access_line`` when a
    server gives one, else to the ``ecm_mock.access`` logger), and a journal entry for an ECM
    request the engine never saw (no route, a method not allowed)."""

    def log_request(req: Request, response: Response) -> Response:
        environ = req.environ
        if RESUME in environ:  # the first half of a delayed request: nothing to say yet
            return response
        started = environ.get(STARTED) or time.monotonic()
        millis = (time.monotonic() - started) * 1000 + environ.get(DELAY, 0) * 1000
        path = environ.get("PATH_INFO", "")
        line = dispatcher.access_line
        if line is not None or access_log.isEnabledFor(logging.INFO):
            query = environ.get("QUERY_STRING")
            (line or access_log.info)(
                f'{environ.get("REMOTE_ADDR")} "{environ["REQUEST_METHOD"]} {path}'
                f'{"?" + query if query else ""}" {response.status_code} {millis:.1f}ms'
            )
        if not (environ.get(JOURNALED) or environ.get(NOT_ECM) or path.startswith(ADMIN_PREFIX)):
            # answered here without reaching the engine (no route, method, body too large)
            endpoint = getattr(req, "endpoint", None) or ""
            envelope = _envelope(req, ECM, endpoint, request=None)
            engine.record(envelope, response.status_code, millis)
        return response

    return log_request


class Dispatcher:
    """The app's WSGI entry. A request whose method and path are exactly an operation's (a
    path without parameters: nearly all of them) goes straight to the operation's view, with
    no Flask request context, URL matching or hooks (most of a request's cost otherwise);
    the rest (paths with parameters, HEAD, preflights, the mock's own pages, 404, 405) goes
    through Flask, whose routes hold the same views. The hooks every answer gets (CORS, the
    access log) run on both ways."""

    def __init__(self, app: Flask, engine: Engine, settings: Settings) -> None:
        self.flask_wsgi = app.wsgi_app
        self.table: dict[tuple[str, str], Callable[[Request], Response]] = {}
        self.operations: dict[tuple[str, str], str] = {}  # (method, path) -> operationId
        self.hooks: list[Callable[[Request, Response], Response]] = []
        self.access_line: Callable[[str], None] | None = None  # a server's own access log
        # werkzeug's request (Flask's reads its limits from the app context, which a
        # dispatched request does not have), with the app's body limit
        self.request_class = type(
            "OperationRequest", (WerkzeugRequest,), {"max_content_length": settings.max_body_bytes}
        )

        @app.after_request
        def after(response: Response) -> Response:  # the Flask way: the same hooks
            return self.finish(request._get_current_object(), response)

    def finish(self, req: Request, response: Response) -> Response:
        """The answer hooks, in order; one that fails (a bug) makes the answer the one
        problem shape's 500, and the rest still run."""
        for hook in self.hooks:
            try:
                response = hook(req, response)
            except Exception as error:
                response = _unexpected(req, error)
        return response

    def add(self, op: Operation, view: Callable[[Request], Response]) -> None:
        self.table[(op.method, op.path)] = view
        self.operations[(op.method, op.path)] = op.operation_id

    def after(self, hook: Callable[[Request, Response], Response] | None) -> None:
        if hook is not None:
            self.hooks.append(hook)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        environ.setdefault(STARTED, time.monotonic())  # kept across a delay
        path = environ.get("PATH_INFO", "")
        if "/." in path and (normal := _without_dot_segments(path)) != path:
            environ["PATH_INFO"] = path = normal  # /a/../b is /b (RFC 3986, 5.2.4)
        view = self.table.get((environ["REQUEST_METHOD"], path))
        if view is None:
            return self.flask_wsgi(environ, start_response)
        req = self.request_class(environ)
        req.view_args = {}
        try:
            response = view(req)
        except Exception as error:  # a bug: the one error shape, as Flask's handler answers
            response = _unexpected(req, error)
        response = self.finish(req, response)
        if response.is_streamed:  # the dropped-connection fault's answer, which promises more
            return response(environ, start_response)
        # a body of bytes with its length: sent as it is (werkzeug's general way, get_wsgi_
        # response, rechecks what every such answer of ours already has right)
        start_response(response.status, response.headers.to_wsgi_list())
        return [response.get_data()]
