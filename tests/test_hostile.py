"""Hostile input (issue 11): whatever the mock could not store and answer again faithfully is
refused at the edge with the one problem shape, naming the value, and changes nothing.

Each case goes through HTTP (the Flask test client; a real server where the transport
matters) and checks three things: the answer (status, pointer, words), that the state as
``GET /__admin/state`` shows it did not change, and that every read operation still answers.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ecm_mock import Settings, create_app, load_spec
from ecm_mock import admin as admin_handlers
from ecm_mock.resources import auth, campaigns, contacts, dnc, strategies
from ecm_mock.serving import wait_for_port
from ecm_mock.spec import admin_spec_path
from ecm_mock.validation import ContractValidator

PROBLEM = "application/problem+json"
ECM_MOCK = shutil.which("ecm-mock") or str(Path(os.sys.executable).parent / "ecm-mock")
SURROGATE = "ab\\ud800cd"  # as written in JSON text: a lone (unpaired) surrogate escape
BOUNDARY = "hostile-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SPEC = load_spec()
ADMIN_SPEC = load_spec(admin_spec_path(), ecm=False)
# every read operation, as a request that must answer 200 whatever was accepted before
READS = [
    "/umm/ecm/campaign/list",
    "/umm/ecm/campaign/fetchCiscoCampaigns",
    "/umm/ecm/callStrategy/list",
    "/umm/ecm/callStrategyAttempt/list?csId=1",
    "/umm/ecm/callStrategyAttempt/list?csId=2",
    "/umm/ecm/campaignContact/list?campaignId=1",
    "/umm/ecm/dnc/list",
    "/__admin/state",
    "/__admin/journal",
    "/__admin/faults",
    "/__admin/snapshots",
]


def state(client) -> dict[str, Any]:
    response = client.get("/__admin/state")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def reads_answer(api) -> None:
    """Every read operation answers 200 (the mock checks each answer against the contract)."""
    for path in READS:
        response = api("GET", path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])


def refused(response, status: int, pointer: str, words: str) -> dict[str, Any]:
    """A problem+json answer with this status naming ``pointer`` with these words."""
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    messages = [e["message"] for e in body["errors"] if e["pointer"] == pointer]
    assert messages, body["errors"]
    assert words in messages[0], messages
    return body


def send_json(api, method: str, path: str, text: str, **kwargs):
    """Raw JSON text (what ``json=`` cannot write: lone surrogates, NaN, huge numbers)."""
    return api(method, path, data=text.encode(), content_type="application/json", **kwargs)


def multipart(parts: list[tuple[str, bytes, str | None]], *, close: bool = True) -> bytes:
    """A multipart body by hand: (name, value, filename or None) per part."""
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += value + b"\r\n"
    return body + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


def json_body_operations(spec) -> list[tuple[str, str, str]]:
    """(operationId, method, path) of every operation that takes a JSON body."""
    found = []
    for op in spec.operations.values():
        content = spec.operation_document(op.operation_id).get("requestBody", {}).get("content")
        if content and "application/json" in content:
            path = op.path.replace("{name}", "snap").replace("{id}", "1")
            found.append((op.operation_id, op.method, path))
    return found


# ------------------------------------------------------------------ lone surrogates
SURROGATE_CASES = [
    # (operation, method, path, JSON text with the lone surrogate, pointer)
    (
        "saveStrategy",
        "POST",
        "/umm/ecm/callStrategy/save",
        f'{{"name":"{SURROGATE}"}}',
        "/body/name",
    ),
    (
        "createCampaign",
        "POST",
        "/umm/ecm/campaign/createCampaign",
        '{"name":"Autumn","campaignType":"NONE","startTime":"09:00","endTime":"17:00",'
        f'"description":"{SURROGATE}"}}',
        "/body/description",
    ),
    (
        "saveDncContact",
        "POST",
        "/umm/ecm/dnc/save",
        f'{{"primaryNumber":"+923009990001","reason":"{SURROGATE}"}}',
        "/body/reason",
    ),
    (
        "saveStrategyAttempt",
        "POST",
        "/umm/ecm/callStrategyAttempt/save",
        f'{{"csId":2,"name":"{SURROGATE}","phone":"1","channel":0,"retryMap":[]}}',
        "/body/name",
    ),
    (
        "savePreferenceSettings",
        "POST",
        "/umm/ecm/preferenceSettings/save",
        f'{{"username":"{SURROGATE}"}}',
        "/body/username",
    ),
    (
        "saveCampaignContact",
        "POST",
        "/umm/ecm/campaignContact/save",
        f'{{"campaignId":1,"phone01":"+923009990002","firstName":"{SURROGATE}"}}',
        "/body/firstName",
    ),
    (
        "bulkUploadDncContacts",
        "POST",
        "/umm/ecm/dnc/bulkUpload",
        f'[{{"primaryNumber":"+923009990003"}},{{"primaryNumber":"+923009990004","reason":"{SURROGATE}"}}]',
        "/body/1/reason",
    ),
    (
        "bulkUploadCampaignContacts",
        "POST",
        "/umm/ecm/campaignContact/bulkUpload",
        f'{{"campaignId":1,"contacts":[{{"phone01":"+923009990005","lastName":"{SURROGATE}"}}]}}',
        "/body/contacts/0/lastName",
    ),
    (
        "saveCampaignContact",
        "POST",
        "/umm/ecm/campaignContact/save",
        f'{{"campaignId":1,"phone01":"+923009990006","additionalInfo":{{"{SURROGATE}":"x"}}}}',
        f"/body/additionalInfo/{SURROGATE}",  # a pointer in UTF-8 names it escaped
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "text", "pointer"),
    [case[1:] for case in SURROGATE_CASES],
    ids=[f"{case[0]}:{case[4]}" for case in SURROGATE_CASES],
)
def test_a_lone_surrogate_is_refused_naming_it_and_stores_nothing(
    client, api, method, path, text, pointer
):
    before = state(client)
    refused(send_json(api, method, path, text), 400, pointer, "lone surrogate")
    assert state(client) == before
    reads_answer(api)


def test_a_surrogate_pair_is_one_character_and_is_kept(api):
    response = send_json(
        api, "POST", "/umm/ecm/callStrategy/save", '{"name":"smile \\ud83d\\ude00"}'
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "smile \U0001f600"
    reads_answer(api)


def test_a_form_field_that_is_not_utf8_is_refused_naming_it(client, api):
    before = state(client)
    body = multipart([("file", b"primaryNumber,reason\n+923009990007,ab\xed\xa0\x80cd\n", None)])
    refused(
        api("POST", "/umm/ecm/dnc/bulkUpload", data=body, content_type=MULTIPART),
        400,
        "/body/file",
        "not UTF-8",
    )
    body = multipart(
        [("campaignId", b"\xed\xa0\x80", None), ("file", b"phone01\n+923009990008\n", "c.csv")]
    )
    response = api("POST", "/umm/ecm/campaignContact/bulkUpload", data=body, content_type=MULTIPART)
    refused(response, 400, "/body/campaignId", "not UTF-8")
    assert state(client) == before


def test_a_csv_file_that_is_not_utf8_is_refused(client, api):
    before = state(client)
    body = multipart([("file", b"primaryNumber,reason\n+923009990009,ab\xed\xa0\x80cd\n", "d.csv")])
    response = api("POST", "/umm/ecm/dnc/bulkUpload", data=body, content_type=MULTIPART)
    refused(response, 400, "/body/file", "not UTF-8")
    assert state(client) == before


# ------------------------------------------------------------------------- nesting
@pytest.mark.parametrize(
    ("method", "path"),
    [op[1:] for op in json_body_operations(SPEC) + json_body_operations(ADMIN_SPEC)],
    ids=[op[0] for op in json_body_operations(SPEC) + json_body_operations(ADMIN_SPEC)],
)
def test_json_nested_1000_deep_is_refused_on_every_json_operation(client, api, method, path):
    before = state(client)
    text = '{"x":' + "[" * 1000 + "]" * 1000 + "}"
    body = refused(send_json(api, method, path, text), 400, "/body", "nested more than 32 deep")
    assert body["title"] == "Bad Request"
    assert state(client) == before


def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_not(client, api):
    def nested(levels: int) -> str:  # the body object is level 1
        return (
            '{"campaignId":1,"phone01":"+923009990010","additionalInfo":{"k":'
            + ("[" * (levels - 2) + "]" * (levels - 2))
            + "}}"
        )

    path = "/umm/ecm/campaignContact/save"
    response = send_json(api, "POST", path, nested(32))
    assert response.status_code == 400
    assert all("nested" not in e["message"] for e in response.json["errors"])  # the schema's 400
    refused(
        send_json(api, "POST", path, nested(33)),
        400,
        "/body/additionalInfo/k" + "/0" * 30,
        "nested more than 32 deep",
    )


@pytest.mark.parametrize("settings", [Settings(max_json_depth=3)], ids=["depth=3"])
def test_the_nesting_limit_is_a_setting(api):
    path = "/umm/ecm/campaignContact/save"
    text = '{"campaignId":1,"phone01":"+923009990011","additionalInfo":{"k":[["x"]]}}'
    refused(
        send_json(api, "POST", path, text),
        400,
        "/body/additionalInfo/k/0",
        "nested more than 3 deep",
    )


# ------------------------------------------------------------------------ integers
def integer_query_parameters() -> list[tuple[str, str, str]]:
    """(operationId, path with the other required parameters, name) of every integer query."""
    cases = []
    for op in SPEC.operations.values():
        if op.method != "GET" and op.method != "DELETE":
            continue
        parameters = [
            SPEC.resolve(p, "parameters")
            for p in SPEC.operation_document(op.operation_id).get("parameters", [])
        ]
        for parameter in parameters:
            if parameter["in"] != "query":
                continue
            if SPEC.resolve(parameter.get("schema", {})).get("type") == "integer":
                cases.append((op.operation_id, op.method, op.path, parameter["name"]))
    return cases


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [case[1:] for case in integer_query_parameters()],
    ids=[f"{case[0]}:{case[3]}" for case in integer_query_parameters()],
)
def test_an_integer_of_5000_digits_is_refused_on_every_integer_query(
    client, api, method, path, name
):
    before = state(client)
    response = api(method, f"{path}?{name}={'9' * 5000}")
    refused(response, 400, f"/query/{name}", "has more than 1000 digits")
    assert state(client) == before


def test_an_integer_of_5000_digits_is_refused_in_a_path_and_a_body(client, api):
    before = state(client)
    refused(
        client.delete(f"/__admin/faults/{'9' * 5000}"), 400, "/path/id", "more than 1000 digits"
    )
    text = '{"id":' + "9" * 5000 + ',"name":"x"}'
    refused(
        send_json(api, "PUT", "/umm/ecm/callStrategy/updateName", text),
        400,
        "/body/id",
        "more than 1000 digits",
    )
    assert state(client) == before


def test_1000_digits_reach_the_contract_and_1001_do_not(api):
    path = "/umm/ecm/callStrategy/updateName"
    response = send_json(api, "PUT", path, '{"id":' + "9" * 1000 + ',"name":"x"}')
    refused(response, 400, "/body/id", "9" * 30)  # the schema's words
    response = send_json(api, "PUT", path, '{"id":' + "9" * 1001 + ',"name":"x"}')
    refused(response, 400, "/body/id", "more than 1000 digits")


@pytest.mark.parametrize("settings", [Settings(max_integer_digits=5)], ids=["digits=5"])
def test_the_digits_limit_is_a_setting_and_holds_for_whole_floats_too(api):
    path = "/umm/ecm/callStrategy/updateName"
    for number in ("123456", "1.23456e5", "-123456"):
        response = send_json(api, "PUT", path, f'{{"id":{number},"name":"x"}}')
        refused(response, 400, "/body/id", "more than 5 digits")
    refused(api("GET", "/umm/ecm/dnc/list?page=123456"), 400, "/query/page", "more than 5 digits")


def test_a_whole_number_written_as_a_float_is_stored_as_the_integer(api):
    text = '{"csId":2.0,"name":"Two","phone":2.0,"channel":0,"retryMap":[],"attemptNumber":9e0}'
    response = send_json(api, "POST", "/umm/ecm/callStrategyAttempt/save", text)
    assert response.status_code == 200, response.json
    assert response.json["phone"] == "2"
    assert response.json["attemptNumber"] == 9
    assert b'"attemptNumber":9,' in response.data
    listed = api("GET", "/umm/ecm/callStrategyAttempt/list?csId=2")
    assert listed.status_code == 200, listed.json
    assert [a["phone"] for a in listed.json if a["name"] == "Two"] == ["2"]
    reads_answer(api)


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_number_beyond_the_range_of_a_float_is_refused(client, api, number):
    before = state(client)
    text = f'{{"operationId":"listCampaigns","latencyMs":{number}}}'
    response = send_json(api, "POST", "/__admin/faults", text)
    refused(response, 400, "/body/latencyMs", "is beyond the range of a number")
    assert state(client) == before


# ---------------------------------------------------------------- NaN and Infinity
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_change_nothing(client, api, literal):
    text = f'{{"operationId":"listCampaigns","status":503,"probability":{literal}}}'
    refused(
        send_json(api, "POST", "/__admin/faults", text),
        400,
        "/body/probability",
        "is not a JSON number",
    )
    assert client.get("/__admin/faults").json == []
    assert api("GET", "/umm/ecm/campaign/list").status_code == 200  # no fault fires
    text = f'{{"frozen":true,"advanceSeconds":{literal}}}'
    refused(
        send_json(api, "PUT", "/__admin/clock", text),
        400,
        "/body/advanceSeconds",
        "is not a JSON number",
    )


def test_nan_in_a_multipart_json_part_is_refused(client, api):
    body = multipart([("campaignId", b"NaN", None), ("file", b"phone01\n+923009990012\n", "c.csv")])
    response = api("POST", "/umm/ecm/campaignContact/bulkUpload", data=body, content_type=MULTIPART)
    refused(response, 400, "/body/campaignId", "is not a JSON number")


# ------------------------------------------------------------ repeated parameters
def test_a_single_valued_query_parameter_given_twice_is_refused(api):
    response = api("GET", "/umm/ecm/campaignContact/list?campaignId=1&campaignId=2")
    refused(response, 400, "/query/campaignId", "given 2 times")
    response = api("GET", "/umm/ecm/dnc/list?page=0&size=5&size=6")
    refused(response, 400, "/query/size", "given 2 times")
    # an empty value means "not given", as everywhere
    assert api("GET", "/umm/ecm/campaignContact/list?campaignId=1&campaignId=").status_code == 200


# ----------------------------------------------------------------------- multipart
@pytest.mark.parametrize(
    ("path", "parts"),
    [
        (
            "/umm/ecm/campaignContact/bulkUpload",
            [("campaignId", b"1", None), ("file", b"phone01\n+923009990013\n", "c.csv")],
        ),
        ("/umm/ecm/dnc/bulkUpload", [("file", b"primaryNumber\n+923009990014\n", "d.csv")]),
    ],
    ids=["contacts", "dnc"],
)
def test_a_multipart_body_without_its_closing_boundary_is_refused(client, api, path, parts):
    before = state(client)
    response = api("POST", path, data=multipart(parts, close=False), content_type=MULTIPART)
    refused(response, 400, "/body", "truncated")
    assert state(client) == before


def test_too_many_multipart_parts_is_413_saying_so(client, api):
    parts = [("file", b"primaryNumber\n+923009990015\n", "d.csv")]
    parts += [(f"p{i}", b"x", None) for i in range(1500)]
    response = api("POST", "/umm/ecm/dnc/bulkUpload", data=multipart(parts), content_type=MULTIPART)
    body = refused(response, 413, "/body", "more than 1000 parts")
    assert "bytes" not in body["detail"]


def test_a_multipart_part_given_twice_is_refused(api):
    parts = [("file", b"primaryNumber\n+923009990016\n", "d.csv")] * 2
    response = api("POST", "/umm/ecm/dnc/bulkUpload", data=multipart(parts), content_type=MULTIPART)
    refused(response, 400, "/body/file", "given twice")


# ------------------------------------------------------------ encoding and size
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_an_encoded_body_is_415(client, api, encoding):
    before = state(client)
    response = api(
        "POST",
        "/umm/ecm/callStrategy/save",
        data=b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        content_type="application/json",
        headers={"Content-Encoding": encoding},
    )
    refused(response, 415, "/header/Content-Encoding", encoding)
    assert state(client) == before
    response = api(
        "POST",
        "/umm/ecm/callStrategy/save",
        json={"name": "Plain"},
        headers={"Content-Encoding": "identity"},
    )
    assert response.status_code == 200


def chunked(client, path: str, data: bytes):
    """A body without a length, as a server hands over a chunked one (input terminated)."""
    return client.post(
        path,
        input_stream=io.BytesIO(data),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_413_and_one_within_is_read(client):
    before = state(client)
    big = b'{"name":"a","x":"' + b"a" * (12 * 1024 * 1024) + b'"}'
    refused(chunked(client, "/__admin/snapshots", big), 413, "/body", "larger than the limit")
    assert state(client) == before
    response = chunked(client, "/__admin/snapshots", json.dumps({"name": "small"}).encode())
    assert response.status_code == 201, response.json


def send_chunked(port: int, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST ``body`` with Transfer-Encoding: chunked over a socket; (status, JSON answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        connection.sendall(head.encode())
        try:
            for start in range(0, len(body), 1 << 16):
                chunk = body[start : start + (1 << 16)]
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed before reading it all
            pass
        answer = b""
        while data := connection.recv(1 << 16):
            answer += data
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_ecm_mock_serve_answers_413_to_a_chunked_body_over_the_limit(tmp_path):
    """On the real server (granian), which hands a chunked body over without a length."""
    with serving(tmp_path) as port:
        status, answer = send_chunked(port, "/__admin/snapshots", b'{"name":"small"}')
        assert status == 201, answer
        big = b'{"name":"big","x":"' + b"a" * (12 * 1024 * 1024) + b'"}'
        status, answer = send_chunked(port, "/__admin/snapshots", big)
        assert status == 413, answer
        assert (
            answer["errors"][0]["message"] == "the body is larger than the limit of 10485760 bytes"
        )


@contextmanager
def serving(tmp_path, *args: str) -> Iterator[int]:
    """``ecm-mock serve`` on a free port, stopped at the end; yields the port."""
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [ECM_MOCK, "serve", "--port", "0", *args], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"listening on http://[\d.]+:(\d+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)  # poll interval of the log file, not a wait for readiness
        port = int(match.group(1))
        wait_for_port("127.0.0.1", port)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ------------------------------------------------------- a bug's 500 changes nothing
def buggy(monkeypatch, module, operation_id: str, after) -> None:
    """Make ``operation_id``'s handler run, then ``after(answer)`` (a bug), in apps built
    from now on."""
    real = module.handlers[operation_id]

    def handler(call):
        return after(real(call))

    monkeypatch.setitem(module.handlers, operation_id, handler)


def fail(_answer):
    raise RuntimeError("a bug after the change")


def journaled(client) -> dict[str, Any]:
    return client.get("/__admin/journal").json[-1]


BUGS = [
    # (module, operation, request, how the bug shows)
    (strategies, "saveStrategy", ("POST", "/umm/ecm/callStrategy/save", {"name": "New"}), fail),
    (
        strategies,
        "saveStrategy",
        ("POST", "/umm/ecm/callStrategy/save", {"name": "New"}),
        lambda answer: {**answer, "id": "not an id"},  # an answer the contract forbids
    ),
    (
        strategies,
        "saveStrategy",
        ("POST", "/umm/ecm/callStrategy/save", {"name": "New"}),
        lambda answer: {**answer, "name": "ab\ud800cd"},  # an answer that cannot be written
    ),
    (
        strategies,
        "updateAttemptOrder",  # renumbers every attempt of the strategy, then breaks
        ("PUT", "/umm/ecm/callStrategyAttempt/updateOrder", {"csId": 2, "attemptIds": [4, 3, 2]}),
        lambda answer: [{**a, "attemptNumber": 0} for a in answer],
    ),
    (
        strategies,
        "deleteStrategyAttempt",
        ("DELETE", "/umm/ecm/callStrategyAttempt/delete?id=2", None),
        fail,
    ),
    (
        contacts,
        "bulkUploadCampaignContacts",
        (
            "POST",
            "/umm/ecm/campaignContact/bulkUpload",
            {"campaignId": 1, "contacts": [{"phone01": f"+92300999{i:04d}"} for i in range(50)]},
        ),
        fail,
    ),
    (
        campaigns,
        "deleteCampaign",
        ("DELETE", "/umm/ecm/campaign/delete?id=1", None),
        lambda answer: {**answer, "contactsDeleted": -1},
    ),
    (
        dnc,
        "updateDncContact",
        ("PUT", "/umm/ecm/dnc/update", {"id": 1, "reason": "Changed"}),
        fail,
    ),
    (
        auth,
        "loginUser",
        ("GET", "/umm/api/login", {"username": "admin", "password": "admin"}),
        fail,
    ),
    (admin_handlers, "resetState", ("POST", "/__admin/reset", None), fail),
]


@pytest.mark.parametrize(
    ("module", "operation_id", "call", "bug"),
    BUGS,
    ids=[f"{b[1]}-{i}" for i, b in enumerate(BUGS)],
)
def test_a_bugs_500_changes_nothing_and_is_journaled_as_500(
    monkeypatch, settings, clock, module, operation_id, call, bug
):
    buggy(monkeypatch, module, operation_id, bug)
    client = create_app(settings, clock=clock).test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    headers = {"Authorization": f"Bearer {token.json['token']}"} if token.status_code == 200 else {}
    if operation_id == "resetState":  # a change a reset would undo, then the failing reset
        client.post("/umm/ecm/callStrategy/save", json={"name": "Kept"}, headers=headers)
    client.put("/__admin/clock", json={"advanceSeconds": 60})  # what it writes would differ
    before = state(client)
    method, path, body = call
    response = client.open(path, method=method, json=body, headers=headers)
    assert response.status_code == 500, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert "ecm-mock" in response.json["detail"] or "internal error" in response.json["detail"]
    assert state(client) == before
    if path.startswith("/umm"):
        assert journaled(client)["status"] == 500
    if headers:
        reads_answer(lambda m, p: client.open(p, method=m, headers=headers))


# --------------------------------------------------------------------- bulk uploads
DNC_BULK = "/umm/ecm/dnc/bulkUpload"
CONTACT_BULK = "/umm/ecm/campaignContact/bulkUpload"


def csv_upload(text: str, campaign_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"file": (io.BytesIO(text.encode()), "rows.csv", "text/csv")}
    if campaign_id is not None:
        data["campaignId"] = campaign_id
    return {"data": data}


@pytest.mark.parametrize("form", ["json", "csv"])
def test_the_row_cap_holds_for_csv_and_json_before_anything_is_stored(client, api, form):
    rows = 100_001
    if form == "json":
        kwargs = {"json": [{"primaryNumber": f"+1{i:09d}"} for i in range(rows)]}
        pointer, words = "/body", "is too long"
    else:
        kwargs = csv_upload("primaryNumber\n" + "".join(f"+1{i:09d}\n" for i in range(rows)))
        pointer, words = "/body/file", "more than 100000 rows"
    before = state(client)
    refused(api("POST", DNC_BULK, **kwargs), 400, pointer, words)
    assert state(client) == before


def test_the_row_cap_of_a_body_property_holds_too(client, api):
    rows = [{"phone01": f"+1{i:09d}"} for i in range(100_001)]
    before = state(client)
    response = api("POST", CONTACT_BULK, json={"campaignId": 1, "contacts": rows})
    refused(response, 400, "/body/contacts", "is too long: 100001 items, at most 100000")
    assert state(client) == before


@pytest.mark.parametrize(
    "text",
    ['primaryNumber\n+15550001\n"+15550002\n', 'primaryNumber\n"+15550001"x\n'],
    ids=["quote-left-open", "text-after-the-quote"],
)
def test_a_broken_csv_file_is_refused_naming_the_line(client, api, text):
    before = state(client)
    refused(api("POST", DNC_BULK, **csv_upload(text)), 400, "/body/file", "cannot be read at line")
    assert state(client) == before


def test_100000_csv_rows_are_taken(api):
    text = "primaryNumber\n" + "".join(f"+1{i % 1000:09d}\n" for i in range(100_000))
    response = api("POST", DNC_BULK, **csv_upload(text))
    assert response.status_code == 200, response.json
    assert (response.json["inserted"], response.json["duplicates"]) == (1000, 99_000)


def test_3_million_duplicate_rows_are_refused_without_reading_them_all(client, api):
    before = state(client)
    text = "primaryNumber\n" + "+1\n" * 3_000_000  # 9 MB: within the body limit
    response = api("POST", DNC_BULK, **csv_upload(text))
    refused(response, 400, "/body/file", "more than 100000 rows")
    assert state(client) == before


@pytest.fixture
def worded(monkeypatch, api) -> list[int]:
    """A 1 for each row put in words (``ContractValidator.schema_errors``), from when the
    test's app is made and logged in to (its fixtures are checked with it too)."""
    calls: list[int] = []
    real = ContractValidator.schema_errors

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ContractValidator, "schema_errors", counted)
    return calls


