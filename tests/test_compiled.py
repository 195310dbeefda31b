"""The compiled fast path of validation never decides otherwise than openapi-core.

For each operation, a corpus of requests (the spec's examples and a valid body per operation,
then mutations of each: a key dropped, a value of another type, an unknown key, odd numbers,
odd query values) goes through :meth:`ContractValidator.check_request` (fast path first) and
through openapi-core alone. Both must agree on valid or not and, when valid, on what the
handler reads. The compiled check must also have decided a good share of the valid requests
itself, or the test would prove nothing about it.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from flask import Response, request

from ecm_mock import Settings, create_app, load_spec
from ecm_mock.app import contract_validator
from ecm_mock.intake import Limits, Refused
from ecm_mock.spec import admin_spec_path

# a valid body for each body operation the spec gives no example of
SEEDS: dict[str, list[Any]] = {
    "createCampaignBySkillGroup": [{"name": "Collect1", "skillGroupName": "Collections"}],
    "updateCampaign": [{"id": 1, "description": "New words", "endTime": "16:30"}],
    "updateDncContact": [{"id": 1, "reason": "Complaint", "lastName": "Noori"}],
    "bulkUploadDncContacts": [{"dncContacts": [{"primaryNumber": "+923001112223"}]}],
    "bulkUploadCampaignContacts": [{"campaignId": 1, "contacts": [{"phone01": "+92300111"}]}],
    "updateStrategyName": [{"id": 2, "name": "Voice x3"}],
    "updateStrategyAttempt": [{"id": 1, "name": "Renamed", "retryMap": []}],
    "updatePreferenceSettings": [{"id": 1, "campaignBatchSize": 10, "filePath": "/in"}],
    "takeSnapshot": [{"name": "before"}],
    "addFault": [{"operationId": "listCampaigns", "status": 503, "times": 2}],
    "setClock": [{"now": "2026-01-01T00:00:00Z", "frozen": True}],
    "loadFixtures": [{}],
}
# query strings per operation with query parameters (valid and not)
QUERIES = [
    "",
    "id=1",
    "id=+1",
    "id=1_0",
    "id= 2",
    "id=0",
    "id=abc",
    "id=1&id=2",
    "id=",
    "campaignId=1",
    "campaignId=1&page=2&size=10",
    "campaignId=1&page=-1",
    "campaignId=1&size=0",
    "campaignId=1&size=5000",
    "campaignId=1&status=PENDING",
    "campaignId=1&status=nope",
    "crmCampaignId=CRM-1",
    "csId=2",
    "csId=2.0",
    "limit=5&status=200",
    "startup=true",
    "startup=1",
    "page=1&size=20",
]
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    2**63,
    2**63 - 1,  # the last int64
    -(2**63) - 1,
    "",
    "x" * 300,
    [],
    {},
    math.nan,
    "2026-13-45T99:99:99Z",
    "2026-06-30T23:59:60Z",  # a leap second: Rust's date-time takes it, Python's does not
    "\x1fx",  # white space to Python's \\s, not to Rust's
    "x\x1c",
    "x\n",  # Python's $ matches before a final newline, Rust's does not
    "a@b",
    "not an email",
]

CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/json;",
    "application/json; charset",
    "text/plain",
]


def _mutations(body: Any) -> list[Any]:
    found = [body, {"unexpected": 1}, [], "text", 3]
    if isinstance(body, dict):
        found.append({**body, "notInTheSpec": True})
        for key, value in body.items():
            dropped = dict(body)
            del dropped[key]
            found.append(dropped)
            for odd in ODD_VALUES:
                found.append({**body, key: odd})
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for inner_key in value[0]:
                    for odd in (None, "1", 1, -5):
                        changed = copy.deepcopy(body)
                        changed[key][0][inner_key] = odd
                        found.append(changed)
    return found


def _examples(spec, document: dict[str, Any]) -> list[Any]:
    body = spec.resolve(document.get("requestBody", {}), "requestBodies")
    content = body.get("content", {}).get("application/json", {})
    values = [e["value"] for e in content.get("examples", {}).values() if "value" in e]
    return values + ([content["example"]] if "example" in content else [])


def _paths(path: str) -> list[str]:
    if "{" not in path:
        return [path]
    return [path.replace("{name}", "before").replace("{id}", value) for value in ("1", "x", "-3")]


def _cases():
    for spec in (load_spec(), load_spec(admin_spec_path(), ecm=False)):
        for op in spec.operations.values():
            document = spec.operation_document(op.operation_id)
            if "requestBody" in document:
                seeds = _examples(spec, document) + SEEDS.get(op.operation_id, [])
                bodies = [m for seed in seeds for m in _mutations(seed)] or [{}]
                queries = [""]
            else:
                bodies, queries = [None], QUERIES
            yield pytest.param(spec, op, bodies, queries, id=op.operation_id)


@pytest.mark.parametrize(("spec", "op", "bodies", "queries"), list(_cases()))
def test_the_compiled_check_agrees_with_openapi_core(spec, op, bodies, queries):
    app = create_app(Settings())
    validator = contract_validator(spec)
    compiled = validator._compiled[op.operation_id]
    has_body = "requestBody" in spec.operation_document(op.operation_id)
    decided = valid = 0
    credentials = (
        {"Authorization": "Bearer any"},
        {},
        {"Authorization": "Basic x"},
        {"Authorization": "Bearer"},
        {"X-Admin-Token": "t"},
    )
    for auth in credentials:
        for body in bodies:
            valid, decided = _agree(
                app, validator, compiled, op, has_body, body, queries, auth, valid, decided
            )
    assert valid, "the corpus has no valid request for this operation"
    # the compiled check decides ordinary valid requests itself (odd ones it leaves to
    # openapi-core), except for operations with header parameters, which it never reads
    if compiled.parameters is not None:
        assert decided, f"the compiled check decided none of {valid} valid requests"


def _agree(app, validator, compiled, op, has_body, body, queries, auth, valid, decided):
    for content_type in CONTENT_TYPES if body == {"unexpected": 1} else CONTENT_TYPES[:1]:
        data = None if body is None else json.dumps(body, allow_nan=True)
        for path in _paths(op.path):
            for query in queries:
                context = {
                    "path": path,
                    "method": op.method,
                    "query_string": query,
                    "data": data,
                    "content_type": content_type if data is not None else None,
                    "headers": auth,
                }
                with app.test_request_context(**context):
                    fast = validator.check_request(op, request._get_current_object())
                with app.test_request_context(**context):
                    req = request._get_current_object()
                    try:  # what both checks are handed: the request read strictly
                        read = validator._read(op.operation_id, req, has_body, Limits())
                    except Refused:
                        assert fast.errors, context
                        continue
                    by_compiled = compiled.parse_request(
                        request.mimetype,
                        read.body,
                        request.args,
                        request.view_args or {},
                        request.headers,
                    )
                    try:
                        full = validator._check_request_in_full(op, req, has_body, read)
                    except ValueError:  # openapi-core cannot read the Content-Type
                        assert fast.errors, context
                        continue
                where = f"{op.method} {path}?{query} {data} {content_type} {auth}"
                assert bool(fast.errors) == bool(full.errors), where
                if not full.errors:
                    valid += 1
                    decided += by_compiled is not None
                    assert fast.request == full.request, where
    return valid, decided


ANSWERED = [
    ("listCampaigns", "/umm/ecm/campaign/list"),
    ("listStrategies", "/umm/ecm/callStrategy/list"),
    ("listStrategyAttempts", "/umm/ecm/callStrategyAttempt/list?csId=2"),
    ("listCampaignContacts", "/umm/ecm/campaignContact/list?campaignId=1"),
    ("listDncContacts", "/umm/ecm/dnc/list"),
    ("getCiscoCampaigns", "/umm/ecm/campaign/fetchCiscoCampaigns"),
]


def _broken(answer: Any) -> list[Any]:
    found = [answer, None, "text", {"unexpected": 1}]
    item = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(answer, dict) and answer.get("content"):
        item = answer["content"][0]
    if isinstance(item, dict):
        for key in item:
            for odd in (None, "1", -1, [], {}):
                changed = copy.deepcopy(answer)
                target = changed[0] if isinstance(changed, list) else changed
                if isinstance(changed, dict) and changed.get("content"):
                    target = changed["content"][0]
                target[key] = odd
                found.append(changed)
            dropped = copy.deepcopy(answer)
            target = dropped[0] if isinstance(dropped, list) else dropped
            if isinstance(dropped, dict) and dropped.get("content"):
                target = dropped["content"][0]
            del target[key]
            found.append(dropped)
    return found


@pytest.mark.parametrize(("operation_id", "path"), ANSWERED)
def test_the_compiled_response_check_agrees_with_openapi_core(api, app, operation_id, path):
    spec = load_spec()
    validator = contract_validator(spec)
    op = spec.operation(operation_id)
    answer = api("GET", path).json
    valid = 0
    for status in (200, 400, 404, 418):
        for body in _broken(answer):
            response = Response(json.dumps(body), status=status, content_type="application/json")
            with app.test_request_context(path):
                req = request._get_current_object()
                fast = validator.check_response(op, req, response, body)
                full = validator.check_response(op, req, response)  # no body: openapi-core only
            assert bool(fast) == bool(full), (status, body)
            valid += not full
    assert valid


ROWS = {
    "ContactRow": {
        "phone01": "+923001112223",
        "firstName": "Sara",
        "email": "sara@example.com",
        "timeZone": "Asia/Karachi",
        "additionalInfo": {"k": "v"},
    },
    "DncCreate": {"primaryNumber": "+923001112223", "firstName": "Ann", "reason": "Asked"},
}


@pytest.mark.parametrize("schema_name", sorted(ROWS))
def test_the_compiled_row_check_decides_as_jsonschema_does(schema_name):
    """Bulk rows are decided by the compiled check alone (only some are worded): over a corpus
    of rows, it says "valid" exactly when jsonschema finds no error."""
    validator = contract_validator(load_spec())
    words = validator._component_validator(schema_name)
    rows = _mutations(ROWS[schema_name])
    for row in rows:
        assert validator.is_valid(schema_name, row) == (not list(words.iter_errors(row))), row
    assert sum(validator.is_valid(schema_name, row) for row in rows) >= 2
