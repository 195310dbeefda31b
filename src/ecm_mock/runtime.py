"""The campaign runtime: a deterministic simulation of a UMM's feeder, dialer and retries.

Each store's :class:`RuntimeState` (a field of its :class:`~ecm_mock.state.State`, so
snapshots, resets and fixtures include it) holds an outcome model, a heap of timed events,
per-campaign queues of the contacts waiting to be fed, a bounded call log and a seeded random
generator. :func:`advance` processes, in time order, everything due up to a moment:

- every ``feeder_interval`` seconds (at multiples of it) the **feeder** hands the due contacts
  of each ACTIVE campaign to the dialer, at most a batch per campaign (the preference
  settings' ``campaignBatchSize``, ``ivrBatchSize`` for IVR campaigns), only inside the
  campaign's hours and days in the contact's time zone (else the deployment's): due retries
  first, earliest first, then fresh contacts by id. A handed contact becomes IN_PROGRESS;
- ``call_seconds`` later the **dialer** makes the contact's current attempt of its campaign's
  strategy as it is then. An attempt that cannot be made (no number, a number on the DNC
  list, a voice attempt in a NONE campaign) is skipped for the next attempt by number; a
  voice call's result comes from the outcome rules or the seeded distribution; the attempt's
  retry map says what is next (an SMS attempt's entry: after its response timeout).

Same seed, same requests and same clock moves give the same calls. Nothing here knows HTTP:
the engine and the control plane call :func:`run_due`, :func:`advance` and the model
functions under the store's lock.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import heapq
import itertools
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import re2

from .clock import iso, time_zone
from .settings import Settings

if TYPE_CHECKING:
    from .state import State, Store

# Call results of a voice call: the vendor's 1-5 (attempt-save documentation) and ours, 0,
# for a connected call (the vendor lists only the results that are not connected).
RESULTS = {
    "CONNECTED": 0,
    "BUSY": 1,
    "NO_ANSWER": 2,
    "CUSTOMER_ABANDONED": 3,
    "DIALER_ABANDONED": 4,
    "OTHERS_NOT_CONNECTED": 5,
}
RESULT_NAMES = {code: name for name, code in RESULTS.items()}
CONNECTED = 0
# The outcome distribution when none is set (inferred weights).
DEFAULT_DISTRIBUTION = {
    "CONNECTED": 35,
    "BUSY": 15,
    "NO_ANSWER": 30,
    "CUSTOMER_ABANDONED": 5,
    "DIALER_ABANDONED": 5,
    "OTHERS_NOT_CONNECTED": 10,
}
SMS_SENT, SKIPPED = "SMS_SENT", "SKIPPED"  # call-log results besides the voice ones
NO_NUMBER, DNC, VOICE_IN_SMS_CAMPAIGN = "NO_NUMBER", "DNC", "VOICE_IN_SMS_CAMPAIGN"
VOICE, SMS = 0, 1
PHONE_FIELDS = {str(n): f"phone0{n}" for n in range(1, 6)}  # an attempt's phone -> the field
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
SLICE = 50  # units of work (a call, a contact fed) between looks at the time budget
BUILD_CHUNK, BUILD_PER_UNIT = 2000, 20  # contacts queued per step of a build; per unit of work

# The call log keeps tuples (cheap to make and to keep); these are their fields.
CALL_FIELDS = (
    "seq",
    "at",
    "campaignId",
    "contactId",
    "attemptId",
    "attemptNumber",
    "channel",
    "phoneField",
    "number",
    "result",
    "resultCode",
    "skipReason",
)


@dataclass
class RuntimeState:
    """The campaign runtime of one store: outcome model, events, queues, call log, dice."""

    # the outcome model (admin.yaml's OutcomeModel); defaults from Settings
    enabled: bool = Settings.runtime
    feeder_interval: int = Settings.feeder_interval
    call_seconds: int = Settings.call_seconds
    time_zone: str = Settings.time_zone
    empty_phone: str = Settings.empty_phone
    seed: int = Settings.seed
    distribution: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DISTRIBUTION))
    campaign_distributions: dict[int, dict[str, float]] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)  # OutcomeRule objects
    last_rule_id: int = 0
    batch_defaults: tuple[int, int] = (10, 10)  # campaign, IVR: when no preferences are saved
    dice: dict[int, tuple[tuple[int, ...], list[float]]] = field(default_factory=dict)  # cache
    rng: random.Random = field(default_factory=lambda: random.Random(Settings.seed))  # noqa: S311
    # time: everything due up to processed_until has happened; the next feed cycle
    processed_until: float | None = None
    next_tick: float = math.inf
    events: list[tuple[float, int, int]] = field(default_factory=list)  # (at, seq, contact)
    seq: int = 0
    # contact id -> the number of the attempt it is at (absent: 1)
    current: dict[int, int] = field(default_factory=dict)
    # campaign -> time zone (None: the deployment's) -> [fresh ids (deque), retries (heap)]
    queues: dict[int, dict[str | None, list[Any]]] = field(default_factory=dict)
    building: dict[int, int] = field(default_factory=dict)  # campaign -> contacts queued so far
    calls: deque[tuple[Any, ...]] = field(
        default_factory=lambda: deque(maxlen=Settings.call_log_size)
    )
    last_call: int = 0


# ------------------------------------------------------------------------- building
def new_state(
    settings: Settings,
    fixture: dict[str, Any] | None = None,
    *,
    now: float | None = None,
    batch_defaults: tuple[int, int] = (10, 10),
) -> RuntimeState:
    """A store's runtime: the settings' defaults, then the fixture's model and rules."""
    runtime = RuntimeState(
        enabled=settings.runtime,
        feeder_interval=settings.feeder_interval,
        call_seconds=settings.call_seconds,
        time_zone=settings.time_zone,
        empty_phone=settings.empty_phone,
        seed=settings.seed,
        batch_defaults=batch_defaults,
        rng=random.Random(settings.seed),  # noqa: S311 - test data, not cryptography
        calls=deque(maxlen=settings.call_log_size),
    )
    fixture = fixture or {}
    set_model(runtime, fixture.get("model") or {})
    for rule in fixture.get("rules") or ():
        add_rule(runtime, rule)
    if now is not None:
        _begin(runtime, now)
    return runtime


