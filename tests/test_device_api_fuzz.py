"""Random batches against the device route of a real Odoo (docs/device-api.md).

The promise held here: a bad event is an error of that event alone. Every batch mixes
valid events of real keypads with garbage (wrong types, huge numbers, unicode with NUL
and lone surrogates, empty and nested values, missing keys, unknown devices) and
"wild" events whose outcome depends on the server (random phones, business codes,
employee numbers). For every batch:
- the call answers a result, never a server error, with one result per event in order;
- every garbage event is `error` with a documented code and a message, and nothing of
  it is stored;
- every valid event is `stored` (`duplicate` when resent; `ok` for a heartbeat) and
  is in the database afterwards, once; a wild event is one of these or an error.
"""

import json
import re
import sys
import urllib.error
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo_server import ROOT, create_keypads

sys.path.insert(0, str(ROOT / "docs" / "examples"))
from service_units_client import json2_call

ROUTE = "/service_evaluation/device/events"
BATCHES = 300
KEYPADS = 3
RATE_KEYS = (1, 2, 3, 4)  # the standard four-key scale of the demo company
STORED_TYPES = ("start", "end", "rate", "login", "logout")
FRESH_ID = re.compile(r"[0-9a-f]{32}:.*:", re.DOTALL)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def documented_codes() -> set[str]:
    """The codes of the table "Errors of one event" in docs/device-api.md."""
    doc = (ROOT / "docs" / "device-api.md").read_text()
    table = doc.split("## Errors of one event", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def fleet(odoo_db):
    made = create_keypads(odoo_db, "Fuzz", KEYPADS)
    prefix = made["serials"][0][:-2]
    return {
        "headers": {"Authorization": f"Bearer {made['key']}"},
        "serials": made["serials"],
        "counters": {s: f"{prefix}-{i}" for i, s in enumerate(made["serials"], 1)},
        "number": made["number"],
    }


# ---- values --------------------------------------------------------------------------

# Text PostgreSQL can store: any unicode but NUL and surrogates.
storable_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
lone_surrogate = st.characters(categories=["Cs"])
huge_ints = st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30, -(10**30)])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | huge_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(), max_size=20)  # NUL and lone surrogates included
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
empties = st.sampled_from([None, "", "   ", [], {}, [[]], {"": {}}])


@st.composite
def unstorable_text(draw, base: str = "x"):
    """`base` with a NUL or a lone surrogate inserted somewhere in it."""
    bad = draw(st.just("\x00") | lone_surrogate)
    at = draw(st.integers(0, len(base)))
    return base[:at] + bad + base[at:]


def not_text(limit: int):
    """Values a text field refuses: other types, empty, too long, unstorable."""
    return (
        empties.filter(lambda v: v not in (None, "", "   "))  # empty = missing: not always bad
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.booleans()
        | st.lists(scalars, min_size=1, max_size=3)
        | st.dictionaries(st.text(max_size=3), scalars, min_size=1, max_size=2)
        | st.integers(min_value=10**limit)
        | st.text(
            st.characters(codec="utf-8", exclude_categories=["Z", "Cc"]),
            min_size=limit + 1,
            max_size=limit + 20,
        )
        | unstorable_text("KP-" + "7" * 8)
    )


# ---- events --------------------------------------------------------------------------


@st.composite
def valid_events(draw, fleet):
    """An event of one of our keypads that the route must store (a heartbeat: `ok`)."""
    serial = draw(st.sampled_from(fleet["serials"]))
    kind = draw(st.sampled_from((*STORED_TYPES, "heartbeat")))
    moment = datetime.now(timezone.utc) - timedelta(seconds=draw(st.integers(5, 3000)))
    time_format = draw(st.sampled_from(("offset", "z", "epoch_ms", "epoch_float")))
    if time_format == "offset":
        offset = timezone(timedelta(minutes=15 * draw(st.integers(-48, 56))))
        when = moment.astimezone(offset).isoformat(timespec="milliseconds")
    elif time_format == "z":
        when = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    elif time_format == "epoch_ms":
        when = int(moment.timestamp() * 1000)
    else:
        when = moment.timestamp() * 1000
    raw = {
        "id": f"{uuid.uuid4().hex}:{draw(storable_text)}:",
        "device": serial,
        "type": kind,
        "time": when,
    }
    if kind == "rate":
        raw["key"] = draw(st.sampled_from(RATE_KEYS))
    if kind == "login":
        raw["employee"] = fleet["number"]
    if draw(st.booleans()):
        raw["counter"] = fleet["counters"][serial]
    if kind == "heartbeat":
        raw["firmware"] = draw(storable_text.map(str.strip))
        raw["key_count"] = draw(st.integers(1, 8))
    return raw


