"""The control plane under /__admin (openapi/admin.yaml): state, fixtures, snapshots, sessions,
faults, journal and clock; bad input to each; its access rules.

Through the Flask test client, and through the live server where sockets or real concurrency
matter (dropped connections, latency next to other requests, the journal under load).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import pytest
import requests

from ecm_mock import ApiError, Settings, create_app, read_fixtures, services_of
from ecm_mock import admin as admin_handlers
from ecm_mock.clock import iso
from ecm_mock.faults import Fault

from .conftest import START

PROBLEM = "application/problem+json"
SESSION = "X-Mock-Session"
LOGIN = "/umm/api/login"
CAMPAIGNS = "/umm/ecm/campaign/list"
CREATE_CAMPAIGN = "/umm/ecm/campaign/createCampaign"
STRATEGIES = "/umm/ecm/callStrategy/list"
SAVE_STRATEGY = "/umm/ecm/callStrategy/save"
CONTACTS = "/umm/ecm/campaignContact/list"
ADMIN_USER = {"username": "admin", "password": "admin"}
# The shipped fixtures (README, Fixtures): Default + 2 strategies with 1 + 3 + 2 attempts,
# three campaigns, five contacts, three DNC numbers, no preference settings, two users.
DEFAULT_COUNTS = {
    "strategies": 3,
    "attempts": 6,
    "campaigns": 3,
    "contacts": 5,
    "dnc": 3,
    "preferences": 0,
    "users": 2,
}
FIXTURE_STRATEGIES = ["Default", "Voice three tries", "Voice then SMS"]
JAN5 = "2026-01-05T09:00:00Z"
JAN5_EPOCH = 1_767_603_600.0


def with_settings(**changes: Any):
    """Run the test on an app built with these settings (they replace conftest's ``settings``)."""
    label = ",".join(f"{k}={v}" for k, v in changes.items())
    return pytest.mark.parametrize("settings", [Settings(**changes)], ids=[label])


# ------------------------------------------------------------------------------- helpers
@pytest.fixture
def admin(client):
    """``admin("POST", "/reset", session="a", json=...)``: a control-plane call."""

    def call(method: str, path: str, session: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if session is not None:
            headers[SESSION] = session
        return client.open("/__admin" + path, method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def fresh(settings, clock) -> dict[str, Any]:
    """The dump of a state just built from the fixtures (before any login sets lastLogin)."""
    return services_of(create_app(settings, clock=clock)).store.dump()


def in_session(name: str | None) -> dict[str, Any]:
    return {"headers": {SESSION: name}} if name is not None else {}


def ok(response, status: int = 200) -> Any:
    """The JSON body of a success with exactly this status (None when there is no body)."""
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 204:
        assert response.get_data() == b""
        return None
    assert response.mimetype == "application/json"
    return response.json


def problem(response, status: int, pointer: str, location: str) -> dict[str, Any]:
    """A problem+json answer with this status and an errors item at ``pointer``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    items = [e for e in body["errors"] if e["pointer"] == pointer]
    assert items, body["errors"]
    assert items[0]["location"] == location
    assert items[0]["message"]
    return body


def observe(services) -> dict[str, Any]:
    """Everything the control plane can change, outside the named sessions' contents."""
    return {
        "state": services.store.dump(),
        "snapshots": services.store.snapshots(),
        "sessions": services.sessions.names(),
        "faults": services.faults.list(),
        "journal": services.journal.entries(),
        "clock": (services.clock.time(), services.clock.frozen),
    }


@contextmanager
def nothing_changes(services, *, but: tuple[str, ...] = ()) -> Iterator[None]:
    """Assert that the block changes none of :func:`observe`'s parts except those in ``but``."""
    before = observe(services)
    yield
    after = observe(services)
    for part in but:
        del before[part], after[part]
    assert after == before


def add_strategy(api, name: str, session: str | None = None) -> dict[str, Any]:
    return ok(api("POST", SAVE_STRATEGY, json={"name": name}, **in_session(session)))


def strategy_names(api, session: str | None = None) -> list[str]:
    return [s["name"] for s in ok(api("GET", STRATEGIES, **in_session(session)))]


def small_document() -> dict[str, Any]:
    """The shipped fixtures without campaigns 2 and 3 (and their contacts)."""
    document = read_fixtures()
    document["campaigns"] = [c for c in document["campaigns"] if c["id"] == 1]
    document["contacts"] = [c for c in document["contacts"] if c["campaignId"] == 1]
    return document


def add_fault(admin, **rule: Any) -> dict[str, Any]:
    return ok(admin("POST", "/faults", json=rule), 201)


def journal(admin, query: str = "") -> list[dict[str, Any]]:
    return ok(admin("GET", "/journal" + (f"?{query}" if query else "")))


# ---------------------------------------------------------------------------------- state
def test_reset_goes_back_to_the_fixtures(admin, api, store, fresh):
    assert add_strategy(api, "Extra")["id"] == 4
    ok(api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}), 201)
    assert store.dump() != fresh

    assert ok(admin("POST", "/reset")) == {"session": None, "counts": DEFAULT_COUNTS}
    assert store.dump() == fresh
    assert add_strategy(api, "Extra")["id"] == 4  # ids start over too


def test_dump_state_is_everything_the_store_holds(admin, api, store):
    add_strategy(api, "Extra")
    dumped = ok(admin("GET", "/state"))
    assert dumped == store.dump()
    assert dumped["strategies"][-1] == {"id": 4, "name": "Extra"}
    assert [s["name"] for s in dumped["strategies"]] == [*FIXTURE_STRATEGIES, "Extra"]
    assert dumped["last_ids"] == {
        "campaign": 3,
        "contact": 5,
        "dnc": 3,
        "strategy": 4,
        "attempt": 6,
        "preferences": 0,
    }
    assert dumped["users"]["admin"]["password"] == "admin"  # a test tool: passwords included


def test_load_fixtures_replaces_the_state_and_later_resets_return_to_it(admin, api, store):
    document = small_document()
    summary = ok(admin("PUT", "/fixtures", json=document))
    assert summary == {"session": None, "counts": {**DEFAULT_COUNTS, "campaigns": 1, "contacts": 3}}
    assert [c["id"] for c in ok(api("GET", CAMPAIGNS))] == [1]
    assert store.dump()["campaigns"] == document["campaigns"]
    created = ok(api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}), 201)
    assert created["id"] == 2  # ids continue after the document's

    assert ok(admin("POST", "/reset"))["counts"]["campaigns"] == 1  # not the shipped three
    assert store.dump()["campaigns"] == document["campaigns"]


