"""The campaign runtime (issue 14): feeder, dialer and retries on the mock's clock.

Every rule is driven through HTTP on a frozen clock: the test clock says Monday
2026-09-21T14:13:20Z; feed cycles run at whole minutes (the first at 14:14:00) and a handed
contact's attempt is made 30 s later (14:14:30).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ecm_mock import FixedClock, Settings, create_app, read_fixtures, runtime
from ecm_mock.clock import ControlledClock
from ecm_mock.engine import Engine
from ecm_mock.fixtures import FixtureError

from .conftest import START

PROBLEM = "application/problem+json"
SESSION = "X-Mock-Session"
STATUS = "/umm/ecm/campaign/status"
CREATE_CAMPAIGN = "/umm/ecm/campaign/createCampaign"
UPDATE_CAMPAIGN = "/umm/ecm/campaign/update"
DELETE_CAMPAIGN = "/umm/ecm/campaign/delete"
SAVE_STRATEGY = "/umm/ecm/callStrategy/save"
SAVE_ATTEMPT = "/umm/ecm/callStrategyAttempt/save"
UPDATE_ATTEMPT = "/umm/ecm/callStrategyAttempt/update"
SAVE_CONTACT = "/umm/ecm/campaignContact/save"
BULK_CONTACTS = "/umm/ecm/campaignContact/bulkUpload"
CONTACTS = "/umm/ecm/campaignContact/list"
DNC_SAVE = "/umm/ecm/dnc/save"
PREFERENCES = "/umm/ecm/preferenceSettings/save"
EVERY_DAY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
HOUR, DAY = 3600, 86400
TO_FIRST_FEED = 40  # 14:13:20 -> 14:14:00
TO_FIRST_CALL = 70  # 14:13:20 -> 14:14:30


@pytest.fixture
def settings() -> Settings:
    return Settings(token_ttl=100 * DAY)  # tokens outlive the days the tests advance


# ------------------------------------------------------------------------------- helpers
@pytest.fixture
def admin(client):
    """``admin("PUT", "/clock", json=...)``: a control-plane call (``session=`` optional)."""

    def call(method: str, path: str, session: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if session is not None:
            headers[SESSION] = session
        return client.open("/__admin" + path, method=method, headers=headers, **kwargs)

    return call


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def problem(response, status: int, pointer: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert pointer in [e["pointer"] for e in body["errors"]], body
    return body


def advance(admin, seconds: float, session: str | None = None) -> None:
    ok(admin("PUT", "/clock", json={"advanceSeconds": seconds}, session=session))


def calls(admin, session: str | None = None, **filters: Any) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return ok(admin("GET", "/runtime/calls" + (f"?{query}" if query else ""), session=session))


def strategy(api, name: str, *attempts: dict[str, Any]) -> int:
    strategy_id = ok(api("POST", SAVE_STRATEGY, json={"name": name}))["id"]
    for number, attempt in enumerate(attempts, start=1):
        body = {"name": f"a{number}", "phone": "1", "channel": 0, "retryMap": [], **attempt}
        ok(api("POST", SAVE_ATTEMPT, json={"csId": strategy_id, "attemptNumber": number, **body}))
    return strategy_id


def campaign(api, name: str, strategy_id: int, **fields: Any) -> int:
    body = {
        "name": name,
        "campaignType": "AGENT",
        "ciscoCampaignId": 5001,
        "strategyId": strategy_id,
        "startTime": "00:00",
        "endTime": "23:59",
        "daysOfWeek": EVERY_DAY,
        **fields,
    }
    if body["campaignType"] == "NONE":
        body.pop("ciscoCampaignId")
    return ok(api("POST", CREATE_CAMPAIGN, json=body), 201)["id"]


def contact(api, campaign_id: int, phone01: str, **fields: Any) -> int:
    body = {"campaignId": campaign_id, "phone01": phone01, **fields}
    return ok(api("POST", SAVE_CONTACT, json=body))["id"]


def set_status(api, campaign_id: int, status: str) -> None:
    ok(api("PUT", STATUS, json={"id": campaign_id, "status": status}))


def contacts_of(api, campaign_id: int, query: str = "") -> list[dict[str, Any]]:
    page = ok(api("GET", f"{CONTACTS}?campaignId={campaign_id}&size=1000{query}"))
    return page["content"]


def the_contact(api, campaign_id: int, contact_id: int) -> dict[str, Any]:
    return next(c for c in contacts_of(api, campaign_id) if c["id"] == contact_id)


def add_rule(admin, session: str | None = None, **rule: Any) -> dict[str, Any]:
    return ok(admin("POST", "/runtime/rules", json=rule, session=session), 201)


def at(offset: float) -> str:
    """The ISO time ``offset`` seconds after the test clock's start."""
    from ecm_mock.clock import iso

    return iso(START + offset)


VOICE_THEN_PHONE2 = (
    {"phone": "1", "retryMap": [{"call_result": 1, "attempt_number": 2, "delay": 10}]},
    {"phone": "2"},
)


# ------------------------------------------------------------------------ default data
def test_nothing_moves_until_a_client_activates_a_campaign(api, admin, store):
    before = store.dump()
    advance(admin, 7 * DAY)
    assert calls(admin) == []
    after = store.dump()
    assert after["contacts"] == before["contacts"]
    assert {c["status"] for c in after["campaigns"]} == {"PAUSED"}


