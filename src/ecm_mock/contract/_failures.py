"""Turning schemathesis failures into drift-report rows."""

from __future__ import annotations

from schemathesis.core.failures import Failure


def failures_of(error: BaseException) -> list[Failure]:
    """The schemathesis failures in ``error`` (a failure, or a group of them, nested)."""
    if isinstance(error, Failure):
        return [error]
    if isinstance(error, BaseExceptionGroup):
        return [f for e in error.exceptions for f in failures_of(e)]
    return []


def check_name(failure: Failure) -> str:
    return failure.checks[0] if failure.checks else failure.title


def failure_key(failure: Failure) -> tuple[str, str]:
    return check_name(failure), str(failure)


def operation_id(case) -> str:
    return case.operation.definition.raw["operationId"]
