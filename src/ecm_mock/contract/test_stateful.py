"""Suite 2: sequences driven by the spec's links (create, then read, change, delete it).

Each generated sequence runs in an isolated session of its own (``X-Mock-Session``, which an
ecm-mock builds fresh from its fixtures and a real UMM ignores): on the mock, a sequence
replayed while hypothesis shrinks it meets the state it met the first time, so the run
depends only on the kit's seed.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import get_state_machine_test
from schemathesis.checks import CHECKS

from ._failures import check_name, failures_of, operation_id
from .kit import known_limits, replayable

pytestmark = pytest.mark.suite("stateful")
SUITE = "stateful"
SESSION_HEADER = "X-Mock-Session"


def test_linked_sequences_conform(ecm_schema, kit_config, recorder, spec, prefix, request):
    base = ecm_schema.config.base_url
    sessions = itertools.count(1)

    class Machine(ecm_schema.as_state_machine()):
        def setup(self):
            super().setup()
            self.session = f"{prefix}-sequence-{next(sessions)}"

        def before_call(self, case):
            super().before_call(case)
            case.headers = {**(case.headers or {}), SESSION_HEADER: self.session}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            op_id = operation_id(case)
            extra = {"recorder": self.recorder} if hasattr(self, "recorder") else {}
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=CHECKS.get_by_names(list(known_limits(spec, op_id))),
                    transport_kwargs=kwargs or None,
                    **extra,
                )
            except BaseException as error:
                for failure in failures_of(error):
                    curl = replayable(case.as_curl_command(), base, recorder.replay_base)
                    recorder.failed(
                        op_id, check_name(failure), SUITE, str(failure), curl, request.node.nodeid
                    )
                raise
            recorder.passed(op_id, SUITE)

    test = get_state_machine_test(
        Machine,
        settings=settings(
            max_examples=max(5, kit_config.max_examples // 2),
            stateful_step_count=8,
            deadline=None,
            database=None,  # nothing written into the user's directory
            derandomize=False,
            suppress_health_check=list(HealthCheck),
        ),
    )
    seed(kit_config.seed)(test)()