def test_a_loaded_contact_with_attempts_made_goes_on_at_the_next_attempt(api, admin):
    # fixture contact 2 (campaign 1): IN_PROGRESS after one attempt; strategy 2's attempt 2
    # dials phone02. Contact 1 is in Asia/Karachi: its calling hours open at 04:00 UTC.
    add_rule(admin, pattern="+9230011100*", result="CONNECTED")
    set_status(api, 1, "ACTIVE")
    advance(admin, TO_FIRST_CALL)
    (first,) = calls(admin)
    assert (first["contactId"], first["attemptNumber"], first["phoneField"]) == (2, 2, "phone02")
    assert first["number"] == "+923001110012"
    assert the_contact(api, 1, 2)["attemptsMade"] == 2
    assert the_contact(api, 1, 1)["status"] == "PENDING"  # 19:14 in Karachi: closed hours


# --------------------------------------------------------------------------- lifecycle
def test_a_contact_goes_pending_in_progress_closed_and_the_retry_map_is_followed(api, admin):
    strategy_id = strategy(api, "Busy then phone 2", *VOICE_THEN_PHONE2)
    campaign_id = campaign(api, "Retries", strategy_id)
    contact_id = contact(api, campaign_id, "+923001230001", phone02="+923001230002")
    add_rule(admin, number="+923001230001", result="BUSY")
    add_rule(admin, number="+923001230002", result="CONNECTED")
    set_status(api, campaign_id, "ACTIVE")

    advance(admin, TO_FIRST_FEED)  # fed: with the dialer, no call made yet
    fed = the_contact(api, campaign_id, contact_id)
    assert (fed["status"], fed["attemptsMade"]) == ("IN_PROGRESS", 0)
    assert calls(admin) == []

    advance(admin, 30)  # busy: the map says attempt 2 in 10 minutes
    busy = the_contact(api, campaign_id, contact_id)
    assert busy["status"] == "PENDING"
    assert (busy["attemptsMade"], busy["lastCallResult"]) == (1, 1)
    assert busy["nextAttemptAt"] == at(TO_FIRST_CALL + 600)

    advance(admin, DAY)
    done = the_contact(api, campaign_id, contact_id)
    assert (done["status"], done["attemptsMade"], done["lastCallResult"]) == ("CLOSED", 2, 0)
    assert "nextAttemptAt" not in done
    log = calls(admin)
    assert [(c["attemptNumber"], c["phoneField"], c["result"]) for c in log] == [
        (1, "phone01", "BUSY"),
        (2, "phone02", "CONNECTED"),
    ]
    assert log[0]["at"] == at(TO_FIRST_CALL)
    assert log[1]["at"] == at(TO_FIRST_CALL + 600 + 60)  # due 14:24:30, fed 14:25, made 14:25:30
    assert log[1]["resultCode"] == 0 and log[1]["channel"] == 0


def test_a_result_the_retry_map_does_not_name_closes_the_contact(api, admin):
    strategy_id = strategy(api, "Busy only", *VOICE_THEN_PHONE2)
    campaign_id = campaign(api, "NoAnswerCloses", strategy_id)
    contact_id = contact(api, campaign_id, "+923001230011")
    add_rule(admin, number="+923001230011", result="NO_ANSWER")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    closed = the_contact(api, campaign_id, contact_id)
    assert (closed["status"], closed["attemptsMade"], closed["lastCallResult"]) == ("CLOSED", 1, 2)
    assert len(calls(admin)) == 1


def test_a_closed_contact_is_never_called_again_and_can_be_uploaded_again(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Once", strategy_id)
    first = contact(api, campaign_id, "+923001230021")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    assert the_contact(api, campaign_id, first)["status"] == "CLOSED"
    advance(admin, 7 * DAY)
    assert len(calls(admin, contactId=first)) == 1

    again = contact(api, campaign_id, "+923001230021")  # the vendor: "must be uploaded again"
    assert again != first
    advance(admin, DAY)
    assert len(calls(admin, contactId=first)) == 1
    assert len(calls(admin, contactId=again)) == 1


# -------------------------------------------------------------------------- the feeder
def test_the_feeder_hands_over_a_batch_per_cycle(api, admin):
    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 2, "ivrBatchSize": 3}))
    strategy_id = strategy(api, "One call", {"phone": "1"})
    agent = campaign(api, "Batches", strategy_id)
    ivr = campaign(api, "IvrBatches", strategy_id, campaignType="IVR", ciscoCampaignId=5003)
    for i in range(5):
        contact(api, agent, f"+92300123010{i}")
        contact(api, ivr, f"+92300123020{i}")
    set_status(api, agent, "ACTIVE")
    set_status(api, ivr, "ACTIVE")
    advance(admin, TO_FIRST_FEED)
    assert [c["status"] for c in contacts_of(api, agent)].count("IN_PROGRESS") == 2
    assert [c["status"] for c in contacts_of(api, ivr)].count("IN_PROGRESS") == 3
    advance(admin, 60)
    assert [c["status"] for c in contacts_of(api, agent)].count("PENDING") == 1
    first_two = calls(admin, campaignId=agent)
    assert [c["contactId"] for c in first_two] == sorted(c["contactId"] for c in first_two)


