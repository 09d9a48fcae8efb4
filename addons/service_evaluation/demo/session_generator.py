"""Demo history for the 西区 and 东区 outlets: three months of keypad presses, teller
photos and star levels. Called by the post_init_hook when the module is installed with demo data.

The generator draws what tellers and customers press on each counter's keypad (LOGIN,
START, END, RATE, LOGOUT) and posts those events to the device ingest as the branch's
hardware proxy user, in batches as the proxy sends them. The ingest stores them and
replays them into sessions and shifts (tools/session_replay.py): every demo session
opens "View events", and the demo follows the rules the keypads do:

- a session is START → (END →) rating; a START while the previous session is still
  serving cancels it (no End: no prompt, duration 0);
- after End the customer has `service_rating_window` seconds to press a key; no press
  leaves the session unrated, a press just after it is late;
- a second press right after the counted one is a repeat, not counted;
- the session belongs to the teller logged in on the keypad (one shift per teller and day);
- a branch's tellers work at its counters only (POOLS), so branch scoping shows.

Everything is drawn from `random.Random(19)` (西区) and `random.Random(20)` (东区), so two
installs on the same day give the same demo. Profiles worth showing: tellers 1-3 are
clearly better than 4-6, and tellers 7-8 are worse *and* prompt selectively (they skip
End for ~35% of their customers); in 东区, teller 12 does the same.
"""

import base64
import io
import logging
import random
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from odoo import fields
from PIL import Image, ImageDraw, ImageFont

from ..controllers.device_api import MAX_BATCH

_logger = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
SEED = 19

COUNTER_XMLIDS = [
    "service_evaluation.counter_xikezhan_1_demo",
    "service_evaluation.counter_xikezhan_2_demo",
    "service_evaluation.counter_xikezhan_3_demo",
    "service_evaluation.counter_chegongzhuang_1_demo",
    "service_evaluation.counter_chegongzhuang_2_demo",
    "service_evaluation.counter_chegongzhuang_3_demo",
]
TELLER_XMLIDS = [f"service_evaluation.employee_teller_{n}_demo" for n in range(1, 9)]
EAST_COUNTER_XMLIDS = [
    "service_evaluation.counter_guomao_1_demo",
    "service_evaluation.counter_guomao_2_demo",
    "service_evaluation.counter_wangjing_1_demo",
    "service_evaluation.counter_wangjing_2_demo",
]
EAST_TELLER_XMLIDS = [f"service_evaluation.employee_teller_{n}_demo" for n in range(9, 13)]

# Per teller: probability of pressing End (prompt coverage), and the weights of
# (very satisfied, satisfied, neutral, dissatisfied) among the rated sessions.
TELLER_PROFILES = [
    (0.95, (82.0, 17.2, 0.6, 0.2)),  # 1 刘洋   ~99 % satisfied
    (0.94, (80.0, 18.5, 1.0, 0.5)),  # 2 陈静   ~98.5 %
    (0.94, (76.0, 21.0, 2.0, 1.0)),  # 3 杨帆   ~97 %
    (0.93, (62.0, 32.0, 4.0, 2.0)),  # 4 黄磊   ~94 %
    (0.92, (58.0, 34.0, 5.5, 2.5)),  # 5 周婷   ~92 %
    (0.93, (63.0, 30.5, 4.5, 2.0)),  # 6 吴昊   ~93.5 %
    (0.68, (50.0, 39.0, 7.5, 3.5)),  # 7 徐丽   ~89 %, selective prompting
    (0.62, (42.0, 42.0, 10.0, 6.0)),  # 8 孙鹏   ~84 %, selective prompting
]
EAST_TELLER_PROFILES = [
    (0.94, (78.0, 19.5, 1.5, 1.0)),  # 9  马超   ~97.5 %
    (0.93, (64.0, 30.0, 4.0, 2.0)),  # 10 林晓   ~94 %
    (0.92, (60.0, 33.0, 5.0, 2.0)),  # 11 郭敏   ~93 %
    (0.66, (46.0, 40.0, 9.0, 5.0)),  # 12 何军   ~86 %, selective prompting
]
# One pool per branch: (counters, tellers, profiles, seed). The 西区 pool comes first
# with the original seed, so adding 东区 left its history as it was.
POOLS = [
    (COUNTER_XMLIDS, TELLER_XMLIDS, TELLER_PROFILES, SEED),
    (EAST_COUNTER_XMLIDS, EAST_TELLER_XMLIDS, EAST_TELLER_PROFILES, SEED + 1),
]
RATED_RATE = 0.88  # of the prompted sessions
# How the dissatisfied customers of an outlet that asks for a reason split over the
# negative keys (in key order): 服务礼仪, 服务效率, 业务知识.
NEGATIVE_REASON_WEIGHTS = (0.3, 0.45, 0.25)