@pytest.mark.parametrize("form", ["json", "csv"])
def test_100000_invalid_contact_rows_get_a_bounded_report(worded, api, form):
    if form == "json":
        rows = [{"phone01": f"x{i}", "firstName": "A"} for i in range(100_000)]
        response = api("POST", CONTACT_BULK, json={"campaignId": 2, "contacts": rows})
    else:
        text = "phone01,firstName\n" + "".join(f"x{i},A\n" for i in range(100_000))
        response = api("POST", CONTACT_BULK, **csv_upload(text, "2"))
    assert response.status_code == 200, response.json
    assert len(response.get_data()) < 50_000  # 14.8 MB before
    assert len(worded) <= 100  # only the listed rows are put in words
    report = response.json
    assert [r["row"] for r in report["rejected"]] == list(range(1, 101))  # the first 100
    assert report["rejected"][0]["pointer"] == "/phone01"
    assert (report["received"], report["inserted"], report["rejectedCount"]) == (
        100_000,
        0,
        100_000,
    )


@pytest.mark.parametrize("settings", [Settings(max_rejected_rows=3)], ids=["listed=3"])
def test_how_many_rejected_rows_are_listed_is_a_setting(api):
    rows = [{"primaryNumber": "bad"}] * 5 + [{"primaryNumber": "+1555"}]
    report = api("POST", DNC_BULK, json=rows).json
    assert [r["row"] for r in report["rejected"]] == [1, 2, 3]
    assert (report["rejectedCount"], report["inserted"]) == (5, 1)