def test_the_batch_is_10_when_no_preferences_are_saved(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "DefaultBatch", strategy_id)
    ok(
        api(
            "POST",
            BULK_CONTACTS,
            json={
                "campaignId": campaign_id,
                "contacts": [{"phone01": f"+9230012303{i:02d}"} for i in range(25)],
            },
        )
    )
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_FEED)
    assert len(contacts_of(api, campaign_id, "&status=IN_PROGRESS")) == 10


def test_calling_hours_and_days_are_the_contacts_time_zone_else_the_deployments(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(
        api, "OfficeHours", strategy_id, startTime="09:00", endTime="17:00", daysOfWeek=["TUESDAY"]
    )
    karachi = contact(api, campaign_id, "+923001230401", timeZone="Asia/Karachi")  # UTC+5
    new_york = contact(api, campaign_id, "+12125550402", timeZone="America/New_York")  # UTC-4
    nowhere = contact(api, campaign_id, "+442071230403")  # the deployment's: UTC
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, 7 * DAY)  # Monday 14:13 UTC to the next Monday
    made = {c["contactId"]: c["at"] for c in calls(admin)}
    # Tuesday 2026-09-22, 09:00 local; the call 30 s after the feed
    assert made == {
        karachi: "2026-09-22T04:00:30Z",
        nowhere: "2026-09-22T09:00:30Z",
        new_york: "2026-09-22T13:00:30Z",
    }


def test_the_deployments_time_zone_is_a_setting_of_the_model(api, admin):
    ok(admin("PUT", "/runtime/model", json={"timeZone": "Asia/Karachi"}))
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "KarachiHours", strategy_id, startTime="09:00", endTime="17:00")
    contact(api, campaign_id, "+923001230501")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    assert [c["at"] for c in calls(admin)] == ["2026-09-22T04:00:30Z"]


def test_pausing_stops_feeding_but_what_was_handed_over_is_dialed(api, admin):
    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 2}))
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "PausedMidway", strategy_id)
    for i in range(5):
        contact(api, campaign_id, f"+92300123060{i}")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_FEED)
    set_status(api, campaign_id, "PAUSED")
    advance(admin, DAY)
    assert len(calls(admin)) == 2  # the two handed over
    statuses = [c["status"] for c in contacts_of(api, campaign_id)]
    assert statuses == ["CLOSED", "CLOSED", "PENDING", "PENDING", "PENDING"]

    set_status(api, campaign_id, "ACTIVE")  # resumed: the rest are fed
    advance(admin, DAY)
    assert len(calls(admin)) == 5


def test_deleting_a_campaign_stops_its_calls(api, admin):
    strategy_id = strategy(api, "Busy forever", {"phone": "1"})
    campaign_id = campaign(api, "Deleted", strategy_id)
    for i in range(3):
        contact(api, campaign_id, f"+92300123070{i}")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_FEED)  # handed over, not dialed yet
    ok(api("DELETE", f"{DELETE_CAMPAIGN}?id={campaign_id}"))
    advance(admin, DAY)
    assert calls(admin) == []
    assert ok(admin("GET", "/state"))["runtime"]["inDialer"] == 0


# -------------------------------------------------------------------------- the dialer
def test_numbers_on_the_dnc_list_are_never_called(api, admin):
    strategy_id = strategy(
        api,
        "Phone 1 then 3",
        {"phone": "1", "retryMap": [{"call_result": 1, "attempt_number": 2, "delay": 1}]},
        {"phone": "3"},
    )
    campaign_id = campaign(api, "DncCampaign", strategy_id)
    blocked = "+923001230801"
    contact_id = contact(api, campaign_id, blocked, phone03="+923001230803")
    ok(api("POST", DNC_SAVE, json={"primaryNumber": blocked}))  # after the upload
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    log = calls(admin)
    first = log[0]
    assert (first["attemptNumber"], first["result"], first["skipReason"]) == (1, "SKIPPED", "DNC")
    assert all(c["number"] != blocked for c in log if c["result"] != "SKIPPED")
    assert log[1]["number"] == "+923001230803"  # the next attempt, at once
    assert log[1]["at"] == log[0]["at"]
    assert the_contact(api, campaign_id, contact_id)["attemptsMade"] == 1


def test_an_attempt_left_without_a_number_closes_the_contact(api, admin):
    ok(admin("PUT", "/runtime/model", json={"emptyPhone": "skip"}))
    strategy_id = strategy(api, "Phone 2 only", {"phone": "2"})
    campaign_id = campaign(api, "NoPhone2", strategy_id)
    contact_id = contact(api, campaign_id, "+923001230901")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    (skipped,) = calls(admin)
    assert (skipped["result"], skipped["skipReason"], skipped["number"]) == (
        "SKIPPED",
        "NO_NUMBER",
        None,
    )
    closed = the_contact(api, campaign_id, contact_id)
    assert (closed["status"], closed["attemptsMade"]) == ("CLOSED", 0)


def test_an_empty_phone_field_falls_back_to_phone01_by_default(api, admin):
    strategy_id = strategy(api, "Phone 2 only", {"phone": "2"})
    campaign_id = campaign(api, "Phone2to1", strategy_id)
    contact(api, campaign_id, "+923001231001")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    (made,) = calls(admin)
    assert (made["phoneField"], made["number"]) == ("phone01", "+923001231001")