def _begin(runtime: RuntimeState, now: float) -> None:
    runtime.processed_until = now
    runtime.next_tick = _tick_after(now, runtime.feeder_interval)


def _tick_after(moment: float, interval: int) -> float:
    """The first feed cycle after ``moment`` (cycles run at multiples of the interval)."""
    return (math.floor(moment / interval) + 1) * interval


def _tick_from(moment: float, interval: int) -> float:
    """The first feed cycle at or after ``moment``."""
    return math.ceil(moment / interval) * interval


# ------------------------------------------------------------------------ the model
def model_problem(change: dict[str, Any], base: str = "/body") -> tuple[str, str] | None:
    """(pointer, message) when a schema-valid model change breaks a rule, else None."""
    zone = change.get("timeZone")
    if zone is not None and time_zone(zone) is None:
        return f"{base}/timeZone", f"unknown time zone {zone!r}"
    distributions = [("defaultDistribution", change.get("defaultDistribution"))]
    for key, weights in (change.get("campaignDistributions") or {}).items():
        distributions.append((f"campaignDistributions/{key}", weights))
    for name, weights in distributions:
        if weights is not None and not any(weights.values()):
            return f"{base}/{name}", "at least one result needs a weight above 0"
    return None


def rule_problem(rule: dict[str, Any], base: str = "/body") -> tuple[str, str] | None:
    """(pointer, message) when a schema-valid outcome rule is unusable, else None."""
    given = [k for k in ("number", "pattern", "regex") if k in rule]
    if len(given) != 1:
        return base, "give exactly one of number, pattern and regex" + (
            f" (not {' and '.join(given)})" if given else ""
        )
    if "regex" in rule:
        try:
            _regex(rule["regex"])
        except re2.error as exc:
            reason = exc.args[0].decode() if isinstance(exc.args[0], bytes) else exc.args[0]
            return f"{base}/regex", f"not a regular expression RE2 reads: {reason}"
    return None