def test_load_fixtures_leaves_out_kinds_as_empty(admin):
    document = {"strategies": [{"id": 1, "name": "Default"}]}
    counts = ok(admin("PUT", "/fixtures", json=document))["counts"]
    assert counts == {**dict.fromkeys(DEFAULT_COUNTS, 0), "strategies": 1}


def test_load_fixtures_in_a_session_changes_only_that_session(admin, store):
    fresh = store.dump()
    summary = ok(admin("PUT", "/fixtures", session="a", json=small_document()))
    assert summary["session"] == "a"
    assert summary["counts"]["campaigns"] == 1
    assert store.dump() == fresh
    ok(admin("POST", "/reset", session="a"))
    assert len(ok(admin("GET", "/state", session="a"))["campaigns"]) == 1
    assert len(ok(admin("GET", "/state", session="b"))["campaigns"]) == 3


def _without(record: dict, *names: str) -> dict:
    return {k: v for k, v in record.items() if k not in names}


def _breakers():
    """(id, change to the shipped fixtures, pointer, words the message must hold)."""

    def campaign_missing_fields(d):
        d["campaigns"][0] = _without(d["campaigns"][0], "strategyId", "startTime")

    def no_default_strategy(d):
        d["strategies"] = [s for s in d["strategies"] if s["name"] != "Default"]

    def unknown_kind(d):
        d["gadgets"] = []

    def contact_of_no_campaign(d):
        d["contacts"][0]["campaignId"] = 99

    def id_used_twice(d):
        d["dnc"].append({**d["dnc"][0], "primaryNumber": "+15550009999"})

    def campaign_of_no_strategy(d):
        d["campaigns"][0]["strategyId"] = 99

    def users_not_a_list(d):
        d["users"]["users"] = "admin"

    def attempt_not_an_object(d):
        d["strategies"][0]["attempts"] = [1]

    def license_not_an_object(d):
        d["users"]["license"] = "valid"

    return [
        (campaign_missing_fields, "/body", "campaigns: record 0 does not match Campaign"),
        (no_default_strategy, "/body", "strategies: the Default strategy is missing"),
        (unknown_kind, "/body/gadgets", "unexpected property 'gadgets'"),
        (contact_of_no_campaign, "/body", "contacts: record 0: campaignId 99 is not among"),
        (id_used_twice, "/body", "dnc: record 3: id 1 is used twice"),
        (campaign_of_no_strategy, "/body", "campaigns: record 0: strategyId 99 is not among"),
        (users_not_a_list, "/body", "wrong shape"),
        (attempt_not_an_object, "/body", "wrong shape"),
        (license_not_an_object, "/body", "wrong shape"),
    ]


@pytest.mark.parametrize(
    ("breaker", "pointer", "words"), _breakers(), ids=[b[0].__name__ for b in _breakers()]
)
def test_a_broken_fixture_document_is_refused_and_changes_nothing(
    services, admin, api, store, fresh, breaker, pointer, words
):
    add_strategy(api, "Extra")  # a state that differs from any document
    document = read_fixtures()
    breaker(document)
    with nothing_changes(services):
        body = problem(admin("PUT", "/fixtures", json=document), 400, pointer, "body")
    assert words in body["detail"]
    # resets still go back to the fixtures the app started with, not to the refused document
    ok(admin("POST", "/reset"))
    assert store.dump() == fresh


def test_load_fixtures_refuses_a_document_that_is_not_an_object(services, admin):
    with nothing_changes(services):
        problem(admin("PUT", "/fixtures", json=[]), 400, "/body", "body")
        response = admin("PUT", "/fixtures", data="users: []", content_type="text/yaml")
        problem(response, 415, "/header/Content-Type", "content-type")


# ------------------------------------------------------------------------------ snapshots
def test_snapshot_change_restore_gives_back_the_exact_earlier_state(admin, api, store):
    before = store.dump()
    taken = ok(admin("POST", "/snapshots", json={"name": "before"}), 201)
    assert taken == {"name": "before", "takenAt": iso(START)}

    assert add_strategy(api, "Extra")["id"] == 4
    assert ok(api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}), 201)["id"] == 4
    ok(admin("PUT", "/fixtures", json=small_document()))
    assert store.dump() != before

    assert ok(admin("POST", "/snapshots/before/restore")) == {
        "session": None,
        "counts": DEFAULT_COUNTS,
    }
    assert store.dump() == before
    # ids continue as they would have from the snapshot (last_ids restored too)
    assert add_strategy(api, "Again")["id"] == 4
    assert ok(api("POST", CREATE_CAMPAIGN, json={"name": "Winter2026"}), 201)["id"] == 4

    # a snapshot is not used up: restoring it again gives the same state
    ok(admin("POST", "/snapshots/before/restore"))
    assert store.dump() == before