def test_a_none_campaign_never_places_a_voice_call(api, admin):
    strategy_id = strategy(
        api, "Call then text", {"phone": "1", "channel": 0}, {"phone": "1", "channel": 1}
    )
    campaign_id = campaign(api, "SmsOnly", strategy_id, campaignType="NONE")
    contact(api, campaign_id, "+923001231101")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    log = calls(admin)
    assert [(c["channel"], c["result"], c["skipReason"]) for c in log] == [
        (0, "SKIPPED", "VOICE_IN_SMS_CAMPAIGN"),
        (1, "SMS_SENT", None),
    ]


def test_an_sms_attempts_no_response_is_its_timeout(api, admin):
    strategy_id = strategy(
        api,
        "SMS then call",
        {"channel": 1, "retryMap": [{"sms_response_timeout": 30, "attempt_number": 2}]},
        {"channel": 0},
    )
    campaign_id = campaign(api, "SmsTimeout", strategy_id)
    contact_id = contact(api, campaign_id, "+923001231201")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_CALL)
    waiting = the_contact(api, campaign_id, contact_id)
    assert (waiting["status"], waiting["attemptsMade"]) == ("PENDING", 1)
    assert "lastCallResult" not in waiting  # an SMS has no call result
    assert waiting["nextAttemptAt"] == at(TO_FIRST_CALL + 30 * 60)
    advance(admin, DAY)
    log = calls(admin)
    assert [(c["channel"], c["at"]) for c in log] == [
        (1, at(TO_FIRST_CALL)),
        (0, at(TO_FIRST_CALL + 30 * 60 + 60)),
    ]


def test_an_sms_attempt_without_a_next_attempt_closes_the_contact(api, admin):
    strategy_id = strategy(api, "One SMS", {"channel": 1})
    campaign_id = campaign(api, "SmsOnce", strategy_id)
    contact_id = contact(api, campaign_id, "+923001231301")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_CALL)
    assert the_contact(api, campaign_id, contact_id)["status"] == "CLOSED"


def test_an_attempt_changed_mid_campaign_applies_from_the_next_attempt(api, admin):
    strategy_id = strategy(api, "Changed midway", *VOICE_THEN_PHONE2)
    campaign_id = campaign(api, "Midway", strategy_id)
    contact(api, campaign_id, "+923001231401", phone02="+923001231402", phone03="+923001231403")
    add_rule(admin, number="+923001231401", result="BUSY")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_CALL)  # attempt 1 made: busy, attempt 2 due in 10 minutes
    second = next(
        a
        for a in ok(api("GET", f"/umm/ecm/callStrategyAttempt/list?csId={strategy_id}"))
        if a["attemptNumber"] == 2
    )
    ok(api("PUT", UPDATE_ATTEMPT, json={"id": second["id"], "phone": "3", "channel": 1}))
    advance(admin, DAY)
    made = calls(admin)[-1]
    assert (made["phoneField"], made["channel"], made["result"]) == ("phone03", 1, "SMS_SENT")


def test_a_strategy_changed_while_paused_applies_from_the_next_attempt(api, admin):
    first = strategy(api, "First", *VOICE_THEN_PHONE2)
    other = strategy(api, "Other", {"phone": "1"}, {"phone": "3", "channel": 1})
    campaign_id = campaign(api, "Switched", first)
    contact(api, campaign_id, "+923001231501", phone02="+923001231502", phone03="+923001231503")
    add_rule(admin, number="+923001231501", result="BUSY")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_CALL)
    set_status(api, campaign_id, "PAUSED")
    ok(api("PUT", UPDATE_CAMPAIGN, json={"id": campaign_id, "strategyId": other}))
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    made = calls(admin)[-1]
    assert (made["attemptNumber"], made["phoneField"], made["channel"]) == (2, "phone03", 1)


def test_a_retry_map_entry_to_a_missing_attempt_goes_to_the_next_by_number(api, admin):
    strategy_id = strategy(
        api,
        "Gap",
        {"phone": "1", "retryMap": [{"call_result": 1, "attempt_number": 3, "delay": 0}]},
        {"phone": "2"},
    )
    campaign_id = campaign(api, "GapCampaign", strategy_id)
    contact_id = contact(api, campaign_id, "+923001231601")
    add_rule(admin, number="+923001231601", result="BUSY")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    assert len(calls(admin)) == 1  # no attempt 3, none after it: closed
    assert the_contact(api, campaign_id, contact_id)["status"] == "CLOSED"


# ---------------------------------------------------------------------- outcome model
def test_a_campaigns_distribution_sets_its_results(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "AllBusy", strategy_id)
    for i in range(20):
        contact(api, campaign_id, f"+9230012317{i:02d}")
    change = {"campaignDistributions": {str(campaign_id): {"BUSY": 1}}}
    model = ok(admin("PUT", "/runtime/model", json=change))
    assert model["campaignDistributions"][str(campaign_id)]["BUSY"] == 1
    assert model["campaignDistributions"][str(campaign_id)]["CONNECTED"] == 0
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    assert {c["result"] for c in calls(admin)} == {"BUSY"}
    assert len(calls(admin, result="BUSY", campaignId=campaign_id)) == 20


def test_the_default_distribution_gives_every_result(api, admin):
    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 1000}))
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Spread", strategy_id)
    rows = [{"phone01": f"+9230012318{i:02d}"} for i in range(100)]
    ok(api("POST", BULK_CONTACTS, json={"campaignId": campaign_id, "contacts": rows}))
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, HOUR)
    results = [c["result"] for c in calls(admin)]
    assert len(results) == 100
    assert set(results) == {
        "CONNECTED",
        "BUSY",
        "NO_ANSWER",
        "CUSTOMER_ABANDONED",
        "DIALER_ABANDONED",
        "OTHERS_NOT_CONNECTED",
    }


