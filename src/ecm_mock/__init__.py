"""ecm-mock: a mock server and contract-test kit for the Expertflow UMM ECM REST API.

The public API is what ``__all__`` lists; everything else may change.
"""

from .admin_client import AdminClient, AdminError
from .app import ConfigurationError, create_app, services_of
from .clock import Clock, FixedClock
from .errors import ApiError, ErrorItem
from .fixtures import FixtureError, read_fixtures
from .settings import Settings
from .spec import Operation, Spec, SpecError, load_spec

__version__ = "0.1.0"

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