def test_snapshots_are_listed_oldest_first_and_can_be_deleted(admin, clock):
    assert ok(admin("GET", "/snapshots")) == []
    ok(admin("POST", "/snapshots", json={"name": "one"}), 201)
    clock.advance(60)
    ok(admin("POST", "/snapshots", json={"name": "two.v2_x-y"}), 201)
    assert ok(admin("GET", "/snapshots")) == [
        {"name": "one", "takenAt": iso(START)},
        {"name": "two.v2_x-y", "takenAt": iso(START + 60)},
    ]
    ok(admin("DELETE", "/snapshots/one"), 204)
    assert ok(admin("GET", "/snapshots")) == [{"name": "two.v2_x-y", "takenAt": iso(START + 60)}]
    problem(admin("POST", "/snapshots/one/restore"), 404, "/path/name", "path")


def test_a_snapshot_name_taken_again_is_overwritten(admin, api, store):
    ok(admin("POST", "/snapshots", json={"name": "x"}), 201)
    add_strategy(api, "Extra")
    later = store.dump()
    ok(admin("POST", "/snapshots", json={"name": "x"}), 201)
    ok(admin("POST", "/reset"))
    ok(admin("POST", "/snapshots/x/restore"))
    assert store.dump() == later
    assert [s["name"] for s in ok(admin("GET", "/snapshots"))] == ["x"]


def test_a_retaken_snapshot_is_listed_as_the_newest(admin, clock):
    ok(admin("POST", "/snapshots", json={"name": "a"}), 201)
    ok(admin("POST", "/snapshots", json={"name": "b"}), 201)
    clock.advance(60)
    ok(admin("POST", "/snapshots", json={"name": "a"}), 201)
    assert ok(admin("GET", "/snapshots")) == [
        {"name": "b", "takenAt": iso(START)},
        {"name": "a", "takenAt": iso(START + 60)},
    ]


def test_reset_keeps_the_snapshots(admin, api, store):
    before = store.dump()
    ok(admin("POST", "/snapshots", json={"name": "keep"}), 201)
    add_strategy(api, "Extra")
    ok(admin("POST", "/reset"))
    assert [s["name"] for s in ok(admin("GET", "/snapshots"))] == ["keep"]
    ok(admin("POST", "/snapshots/keep/restore"))
    assert store.dump() == before


def test_snapshots_belong_to_their_session(admin, api):
    ok(admin("POST", "/snapshots", session="a", json={"name": "mine"}), 201)
    add_strategy(api, "InA", session="a")
    assert ok(admin("GET", "/snapshots")) == []
    problem(admin("POST", "/snapshots/mine/restore"), 404, "/path/name", "path")
    ok(admin("POST", "/snapshots/mine/restore", session="a"))
    assert strategy_names(api, session="a") == FIXTURE_STRATEGIES


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "pointer"),
    [
        ("POST", "/snapshots/nope/restore", None, 404, "/path/name"),
        ("DELETE", "/snapshots/nope", None, 404, "/path/name"),
        ("POST", "/snapshots", {"name": "a b"}, 400, "/body/name"),
        ("POST", "/snapshots", {"name": ""}, 400, "/body/name"),
        ("POST", "/snapshots", {"name": "x" * 65}, 400, "/body/name"),
        ("POST", "/snapshots", {}, 400, "/body/name"),
        ("POST", "/snapshots", {"name": "ok", "keep": True}, 400, "/body/keep"),
        ("POST", "/snapshots/a%20b/restore", None, 400, "/path/name"),
        ("DELETE", "/snapshots/a%20b", None, 400, "/path/name"),
        ("POST", f"/snapshots/{'x' * 65}/restore", None, 400, "/path/name"),
    ],
    ids=[
        "restore-unknown",
        "delete-unknown",
        "take-space",
        "take-empty",
        "take-too-long",
        "take-no-name",
        "take-unknown-property",
        "restore-space",
        "delete-space",
        "restore-too-long",
    ],
)
def test_bad_snapshot_requests_are_refused_and_change_nothing(
    services, admin, method, path, body, status, pointer
):
    ok(admin("POST", "/snapshots", json={"name": "kept"}), 201)
    with nothing_changes(services):
        kwargs = {"json": body} if body is not None else {}
        location = pointer.split("/")[1]
        problem(admin(method, path, **kwargs), status, pointer, location)
    assert [s["name"] for s in ok(admin("GET", "/snapshots"))] == ["kept"]


def test_take_snapshot_wants_json(services, admin):
    with nothing_changes(services):
        response = admin("POST", "/snapshots", data="name=x", content_type="text/plain")
        problem(response, 415, "/header/Content-Type", "content-type")


# ------------------------------------------------------------------------------- sessions
def test_list_sessions_starts_empty(admin):
    assert ok(admin("GET", "/sessions")) == {"limit": 16, "sessions": []}


def test_sessions_never_see_each_others_writes_nor_the_default_states(admin, api, fresh):
    assert add_strategy(api, "InDefault")["id"] == 4
    assert add_strategy(api, "InA", session="a")["id"] == 4  # each counts ids on its own
    assert add_strategy(api, "InB", session="b")["id"] == 4

    assert strategy_names(api) == [*FIXTURE_STRATEGIES, "InDefault"]
    assert strategy_names(api, session="a") == [*FIXTURE_STRATEGIES, "InA"]
    assert strategy_names(api, session="b") == [*FIXTURE_STRATEGIES, "InB"]
    assert ok(admin("GET", "/sessions")) == {"limit": 16, "sessions": ["a", "b"]}
    dump_a = ok(admin("GET", "/state", session="a"))
    assert dump_a == {**fresh, "strategies": dump_a["strategies"], "last_ids": dump_a["last_ids"]}
    assert dump_a["strategies"] == [*fresh["strategies"], {"id": 4, "name": "InA"}]
    assert dump_a["last_ids"] == {**fresh["last_ids"], "strategy": 4}


