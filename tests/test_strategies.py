"""Call strategies and their attempts (REFERENCE.md section 5): the 9 operations and their rules.

Default data (fixtures/strategies.yaml, campaigns.yaml): strategy 1 "Default" with SMS attempt 1;
strategy 2 with voice attempts 2, 3, 4 numbered 1..3; strategy 3 with attempts 5 (voice) and 6
(SMS). Campaigns use strategies 2, 3 and 1. Every refused request must name the offending field
by JSON pointer and change nothing.
"""

from __future__ import annotations

import pytest

STRATEGY = "/umm/ecm/callStrategy"
ATTEMPT = "/umm/ecm/callStrategyAttempt"
VOICE, SMS = 0, 1

DEFAULT_STRATEGIES = [
    {"id": 1, "name": "Default", "attemptCount": 1},
    {"id": 2, "name": "Voice three tries", "attemptCount": 3},
    {"id": 3, "name": "Voice then SMS", "attemptCount": 2},
]
# Strategy 2's attempts as the API answers them.
FIRST_CALL = {
    "id": 2,
    "csId": 2,
    "name": "First call",
    "phone": "1",
    "channel": VOICE,
    "attemptNumber": 1,
    "retryMap": [
        {"call_result": 1, "attempt_number": 2, "delay": 10},
        {"call_result": 2, "attempt_number": 2, "delay": 30},
    ],
}
SECOND_CALL = {
    "id": 3,
    "csId": 2,
    "name": "Second call",
    "phone": "2",
    "channel": VOICE,
    "attemptNumber": 2,
    "retryMap": [{"call_result": 1, "attempt_number": 3, "delay": 60}],
}
LAST_CALL = {
    "id": 4,
    "csId": 2,
    "name": "Last call",
    "phone": "1",
    "channel": VOICE,
    "attemptNumber": 3,
    "retryMap": [],
}

# The vendor's own example of Create Strategy Attempt (REFERENCE.md), request and response.
VENDOR_REQUEST = {
    "csId": 2,
    "name": "Default",
    "phone": "1",
    "channel": 0,
    "attemptNumber": 1,
    "retryMap": [{"attempt_number": 2, "delay": 10, "call_result": 2}],
}
VENDOR_RESPONSE = {
    "id": 1,
    "csId": 2,
    "name": "Default",
    "phone": "1",
    "channel": 0,
    "attemptNumber": 1,
    "retryMap": [{"attempt_number": 2, "delay": 10, "call_result": 2}],
}


# ------------------------------------------------------------------ helpers
def ok(response) -> object:
    assert response.status_code == 200, response.get_json()
    assert response.content_type == "application/json"
    return response.get_json()


@pytest.fixture
def refused(api, store):
    """``refused(status, pointer, method, path, **kwargs)``: the request is refused with a
    problem naming ``pointer``, and the store is exactly as it was."""

    def check(status: int, pointer: str, method: str, path: str, **kwargs) -> dict:
        before = store.dump()
        response = api(method, path, **kwargs)
        assert response.status_code == status, response.get_json()
        assert response.content_type == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == status
        assert pointer in [item["pointer"] for item in problem["errors"]], problem
        assert store.dump() == before
        return problem

    return check


def strategies(api) -> list:
    return ok(api("GET", f"{STRATEGY}/list"))


def attempts(api, cs_id: int) -> list:
    return ok(api("GET", f"{ATTEMPT}/list", query_string={"csId": cs_id}))


def new_strategy(api, name: str = "Busy twice") -> int:
    return ok(api("POST", f"{STRATEGY}/save", json={"name": name}))["id"]


def attempt_body(cs_id: int = 2, **fields) -> dict:
    """A minimal voice attempt for ``cs_id``; ``fields`` add or override."""
    return {"csId": cs_id, "name": "Extra", "phone": "1", "channel": VOICE, **fields}


def save_attempt(api, cs_id: int = 2, **fields) -> dict:
    return ok(api("POST", f"{ATTEMPT}/save", json=attempt_body(cs_id, **fields)))


def entry(call_result: int, attempt_number: int, delay: int = 0) -> dict:
    """A voice retry-map entry as answered."""
    return {"attempt_number": attempt_number, "delay": delay, "call_result": call_result}


# ------------------------------------------------------------ listStrategies
class TestListStrategies:
    def test_every_strategy_by_id_with_its_attempt_count(self, api):
        assert strategies(api) == DEFAULT_STRATEGIES

    def test_attempt_count_follows_saved_and_deleted_attempts(self, api):
        save_attempt(api, cs_id=3)
        save_attempt(api, cs_id=3)
        ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": 1}))
        assert [s["attemptCount"] for s in strategies(api)] == [0, 3, 4]