def test_outcome_rules_force_results_by_number_pattern_or_regex(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Ruled", strategy_id)
    other_id = campaign(api, "Unruled", strategy_id)
    contact(api, campaign_id, "+923001231901")
    contact(api, campaign_id, "+923451231902")
    contact(api, campaign_id, "+12125551903")
    contact(api, other_id, "+12125551904")
    rules = [
        add_rule(admin, pattern="+92300*", result="BUSY"),
        add_rule(admin, regex=r"\+9234[0-9]+", result="DIALER_ABANDONED"),
        add_rule(admin, number="+12125551904", result="CUSTOMER_ABANDONED", campaignId=other_id),
        add_rule(admin, regex=r"\+1.*", result="NO_ANSWER", times=1),
    ]
    assert [r["id"] for r in rules] == [1, 2, 3, 4]
    assert rules[3] == {
        "id": 4,
        "regex": r"\+1.*",
        "result": "NO_ANSWER",
        "times": 1,
        "hits": 0,
        "remaining": 1,
    }
    set_status(api, campaign_id, "ACTIVE")
    set_status(api, other_id, "ACTIVE")
    advance(admin, DAY)
    by_number = {c["number"]: c["result"] for c in calls(admin)}
    assert by_number == {
        "+923001231901": "BUSY",
        "+923451231902": "DIALER_ABANDONED",
        "+12125551903": "NO_ANSWER",
        "+12125551904": "CUSTOMER_ABANDONED",
    }
    listed = ok(admin("GET", "/runtime/rules"))
    assert [(r["id"], r["hits"]) for r in listed] == [(1, 1), (2, 1), (3, 1)]  # 4 used up
    ok(admin("DELETE", "/runtime/rules/2"), 204)
    problem(admin("DELETE", "/runtime/rules/2"), 404, "/path/id")
    ok(admin("DELETE", "/runtime/rules"), 204)
    assert ok(admin("GET", "/runtime/rules")) == []


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({"result": "BUSY"}, "/body/number"),
        ({"number": "+1", "pattern": "+1*", "result": "BUSY"}, "/body/number"),
        ({"regex": "(", "result": "BUSY"}, "/body/regex"),
        ({"regex": r"(\d)\1", "result": "BUSY"}, "/body/regex"),  # RE2: no backreferences
        ({"number": "+1", "result": "ENGAGED"}, "/body/result"),
        ({"number": "+1", "result": "BUSY", "times": 0}, "/body/times"),
        ({"number": "+1", "result": "BUSY", "colour": "red"}, "/body/colour"),
    ],
    ids=[
        "no-match",
        "two-matches",
        "bad-regex",
        "backreference",
        "unknown-result",
        "times-0",
        "unknown-field",
    ],
)
def test_a_bad_outcome_rule_is_refused_and_changes_nothing(admin, store, rule, pointer):
    before = store.dump()
    problem(admin("POST", "/runtime/rules", json=rule), 400, pointer)
    assert store.dump() == before
    assert ok(admin("GET", "/runtime/rules")) == []


def test_a_regex_that_backtracks_badly_in_python_is_matched_at_once():
    # Python's re takes 2**n steps here (minutes for 28 digits); RE2 takes linear time
    for regex in (r"(\d+)+x", r"(\d|\d)+x", r"(\+?\d*)*x"):
        assert not runtime._matcher("regex", regex)("9" * 28)
    assert runtime._matcher("regex", r"\+9230[0-9]{8}")("+923001234567")


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({}, "/body"),
        ({"timeZone": "Mars/Olympus"}, "/body/timeZone"),
        ({"feederIntervalSeconds": 0}, "/body/feederIntervalSeconds"),
        ({"emptyPhone": "phone02"}, "/body/emptyPhone"),
        ({"defaultDistribution": {"BUSY": 0}}, "/body/defaultDistribution"),
        ({"defaultDistribution": {"BUSY": -1}}, "/body/defaultDistribution/BUSY"),
        ({"campaignDistributions": {"1": {}}}, "/body/campaignDistributions/1"),
        ({"campaignDistributions": {"x": {"BUSY": 1}}}, "/body/campaignDistributions"),
        ({"callSeconds": "30"}, "/body/callSeconds"),
    ],
    ids=[
        "empty",
        "unknown-zone",
        "interval-0",
        "empty-phone",
        "all-zero",
        "negative",
        "empty-campaign-distribution",
        "not-a-campaign-id",
        "string",
    ],
)
def test_a_bad_model_change_is_refused_and_changes_nothing(admin, change, pointer):
    before = ok(admin("GET", "/runtime/model"))
    problem(admin("PUT", "/runtime/model", json=change), 400, pointer)
    assert ok(admin("GET", "/runtime/model")) == before


def test_the_simulation_can_be_switched_off_and_on(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "OffAndOn", strategy_id)
    contact_id = contact(api, campaign_id, "+923001232001")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_FEED)  # handed over
    assert ok(admin("PUT", "/runtime/model", json={"enabled": False}))["enabled"] is False
    advance(admin, DAY)
    assert calls(admin) == []
    assert the_contact(api, campaign_id, contact_id)["status"] == "IN_PROGRESS"
    ok(admin("PUT", "/runtime/model", json={"enabled": True}))
    advance(admin, 1)  # what fell due while it was off happens at once
    (made,) = calls(admin)
    assert made["at"] == at(TO_FIRST_FEED + DAY)


