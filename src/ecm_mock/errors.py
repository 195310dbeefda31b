"""The one error shape: RFC 9457 problem details plus an ``errors`` list of fields.

Every 4xx/5xx the mock answers is built here, from an :class:`ApiError` or a werkzeug
``HTTPException``; nothing else writes an error body.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

from flask import Response

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
MOST_LISTED = 100  # errors a problem lists (its detail says how many more there were)


@dataclass(frozen=True)
class ErrorItem:
    """One offending value: where it is (``location``), a JSON pointer to it, and why."""

    location: str
    pointer: str
    message: str


class ApiError(Exception):
    """An answer other than success. Raise it anywhere below a route; it becomes a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[ErrorItem] | tuple[ErrorItem, ...] = (),
        headers: dict[str, str] | None = None,
        *,
        outside_contract: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = headers or {}
        # an answer about the mock's own extensions (sessions, faults), not the API's: the
        # API's contract does not describe it, so it is not checked against it
        self.outside_contract = outside_contract


def field_error(status: int, pointer: str, message: str, location: str = "body") -> ApiError:
    """An :class:`ApiError` about one field, named by a JSON pointer such as ``/body/name``."""
    return ApiError(status, message, [ErrorItem(location, pointer, message)])


def not_found(what: str, pointer: str, value: Any, location: str = "body") -> ApiError:
    return field_error(404, pointer, f"{what} {value!r} does not exist", location)


def not_acceptable(pointer: str, message: str, location: str = "body") -> ApiError:
    return field_error(406, pointer, message, location)


def problem(error: ApiError) -> dict[str, Any]:
    title = _title(error.status)
    body: dict[str, Any] = {
        "type": f"urn:ecm-mock:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": error.status,
        "detail": error.detail,
    }
    if error.errors:
        body["errors"] = [asdict(e) for e in error.errors[:MOST_LISTED]]
    return body


def problem_response(error: ApiError) -> Response:
    response = Response(
        json.dumps(problem(error), ensure_ascii=False, separators=(",", ":")),
        status=error.status,
        mimetype=PROBLEM_JSON,
    )
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