def test_a_session_starts_from_the_fixtures_not_from_the_default_state(admin, api, fresh):
    add_strategy(api, "InDefault")
    ok(admin("PUT", "/fixtures", json=small_document()))  # the default state's own document
    assert ok(admin("GET", "/state", session="new")) == fresh


def test_reset_with_a_session_header_resets_only_that_session(admin, api):
    add_strategy(api, "InDefault")
    add_strategy(api, "InA", session="a")
    add_strategy(api, "InB", session="b")
    summary = ok(admin("POST", "/reset", session="a"))
    assert summary == {"session": "a", "counts": DEFAULT_COUNTS}
    assert strategy_names(api, session="a") == FIXTURE_STRATEGIES
    assert strategy_names(api, session="b") == [*FIXTURE_STRATEGIES, "InB"]
    assert strategy_names(api) == [*FIXTURE_STRATEGIES, "InDefault"]


@with_settings(max_sessions=2)
def test_the_least_recently_used_session_is_dropped_and_comes_back_fresh(admin, api):
    add_strategy(api, "OnlyA", session="a")
    strategy_names(api, session="b")
    strategy_names(api, session="c")
    assert ok(admin("GET", "/sessions")) == {"limit": 2, "sessions": ["b", "c"]}

    assert strategy_names(api, session="a") == FIXTURE_STRATEGIES  # recreated from the fixtures
    assert ok(admin("GET", "/sessions")) == {"limit": 2, "sessions": ["c", "a"]}


@with_settings(max_sessions=2)
def test_using_a_session_makes_it_the_most_recent(admin, api):
    strategy_names(api, session="a")
    strategy_names(api, session="b")
    add_strategy(api, "StillA", session="a")  # a is now the most recent: b goes next
    strategy_names(api, session="c")
    assert ok(admin("GET", "/sessions"))["sessions"] == ["a", "c"]
    assert strategy_names(api, session="a") == [*FIXTURE_STRATEGIES, "StillA"]


def _refuses_bad_session(services, client, auth, method, path, body, name) -> None:
    kwargs = {"json": body} if body is not None else {}
    ecm = not path.startswith("/__admin")  # an ECM request is journaled, whatever its answer
    with nothing_changes(services, but=("journal",) if ecm else ()):
        response = client.open(path, method=method, headers={**auth, SESSION: name}, **kwargs)
        problem(response, 400, f"/header/{SESSION}", "header")


@pytest.mark.parametrize(
    "name", ["a b", "x" * 65, "a/b", ""], ids=["space", "long", "slash", "empty"]
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/__admin/snapshots", {"name": "s"}),
        ("PUT", "/__admin/fixtures", {"strategies": [{"id": 1, "name": "Default"}]}),
        ("POST", "/__admin/snapshots/s/restore", None),
        ("POST", SAVE_STRATEGY, {"name": "Extra"}),
    ],
    ids=["takeSnapshot", "loadFixtures", "restoreSnapshot", "saveStrategy"],
)
def test_a_bad_session_name_is_refused_and_creates_nothing(
    services, client, auth, method, path, body, name
):
    _refuses_bad_session(services, client, auth, method, path, body, name)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/__admin/reset"),
        ("GET", "/__admin/state"),
        ("GET", "/__admin/snapshots"),
        ("GET", CAMPAIGNS),
    ],
    ids=["resetState", "dumpState", "listSnapshots", "listCampaigns"],
)
def test_a_bad_session_name_is_400_on_operations_without_a_declared_400(
    services, client, auth, method, path
):
    _refuses_bad_session(services, client, auth, method, path, None, "a b")


# --------------------------------------------------------------------------------- faults
def test_fault_rules_are_added_listed_removed_and_cleared(admin):
    first = add_fault(admin, operationId="listCampaigns", status=503, times=2)
    assert first == {
        "id": 1,
        "operationId": "listCampaigns",
        "status": 503,
        "times": 2,
        "hits": 0,
        "remaining": 2,
    }
    second = add_fault(
        admin, method="POST", path=SAVE_STRATEGY, latencyMs=[10, 20], probability=0.5
    )
    assert second == {
        "id": 2,
        "method": "POST",
        "path": SAVE_STRATEGY,
        "latencyMs": [10, 20],
        "probability": 0.5,
        "hits": 0,
        "remaining": None,
    }
    third = add_fault(admin, path=CAMPAIGNS, closeConnection=True)
    assert third == {
        "id": 3,
        "path": CAMPAIGNS,
        "closeConnection": True,
        "hits": 0,
        "remaining": None,
    }
    assert ok(admin("GET", "/faults")) == [first, second, third]

    ok(admin("DELETE", "/faults/2"), 204)
    assert ok(admin("GET", "/faults")) == [first, third]
    ok(admin("DELETE", "/faults"), 204)
    assert ok(admin("GET", "/faults")) == []
    assert add_fault(admin, operationId="listCampaigns", status=500)["id"] == 4  # never reused


def test_a_status_fault_answers_the_next_n_requests_then_normal_service(admin, api):
    ok(admin("DELETE", "/journal"), 204)
    add_fault(admin, operationId="listCampaigns", status=503, times=2)
    for _ in range(2):
        response = api("GET", CAMPAIGNS)
        assert response.status_code == 503
        assert response.mimetype == PROBLEM
        assert response.json == {
            "type": "urn:ecm-mock:problem:service-unavailable",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "fault injected by rule 1",
        }
        assert strategy_names(api) == FIXTURE_STRATEGIES  # other operations are unaffected
    assert [c["id"] for c in ok(api("GET", CAMPAIGNS))] == [1, 2, 3]
    assert ok(admin("GET", "/faults")) == []  # used up
    entries = journal(admin, "operationId=listCampaigns")
    assert [(e["status"], e["fault"]) for e in entries] == [(503, 1), (503, 1), (200, None)]