def test_20000_invalid_dnc_rows_are_worded_only_as_far_as_listed(worded, api):
    rows = [{"primaryNumber": f"bad{i}", "reason": "x"} for i in range(20_000)]
    report = api("POST", DNC_BULK, json=rows).json
    assert len(worded) <= 100
    assert (report["rejectedCount"], len(report["rejected"])) == (20_000, 100)


def test_duplicates_within_an_upload_are_counted_not_stored(api):
    rows = [{"phone01": "+15550001"}] * 50_000
    report = api("POST", CONTACT_BULK, json={"campaignId": 3, "contacts": rows}).json
    assert (report["inserted"], report["duplicates"], report["rejectedCount"]) == (1, 49_999, 0)


def test_an_upload_checks_its_rows_without_holding_up_its_session(monkeypatch, app, api):
    """While an upload's rows are being checked, requests of its own session (and so of
    every other) are answered: the rows are checked before the store's lock is taken."""
    checking, release = threading.Event(), threading.Event()
    real = ContractValidator.is_valid if hasattr(ContractValidator, "is_valid") else None

    def blocking(self, *args, **kwargs):  # the first row check waits to be released
        if not checking.is_set():
            checking.set()
            assert release.wait(30)
        if real is not None:
            return real(self, *args, **kwargs)
        return ContractValidator._old_schema_errors(self, *args, **kwargs)

    if real is not None:
        monkeypatch.setattr(ContractValidator, "is_valid", blocking)
    else:  # the old code checked rows with schema_errors
        monkeypatch.setattr(
            ContractValidator, "_old_schema_errors", ContractValidator.schema_errors, raising=False
        )
        monkeypatch.setattr(ContractValidator, "schema_errors", blocking)
    results: dict[str, Any] = {}
    rows = [{"primaryNumber": f"+1{i:09d}"} for i in range(1000)]
    upload = threading.Thread(
        target=lambda: results.setdefault("upload", api("POST", DNC_BULK, json=rows))
    )
    upload.start()
    try:
        assert checking.wait(30)
        reader = threading.Thread(
            target=lambda: results.setdefault("read", api("GET", "/umm/ecm/dnc/list?size=5"))
        )
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "a read of the same session waited for the upload"
        assert "upload" not in results  # the read was answered while the upload checked rows
        assert results["read"].json["totalElements"] == 3
    finally:
        release.set()
        upload.join(30)
    assert results["upload"].json["inserted"] == 1000