# -------------------------------------------------------------- saveStrategy
class TestSaveStrategy:
    def test_a_new_strategy_has_the_next_id_and_no_attempts(self, api):
        answer = ok(api("POST", f"{STRATEGY}/save", json={"name": "Busy twice"}))
        assert answer == {"id": 4, "name": "Busy twice", "attemptCount": 0}
        assert strategies(api) == [*DEFAULT_STRATEGIES, answer]
        assert attempts(api, 4) == []

    @pytest.mark.parametrize(
        ("body", "status", "pointer"),
        [
            pytest.param({"name": "Default"}, 406, "/body/name", id="duplicate"),
            pytest.param({"name": "DEFAULT"}, 406, "/body/name", id="duplicate-other-case"),
            pytest.param({"name": "voice THREE tries"}, 406, "/body/name", id="duplicate-mixed"),
            pytest.param({}, 400, "/body/name", id="name-missing"),
            pytest.param({"name": ""}, 400, "/body/name", id="name-empty"),
            pytest.param({"name": " Padded"}, 400, "/body/name", id="leading-space"),
            pytest.param({"name": "Padded "}, 400, "/body/name", id="trailing-space"),
            pytest.param({"name": "x" * 101}, 400, "/body/name", id="name-too-long"),
            pytest.param({"name": "Fine", "id": 9}, 400, "/body/id", id="unknown-property"),
        ],
    )
    def test_refused(self, refused, body, status, pointer):
        refused(status, pointer, "POST", f"{STRATEGY}/save", json=body)


# -------------------------------------------------------- updateStrategyName
class TestUpdateStrategyName:
    def test_rename(self, api):
        answer = ok(api("PUT", f"{STRATEGY}/updateName", json={"id": 2, "name": "Voice x3"}))
        assert answer == {"id": 2, "name": "Voice x3", "attemptCount": 3}
        assert strategies(api)[1] == answer

    def test_a_strategy_may_change_the_case_of_its_own_name(self, api):
        answer = ok(api("PUT", f"{STRATEGY}/updateName", json={"id": 3, "name": "VOICE THEN SMS"}))
        assert answer == {"id": 3, "name": "VOICE THEN SMS", "attemptCount": 2}

    @pytest.mark.parametrize(
        ("body", "status", "pointer"),
        [
            pytest.param({"id": 1, "name": "Other"}, 406, "/body/id", id="Default-renamed"),
            pytest.param({"id": 1, "name": "default"}, 406, "/body/id", id="Default-recased"),
            pytest.param({"id": 2, "name": "default"}, 406, "/body/name", id="Default-taken"),
            pytest.param({"id": 2, "name": "Voice Then SMS"}, 406, "/body/name", id="name-taken"),
            pytest.param({"id": 99, "name": "Other"}, 404, "/body/id", id="unknown-strategy"),
            pytest.param({"id": 2}, 400, "/body/name", id="name-missing"),
            pytest.param({"id": 2, "name": " Padded"}, 400, "/body/name", id="leading-space"),
            pytest.param({"name": "Other"}, 400, "/body/id", id="id-missing"),
        ],
    )
    def test_refused(self, refused, body, status, pointer):
        refused(status, pointer, "PUT", f"{STRATEGY}/updateName", json=body)


# ------------------------------------------------------------ deleteStrategy
class TestDeleteStrategy:
    def test_deletes_the_strategy_and_its_attempts(self, api, store):
        cs_id = new_strategy(api)
        save_attempt(api, cs_id=cs_id)
        save_attempt(api, cs_id=cs_id, channel=SMS)
        answer = ok(api("DELETE", f"{STRATEGY}/delete", query_string={"id": cs_id}))
        assert answer == {"id": cs_id, "deleted": True, "attemptsDeleted": 2}
        assert strategies(api) == DEFAULT_STRATEGIES
        assert [a["id"] for a in store.dump()["attempts"]] == [1, 2, 3, 4, 5, 6]
        assert api("GET", f"{ATTEMPT}/list", query_string={"csId": cs_id}).status_code == 404
        assert api("PUT", f"{ATTEMPT}/update", json={"id": 7, "name": "x"}).status_code == 404

    def test_an_empty_strategy(self, api):
        cs_id = new_strategy(api)
        answer = ok(api("DELETE", f"{STRATEGY}/delete", query_string={"id": cs_id}))
        assert answer == {"id": cs_id, "deleted": True, "attemptsDeleted": 0}

    def test_a_strategy_is_free_once_its_campaign_is_gone(self, api):
        ok(api("DELETE", "/umm/ecm/campaign/delete", query_string={"id": 1}))  # Spring2026
        answer = ok(api("DELETE", f"{STRATEGY}/delete", query_string={"id": 2}))
        assert answer == {"id": 2, "deleted": True, "attemptsDeleted": 3}
        assert strategies(api) == [DEFAULT_STRATEGIES[0], DEFAULT_STRATEGIES[2]]
        assert [a["id"] for a in attempts(api, 3)] == [5, 6]

    def test_a_strategy_used_by_a_campaign_names_the_campaign(self, refused):
        problem = refused(406, "/query/id", "DELETE", f"{STRATEGY}/delete", query_string={"id": 2})
        assert "Spring2026" in problem["detail"]

    @pytest.mark.parametrize(
        ("query", "status", "pointer"),
        [
            pytest.param({"id": 1}, 406, "/query/id", id="Default"),
            pytest.param({"id": 3}, 406, "/query/id", id="used-by-SurveyIvr"),
            pytest.param({"id": 99}, 404, "/query/id", id="unknown"),
            pytest.param({"id": "two"}, 400, "/query/id", id="not-an-integer"),
            pytest.param({}, 400, "/query/id", id="id-missing"),
        ],
    )
    def test_refused(self, refused, query, status, pointer):
        refused(status, pointer, "DELETE", f"{STRATEGY}/delete", query_string=query)


