"""Suite 1: conformance and fuzzing of every operation with all of schemathesis' checks."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import CHECKS

from ._failures import check_name, failures_of, operation_id
from .kit import known_limits

schema = schemathesis.pytest.from_fixture("ecm_schema")

pytestmark = pytest.mark.suite("fuzz")


@schema.parametrize()
def test_operation_conforms(case, recorder, spec, kit_config):
    if not kit_config.destructive and case.method.upper() != "GET":
        pytest.skip("against a real target, only reads are fuzzed (see --allow-destructive)")
    op_id = operation_id(case)
    recorder.exercised(op_id)
    skipped = known_limits(spec, op_id)
    try:
        case.call_and_validate(excluded_checks=CHECKS.get_by_names(list(skipped)))
    except BaseException as error:
        for failure in failures_of(error):
            recorder.failed(
                op_id, check_name(failure), "fuzz", str(failure), case.as_curl_command()
            )
        raise
