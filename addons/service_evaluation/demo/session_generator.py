"""Demo history for the 西区 and 东区 outlets: three months of sessions and shifts, teller
photos and star levels. Called by the post_init_hook when the module is installed with demo data.

Sessions and shifts are written with multi-row INSERTs (a few thousand rows per
statement) in time order, so ids grow with time as they would from real keypads; the
ORM would need minutes for the ~25,000 sessions. The values follow what
tools/session_replay.py would have produced from the keypad events:

- a session is START → (END →) rating; a START while the previous session is still
  serving cancels it (no End: no prompt, duration 0);
- after End the customer has `service_rating_window` seconds to press a key; no press
  leaves the session unrated;
- the session belongs to the teller on duty (one shift per teller and day);
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
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from odoo import SUPERUSER_ID, fields
from odoo.tools import SQL
from PIL import Image, ImageDraw, ImageFont

_logger = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
SEED = 19
CHUNK = 2000

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

SESSION_COLUMNS = (
    "counter_id",
    "outlet_id",
    "company_id",
    "device_id",
    "employee_id",
    "business_type_id",
    "source",
    "state",
    "date_start",
    "date_end",
    "date_rated",
    "duration",
    "reached_prompt",
    "option_id",
    "score",
    "is_rated",
    "is_satisfied",
    "is_negative",
)
SHIFT_COLUMNS = (
    "employee_id",
    "counter_id",
    "outlet_id",
    "company_id",
    "source",
    "date_start",
    "date_end",
    "duration_hours",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)


def generate_demo_sessions(env):
    """Photos, ~3 months of sessions and shifts, star levels; for the demo data only."""
    started = time.monotonic()
    pools = []
    for counter_xmlids, teller_xmlids, profiles, seed in POOLS:
        counters = [env.ref(xmlid, raise_if_not_found=False) for xmlid in counter_xmlids]
        tellers = [env.ref(xmlid, raise_if_not_found=False) for xmlid in teller_xmlids]
        counters = [counter for counter in counters if counter]
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
    # All branches in time order, so ids grow with time as from real keypads.
    sessions = sorted(
        (row for generator in generators for row in generator.sessions), key=lambda row: row[8]
    )
    shifts = sorted(
        (row for generator in generators for row in generator.shifts), key=lambda row: row[5]
    )

    _insert(env.cr, "service_evaluation_shift", SHIFT_COLUMNS, shifts, now)
    # Sessions have no audit columns (_log_access = False): their events are the audit.
    _insert(env.cr, "service_evaluation_session", SESSION_COLUMNS, sessions)
    # The keypads were heard from just now: the live kanban shows them online (until the
    # hardware proxy's heartbeats take over, or 3 minutes without any).
    device_ids = tuple(
        device_id
        for generator in generators
        for device_id in generator.devices.values()
        if device_id
    )
    if device_ids:
        env.cr.execute(
            SQL(
                "UPDATE service_evaluation_device SET last_seen = %s WHERE id IN %s",
                now,
                device_ids,
            )
        )
    env["service.evaluation.session"].invalidate_model()
    env["service.evaluation.shift"].invalidate_model()
    env["service.evaluation.device"].invalidate_model(["last_seen", "is_online"])

    _compute_star_levels(env, now)
    _logger.info(
        "Demo data: %s sessions and %s shifts for %s counters and %s tellers, "
        "%s days up to %s, in %.1f s",
        len(sessions),
        len(shifts),
        sum(len(counters) for counters, *_rest in pools),
        sum(len(tellers) for _counters, tellers, *_rest in pools),
        generators[0].day_count,
        generators[0].today,
        time.monotonic() - started,
    )


# ---------------------------------------------------------------------------- sessions
class _Generator:
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
        self.sessions = []
        self.shifts = []
        self.devices = {}
        self.business_types = {}
        self.rating_choices = {}
        Scale = env["service.evaluation.scale"]
        for counter in counters:
            device = counter.device_ids[:1]
            self.devices[counter.id] = device.id or None
            self.business_types[counter.id] = [
                (business_type.id, DURATIONS.get(business_type.code, DEFAULT_DURATION))
                for business_type in counter.business_type_ids
            ] or [(None, DEFAULT_DURATION)]
            options = Scale._get_for_outlet(counter.outlet_id).option_ids.sorted("key_code")
            for index, (_prompt, weights) in enumerate(profiles[: len(tellers)]):
                self.rating_choices[counter.id, index] = _rating_choices(options, weights)

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
                self._shift(counter, teller_index, shift_start, None)
            else:
                shift_end = max(closing, last_end) + timedelta(minutes=rng.randint(2, 15))
                self._shift(counter, teller_index, shift_start, shift_end)

    def _counter_day(self, counter, teller_index, opening, limit, volume, shift_start, is_today):
        """Serve `volume` arrivals one after the other; return the last session's end.

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
        pending = None  # a session without End is cancelled only once the next one starts
        for arrival in arrivals:
            start = max(arrival, cursor + timedelta(seconds=rng.randint(15, 75)))
            if start >= limit:
                break
            business_type_id, (low, high) = rng.choice(self.business_types[counter.id])
            end = start + timedelta(seconds=int(rng.uniform(low, high) * 60))
            if end_limit and end + timedelta(seconds=10) > end_limit:
                break
            if pending:
                self.sessions.append(self._row(counter, teller_index, *pending))
            if rng.random() < prompt_rate:
                pending = None
                rated_at = self._prompted(counter, teller_index, business_type_id, start, end)
                cursor = rated_at or end + timedelta(seconds=10)
            else:
                pending = (business_type_id, "cancelled", start)
                cursor = end
            last_end = cursor
        if pending:
            if is_today:
                # Nothing started after it yet: it would still be serving. Let the teller
                # have pressed End after all, so only the live tail is open.
                business_type_id, _state, start = pending
                self._prompted(counter, teller_index, business_type_id, start, last_end)
            else:  # the next day's first Start cancelled it
                self.sessions.append(self._row(counter, teller_index, *pending))
        return last_end

    def _prompted(self, counter, teller_index, business_type_id, start, end, rate=None):
        """An ended session, rated with probability RATED_RATE; returns its rating time."""
        rng = self.rng
        if rate is None:
            rate = rng.random() < RATED_RATE
        if not rate:
            self.sessions.append(
                self._row(counter, teller_index, business_type_id, "unrated", start, end)
            )
            return None
        options, cum_weights = self.rating_choices[counter.id, teller_index]
        option = rng.choices(options, cum_weights=cum_weights)[0]
        rated_at = end + timedelta(seconds=rng.randint(2, 8))
        self.sessions.append(
            self._row(
                counter, teller_index, business_type_id, "rated", start, end, rated_at, option
            )
        )
        return rated_at

    def _live_tail(self, counter, teller_index, position):
        """The last sessions of today, around now: one counter serving, one awaiting a
        rating, two just rated; the others idle since their last customer."""
        business_type_id, _duration = self.rng.choice(self.business_types[counter.id])
        now = self.now_local
        if position == 0:  # serving for 3.5 minutes
            start = now - timedelta(seconds=210)
            self.sessions.append(
                self._row(counter, teller_index, business_type_id, "serving", start)
            )
        elif position == len(self.counters) // 2:  # End pressed 3 s ago
            start, end = now - timedelta(seconds=340), now - timedelta(seconds=3)
            self.sessions.append(
                self._row(counter, teller_index, business_type_id, "awaiting", start, end)
            )
        elif position in (1, 4):  # rated a few seconds ago
            start, end = now - timedelta(seconds=400), now - timedelta(seconds=40)
            self._prompted(counter, teller_index, business_type_id, start, end, rate=True)

    def _row(
        self,
        counter,
        teller_index,
        business_type_id,
        state,
        start,
        end=None,
        rated_at=None,
        option=None,
    ):
        prompted = end is not None
        return [
            counter.id,
            counter.outlet_id.id,
            counter.company_id.id,
            self.devices[counter.id],
            self.tellers[teller_index].id,
            business_type_id,
            "keypad",
            state,
            _to_utc(start),
            _to_utc(end) if prompted else None,
            _to_utc(rated_at) if rated_at else None,
            int((end - start).total_seconds()) if prompted else 0,
            prompted,
            option[0] if option else None,
            option[1] if option else 0.0,
            bool(option),
            bool(option and option[2]),
            bool(option and option[3]),
        ]

    def _shift(self, counter, teller_index, start, end):
        hours = round((end - start).total_seconds() / 3600, 4) if end else 0.0
        self.shifts.append(
            [
                self.tellers[teller_index].id,
                counter.id,
                counter.outlet_id.id,
                counter.company_id.id,
                "device",
                _to_utc(start),
                _to_utc(end) if end else None,
                hours,
            ]
        )


def _rating_choices(options, weights):
    """(options as (id, score, satisfied, negative) tuples, cumulative weights).

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
    choices, cum_weights, total = [], [], 0.0
    for option, weight in weighted:
        total += weight
        choices.append((option.id, option.score, option.is_satisfied, option.is_negative))
        cum_weights.append(total)
    return choices, cum_weights


def _to_local(utc_naive):
    return utc_naive.replace(tzinfo=UTC).astimezone(TZ).replace(tzinfo=None)


def _to_utc(local_naive):
    return local_naive.replace(tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)


def _insert(cr, table, columns, rows, now=None):
    """Multi-row INSERT of `rows`, the values of `columns`; with `now`, the audit
    columns (create/write uid and date) are filled in as well."""
    columns_sql = SQL(", ").join(SQL.identifier(column) for column in columns)
    audit = [SUPERUSER_ID, now, SUPERUSER_ID, now] if now else []
    row_code = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for offset in range(0, len(rows), CHUNK):
        values = SQL(", ").join(
            SQL(row_code, *row, *audit) for row in rows[offset : offset + CHUNK]
        )
        cr.execute(SQL("INSERT INTO %s (%s) VALUES %s", SQL.identifier(table), columns_sql, values))


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