# Service time in minutes by business type code; unknown types get the default.
DURATIONS = {
    "PAY": (2.0, 4.5),
    "DEP": (2.5, 7.0),
    "OPEN": (5.0, 11.0),
    "CORP": (5.0, 12.0),
    "LOAN": (7.0, 12.0),
}
DEFAULT_DURATION = (2.0, 8.0)

OPEN_HOUR, CLOSE_HOUR = 9, 17
# Arrival weight per local hour: morning peak 9-11, lunch dip, afternoon peak 14-16.
HOUR_WEIGHTS = {9: 3.0, 10: 3.2, 11: 2.0, 12: 1.0, 13: 1.4, 14: 2.6, 15: 2.6, 16: 1.5}
# Sessions per counter and day, by weekday (Monday = 0); Sundays are closed.
WEEKDAY_VOLUME = {0: (30, 45), 1: (25, 40), 2: (25, 40), 3: (25, 40), 4: (28, 45), 5: (13, 22)}

AVATAR_COLORS = [
    (0x1F, 0x77, 0xB4),
    (0xD6, 0x27, 0x28),
    (0x2C, 0xA0, 0x2C),
    (0x94, 0x67, 0xBD),
    (0xFF, 0x7F, 0x0E),
    (0x17, 0xBE, 0xCF),
    (0x8C, 0x56, 0x4B),
    (0xE3, 0x77, 0xC2),
]
CJK_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]

# Beyond the rules above, a few presses that show what the replay does with them: a
# customer pressing twice (the second press is a repeat, not counted), and a press
# just after the rating window (late: the session stays unrated).
DOUBLE_PRESS_RATE = 0.03  # of the rated sessions
LATE_PRESS_RATE = 0.1  # of the unrated sessions


def generate_demo_sessions(env):
    """Photos, ~3 months of keypad events replayed into sessions and shifts, star levels;
    for the demo data only."""
    started = time.monotonic()
    pools = []
    for counter_xmlids, teller_xmlids, profiles, seed in POOLS:
        counters = [env.ref(xmlid, raise_if_not_found=False) for xmlid in counter_xmlids]
        tellers = [env.ref(xmlid, raise_if_not_found=False) for xmlid in teller_xmlids]
        counters = [counter for counter in counters if counter and counter.device_ids]
        tellers = [teller for teller in tellers if teller]
        if not counters or len(tellers) < len(counters):
            _logger.warning("Demo counters or tellers missing: no demo sessions for %s.", seed)
            continue
        pools.append((counters, tellers, profiles, seed))
    if not pools:
        return

    _set_teller_photos([teller for _counters, tellers, *_rest in pools for teller in tellers])
    env.flush_all()

    now = fields.Datetime.now().replace(microsecond=0)
    generators = []
    for counters, tellers, profiles, seed in pools:
        generator = _Generator(env, random.Random(seed), counters, tellers, profiles, now)
        generator.run()
        generators.append(generator)
    event_count = sum(len(generator.events) for generator in generators)
    with _history_accepted(env, generators, now):
        for generator in generators:
            generator.post()

    _compute_star_levels(env, now)
    Session = env["service.evaluation.session"]
    counter_ids = [counter.id for generator in generators for counter in generator.counters]
    _logger.info(
        "Demo data: %s keypad events replayed into %s sessions and %s shifts for %s counters "
        "and %s tellers, %s days up to %s, in %.1f s",
        event_count,
        Session.search_count([("counter_id", "in", counter_ids)]),
        env["service.evaluation.shift"].search_count([("counter_id", "in", counter_ids)]),
        len(counter_ids),
        sum(len(generator.tellers) for generator in generators),
        generators[0].day_count,
        generators[0].today,
        time.monotonic() - started,
    )


