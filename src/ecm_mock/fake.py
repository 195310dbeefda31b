"""Generated data on request (``--fake-contacts N``, ``--fake-dnc N``), from Faker seeded per app.

The same seed and the same fixtures give the same records and ids; timestamps come from a
fixed base, not the clock, so they repeat too.
"""

from __future__ import annotations

import functools
import gc
from datetime import UTC, datetime, timedelta

from faker import Faker

from .state import State

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
TIME_ZONES = ("Asia/Karachi", "Europe/London", "America/New_York", "Asia/Dubai", "UTC")


def add_fake_data(state: State, seed: int, contacts: int = 0, dnc: int = 0) -> None:
    """Add ``dnc`` DNC numbers, then ``contacts`` contacts spread over the campaigns."""
    if not (contacts or dnc):
        return
    collecting = gc.isenabled()
    gc.disable()  # a million new dicts, no cycles among them: collections would only walk them
    try:
        _add(state, seed, contacts, dnc)
    finally:
        if collecting:
            gc.enable()


def _add(state: State, seed: int, contacts: int, dnc: int) -> None:
    fake = Faker()
    fake.seed_instance(seed)
    rng = fake.random
    # Names come from pools Faker fills once: a million Faker calls would take minutes.
    firsts = [fake.first_name() for _ in range(min(contacts + dnc, 1000))]
    lasts = [fake.last_name() for _ in range(min(contacts + dnc, 1000))]
    for _ in range(dnc):
        number = _fresh_number(rng, lambda n: n in state.dnc_by_number)
        record = {
            "id": state.next_id("dnc"),
            "primaryNumber": number,
            "firstName": rng.choice(firsts),
            "lastName": rng.choice(lasts),
            "reason": "Customer request",
            "createdAt": _stamp(state.last_ids["dnc"]),
        }
        state.dnc[record["id"]] = record
        state.dnc_by_number[number] = record["id"]
    campaign_ids = sorted(state.campaigns)
    if contacts and not campaign_ids:
        raise ValueError("fake contacts need at least one campaign in the fixtures")
    # A million contacts: every call below is per contact, so they are the cheap ones
    # (a float from the seeded generator scaled, not randrange or choice).
    random, pools, zones = rng.random, len(firsts), len(TIME_ZONES)
    contacts_by_campaign = state.contacts_by_campaign
    dnc_numbers = state.dnc_by_number
    first_id = state.last_ids.get("contact", 0) + 1
    for i in range(contacts):
        campaign_id = campaign_ids[i % len(campaign_ids)]
        open_phones = state.open_phones.setdefault(campaign_id, {})
        while True:
            phone = f"+1555{int(random() * 1e9):09d}"
            if phone not in open_phones and phone not in dnc_numbers:
                break
        first, last = firsts[int(random() * pools)], lasts[int(random() * pools)]
        record = {
            "id": first_id + i,
            "campaignId": campaign_id,
            "phone01": phone,
            "firstName": first,
            "lastName": last,
            "email": f"{first}.{last}{i}@example.com".lower(),
            "timeZone": TIME_ZONES[int(random() * zones)],
            "status": "PENDING",
            "attemptsMade": 0,
            "createdAt": _stamp(i),
        }
        state.contacts[record["id"]] = record
        contacts_by_campaign.setdefault(campaign_id, []).append(record["id"])
        open_phones[phone] = record["id"]
    if contacts:
        state.last_ids["contact"] = first_id + contacts - 1


def _fresh_number(rng, taken) -> str:
    while True:
        number = f"+1555{rng.randrange(10**9):09d}"
        if not taken(number):
            return number


def _stamp(offset: int) -> str:
    """BASE_TIME plus ``offset`` seconds, as the API writes timestamps."""
    days, seconds = divmod(offset, 86400)
    hours, seconds = divmod(seconds, 3600)
    return f"{_day(days)}T{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}Z"


@functools.lru_cache(maxsize=64)
def _day(days: int) -> str:
    return (BASE_TIME + timedelta(days=days)).strftime("%Y-%m-%d")
