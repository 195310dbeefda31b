"""Suite 1: conformance and fuzzing of every operation with all of schemathesis' checks.

One test per operation. Each runs schemathesis' generated cases (examples, coverage and
fuzzing phases, positive and negative data) for its operation, seeded from the kit's seed.
"""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis.checks import CHECKS
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source

from ._failures import check_name, failure_key, failures_of
from .kit import known_limits, replayable

pytestmark = pytest.mark.suite("fuzz")
SUITE = "fuzz"


def test_operation_conforms(operation_id, ecm_schema, recorder, spec, kit_config, request):
    if not kit_config.destructive and spec.operation(operation_id).method != "GET":
        pytest.skip("against a real target only reads are fuzzed (see --allow-destructive)")
    operation = ecm_schema.find_operation_by_id(operation_id)
    excluded = CHECKS.get_by_names(list(known_limits(spec, operation_id)))
    base = ecm_schema.config.base_url
    examples = 0
    failing: dict[tuple[str, str], Any] = {}  # failure -> the last case that showed it

    def check(case):
        nonlocal examples
        examples += 1
        try:
            case.call_and_validate(excluded_checks=excluded)
        except BaseException as error:
            for failure in failures_of(error):
                failing[failure_key(failure)] = case
            raise

    test = build_operation_test(
        config=ecm_schema.config,
        operation=operation,
        test_func=check,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(ecm_schema)),
    )
    try:
        test()
    except BaseException as error:
        for failure in failures_of(error):
            case = failing.get(failure_key(failure))
            curl = replayable(case.as_curl_command(), base, recorder.replay_base) if case else None
            recorder.failed(
                operation_id, check_name(failure), SUITE, str(failure), curl, request.node.nodeid
            )
        if isinstance(error, FailureGroup):
            raise as_reported_failure(error) from None
        raise
    if not examples:
        raise RuntimeError(f"schemathesis generated no request for {operation_id}")
    recorder.passed(operation_id, SUITE, examples)