@st.composite
def poisoned_events(draw, fleet):
    """A valid event spoilt in one field, so that the route must refuse it."""
    raw = draw(valid_events(fleet))
    serial = raw["device"]
    poison = draw(
        st.sampled_from(
            ("id", "device", "device_nul", "unknown_device", "missing", "type", "time",
             "key", "key_count", "employee", "counter", "business", "phone", "firmware",
             "not_an_object")
        )
    )  # fmt: skip
    if poison == "id":
        raw["id"] = draw(not_text(64) | empties)
    elif poison == "device":
        raw["device"] = draw(not_text(64) | empties)
    elif poison == "device_nul":  # the finding: a real serial with a NUL in it
        raw["device"] = draw(unstorable_text(serial))
    elif poison == "unknown_device":
        raw["device"] = draw(storable_text.map(lambda text: "NX-" + text.strip()))
    elif poison == "missing":
        raw.pop(draw(st.sampled_from(("id", "device", "type", "time"))))
    elif poison == "type":
        raw["type"] = draw(junk.filter(lambda v: v not in (*STORED_TYPES, "heartbeat")))
    elif poison == "time":
        raw["time"] = draw(
            st.sampled_from(
                ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2999-01-01T00:00:00Z",
                 "2000-01-01T00:00:00Z", "2026-11-23T09:00:00", "0001-01-01T00:00:00Z", 10**20,
                 -(10**20), 1e300, -1e300, 2**63, "", True]
            )
            | st.text(st.characters(), max_size=30)
            | st.lists(scalars, max_size=2)
            # A good time but for a NUL, at which Python's fromisoformat would stop.
            | st.builds(lambda: datetime.now(timezone.utc).isoformat(timespec="seconds") + "\x00")
        )  # fmt: skip
    elif poison == "key":
        raw["type"] = "rate"
        raw["key"] = draw(
            huge_ints | st.sampled_from([0, 9, -1, True, 1.0, "1", None, [1], {"key": 1}])
        )
    elif poison == "key_count":
        raw["key_count"] = draw(
            huge_ints | st.sampled_from([0, 9, -1, True, 4.0, "4", "", [4], {}])
        )
    elif poison == "employee":
        if draw(st.booleans()):
            raw.update(type="login", employee=draw(unstorable_text(fleet["number"])))
        else:  # unknown or missing on a login
            raw.update(type="login", employee="NOBODY-" + draw(st.text(max_size=5)))
            if draw(st.booleans()):
                raw.pop("employee")
    elif poison == "counter":
        others = [c for s, c in fleet["counters"].items() if s != serial]
        raw["counter"] = draw(st.sampled_from(others) | not_text(64))
    elif poison == "business":
        raw["business"] = draw(st.just("NO-SUCH-BUSINESS") | not_text(64))
    elif poison == "phone":
        raw["customer_phone"] = draw(st.just("not a phone") | not_text(32))
    elif poison == "firmware":
        raw["firmware"] = draw(not_text(64))
    else:
        raw = draw(st.sampled_from(([raw], json.dumps(raw), None, 17, 1.5, True)))
    return raw


@st.composite
def junk_events(draw, fleet):
    """Random JSON values and objects: never an event of one of our keypads."""
    real = set(fleet["serials"])
    fields = ("id", "device", "type", "time", "key", "employee", "counter", "business",
              "customer_phone", "firmware", "key_count")  # fmt: skip
    value = draw(
        junk.filter(lambda v: not isinstance(v, dict))
        | st.fixed_dictionaries(
            {}, optional={field: junk | st.sampled_from(STORED_TYPES) for field in fields}
        )
    )
    device = value.get("device") if isinstance(value, dict) else None
    if isinstance(device, str) and device.strip() in real:
        value["device"] += "-not-ours"
    return value


@st.composite
def wild_events(draw, fleet):
    """A valid event with random optional fields the server judges (phone, business,
    employee, firmware): stored, ok or an error, but never a failed batch."""
    raw = draw(valid_events(fleet))
    extra = {
        "customer_phone": st.text("+0123456789 -()", max_size=20) | storable_text,
        "business": storable_text,
        "employee": storable_text | st.integers(-(10**20), 10**20),
        "firmware": storable_text,
        "counter": storable_text,
    }
    for field in draw(st.sets(st.sampled_from(sorted(extra)), min_size=1)):
        raw[field] = draw(extra[field])
    return raw