# ------------------------------------------------------ listStrategyAttempts
class TestListStrategyAttempts:
    def test_a_strategys_attempts(self, api):
        assert attempts(api, 2) == [FIRST_CALL, SECOND_CALL, LAST_CALL]
        assert attempts(api, 1) == [
            {
                "id": 1,
                "csId": 1,
                "name": "SMS",
                "phone": "1",
                "channel": SMS,
                "attemptNumber": 1,
                "retryMap": [],
            },
        ]

    def test_ordered_by_attempt_number_not_id(self, api):
        cs_id = new_strategy(api)
        second = save_attempt(api, cs_id=cs_id, name="Second", attemptNumber=2)
        first = save_attempt(api, cs_id=cs_id, name="First", attemptNumber=1)
        assert attempts(api, cs_id) == [first, second]
        assert [first["id"], second["id"]] == [8, 7]

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            pytest.param({"csId": 99}, 404, id="unknown-strategy"),
            pytest.param({"csId": 0}, 400, id="not-an-id"),
            pytest.param({}, 400, id="csId-missing"),
        ],
    )
    def test_refused(self, refused, query, status):
        refused(status, "/query/csId", "GET", f"{ATTEMPT}/list", query_string=query)


# ------------------------------------------------------- saveStrategyAttempt
class TestSaveStrategyAttempt:
    def test_the_vendor_example(self, api):
        for attempt in (FIRST_CALL, SECOND_CALL, LAST_CALL):  # make attempt number 1 free
            ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": attempt["id"]}))
        answer = ok(api("POST", f"{ATTEMPT}/save", json=VENDOR_REQUEST))
        assert answer == {**VENDOR_RESPONSE, "id": 7}
        assert list(answer) == list(VENDOR_RESPONSE)
        assert list(answer["retryMap"][0]) == list(VENDOR_RESPONSE["retryMap"][0])
        assert attempts(api, 2) == [answer]

    @pytest.mark.parametrize("phone", ["1", 1, "5", 5])
    def test_phone_as_the_vendors_string_or_as_an_integer_is_answered_as_the_string(
        self, api, phone
    ):
        assert save_attempt(api, phone=phone)["phone"] == str(phone)

    @pytest.mark.parametrize(
        ("fields", "pointer", "message"),
        [
            ({"phone": 6}, "/body/phone", "6 is not one of [1, 2, 3, 4, 5]"),
            ({"phone": "6"}, "/body/phone", "'6' is not one of ['1', '2', '3', '4', '5']"),
            ({"phone": True}, "/body/phone", "True is not of type 'string' or 'integer'"),
            (
                {"retryMap": [{"call_result": "7", "attempt_number": 2}]},
                "/body/retryMap/0/call_result",
                "'7' does not match: A call result as a string of one digit (1..5).",
            ),
            (
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "attempt_delay": 2e6}]},
                "/body/retryMap/0/attempt_delay",
                "2000000 is greater than the maximum of 1000000",
            ),
        ],
    )
    def test_a_value_of_neither_form_is_refused_in_the_words_of_its_form(
        self, refused, fields, pointer, message
    ):
        problem = refused(400, pointer, "POST", f"{ATTEMPT}/save", json=attempt_body(**fields))
        assert [e["message"] for e in problem["errors"]] == [message]

    def test_voice_entries_with_strings_and_attempt_delay(self, api):
        answer = save_attempt(
            api,
            name="Busy",
            retryMap=[
                {"call_result": "1", "attempt_number": "2", "attempt_delay": "30"},
                {"call_result": "2", "attempt_number": "3", "delay": "0005"},
                {"call_result": 3, "attempt_number": 1},
                {"call_result": 4, "attempt_number": 2, "delay": 7, "attempt_delay": "7"},
            ],
        )
        assert answer == {
            "id": 7,
            "csId": 2,
            "name": "Busy",
            "phone": "1",
            "channel": VOICE,
            "attemptNumber": 4,
            "retryMap": [entry(1, 2, 30), entry(2, 3, 5), entry(3, 1, 0), entry(4, 2, 7)],
        }
        assert attempts(api, 2)[-1] == answer

    def test_sms_entry_with_strings(self, api):
        retry_map = [{"sms_response_timeout": "30", "attempt_number": "2", "expiry": "30"}]
        answer = save_attempt(api, cs_id=3, name="Reminder", channel=SMS, retryMap=retry_map)
        assert answer == {
            "id": 7,
            "csId": 3,
            "name": "Reminder",
            "phone": "1",
            "channel": SMS,
            "attemptNumber": 3,
            "retryMap": [{"sms_response_timeout": 30, "attempt_number": 2, "expiry": 30}],
        }

    def test_sms_entry_without_next_attempt_closes_the_contact(self, api):
        answer = save_attempt(api, channel=SMS, retryMap=[{"sms_response_timeout": 15}])
        assert answer["retryMap"] == [{"sms_response_timeout": 15}]

    @pytest.mark.parametrize("phone", [3, "3"])
    def test_phone_is_answered_as_a_string(self, api, phone):
        answer = save_attempt(api, phone=phone)
        assert answer["phone"] == "3"
        assert attempts(api, 2)[-1]["phone"] == "3"

    def test_without_retry_map(self, api):
        assert save_attempt(api)["retryMap"] == []

    def test_attempt_number_omitted_is_the_next_free_number(self, api):
        cs_id = new_strategy(api)
        assert save_attempt(api, cs_id=cs_id)["attemptNumber"] == 1
        assert save_attempt(api, cs_id=cs_id)["attemptNumber"] == 2
        assert save_attempt(api, cs_id=cs_id, attemptNumber=7)["attemptNumber"] == 7
        assert save_attempt(api, cs_id=cs_id)["attemptNumber"] == 8
        assert [a["attemptNumber"] for a in attempts(api, cs_id)] == [1, 2, 7, 8]

    def test_attempt_numbers_are_per_strategy(self, api):
        cs_id = new_strategy(api)
        assert save_attempt(api, cs_id=cs_id, attemptNumber=3)["attemptNumber"] == 3
        assert [a["attemptNumber"] for a in attempts(api, 2)] == [1, 2, 3]

    def test_no_next_number_after_the_last_one(self, api, refused):
        cs_id = new_strategy(api)
        save_attempt(api, cs_id=cs_id, attemptNumber=100)
        refused(406, "/body/attemptNumber", "POST", f"{ATTEMPT}/save", json=attempt_body(cs_id))

    @pytest.mark.parametrize(
        ("fields", "status", "pointer"),
        [
            # business rules
            pytest.param({"csId": 99}, 404, "/body/csId", id="unknown-strategy"),
            pytest.param({"attemptNumber": 2}, 406, "/body/attemptNumber", id="number-taken"),
            pytest.param(
                {"attemptNumber": 5, "retryMap": [{"call_result": 1, "attempt_number": 5}]},
                406,
                "/body/retryMap/0/attempt_number",
                id="entry-points-at-its-own-attempt",
            ),
            pytest.param(
                {
                    "retryMap": [
                        {"call_result": 1, "attempt_number": 1},
                        {"call_result": 2, "attempt_number": "4"},
                    ]
                },
                406,
                "/body/retryMap/1/attempt_number",
                id="entry-points-at-the-next-free-number",
            ),
            pytest.param(
                {
                    "channel": SMS,
                    "attemptNumber": 4,
                    "retryMap": [{"sms_response_timeout": 5, "attempt_number": 4}],
                },
                406,
                "/body/retryMap/0/attempt_number",
                id="sms-entry-points-at-its-own-attempt",
            ),
            # rules across the keys and entries of a retry map
            pytest.param(
                {"retryMap": [{"attempt_number": 2, "delay": 10}]},
                406,
                "/body/retryMap/0/call_result",
                id="voice-entry-without-call_result",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 2, "delay": 10}]},
                406,
                "/body/retryMap/0/attempt_number",
                id="voice-entry-without-attempt_number",
            ),
            pytest.param(
                {
                    "retryMap": [
                        {"call_result": 1, "attempt_number": 1},
                        {"call_result": 2, "attempt_number": 2},
                        {"call_result": "1", "attempt_number": 3},
                    ]
                },
                406,
                "/body/retryMap/2/call_result",
                id="duplicate-call_result",
            ),
            pytest.param(
                {
                    "retryMap": [
                        {"call_result": 1, "attempt_number": 2, "delay": 10, "attempt_delay": "20"}
                    ]
                },
                406,
                "/body/retryMap/0/attempt_delay",
                id="delay-and-attempt_delay-differ",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "sms_response_timeout": 30}]},
                406,
                "/body/retryMap/0/sms_response_timeout",
                id="voice-entry-with-sms_response_timeout",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "expiry": 30}]},
                406,
                "/body/retryMap/0/expiry",
                id="voice-entry-with-expiry",
            ),
            pytest.param(
                {
                    "channel": SMS,
                    "retryMap": [{"sms_response_timeout": 30}, {"sms_response_timeout": 60}],
                },
                406,
                "/body/retryMap/1",
                id="sms-with-two-entries",
            ),
            pytest.param(
                {"channel": SMS, "retryMap": [{"attempt_number": 2, "expiry": 30}]},
                406,
                "/body/retryMap/0/sms_response_timeout",
                id="sms-entry-without-sms_response_timeout",
            ),
            pytest.param(
                {"channel": SMS, "retryMap": [{"sms_response_timeout": 30, "call_result": 1}]},
                406,
                "/body/retryMap/0/call_result",
                id="sms-entry-with-call_result",
            ),
            pytest.param(
                {"channel": SMS, "retryMap": [{"sms_response_timeout": 30, "delay": 5}]},
                406,
                "/body/retryMap/0/delay",
                id="sms-entry-with-delay",
            ),
            pytest.param(
                {"channel": SMS, "retryMap": [{"sms_response_timeout": 30, "attempt_delay": 5}]},
                406,
                "/body/retryMap/0/attempt_delay",
                id="sms-entry-with-attempt_delay",
            ),
            # the schema
            pytest.param({"name": None}, 400, "/body/name", id="name-null"),
            pytest.param({"phone": 6}, 400, "/body/phone", id="phone-6"),
            pytest.param({"phone": "01"}, 400, "/body/phone", id="phone-01"),
            pytest.param({"channel": 2}, 400, "/body/channel", id="channel-2"),
            pytest.param({"attemptNumber": 0}, 400, "/body/attemptNumber", id="attemptNumber-0"),
            pytest.param(
                {"attemptNumber": 101}, 400, "/body/attemptNumber", id="attemptNumber-101"
            ),
            pytest.param({"priority": 1}, 400, "/body/priority", id="unknown-property"),
            pytest.param(
                {"retryMap": [{"call_result": "6", "attempt_number": 2}]},
                400,
                "/body/retryMap/0/call_result",
                id="call_result-6",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": "0"}]},
                400,
                "/body/retryMap/0/attempt_number",
                id="attempt_number-0",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "delay": "1.5"}]},
                400,
                "/body/retryMap/0/delay",
                id="delay-not-digits",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "delay": -1}]},
                400,
                "/body/retryMap/0/delay",
                id="delay-negative",
            ),
            pytest.param(
                {"retryMap": [{"call_result": 1, "attempt_number": 2, "result": 1}]},
                400,
                "/body/retryMap/0/result",
                id="unknown-entry-key",
            ),
            pytest.param({"retryMap": [{}]}, 400, "/body/retryMap/0", id="empty-entry"),
            pytest.param(
                {"retryMap": [{"call_result": n % 5 + 1, "attempt_number": 1} for n in range(6)]},
                400,
                "/body/retryMap",
                id="six-entries",
            ),
        ],
    )
    def test_refused(self, refused, fields, status, pointer):
        refused(status, pointer, "POST", f"{ATTEMPT}/save", json=attempt_body(**fields))

    def test_required_fields(self, refused):
        for field in ("csId", "name", "phone", "channel"):
            body = attempt_body()
            del body[field]
            refused(400, f"/body/{field}", "POST", f"{ATTEMPT}/save", json=body)


