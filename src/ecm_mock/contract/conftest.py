"""pytest wiring of the contract kit: options, the target, one authenticated session, reports.

Run it with ``ecm-mock contract``, or with pytest itself:
``pytest --pyargs ecm_mock.contract --target URL ...`` (every option also as
``ECM_CONTRACT_<OPTION>``; ``--suite`` as ``ECM_CONTRACT_SUITES``). Without a target, a
mock starts in-process.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from ecm_mock import load_spec

from .config import KitConfig, add_options, config_from_options
from .drift import OPERATION_KEY, PLUGIN_NAME, DriftRecorder
from .kit import Created, KitSession, TargetError, in_process_mock, run_prefix

# Statuses that answer valid data without breaking the contract. 406 is the vendor's answer
# to a well-formed request against a business rule (duplicate name, object in use, ...).
POSITIVE_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "406", "409", "429", "5xx"]
CONFIG_KEY = pytest.StashKey[KitConfig]()
SCRATCH_KEY = pytest.StashKey[tempfile.TemporaryDirectory]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup("ecm-contract", "ECM contract kit").addoption)


def kit_config_of(config: pytest.Config) -> KitConfig:
    """The run's settings, made once (the seed is drawn once per run when not given)."""
    if CONFIG_KEY not in config.stash:
        try:
            config.stash[CONFIG_KEY] = config_from_options(config.getoption)
        except ValueError as exc:
            raise pytest.UsageError(f"ecm-contract: {exc}") from None
    return config.stash[CONFIG_KEY]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "suite(name): the suite a test belongs to")
    kit = kit_config_of(config)
    # hypothesis caches (character tables, constants) go to a directory of the run's own,
    # not to .hypothesis/ in the user's working directory
    scratch = tempfile.TemporaryDirectory(prefix="ecm-contract-")
    config.stash[SCRATCH_KEY] = scratch
    set_hypothesis_home_dir(scratch.name)
    if DriftRecorder.of(config) is None:  # plain pytest (the runner brings its own)
        config.pluginmanager.register(DriftRecorder(load_spec(), kit), PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    scratch = config.stash.get(SCRATCH_KEY, None)
    if scratch is not None:
        set_hypothesis_home_dir(None)
        scratch.cleanup()


def pytest_report_header(config: pytest.Config) -> str:
    kit = kit_config_of(config)
    return (
        f"ecm-contract: target {kit.target or 'in-process mock'}, suites "
        f"{','.join(kit.selected)}, seed {kit.seed} (replay with --seed {kit.seed})"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The fuzz suite has one test per operation of the contract."""
    if "operation_id" in metafunc.fixturenames:
        operations = list(load_spec().operations)
        metafunc.parametrize("operation_id", operations, ids=operations)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = kit_config_of(config).selected
    for item in items:
        marker = item.get_closest_marker("suite")
        if marker and marker.args[0] not in wanted:
            item.add_marker(pytest.mark.skip(reason=f"suite {marker.args[0]} not selected"))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "operation_id" in callspec.params:
            item.user_properties.append((OPERATION_KEY, callspec.params["operation_id"]))


@pytest.fixture(scope="session")
def kit_config(pytestconfig: pytest.Config) -> KitConfig:
    return kit_config_of(pytestconfig)


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def recorder(pytestconfig: pytest.Config) -> DriftRecorder:
    return DriftRecorder.of(pytestconfig)


@pytest.fixture(scope="session")
def target_url(kit_config: KitConfig) -> Iterator[str]:
    if kit_config.target:
        yield kit_config.target.rstrip("/")
    else:
        with in_process_mock() as url:
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
    if problems:
        raise RuntimeError(f"cleanup failed: {problems}")  # an error of the run, not drift


@pytest.fixture(scope="session")
def ecm_schema(spec, target_url: str, kit: KitSession, kit_config: KitConfig):
    """The contract as schemathesis sees it, aimed at the target, authenticated by the kit."""
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_dict(spec.document)
    schema.config.update(base_url=target_url)
    schema.config.seed = kit_config.seed
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=kit_config.max_examples,
        database="none",  # nothing written into the user's directory (no .hypothesis/)
    )
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_ACCEPTED
    # Replays show the generated data as sent (it is generated, not a secret: a body's
    # "password", the X-Mock-Session header). The one secret, the bearer token, is filtered
    # in schemathesis' output and becomes $TOKEN in every replay command (kit.replayable).
    sanitization = schema.config.output.sanitization
    sanitization.keys_to_sanitize = sanitization.sensitive_markers = ("authorization",)

    @schema.auth()
    class KitAuth:
        def get(self, case, ctx):
            return kit.login()

        def set(self, case, data, ctx):
            if case.operation.definition.raw.get("security", [{}]) != []:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    if not kit_config.destructive:
        # Against a real deployment: no probing with undeclared methods (test_fuzz sends
        # reads only).
        schema.config.phases.coverage.unexpected_methods = set()
    return schema