def batches(fleet):
    entry = (
        st.tuples(st.just("valid"), valid_events(fleet))
        | st.tuples(st.just("garbage"), poisoned_events(fleet))
        | st.tuples(st.just("garbage"), junk_events(fleet))
        | st.tuples(st.just("wild"), wild_events(fleet))
    )
    return st.lists(entry, min_size=1, max_size=10)


# ---- the test ------------------------------------------------------------------------


# What a non-garbage event may get, by (kind, is a heartbeat); errors are checked apart.
ALLOWED = {
    ("valid", False): {"stored"},
    ("valid", True): {"ok"},
    ("wild", False): {"stored"},
    ("wild", True): {"ok"},
    ("resent", False): {"duplicate"},
}


def is_fresh(raw) -> bool:
    """Whether `raw` carries an id made by valid_events (so one we may look up)."""
    uid = raw.get("id") if isinstance(raw, dict) else None
    return isinstance(uid, str) and bool(FRESH_ID.fullmatch(uid)) and not UNSTORABLE.search(uid)


def documented_id(raw):
    """A result's `id` as docs/device-api.md ("Reply") states it: the event's id as Odoo
    reads it (text or a number, trimmed, 1 to 64 storable characters), else None."""
    uid = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(uid, bool) or not isinstance(uid, str | int):
        return None
    uid = str(uid).strip()
    return uid if uid and len(uid) <= 64 and not UNSTORABLE.search(uid) else None


def post(odoo_server, fleet, events):
    try:
        reply = odoo_server.jsonrpc(ROUTE, {"events": events}, fleet["headers"])
    except urllib.error.HTTPError as error:
        raise AssertionError(f"HTTP {error.code} for the batch {events!r}") from None
    assert "error" not in reply, f"the batch failed as a whole: {reply['error']!r} for {events!r}"
    return reply["result"]


def stored_rows(odoo_server, admin_api_key, uids):
    """(uid, serial) of the stored events with these ids."""
    rows = json2_call(
        odoo_server.url,
        odoo_server.db,
        admin_api_key,
        "service.evaluation.event",
        "search_read",
        domain=[["event_uid", "in", uids]],
        fields=["event_uid", "device_id"],
    )
    return sorted((row["event_uid"], row["device_id"][1]) for row in rows)


def test_bad_events_never_fail_their_batch(odoo_server, fleet, admin_api_key):
    codes = documented_codes()
    assert {"malformed_event", "malformed_time", "unknown_device"} <= codes
    sent = []  # valid events stored by earlier batches, to resend
    counts = {"batches": 0, "valid": 0, "garbage": 0, "wild": 0, "resent": 0}

    @settings(
        max_examples=BATCHES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=batches(fleet), resend=st.lists(st.integers(0, 10**6), max_size=2))
    def check(batch, resend):
        batch = list(batch) + [("resent", sent[pick % len(sent)]) for pick in resend if sent]
        events = [raw for _kind, raw in batch]
        results = post(odoo_server, fleet, events)["results"]
        assert len(results) == len(events), results

        expected, fresh = set(), []
        for (kind, raw), result in zip(batch, results, strict=True):
            counts[kind] += 1
            if is_fresh(raw):
                fresh.append(raw["id"])
            # One shape for every result: always an id (None when the event has no usable
            # one), a status, and a code and message for an error.
            assert "id" in result, (raw, result)
            assert result["id"] == documented_id(raw), (raw, result)
            if result["status"] == "error":
                assert set(result) == {"id", "status", "code", "message"}, result
                assert kind in ("garbage", "wild"), (kind, raw, result)
                assert result["code"] in codes, (raw, result)
                assert isinstance(result["message"], str) and result["message"], result
                continue
            assert kind != "garbage", (raw, result)
            assert set(result) == {"id", "status"}, result
            assert result["status"] in ALLOWED[kind, raw["type"] == "heartbeat"], (raw, result)
            assert result["id"] == raw["id"], (raw, result)
            if result["status"] in ("stored", "duplicate"):
                expected.add((raw["id"], raw["device"]))
                if kind != "resent":
                    sent.append(raw)
        # Exactly the accepted events are in the database, once; no refused one is.
        if fresh:
            assert stored_rows(odoo_server, admin_api_key, fresh) == sorted(expected)
        counts["batches"] += 1

    check()
    print(f"fuzzed the device route: {counts}")
    assert counts["batches"] >= BATCHES
    # Each kind of event was sent often enough to mean something.
    assert counts["garbage"] >= BATCHES and counts["resent"] > 0
    assert counts["valid"] >= BATCHES // 2 and counts["wild"] >= BATCHES // 2
