"""The serving model (issue 12): delays hold no thread, idle and slow connections stop nothing.

A real server (serving.BackgroundServer: granian behind the asynchronous front, as
``ecm-mock serve``) on a free port. Nothing here measures time: the assertions are about
order and counts (what was answered while what was still waiting).
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from ecm_mock import AdminClient, Settings, create_app
from ecm_mock.admin_client import login
from ecm_mock.serving import BackgroundServer

CAMPAIGNS = "/umm/ecm/campaign/list"
STRATEGIES = "/umm/ecm/callStrategy/list"
DELAYED = 100  # more than any thread pool of the old server (8 threads)
LONG_DELAY_MS = 4000  # long next to the quick requests, even on a loaded machine


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(Settings()), idle_timeout=1.0) as running:
        yield running


def _get(server: BackgroundServer, path: str, token: str) -> int:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.slow
def test_delayed_requests_hold_up_no_other_and_end_together(server):
    """100 requests delayed at once: while they wait, other operations are answered; then
    every delayed one is answered (none waits for another to finish first)."""
    token = login(server.url, "admin", "admin")
    admin = AdminClient(server.url)
    admin.add_fault(operationId="listCampaigns", latencyMs=LONG_DELAY_MS)
    events: list[str] = []
    lock = threading.Lock()

    def delayed() -> None:
        status = _get(server, CAMPAIGNS, token)
        with lock:
            events.append(f"delayed {status}")

    threads = [threading.Thread(target=delayed) for _ in range(DELAYED)]
    for thread in threads:
        thread.start()
    # all of them reached the server (each is journaled only once answered: count the hits)
    while admin.faults()[0]["hits"] < DELAYED:
        pass
    for _ in range(20):
        status = _get(server, STRATEGIES, token)
        with lock:
            events.append(f"other {status}")
    for thread in threads:
        thread.join(timeout=60)
    assert events[:20] == ["other 200"] * 20  # answered while every delayed one still waited
    assert events[20:] == ["delayed 200"] * DELAYED
    journal = admin.journal(operationId="listCampaigns")
    assert len(journal) == DELAYED
    assert all(entry["durationMs"] >= LONG_DELAY_MS for entry in journal)


@pytest.mark.slow
def test_more_idle_connections_than_the_old_limit_stop_nothing(server):
    """The old server stopped answering at 1,024 connections; idle ones count too."""
    token = login(server.url, "admin", "admin")
    idle = []
    try:
        for _ in range(1500):
            connection = socket.create_connection((server.host, server.port), timeout=30)
            idle.append(connection)
        assert _get(server, STRATEGIES, token) == 200
    finally:
        for connection in idle:
            connection.close()


@pytest.mark.slow
def test_idle_and_slow_connections_are_closed_after_the_idle_timeout(server):
    token = login(server.url, "admin", "admin")
    silent = socket.create_connection((server.host, server.port), timeout=30)
    trickling = socket.create_connection((server.host, server.port), timeout=30)
    trickling.sendall(b"GET /umm/ecm/callStrategy/list HTTP/1.1\r\nHost: x\r\n")  # never ends
    kept_alive = http.client.HTTPConnection(server.host, server.port, timeout=30)
    kept_alive.request("GET", STRATEGIES, headers={"Authorization": f"Bearer {token}"})
    assert kept_alive.getresponse().read()
    try:
        assert _get(server, STRATEGIES, token) == 200  # meanwhile, others are served
        # each is closed by the server well before the sockets' own 30 s timeout would raise
        for connection in (silent, trickling, kept_alive.sock):
            _read_to_the_end(connection)
    finally:
        silent.close()
        trickling.close()
        kept_alive.close()


def _read_to_the_end(connection: socket.socket) -> bytes:
    """What the server sends until it closes the connection (socket.timeout if it does not)."""
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


def test_a_body_larger_than_the_limit_is_413_however_it_arrives():
    app = create_app(Settings(max_body_bytes=1000))
    with BackgroundServer(app) as server:
        token = login(server.url, "admin", "admin")
        big = json.dumps({"name": "x" * 2000}).encode()
        for headers in ({"Content-Length": str(len(big))}, {"Transfer-Encoding": "chunked"}):
            connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
            connection.putrequest("POST", "/umm/ecm/callStrategy/save")
            connection.putheader("Authorization", f"Bearer {token}")
            connection.putheader("Content-Type", "application/json")
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            if "Transfer-Encoding" in headers:
                connection.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big))
            else:
                connection.send(big)
            response = connection.getresponse()
            assert response.status == 413, (headers, response.read())
            assert response.getheader("Content-Type") == "application/problem+json"
            connection.close()


def test_full_collections_wait_for_a_lull_in_requests_but_not_for_ever():
    from ecm_mock import server as module

    slept: list[float] = []
    answered = itertools.count()  # a request between any two looks: never quiet
    waited = module.wait_for_lull(lambda: next(answered), sleep=slept.append)
    assert waited == pytest.approx(module.LONGEST_WAIT_SECONDS)
    assert len(slept) == round(module.LONGEST_WAIT_SECONDS / module.QUIET_SECONDS)

    counts = iter([1, 2, 2, 3, 3, 3])  # moves, moves, then still
    slept.clear()
    module.wait_for_lull(lambda: next(counts), sleep=slept.append)
    assert slept == [module.QUIET_SECONDS] * 3

    answering = iter([None, 4, 4])  # one waits out a delay, then none
    slept.clear()
    module.wait_for_lull(lambda: next(answering), sleep=slept.append)
    assert slept == [module.QUIET_SECONDS] * 2


def test_the_front_says_when_a_request_waits_out_a_delay(server):
    front = server._serving.front
    token = login(server.url, "admin", "admin")
    admin = AdminClient(server.url)
    arrived = front.activity()
    assert isinstance(arrived, int)
    admin.add_fault(operationId="listCampaigns", latencyMs=LONG_DELAY_MS)
    delayed = threading.Thread(target=_get, args=(server, CAMPAIGNS, token))
    delayed.start()
    while admin.faults()[0]["hits"] < 1:
        pass
    # the fault's hit is counted as the request is first answered; its wait starts just after
    while front.activity() is not None and delayed.is_alive():
        pass
    assert delayed.is_alive()  # still waiting out its delay (4 s)
    assert front.activity() is None
    delayed.join(timeout=60)
    after = front.activity()
    assert isinstance(after, int) and after > arrived


def test_a_header_value_that_is_not_ascii_is_refused_not_taken_for_no_header(server):
    token = login(server.url, "admin", "admin")

    def send(headers: dict[str, bytes | str], method: str = "POST") -> tuple[int, dict]:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            connection.putrequest(method, STRATEGIES.replace("list", "save"))
            for name, value in {"Content-Type": "application/json", **headers}.items():
                connection.putheader(name, value)
            body = b'{"name": "Leaked"}'
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    auth = f"Bearer {token}"
    status, body = send({"Authorization": auth, "X-Mock-Session": "caf\u00e9".encode()})
    assert (status, body["errors"][0]["pointer"]) == (400, "/header/X-Mock-Session")
    status, body = send({"Authorization": "Bearer \u00e9\u00e9".encode()})
    assert status == 401 and "missing" not in body["detail"]
    status, _ = send({"Authorization": auth, "X-Other": "caf\u00e9".encode()})  # not read
    assert status == 200
    names = [s["name"] for s in json.loads(_body(server, STRATEGIES, token))]
    assert names.count("Leaked") == 1  # only the last one, in the default session


def _body(server: BackgroundServer, path: str, token: str) -> bytes:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().read()
    finally:
        connection.close()


def test_a_full_collection_is_due_after_a_minute_or_a_burst_of_garbage():
    from ecm_mock import server as module

    assert not module.collection_due(59.0, 2)  # steady saves, within the minute
    assert module.collection_due(module.FULL_COLLECTION_SECONDS, 0)
    assert module.collection_due(1.0, module.PROMOTED)  # ~7 refused 50,000-property bodies
