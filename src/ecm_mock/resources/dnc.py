"""The do-not-call list."""

from __future__ import annotations

from typing import Any

from ..errors import not_acceptable, not_found
from ..state import Record, State, copy_json
from . import _bulk
from ._base import Call, HandlerSet, paged

handlers = HandlerSet()


def _get(state: State, record_id: int, pointer: str, location: str = "body") -> Record:
    record = state.dnc.get(record_id)
    if record is None:
        raise not_found("DNC record", pointer, record_id, location)
    return record


def _insert(call: Call, state: State, fields: dict[str, Any]) -> Record:
    record = {"id": state.next_id("dnc"), **fields, "createdAt": call.services.clock.iso()}
    state.dnc[record["id"]] = record
    state.dnc_by_number[record["primaryNumber"]] = record["id"]
    return record


@handlers.operation("listDncContacts")
def list_dnc(call: Call) -> dict[str, Any]:
    query = call.query
    needle = (query.get("search") or "").casefold()
    with call.store.transaction() as state:
        records = [r for _, r in sorted(state.dnc.items())]
        if needle:
            records = [
                r
                for r in records
                if any(
                    needle in str(r.get(k, "")).casefold()
                    for k in ("primaryNumber", "firstName", "lastName")
                )
            ]
        return paged(records, query["page"], query["size"])


@handlers.operation("saveDncContact")
def save_dnc(call: Call) -> Record:
    with call.store.transaction() as state:
        number = call.body["primaryNumber"]
        if number in state.dnc_by_number:
            raise not_acceptable("/body/primaryNumber", f"{number} is already on the DNC list")
        return copy_json(_insert(call, state, call.body))


@handlers.operation("updateDncContact")
def update_dnc(call: Call) -> Record:
    changes = dict(call.body)
    record_id = changes.pop("id")
    with call.store.transaction() as state:
        current = _get(state, record_id, "/body/id")
        number = changes.get("primaryNumber", current["primaryNumber"])
        holder = state.dnc_by_number.get(number)
        if holder is not None and holder != record_id:
            raise not_acceptable("/body/primaryNumber", f"{number} is already on the DNC list")
        del state.dnc_by_number[current["primaryNumber"]]
        state.dnc[record_id] = changed = {**current, **changes}
        state.dnc_by_number[number] = record_id
        return copy_json(changed)


@handlers.operation("deleteDncContact")
def delete_dnc(call: Call) -> dict[str, Any]:
    with call.store.transaction() as state:
        record = _get(state, call.query["id"], "/query/id", "query")
        del state.dnc_by_number[record["primaryNumber"]]
        del state.dnc[record["id"]]
        return {"id": record["id"], "deleted": True}


@handlers.operation("bulkUploadDncContacts")
def bulk_upload_dnc(call: Call) -> dict[str, Any]:
    rows = _bulk.upload_rows(call, call.body)
    checked = _bulk.check_rows(call, "DncCreate", rows)  # without the lock
    counts = {"inserted": 0, "duplicates": 0}
    with call.store.transaction() as state:
        for _index, row in checked.valid:
            if row["primaryNumber"] in state.dnc_by_number:
                counts["duplicates"] += 1
            else:
                _insert(call, state, row)
                counts["inserted"] += 1
    return _bulk.report(checked, len(rows), **counts)
