"""What every resource module shares: the call a handler receives, registration, paging."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..state import copy_json

if TYPE_CHECKING:
    from ..auth import TokenService
    from ..clock import ControlledClock
    from ..faults import Faults
    from ..journal import Journal
    from ..settings import Settings
    from ..spec import Operation, Spec
    from ..state import Sessions, Store
    from ..validation import ContractValidator, ValidatedRequest


@dataclass(frozen=True)
class Services:
    """What an app owns and its handlers use; built once by the app factory."""

    spec: Spec
    settings: Settings
    sessions: Sessions
    clock: ControlledClock
    tokens: TokenService
    validator: ContractValidator
    faults: Faults
    journal: Journal

    @property
    def store(self) -> Store:
        """The default state (requests without an ``X-Mock-Session`` header)."""
        return self.sessions.default


@dataclass(frozen=True)
class Call:
    """One validated request, as a handler sees it."""

    operation: Operation
    request: ValidatedRequest
    services: Services
    store: Store  # the state of the request's session
    user: str | None = None
    session: str | None = None

    @property
    def body(self) -> Any:
        return self.request.body

    @property
    def query(self) -> dict[str, Any]:
        return self.request.query

    def with_defaults(self, schema_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the spec's ``default`` of each absent top-level property filled in."""
        filled = dict(body)
        properties = self.services.spec.schema(schema_name).get("properties", {})
        for name, prop in properties.items():
            if name not in filled and isinstance(prop, dict) and "default" in prop:
                filled[name] = copy_json(prop["default"])
        return filled


class HandlerSet(dict):
    """A resource module's handlers by operationId: ``@handlers.operation("listCampaigns")``."""

    def operation(
        self, operation_id: str
    ) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
        def register(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
            self[operation_id] = handler
            return handler

        return register


def paged(
    items: Sequence[Any] | Iterable[Any],
    page: int,
    size: int,
    total: int | None = None,
    render: Callable[[Any], Any] = copy_json,
) -> dict[str, Any]:
    """The page envelope over a sequence (ordered as it should be listed)."""
    items = items if isinstance(items, Sequence) else list(items)
    total = len(items) if total is None else total
    start = page * size
    content = [render(item) for item in items[start : start + size]]
    return {
        "content": content,
        "page": page,
        "size": size,
        "totalElements": total,
        "totalPages": math.ceil(total / size) if total else 0,
    }


def same_name(a: str, b: str) -> bool:
    """Names are unique without regard to case."""
    return a.casefold() == b.casefold()
