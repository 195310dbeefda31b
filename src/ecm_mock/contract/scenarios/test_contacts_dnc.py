"""Contacts of a campaign and the do-not-call list: one at a time, in bulk (JSON and CSV)."""

from __future__ import annotations

import pytest

from ._steps import create_campaign, expect_page, expect_report, unlikely_phone

pytestmark = pytest.mark.suite("scenarios")


def _listed_phones(s, campaign_id: int) -> list[str]:
    page = s.call(
        "listCampaignContacts",
        params={"campaignId": campaign_id, "page": 0, "size": 50},
        message="list contacts",
    )
    expect_page(s, "listCampaignContacts", page)
    s.equal(
        "listCampaignContacts",
        page.get("totalElements"),
        len(page.get("content", [])),
        "totalElements of a one-page list",
    )
    return sorted(c.get("phone01") for c in page.get("content", []))


def test_contacts_and_dnc(scenario, prefix):
    s = scenario
    phone = [unlikely_phone(prefix, n) for n in range(4)]
    blocked = phone[0]
    cid = create_campaign(s, f"{prefix}Contacts")["id"]
    dnc = s.create(
        "saveDncContact",
        "deleteDncContact",
        message="add a DNC number",
        json={"primaryNumber": blocked, "reason": f"{prefix} contract kit"},
    )
    s.equal("saveDncContact", dnc.get("primaryNumber"), blocked, "primaryNumber")

    s.call(
        "saveCampaignContact",
        json={"campaignId": cid, "phone01": blocked},
        status=406,
        message="a contact whose phone01 is on the DNC list",
    )
    contact = s.call(
        "saveCampaignContact",
        message="add a contact",
        json={"campaignId": cid, "phone01": phone[1], "firstName": "Kit"},
    )
    s.equal(
        "saveCampaignContact",
        (contact.get("campaignId"), contact.get("status")),
        (cid, "PENDING"),
        "(campaignId, status) of a new contact",
    )
    s.equal("listCampaignContacts", _listed_phones(s, cid), [phone[1]], "listed phones")

    # JSON: a new number, the same again, one already stored, a DNC number, a bad number.
    rows = [{"phone01": p} for p in (phone[2], phone[2], phone[1], blocked, "not-a-number")]
    report = s.call(
        "bulkUploadCampaignContacts",
        json={"campaignId": cid, "contacts": rows},
        message="bulk upload JSON",
    )
    expect_report(
        s, "bulkUploadCampaignContacts", report, [5], received=5, inserted=1, duplicates=2, dnc=1
    )

    # CSV: a new number, one already stored, a DNC number, a bad number.
    csv = (
        f"phone01,firstName,lastName\n{phone[3]},Csv,New\n{phone[1]},Csv,Stored\n"
        f"{blocked},Csv,Blocked\nnot-a-number,Csv,Bad\n"
    )
    report = s.call(
        "bulkUploadCampaignContacts",
        data={"campaignId": str(cid)},
        files={"file": ("c.csv", csv.encode(), "text/csv")},
        message="bulk upload CSV",
    )
    expect_report(
        s, "bulkUploadCampaignContacts", report, [4], received=4, inserted=1, duplicates=1, dnc=1
    )
    s.equal(
        "listCampaignContacts",
        _listed_phones(s, cid),
        sorted(phone[1:4]),
        "listed phones after the uploads",
    )

    s.call("deleteDncContact", params={"id": dnc["id"]}, message="delete the DNC record")
    s.call(
        "saveCampaignContact",
        json={"campaignId": cid, "phone01": blocked},
        message="a contact whose number left the DNC list",
    )
    deleted = s.call("deleteCampaign", params={"id": cid}, message="delete the campaign")
    if "contactsDeleted" in deleted:  # optional in the contract
        s.equal("deleteCampaign", deleted["contactsDeleted"], 4, "contactsDeleted")
    s.call(
        "listCampaignContacts",
        params={"campaignId": cid},
        status=404,
        blame="deleteCampaign",
        message="contacts of the deleted campaign",
    )