def model(runtime: RuntimeState) -> dict[str, Any]:
    """The outcome model as admin.yaml's OutcomeModel."""
    return {
        "enabled": runtime.enabled,
        "feederIntervalSeconds": runtime.feeder_interval,
        "callSeconds": runtime.call_seconds,
        "timeZone": runtime.time_zone,
        "emptyPhone": runtime.empty_phone,
        "seed": runtime.seed,
        "defaultDistribution": dict(runtime.distribution),
        "campaignDistributions": {
            str(k): dict(v) for k, v in sorted(runtime.campaign_distributions.items())
        },
    }


def set_model(runtime: RuntimeState, change: dict[str, Any]) -> None:
    """Apply a checked OutcomeModelChange (see :func:`model_problem`)."""
    if "feederIntervalSeconds" in change:
        runtime.feeder_interval = change["feederIntervalSeconds"]
        if runtime.processed_until is not None:
            runtime.next_tick = _tick_after(runtime.processed_until, runtime.feeder_interval)
    if "callSeconds" in change:
        runtime.call_seconds = change["callSeconds"]
    if "timeZone" in change:
        runtime.time_zone = change["timeZone"]
    if "emptyPhone" in change:
        runtime.empty_phone = change["emptyPhone"]
    if "seed" in change:
        runtime.seed = change["seed"]
        runtime.rng = random.Random(change["seed"])  # noqa: S311
    runtime.dice.clear()  # the distributions' running totals, made again when next needed
    if "defaultDistribution" in change:
        runtime.distribution = _weights(change["defaultDistribution"])
    if "campaignDistributions" in change:
        runtime.campaign_distributions = {
            int(k): _weights(v) for k, v in change["campaignDistributions"].items()
        }
    if "enabled" in change and change["enabled"] != runtime.enabled:
        runtime.enabled = change["enabled"]
        if runtime.enabled and runtime.processed_until is not None:
            _resume(runtime)


def _weights(given: dict[str, float]) -> dict[str, float]:
    """A distribution: every result, those not given at weight 0."""
    return {name: given.get(name, 0) for name in RESULTS}


def _resume(runtime: RuntimeState) -> None:
    """Switched on again: what fell due while off happens now, in its order."""
    now = runtime.processed_until
    overdue = []
    while runtime.events and runtime.events[0][0] < now:
        overdue.append(heapq.heappop(runtime.events))
    for _, seq, contact_id in overdue:
        heapq.heappush(runtime.events, (now, seq, contact_id))
    runtime.next_tick = _tick_after(now, runtime.feeder_interval)


def add_rule(runtime: RuntimeState, rule: dict[str, Any]) -> dict[str, Any]:
    """Store a checked OutcomeRuleCreate; returns it as an OutcomeRule."""
    runtime.last_rule_id += 1
    stored = {
        "id": runtime.last_rule_id,
        **rule,
        "hits": 0,
        "remaining": rule.get("times"),
    }
    runtime.rules.append(stored)
    return dict(stored)


def remove_rule(runtime: RuntimeState, rule_id: int) -> bool:
    before = len(runtime.rules)
    runtime.rules = [r for r in runtime.rules if r["id"] != rule_id]
    return len(runtime.rules) != before


@functools.lru_cache(maxsize=256)
def _matcher(kind: str, text: str) -> Callable[[str], Any]:
    if kind == "number":
        return text.__eq__
    if kind == "pattern":
        return re.compile(fnmatch.translate(text)).match
    return _regex(text).fullmatch


def _regex(text: str) -> Any:
    """``text`` compiled by RE2 (google-re2): Python's syntax without backreferences and
    lookaround, matched in time linear in the number's length, so no rule can hold the
    runtime up (Python's ``re`` took seconds, doubling with each digit, on ``(\\d+)+x``)."""
    options = re2.Options()
    options.log_errors = False  # the error comes back as the 400's message, not on stderr
    return re2.compile(text, options=options)


def _rule_matches(rule: dict[str, Any], campaign_id: int, number: str) -> bool:
    if rule.get("campaignId", campaign_id) != campaign_id:
        return False
    for kind in ("number", "pattern", "regex"):
        if kind in rule:
            return bool(_matcher(kind, rule[kind])(number))
    return False