# ----------------------------------------------------- updateStrategyAttempt
class TestUpdateStrategyAttempt:
    def update(self, api, **body) -> dict:
        return ok(api("PUT", f"{ATTEMPT}/update", json=body))

    def test_changes_only_what_is_given(self, api):
        answer = self.update(api, id=3, name="Retry", phone=4)
        assert answer == {**SECOND_CALL, "name": "Retry", "phone": "4"}
        assert attempts(api, 2) == [FIRST_CALL, answer, LAST_CALL]

    def test_its_own_csId_is_accepted(self, api):
        answer = self.update(api, id=4, csId=2, name="Final")
        assert answer == {**LAST_CALL, "name": "Final"}

    def test_a_new_retry_map_is_answered_in_the_vendor_form(self, api):
        retry_map = [
            {"call_result": "5", "attempt_number": "1", "attempt_delay": "15"},
            {"call_result": 3, "attempt_number": 2},
        ]
        answer = self.update(api, id=4, retryMap=retry_map)
        assert answer == {**LAST_CALL, "retryMap": [entry(5, 1, 15), entry(3, 2, 0)]}
        assert attempts(api, 2)[2] == answer

    def test_an_empty_retry_map_clears_it(self, api):
        assert self.update(api, id=2, retryMap=[]) == {**FIRST_CALL, "retryMap": []}

    def test_voice_to_sms_with_a_new_retry_map(self, api):
        call, sms = attempts(api, 3)
        answer = self.update(api, id=5, channel=SMS, retryMap=[{"sms_response_timeout": "10"}])
        assert answer == {**call, "channel": SMS, "retryMap": [{"sms_response_timeout": 10}]}
        assert attempts(api, 3) == [answer, sms]

    def test_channel_change_without_retry_map_when_there_is_none(self, api):
        assert self.update(api, id=4, channel=SMS) == {**LAST_CALL, "channel": SMS}

    def test_a_new_attempt_number_moves_the_targets_pointing_at_it(self, api):
        answer = self.update(api, id=3, attemptNumber=4)
        assert answer == {**SECOND_CALL, "attemptNumber": 4}
        assert attempts(api, 2) == [
            {**FIRST_CALL, "retryMap": [entry(1, 4, 10), entry(2, 4, 30)]},
            LAST_CALL,
            answer,
        ]
        assert attempts(api, 3)[0]["retryMap"] == [entry(2, 2, 5)]  # other strategies keep theirs

    @pytest.mark.parametrize(
        ("body", "status", "pointer"),
        [
            pytest.param({"id": 99, "name": "x"}, 404, "/body/id", id="unknown-attempt"),
            pytest.param({"id": 3, "csId": 3}, 406, "/body/csId", id="other-strategy"),
            pytest.param({"id": 3, "csId": 99}, 406, "/body/csId", id="unknown-strategy"),
            pytest.param(
                {"id": 3, "name": "Moved", "attemptNumber": 1},
                406,
                "/body/attemptNumber",
                id="number-taken",
            ),
            pytest.param(
                {"id": 3, "phone": 5, "retryMap": [{"call_result": 1, "attempt_number": "2"}]},
                406,
                "/body/retryMap/0/attempt_number",
                id="entry-points-at-its-own-attempt",
            ),
            pytest.param(
                {
                    "id": 4,
                    "attemptNumber": 5,
                    "retryMap": [{"call_result": 1, "attempt_number": 5}],
                },
                406,
                "/body/retryMap/0/attempt_number",
                id="entry-points-at-its-new-number",
            ),
            pytest.param(
                {"id": 2, "channel": SMS}, 406, "/body/channel", id="channel-without-new-map"
            ),
            pytest.param(
                {"id": 5, "channel": SMS, "retryMap": [{"call_result": 2, "attempt_number": 2}]},
                406,
                "/body/retryMap/0/call_result",
                id="voice-entry-for-the-new-sms-channel",
            ),
            pytest.param(
                {"id": 2, "retryMap": [{"attempt_number": 3}]},
                406,
                "/body/retryMap/0/call_result",
                id="voice-entry-without-call_result",
            ),
            pytest.param(
                {
                    "id": 2,
                    "retryMap": [
                        {"call_result": 2, "attempt_number": 3},
                        {"call_result": "2", "attempt_number": 3},
                    ],
                },
                406,
                "/body/retryMap/1/call_result",
                id="duplicate-call_result",
            ),
            pytest.param(
                {"id": 6, "retryMap": [{"sms_response_timeout": 1}, {"sms_response_timeout": 2}]},
                406,
                "/body/retryMap/1",
                id="sms-with-two-entries",
            ),
            pytest.param(
                {"id": 6, "retryMap": [{"call_result": 1, "attempt_number": 1}]},
                406,
                "/body/retryMap/0/call_result",
                id="voice-entry-in-an-sms-attempt",
            ),
            pytest.param({"id": 3, "phone": 0}, 400, "/body/phone", id="phone-0"),
            pytest.param({"id": 3, "foo": 1}, 400, "/body/foo", id="unknown-property"),
            pytest.param({"name": "x"}, 400, "/body/id", id="id-missing"),
        ],
    )
    def test_refused(self, refused, body, status, pointer):
        refused(status, pointer, "PUT", f"{ATTEMPT}/update", json=body)


