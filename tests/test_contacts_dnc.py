"""The do-not-call list and campaign contacts: single saves, bulk uploads, paged lists.

Default data (fixtures/): DNC records 1-3; campaigns 1 (crmCampaignId CRM-SPRING-2026),
2 and 3; contacts 1 (PENDING), 2 (IN_PROGRESS) and 3 (CLOSED) in campaign 1, 4 in
campaign 2, 5 in campaign 3. The test clock says 2026-09-21T14:13:20Z.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

PROBLEM = "application/problem+json"
NOW = "2026-09-21T14:13:20Z"

DNC_LIST = "/umm/ecm/dnc/list"
DNC_SAVE = "/umm/ecm/dnc/save"
DNC_UPDATE = "/umm/ecm/dnc/update"
DNC_DELETE = "/umm/ecm/dnc/delete"
DNC_BULK = "/umm/ecm/dnc/bulkUpload"
CONTACT_SAVE = "/umm/ecm/campaignContact/save"
CONTACT_BULK = "/umm/ecm/campaignContact/bulkUpload"
CONTACT_LIST = "/umm/ecm/campaignContact/list"
CAMPAIGN_DELETE = "/umm/ecm/campaign/delete"

DNC_1 = {
    "id": 1,
    "primaryNumber": "+923009990001",
    "firstName": "Farah",
    "lastName": "Noor",
    "reason": "Customer request",
    "createdAt": "2026-01-02T12:00:00Z",
}
DNC_NUMBER = DNC_1["primaryNumber"]
CONTACT_1 = {
    "id": 1,
    "campaignId": 1,
    "phone01": "+923001110001",
    "firstName": "Ayesha",
    "lastName": "Malik",
    "timeZone": "Asia/Karachi",
    "status": "PENDING",
    "attemptsMade": 0,
    "createdAt": "2026-01-05T09:00:00Z",
}
PENDING_PHONE = "+923001110001"  # contact 1, campaign 1
IN_PROGRESS_PHONE = "+923001110002"  # contact 2, campaign 1
CLOSED_PHONE = "+923001110003"  # contact 3, campaign 1
NEW_PHONE = "+923001112223"  # nowhere yet

DNC_HEADER = b"primaryNumber,firstName,lastName,reason\n"
CONTACT_HEADER = b"phone01,firstName,timeZone\n"


# ------------------------------------------------------------------- helpers
def csv_file(content: bytes) -> tuple[io.BytesIO, str, str]:
    return (io.BytesIO(content), "c.csv", "text/csv")


def contact(phone01: str, campaign_id: int = 1, **fields) -> dict:
    """A saveCampaignContact body."""
    return {"campaignId": campaign_id, "phone01": phone01, **fields}


def contact_csv(content: bytes, campaign_id: str = "1") -> dict:
    return {"campaignId": campaign_id, "file": csv_file(content)}


def rejected(row: int, value: dict, pointer: str, reason: str) -> dict:
    """A row of a bulk report's ``rejected`` list."""
    return {"row": row, "value": value, "pointer": pointer, "reason": reason}


def not_a_number(value: str) -> str:
    """The reason a value that is not a phone number is rejected."""
    return f"{value!r} does not match: Optional leading `+`, then digits; at most 28 characters."


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["content"]]


