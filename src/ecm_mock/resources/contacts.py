"""Campaign contacts: one at a time, in bulk, and paged lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import runtime
from ..clock import time_zone
from ..errors import not_acceptable, not_found
from ..state import Record, State, copy_json
from . import _bulk
from ._base import Call, HandlerSet, paged
from .campaigns import find_campaign

handlers = HandlerSet()


def _zone_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """(pointer, reason) for a contact whose time zone is not known (no state needed)."""
    zone = row.get("timeZone")
    if zone is not None and time_zone(zone) is None:
        return "/timeZone", f"unknown time zone {zone!r}"
    return None


def _rule_problem(
    state: State, campaign_id: int, row: dict[str, Any]
) -> tuple[str, str, str] | None:
    """(kind, pointer, reason) when a schema-valid contact breaks a rule, else None.

    Kinds: ``invalid`` (a value the schema cannot judge), ``dnc``, ``duplicate``.
    """
    zone = _zone_problem(row)
    if zone is not None:
        return "invalid", *zone
    phone = row["phone01"]
    if phone in state.dnc_by_number:
        return "dnc", "/phone01", f"{phone} is on the do-not-call list"
    if phone in state.open_phones.get(campaign_id, {}):
        return "duplicate", "/phone01", f"{phone} is already open in campaign {campaign_id}"
    return None


def _insert(call: Call, state: State, campaign_id: int, row: dict[str, Any]) -> Record:
    record = {
        "id": state.next_id("contact"),
        "campaignId": campaign_id,
        **{k: v for k, v in row.items() if k not in ("campaignId", "crmCampaignId")},
        "status": "PENDING",
        "attemptsMade": 0,
        "createdAt": call.services.clock.iso(),
    }
    state.contacts[record["id"]] = record
    state.contacts_by_campaign.setdefault(campaign_id, []).append(record["id"])
    state.open_phones.setdefault(campaign_id, {})[record["phone01"]] = record["id"]
    runtime.contact_added(state, record)
    return record


@handlers.operation("saveCampaignContact")
def save_contact(call: Call) -> Record:
    with call.store.transaction() as state:
        campaign = find_campaign(state, call.body)
        problem = _rule_problem(state, campaign["id"], call.body)
        if problem:
            _kind, pointer, reason = problem
            raise not_acceptable("/body" + pointer, reason)
        return copy_json(_insert(call, state, campaign["id"], call.body))


@handlers.operation("bulkUploadCampaignContacts")
def bulk_upload(call: Call) -> dict[str, Any]:
    if call.request.media_type == "multipart/form-data":
        # The spec encodes the field as JSON: validation has read it ("1", "1.0" or "1e0": 1).
        named = call.request.form["campaignId"]
        rows = _bulk.upload_rows(call, None)
    else:
        named = call.body["campaignId"]
        rows = _bulk.upload_rows(call, call.body["contacts"])
    with call.store.transaction() as state:  # an unknown campaign: 404 before any row work
        find_campaign(state, {"campaignId": named})
    checked = _bulk.check_rows(call, "ContactRow", rows, _zone_problem)  # without the lock
    counts = {"inserted": 0, "duplicates": 0, "dnc": 0}
    with call.store.transaction() as state:
        campaign_id = find_campaign(state, {"campaignId": named})["id"]
        for _index, row in checked.valid:
            problem = _rule_problem(state, campaign_id, row)
            if problem is None:
                _insert(call, state, campaign_id, row)
                counts["inserted"] += 1
            else:  # no "invalid" left: check_rows has rejected those
                counts["dnc" if problem[0] == "dnc" else "duplicates"] += 1
    return {"campaignId": campaign_id, **_bulk.report(checked, len(rows), **counts)}


@handlers.operation("listCampaignContacts")
def list_contacts(call: Call) -> dict[str, Any]:
    query = call.query
    with call.store.transaction() as state:
        campaign = state.campaigns.get(query["campaignId"])
        if campaign is None:
            raise not_found("campaign", "/query/campaignId", query["campaignId"], "query")
        ids = state.contacts_by_campaign.get(campaign["id"], [])
        wanted = {k: query[k] for k in ("status", "lastCallResult", "attemptsMade") if k in query}
        before = query.get("nextAttemptBefore")
        if before is not None:
            before = _epoch(before)
        if not wanted and before is None:
            return paged(
                ids, query["page"], query["size"], render=lambda i: copy_json(state.contacts[i])
            )
        matching = [i for i in ids if _matches(state.contacts[i], wanted, before)]
        return paged(
            matching,
            query["page"],
            query["size"],
            render=lambda i: copy_json(state.contacts[i]),
        )


def _matches(contact: Record, wanted: dict[str, Any], before: float | None) -> bool:
    if any(contact.get(k) != v for k, v in wanted.items()):
        return False
    if before is None:
        return True
    due = contact.get("nextAttemptAt")
    return due is not None and _epoch(due) < before


def _epoch(stamp: str) -> float:
    """An ISO-8601 moment (the spec's date-time) as epoch seconds."""
    return datetime.fromisoformat(stamp.upper().replace("Z", "+00:00")).timestamp()