@contextmanager
def _history_accepted(env, generators, now):
    """The companies accept keypad events as old as the demo's first day while it loads.

    Their own limit (`service_max_event_age_days`) is put back afterwards: the demo's
    history is older than a keypad may normally send.
    """
    companies = env["res.company"].browse(
        {counter.company_id.id for generator in generators for counter in generator.counters}
    )
    limits = {company: company.service_max_event_age_days for company in companies}
    oldest = min(generator.first_day for generator in generators)
    companies.write({"service_max_event_age_days": (now.date() - oldest).days + 2})
    try:
        yield
    finally:
        for company, days in limits.items():
            company.service_max_event_age_days = days


# ---------------------------------------------------------------------------- events
class _Generator:
    """A branch's keypads over the demo period: what their tellers and customers press.

    `run` draws the events in time order; `post` sends them to the device ingest as the
    branch's hardware proxy would (batches of at most MAX_BATCH, in time order), which
    stores them and replays them into sessions and shifts.
    """

    def __init__(self, env, rng, counters, tellers, profiles, now):
        self.env = env
        self.rng = rng
        self.counters = counters
        self.tellers = tellers
        self.profiles = profiles
        self.now = now  # UTC, naive
        self.now_local = _to_local(now)
        self.today = self.now_local.date()
        self.first_day = self.today - relativedelta(months=3) + timedelta(days=1)
        self.day_count = (self.today - self.first_day).days + 1
        self.events = []  # (UTC time, order, event)
        self.devices = {}
        self.business_types = {}
        self.rating_choices = {}
        Scale = env["service.evaluation.scale"]
        for counter in counters:
            self.devices[counter.id] = counter.device_ids[:1]
            self.business_types[counter.id] = [
                (business_type.code, DURATIONS.get(business_type.code, DEFAULT_DURATION))
                for business_type in counter.business_type_ids
            ] or [(None, DEFAULT_DURATION)]
            options = Scale._get_for_outlet(counter.outlet_id).option_ids.sorted("key_code")
            for index, (_prompt, weights) in enumerate(profiles[: len(tellers)]):
                self.rating_choices[counter.id, index] = _rating_choices(options, weights)
        companies = {counter.company_id for counter in counters}
        self.rating_window = {
            company.id: timedelta(seconds=company.service_rating_window) for company in companies
        }

    # ------------------------------------------------------------------ drawing
    def run(self):
        day = self.first_day
        while day <= self.today:
            is_today = day == self.today
            weekday = day.weekday()
            if weekday == 6 and is_today:
                weekday = 5  # open today anyway (Saturday volume) so the kanban is alive
            if weekday != 6:
                self._day(day, weekday, is_today)
            day += timedelta(days=1)

    def _day(self, day, weekday, is_today):
        rng = self.rng
        opening = datetime.combine(day, datetime.min.time()).replace(hour=OPEN_HOUR)
        closing = opening.replace(hour=CLOSE_HOUR)
        # Today stops a few minutes before now; the live tail is added after.
        limit = min(closing, self.now_local - timedelta(minutes=8)) if is_today else closing
        on_duty = rng.sample(range(len(self.tellers)), len(self.counters))
        low, high = WEEKDAY_VOLUME[weekday]
        for position, counter in enumerate(self.counters):
            teller_index = on_duty[position]
            shift_start = opening - timedelta(minutes=rng.randint(2, 12))
            if is_today and shift_start > self.now_local - timedelta(minutes=15):
                shift_start = self.now_local - timedelta(minutes=rng.randint(15, 25))
            teller = self.tellers[teller_index].sudo()
            self._press(counter, shift_start, "login", employee=teller.service_employee_number)
            last_end = self._counter_day(
                counter,
                teller_index,
                opening,
                limit,
                rng.randint(low, high),
                shift_start,
                is_today,
            )
            if is_today:
                self._live_tail(counter, teller_index, position)
            else:
                shift_end = max(closing, last_end) + timedelta(minutes=rng.randint(2, 15))
                self._press(counter, shift_end, "logout")

    def _counter_day(self, counter, teller_index, opening, limit, volume, shift_start, is_today):
        """Serve `volume` arrivals one after the other; return the last session's end.

        A teller who skips End leaves the session serving: the next Start cancels it.
        Today, sessions must end before the live tail (see `_live_tail`) starts.
        """
        rng = self.rng
        hours = list(HOUR_WEIGHTS)
        weights = list(HOUR_WEIGHTS.values())
        arrivals = sorted(
            opening.replace(hour=hour) + timedelta(seconds=rng.randint(0, 3599))
            for hour in rng.choices(hours, weights, k=volume)
        )
        end_limit = self.now_local - timedelta(minutes=7) if is_today else None
        prompt_rate = self.profiles[teller_index][0]
        cursor = max(opening, shift_start + timedelta(minutes=3))
        last_end = cursor
        skipped_end = None  # (start, service time) of a session the teller did not End
        for arrival in arrivals:
            start = max(arrival, cursor + timedelta(seconds=rng.randint(15, 75)))
            if start >= limit:
                break
            business_code, (low, high) = rng.choice(self.business_types[counter.id])
            end = start + timedelta(seconds=int(rng.uniform(low, high) * 60))
            if end_limit and end + timedelta(seconds=10) > end_limit:
                break
            self._press(counter, start, "start", business=business_code)
            if rng.random() < prompt_rate:
                skipped_end = None
                rated_at = self._prompted(counter, teller_index, end)
                cursor = rated_at or end + timedelta(seconds=10)
            else:
                skipped_end = end
                cursor = end
            last_end = cursor
        if skipped_end and is_today:
            # Nothing started after it yet: it would still be serving. Let the teller
            # have pressed End after all, so only the live tail is open.
            self._prompted(counter, teller_index, last_end)
        return last_end

    def _prompted(self, counter, teller_index, end, rate=None):
        """End, then a rating with probability RATED_RATE; returns the rating time."""
        rng = self.rng
        self._press(counter, end, "end")
        if rate is None:
            rate = rng.random() < RATED_RATE
        if not rate:
            if rng.random() < LATE_PRESS_RATE:
                window = self.rating_window[counter.company_id.id]
                late = end + window + timedelta(seconds=rng.randint(1, 3))
                self._press(counter, late, "rate", key=self._key(counter, teller_index))
            return None
        rated_at = end + timedelta(seconds=rng.randint(2, 8))
        self._press(counter, rated_at, "rate", key=self._key(counter, teller_index))
        if rng.random() < DOUBLE_PRESS_RATE:
            again = rated_at + timedelta(seconds=rng.randint(1, 2))
            self._press(counter, again, "rate", key=self._key(counter, teller_index))
        return rated_at

    def _key(self, counter, teller_index):
        keys, cum_weights = self.rating_choices[counter.id, teller_index]
        return self.rng.choices(keys, cum_weights=cum_weights)[0]

    def _live_tail(self, counter, teller_index, position):
        """The last sessions of today, around now: one counter serving, one awaiting a
        rating, two just rated; the others idle since their last customer."""
        business_code, _duration = self.rng.choice(self.business_types[counter.id])
        now = self.now_local
        if position == 0:  # serving for 3.5 minutes
            self._press(counter, now - timedelta(seconds=210), "start", business=business_code)
        elif position == len(self.counters) // 2:  # End pressed 3 s ago
            self._press(counter, now - timedelta(seconds=340), "start", business=business_code)
            self._press(counter, now - timedelta(seconds=3), "end")
        elif position in (1, 4):  # rated a few seconds ago
            self._press(counter, now - timedelta(seconds=400), "start", business=business_code)
            self._prompted(counter, teller_index, now - timedelta(seconds=40), rate=True)

    def _press(self, counter, local_time, event_type, **values):
        """One keypad event, as the hardware proxy would post it."""
        device = self.devices[counter.id]
        at = _to_utc(local_time)
        event = {
            "id": f"demo-{device.serial_number}-{len(self.events) + 1:07d}",
            "device": device.serial_number,
            "type": event_type,
            "time": at.isoformat() + "Z",
            **{name: value for name, value in values.items() if value is not None},
        }
        self.events.append((at, len(self.events), event))

    # ------------------------------------------------------------------ posting
    def post(self):
        """Send the events to the device ingest in time order, as the keypads' proxy user.

        Events before today are history: stored and replayed like any others, but nobody
        is alerted about a customer who left weeks ago. Today's go the live way, so the
        demo's supervisors have today's dissatisfied customers to call back.
        """
        self.events.sort()
        today = datetime.combine(self.today, datetime.min.time())
        start_of_today = _to_utc(today)
        for proxy_user in {device.device_user_id for device in self.devices.values()}:
            Event = self.env["service.evaluation.event"].with_user(proxy_user)
            serials = {
                device.serial_number
                for device in self.devices.values()
                if device.device_user_id == proxy_user
            }
            events = [
                (at, event) for at, _order, event in self.events if event["device"] in serials
            ]
            for live in (False, True):
                batch_events = [event for at, event in events if (at >= start_of_today) == live]
                for offset in range(0, len(batch_events), MAX_BATCH):
                    results = Event._ingest(batch_events[offset : offset + MAX_BATCH], live=live)
                    refused = [r for r in results["results"] if r["status"] == "error"]
                    if refused:
                        raise RuntimeError(f"Demo keypad events refused: {refused[:3]}")