def test_the_feeder_interval_is_a_setting_of_the_model(api, admin):
    ok(admin("PUT", "/runtime/model", json={"feederIntervalSeconds": 3600, "callSeconds": 5}))
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Hourly", strategy_id)
    contact(api, campaign_id, "+923001232101")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    assert [c["at"] for c in calls(admin)] == ["2026-09-21T15:00:05Z"]


# -------------------------------------------------------------------------- call log
def _callers(app):
    """``api`` (logged in) and ``admin`` request functions on a test client of ``app``, in
    the shape of the ``api`` and ``admin`` fixtures."""
    test_client = app.test_client()
    token = test_client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}

    def api(method, path, **kwargs):
        return test_client.open(path, method=method, headers=headers, **kwargs)

    def admin(method, path, session=None, **kwargs):
        return test_client.open("/__admin" + path, method=method, **kwargs)

    return api, admin


def test_the_call_log_filters_and_is_bounded(client, clock):
    app = create_app(Settings(token_ttl=100 * DAY, call_log_size=3), clock=clock)
    api, admin = _callers(app)

    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Logged", strategy_id)
    ids = [contact(api, campaign_id, f"+9230012322{i:02d}") for i in range(5)]
    add_rule(admin, pattern="*", result="NO_ANSWER")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, DAY)
    kept = calls(admin)
    assert [c["contactId"] for c in kept] == ids[2:]  # the newest three
    assert [c["seq"] for c in kept] == [3, 4, 5]
    assert [c["contactId"] for c in calls(admin, limit=1)] == ids[4:]
    assert calls(admin, contactId=ids[3])[0]["seq"] == 4
    assert calls(admin, result="BUSY") == []
    assert len(calls(admin, channel=0, since=at(TO_FIRST_CALL))) == 3
    assert calls(admin, since="2026-09-22T00:00:00Z") == []
    assert ok(admin("GET", "/state"))["runtime"]["calls"] == 5
    problem(admin("GET", "/runtime/calls?since=soon"), 400, "/query/since")
    problem(admin("GET", "/runtime/calls?result=ENGAGED"), 400, "/query/result")
    ok(admin("DELETE", "/runtime/calls"), 204)
    assert calls(admin) == []


# ----------------------------------------------------------------- what the API shows
def test_the_contact_list_filters_a_dashboard_needs(api, admin):
    strategy_id = strategy(api, "Busy then phone 2", *VOICE_THEN_PHONE2)
    campaign_id = campaign(api, "Dashboard", strategy_id)
    busy = contact(api, campaign_id, "+923001232301")
    answered = contact(api, campaign_id, "+923001232302")
    add_rule(admin, number="+923001232301", result="BUSY")
    add_rule(admin, number="+923001232302", result="CONNECTED")
    set_status(api, campaign_id, "ACTIVE")
    advance(admin, TO_FIRST_CALL)

    def ids(query: str) -> list[int]:
        return [c["id"] for c in contacts_of(api, campaign_id, query)]

    assert ids("&lastCallResult=1") == [busy]
    assert ids("&lastCallResult=0") == [answered]
    assert ids("&attemptsMade=1") == [busy, answered]
    assert ids("&attemptsMade=0") == []
    assert ids("&status=PENDING&lastCallResult=1") == [busy]
    assert ids(f"&nextAttemptBefore={at(TO_FIRST_CALL + 601)}") == [busy]
    assert ids(f"&nextAttemptBefore={at(TO_FIRST_CALL + 600)}") == []
    for query, pointer in (
        ("&lastCallResult=6", "/query/lastCallResult"),
        ("&attemptsMade=-1", "/query/attemptsMade"),
        ("&nextAttemptBefore=tomorrow", "/query/nextAttemptBefore"),
    ):
        problem(api("GET", f"{CONTACTS}?campaignId={campaign_id}{query}"), 400, pointer)


# -------------------------------------------------------------- sessions and snapshots
def test_each_session_has_its_own_runtime(api, admin):
    session = {"headers": {SESSION: "team-a"}}
    strategy_id = ok(api("POST", SAVE_STRATEGY, json={"name": "S"}, **session))["id"]
    ok(
        api(
            "POST",
            SAVE_ATTEMPT,
            json={"csId": strategy_id, "name": "a", "phone": "1", "channel": 0},
            **session,
        )
    )
    created = api(
        "POST",
        CREATE_CAMPAIGN,
        json={
            "name": "SessionCampaign",
            "campaignType": "NONE",
            "strategyId": strategy_id,
            "startTime": "00:00",
            "endTime": "23:59",
            "daysOfWeek": EVERY_DAY,
        },
        **session,
    )
    campaign_id = ok(created, 201)["id"]
    ok(
        api(
            "POST",
            SAVE_CONTACT,
            json={"campaignId": campaign_id, "phone01": "+923001232401"},
            **session,
        )
    )
    ok(admin("PUT", "/runtime/model", json={"emptyPhone": "skip"}, session="team-a"))
    ok(api("PUT", STATUS, json={"id": campaign_id, "status": "ACTIVE"}, **session))
    advance(admin, DAY)  # one clock: every session's runtime moves
    assert [c["result"] for c in calls(admin, session="team-a")] == ["SKIPPED"]
    assert calls(admin) == []
    assert ok(admin("GET", "/runtime/model"))["emptyPhone"] == "phone01"