def test_a_rule_counts_its_hits_and_what_remains(admin, api):
    add_fault(admin, operationId="listCampaigns", status=502, times=3)
    api("GET", CAMPAIGNS)
    [rule] = ok(admin("GET", "/faults"))
    assert (rule["hits"], rule["remaining"]) == (1, 2)
    add_fault(admin, operationId="listStrategies", latencyMs=0)
    for _ in range(3):
        strategy_names(api)
    assert [(r["hits"], r["remaining"]) for r in ok(admin("GET", "/faults"))] == [(1, 2), (3, None)]


def test_a_fault_with_probability_zero_never_applies(admin, api):
    add_fault(admin, operationId="listCampaigns", status=500, probability=0)
    for _ in range(25):
        assert len(ok(api("GET", CAMPAIGNS))) == 3
    assert ok(admin("GET", "/faults"))[0]["hits"] == 0


def test_a_rule_that_does_not_roll_lets_the_next_matching_rule_apply(admin, api):
    add_fault(admin, operationId="listCampaigns", status=500, probability=0)
    add_fault(admin, method="GET", status=503)
    response = api("GET", CAMPAIGNS)
    assert response.status_code == 503
    assert response.json["detail"] == "fault injected by rule 2"


def test_a_probability_applies_a_rule_to_a_share_of_the_matches(admin, api):
    add_fault(admin, operationId="listCampaigns", status=503, probability=0.5)
    statuses = [api("GET", CAMPAIGNS).status_code for _ in range(100)]
    assert set(statuses) == {200, 503}
    assert 30 <= statuses.count(503) <= 70
    assert ok(admin("GET", "/faults"))[0]["hits"] == statuses.count(503)


def test_every_match_field_given_must_match(admin, api):
    add_fault(admin, operationId="listCampaigns", method="POST", status=500)  # never: it is a GET
    add_fault(admin, path=STRATEGIES, status=502)
    add_fault(admin, method="POST", path=CREATE_CAMPAIGN, status=504, times=1)
    assert len(ok(api("GET", CAMPAIGNS))) == 3
    assert api("GET", STRATEGIES).status_code == 502
    assert api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}).status_code == 504
    assert api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}).status_code == 201
    assert [r["hits"] for r in ok(admin("GET", "/faults"))] == [0, 1]


def test_a_latency_range_delays_the_request_within_it(admin, api):
    add_fault(admin, operationId="listCampaigns", latencyMs=[100, 150])
    for _ in range(3):
        started = time.perf_counter()
        assert len(ok(api("GET", CAMPAIGNS))) == 3  # delayed, then answered as usual
        assert 0.1 <= time.perf_counter() - started < 1.0
    durations = [e["durationMs"] for e in journal(admin, "operationId=listCampaigns")]
    assert len(durations) == 3
    assert all(100 <= d < 1000 for d in durations)


def test_latency_values_fall_within_the_range():
    rng = random.Random(0)  # noqa: S311 - latency draws, not cryptography
    ranged = Fault(1, {"latencyMs": [100, 150]})
    values = [ranged.latency_seconds(rng) for _ in range(200)]
    assert all(0.1 <= v <= 0.15 for v in values)
    assert min(values) < 0.11 and max(values) > 0.14  # spread over the range, not a constant
    assert Fault(2, {"latencyMs": 250}).latency_seconds(rng) == 0.25
    assert Fault(3, {"status": 503}).latency_seconds(rng) == 0


def test_close_connection_in_the_test_client_promises_a_body_it_never_sends(admin, api):
    add_fault(admin, operationId="listCampaigns", closeConnection=True, times=1)
    response = api("GET", CAMPAIGNS)
    assert response.headers["Content-Length"] == "1024"
    assert response.get_data() == b""


def test_close_connection_breaks_the_response_on_a_real_server(live_server):
    http = requests.Session()
    token = http.post(live_server + LOGIN, json=ADMIN_USER, timeout=5).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    rule = {"operationId": "listCampaigns", "closeConnection": True, "times": 1}
    assert http.post(live_server + "/__admin/faults", json=rule, timeout=5).status_code == 201

    with pytest.raises(requests.exceptions.RequestException):
        http.get(live_server + CAMPAIGNS, timeout=5)

    after = http.get(live_server + CAMPAIGNS, timeout=5)  # the server lives on
    assert after.status_code == 200
    assert len(after.json()) == 3
    entries = http.get(live_server + "/__admin/journal?operationId=listCampaigns", timeout=5).json()
    assert [e["fault"] for e in entries] == [1, None]


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({"status": 503}, "/body/operationId"),  # no match field
        ({"latencyMs": 10, "times": 1}, "/body/operationId"),
        ({"operationId": "listCampaigns"}, "/body"),  # no effect
        ({"operationId": "listCampaigns", "closeConnection": False}, "/body"),
        ({"operationId": "listCampaigns", "times": 2, "probability": 1}, "/body"),
        ({"operationId": "archiveCampaign", "status": 503}, "/body/operationId"),
        ({"operationId": "dumpState", "status": 503}, "/body/operationId"),  # admin: not ECM
        ({"operationId": "listCampaigns", "latencyMs": [200, 100]}, "/body/latencyMs/0"),
        ({"operationId": "listCampaigns", "latencyMs": [1, 2, 3]}, "/body/latencyMs"),
        ({"operationId": "listCampaigns", "latencyMs": -1}, "/body/latencyMs"),
        ({"operationId": "listCampaigns", "latencyMs": 60001}, "/body/latencyMs"),
        ({"operationId": "listCampaigns", "status": 503, "probability": 2}, "/body/probability"),
        ({"operationId": "listCampaigns", "status": 503, "probability": -0.1}, "/body/probability"),
        ({"operationId": "listCampaigns", "status": 200}, "/body/status"),
        ({"operationId": "listCampaigns", "status": 600}, "/body/status"),
        ({"operationId": "listCampaigns", "status": 503, "times": 0}, "/body/times"),
        ({"operationId": "listCampaigns", "status": 503, "colour": "red"}, "/body/colour"),
        ({"method": "TRACE", "status": 503}, "/body/method"),
        ({"path": "umm/ecm/campaign/list", "status": 503}, "/body/path"),
    ],
    ids=[
        "no-match-field",
        "only-latency-and-times",
        "no-effect",
        "close-false-only",
        "times-and-probability-only",
        "unknown-operation",
        "admin-operation",
        "range-min-above-max",
        "range-of-three",
        "negative-latency",
        "latency-too-long",
        "probability-2",
        "probability-negative",
        "status-200",
        "status-600",
        "times-0",
        "unknown-property",
        "unknown-method",
        "relative-path",
    ],
)
def test_a_bad_fault_rule_is_refused_and_changes_nothing(services, admin, rule, pointer):
    with nothing_changes(services):
        problem(admin("POST", "/faults", json=rule), 400, pointer, "body")
    assert add_fault(admin, operationId="listCampaigns", status=503)["id"] == 1  # no id used


