"""ecm-mock: a mock server and contract-test kit for the Expertflow UMM ECM REST API.

The public API is what ``__all__`` lists; everything else may change. Names are imported on
first use, so that loading the package (as pytest does for the plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AdminClient": "admin_client",
    "AdminError": "admin_client",
    "ApiError": "errors",
    "Clock": "clock",
    "ConfigurationError": "app",
    "ErrorItem": "errors",
    "FixedClock": "clock",
    "FixtureError": "fixtures",
    "Operation": "spec",
    "Settings": "settings",
    "Spec": "spec",
    "SpecError": "spec",
    "create_app": "app",
    "load_spec": "spec",
    "read_fixtures": "fixtures",
    "services_of": "app",
}

__all__ = [
    "AdminClient",
    "AdminError",
    "ApiError",
    "Clock",
    "ConfigurationError",
    "ErrorItem",
    "FixedClock",
    "FixtureError",
    "Operation",
    "Settings",
    "Spec",
    "SpecError",
    "__version__",
    "create_app",
    "load_spec",
    "read_fixtures",
    "services_of",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ecm_mock' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .admin_client import AdminClient, AdminError
    from .app import ConfigurationError, create_app, services_of
    from .clock import Clock, FixedClock
    from .errors import ApiError, ErrorItem
    from .fixtures import FixtureError, read_fixtures
    from .settings import Settings
    from .spec import Operation, Spec, SpecError, load_spec