def assert_problem(response, status: int, pointer: str) -> None:
    """A problem-details answer with ``status`` whose ``errors`` name ``pointer``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status
    assert pointer in [item["pointer"] for item in response.json["errors"]], response.json


@pytest.fixture
def get_ok(api):
    """``get_ok(path, **query)``: the JSON of a 200 answer to a GET."""

    def call(path: str, **query):
        response = api("GET", path, query_string=query)
        assert response.status_code == 200, response.json
        return response.json

    return call


@pytest.fixture
def ok(api):
    """``ok(method, path, **kwargs)``: the JSON of a success (200 unless ``expect`` says)."""

    def call(method: str, path: str, expect: int = 200, **kwargs):
        response = api(method, path, **kwargs)
        assert response.status_code == expect, response.json
        assert response.mimetype == "application/json"
        return response.json

    return call


@pytest.fixture
def refused(api, store):
    """``refused(status, pointer, method, path, **kwargs)``: the request is refused with a
    problem naming ``pointer``, and the store is exactly as it was."""

    def call(status: int, pointer: str, method: str, path: str, **kwargs):
        before = store.dump()
        response = api(method, path, **kwargs)
        assert_problem(response, status, pointer)
        assert store.dump() == before
        return response

    return call


# ------------------------------------------------------------ paged lists
PAGED_LISTS = [
    pytest.param(DNC_LIST, {}, id="dnc"),
    pytest.param(CONTACT_LIST, {"campaignId": 1}, id="contacts"),
]


class TestPageEnvelope:
    """Both paged lists: 0-based pages, size 1..1000, empty parameters mean the default."""

    @pytest.mark.parametrize(("path", "base"), PAGED_LISTS)
    @pytest.mark.parametrize(
        ("page", "size", "expected_ids", "total_pages"),
        [
            (0, 50, [1, 2, 3], 1),
            (0, 2, [1, 2], 2),
            (1, 2, [3], 2),
            (2, 2, [], 2),
            (2, 1, [3], 3),
            (0, 1000, [1, 2, 3], 1),
        ],
    )
    def test_pages(self, get_ok, path, base, page, size, expected_ids, total_pages):
        body = get_ok(path, **base, page=page, size=size)
        assert ids(body) == expected_ids
        assert {k: v for k, v in body.items() if k != "content"} == {
            "page": page,
            "size": size,
            "totalElements": 3,
            "totalPages": total_pages,
        }

    @pytest.mark.parametrize(("path", "base"), PAGED_LISTS)
    def test_empty_page_and_size_take_the_defaults(self, get_ok, path, base):
        body = get_ok(path, **base, page="", size="")
        assert (body["page"], body["size"], ids(body)) == (0, 50, [1, 2, 3])

    @pytest.mark.parametrize(("path", "base"), PAGED_LISTS)
    @pytest.mark.parametrize(
        ("query", "pointer"),
        [
            ({"size": 0}, "/query/size"),
            ({"size": 1001}, "/query/size"),
            ({"size": "ten"}, "/query/size"),
            ({"page": -1}, "/query/page"),
        ],
    )
    def test_out_of_range_is_refused(self, refused, path, base, query, pointer):
        refused(400, pointer, "GET", path, query_string={**base, **query})


# ---------------------------------------------------------------------- DNC
class TestDncList:
    def test_lists_the_records_by_id_as_stored(self, get_ok):
        body = get_ok(DNC_LIST)
        assert body["content"][0] == DNC_1
        assert [r["primaryNumber"] for r in body["content"]] == [
            "+923009990001",
            "+442079990002",
            "15559990003",
        ]

    @pytest.mark.parametrize(
        ("search", "expected_ids"),
        [
            ("", [1, 2, 3]),  # empty means everything
            ("+44", [2]),  # the number, with its plus
            ("999000", [1, 2, 3]),
            ("5559990003", [3]),
            ("farah", [1]),  # first name, any case
            ("GUS", [3]),
            ("noor", [1]),  # last name
            ("hAlE", [3]),
            ("a", [1, 3]),
            ("Regulator", []),  # the reason is not searched
            ("Smith", []),
        ],
    )
    def test_search_matches_number_or_names_ignoring_case(self, get_ok, search, expected_ids):
        body = get_ok(DNC_LIST, search=search)
        assert ids(body) == expected_ids
        assert body["totalElements"] == len(expected_ids)

    def test_search_results_are_paged(self, get_ok):
        body = get_ok(DNC_LIST, search="9990", size=2, page=1)
        assert ids(body) == [3]
        assert (body["totalElements"], body["totalPages"]) == (3, 2)

    def test_a_search_longer_than_100_characters_is_refused(self, refused):
        refused(400, "/query/search", "GET", DNC_LIST, query_string={"search": "x" * 101})


class TestDncSave:
    def test_stores_the_record_with_an_id_and_a_timestamp(self, ok, get_ok):
        sent = {
            "primaryNumber": "+923001234567",
            "firstName": "Ali",
            "lastName": "Khan",
            "reason": "Customer request",
        }
        expected = {"id": 4, **sent, "createdAt": NOW}
        assert ok("POST", DNC_SAVE, json=sent) == expected
        assert get_ok(DNC_LIST)["content"][-1] == expected

    def test_only_the_number_is_required(self, ok):
        body = ok("POST", DNC_SAVE, json={"primaryNumber": "15550000000"})
        assert body == {"id": 4, "primaryNumber": "15550000000", "createdAt": NOW}

    def test_a_listed_number_is_not_acceptable(self, refused):
        refused(406, "/body/primaryNumber", "POST", DNC_SAVE, json={"primaryNumber": DNC_NUMBER})

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"firstName": "Ali"}, "/body/primaryNumber"),
            ({"primaryNumber": "92300123abc"}, "/body/primaryNumber"),
            ({"primaryNumber": "+" + "1" * 28}, "/body/primaryNumber"),  # 29 characters
            ({"primaryNumber": 923001234567}, "/body/primaryNumber"),
            ({"primaryNumber": "+923001234567", "firstName": ""}, "/body/firstName"),
            ({"primaryNumber": "+923001234567", "source": "web"}, "/body/source"),
            ({"primaryNumber": "+923001234567", "id": 9}, "/body/id"),
        ],
    )
    def test_bad_records_are_refused(self, refused, body, pointer):
        refused(400, pointer, "POST", DNC_SAVE, json=body)


class TestDncUpdate:
    def test_changes_the_named_fields_and_keeps_the_rest(self, ok, get_ok):
        body = ok("PUT", DNC_UPDATE, json={"id": 1, "reason": "Complaint", "lastName": "Noori"})
        assert body == {**DNC_1, "reason": "Complaint", "lastName": "Noori"}
        assert get_ok(DNC_LIST)["content"][0] == body

    def test_only_the_id_changes_nothing(self, ok, store):
        before = store.dump()
        assert ok("PUT", DNC_UPDATE, json={"id": 1}) == DNC_1
        assert store.dump() == before

    def test_a_record_may_keep_its_own_number(self, ok):
        body = ok("PUT", DNC_UPDATE, json={"id": 1, "primaryNumber": DNC_NUMBER, "reason": "x"})
        assert body == {**DNC_1, "reason": "x"}

    def test_a_new_number_frees_the_old_one_and_blocks_the_new_one(self, ok, refused):
        ok("PUT", DNC_UPDATE, json={"id": 1, "primaryNumber": "+923009990009"})
        # the old number is free again: for the DNC list and for contacts
        ok("POST", CONTACT_SAVE, json=contact(DNC_NUMBER))
        refused(
            406,
            "/body/phone01",
            "POST",
            CONTACT_SAVE,
            json=contact("+923009990009"),
        )
        refused(
            406, "/body/primaryNumber", "POST", DNC_SAVE, json={"primaryNumber": "+923009990009"}
        )
        assert ok("POST", DNC_SAVE, json={"primaryNumber": DNC_NUMBER})["id"] == 4

    def test_another_records_number_is_not_acceptable(self, refused):
        refused(
            406,
            "/body/primaryNumber",
            "PUT",
            DNC_UPDATE,
            json={"id": 1, "primaryNumber": "15559990003"},
        )

    def test_an_unknown_id_is_not_found(self, refused):
        refused(404, "/body/id", "PUT", DNC_UPDATE, json={"id": 99, "reason": "x"})

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"reason": "x"}, "/body/id"),
            ({"id": 0, "reason": "x"}, "/body/id"),
            ({"id": 1, "primaryNumber": "0300-1234567"}, "/body/primaryNumber"),
            ({"id": 1, "createdAt": NOW}, "/body/createdAt"),
        ],
    )
    def test_bad_updates_are_refused(self, refused, body, pointer):
        refused(400, pointer, "PUT", DNC_UPDATE, json=body)


class TestDncDelete:
    def test_removes_the_record_and_frees_its_number(self, ok, get_ok):
        assert ok("DELETE", DNC_DELETE, query_string={"id": 2}) == {"id": 2, "deleted": True}
        assert ids(get_ok(DNC_LIST)) == [1, 3]
        saved = ok("POST", CONTACT_SAVE, json=contact("+442079990002"))
        assert saved["phone01"] == "+442079990002"

    def test_deleting_twice_is_not_found_the_second_time(self, ok, refused):
        ok("DELETE", DNC_DELETE, query_string={"id": 2})
        refused(404, "/query/id", "DELETE", DNC_DELETE, query_string={"id": 2})

    @pytest.mark.parametrize(
        ("query", "status"),
        [({"id": 99}, 404), ({}, 400), ({"id": 0}, 400), ({"id": "one"}, 400)],
    )
    def test_bad_ids_are_refused(self, refused, query, status):
        refused(status, "/query/id", "DELETE", DNC_DELETE, query_string=query)


class TestDncBulkUpload:
    def test_json_rows_are_stored_or_reported(self, ok, get_ok):
        rows = [
            {"primaryNumber": "+500", "firstName": "Ann"},
            {"primaryNumber": "+500"},  # repeated in the upload
            {"primaryNumber": DNC_NUMBER},  # already listed
            {"primaryNumber": "five"},
            {"reason": "no number"},
            {"primaryNumber": "+501", "source": "web"},
            {"primaryNumber": "+502", "reason": "Regulator list"},
        ]
        assert ok("POST", DNC_BULK, json=rows) == {
            "received": 7,
            "inserted": 2,
            "duplicates": 2,
            "rejected": [
                rejected(4, rows[3], "/primaryNumber", not_a_number("five")),
                rejected(5, rows[4], "/primaryNumber", "'primaryNumber' is a required property"),
                rejected(6, rows[5], "/source", "unexpected property 'source'"),
            ],
            "rejectedCount": 3,
        }
        assert get_ok(DNC_LIST)["content"][3:] == [
            {"id": 4, "primaryNumber": "+500", "firstName": "Ann", "createdAt": NOW},
            {"id": 5, "primaryNumber": "+502", "reason": "Regulator list", "createdAt": NOW},
        ]

    def test_csv_rows_are_stored_or_reported(self, ok, get_ok):
        content = DNC_HEADER + (
            b"+600,Ann,Lee,Asked twice\n"
            b"+600,,,\n"  # repeated in the upload
            b"15559990003,,,\n"  # already listed
            b"zz,Bad,Row,\n"
            b"+601,A,B,C,one too many\n"
            b"+602,,,\n"
        )
        report = ok("POST", DNC_BULK, data={"file": csv_file(content)})
        assert report == {
            "received": 6,
            "inserted": 2,
            "duplicates": 2,
            "rejected": [
                rejected(
                    4,
                    {"primaryNumber": "zz", "firstName": "Bad", "lastName": "Row"},
                    "/primaryNumber",
                    not_a_number("zz"),
                ),
                rejected(
                    5,
                    {"primaryNumber": "+601", "firstName": "A", "lastName": "B", "reason": "C"},
                    "",
                    "the row has 1 more cell(s) than the header",
                ),
            ],
            "rejectedCount": 2,
        }
        assert get_ok(DNC_LIST)["content"][3:] == [
            {
                "id": 4,
                "primaryNumber": "+600",
                "firstName": "Ann",
                "lastName": "Lee",
                "reason": "Asked twice",
                "createdAt": NOW,
            },
            {"id": 5, "primaryNumber": "+602", "createdAt": NOW},
        ]

    def test_csv_columns_may_come_in_any_order_after_a_byte_order_mark(self, ok, get_ok):
        content = "\ufeffreason,primaryNumber\nOpted out,+700\n".encode()
        report = ok("POST", DNC_BULK, data={"file": csv_file(content)})
        assert (report["received"], report["inserted"], report["rejected"]) == (1, 1, [])
        assert get_ok(DNC_LIST, search="+700")["content"] == [
            {"id": 4, "primaryNumber": "+700", "reason": "Opted out", "createdAt": NOW}
        ]

    def test_an_empty_upload_is_an_empty_report(self, ok, store):
        before = store.dump()
        empty = {"received": 0, "inserted": 0, "duplicates": 0, "rejected": [], "rejectedCount": 0}
        assert ok("POST", DNC_BULK, json=[]) == empty
        assert ok("POST", DNC_BULK, data={"file": csv_file(DNC_HEADER)}) == empty
        assert store.dump() == before

    @pytest.mark.parametrize(
        "content",
        [
            b"number,firstName\n+800,Ann\n",
            b"",
            b"+800,Ann\n",
            b"primaryNumber\n+800\n\xe9\n",
            b"\xff\xfep\x00",
        ],
        ids=["unknown-column", "empty", "no-header", "latin-1", "utf-16"],
    )
    def test_a_bad_csv_file_is_refused_as_a_whole(self, refused, content):
        refused(400, "/body/file", "POST", DNC_BULK, data={"file": csv_file(content)})

    def test_a_csv_header_that_repeats_a_column_is_not_acceptable(self, refused):
        content = b"primaryNumber,primaryNumber\n+800,+801\n"
        refused(406, "/body/file", "POST", DNC_BULK, data={"file": csv_file(content)})

    @pytest.mark.parametrize(
        ("kwargs", "status", "pointer"),
        [
            ({"json": {"primaryNumber": "+800"}}, 400, "/body"),
            ({"json": ["+800"]}, 400, "/body/0"),
            ({"data": {"other": "x"}, "content_type": "multipart/form-data"}, 400, "/body/file"),
            ({"data": "+800", "content_type": "text/csv"}, 415, "/header/Content-Type"),
        ],
        ids=["object", "not-an-object-row", "no-file", "bare-csv"],
    )
    def test_a_malformed_upload_is_refused(self, refused, kwargs, status, pointer):
        refused(status, pointer, "POST", DNC_BULK, **kwargs)


# ------------------------------------------------------------------ contacts
NEITHER_OR_BOTH = pytest.mark.parametrize(
    "body",
    [
        {"phone01": NEW_PHONE},
        {"campaignId": 1, "crmCampaignId": "CRM-SPRING-2026", "phone01": NEW_PHONE},
    ],
    ids=["neither", "both"],
)


class TestContactSave:
    def test_stores_a_pending_contact_with_every_field(self, ok, get_ok):
        sent = {
            "campaignId": 1,
            "phone01": NEW_PHONE,
            "phone02": "+923001112224",
            "phone03": "3",
            "phone04": "+4",
            "phone05": "5" * 27,
            "firstName": "Sara",
            "lastName": "Ahmed",
            "email": "sara@example.com",
            "timeZone": "Asia/Karachi",
            "additionalInfo": {"accountNo": "A-1001"},
        }
        expected = {"id": 6, **sent, "status": "PENDING", "attemptsMade": 0, "createdAt": NOW}
        assert ok("POST", CONTACT_SAVE, json=sent) == expected
        assert get_ok(CONTACT_LIST, campaignId=1)["content"][-1] == expected

    def test_names_its_campaign_by_crm_campaign_id(self, ok, get_ok):
        body = ok(
            "POST",
            CONTACT_SAVE,
            json={"crmCampaignId": "CRM-SPRING-2026", "phone01": NEW_PHONE},
        )
        assert body == {
            "id": 6,
            "campaignId": 1,
            "phone01": NEW_PHONE,
            "status": "PENDING",
            "attemptsMade": 0,
            "createdAt": NOW,
        }
        assert ids(get_ok(CONTACT_LIST, campaignId=1)) == [1, 2, 3, 6]

    @NEITHER_OR_BOTH
    def test_naming_the_campaign_neither_or_both_ways_is_refused(self, api, store, body):
        before = store.dump()
        response = api("POST", CONTACT_SAVE, json=body)
        assert (response.status_code, response.mimetype) == (400, PROBLEM)
        assert store.dump() == before

    @NEITHER_OR_BOTH
    def test_naming_the_campaign_neither_or_both_ways_names_the_fields(self, refused, body):
        response = refused(400, "/body/campaignId", "POST", CONTACT_SAVE, json=body)
        assert_problem(response, 400, "/body/crmCampaignId")

    @pytest.mark.parametrize(
        ("naming", "pointer"),
        [
            ({"campaignId": 99}, "/body/campaignId"),
            ({"crmCampaignId": "CRM-NONE"}, "/body/crmCampaignId"),
        ],
    )
    def test_an_unknown_campaign_is_not_found(self, refused, naming, pointer):
        refused(404, pointer, "POST", CONTACT_SAVE, json={**naming, "phone01": NEW_PHONE})

    def test_a_number_on_the_dnc_list_is_not_acceptable(self, refused):
        refused(
            406,
            "/body/phone01",
            "POST",
            CONTACT_SAVE,
            json=contact(DNC_NUMBER),
        )

    @pytest.mark.parametrize("phone", [PENDING_PHONE, IN_PROGRESS_PHONE])
    def test_a_number_open_in_the_campaign_is_not_acceptable(self, refused, phone):
        response = refused(406, "/body/phone01", "POST", CONTACT_SAVE, json=contact(phone))
        assert response.json["detail"] == f"{phone} is already open in campaign 1"

    def test_a_closed_number_may_be_uploaded_again_and_is_then_open(self, ok, refused, get_ok):
        again = contact(CLOSED_PHONE)
        assert ok("POST", CONTACT_SAVE, json=again)["id"] == 6
        refused(406, "/body/phone01", "POST", CONTACT_SAVE, json=again)
        statuses = [(c["id"], c["status"]) for c in get_ok(CONTACT_LIST, campaignId=1)["content"]]
        assert statuses == [(1, "PENDING"), (2, "IN_PROGRESS"), (3, "CLOSED"), (6, "PENDING")]

    @pytest.mark.parametrize("campaign_id", [2, 3])
    def test_a_number_open_in_another_campaign_is_accepted(self, ok, campaign_id):
        body = ok("POST", CONTACT_SAVE, json=contact(PENDING_PHONE, campaign_id))
        assert (body["id"], body["campaignId"], body["phone01"]) == (6, campaign_id, PENDING_PHONE)

    @pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Asia/Lahore", "asia/karachi"])
    def test_an_unknown_time_zone_is_refused(self, refused, zone):
        response = refused(
            406,
            "/body/timeZone",
            "POST",
            CONTACT_SAVE,
            json=contact(NEW_PHONE, timeZone=zone),
        )
        assert response.json["errors"] == [
            {
                "location": "body",
                "pointer": "/body/timeZone",
                "message": f"unknown time zone {zone!r}",
            }
        ]

    @pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/Argentina/Buenos_Aires"])
    def test_known_time_zones_are_accepted(self, ok, zone):
        body = ok(
            "POST",
            CONTACT_SAVE,
            json=contact(NEW_PHONE, timeZone=zone),
        )
        assert body["timeZone"] == zone

    def test_phone01_may_be_a_plus_and_27_digits(self, ok):
        phone = "+" + "9" * 27
        assert ok("POST", CONTACT_SAVE, json=contact(phone))["phone01"] == phone

    def test_phone01_may_be_28_digits(self, ok):
        phone = "9" * 28
        assert ok("POST", CONTACT_SAVE, json=contact(phone))["phone01"] == phone

    @pytest.mark.parametrize(
        ("fields", "pointer"),
        [
            ({"phone01": "+" + "9" * 28}, "/body/phone01"),  # 29 characters
            ({"phone01": "9" * 29}, "/body/phone01"),
            ({"phone01": "+92300ABC4567"}, "/body/phone01"),
            ({"phone01": "0300 1234567"}, "/body/phone01"),
            ({"phone01": "+"}, "/body/phone01"),
            ({"phone01": ""}, "/body/phone01"),
            ({"phone01": 923001234567}, "/body/phone01"),
            ({"firstName": "Sara"}, "/body/phone01"),
            ({"phone01": NEW_PHONE, "phone02": "x2"}, "/body/phone02"),
            ({"phone01": NEW_PHONE, "email": "not-an-email"}, "/body/email"),
            ({"phone01": NEW_PHONE, "timeZone": "Not A Zone"}, "/body/timeZone"),
            ({"phone01": NEW_PHONE, "additionalInfo": {"n": 1}}, "/body/additionalInfo/n"),
            ({"phone01": NEW_PHONE, "nickname": "S"}, "/body/nickname"),
            ({"phone01": NEW_PHONE, "status": "CLOSED"}, "/body/status"),
            ({"phone01": NEW_PHONE, "campaignId": 0}, "/body/campaignId"),
        ],
    )
    def test_bad_contacts_are_refused(self, refused, fields, pointer):
        refused(400, pointer, "POST", CONTACT_SAVE, json={"campaignId": 1, **fields})


class TestContactList:
    def test_lists_a_campaigns_contacts_by_id(self, get_ok):
        body = get_ok(CONTACT_LIST, campaignId=1)
        assert body["content"][0] == CONTACT_1
        assert ids(body) == [1, 2, 3]
        assert ids(get_ok(CONTACT_LIST, campaignId=2)) == [4]
        assert ids(get_ok(CONTACT_LIST, campaignId=3)) == [5]

    def test_a_campaign_without_contacts_has_an_empty_page(self, ok, get_ok):
        campaign = ok(
            "POST",
            "/umm/ecm/campaign/createCampaign",
            expect=201,
            json={"name": "Empty2026", "campaignType": "NONE"},
        )
        body = get_ok(CONTACT_LIST, campaignId=campaign["id"])
        assert body == {"content": [], "page": 0, "size": 50, "totalElements": 0, "totalPages": 0}

    @pytest.mark.parametrize(
        ("status", "expected_ids"),
        [("", [1, 2, 3]), ("PENDING", [1]), ("IN_PROGRESS", [2]), ("CLOSED", [3])],
    )
    def test_status_filters_and_empty_status_does_not(self, get_ok, status, expected_ids):
        body = get_ok(CONTACT_LIST, campaignId=1, status=status)
        assert ids(body) == expected_ids
        assert body["totalElements"] == len(expected_ids)

    def test_the_status_filter_is_paged(self, ok, get_ok):
        for n in range(3):
            ok("POST", CONTACT_SAVE, json=contact(f"+92300222000{n}"))
        body = get_ok(CONTACT_LIST, campaignId=1, status="PENDING", size=2, page=1)
        assert ids(body) == [7, 8]
        assert (body["totalElements"], body["totalPages"]) == (4, 2)

    @pytest.mark.parametrize(
        ("query", "status", "pointer"),
        [
            ({"campaignId": 99}, 404, "/query/campaignId"),
            ({}, 400, "/query/campaignId"),
            ({"campaignId": 0}, 400, "/query/campaignId"),
            ({"campaignId": 1, "status": "DONE"}, 400, "/query/status"),
            ({"campaignId": 1, "status": "pending"}, 400, "/query/status"),
        ],
    )
    def test_bad_queries_are_refused(self, refused, query, status, pointer):
        refused(status, pointer, "GET", CONTACT_LIST, query_string=query)


class TestContactBulkUpload:
    def test_json_rows_are_stored_or_counted_or_reported(self, ok, get_ok):
        contacts = [
            {"phone01": "+100", "firstName": "Ann", "additionalInfo": {"k": "v"}},
            {"phone01": "+100", "firstName": "Again"},  # repeated in the upload
            {"phone01": PENDING_PHONE},  # open in the campaign
            {"phone01": DNC_NUMBER},
            {"phone01": CLOSED_PHONE},  # closed: may come again
            {"phone01": "abc"},
            {"phone01": "+101", "timeZone": "Mars/Base"},
            {"phone01": "+102", "campaignId": 1},
            {"firstName": "NoPhone"},
        ]
        report = ok("POST", CONTACT_BULK, json={"campaignId": 1, "contacts": contacts})
        assert report == {
            "campaignId": 1,
            "received": 9,
            "inserted": 2,
            "duplicates": 2,
            "dnc": 1,
            "rejected": [
                rejected(6, contacts[5], "/phone01", not_a_number("abc")),
                rejected(7, contacts[6], "/timeZone", "unknown time zone 'Mars/Base'"),
                rejected(8, contacts[7], "/campaignId", "unexpected property 'campaignId'"),
                rejected(9, contacts[8], "/phone01", "'phone01' is a required property"),
            ],
            "rejectedCount": 4,
        }
        new = {"campaignId": 1, "status": "PENDING", "attemptsMade": 0, "createdAt": NOW}
        assert get_ok(CONTACT_LIST, campaignId=1)["content"][3:] == [
            {"id": 6, **new, "phone01": "+100", "firstName": "Ann", "additionalInfo": {"k": "v"}},
            {"id": 7, **new, "phone01": CLOSED_PHONE},
        ]

    def test_csv_rows_are_stored_or_counted_or_reported(self, ok, get_ok):
        content = CONTACT_HEADER + (
            b"+200,Ann,Asia/Karachi\n"
            b"+200,Again,\n"  # repeated in the upload
            b"+923001110001,,\n"  # PENDING_PHONE: open in the campaign
            b"+923009990001,,\n"  # DNC_NUMBER
            b"xx,Bad,\n"
            b"+201,Zone,Mars/Base\n"
            b"+202,Too,UTC,many\n"
            b'"+203","O\'Neil, Jr",\n'
            b"+204\n"  # fewer cells than the header: the rest are empty
        )
        report = ok("POST", CONTACT_BULK, data=contact_csv(content))
        assert report == {
            "campaignId": 1,
            "received": 9,
            "inserted": 3,
            "duplicates": 2,
            "dnc": 1,
            "rejected": [
                rejected(5, {"phone01": "xx", "firstName": "Bad"}, "/phone01", not_a_number("xx")),
                rejected(
                    6,
                    {"phone01": "+201", "firstName": "Zone", "timeZone": "Mars/Base"},
                    "/timeZone",
                    "unknown time zone 'Mars/Base'",
                ),
                rejected(
                    7,
                    {"phone01": "+202", "firstName": "Too", "timeZone": "UTC"},
                    "",
                    "the row has 1 more cell(s) than the header",
                ),
            ],
            "rejectedCount": 3,
        }
        new = {"campaignId": 1, "status": "PENDING", "attemptsMade": 0, "createdAt": NOW}
        assert get_ok(CONTACT_LIST, campaignId=1)["content"][3:] == [
            {"id": 6, **new, "phone01": "+200", "firstName": "Ann", "timeZone": "Asia/Karachi"},
            {"id": 7, **new, "phone01": "+203", "firstName": "O'Neil, Jr"},
            {"id": 8, **new, "phone01": "+204"},
        ]

    def test_a_number_open_in_another_campaign_is_inserted(self, ok):
        report = ok(
            "POST", CONTACT_BULK, json={"campaignId": 2, "contacts": [{"phone01": PENDING_PHONE}]}
        )
        assert (report["campaignId"], report["inserted"], report["duplicates"]) == (2, 1, 0)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"json": {"campaignId": 1.0, "contacts": [{"phone01": "+300"}]}},
            {"data": contact_csv(b"phone01\n+300\n", campaign_id="1.0")},
            {"data": contact_csv(b"phone01\n+300\n", campaign_id="1e0")},
        ],
        ids=["json-1.0", "csv-1.0", "csv-1e0"],
    )
    def test_an_integral_campaign_id_in_another_form_is_the_campaigns_id(self, ok, get_ok, kwargs):
        report = ok("POST", CONTACT_BULK, **kwargs)
        assert report["campaignId"] == 1
        assert type(report["campaignId"]) is int
        listed = get_ok(CONTACT_LIST, campaignId=1)["content"]
        assert listed[-1]["phone01"] == "+300"
        assert type(listed[-1]["campaignId"]) is int

    def test_an_empty_upload_is_an_empty_report(self, ok, store):
        before = store.dump()
        empty = {
            "campaignId": 3,
            "received": 0,
            "inserted": 0,
            "duplicates": 0,
            "dnc": 0,
            "rejected": [],
            "rejectedCount": 0,
        }
        assert ok("POST", CONTACT_BULK, json={"campaignId": 3, "contacts": []}) == empty
        assert ok("POST", CONTACT_BULK, data=contact_csv(b"phone01\n", "3")) == empty
        assert store.dump() == before

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"json": {"campaignId": 99, "contacts": [{"phone01": "+300"}]}},
            {"data": contact_csv(b"phone01\n+300\n", campaign_id="99")},
        ],
        ids=["json", "csv"],
    )
    def test_an_unknown_campaign_is_not_found(self, refused, kwargs):
        refused(404, "/body/campaignId", "POST", CONTACT_BULK, **kwargs)

    @pytest.mark.parametrize(
        "content",
        [
            b"phone01,nickname\n+300,S\n",
            b"Phone01\n+300\n",
            b"phone01,campaignId\n+300,1\n",
            b"",
            b"+300,Ann\n",
            b"phone01,firstName\n+300,Jos\xe9\n",
        ],
        ids=["unknown", "case", "campaignId", "empty", "no-header", "latin-1"],
    )
    def test_a_bad_csv_file_is_refused_as_a_whole(self, refused, content):
        refused(400, "/body/file", "POST", CONTACT_BULK, data=contact_csv(content))

    def test_a_csv_header_that_repeats_a_column_is_not_acceptable(self, refused):
        content = b"phone01,phone01\n+300,+301\n"
        refused(406, "/body/file", "POST", CONTACT_BULK, data=contact_csv(content))

    @pytest.mark.parametrize(
        ("kwargs", "pointer"),
        [
            ({"json": {"campaignId": 1}}, "/body/contacts"),
            ({"json": {"contacts": []}}, "/body/campaignId"),
            ({"json": {"campaignId": 1, "contacts": [], "dryRun": True}}, "/body/dryRun"),
            ({"json": {"campaignId": 1, "contacts": ["+300"]}}, "/body/contacts/0"),
            ({"json": {"campaignId": "1", "contacts": []}}, "/body/campaignId"),
            ({"data": {"file": csv_file(b"phone01\n+300\n")}}, "/body/campaignId"),
            ({"data": contact_csv(b"phone01\n+300\n", campaign_id="0")}, "/body/campaignId"),
            ({"data": contact_csv(b"phone01\n+300\n", campaign_id='"1"')}, "/body/campaignId"),
            ({"data": {"campaignId": "1"}, "content_type": "multipart/form-data"}, "/body/file"),
        ],
        ids=[
            "no-contacts",
            "no-campaign",
            "unknown-property",
            "string-row",
            "string-id",
            "csv-no-campaign",
            "csv-campaign-0",
            "csv-quoted-id",
            "csv-no-file",
        ],
    )
    def test_a_malformed_upload_is_refused(self, refused, kwargs, pointer):
        refused(400, pointer, "POST", CONTACT_BULK, **kwargs)

    def test_a_campaign_id_field_that_is_not_a_number_names_the_field(self, refused):
        refused(
            400,
            "/body/campaignId",
            "POST",
            CONTACT_BULK,
            data=contact_csv(b"phone01\n+300\n", campaign_id="one"),
        )


class TestCampaignDeletion:
    def test_deleting_a_campaign_deletes_its_contacts(self, ok, api, get_ok, store):
        ok("POST", CONTACT_SAVE, json=contact(NEW_PHONE))
        deleted = ok("DELETE", CAMPAIGN_DELETE, query_string={"id": 1})
        assert deleted == {"id": 1, "deleted": True, "contactsDeleted": 4}
        response = api("GET", CONTACT_LIST, query_string={"campaignId": 1})
        assert_problem(response, 404, "/query/campaignId")
        assert [(c["id"], c["campaignId"]) for c in store.dump()["contacts"]] == [(4, 2), (5, 3)]
        assert ids(get_ok(CONTACT_LIST, campaignId=2)) == [4]

    def test_a_deleted_campaign_takes_no_more_contacts(self, ok, refused):
        ok("DELETE", CAMPAIGN_DELETE, query_string={"crmCampaignId": "CRM-SPRING-2026"})
        refused(
            404,
            "/body/campaignId",
            "POST",
            CONTACT_SAVE,
            json=contact(NEW_PHONE),
        )
        refused(
            404,
            "/body/crmCampaignId",
            "POST",
            CONTACT_SAVE,
            json={"crmCampaignId": "CRM-SPRING-2026", "phone01": NEW_PHONE},
        )
        refused(
            404,
            "/body/campaignId",
            "POST",
            CONTACT_BULK,
            json={"campaignId": 1, "contacts": [{"phone01": NEW_PHONE}]},
        )


# --------------------------------------------------------------- concurrency
@pytest.mark.slow
class TestConcurrentContactSaves:
    """Eight clients saving contacts at once on a real threaded server lose nothing."""

    THREADS = 8
    PER_THREAD = 500

    def test_every_save_gets_its_own_id_and_is_listed(self, live_server):
        login = requests.post(
            f"{live_server}/umm/api/login",
            json={"username": "admin", "password": "admin"},
            timeout=10,
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        campaign = requests.post(
            f"{live_server}/umm/ecm/campaign/createCampaign",
            json={"name": "Concurrent2026", "campaignType": "NONE"},
            headers=headers,
            timeout=10,
        )
        assert campaign.status_code == 201, campaign.text
        campaign_id = campaign.json()["id"]
        start = threading.Barrier(self.THREADS)

        def save_many(worker: int) -> list[int]:
            got = []
            with requests.Session() as session:
                session.headers.update(headers)
                start.wait()
                for n in range(self.PER_THREAD):
                    phone = f"+1{worker:02d}{n:05d}"
                    response = session.post(
                        f"{live_server}{CONTACT_SAVE}",
                        json={"campaignId": campaign_id, "phone01": phone},
                        timeout=30,
                    )
                    assert response.status_code == 200, response.text
                    assert response.json()["phone01"] == phone
                    got.append(response.json()["id"])
            return got

        began = time.perf_counter()
        with ThreadPoolExecutor(self.THREADS) as pool:
            results = list(pool.map(save_many, range(self.THREADS)))
        elapsed = time.perf_counter() - began
        print(f"{self.THREADS * self.PER_THREAD} concurrent saves took {elapsed:.1f}s")

        returned = [i for ids_of_one in results for i in ids_of_one]
        assert len(returned) == len(set(returned)) == self.THREADS * self.PER_THREAD
        listed: list[dict] = []
        for page in range(4):
            body = requests.get(
                f"{live_server}{CONTACT_LIST}",
                params={"campaignId": campaign_id, "page": page, "size": 1000},
                headers=headers,
                timeout=30,
            ).json()
            assert body["totalElements"] == 4000
            assert body["totalPages"] == 4
            listed += body["content"]
        assert [c["id"] for c in listed] == sorted(returned)
        assert len({c["phone01"] for c in listed}) == 4000
