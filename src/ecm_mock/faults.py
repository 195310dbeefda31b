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


class Faults:
    """The rules in force, tried in order; the first that matches (and rolls) applies."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._next_id = 0
        self._rng = random.Random(seed)  # noqa: S311 - test data, not cryptography

    def add(self, rule: dict[str, Any]) -> Fault:
        with self._lock:
            self._next_id += 1
            fault = Fault(self._next_id, dict(rule), remaining=rule.get("times"))
            self._rules.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [f for f in self._rules if f.id != fault_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._rules]

    def pick(self, operation_id: str | None, method: str, path: str) -> tuple[Fault, float] | None:
        """The fault to apply to this request and its latency in seconds, or None."""
        with self._lock:
            for fault in self._rules:
                if not fault.matches(operation_id, method, path):
                    continue
                if self._rng.random() >= fault.rule.get("probability", 1):
                    continue  # this rule did not roll: the next matching one may apply
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._rules.remove(fault)
                return fault, fault.latency_seconds(self._rng)
        return None