def test_an_unknown_fault_id_is_404_and_a_bad_one_400(services, admin):
    add_fault(admin, operationId="listCampaigns", status=503)
    with nothing_changes(services):
        body = problem(admin("DELETE", "/faults/99"), 404, "/path/id", "path")
        assert body["detail"] == "no fault rule 99"
        problem(admin("DELETE", "/faults/0"), 400, "/path/id", "path")
        problem(admin("DELETE", "/faults/abc"), 400, "/path/id", "path")
        response = admin("POST", "/faults", data="status=503", content_type="text/plain")
        problem(response, 415, "/header/Content-Type", "content-type")


# -------------------------------------------------------------------------------- journal
def test_the_journal_records_each_ecm_request(admin, api, client):
    ok(admin("DELETE", "/journal"), 204)
    ok(api("GET", CAMPAIGNS))
    api("POST", CREATE_CAMPAIGN, json={"name": "ab"})
    ok(api("GET", STRATEGIES, headers={SESSION: "s1"}))
    client.get(CAMPAIGNS)  # no token
    ok(api("GET", CONTACTS + "?campaignId=1&page=0&size=2"))
    ok(admin("GET", "/state"))  # control-plane calls are not journaled

    entries = journal(admin)
    rows = [(e["method"], e["path"], e["operationId"], e["status"], e["session"]) for e in entries]
    assert rows == [
        ("GET", CAMPAIGNS, "listCampaigns", 200, None),
        ("POST", CREATE_CAMPAIGN, "createCampaign", 400, None),
        ("GET", STRATEGIES, "listStrategies", 200, "s1"),
        ("GET", CAMPAIGNS, "listCampaigns", 401, None),
        ("GET", CONTACTS, "listCampaignContacts", 200, None),
    ]
    first = entries[0]["seq"]
    assert [e["seq"] for e in entries] == list(range(first, first + 5))
    assert {e["at"] for e in entries} == {iso(START)}
    assert [e["query"] for e in entries] == ["", "", "", "", "campaignId=1&page=0&size=2"]
    assert all(e["fault"] is None for e in entries)
    assert all(isinstance(e["durationMs"], int | float) and e["durationMs"] >= 0 for e in entries)
    assert entries[1]["validationErrors"] == [
        {"location": "body", "pointer": "/body/name", "message": "'ab' is too short"}
    ]
    assert [e["validationErrors"] for e in entries if e is not entries[1]] == [[]] * 4


def test_the_journal_filters_by_operation_method_status_session_and_limit(admin, api, client):
    ok(admin("DELETE", "/journal"), 204)
    ok(api("GET", CAMPAIGNS))
    api("POST", CREATE_CAMPAIGN, json={"name": "ab"})
    ok(api("GET", STRATEGIES, headers={SESSION: "s1"}))
    client.get(CAMPAIGNS)
    ok(api("POST", SAVE_STRATEGY, json={"name": "Extra"}, headers={SESSION: "s1"}))
    everything = journal(admin)
    seq = [e["seq"] for e in everything]
    assert len(seq) == 5

    def seqs(query: str) -> list[int]:
        return [e["seq"] for e in journal(admin, query)]

    assert seqs("operationId=listCampaigns") == [seq[0], seq[3]]
    assert seqs("method=POST") == [seq[1], seq[4]]
    assert seqs("method=DELETE") == []
    assert seqs("status=400") == [seq[1]]
    assert seqs("status=401") == [seq[3]]
    assert seqs("session=s1") == [seq[2], seq[4]]
    assert seqs("limit=2") == seq[-2:]
    assert seqs("limit=100") == seq
    assert seqs("operationId=listCampaigns&status=200") == [seq[0]]
    assert seqs("method=POST&session=s1&limit=1") == [seq[4]]
    assert seqs("operationId=noSuchOperation") == []


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=0", "/query/limit"),
        ("limit=abc", "/query/limit"),
        ("limit=100001", "/query/limit"),
        ("method=FOO", "/query/method"),
        ("status=99", "/query/status"),
        ("status=ok", "/query/status"),
        ("session=a%20b", "/query/session"),
        ("operationId=" + "x" * 101, "/query/operationId"),
    ],
)
def test_bad_journal_filters_are_refused(services, admin, api, query, pointer):
    ok(api("GET", CAMPAIGNS))
    with nothing_changes(services):
        problem(admin("GET", f"/journal?{query}"), 400, pointer, "query")


def test_clearing_the_journal_empties_it_and_numbering_goes_on(admin, api):
    ok(api("GET", CAMPAIGNS))
    last = journal(admin)[-1]["seq"]
    ok(admin("DELETE", "/journal"), 204)
    assert journal(admin) == []
    ok(api("GET", CAMPAIGNS))
    assert [e["seq"] for e in journal(admin)] == [last + 1]