# ----------------------------------------------------- deleteStrategyAttempt
class TestDeleteStrategyAttempt:
    @pytest.mark.parametrize(
        ("attempt_id", "remaining"),
        [
            pytest.param(
                2,
                [
                    {**SECOND_CALL, "attemptNumber": 1, "retryMap": [entry(1, 2, 60)]},
                    {**LAST_CALL, "attemptNumber": 2},
                ],
                id="first-targets-follow",
            ),
            pytest.param(
                3,
                [{**FIRST_CALL, "retryMap": []}, {**LAST_CALL, "attemptNumber": 2}],
                id="middle-entries-to-it-dropped",
            ),
            pytest.param(
                4, [FIRST_CALL, {**SECOND_CALL, "retryMap": []}], id="last-entries-to-it-dropped"
            ),
        ],
    )
    def test_the_rest_renumber_and_their_targets_follow(self, api, attempt_id, remaining):
        others = {cs_id: attempts(api, cs_id) for cs_id in (1, 3)}
        answer = ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": attempt_id}))
        assert answer == {"id": attempt_id, "deleted": True}
        assert attempts(api, 2) == remaining
        assert {cs_id: attempts(api, cs_id) for cs_id in (1, 3)} == others
        assert strategies(api)[1]["attemptCount"] == 2

    def test_targets_follow_across_a_gap(self, api):
        cs_id = new_strategy(api)
        gone = save_attempt(api, cs_id=cs_id, attemptNumber=2)
        kept = save_attempt(
            api,
            cs_id=cs_id,
            attemptNumber=5,
            retryMap=[
                {"call_result": 1, "attempt_number": 2},
                {"call_result": 2, "attempt_number": 9},
            ],
        )
        last = save_attempt(
            api, cs_id=cs_id, attemptNumber=9, retryMap=[{"call_result": 3, "attempt_number": 5}]
        )
        ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": gone["id"]}))
        assert attempts(api, cs_id) == [
            {**kept, "attemptNumber": 1, "retryMap": [entry(2, 2)]},
            {**last, "attemptNumber": 2, "retryMap": [entry(3, 1)]},
        ]

    def test_the_last_attempt_of_a_strategy(self, api):
        ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": 1}))
        assert attempts(api, 1) == []
        assert strategies(api)[0] == {"id": 1, "name": "Default", "attemptCount": 0}

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            pytest.param({"id": 99}, 404, id="unknown"),
            pytest.param({"id": "one"}, 400, id="not-an-integer"),
            pytest.param({}, 400, id="id-missing"),
        ],
    )
    def test_refused(self, refused, query, status):
        refused(status, "/query/id", "DELETE", f"{ATTEMPT}/delete", query_string=query)


