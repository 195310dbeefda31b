"""A strategy's attempts: retry maps that follow their targets through reordering and deletion."""

from __future__ import annotations

import pytest

from ._steps import create_strategy

pytestmark = pytest.mark.suite("scenarios")


def _shape(attempts: list[dict]) -> tuple[dict, dict]:
    """({attempt id: number}, {attempt id: [ids its retry map points at]}) of a strategy."""
    id_of = {a["attemptNumber"]: a["id"] for a in attempts}
    numbers = {a["id"]: a["attemptNumber"] for a in attempts}
    targets = {
        a["id"]: [id_of.get(e.get("attempt_number")) for e in a.get("retryMap", [])]
        for a in attempts
    }
    return numbers, targets


def _expect_shape(s, operation_id, attempts, numbers, targets, when):
    got_numbers, got_targets = _shape(attempts)
    s.equal(operation_id, got_numbers, numbers, f"attempt numbers {when}")
    s.equal(operation_id, got_targets, targets, f"retry-map targets {when}")


def _listed(s, strategy_id):
    return s.call("listStrategyAttempts", params={"csId": strategy_id}, message="list attempts")


def _add_attempt(s, prefix: str, strategy_id: int, number: int, retry_to: int) -> int:
    attempt = s.create(
        "saveStrategyAttempt",
        "deleteStrategyAttempt",
        message=f"add attempt {number}",
        json={
            "csId": strategy_id,
            "name": f"{prefix} voice {number}",
            "phone": "1",
            "channel": 0,
            "attemptNumber": number,
            "retryMap": [{"call_result": number, "attempt_number": retry_to, "delay": 10}],
        },
    )
    return attempt["id"]


def test_strategy_attempts(scenario, prefix):
    s = scenario
    sid = create_strategy(s, f"{prefix} attempts")["id"]
    # Each attempt's retry map points at the next one: 1 → 2 → 3 → 1.
    one, two, three = (_add_attempt(s, prefix, sid, n, n % 3 + 1) for n in (1, 2, 3))
    cycle = {one: [two], two: [three], three: [one]}
    numbers = {one: 1, two: 2, three: 3}
    _expect_shape(s, "saveStrategyAttempt", _listed(s, sid), numbers, cycle, "after saving")

    # New order 3, 1, 2: the numbers change, every entry still points at the same attempt.
    reordered = s.call(
        "updateAttemptOrder",
        json={"csId": sid, "attemptIds": [three, one, two]},
        message="reorder the attempts",
    )
    numbers = {three: 1, one: 2, two: 3}
    _expect_shape(s, "updateAttemptOrder", reordered, numbers, cycle, "in the reorder answer")
    _expect_shape(s, "updateAttemptOrder", _listed(s, sid), numbers, cycle, "after reordering")

    # Delete `three` (now number 1): `one` and `two` become 1 and 2, the entry of `two` to
    # `three` is dropped, the entry of `one` follows `two` from number 3 to 2.
    s.call("deleteStrategyAttempt", params={"id": three}, message="delete an attempt")
    _expect_shape(
        s,
        "deleteStrategyAttempt",
        _listed(s, sid),
        {one: 1, two: 2},
        {one: [two], two: []},
        "after deleting an attempt",
    )

    s.call("deleteStrategy", params={"id": sid}, message="delete the strategy")
    s.call(
        "listStrategyAttempts",
        params={"csId": sid},
        status=404,
        blame="deleteStrategy",
        message="the deleted strategy's attempts are gone",
    )