@with_settings(journal_size=50)
def test_the_journal_never_grows_past_its_bound_under_load(services, live_server):
    token = requests.post(live_server + LOGIN, json=ADMIN_USER, timeout=5).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    def hammer(worker: int) -> list[int]:
        with requests.Session() as http:
            return [
                http.get(live_server + CAMPAIGNS, headers=auth, timeout=10).status_code
                for _ in range(100)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for worker in pool.map(hammer, range(8)) for s in worker]
    assert statuses == [200] * 800

    entries = requests.get(live_server + "/__admin/journal", timeout=5).json()
    total = 1 + 800  # the login and the load
    assert len(entries) == 50
    assert len(services.journal) == 50
    assert sorted(e["seq"] for e in entries) == list(range(total - 49, total + 1))
    assert {(e["operationId"], e["status"]) for e in entries} == {("listCampaigns", 200)}


# ---------------------------------------------------------------------------------- clock
def test_read_clock(admin):
    assert ok(admin("GET", "/clock")) == {
        "now": iso(START),
        "epochSeconds": START,
        "frozen": True,
        "speed": 1.0,
    }


def test_freeze_at_a_time_then_advance_and_go_back(admin):
    frozen = ok(admin("PUT", "/clock", json={"frozen": True, "now": JAN5}))
    assert frozen == {"now": JAN5, "epochSeconds": JAN5_EPOCH, "frozen": True, "speed": 1.0}
    later = ok(admin("PUT", "/clock", json={"advanceSeconds": 90}))
    assert later == {
        "now": "2026-01-05T09:01:30Z",
        "epochSeconds": JAN5_EPOCH + 90,
        "frozen": True,
        "speed": 1.0,
    }
    back = ok(admin("PUT", "/clock", json={"advanceSeconds": -30.5}))
    assert back == {
        "now": "2026-01-05T09:00:59Z",
        "epochSeconds": JAN5_EPOCH + 59.5,
        "frozen": True,
        "speed": 1.0,
    }
    assert ok(admin("GET", "/clock")) == back  # frozen: it stands still


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-01-05T11:00:00+02:00", JAN5),
        ("2026-01-05t09:00:00z", JAN5),  # RFC 3339 allows lower case
        ("2026-01-05T09:00:00.250Z", JAN5),
    ],
)
def test_set_clock_reads_any_rfc3339_time(admin, given, expected):
    state = ok(admin("PUT", "/clock", json={"now": given}))
    assert state["now"] == expected
    assert JAN5_EPOCH <= state["epochSeconds"] < JAN5_EPOCH + 1
    assert state["frozen"] is True  # it was frozen, and stays so


def test_unfreeze_lets_the_clock_run_on_from_where_it_stood(admin):
    ok(admin("PUT", "/clock", json={"frozen": True, "now": JAN5}))
    running = ok(admin("PUT", "/clock", json={"frozen": False}))
    assert running["frozen"] is False
    assert JAN5_EPOCH <= running["epochSeconds"] < JAN5_EPOCH + 5
    time.sleep(0.02)
    assert ok(admin("GET", "/clock"))["epochSeconds"] > running["epochSeconds"]

    moved = ok(admin("PUT", "/clock", json={"advanceSeconds": 3600}))
    assert moved["frozen"] is False
    assert JAN5_EPOCH + 3600 <= moved["epochSeconds"] < JAN5_EPOCH + 3605

    reset = ok(admin("PUT", "/clock", json={"now": JAN5}))  # set while running: runs on from it
    assert reset["frozen"] is False
    assert JAN5_EPOCH <= reset["epochSeconds"] < JAN5_EPOCH + 5

    stopped = ok(admin("PUT", "/clock", json={"frozen": True}))
    time.sleep(0.02)
    assert ok(admin("GET", "/clock")) == stopped


def test_timestamps_the_mock_writes_follow_the_clock(admin, api):
    ok(admin("PUT", "/clock", json={"now": JAN5}))
    first = ok(api("POST", CREATE_CAMPAIGN, json={"name": "Autumn2026"}), 201)
    assert (first["createdAt"], first["updatedAt"]) == (JAN5, JAN5)
    ok(admin("PUT", "/clock", json={"advanceSeconds": 3600}))
    second = ok(api("POST", CREATE_CAMPAIGN, json={"name": "Winter2026"}), 201)
    assert (second["createdAt"], second["updatedAt"]) == ("2026-01-05T10:00:00Z",) * 2
    taken = ok(admin("POST", "/snapshots", json={"name": "now"}), 201)
    assert taken["takenAt"] == "2026-01-05T10:00:00Z"
    assert journal(admin, "limit=1")[0]["at"] == "2026-01-05T10:00:00Z"


def test_a_token_expires_when_the_clock_passes_its_lifetime(admin, client):
    login = ok(client.post(LOGIN, json=ADMIN_USER))
    assert login["expires_in"] == 36000
    auth = {"Authorization": f"Bearer {login['token']}"}
    ok(admin("PUT", "/clock", json={"advanceSeconds": 35999}))
    assert client.get(CAMPAIGNS, headers=auth).status_code == 200
    ok(admin("PUT", "/clock", json={"advanceSeconds": 1}))
    body = problem(client.get(CAMPAIGNS, headers=auth), 401, "/header/Authorization", "security")
    assert body["detail"] == "the token has expired"
    ok(admin("PUT", "/clock", json={"advanceSeconds": -1}))  # back in time: valid again
    assert client.get(CAMPAIGNS, headers=auth).status_code == 200


