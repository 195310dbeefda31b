"""The public API is small and explicit: what __all__ lists, and nothing is missing from it."""

from __future__ import annotations

import subprocess
import sys

import ecm_mock

PUBLIC = [
    "AdminClient", "AdminError", "ApiError", "Clock", "ConfigurationError", "ErrorItem",
    "FixedClock", "FixtureError", "Operation", "Settings", "Spec", "SpecError", "__version__",
    "create_app", "load_spec", "read_fixtures", "services_of",
]  # fmt: skip


def test_the_public_api_is_exactly_this():
    assert sorted(ecm_mock.__all__) == sorted(PUBLIC)
    assert sorted([*ecm_mock._EXPORTS, "__version__"]) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(ecm_mock, name) is not None, name


def test_importing_the_package_does_not_load_flask():
    """pytest loads the plugin in every project that has ecm-mock installed: keep it cheap."""
    code = "import sys, ecm_mock.pytest_plugin; print('flask' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