# -------------------------------------------------------- updateAttemptOrder
class TestUpdateAttemptOrder:
    @pytest.mark.parametrize(
        ("order", "expected"),
        [
            pytest.param([2, 3, 4], [FIRST_CALL, SECOND_CALL, LAST_CALL], id="unchanged"),
            pytest.param(
                [3, 4, 2],
                [
                    {**SECOND_CALL, "attemptNumber": 1, "retryMap": [entry(1, 2, 60)]},
                    {**LAST_CALL, "attemptNumber": 2},
                    {
                        **FIRST_CALL,
                        "attemptNumber": 3,
                        "retryMap": [entry(1, 1, 10), entry(2, 1, 30)],
                    },
                ],
                id="rotated",
            ),
            pytest.param(
                [4, 3, 2],
                [
                    {**LAST_CALL, "attemptNumber": 1},
                    {**SECOND_CALL, "retryMap": [entry(1, 1, 60)]},
                    {**FIRST_CALL, "attemptNumber": 3},
                ],
                id="reversed",
            ),
        ],
    )
    def test_numbers_follow_the_order_and_targets_follow_the_attempts(self, api, order, expected):
        others = {cs_id: attempts(api, cs_id) for cs_id in (1, 3)}
        answer = ok(api("PUT", f"{ATTEMPT}/updateOrder", json={"csId": 2, "attemptIds": order}))
        assert answer == expected
        assert attempts(api, 2) == expected
        assert {cs_id: attempts(api, cs_id) for cs_id in (1, 3)} == others

    def test_numbers_with_gaps_become_1_to_n(self, api):
        cs_id = new_strategy(api)
        low = save_attempt(
            api, cs_id=cs_id, attemptNumber=3, retryMap=[{"call_result": 1, "attempt_number": 7}]
        )
        high = save_attempt(
            api, cs_id=cs_id, attemptNumber=7, retryMap=[{"call_result": 1, "attempt_number": 3}]
        )
        answer = ok(
            api(
                "PUT",
                f"{ATTEMPT}/updateOrder",
                json={"csId": cs_id, "attemptIds": [high["id"], low["id"]]},
            )
        )
        assert answer == [
            {**high, "attemptNumber": 1, "retryMap": [entry(1, 2)]},
            {**low, "attemptNumber": 2, "retryMap": [entry(1, 1)]},
        ]

    @pytest.mark.parametrize(
        ("body", "status", "pointer"),
        [
            pytest.param({"csId": 2, "attemptIds": [2, 3]}, 406, "/body/attemptIds", id="missing"),
            pytest.param(
                {"csId": 2, "attemptIds": [2, 3, 4, 5]}, 406, "/body/attemptIds", id="foreign"
            ),
            pytest.param(
                {"csId": 2, "attemptIds": [2, 3, 5]}, 406, "/body/attemptIds", id="swapped-in"
            ),
            pytest.param(
                {"csId": 2, "attemptIds": [2, 3, 4, 99]}, 406, "/body/attemptIds", id="unknown"
            ),
            pytest.param({"csId": 99, "attemptIds": [2]}, 404, "/body/csId", id="no-strategy"),
            pytest.param(
                {"csId": 2, "attemptIds": [2, 3, 3, 4]}, 400, "/body/attemptIds", id="repeated"
            ),
            pytest.param({"csId": 2, "attemptIds": []}, 400, "/body/attemptIds", id="empty"),
            pytest.param({"attemptIds": [2, 3, 4]}, 400, "/body/csId", id="csId-missing"),
        ],
    )
    def test_refused(self, refused, body, status, pointer):
        refused(status, pointer, "PUT", f"{ATTEMPT}/updateOrder", json=body)

    def test_a_strategy_without_attempts_refuses_any_id(self, api, refused):
        cs_id = new_strategy(api)
        body = {"csId": cs_id, "attemptIds": [2]}
        refused(406, "/body/attemptIds", "PUT", f"{ATTEMPT}/updateOrder", json=body)