def test_snapshots_and_resets_include_the_runtime(api, admin):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Snapshotted", strategy_id)
    contact_id = contact(api, campaign_id, "+923001232501")
    set_status(api, campaign_id, "ACTIVE")
    add_rule(admin, pattern="*", result="CONNECTED")
    advance(admin, TO_FIRST_FEED)
    ok(admin("POST", "/snapshots", json={"name": "handed"}), 201)
    advance(admin, 60)
    assert len(calls(admin)) == 1
    ok(admin("POST", "/snapshots/handed/restore"))
    assert calls(admin) == []
    assert the_contact(api, campaign_id, contact_id)["status"] == "IN_PROGRESS"
    advance(admin, 1)  # the restored runtime catches up with the clock
    assert [c["contactId"] for c in calls(admin)] == [contact_id]

    ok(admin("PUT", "/runtime/model", json={"seed": 9}))
    ok(admin("POST", "/reset"))
    assert calls(admin) == []
    assert ok(admin("GET", "/runtime/rules")) == []
    assert ok(admin("GET", "/runtime/model"))["seed"] == 0


def test_fixtures_carry_the_outcome_model_and_rules(admin, api):
    document = read_fixtures()
    document["runtime"] = {
        "model": {"feederIntervalSeconds": 120, "defaultDistribution": {"NO_ANSWER": 1}},
        "rules": [{"pattern": "+44*", "result": "BUSY"}],
    }
    ok(admin("PUT", "/fixtures", json=document))
    model = ok(admin("GET", "/runtime/model"))
    assert model["feederIntervalSeconds"] == 120
    assert model["defaultDistribution"]["NO_ANSWER"] == 1
    assert [r["pattern"] for r in ok(admin("GET", "/runtime/rules"))] == ["+44*"]
    ok(admin("POST", "/runtime/rules", json={"number": "+1", "result": "BUSY"}), 201)
    ok(admin("POST", "/reset"))  # back to the document's rules
    assert [r["pattern"] for r in ok(admin("GET", "/runtime/rules"))] == ["+44*"]


@pytest.mark.parametrize(
    ("runtime", "pointer"),
    [
        ({"model": {"speed": 2}}, "/body/runtime/model/speed"),
        ({"rules": [{"regex": "[", "result": "BUSY"}]}, "/body"),
        ({"model": {"timeZone": "Nowhere/Land"}}, "/body"),
    ],
    ids=["unknown-field", "bad-regex", "unknown-zone"],
)
def test_a_bad_runtime_fixture_is_refused(admin, store, runtime, pointer):
    document = read_fixtures()
    document["runtime"] = runtime
    before = store.dump()
    body = problem(admin("PUT", "/fixtures", json=document), 400, pointer)
    assert "runtime" in body["detail"]
    assert store.dump() == before


def test_a_fixtures_directory_with_a_bad_runtime_yaml_stops_the_start(tmp_path):
    import shutil

    from .conftest import ROOT

    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / "fixtures" / "runtime.yaml").write_text("rules:\n  - {result: BUSY}\n")
    with pytest.raises(FixtureError, match=r"runtime: record 0 does not match RuntimeFixture"):
        create_app(Settings(fixtures=tmp_path / "fixtures"))
    (tmp_path / "fixtures" / "runtime.yaml").write_text("model: {emptyPhone: skip}\n")
    app = create_app(Settings(fixtures=tmp_path / "fixtures"))
    assert app.test_client().get("/__admin/runtime/model").json["emptyPhone"] == "skip"


# ----------------------------------------------------------------------- determinism
def _run(seed: int) -> tuple[bytes, bytes, bytes]:
    """One scripted run on a fresh app: the call log, a contact list and the state dump."""
    app = create_app(Settings(seed=seed, token_ttl=100 * DAY), clock=FixedClock(START))
    api, admin = _callers(app)

    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 25}))
    strategy_id = strategy(
        api,
        "Every result",
        {
            "phone": "1",
            "retryMap": [
                {"call_result": 1, "attempt_number": 2, "delay": 5},
                {"call_result": 2, "attempt_number": 3, "delay": 60},
                {"call_result": 5, "attempt_number": 2, "delay": 1},
            ],
        },
        {"phone": "2", "retryMap": [{"call_result": 2, "attempt_number": 3, "delay": 30}]},
        {"phone": "1", "channel": 1},
    )
    campaign_id = campaign(api, "Deterministic", strategy_id, startTime="08:00", endTime="20:00")
    zones = ["Asia/Karachi", "Europe/London", "America/New_York", None]
    rows = [
        {"phone01": f"+1555000{i:04d}", **({"timeZone": zones[i % 4]} if zones[i % 4] else {})}
        for i in range(300)
    ]
    ok(api("POST", BULK_CONTACTS, json={"campaignId": campaign_id, "contacts": rows}))
    set_status(api, campaign_id, "ACTIVE")
    for seconds in (3600, 4 * HOUR + 17, DAY):
        advance(admin, seconds)
    log = admin("GET", "/runtime/calls").data
    listed = api("GET", f"{CONTACTS}?campaignId={campaign_id}&size=1000").data
    return log, listed, admin("GET", "/state").data


