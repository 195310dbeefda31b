"""Handlers, one module per resource. Each holds only the business rules the spec cannot say.

A handler takes a :class:`Call` and returns the JSON body of the operation's success status;
anything else is an :class:`~ecm_mock.errors.ApiError`. Handlers register by operationId.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import auth, campaigns, contacts, dnc, preferences, strategies
from ._base import Call, HandlerSet

MODULES = (auth, campaigns, contacts, dnc, preferences, strategies)


def all_handlers() -> dict[str, Callable[[Call], Any]]:
    """Every handler by operationId; an operationId claimed twice is an error."""
    handlers: dict[str, Callable[[Call], Any]] = {}
    for module in MODULES:
        for op_id, handler in module.handlers.items():
            if op_id in handlers:
                raise RuntimeError(f"two handlers for operation {op_id!r}")
            handlers[op_id] = handler
    return handlers


__all__ = ["Call", "HandlerSet", "all_handlers"]
