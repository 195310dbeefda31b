"""CORS, so that a browser app on another origin can call the mock (``--cors-origins``).

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
here, before any view: with the methods the path's routes take, which are the spec's (as
:func:`~ecm_mock.app.create_app` routed them). It reaches no engine: no fault, no session, no
credentials, no journal. Every other answer, errors included, gets the origin headers on its
way out.

Not flask-cors: it answers every path's preflight with one configured list of methods, and
relies on Flask's automatic ``OPTIONS`` answer, which the spec's routes do without (an
``OPTIONS`` the spec does not declare is a 405). What would be left for it is a few headers,
which werkzeug's request and response already read and write (``request.origin``,
``response.access_control_*``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Request, Response, request
from werkzeug.exceptions import NotFound

from .docs import NOT_ECM
from .engine import ENGINE_HEADERS
from .errors import ApiError, ErrorItem, problem_response

# what clients send: Content-Type, and the headers the engine reads (Authorization,
# X-Mock-Session, X-Admin-Token)
ALLOW_HEADERS = ("Content-Type", *ENGINE_HEADERS)
EXPOSE_HEADERS = ("WWW-Authenticate", "Allow")  # the rest a script may read anyway
MAX_AGE = 600  # seconds a browser may keep a preflight's answer


def register_cors(
    app: Flask, origins: tuple[str, ...]
) -> Callable[[Request, Response], Response] | None:
    """Answer preflights for ``origins`` (``*``: any); none: CORS off. Returns what marks
    every other answer (the app runs it on each answer, however the request was routed)."""
    if not origins:
        return None
    any_origin = "*" in origins

    def allowed(origin: str | None) -> bool:
        return origin is not None and (any_origin or origin.lower() in origins)

    @app.before_request
    def preflight() -> Response | None:
        req = request._get_current_object()
        wanted = req.access_control_request_method
        if req.method != "OPTIONS" or req.origin is None or not wanted:
            return None
        req.environ[NOT_ECM] = True
        methods = _methods(app, req)
        if not methods:
            raise NotFound()  # the app's own 404 problem
        if not allowed(req.origin):
            return _refused(
                f"origin {req.origin} may not call this mock (--cors-origins)", "Origin"
            )
        if wanted.upper() not in methods:
            refused = _refused(
                f"{wanted} is not allowed on {req.path}; allowed: {', '.join(methods)}",
                "Access-Control-Request-Method",
            )
            refused.headers["Allow"] = ", ".join(methods)
            return refused
        response = Response(status=204)
        response.access_control_allow_methods = methods
        response.access_control_allow_headers = ALLOW_HEADERS
        response.access_control_max_age = MAX_AGE
        return response

    expose = ", ".join(EXPOSE_HEADERS)

    def origin_headers(req: Request, response: Response) -> Response:
        # on every answer, so plain header writes (werkzeug's properties parse and rebuild)
        headers = response.headers
        vary = headers.get("Vary")
        if vary is None:
            headers["Vary"] = "Origin"
        elif "origin" not in vary.lower():
            headers["Vary"] = f"{vary}, Origin"
        origin = req.environ.get("HTTP_ORIGIN")
        if allowed(origin):
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = expose
        return response

    return origin_headers


def _methods(app: Flask, req: Request) -> list[str]:
    """The methods the path's routes take (none: no route has the path)."""
    adapter = app.create_url_adapter(req)
    taken = adapter.allowed_methods() if adapter is not None else []
    return sorted(m for m in taken if m != "OPTIONS")


def _refused(detail: str, header: str) -> Response:
    """A preflight refused: a problem, without the allow headers (the browser then blocks)."""
    return problem_response(
        ApiError(403, detail, [ErrorItem("header", f"/header/{header}", detail)])
    )