def test_a_refused_request_naming_a_new_session_does_not_make_it(client, api):
    new = {"X-Mock-Session": "fresh"}
    send_json(api, "POST", "/umm/ecm/callStrategy/save", '{"name":NaN}', headers=new)
    api("POST", "/umm/ecm/callStrategy/save", json={"name": ""}, headers=new)
    client.post("/umm/ecm/callStrategy/save", json={"name": "x"}, headers=new)  # no token: 401
    client.post("/__admin/snapshots", json={}, headers=new)
    assert client.get("/__admin/sessions").json["sessions"] == []
    assert api("GET", "/umm/ecm/campaign/list", headers=new).status_code == 200
    assert client.get("/__admin/sessions").json["sessions"] == ["fresh"]


@pytest.mark.parametrize(
    ("method", "path", "seen_as"),
    [
        ("POST", "/__admin/snapshots/../restore", "/__admin/restore"),
        ("POST", "/__admin/snapshots/%2e%2e/restore", "/__admin/restore"),
        ("DELETE", "/__admin/snapshots/%2E%2E", "/__admin"),
        ("GET", "/umm/ecm/campaign//list", "/umm/ecm/campaign//list"),
    ],
    ids=["dot-dot", "dot-dot-escaped", "dot-dot-last", "double-slash"],
)
def test_odd_paths_are_no_operation_not_a_redirect_or_a_body_error(client, method, path, seen_as):
    response = client.open(path, method=method)
    assert (response.status_code, response.content_type) == (404, PROBLEM)
    assert response.json["detail"] == f"no operation at {seen_as}"
    assert response.json["errors"][0]["location"] == "path"


