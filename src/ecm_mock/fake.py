"""Generated data on request (``--fake-contacts N``, ``--fake-dnc N``), from Faker seeded per app.

The same seed and the same fixtures give the same records and ids; timestamps come from a
fixed base, not the clock, so they repeat too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faker import Faker

from .state import State

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
TIME_ZONES = ("Asia/Karachi", "Europe/London", "America/New_York", "Asia/Dubai", "UTC")


def add_fake_data(state: State, seed: int, contacts: int = 0, dnc: int = 0) -> None:
    """Add ``dnc`` DNC numbers, then ``contacts`` contacts spread over the campaigns."""
    if not (contacts or dnc):
        return
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
    for i in range(contacts):
        campaign_id = campaign_ids[i % len(campaign_ids)]
        open_phones = state.open_phones.setdefault(campaign_id, {})
        phone = _fresh_number(
            rng, lambda n, taken=open_phones: n in taken or n in state.dnc_by_number
        )
        first, last = rng.choice(firsts), rng.choice(lasts)
        record = {
            "id": state.next_id("contact"),
            "campaignId": campaign_id,
            "phone01": phone,
            "firstName": first,
            "lastName": last,
            "email": f"{first}.{last}{i}@example.com".lower(),
            "timeZone": TIME_ZONES[rng.randrange(len(TIME_ZONES))],
            "status": "PENDING",
            "attemptsMade": 0,
            "createdAt": _stamp(i),
        }
        state.contacts[record["id"]] = record
        state.contacts_by_campaign.setdefault(campaign_id, []).append(record["id"])
        open_phones[phone] = record["id"]


def _fresh_number(rng, taken) -> str:
    while True:
        number = f"+1555{rng.randrange(10**9):09d}"
        if not taken(number):
            return number


def _stamp(offset: int) -> str:
    return (BASE_TIME + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
