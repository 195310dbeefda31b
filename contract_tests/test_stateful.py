"""Suite 2: sequences driven by the spec's links (create, then read, change, delete it)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS

from ._failures import check_name, failures_of, operation_id
from .kit import known_limits

pytestmark = pytest.mark.suite("stateful")


def test_linked_sequences_conform(ecm_schema, kit_config, recorder, spec):
    if not kit_config.destructive:
        pytest.skip(
            "stateful runs create and delete at random: needs --allow-destructive "
            "against a real target"
        )
    base = ecm_schema.as_state_machine()

    class Machine(base):
        def validate_response(self, response, case, additional_checks=(), **kwargs):
            op_id = operation_id(case)
            recorder.exercised(op_id)
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
                    recorder.failed(
                        op_id, check_name(failure), "stateful", str(failure), case.as_curl_command()
                    )
                raise

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=max(5, kit_config.max_examples // 2),
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
