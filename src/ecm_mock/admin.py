"""The control plane's handlers (openapi/admin.yaml): state, snapshots, faults, journal, clock.

The campaign runtime's (call log, outcome model and rules) are in :mod:`runtime_admin`.

Like the ECM handlers, they read validated input and hold only what the spec cannot say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import runtime
from .clock import EARLIEST, LATEST
from .errors import ApiError, ErrorItem, field_error
from .faults import FaultsFull
from .fixtures import FixtureError, state_factory
from .resources._base import Call, HandlerSet
from .state import SnapshotsFull

handlers = HandlerSet()

# The moments the clock can show: ISO-8601 with a four-digit year (the API's timestamp form).


def _summary(call: Call) -> dict[str, Any]:
    return {"session": call.session, "counts": call.store.counts()}


def _missing(what: str, pointer: str) -> ApiError:
    return field_error(404, pointer, f"no {what}", "path")


@handlers.operation("resetState")
def reset_state(call: Call) -> dict[str, Any]:
    call.store.reset(call.services.sessions.factory if call.query.get("startup") else None)
    return _summary(call)


@handlers.operation("loadFixtures")
def load_fixtures(call: Call) -> dict[str, Any]:
    services = call.services
    factory = state_factory(call.body, services.validator, services.settings, services.clock)
    try:
        call.store.reset(factory)  # builds first: a bad document leaves the state as it was
    except FixtureError as exc:
        raise _unusable(str(exc)) from None
    return _summary(call)


def _unusable(message: str) -> ApiError:
    return ApiError(
        400, f"the fixture document is not usable: {message}", [ErrorItem("body", "/body", message)]
    )


@handlers.operation("dumpState")
def dump_state(call: Call) -> dict[str, Any]:
    return call.store.dump()


@handlers.operation("listSnapshots")
def list_snapshots(call: Call) -> list[dict[str, str]]:
    return [{"name": name, "takenAt": taken} for name, taken in call.store.snapshots()]


@handlers.operation("takeSnapshot")
def take_snapshot(call: Call) -> dict[str, str]:
    taken = call.services.clock.iso()
    try:
        call.store.snapshot(call.body["name"], taken)
    except SnapshotsFull as full:
        raise field_error(409, "/body/name", str(full)) from None
    return {"name": call.body["name"], "takenAt": taken}


@handlers.operation("restoreSnapshot")
def restore_snapshot(call: Call) -> dict[str, Any]:
    if not call.store.restore(call.request.path["name"]):
        raise _missing(f"snapshot {call.request.path['name']!r}", "/path/name")
    return _summary(call)


@handlers.operation("deleteSnapshot")
def delete_snapshot(call: Call) -> None:
    if not call.store.delete_snapshot(call.request.path["name"]):
        raise _missing(f"snapshot {call.request.path['name']!r}", "/path/name")


@handlers.operation("listSessions")
def list_sessions(call: Call) -> dict[str, Any]:
    sessions = call.services.sessions
    return {"limit": sessions.limit, "sessions": sessions.names()}


@handlers.operation("listFaults")
def list_faults(call: Call) -> list[dict[str, Any]]:
    return call.services.faults.list()


@handlers.operation("addFault")
def add_fault(call: Call) -> dict[str, Any]:
    rule = call.body
    op_id = rule.get("operationId")
    if op_id is not None and op_id not in call.services.spec.operations:
        raise field_error(400, "/body/operationId", f"no ECM operation {op_id!r}")
    latency = rule.get("latencyMs")
    if isinstance(latency, list) and latency[0] > latency[1]:
        raise field_error(400, "/body/latencyMs/0", "the range's minimum is above its maximum")
    try:
        return call.services.faults.add(rule).as_dict()
    except FaultsFull as full:
        raise field_error(409, "/body", str(full)) from None


@handlers.operation("clearFaults")
def clear_faults(call: Call) -> None:
    call.services.faults.clear()


@handlers.operation("removeFault")
def remove_fault(call: Call) -> None:
    if not call.services.faults.remove(call.request.path["id"]):
        raise _missing(f"fault rule {call.request.path['id']}", "/path/id")


@handlers.operation("readJournal")
def read_journal(call: Call) -> list[dict[str, Any]]:
    query = dict(call.query)
    return call.services.journal.entries(query.pop("limit", None), **query)


@handlers.operation("clearJournal")
def clear_journal(call: Call) -> None:
    call.services.journal.clear()


def _clock_state(call: Call) -> dict[str, Any]:
    clock = call.services.clock
    now = clock.time()
    return {"now": clock.iso(), "epochSeconds": now, "frozen": clock.frozen, "speed": clock.speed}


@handlers.operation("readClock")
def read_clock(call: Call) -> dict[str, Any]:
    return _clock_state(call)


def _instant(text: str) -> float:
    try:  # RFC 3339 allows a lower-case 't' and 'z'; fromisoformat does not
        at = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise field_error(400, "/body/now", f"cannot read {text!r} as a moment") from None
    if at.tzinfo is None:
        raise field_error(400, "/body/now", "give a time zone (e.g. a Z suffix)")
    return at.timestamp()


@handlers.operation("setClock")
def set_clock(call: Call) -> dict[str, Any]:
    change, clock = call.body, call.services.clock
    at = _instant(change["now"]) if "now" in change else None
    target = (clock.time() if at is None else at) + change.get("advanceSeconds", 0)
    if not EARLIEST <= target <= LATEST:  # checked before anything changes
        pointer = "/body/advanceSeconds" if "advanceSeconds" in change else "/body/now"
        raise field_error(400, pointer, "the clock would leave the years 1000 to 9999")
    stay_frozen = change.get("frozen", clock.frozen)
    if at is not None:
        clock.freeze(at)
    if stay_frozen and not clock.frozen:
        clock.freeze()
    elif not stay_frozen and clock.frozen:
        clock.unfreeze()
    if "advanceSeconds" in change:
        clock.advance(change["advanceSeconds"])
    if "speed" in change:
        clock.set_speed(change["speed"])
    # what fell due in the time passed happens before the answer, in every store
    runtime.run_due(call.services.sessions.stores(), clock.time)
    return _clock_state(call)
