"""pytest wiring of the contract kit: options, the target, one authenticated session, reports.

Run it with ``ecm-mock contract`` or directly: ``pytest contract_tests --target URL ...``
(every option also as ``ECM_CONTRACT_<OPTION>``). Without a target, a mock starts in-process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis import GenerationMode

from ecm_mock import load_spec

from .drift import PLUGIN_NAME, DriftRecorder
from .kit import (
    Created,
    KitConfig,
    KitSession,
    TargetError,
    add_options,
    config_from_options,
    in_process_mock,
    run_prefix,
)

# Statuses that answer valid data without breaking the contract. 406 is the vendor's answer
# to a well-formed request against a business rule (duplicate name, object in use, ...).
POSITIVE_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "406", "409", "429", "5xx"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup("ecm-contract", "ECM contract kit").addoption)


def _config(pytest_config: pytest.Config) -> KitConfig:
    return config_from_options(pytest_config.getoption)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "suite(name): the suite a test belongs to")
    if config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        kit = _config(config)
        recorder = DriftRecorder(load_spec(), kit.target or "in-process mock", kit.report_dir)
        config.pluginmanager.register(recorder, PLUGIN_NAME)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = _config(config).suites
    for item in items:
        marker = item.get_closest_marker("suite")
        if marker and marker.args[0] not in wanted:
            item.add_marker(pytest.mark.skip(reason=f"suite {marker.args[0]} not selected"))


@pytest.fixture(scope="session")
def kit_config(pytestconfig: pytest.Config) -> KitConfig:
    return _config(pytestconfig)


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def recorder(pytestconfig: pytest.Config) -> DriftRecorder:
    return pytestconfig.pluginmanager.get_plugin(PLUGIN_NAME)


@pytest.fixture(scope="session")
def target_url(kit_config: KitConfig) -> Iterator[str]:
    if kit_config.target:
        yield kit_config.target.rstrip("/")
    else:
        with in_process_mock(kit_config.seed) as url:
            yield url


@pytest.fixture(scope="session")
def kit(spec, target_url: str, kit_config: KitConfig) -> KitSession:
    session = KitSession(spec, target_url, kit_config.username, kit_config.password)
    try:
        session.login()
    except TargetError as exc:
        pytest.exit(f"ecm-contract: {exc}", returncode=2)
    return session


@pytest.fixture(scope="session")
def prefix() -> str:
    return run_prefix()


@pytest.fixture
def created(kit: KitSession) -> Iterator[Created]:
    """Register what a test creates; it is deleted when the test ends, pass or fail."""
    registry = Created(kit)
    yield registry
    problems = registry.cleanup()
    assert not problems, f"cleanup failed: {problems}"


@pytest.fixture(scope="session")
def ecm_schema(spec, target_url: str, kit: KitSession, kit_config: KitConfig):
    """The contract as schemathesis sees it, aimed at the target, authenticated by the kit."""
    schema = schemathesis.openapi.from_dict(spec.document)
    schema.config.update(base_url=target_url)
    schema.config.seed = kit_config.seed
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=kit_config.max_examples,
    )
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_ACCEPTED

    @schema.auth()
    class KitAuth:
        def get(self, case, ctx):
            return kit.login()

        def set(self, case, data, ctx):
            if case.operation.definition.raw.get("security", [{}]) != []:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    if not kit_config.destructive:
        # Against a real deployment: no probing with undeclared methods; test_fuzz sends
        # reads only (a filter set here would be dropped by schemathesis' lazy loading).
        schema.config.phases.coverage.unexpected_methods = set()
    return schema