def _rating_choices(options, weights):
    """(key codes, cumulative weights) of a scale's keys for a teller profile.

    `weights` are the masses of very satisfied, satisfied, neutral, dissatisfied. On a
    scale without neutral keys the neutral mass goes to the negative keys; a single
    satisfied key takes both satisfied masses; several negative keys share the negative
    mass by NEGATIVE_REASON_WEIGHTS.
    """
    very, satisfied, neutral, negative = weights
    good = options.filtered("is_satisfied").sorted("score", reverse=True)
    bad = options.filtered("is_negative")
    middle = options - good - bad
    if not middle:
        negative += neutral
    if not bad:
        neutral += negative
    weighted = []
    if len(good) == 1:
        weighted.append((good, very + satisfied))
    elif good:
        weighted += [(good[0], very), (good[1], satisfied)]
        weighted += [(option, 0.0) for option in good[2:]]
    weighted += [(option, neutral / len(middle)) for option in middle]
    reasons = NEGATIVE_REASON_WEIGHTS if len(bad) == len(NEGATIVE_REASON_WEIGHTS) else None
    weighted += [
        (option, negative * (reasons[index] if reasons else 1 / len(bad)))
        for index, option in enumerate(bad)
    ]
    keys, cum_weights, total = [], [], 0.0
    for option, weight in weighted:
        total += weight
        keys.append(option.key_code)
        cum_weights.append(total)
    return keys, cum_weights


