"""Fault injection: rules that delay requests, answer an error instead, or drop the connection."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """One rule, as the control plane stores and lists it (the FaultRule schema plus state)."""

    id: int
    rule: dict[str, Any]  # as received: checked against admin.yaml's FaultRule
    hits: int = 0
    remaining: int | None = None

    def matches(self, operation_id: str | None, method: str, path: str) -> bool:
        rule = self.rule
        return (
            rule.get("operationId", operation_id) == operation_id
            and rule.get("method", method) == method
            and rule.get("path", path) == path
        )

    def latency_seconds(self, rng: random.Random) -> float:
        latency = self.rule.get("latencyMs", 0)
        if isinstance(latency, list):
            low, high = sorted(latency)
            return rng.uniform(low, high) / 1000
        return latency / 1000

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.rule, "hits": self.hits, "remaining": self.remaining}


class FaultsFull(Exception):
    """No room for another rule: as many are in force as the mock keeps (``--max-faults``)."""


# what a rule is filed under, in this order of preference: each rule names at least one
_KEYS = ("operationId", "path", "method")


class Faults:
    """The rules in force (at most ``limit``), tried in order; the first that matches (and
    rolls) applies. Rules are filed by operationId, path or method, so a request looks only
    at the rules that can match it."""

    def __init__(self, seed: int = 0, limit: int = 100) -> None:
        self.limit = limit
        self._rules: dict[int, Fault] = {}  # by id, oldest first
        self._filed: dict[tuple[str, str], list[int]] = {}  # (key, value) -> ids, oldest first
        self._lock = threading.Lock()
        self._next_id = 0
        self._rng = random.Random(seed)  # noqa: S311 - test data, not cryptography

    @staticmethod
    def _filing(rule: dict[str, Any]) -> tuple[str, str]:
        key = next(k for k in _KEYS if k in rule)
        return key, rule[key]

    def add(self, rule: dict[str, Any]) -> Fault:
        with self._lock:
            if len(self._rules) >= self.limit:
                raise FaultsFull(
                    f"{len(self._rules)} fault rules are in force, the most the mock keeps "
                    "(--max-faults); remove some first"
                )
            self._next_id += 1
            fault = Fault(self._next_id, dict(rule), remaining=rule.get("times"))
            self._rules[fault.id] = fault
            self._filed.setdefault(self._filing(fault.rule), []).append(fault.id)
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._remove(fault_id)

    def _remove(self, fault_id: int) -> bool:
        fault = self._rules.pop(fault_id, None)
        if fault is None:
            return False
        filing = self._filing(fault.rule)
        self._filed[filing].remove(fault_id)
        if not self._filed[filing]:
            del self._filed[filing]
        return True

    def clear(self) -> None:
        with self._lock:
            self._rules, self._filed = {}, {}

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._rules.values()]

    def __len__(self) -> int:
        return len(self._rules)

    def pick(self, operation_id: str | None, method: str, path: str) -> tuple[Fault, float] | None:
        """The fault to apply to this request and its latency in seconds, or None."""
        if not self._rules:
            return None
        with self._lock:
            filed = self._filed
            candidates = [
                *filed.get(("operationId", operation_id), ()),  # type: ignore[arg-type]
                *filed.get(("path", path), ()),
                *filed.get(("method", method), ()),
            ]
            for fault_id in sorted(candidates):
                fault = self._rules[fault_id]
                if not fault.matches(operation_id, method, path):
                    continue
                if self._rng.random() >= fault.rule.get("probability", 1):
                    continue  # this rule did not roll: the next matching one may apply
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._remove(fault.id)
                return fault, fault.latency_seconds(self._rng)
        return None
