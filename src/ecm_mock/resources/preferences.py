"""The deployment's one preference-settings record. The password is kept, never answered."""

from __future__ import annotations

from typing import Any

from ..errors import not_acceptable, not_found
from ..state import Record, State
from ._base import Call, HandlerSet

handlers = HandlerSet()


def _answer(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "password"}


def _saved(state: State, record_id: int | None, pointer: str, location: str) -> Record:
    record = state.preferences
    if record is None or (record_id is not None and record["id"] != record_id):
        raise not_found("preference settings", pointer, record_id, location)
    return record


@handlers.operation("getPreferenceSettings")
def get_settings(call: Call) -> Record:
    with call.store.transaction() as state:
        record = state.preferences
        if record is None:
            raise not_found("preference settings", "", "(none saved)", "path")
        return _answer(record)


@handlers.operation("savePreferenceSettings")
def save_settings(call: Call) -> Record:
    body = call.with_defaults("PreferenceSettingsSave", call.body)
    with call.store.transaction() as state:
        if state.preferences is not None:
            raise not_acceptable(
                "/body", f"preference settings exist (id {state.preferences['id']}); update them"
            )
        state.preferences = {"id": state.next_id("preferences"), **body}
        return _answer(state.preferences)


@handlers.operation("updatePreferenceSettings")
def update_settings(call: Call) -> Record:
    changes: dict[str, Any] = dict(call.body)
    with call.store.transaction() as state:
        record = _saved(state, changes["id"], "/body/id", "body")
        state.preferences = record = {**record, **changes}
        return _answer(record)


@handlers.operation("deletePreferenceSettings")
def delete_settings(call: Call) -> dict[str, Any]:
    with call.store.transaction() as state:
        record = _saved(state, call.query["id"], "/query/id", "query")
        state.preferences = None
        return {"id": record["id"], "deleted": True}
