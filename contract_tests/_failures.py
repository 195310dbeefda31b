"""Turning schemathesis failures into drift-report rows."""

from __future__ import annotations

from schemathesis.core.failures import Failure, FailureGroup


def failures_of(error: BaseException) -> list[Failure]:
    if isinstance(error, FailureGroup):
        return list(error.exceptions)
    if isinstance(error, Failure):
        return [error]
    return []


def check_name(failure: Failure) -> str:
    return failure.checks[0] if failure.checks else failure.title


def operation_id(case) -> str:
    return case.operation.definition.raw["operationId"]