def test_dot_segments_are_resolved_as_a_client_resolves_them(client, auth):
    response = client.get("/umm/ecm/./callStrategy/../callStrategy/list", headers=auth)
    assert response.status_code == 200
    assert response.json == client.get("/umm/ecm/callStrategy/list", headers=auth).json


@pytest.mark.parametrize(
    "value",
    ["%201", "1%20", "%091", "1%0A", "1_000", "%EF%BC%91", "%D9%A3", "abc", "1.5", "0x1"],
    ids=[
        "space-before",
        "space-after",
        "tab",
        "newline",
        "underscore",
        "fullwidth",
        "arabic",
        "letters",
        "fraction",
        "hex",
    ],
)
def test_an_integer_parameter_is_ascii_digits_only(client, auth, value):
    before = client.get("/__admin/state").json
    response = client.delete(f"/umm/ecm/campaign/delete?id={value}", headers=auth)
    assert (response.status_code, response.content_type) == (400, PROBLEM)
    assert response.json["errors"][0]["pointer"] == "/query/id"
    assert "is not an integer" in response.json["errors"][0]["message"]
    assert client.get("/__admin/state").json == before


def test_an_integer_parameter_may_carry_a_sign(client, auth):
    response = client.get("/umm/ecm/callStrategyAttempt/list?csId=%2B1", headers=auth)
    assert response.status_code == 200