# ------------------------------------------- renumbering keeps the rules whole
@pytest.mark.parametrize("renumber", ["deleteStrategyAttempt", "updateAttemptOrder"])
def test_renumbering_never_points_an_entry_at_its_own_attempt(api, renumber):
    """An entry to a number no attempt has (allowed: the attempt may come later) must not end
    up pointing at its own attempt when the numbers close up."""
    cs_id = new_strategy(api)
    first = save_attempt(api, cs_id=cs_id, attemptNumber=1)
    middle = save_attempt(api, cs_id=cs_id, attemptNumber=3)
    last = save_attempt(
        api, cs_id=cs_id, attemptNumber=4, retryMap=[{"call_result": 1, "attempt_number": 2}]
    )
    if renumber == "deleteStrategyAttempt":  # middle 3 -> 1, last 4 -> 2
        ok(api("DELETE", f"{ATTEMPT}/delete", query_string={"id": first["id"]}))
        ids = [middle["id"], last["id"]]
    else:  # first stays 1, last 4 -> 2, middle 3 -> 3
        ids = [first["id"], last["id"], middle["id"]]
        ok(api("PUT", f"{ATTEMPT}/updateOrder", json={"csId": cs_id, "attemptIds": ids}))
    listed = attempts(api, cs_id)
    assert [a["id"] for a in listed] == ids
    assert [a["attemptNumber"] for a in listed] == list(range(1, len(ids) + 1))
    assert [a["retryMap"] for a in listed if a["id"] == last["id"]] == [[]]  # it went
    # and the attempt can still be changed without touching its retry map
    renamed = ok(api("PUT", f"{ATTEMPT}/update", json={"id": last["id"], "name": "Renamed"}))
    assert renamed == {**last, "attemptNumber": 2, "name": "Renamed", "retryMap": []}


# ------------------------------------------------------------------- auth
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", f"{STRATEGY}/list", {}),
        ("POST", f"{STRATEGY}/save", {"json": {"name": "New"}}),
        ("PUT", f"{STRATEGY}/updateName", {"json": {"id": 2, "name": "New"}}),
        ("DELETE", f"{STRATEGY}/delete", {"query_string": {"id": 2}}),
        ("GET", f"{ATTEMPT}/list", {"query_string": {"csId": 2}}),
        ("POST", f"{ATTEMPT}/save", {"json": attempt_body()}),
        ("PUT", f"{ATTEMPT}/update", {"json": {"id": 2, "name": "New"}}),
        ("DELETE", f"{ATTEMPT}/delete", {"query_string": {"id": 2}}),
        ("PUT", f"{ATTEMPT}/updateOrder", {"json": {"csId": 2, "attemptIds": [4, 3, 2]}}),
    ],
)
def test_every_operation_needs_a_token(client, store, method, path, kwargs):
    before = store.dump()
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert store.dump() == before