def test_a_token_issued_while_the_clock_is_in_the_future_is_valid(admin, client):
    ok(admin("PUT", "/clock", json={"now": "2099-01-01T00:00:00Z"}))
    token = ok(client.post(LOGIN, json=ADMIN_USER))["token"]
    assert client.get(CAMPAIGNS, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({}, "/body"),
        ({"now": "2026-01-05T09:00:00"}, "/body/now"),  # no zone
        ({"now": "2026-01-05 09:00:00Z"}, "/body/now"),
        ({"now": "soon"}, "/body/now"),
        ({"now": "9999-12-31T23:59:59-01:00"}, "/body/now"),  # past the year 9999
        ({"now": "0001-01-01T00:00:00Z"}, "/body/now"),  # no four-digit year
        ({"frozen": "yes"}, "/body/frozen"),
        ({"advanceSeconds": 1e12}, "/body/advanceSeconds"),
        ({"advanceSeconds": "60"}, "/body/advanceSeconds"),
        ({"pace": 2}, "/body/pace"),
        ({"speed": 0}, "/body/speed"),
        ({"speed": "fast"}, "/body/speed"),
    ],
    ids=[
        "empty",
        "no-zone",
        "space-separator",
        "not-a-time",
        "after-9999",
        "year-1",
        "frozen-string",
        "advance-too-far",
        "advance-string",
        "unknown-property",
        "speed-0",
        "speed-string",
    ],
)
def test_a_bad_clock_change_is_refused_and_changes_nothing(services, admin, change, pointer):
    with nothing_changes(services):
        problem(admin("PUT", "/clock", json=change), 400, pointer, "body")


def test_the_clock_cannot_be_advanced_out_of_the_years_it_can_show(services, admin):
    ok(admin("PUT", "/clock", json={"now": "9999-06-01T00:00:00Z"}))
    with nothing_changes(services):
        problem(
            admin("PUT", "/clock", json={"advanceSeconds": 315360000}),
            400,
            "/body/advanceSeconds",
            "body",
        )
    assert ok(admin("GET", "/clock"))["now"] == "9999-06-01T00:00:00Z"


def test_a_running_clock_stops_at_the_last_moment_it_can_show(admin, client):
    # a million times as fast: the two seconds left pass before the next request
    change = {"now": "9999-12-31T23:59:58Z", "frozen": False, "speed": 1000000}
    ok(admin("PUT", "/clock", json=change))
    login = ok(client.post(LOGIN, json=ADMIN_USER))
    auth = {"Authorization": f"Bearer {login['token']}"}
    assert ok(client.post("/umm/ecm/callStrategy/save", json={"name": "Last"}, headers=auth))
    assert ok(admin("GET", "/clock"))["now"] == "9999-12-31T23:59:59Z"
    ok(admin("GET", "/state"))
    assert ok(admin("GET", "/journal?limit=1"))[0]["at"] == "9999-12-31T23:59:59Z"
    ok(admin("PUT", "/clock", json={"frozen": True}))  # stands where it stopped
    assert ok(admin("GET", "/clock"))["now"] == "9999-12-31T23:59:59Z"


# --------------------------------------------------------------------------------- access
ADMIN_CALLS = [
    ("GET", "/state", None),
    ("POST", "/reset", None),
    ("GET", "/journal", None),
    ("PUT", "/clock", {"advanceSeconds": 10}),
    ("POST", "/faults", {"operationId": "listCampaigns", "status": 503}),
]


@with_settings(admin_token="s3cret")
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=[c[1] for c in ADMIN_CALLS])
def test_the_admin_token_guards_the_control_plane(services, admin, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    with nothing_changes(services):
        for headers in ({}, {"X-Admin-Token": "wrong"}, {"X-Admin-Token": "s3cret "}):
            response = admin(method, path, headers=headers, **kwargs)
            problem(response, 401, "/header/X-Admin-Token", "security")
    response = admin(method, path, headers={"X-Admin-Token": "s3cret"}, **kwargs)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


@with_settings(admin_token="s3cret")
def test_the_admin_token_does_not_touch_ecm_endpoints(api, client):
    assert len(ok(api("GET", CAMPAIGNS))) == 3
    assert client.get(CAMPAIGNS, headers={"X-Admin-Token": "wrong"}).status_code == 401  # bearer
    assert add_strategy(api, "Extra")["id"] == 4


@with_settings(admin=False)
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=[c[1] for c in ADMIN_CALLS])
def test_without_the_control_plane_admin_paths_are_404(services, admin, api, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    with nothing_changes(services):
        response = admin(method, path, **kwargs)
        assert response.status_code == 404
        assert response.mimetype == PROBLEM
        assert response.json["detail"] == f"no operation at /__admin{path}"
    assert len(ok(api("GET", CAMPAIGNS))) == 3


def test_set_clock_reads_times_itself_too():
    """The handler's own checks, for when the spec's date-time format lets a value through."""
    assert admin_handlers._instant("2026-01-05T09:00:00z") == JAN5_EPOCH
    for text in ("2026-01-05T09:00:00", "next tuesday"):
        with pytest.raises(ApiError) as caught:
            admin_handlers._instant(text)
        assert (caught.value.status, caught.value.errors[0].pointer) == (400, "/body/now")


def test_reset_with_startup_undoes_loaded_fixtures(client, store):
    original = store.dump()
    document = read_fixtures()
    document["campaigns"] = document["campaigns"][:1]
    document["contacts"] = [c for c in document["contacts"] if c["campaignId"] == 1]
    assert client.put("/__admin/fixtures", json=document).status_code == 200
    assert client.post("/__admin/reset").json["counts"]["campaigns"] == 1  # the loaded document
    answer = client.post("/__admin/reset?startup=true")
    assert answer.status_code == 200
    assert answer.json["counts"]["campaigns"] == 3
    assert store.dump()["campaigns"] == original["campaigns"]