def _to_local(utc_naive):
    return utc_naive.replace(tzinfo=UTC).astimezone(TZ).replace(tzinfo=None)


def _to_utc(local_naive):
    return local_naive.replace(tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------- levels
def _compute_star_levels(env, now):
    """The last three monthly periods; the last complete one is the tellers' shown level."""
    StarLevel = env["service.evaluation.star.level"]
    today = _to_local(now).date()
    this_month = today.replace(day=1)
    last_month = this_month - relativedelta(months=1)
    StarLevel._compute_levels(this_month - relativedelta(months=2), set_current=False)
    StarLevel._compute_levels(today, set_current=False)
    StarLevel._compute_levels(last_month)


# ---------------------------------------------------------------------------- photos
def _set_teller_photos(tellers):
    font = None
    for path in CJK_FONTS:
        font = _load_cjk_font(path)
        if font:
            break
    for index, teller in enumerate(tellers):
        size = 256
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.ellipse((0, 0, size - 1, size - 1), fill=AVATAR_COLORS[index % len(AVATAR_COLORS)])
        if font:
            text, text_font = (teller.name or "?")[:1], font
        else:
            text = teller.sudo().service_employee_number or str(index + 1)
            try:
                text_font = ImageFont.load_default(size=80)
            except TypeError:  # Pillow < 10.1: fixed-size bitmap font
                text_font = ImageFont.load_default()
        left, top, right, bottom = draw.textbbox((0, 0), text, font=text_font)
        position = ((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top)
        draw.text(position, text, font=text_font, fill=(255, 255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        teller.image_1920 = base64.b64encode(buffer.getvalue())


def _load_cjk_font(path, size=150):
    """The Simplified Chinese face of a font collection, else its first face, else None."""
    first = None
    for index in range(8):
        try:
            font = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        first = first or font
        if "SC" in (font.getname()[0] or "").split():
            return font
    return first
