"""Scenario expectations, each attributed in the drift report to the operation it concerns."""

from __future__ import annotations

from typing import Any

import requests

from ..drift import DriftRecorder
from ..kit import Created, KitSession, replayable

SUITE = "scenarios"


def expect(
    recorder: DriftRecorder,
    kit: KitSession,
    operation_id: str,
    outcome: requests.Response | bool,
    *,
    status: int = 200,
    message: str = "",
    check: str = "scenario",
    nodeid: str | None = None,
) -> Any:
    """Check ``outcome`` (a response expected to have ``status``, or a condition).

    A check that holds counts as a pass of ``operation_id``; one that does not is recorded
    against it with the curl of the last request, and raises AssertionError. Returns a
    response's JSON body.
    """
    __tracebackhide__ = True
    if isinstance(outcome, requests.Response):
        ok = outcome.status_code == status
        if not ok:
            message = (
                f"{message or 'answer'}: expected {status}, got {outcome.status_code} "
                f"{outcome.text[:500]}"
            )
    else:
        ok = bool(outcome)
    if not ok:
        curl = replayable(kit.last.curl(), kit.base_url, recorder.replay_base) if kit.last else None
        recorder.failed(operation_id, check, SUITE, message, curl, nodeid)
        raise AssertionError(f"{operation_id}: {message}" + (f"\n  {curl}" if curl else ""))
    recorder.passed(operation_id, SUITE)
    if isinstance(outcome, requests.Response):
        try:
            return outcome.json()
        except ValueError:  # not JSON
            return None
    return None


class Scenario:
    """One scenario's calls and expectations, bound to the kit, the recorder and the registry."""

    def __init__(
        self, kit: KitSession, recorder: DriftRecorder, created: Created, name: str, nodeid: str
    ) -> None:
        self.kit, self.recorder, self.created = kit, recorder, created
        self.check_name = f"scenario:{name}"
        self.nodeid = nodeid

    def call(
        self,
        operation_id: str,
        *,
        status: int = 200,
        message: str = "",
        blame: str | None = None,
        **request: Any,
    ) -> Any:
        """Call ``operation_id``, expect ``status``, return the JSON body.

        ``blame``: the operation a wrong answer speaks against, when the call only checks the
        effect of an earlier one (a list after a delete blames the delete).
        """
        __tracebackhide__ = True
        response = self.kit.call(operation_id, **request)
        return self.expect(blame or operation_id, response, status=status, message=message)

    def create(
        self,
        operation_id: str,
        undo_operation_id: str,
        *,
        status: int = 200,
        message: str = "",
        **request: Any,
    ) -> Any:
        """Call a create operation; register the undo of what it made before checking it."""
        __tracebackhide__ = True
        response = self.kit.call(operation_id, **request)
        if response.ok:
            try:
                new_id = response.json()["id"]
            except (ValueError, KeyError, TypeError):
                new_id = None
            if new_id is not None:
                self.created.delete(undo_operation_id, id=new_id)
        return self.expect(operation_id, response, status=status, message=message)

    def expect(
        self,
        operation_id: str,
        outcome: requests.Response | bool,
        *,
        status: int = 200,
        message: str = "",
    ) -> Any:
        __tracebackhide__ = True
        return expect(
            self.recorder,
            self.kit,
            operation_id,
            outcome,
            status=status,
            message=message,
            check=self.check_name,
            nodeid=self.nodeid,
        )

    def equal(self, operation_id: str, actual: Any, wanted: Any, what: str) -> None:
        """Expect ``actual == wanted``; the message shows both."""
        __tracebackhide__ = True
        self.expect(
            operation_id, actual == wanted, message=f"{what}: expected {wanted!r}, got {actual!r}"
        )