# ----------------------------------------------------------------------- the log
def calls(
    runtime: RuntimeState,
    *,
    limit: int | None = None,
    since: float | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """The call log (oldest first) filtered by fields of CALL_FIELDS; the newest ``limit``."""
    checks = [(CALL_FIELDS.index(k), v) for k, v in filters.items() if v is not None]
    at = CALL_FIELDS.index("at")
    found = [
        entry
        for entry in runtime.calls
        if all(entry[i] == v for i, v in checks) and (since is None or entry[at] >= since)
    ]
    if limit:
        found = found[-limit:]
    return [_call_json(entry) for entry in found]


def _call_json(entry: tuple[Any, ...]) -> dict[str, Any]:
    call = dict(zip(CALL_FIELDS, entry, strict=True))
    call["at"] = iso(call["at"])
    return call


def summary(runtime: RuntimeState) -> dict[str, Any]:
    """What the state dump shows of the runtime."""
    until = runtime.processed_until
    return {
        "enabled": runtime.enabled,
        "processedUntil": None if until is None else iso(until),
        "nextFeed": iso(runtime.next_tick) if math.isfinite(runtime.next_tick) else None,
        "inDialer": len(runtime.events),
        "calls": runtime.last_call,
        "rules": len(runtime.rules),
    }


# ------------------------------------------------------------------- running it
def anything_due(stores: Iterable[Store], now: float) -> bool:
    """Is any runtime behind ``now``? A glance without the stores' locks: a change racing
    with it is seen at the next glance."""
    for store in stores:
        runtime = store.peek().runtime
        if runtime.processed_until is None or now < runtime.processed_until:
            return True  # not started, or the clock went back: a slice sets it right
        if runtime.enabled and (
            runtime.next_tick <= now or (runtime.events and runtime.events[0][0] <= now)
        ):
            return True
    return False


def run_due(
    stores: Iterable[Store], now: Callable[[], float], max_seconds: float | None = None
) -> bool:
    """Bring every store's runtime up to ``now()``, in slices under each store's lock.

    Between slices the lock is released, so requests go on. ``max_seconds``: stop after about
    this long (None: when every store is up to date). True when every store is.
    """
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    until = now()
    for store in stores:
        while True:
            with store.transaction() as state:
                done = advance(state, until, SLICE)
            if done:
                break
            if deadline is not None:
                if time.perf_counter() >= deadline:
                    return False
                time.sleep(0)  # a request waiting for the interpreter goes first
    return True


def advance(state: State, until: float, budget: int | None = None) -> bool:
    """Process everything due up to ``until`` in time order (ties: in the order scheduled).

    With a ``budget``, stop after about that many units of work; True when done.
    """
    runtime = state.runtime
    if runtime.processed_until is None or until < runtime.processed_until:
        _begin(runtime, until)  # a runtime starts where it is first driven; the clock went back
        return True
    if not runtime.enabled:
        _begin(runtime, until)
        return True
    events = runtime.events
    work = 0
    while True:
        tick = runtime.next_tick
        if events and events[0][0] <= tick and events[0][0] <= until:
            at, _, contact_id = heapq.heappop(events)
            runtime.processed_until = at
            _dial(state, at, contact_id)
            work += 1
        elif tick <= until:
            unbuilt = _unbuilt(state)
            if unbuilt is not None:  # first the queues the feed cycle needs, a part at a time
                work += 1 + _build(state, unbuilt, BUILD_CHUNK) // BUILD_PER_UNIT
            else:
                runtime.processed_until = tick
                work += 1 + _feed(state, tick, until)
        else:
            runtime.processed_until = until
            return True
        if budget is not None and work >= budget:
            return False


# ------------------------------------------------------------------------ feeder
def contact_added(state: State, contact: dict[str, Any]) -> None:
    """A new contact: fresh in its campaign's queues (once they are built: until then the
    build comes to it)."""
    runtime, campaign_id = state.runtime, contact["campaignId"]
    queues = runtime.queues.get(campaign_id)
    if queues is not None and campaign_id not in runtime.building:
        _zone_queue(queues, contact)[0].append(contact["id"])


def _zone_queue(queues: dict[str | None, list[Any]], contact: dict[str, Any]) -> list[Any]:
    key = contact.get("timeZone")
    queue = queues.get(key)
    if queue is None:
        queue = queues[key] = [deque(), []]
    return queue


def _queues(state: State, campaign_id: int) -> dict[str | None, list[Any]]:
    """The campaign's queues, built in full if they are not yet."""
    runtime = state.runtime
    queues = runtime.queues.get(campaign_id)
    if queues is None or campaign_id in runtime.building:
        _build(state, campaign_id, None)
        queues = runtime.queues[campaign_id]
    return queues


def _unbuilt(state: State) -> int | None:
    """An ACTIVE campaign whose queues are not (fully) built yet, if any."""
    runtime = state.runtime
    for campaign_id, campaign in state.campaigns.items():
        if campaign["status"] == "ACTIVE" and (
            campaign_id not in runtime.queues or campaign_id in runtime.building
        ):
            return campaign_id
    return None


def _build(state: State, campaign_id: int, limit: int | None) -> int:
    """Build the campaign's queues from its records, at most ``limit`` contacts at a time
    (so a large campaign is built over several slices). Returns how many it went through.

    A contact loaded with no attempt made is fresh; one loaded PENDING after attempts, or
    IN_PROGRESS, is a retry due at its ``nextAttemptAt`` (or at once), at the attempt after
    those made (inferred: the loaded data does not say which attempt it is at).
    """
    runtime = state.runtime
    queues = runtime.queues.setdefault(campaign_id, {})
    ids = state.contacts_by_campaign.get(campaign_id, [])
    start = runtime.building.pop(campaign_id, 0)
    end = len(ids) if limit is None else min(len(ids), start + limit)
    if end < len(ids):
        runtime.building[campaign_id] = end
    contacts = state.contacts
    for contact_id in itertools.islice(ids, start, end):
        contact = contacts[contact_id]
        status = contact["status"]
        if status == "CLOSED":
            continue
        queue = _zone_queue(queues, contact)
        if status == "PENDING" and not contact["attemptsMade"] and "nextAttemptAt" not in contact:
            queue[0].append(contact_id)
            continue
        if contact["attemptsMade"] and contact_id not in runtime.current:
            runtime.current[contact_id] = contact["attemptsMade"] + 1
        due = _epoch(contact["nextAttemptAt"]) if "nextAttemptAt" in contact else -math.inf
        heapq.heappush(queue[1], (due, contact_id))
    return end - start


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _feed(state: State, tick: float, until: float) -> int:
    """One feed cycle; sets the next. Returns how many contacts it handed over."""
    runtime = state.runtime
    campaigns, contacts = state.campaigns, state.contacts
    for gone in [c for c in runtime.queues if c not in campaigns]:
        del runtime.queues[gone]  # deleted with their contacts
        runtime.building.pop(gone, None)
    local: dict[str | None, tuple[str, str]] = {}
    handed = 0
    waiting = False  # due contacts left behind (batch full, or outside calling hours)
    later = math.inf  # the earliest retry of an ACTIVE campaign not due yet
    for campaign_id in sorted(campaigns):
        campaign = campaigns[campaign_id]
        if campaign["status"] != "ACTIVE":
            continue
        queues = _queues(state, campaign_id)
        open_queues = []
        for zone, queue in queues.items():
            retries = queue[1]
            if retries and retries[0][0] > tick:
                later = min(later, retries[0][0])
            if not (queue[0] or (retries and retries[0][0] <= tick)):
                continue
            if _calling_hours(campaign, _local(local, zone or runtime.time_zone, tick)):
                open_queues.append(queue)
            else:
                waiting = True
        if not open_queues:
            continue
        batch = _batch_size(state, campaign)
        taken = _take(open_queues, contacts, batch, tick)
        at, events = tick + runtime.call_seconds, runtime.events
        for contact in taken:  # handed to the dialer: the attempt is made call_seconds later
            contact["status"] = "IN_PROGRESS"
            contact.pop("nextAttemptAt", None)
            runtime.seq += 1
            heapq.heappush(events, (at, runtime.seq, contact["id"]))
        handed += len(taken)
        if len(taken) >= batch:
            waiting = waiting or any(q[0] or (q[1] and q[1][0][0] <= tick) for q in open_queues)
    interval = runtime.feeder_interval
    if waiting:
        runtime.next_tick = _tick_after(tick, interval)
    else:  # nothing to feed before a call ends, a retry falls due, or the clock stops
        soonest = min(runtime.events[0][0] if runtime.events else math.inf, later, until)
        runtime.next_tick = max(_tick_after(tick, interval), _tick_from(soonest, interval))
    return handed


def _take(
    open_queues: list[list[Any]], contacts: dict[int, Any], batch: int, tick: float
) -> list[dict[str, Any]]:
    """Up to ``batch`` contacts off the queues: due retries first (earliest first, then by
    id), then fresh contacts by id, merged over the time zones' queues."""
    taken: list[dict[str, Any]] = []
    # heads of the queues in a heap: (due, id) of a retry heap, or the id of a fresh deque
    heads = [(q[1][0], i) for i, q in enumerate(open_queues) if q[1] and q[1][0][0] <= tick]
    heapq.heapify(heads)
    while heads and len(taken) < batch:
        (_, contact_id), i = heapq.heappop(heads)
        retries = open_queues[i][1]
        heapq.heappop(retries)
        if retries and retries[0][0] <= tick:
            heapq.heappush(heads, (retries[0], i))
        contact = contacts.get(contact_id)
        if contact is not None and contact["status"] != "CLOSED":
            taken.append(contact)
    if len(taken) < batch:
        fresh_heads = [(q[0][0], i) for i, q in enumerate(open_queues) if q[0]]
        heapq.heapify(fresh_heads)
        while fresh_heads and len(taken) < batch:
            contact_id, i = heapq.heappop(fresh_heads)
            fresh = open_queues[i][0]
            fresh.popleft()
            if fresh:
                heapq.heappush(fresh_heads, (fresh[0], i))
            contact = contacts.get(contact_id)
            if contact is not None and contact["status"] != "CLOSED":
                taken.append(contact)
    return taken


def _local(cache: dict[str | None, tuple[str, str]], zone: str, moment: float) -> tuple[str, str]:
    """(weekday, HH:MM) at ``moment`` in ``zone`` (an unknown zone: UTC)."""
    found = cache.get(zone)
    if found is None:
        where = time_zone(zone) or UTC
        try:
            at = datetime.fromtimestamp(moment, where)
        except (OverflowError, ValueError):  # east of UTC at the clock's last hours: year
            at = datetime.fromtimestamp(moment - 7 * 86400, where)  # 10000; a week before
        found = cache[zone] = (WEEKDAYS[at.weekday()], f"{at.hour:02d}:{at.minute:02d}")
    return found


def _calling_hours(campaign: dict[str, Any], local: tuple[str, str]) -> bool:
    day, hour_minute = local
    return (
        day in campaign["daysOfWeek"] and campaign["startTime"] <= hour_minute < campaign["endTime"]
    )


def _batch_size(state: State, campaign: dict[str, Any]) -> int:
    ivr = campaign["campaignType"] == "IVR"
    saved = state.preferences or {}
    default = state.runtime.batch_defaults[1 if ivr else 0]
    return saved.get("ivrBatchSize" if ivr else "campaignBatchSize", default)


# ------------------------------------------------------------------------ dialer
def _dial(state: State, at: float, contact_id: int) -> None:
    """Make the contact's current attempt (skipping those that cannot be made)."""
    runtime = state.runtime
    contact = state.contacts.get(contact_id)
    if contact is None or contact["status"] != "IN_PROGRESS":
        return  # deleted with its campaign
    campaign = state.campaigns[contact["campaignId"]]
    numbers = state.numbers_in(campaign["strategyId"])  # the strategy as it is now
    number = runtime.current.get(contact_id, 1)
    attempts, dnc = state.attempts, state.dnc_by_number
    sms_only = campaign["campaignType"] == "NONE"
    while True:
        attempt_id = numbers.get(number)
        if attempt_id is None:  # no such attempt (any more): the next one by number
            number = min((n for n in numbers if n > number), default=None)
            if number is None:
                _close(state, contact)
                return
            attempt_id = numbers[number]
        attempt = attempts[attempt_id]
        phone_field = PHONE_FIELDS[attempt["phone"]]
        phone = contact.get(phone_field)
        if not phone and runtime.empty_phone == "phone01":
            phone_field, phone = "phone01", contact["phone01"]
        if phone and phone not in dnc and not (sms_only and attempt["channel"] == VOICE):
            break
        reason = NO_NUMBER if not phone else DNC if phone in dnc else VOICE_IN_SMS_CAMPAIGN
        _log(runtime, at, contact, attempt, phone_field, phone, SKIPPED, None, reason)
        number += 1
    contact["attemptsMade"] += 1
    runtime.current[contact_id] = number
    retry_map = attempt["retryMap"]
    if attempt["channel"] == SMS:
        _log(runtime, at, contact, attempt, phone_field, phone, SMS_SENT, None, None)
        entry = retry_map[0] if retry_map else None
        if entry is None or "attempt_number" not in entry:
            _close(state, contact)
        else:  # ECM does not read replies: no response is the timeout running out
            _retry(state, contact, at + entry["sms_response_timeout"] * 60, entry["attempt_number"])
        return
    code = _outcome(runtime, campaign["id"], phone)
    contact["lastCallResult"] = code
    _log(runtime, at, contact, attempt, phone_field, phone, RESULT_NAMES[code], code, None)
    entry = None
    if code != CONNECTED:
        entry = next((e for e in retry_map if e.get("call_result") == code), None)
    if entry is None:
        _close(state, contact)
    else:
        _retry(state, contact, at + entry.get("delay", 0) * 60, entry["attempt_number"])


def _outcome(runtime: RuntimeState, campaign_id: int, number: str) -> int:
    for rule in runtime.rules:
        if _rule_matches(rule, campaign_id, number):
            rule["hits"] += 1
            if rule["remaining"] is not None:
                rule["remaining"] -= 1
                if rule["remaining"] == 0:
                    runtime.rules.remove(rule)
            return RESULTS[rule["result"]]
    dice = runtime.dice.get(campaign_id)
    if dice is None:
        weights = runtime.campaign_distributions.get(campaign_id) or runtime.distribution
        dice = runtime.dice[campaign_id] = _dice(weights)
    codes, totals = dice
    index = bisect.bisect_right(totals, runtime.rng.random() * totals[-1])
    return codes[min(index, len(codes) - 1)]


def _dice(weights: dict[str, float]) -> tuple[tuple[int, ...], list[float]]:
    """The result codes with a weight and their running totals (for one draw per call)."""
    given = [(RESULTS[name], weight) for name, weight in weights.items() if weight > 0]
    return tuple(code for code, _ in given), list(itertools.accumulate(w for _, w in given))


def _retry(state: State, contact: dict[str, Any], due: float, attempt_number: int) -> None:
    runtime = state.runtime
    contact["status"] = "PENDING"
    contact["nextAttemptAt"] = iso(due)
    runtime.current[contact["id"]] = attempt_number
    queues = runtime.queues.get(contact["campaignId"])
    if queues is None:
        _queues(state, contact["campaignId"])  # built with this contact in it
    else:
        heapq.heappush(_zone_queue(queues, contact)[1], (due, contact["id"]))


def _close(state: State, contact: dict[str, Any]) -> None:
    """Closed: never called again; its phone01 may be uploaded to the campaign again."""
    contact["status"] = "CLOSED"
    contact.pop("nextAttemptAt", None)
    state.runtime.current.pop(contact["id"], None)
    phones = state.open_phones.get(contact["campaignId"])
    if phones is not None and phones.get(contact["phone01"]) == contact["id"]:
        del phones[contact["phone01"]]


def _log(
    runtime: RuntimeState,
    at: float,
    contact: dict[str, Any],
    attempt: dict[str, Any],
    phone_field: str,
    phone: str | None,
    result: str,
    code: int | None,
    reason: str | None,
) -> None:
    runtime.last_call += 1
    runtime.calls.append(
        (
            runtime.last_call,
            at,
            contact["campaignId"],
            contact["id"],
            attempt["id"],
            attempt["attemptNumber"],
            attempt["channel"],
            phone_field,
            phone,
            result,
            code,
            reason,
        )
    )
