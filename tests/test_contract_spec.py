"""The contract itself (issue 2): valid, complete against the reference, examples, links."""

from __future__ import annotations

import json
import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from ecm_mock.spec import read_document

from .conftest import REFERENCE, SPEC_PATH

METHODS = ("get", "put", "post", "delete", "patch")


def _operations(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def _reference_text() -> str:
    if not REFERENCE.exists():
        pytest.skip(f"the API reference is not beside the repository ({REFERENCE})")
    return REFERENCE.read_text(encoding="utf-8")


def reference_operations() -> dict[tuple[str, str], tuple[str, str | None]]:
    """(method, path) -> (provenance, vendor title) as REFERENCE.md states them."""
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    section = None
    for line in _reference_text().splitlines():
        heading = re.match(r"#+ .*?(?:—|--)\s*(?:all )?(documented|partial|inferred)\b", line)
        if line.startswith("#"):
            section = heading.group(1) if heading else None
            title_match = re.match(r"#+ (?:\d+\. )?(.*?)\s+—", line)
            section_title = title_match.group(1) if title_match else None
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE|PATCH) (/umm/[^`?\s]+)", line):
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                provenance = next(
                    (c for c in cells if c in ("documented", "partial", "inferred")), section
                )
                title = cells[0]
            else:
                provenance, title = section, section_title
            if found.get((method, path), (None,))[0] is None:
                found[(method, path)] = (provenance, title)
    return found


def test_spec_is_valid_openapi_31(spec):
    validate(spec.document)
    assert spec.document["openapi"].startswith("3.1")


# Ours, beside the reference's: login as a POST, for browsers and proxies (a GET has no body).
OURS = {("POST", "/umm/api/login"): ("inferred", "Login")}


def test_exactly_the_reference_operations_with_their_provenance(spec):
    reference = reference_operations()
    assert len(reference) == 29
    ours = {(m, p): op for m, p, op in _operations(spec.document)}
    assert set(ours) == set(reference) | set(OURS)
    for key, (provenance, title) in OURS.items():
        assert (ours[key]["x-ecm-provenance"], ours[key]["x-ecm-title"]) == (provenance, title)
    for key, (provenance, title) in reference.items():
        assert ours[key]["x-ecm-provenance"] == provenance, key
        if title and not title.startswith("Login"):
            assert ours[key]["x-ecm-title"] == title, key


def test_every_operation_is_described(spec):
    tags = {t["name"] for t in spec.document["tags"]}
    assert tags == {"auth", "campaigns", "dnc", "contacts", "strategies", "preferences"}
    ids = []
    for method, path, op in _operations(spec.document):
        ids.append(op["operationId"])
        assert len(op["tags"]) == 1 and op["tags"][0] in tags, (method, path)
        assert op["x-ecm-title"], (method, path)
        for status, response in op["responses"].items():
            response = _resolve(spec.document, response)
            assert "content" in response, f"{method} {path} {status} has no schema"
    assert len(ids) == len(set(ids)) == 30


def test_bearer_security_on_everything_but_login(spec):
    doc = spec.document
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearerAuth": []}]
    for _method, path, op in _operations(doc):
        if path == "/umm/api/login":
            assert op["security"] == []
        else:
            assert "security" not in op
            assert "401" in op["responses"]
    assert doc["servers"] == [{"url": "/", "description": doc["servers"][0]["description"]}]


def _request_body_schemas(spec):
    for op_id in spec.operations:
        body = spec.resolve(spec.operation_document(op_id).get("requestBody", {}), "requestBodies")
        for media, content in body.get("content", {}).items():
            yield f"{op_id} {media}", spec.resolve(content["schema"])


def test_request_bodies_are_strict_and_answers_open(spec):
    """Every object a request body names forbids other properties; no answer does."""
    schemas = spec.document["components"]["schemas"]
    requests = set()
    for where, schema in _request_body_schemas(spec):
        if schema.get("type") == "array":
            schema = spec.resolve(schema["items"])
        if schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, where
            requests.add(id(schema))
    assert len(requests) == 18
    for name in ("ContactRow", "DncCreate", "RetryMapEntryInput"):  # rows and entries too
        assert schemas[name]["additionalProperties"] is False, name
    for name in ("Campaign", "Contact", "Attempt", "DncContact", "LoginResponse", "Problem"):
        assert "additionalProperties" not in schemas[name], name
    for name, schema in schemas.items():
        assert "unevaluatedProperties" not in schema, name


@pytest.mark.parametrize(
    ("name", "accepted", "refused"),
    [
        ("AttemptPhone", ["1", "5", 1, 5], ["6", 6, "0", 0, "01", "1\n", 1.5, True, None, []]),
        ("CallResultInput", [1, 5, "1", "5"], [0, 6, "6", "0", "15", "1\n", True, "x"]),
        ("AttemptNumberInput", [1, 100, "1", "99", "100"], [0, 101, "0", "101", "01", True]),
        ("MinutesInput", [0, 1000000, "0", "0005", "9999999"], [-1, 1000001, "1.5", "-1", False]),
        ("CampaignName", ["Spring2026"], ["abc", "has space", "Spring2026\n"]),
        ("PhoneNumber", ["+923001234567", "1" * 28], ["+" + "1" * 28, "+92 300", "123\n"]),
    ],
)
def test_the_vendors_leniencies_and_their_limits(spec, name, accepted, refused):
    validator = _validator(spec, name)
    assert [v for v in accepted if not validator.is_valid(v)] == []
    assert [v for v in refused if validator.is_valid(v)] == []


def test_a_retry_map_entry_takes_digit_strings_and_attempt_delay(spec):
    entry = _validator(spec, "RetryMapEntryInput")
    assert entry.is_valid({"call_result": "1", "attempt_number": "2", "attempt_delay": "30"})
    assert entry.is_valid({"attempt_number": 2, "delay": 10, "call_result": 2})
    assert entry.is_valid({"sms_response_timeout": "30", "attempt_number": "2", "expiry": "30"})
    assert not entry.is_valid({"call_result": "x"})
    assert not entry.is_valid({})
    assert not entry.is_valid({"call_result": 1, "attempt_delay_minutes": 5})


def test_the_contract_has_only_shapes_client_generators_read_alike(spec):
    """What openapi-python-client and openapi-generator need (tests/test_generated_clients.py
    runs them): no allOf beside properties, no enum of mixed types, no array without items,
    no object properties defined inline (they become duplicate or oddly named models)."""
    problems = []

    def walk(node, where, top=False):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")
            return
        if not isinstance(node, dict):
            return
        merged = [s for s in node.get("allOf", ()) if "$ref" in s or "properties" in s]
        if merged and "properties" in node:
            problems.append(f"{where}: allOf of schemas beside properties")
        enum = node.get("enum")
        if enum and len({type(v) for v in enum if v is not None}) > 1:
            problems.append(f"{where}: enum of mixed types")
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "array" in types and "items" not in node:
            problems.append(f"{where}: array without items")
        if "integer" in types and "pattern" in node:
            problems.append(f"{where}: pattern beside integer")
        if not top and "object" in types and node.get("properties"):
            problems.append(f"{where}: an object with properties that is not a named schema")
        for key, value in node.items():
            if key in ("examples", "example", "default", "enum", "const", "x-ecm-request-body"):
                continue
            if key in ("properties", "schemas"):
                for name, sub in value.items():
                    walk(sub, f"{where}/{key}/{name}", top=key == "schemas")
            else:
                walk(value, f"{where}/{key}")

    walk(spec.document, "#")
    assert problems == []


def test_every_example_validates_against_its_schema(spec):
    checked = 0
    for where, schema, example in _examples(spec.document):
        errors = list(_validator_for(spec, schema).iter_errors(example))
        assert not errors, f"{where}: {errors[0].message}"
        checked += 1
    assert checked >= 12


def test_the_vendor_examples_are_present_unchanged(spec):
    text = _reference_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    login_response, attempt_request, attempt_response = blocks[:3]
    preference = json.loads(re.search(r"`(\{\"campaignBatchSize\".*?\})`", text, re.S).group(1))

    def example(op_id, part, status=None):
        op = spec.operation_document(op_id)
        if part == "request":
            holder = spec.resolve(op["requestBody"], "requestBodies")
        else:
            holder = spec.resolve(op["responses"][status], "responses")
        return holder["content"]["application/json"]["examples"]["vendor"]["value"]

    assert example("loginUser", "response", "200") == login_response
    assert example("loginUser", "request") == {"username": "admin", "password": "admin"}
    assert example("saveStrategyAttempt", "request") == attempt_request
    assert example("saveStrategyAttempt", "response", "200") == attempt_response
    assert example("savePreferenceSettings", "request") == preference


def test_every_create_operation_has_links_that_resolve(spec):
    doc = spec.document
    ops = {op["operationId"]: (m, p, op) for m, p, op in _operations(doc)}
    creates = [i for i, (m, _p, _o) in ops.items() if m == "POST"]
    assert len(creates) == 10  # 9 and loginUserPost
    for op_id in [*creates, "loginUser"]:
        _m, _p, op = ops[op_id]
        success = _resolve(doc, next(r for s, r in op["responses"].items() if s.startswith("2")))
        links = _resolve(doc, success).get("links", {})
        assert links, f"{op_id} has no links"
        for name, link in links.items():
            link = _resolve(doc, link)
            where = f"{op_id} → {name}"
            assert link["operationId"] in ops, where
            target = ops[link["operationId"]][2]
            declared = {
                p["name"]: p["in"] for p in (_resolve(doc, p) for p in target.get("parameters", []))
            }
            for key, expression in link.get("parameters", {}).items():
                location, _, param = key.rpartition(".")
                if param == "Authorization" and location == "header":
                    assert "security" not in target, where  # the bearer scheme applies
                    assert expression == "Bearer {$response.body#/token}", where
                    continue
                assert param in declared and location in ("", declared[param]), where
                _check_expression(doc, success, expression, where)
            body_fields = _properties(
                doc,
                _resolve(doc, target.get("requestBody", {}))
                .get("content", {})
                .get("application/json", {})
                .get("schema", {}),
            )
            for field, expression in link.get("requestBody", {}).items():
                assert field in body_fields, f"{where}: no body field {field}"
                _check_expression(doc, success, expression, where)
    login_links = _resolve(doc, ops["loginUser"][2]["responses"]["200"])["links"]
    assert {_resolve(doc, link)["operationId"] for link in login_links.values()} == set(ops) - {
        "loginUser",
        "loginUserPost",
    }
    post = ops["loginUserPost"][2]
    assert post["requestBody"] == ops["loginUser"][2]["requestBody"]
    assert post["responses"] == ops["loginUser"][2]["responses"]


# ------------------------------------------------------------------ helpers
def _check_expression(doc, response, expression, where):
    match = re.fullmatch(r"\$response\.body#/(\w+)", expression)
    assert match, f"{where}: unexpected expression {expression!r}"
    schema = response["content"]["application/json"]["schema"]
    assert match.group(1) in _properties(doc, schema), f"{where}: {expression} names nothing"


def _resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(doc, schema, depth=0):
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 10:
        return set()
    names = set(schema.get("properties", {}))
    if "$ref" in schema:
        names |= _properties(doc, {"$ref": schema["$ref"]}, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            names |= _properties(doc, sub, depth + 1)
    return names


def _validator_for(spec, schema):
    root = {**schema, "components": spec.document["components"]}
    return OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)


def _validator(spec, name):
    return _validator_for(spec, {"$ref": f"#/components/schemas/{name}"})


def _examples(doc):
    for method, path, op in _operations(doc):
        bodies = [("request", _resolve(doc, op.get("requestBody", {})))]
        bodies += [(f"response {s}", _resolve(doc, r)) for s, r in op["responses"].items()]
        for part, holder in bodies:
            for media, content in holder.get("content", {}).items():
                for name, example in content.get("examples", {}).items():
                    yield (
                        f"{method} {path} {part} {media} {name}",
                        content["schema"],
                        example["value"],
                    )
    for name, schema in doc["components"]["schemas"].items():
        for i, example in enumerate(schema.get("examples", [])):
            yield (
                f"components/schemas/{name} example {i}",
                {"$ref": f"#/components/schemas/{name}"},
                example,
            )


def test_the_spellings_made_for_generators_are_read_back_at_load(spec):
    """The file says link bodies in x-ecm-request-body (openapi-generator takes only a string
    as requestBody) and CSV parts as binary files (so generated clients type them as files);
    the loaded contract has the object as requestBody, and the file of text as text."""
    raw = read_document(SPEC_PATH)
    raw_link = raw["components"]["links"]["CampaignUpdate"]
    loaded_link = spec.document["components"]["links"]["CampaignUpdate"]
    assert "requestBody" not in raw_link
    assert raw_link["x-ecm-request-body"] == {"id": "$response.body#/id"}
    assert loaded_link["requestBody"] == raw_link["x-ecm-request-body"]
    for name in ("DncCsvFile", "ContactCsvFile"):
        raw_file = raw["components"]["schemas"][name]
        assert (raw_file["format"], raw_file["contentMediaType"]) == ("binary", "text/csv")
        assert "format" not in spec.schema(name)
        assert spec.schema(name)["pattern"] == raw_file["pattern"]


def test_no_link_in_the_file_gives_its_request_body_as_an_object():
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "links":
                    found.extend(
                        f"{where}/{name}"
                        for name, link in value.items()
                        if not isinstance(link.get("requestBody", ""), str)
                    )
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")

    walk(read_document(SPEC_PATH), "#")
    assert found == []
