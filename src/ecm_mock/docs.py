"""What the mock serves about itself: its contracts, their docs pages, and readiness.

``/openapi.json`` and ``/openapi.yaml`` are the loaded spec with ``servers`` set to the URL
the request came to, so a browser or a client generator gets a usable base URL; ``/docs`` is
Swagger UI on it (swagger-ui-py: Swagger UI 5, which renders OpenAPI 3.1, with its assets in
the package, so the page needs no network). The control plane's contract and page are
beside it under ``/__admin`` (gone with ``--no-admin``). None of this is an ECM operation:
these requests reach no engine (no fault, no session, no journal), and their errors are the
app's problems like any other.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import yaml
from flask import Blueprint, Flask, Response, redirect, request
from swagger_ui.core import ApplicationDocument
from swagger_ui.handlers.flask import handler as swagger_ui_handler

from . import __version__
from .errors import JSON
from .spec import Spec

NOT_ECM = "ecm_mock.not_ecm"  # WSGI environ key: a request of the mock's own, never journaled
YAML = "application/yaml"  # RFC 9512

# paths clients and people try first, sent on to the canonical ones
ALIASES = {
    "/": "/docs",
    "/swagger-ui": "/docs",
    "/swagger-ui/": "/docs",
    "/swagger-ui.html": "/docs",  # springdoc
    "/swagger-ui/index.html": "/docs",
    "/openapi": "/openapi.json",
    "/swagger.json": "/openapi.json",
    "/api-docs": "/openapi.json",
    "/v3/api-docs": "/openapi.json",  # springdoc
    "/openapi.yml": "/openapi.yaml",
    "/swagger.yaml": "/openapi.yaml",
    "/v3/api-docs.yaml": "/openapi.yaml",  # springdoc
}
READINESS = ("/healthz", "/readyz")

# Swagger UI's options (JavaScript literals): no call to the public validator (no network),
# operationIds shown (faults and the journal name them), the token kept over a reload
UI_OPTIONS = {
    "validatorUrl": "null",
    "displayOperationId": "true",
    "persistAuthorization": "true",
    "filter": "true",
}


def register_docs(app: Flask, spec: Spec, admin_spec: Spec | None, admin_prefix: str) -> None:
    """The contracts, their pages, the aliases and readiness; the admin ones if ``admin_spec``."""
    served = Blueprint("served", __name__)  # the pages below are its own blueprints
    own = {*ALIASES, *READINESS}
    own |= _contract(app, served, spec, "", "ECM API")
    if admin_spec is not None:
        own |= _contract(app, served, admin_spec, admin_prefix, "control plane")
    for alias, target in ALIASES.items():
        served.add_url_rule(alias, _endpoint("alias", alias), _redirect(target), methods=["GET"])

    ready = {
        "status": "ready",
        "version": __version__,
        "contract": spec.document["info"]["version"],
        "operations": len(spec.operations),
        "admin": admin_spec is not None,
    }
    for path in READINESS:
        served.add_url_rule(path, _endpoint("ready", path), lambda: ready, methods=["GET"])
    app.register_blueprint(served)

    @app.before_request
    def mark_own() -> None:
        path = request.path
        if path in own or path.startswith("/docs/"):
            request.environ[NOT_ECM] = True


def _contract(app: Flask, served: Blueprint, spec: Spec, prefix: str, name: str) -> set[str]:
    """``{prefix}/openapi.json``, ``.yaml`` and the ``{prefix}/docs`` page; their paths."""

    @functools.lru_cache(maxsize=16)  # per app: the few base URLs it is called by
    def rendered(base: str, media_type: str) -> str:
        document = {**spec.document, "servers": [{"url": base, "description": "this mock"}]}
        if media_type == YAML:
            return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        return json.dumps(document, ensure_ascii=False)

    def serve(media_type: str) -> Any:
        def view() -> Response:
            # the URL the client used, so the servers it gets are reachable from it
            text = rendered(request.host_url.rstrip("/"), media_type)
            return Response(text, mimetype=media_type)

        return view

    paths = {f"{prefix}/openapi.json": JSON, f"{prefix}/openapi.yaml": YAML}
    for path, media_type in paths.items():
        served.add_url_rule(path, _endpoint("contract", path), serve(media_type), methods=["GET"])
    page = ApplicationDocument(
        app,
        app_type="flask",
        url_prefix=f"{prefix}/docs",
        title=f"{spec.document['info']['title']} ({name})",
        config_rel_url=f"{prefix}/openapi.json",  # served above, not by swagger-ui-py
        parameters=UI_OPTIONS,
    )
    page.parameters["url"] = json.dumps(f"{prefix}/openapi.json")  # not below the page's path
    swagger_ui_handler(page)
    return {*paths, f"{prefix}/docs"}


def _redirect(target: str) -> Any:
    def view() -> Response:
        query = request.query_string.decode("latin-1")
        return redirect(f"{target}?{query}" if query else target, 302)

    return view


def _endpoint(kind: str, path: str) -> str:
    return f"{kind}:{path}".replace(".", "_")  # a blueprint's endpoint has no dot
