"""The control plane is bounded in memory, not only in count (issue 11): the journal's entries
are cut and the journal capped in bytes, snapshots are capped in number and in bytes, fault
rules in number (and a request looks only at those that can match it), and a closed
connection is journaled as such. Through HTTP; through a real server for the connection.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from ecm_mock import Settings
from ecm_mock.faults import Fault

SAVE = "/umm/ecm/callStrategy/save"


def with_settings(**changes: Any):
    label = ",".join(f"{k}={v}" for k, v in changes.items())
    return pytest.mark.parametrize("settings", [Settings(**changes)], ids=[label])


def created(response, status: int = 201) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.json


def full(response, pointer: str, words: str) -> None:
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    items = [e for e in response.json["errors"] if e["pointer"] == pointer]
    assert items, response.json
    assert words in items[0]["message"], items[0]["message"]


# ------------------------------------------------------------------------- journal
def test_requests_with_50000_unknown_properties_leave_small_journal_entries(api, client):
    body = {"name": "x", **{f"k{i}": i for i in range(50_000)}}
    for _ in range(3):
        response = api("POST", SAVE, json=body)
        assert response.status_code == 400
        assert len(response.get_data()) < 20_000  # the first 100 errors, and how many more
        assert response.json["detail"].endswith("(and 49999 more)")
        assert len(response.json["errors"]) == 100
    answer = client.get("/__admin/journal?limit=20")
    assert answer.status_code == 200
    assert len(answer.get_data()) < 20_000  # 86 MB before for 20 of them
    entry = answer.json[-1]
    assert len(entry["validationErrors"]) == 10
    assert entry["validationErrorCount"] == 50_000
    assert entry["truncated"] is True


def test_long_text_is_cut_in_a_journal_entry(api, client):
    response = api("GET", "/umm/ecm/dnc/list?search=" + "x" * 100 + "&" + "y" * 5000 + "=1")
    assert response.status_code == 200
    entry = client.get("/__admin/journal").json[-1]
    assert len(entry["query"]) == 500
    assert entry["query"].endswith("…")
    assert entry["truncated"] is True
    assert "truncated" not in client.get("/__admin/journal").json[0]  # the login: whole


@with_settings(journal_bytes=20_000, journal_size=1000)
def test_the_journal_is_capped_in_bytes_oldest_out_first(api, client):
    for i in range(200):
        assert api("GET", f"/umm/ecm/dnc/list?n={i:04d}&pad={'x' * 400}").status_code == 200
    entries = client.get("/__admin/journal").json
    assert 20 < len(entries) < 200  # bounded by bytes before the count
    assert len(json.dumps(entries)) < 2 * 20_000
    assert entries[-1]["query"].startswith("n=0199")  # the newest are kept
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs)


def test_a_closed_connection_is_journaled_as_closed_not_200(api, client):
    created(
        client.post(
            "/__admin/faults", json={"operationId": "listCampaigns", "closeConnection": True}
        )
    )
    api("GET", "/umm/ecm/campaign/list")
    entry = client.get("/__admin/journal?operationId=listCampaigns").json[-1]
    assert entry["status"] == 0
    assert entry["closed"] is True
    assert entry["fault"] == 1


def test_a_closed_connection_on_a_real_server_is_journaled_as_closed(live_server, client):
    host, port = live_server.removeprefix("http://").split(":")
    rule = {"operationId": "listCampaigns", "closeConnection": True}
    assert client.post("/__admin/faults", json=rule).status_code == 201
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/umm/ecm/campaign/list")
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    entry = client.get("/__admin/journal?operationId=listCampaigns").json[-1]
    assert (entry["status"], entry.get("closed")) == (0, True)


# ----------------------------------------------------------------------- snapshots
@with_settings(max_snapshots=3)
def test_snapshots_are_capped_in_number_per_session(client):
    for name in ("a", "b", "c"):
        created(client.post("/__admin/snapshots", json={"name": name}))
    full(client.post("/__admin/snapshots", json={"name": "d"}), "/body/name", "--max-snapshots")
    created(client.post("/__admin/snapshots", json={"name": "b"}))  # retaken: room enough
    assert [s["name"] for s in client.get("/__admin/snapshots").json] == ["a", "c", "b"]
    assert client.delete("/__admin/snapshots/a").status_code == 204
    created(client.post("/__admin/snapshots", json={"name": "d"}))
    # another session has its own three
    other = {"X-Mock-Session": "other"}
    for name in ("a", "b", "c"):
        created(client.post("/__admin/snapshots", json={"name": name}, headers=other))


@with_settings(snapshot_bytes=150_000)
def test_snapshots_are_capped_in_bytes_across_sessions(client):
    for taken in range(101):  # a snapshot of the shipped fixtures takes about 10 KB
        response = client.post("/__admin/snapshots", json={"name": f"s{taken}"})
        if response.status_code != 201:
            break
    full(response, "/body/name", "--snapshot-bytes")
    assert 2 <= taken < 100
    # the other sessions share the bytes: no room there either
    other = {"X-Mock-Session": "other"}
    full(
        client.post("/__admin/snapshots", json={"name": "x"}, headers=other),
        "/body/name",
        "--snapshot-bytes",
    )
    assert client.delete("/__admin/snapshots/s0").status_code == 204  # gives room back
    created(client.post("/__admin/snapshots", json={"name": "x"}, headers=other))
    # restoring still gives back exactly what was taken
    before = client.get("/__admin/state").json
    client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    assert client.post("/__admin/snapshots/s1/restore").status_code == 200
    assert client.get("/__admin/state").json == before


@with_settings(snapshot_bytes=150_000, max_sessions=1)
def test_a_dropped_session_gives_its_snapshot_bytes_back(client):
    one, two = {"X-Mock-Session": "one"}, {"X-Mock-Session": "two"}
    for taken in range(101):
        response = client.post("/__admin/snapshots", json={"name": f"s{taken}"}, headers=one)
        if response.status_code != 201:
            break
    assert 2 <= taken < 100
    client.get("/__admin/state", headers=two)  # drops session one, the least recently used
    for i in range(taken):
        created(client.post("/__admin/snapshots", json={"name": f"s{i}"}, headers=two))


# ------------------------------------------------------------------------- faults
@with_settings(max_faults=5)
def test_fault_rules_are_capped(client):
    for i in range(5):
        created(client.post("/__admin/faults", json={"path": f"/nowhere/{i}", "status": 503}))
    full(
        client.post("/__admin/faults", json={"path": "/x", "status": 503}), "/body", "--max-faults"
    )
    assert len(client.get("/__admin/faults").json) == 5
    assert client.delete("/__admin/faults/1").status_code == 204
    created(client.post("/__admin/faults", json={"path": "/x", "status": 503}))


def test_10000_fault_rules_are_not_accepted(client):
    statuses = [
        client.post("/__admin/faults", json={"path": f"/nowhere/{i}", "status": 503}).status_code
        for i in range(150)
    ]
    assert statuses == [201] * 100 + [409] * 50


def test_a_request_looks_only_at_the_rules_that_can_match_it(monkeypatch, api, client):
    for i in range(99):
        created(
            client.post("/__admin/faults", json={"operationId": "listDncContacts", "latencyMs": i})
        )
    created(client.post("/__admin/faults", json={"method": "GET", "status": 503, "times": 1}))
    looked_at = []
    matches = Fault.matches

    def counted(self, *args):
        looked_at.append(self.id)
        return matches(self, *args)

    monkeypatch.setattr(Fault, "matches", counted)
    assert api("GET", "/umm/ecm/campaign/list").status_code == 503  # the GET rule, only it
    assert looked_at == [100]
    looked_at.clear()
    assert api("GET", "/umm/ecm/campaign/list").status_code == 200  # it applied once
    assert looked_at == []


def test_rules_filed_apart_still_apply_in_the_order_they_were_added(api, client):
    created(client.post("/__admin/faults", json={"method": "GET", "status": 502, "times": 1}))
    created(client.post("/__admin/faults", json={"operationId": "listCampaigns", "status": 503}))
    created(client.post("/__admin/faults", json={"path": "/umm/ecm/campaign/list", "status": 504}))
    assert api("GET", "/umm/ecm/campaign/list").status_code == 502
    assert api("GET", "/umm/ecm/campaign/list").status_code == 503
    assert client.delete("/__admin/faults/2").status_code == 204
    assert api("GET", "/umm/ecm/campaign/list").status_code == 504


# ------------------------------------------------------------------------ options
def test_every_limit_is_a_serve_option_and_an_environment_variable():
    from ecm_mock.cli import LIMITS, _parser

    for flag, _ in LIMITS:
        name = flag.removeprefix("--").replace("-", "_")
        assert getattr(_parser().parse_args(["serve", flag, "7"]), name) == 7
        assert getattr(Settings.from_env({f"ECM_MOCK_{name.upper()}": "7"}), name) == 7
        assert getattr(Settings(), name) > 7  # a default of its own
    with pytest.raises(ValueError, match="max_integer_digits"):
        Settings(max_integer_digits=4301)
