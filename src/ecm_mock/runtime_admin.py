"""The control plane of the campaign runtime (openapi/admin.yaml, tag ``runtime``): the call
log, the outcome model and the outcome rules of the session a request names.

Like every handler, they read validated input and hold only what the spec cannot say; the
runtime itself is :mod:`ecm_mock.runtime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import runtime
from .errors import field_error
from .resources._base import Call, HandlerSet

handlers = HandlerSet()


@handlers.operation("readCallLog")
def read_call_log(call: Call) -> list[dict[str, Any]]:
    query = dict(call.query)
    since = _instant(query.pop("since"), "/query/since") if "since" in query else None
    limit = query.pop("limit", None)
    with call.store.transaction() as state:
        return runtime.calls(state.runtime, limit=limit, since=since, **query)


@handlers.operation("clearCallLog")
def clear_call_log(call: Call) -> None:
    with call.store.transaction() as state:
        state.runtime.calls.clear()


@handlers.operation("readOutcomeModel")
def read_outcome_model(call: Call) -> dict[str, Any]:
    with call.store.transaction() as state:
        return runtime.model(state.runtime)


@handlers.operation("setOutcomeModel")
def set_outcome_model(call: Call) -> dict[str, Any]:
    _refuse(runtime.model_problem(call.body))
    with call.store.transaction() as state:
        runtime.set_model(state.runtime, call.body)
        return runtime.model(state.runtime)


@handlers.operation("listOutcomeRules")
def list_outcome_rules(call: Call) -> list[dict[str, Any]]:
    with call.store.transaction() as state:
        return [dict(rule) for rule in state.runtime.rules]


@handlers.operation("addOutcomeRule")
def add_outcome_rule(call: Call) -> dict[str, Any]:
    _refuse(runtime.rule_problem(call.body))
    with call.store.transaction() as state:
        return runtime.add_rule(state.runtime, call.body)


@handlers.operation("clearOutcomeRules")
def clear_outcome_rules(call: Call) -> None:
    with call.store.transaction() as state:
        state.runtime.rules.clear()


@handlers.operation("removeOutcomeRule")
def remove_outcome_rule(call: Call) -> None:
    rule_id = call.request.path["id"]
    with call.store.transaction() as state:
        if not runtime.remove_rule(state.runtime, rule_id):
            raise field_error(404, "/path/id", f"no outcome rule {rule_id}", "path")


def _instant(text: str, pointer: str) -> float:
    try:  # RFC 3339 allows a lower-case 't' and 'z'; fromisoformat does not
        at = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise field_error(400, pointer, f"cannot read {text!r} as a moment", "query") from None
    if at.tzinfo is None:
        raise field_error(400, pointer, "give a time zone (e.g. a Z suffix)", "query")
    return at.timestamp()


def _refuse(problem: tuple[str, str] | None) -> None:
    """A 400 for a schema-valid change the runtime cannot use: (pointer, message)."""
    if problem:
        raise field_error(400, *problem)
