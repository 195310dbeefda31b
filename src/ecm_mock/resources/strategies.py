"""Call strategies and their ordered attempts, with retry maps that follow renumbering."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, ErrorItem, not_acceptable, not_found
from ..state import Record, State, copy_json
from ._base import Call, HandlerSet, same_name
from .campaigns import DEFAULT_STRATEGY

handlers = HandlerSet()

VOICE, SMS = 0, 1
# The keys of a retry-map entry as answered, per channel, in the vendor example's order.
ANSWER_KEYS = {
    VOICE: ("attempt_number", "delay", "call_result"),
    SMS: ("sms_response_timeout", "attempt_number", "expiry"),
}
FOREIGN_KEYS = {VOICE: ("sms_response_timeout", "expiry"), SMS: ("call_result", "delay")}
REQUIRED_KEYS = {VOICE: ("call_result", "attempt_number"), SMS: ("sms_response_timeout",)}


# ------------------------------------------------------------------- strategies
def _strategy(state: State, strategy_id: int, pointer: str, location: str = "body") -> Record:
    strategy = state.strategies.get(strategy_id)
    if strategy is None:
        raise not_found("strategy", pointer, strategy_id, location)
    return strategy


def _attempts_of(state: State, strategy_id: int) -> list[Record]:
    return sorted(state.attempts_in(strategy_id), key=lambda a: a["attemptNumber"])


def _summary(state: State, strategy: Record) -> Record:
    count = len(state.attempts_in(strategy["id"]))
    return {"id": strategy["id"], "name": strategy["name"], "attemptCount": count}


def _check_name_free(state: State, name: str, own_id: int | None) -> None:
    for other in state.strategies.values():
        if other["id"] != own_id and same_name(other["name"], name):
            raise not_acceptable("/body/name", f"a strategy named {name!r} exists")


@handlers.operation("listStrategies")
def list_strategies(call: Call) -> list:
    with call.store.transaction() as state:
        return [_summary(state, s) for _, s in sorted(state.strategies.items())]


@handlers.operation("saveStrategy")
def save_strategy(call: Call) -> Record:
    with call.store.transaction() as state:
        _check_name_free(state, call.body["name"], None)
        strategy = {"id": state.next_id("strategy"), "name": call.body["name"]}
        state.strategies[strategy["id"]] = strategy
        return _summary(state, strategy)


@handlers.operation("updateStrategyName")
def update_strategy_name(call: Call) -> Record:
    with call.store.transaction() as state:
        strategy = _strategy(state, call.body["id"], "/body/id")
        if strategy["name"] == DEFAULT_STRATEGY and call.body["name"] != DEFAULT_STRATEGY:
            raise not_acceptable("/body/id", "the Default strategy keeps its name")
        _check_name_free(state, call.body["name"], strategy["id"])
        state.strategies[strategy["id"]] = strategy = {**strategy, "name": call.body["name"]}
        return _summary(state, strategy)


@handlers.operation("deleteStrategy")
def delete_strategy(call: Call) -> Record:
    with call.store.transaction() as state:
        strategy = _strategy(state, call.query["id"], "/query/id", "query")
        if strategy["name"] == DEFAULT_STRATEGY:
            raise not_acceptable("/query/id", "the Default strategy cannot be deleted", "query")
        users = sorted(
            c["name"] for c in state.campaigns.values() if c["strategyId"] == strategy["id"]
        )
        if users:
            raise not_acceptable(
                "/query/id", f"the strategy is used by campaign(s) {', '.join(users)}", "query"
            )
        attempts = _attempts_of(state, strategy["id"])
        for attempt in attempts:
            state.remove_attempt(attempt["id"])
        del state.strategies[strategy["id"]]
        return {"id": strategy["id"], "deleted": True, "attemptsDeleted": len(attempts)}


# --------------------------------------------------------------------- attempts
def normalize_retry_map(entries: list[dict[str, Any]], channel: int) -> list[dict[str, int]]:
    """The retry map in the answer's form (integers, ``delay``), or a 406 naming the entry.

    The schema has checked each value's form; these are the rules across keys and entries
    (well-formed but not acceptable, hence 406 as for every business rule).
    """
    if channel == SMS and len(entries) > 1:
        raise not_acceptable("/body/retryMap/1", "an SMS attempt takes at most one entry")
    answer: list[dict[str, int]] = []
    seen_results: dict[int, int] = {}
    for index, entry in enumerate(entries):
        base = f"/body/retryMap/{index}"
        values = {k: int(v) for k, v in entry.items()}
        sent_as = {"delay": "attempt_delay"} if "delay" not in entry else {}
        if "attempt_delay" in values:
            alias = values.pop("attempt_delay")
            if values.setdefault("delay", alias) != alias:
                raise not_acceptable(
                    f"{base}/attempt_delay",
                    "attempt_delay and delay are the same field; they differ",
                )
        for key in FOREIGN_KEYS[channel]:
            if key in values:
                sent = sent_as.get(key, key)  # as the request named it
                kind = "a voice" if channel == VOICE else "an SMS"
                raise not_acceptable(f"{base}/{sent}", f"{sent} does not belong in {kind} attempt")
        for key in REQUIRED_KEYS[channel]:
            if key not in values:
                kind = "a voice" if channel == VOICE else "an SMS"
                raise not_acceptable(f"{base}/{key}", f"{key} is required in {kind} attempt")
        if channel == VOICE:
            values.setdefault("delay", 0)
            result = values["call_result"]
            if result in seen_results:
                raise not_acceptable(
                    f"{base}/call_result",
                    f"call_result {result} already has entry {seen_results[result]}",
                )
            seen_results[result] = index
        answer.append({k: values[k] for k in ANSWER_KEYS[channel] if k in values})
    return answer


def _check_not_self(attempt: Record) -> None:
    for index, entry in enumerate(attempt["retryMap"]):
        if entry.get("attempt_number") == attempt["attemptNumber"]:
            raise not_acceptable(
                f"/body/retryMap/{index}/attempt_number",
                f"an entry may not point at its own attempt ({attempt['attemptNumber']})",
            )


def _check_number_free(state: State, attempt: Record) -> None:
    owner = state.numbers_in(attempt["csId"]).get(attempt["attemptNumber"])
    if owner is not None and owner != attempt.get("id"):
        raise not_acceptable(
            "/body/attemptNumber",
            f"attempt number {attempt['attemptNumber']} is taken in strategy {attempt['csId']}",
        )


def _renumber(state: State, strategy_id: int, old_to_new: dict[int, int | None]) -> None:
    """Move attempt numbers; retry-map targets follow, entries to a removed attempt go.

    An entry to a number no attempt had keeps it, unless the attempt itself now has that
    number: an entry never points at its own attempt, so that one goes too.
    """
    for attempt in state.attempts_in(strategy_id):
        new_number = old_to_new.get(attempt["attemptNumber"])
        if new_number is not None:
            attempt = {**attempt, "attemptNumber": new_number}
        kept = []
        for entry in attempt["retryMap"]:
            target = entry.get("attempt_number")
            if target is not None and target in old_to_new:
                if old_to_new[target] is None:
                    continue
                entry = {**entry, "attempt_number": old_to_new[target]}
            if entry.get("attempt_number") == attempt["attemptNumber"]:
                continue
            kept.append(entry)
        state.attempts[attempt["id"]] = {**attempt, "retryMap": kept}  # records are replaced
    state.renumbered(strategy_id)


def _answer(attempt: Record) -> Record:
    return copy_json(attempt)


@handlers.operation("listStrategyAttempts")
def list_attempts(call: Call) -> list:
    with call.store.transaction() as state:
        _strategy(state, call.query["csId"], "/query/csId", "query")
        return [_answer(a) for a in _attempts_of(state, call.query["csId"])]


@handlers.operation("saveStrategyAttempt")
def save_attempt(call: Call) -> Record:
    body = call.with_defaults("AttemptCreate", call.body)
    retry_map = normalize_retry_map(body["retryMap"], body["channel"])
    with call.store.transaction() as state:
        strategy = _strategy(state, body["csId"], "/body/csId")
        if "attemptNumber" in body:
            number = body["attemptNumber"]
        else:
            number = max(state.numbers_in(strategy["id"]), default=0) + 1
            highest = call.services.spec.schema("AttemptNumber")["maximum"]
            if number > highest:
                raise not_acceptable(
                    "/body/attemptNumber",
                    f"the next attempt number, {number}, is past the last ({highest}); give one",
                )
        attempt = {
            "csId": strategy["id"],
            "name": body["name"],
            "phone": str(body["phone"]),
            "channel": body["channel"],
            "attemptNumber": number,
            "retryMap": retry_map,
        }
        _check_number_free(state, attempt)
        _check_not_self(attempt)
        attempt = {"id": state.next_id("attempt"), **attempt}
        state.add_attempt(attempt)
        return _answer(attempt)


@handlers.operation("updateStrategyAttempt")
def update_attempt(call: Call) -> Record:
    changes = dict(call.body)
    with call.store.transaction() as state:
        current = state.attempts.get(changes["id"])
        if current is None:
            raise not_found("attempt", "/body/id", changes["id"])
        if changes.get("csId", current["csId"]) != current["csId"]:
            raise not_acceptable("/body/csId", "an attempt stays in its strategy")
        merged = {**current, **changes}
        if "phone" in changes:
            merged["phone"] = str(changes["phone"])
        if "retryMap" in changes:
            merged["retryMap"] = normalize_retry_map(changes["retryMap"], merged["channel"])
        elif merged["channel"] != current["channel"] and current["retryMap"]:
            raise not_acceptable(
                "/body/channel", "changing the channel needs a retry map for the new channel"
            )
        _check_number_free(state, merged)
        _check_not_self(merged)
        if merged["attemptNumber"] != current["attemptNumber"]:
            # entries of the other attempts follow this one to its new number
            _renumber(state, current["csId"], {current["attemptNumber"]: merged["attemptNumber"]})
        state.add_attempt(merged)
        return _answer(merged)


@handlers.operation("deleteStrategyAttempt")
def delete_attempt(call: Call) -> Record:
    with call.store.transaction() as state:
        attempt = state.attempts.get(call.query["id"])
        if attempt is None:
            raise not_found("attempt", "/query/id", call.query["id"], "query")
        remaining = [a for a in _attempts_of(state, attempt["csId"]) if a["id"] != attempt["id"]]
        old_to_new: dict[int, int | None] = {attempt["attemptNumber"]: None}
        old_to_new.update({a["attemptNumber"]: n for n, a in enumerate(remaining, start=1)})
        state.remove_attempt(attempt["id"])
        _renumber(state, attempt["csId"], old_to_new)
        return {"id": attempt["id"], "deleted": True}


@handlers.operation("updateAttemptOrder")
def update_order(call: Call) -> list:
    wanted = call.body["attemptIds"]
    with call.store.transaction() as state:
        strategy = _strategy(state, call.body["csId"], "/body/csId")
        attempts = {a["id"]: a for a in _attempts_of(state, strategy["id"])}
        if set(wanted) != set(attempts):
            missing = sorted(set(attempts) - set(wanted))
            foreign = sorted(set(wanted) - set(attempts))
            message = (
                f"attemptIds must be exactly the strategy's attempts {sorted(attempts)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; not in the strategy {foreign}" if foreign else "")
            )
            raise ApiError(406, message, [ErrorItem("body", "/body/attemptIds", message)])
        old_to_new: dict[int, int | None] = {
            attempts[attempt_id]["attemptNumber"]: n for n, attempt_id in enumerate(wanted, 1)
        }
        _renumber(state, strategy["id"], old_to_new)
        return [_answer(a) for a in _attempts_of(state, strategy["id"])]