def test_same_seed_same_requests_same_clock_moves_give_the_same_calls_byte_for_byte():
    first, second, other = _run(11), _run(11), _run(12)
    assert len(first[0]) > 10_000  # many calls made
    assert first == second
    assert first[0] != other[0]
    assert first[1] != other[1]


# ------------------------------------------------------------- the clock drives it
def test_a_running_clock_moves_the_runtime_only_when_the_serving_code_runs_it():
    wall = [START]
    clock = ControlledClock(source=lambda: wall[0])
    app = create_app(Settings(token_ttl=100 * DAY), clock=clock)
    engine = app.extensions["ecm_mock"]
    assert isinstance(engine, Engine)
    test_client = app.test_client()
    token = test_client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}

    def api(method, path, **kwargs):
        return test_client.open(path, method=method, headers=headers, **kwargs)

    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Running", strategy_id)
    rows = [{"phone01": f"+1555100{i:04d}"} for i in range(2000)]
    ok(api("POST", BULK_CONTACTS, json={"campaignId": campaign_id, "contacts": rows}))
    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 1000}))
    set_status(api, campaign_id, "ACTIVE")

    def made() -> int:
        return len(test_client.get("/__admin/runtime/calls").json)

    wall[0] += HOUR  # an hour of wall time passes, and nothing calls run_due
    assert made() == 0
    assert engine.run_due(max_seconds=0) is False  # one slice, then out of time
    assert test_client.get("/__admin/state").json["runtime"]["processedUntil"] < clock.iso()
    assert engine.run_due(max_seconds=None) is True
    assert made() == 2000

    ok(test_client.put("/__admin/clock", json={"speed": 60}))
    wall[0] += 60  # a wall minute at 60x: an hour of the mock's time
    assert clock.time() == pytest.approx(START + 2 * HOUR)


def test_the_clock_runs_at_its_speed():
    wall = [1000.0]
    clock = ControlledClock(source=lambda: wall[0])
    clock.set_speed(60)
    wall[0] += 2
    assert clock.time() == 1120.0
    clock.freeze()
    wall[0] += 10
    assert clock.time() == 1120.0
    clock.unfreeze()
    wall[0] += 1
    assert clock.time() == 1180.0
    clock.advance(20)
    assert clock.time() == 1200.0
    with pytest.raises(ValueError, match="above 0"):
        clock.set_speed(0)


def test_the_background_server_drives_the_runtime_of_its_app():
    from ecm_mock.serving import BackgroundServer

    ran = threading.Event()

    class Recording:
        def run_due(self, max_seconds=None):
            ran.set()
            return True

    app = create_app(Settings(), clock=FixedClock(START))
    engine = app.extensions["ecm_mock"]
    assert not engine.runtime_due()  # nothing is behind a frozen clock: no slice is run
    engine.runtime_due = lambda: True  # now something is
    engine.run_due = Recording().run_due
    with BackgroundServer(app):
        assert ran.wait(timeout=10)  # a condition, not a duration: set on the first run


def test_create_app_alone_never_moves_the_runtime(api, admin, services):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "Still", strategy_id)
    contact(api, campaign_id, "+923001232601")
    set_status(api, campaign_id, "ACTIVE")
    services.clock.freeze(START + DAY)  # a day passes, and nothing runs the runtime
    assert calls(admin) == []
    assert the_contact(api, campaign_id, 6)["status"] == "PENDING"


def test_a_contact_added_while_its_campaigns_queues_are_built_is_called_once(
    app, api, admin, services
):
    strategy_id = strategy(api, "One call", {"phone": "1"})
    campaign_id = campaign(api, "BuiltInParts", strategy_id)
    rows = [{"phone01": f"+1555200{i:04d}"} for i in range(5000)]  # more than one build step
    ok(api("POST", BULK_CONTACTS, json={"campaignId": campaign_id, "contacts": rows}))
    ok(api("POST", PREFERENCES, json={"campaignBatchSize": 10000}))
    set_status(api, campaign_id, "ACTIVE")
    services.clock.freeze(START + HOUR)
    assert app.extensions["ecm_mock"].run_due(max_seconds=0) is False  # part of the queues
    late = contact(api, campaign_id, "+15552999999")
    advance(admin, DAY)
    made = [c["contactId"] for c in calls(admin, campaignId=campaign_id)]
    assert len(made) == len(set(made)) == 5001
    assert late in made


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"empty_phone": "phone02"}, "empty_phone"),
        ({"feeder_interval": 0}, "feeder_interval"),
        ({"feeder_interval": 86401}, "feeder_interval"),
        ({"call_seconds": -1}, "call_seconds"),
        ({"call_log_size": 0}, "call_log_size"),
    ],
)
def test_bad_runtime_settings_stop_the_start(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_runtime_settings_come_from_the_environment_and_seed_each_store():
    settings = Settings.from_env(
        {"ECM_MOCK_RUNTIME": "off", "ECM_MOCK_TIME_ZONE": "Asia/Dubai", "ECM_MOCK_SEED": "4"}
    )
    app = create_app(settings, clock=FixedClock(START))
    model = app.test_client().get("/__admin/runtime/model").json
    assert (model["enabled"], model["timeZone"], model["seed"]) == (False, "Asia/Dubai", 4)
