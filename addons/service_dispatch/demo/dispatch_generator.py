"""Demo customers, appliances, requests and work orders around the demo tree.

Called by the post_init_hook when the module is installed with demo data. Three
hundred customers in five districts of Beijing (a third of them members, each with an
address, postcode and coordinates) own one to three appliances each; about 250 requests
of every type were taken by the HQ hotline's agent over the last four weeks, and their
work orders went to the outlets dispatch ranks first and stopped at every step of the
trail (to dispatch, dispatched, accepted, on site, done, feedback recorded, refused,
cancelled). Everything is drawn from `random.Random(13)`, so two installs give the same
demo; the steps are taken through the work orders' own methods, as the demo users, and
each request is then moved back to the day it was taken, so that the ones still open
are late and the deadline job escalates them.
"""

import random
from datetime import date, datetime, timedelta

from ..models.res_partner import MEMBER_TIERS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
STREETS = [
    "西直门外大街",
    "复兴路",
    "朝阳北路",
    "望京西路",
    "建国路",
    "阜成门内大街",
    "广安门外大街",
]
# district: (postcode, latitude, longitude) of its centre
DISTRICTS = {
    "西城区": ("100032", 39.9123, 116.3660),
    "海淀区": ("100080", 39.9590, 116.2980),
    "朝阳区": ("100020", 39.9215, 116.4430),
    "东城区": ("100010", 39.9288, 116.4160),
    "丰台区": ("100071", 39.8585, 116.2870),
}
PLACES = ["京东", "天猫旗舰店", "国美电器", "苏宁易购", "品牌专卖店"]
PROBLEMS = [
    "洗衣机脱水时噪音很大。",
    "冰箱冷藏室不制冷。",
    "空调开机后不出冷风，显示 E1。",
    "热水器漏水。",
    "新买的空调需要上门安装。",
    "想咨询延保政策。",
    "表扬上次上门的师傅，服务很专业。",
    "维修师傅迟到两个小时，很不满意。",
]
# Where each generated work order stops: the steps taken after its creation.
TRAILS = [
    [],
    ["dispatch"],
    ["dispatch", "accept"],
    ["dispatch", "accept", "on_site"],
    ["dispatch", "accept", "on_site", "done"],
    ["dispatch", "accept", "on_site", "done", "feedback"],
    ["dispatch", "accept", "on_site", "done", "feedback"],
    ["dispatch", "refuse"],
    ["dispatch", "refuse", "dispatch", "accept"],
    ["cancel"],
]


def generate_demo_dispatch(env):
    rng = random.Random(13)
    ref = env.ref
    products = [
        ref("service_dispatch.product_washer_demo"),
        ref("service_dispatch.product_fridge_demo"),
        ref("service_dispatch.product_aircon_demo"),
        ref("service_dispatch.product_heater_demo"),
    ]
    agent = ref("service_dispatch.user_agent_demo")
    dispatcher = ref("service_dispatch.user_dispatcher_demo")
    admin = ref("service_base.user_service_admin_demo")
    hq = ref("service_base.unit_hq_demo")
    types = {
        code: env["service.dispatch.request.type"].search([("code", "=", code)])
        for code in ("REPAIR", "INSTALL", "CONSULT", "COMPLAINT", "PRAISE")
    }
    # Customers and appliances without tracking (nothing to show); requests and work
    # orders with it, so that their chatter shows the trail as in real use.
    quiet_env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))
    china, beijing = ref("base.cn"), ref("base.state_cn_BJ")
    tiers = [tier for tier, _label in MEMBER_TIERS]
    customer_vals = []
    for n in range(300):
        district = rng.choice(list(DISTRICTS))
        postcode, latitude, longitude = DISTRICTS[district]
        customer_vals.append(
            {
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
                "phone": f"+86 138 {1000 + n:04d} {rng.randint(1000, 9999):04d}",
                "street": f"{rng.choice(STREETS)} {rng.randint(1, 300)} 号",
                "city": "北京",
                "service_district": district,
                "zip": postcode,
                "state_id": beijing.id,
                "country_id": china.id,
                "partner_latitude": latitude + rng.uniform(-0.03, 0.03),
                "partner_longitude": longitude + rng.uniform(-0.03, 0.03),
                "service_member_tier": tiers[n % 4] if n % 3 == 0 else False,
                "service_member_number": f"M{880000 + n}" if n % 3 == 0 else False,
            }
        )
    customers = quiet_env["res.partner"].create(customer_vals)
    today = date.today()
    appliance_vals = []
    for n, customer in enumerate(customers):
        for k in range(1 + n % 3):
            product = products[(n + k) % len(products)]
            appliance_vals.append(
                {
                    "partner_id": customer.id,
                    "product_id": product.id,
                    "serial_number": f"{product.default_code}-{24000000 + n * 10 + k}",
                    "purchase_date": today - timedelta(days=rng.randint(20, 1500)),
                    "purchase_place": rng.choice(PLACES),
                }
            )
    appliances = quiet_env["service.dispatch.appliance"].create(appliance_vals)

    Request = env["service.dispatch.request"].with_user(agent)
    ages = {}
    for n in range(250):
        appliance = appliances[rng.randrange(len(appliances))]
        code = ["REPAIR"] * 5 + ["INSTALL"] * 2 + ["CONSULT", "COMPLAINT", "PRAISE"]
        request_type = types[rng.choice(code)]
        problem = {
            "REPAIR": PROBLEMS[rng.randrange(4)],
            "INSTALL": PROBLEMS[4],
            "CONSULT": PROBLEMS[5],
            "PRAISE": PROBLEMS[6],
            "COMPLAINT": PROBLEMS[7],
        }[request_type.code]
        request = Request.create(
            {
                "partner_id": appliance.partner_id.id,
                "phone": appliance.partner_id.phone,
                "appliance_id": appliance.id,
                "type_id": request_type.id,
                "channel": rng.choice(["phone"] * 6 + ["email", "web_form", "portal"]),
                "description": problem,
                "unit_id": hq.id,
                "priority": rng.choice(["0", "0", "0", "1", "2"]),
            }
        )
        ages[request] = timedelta(hours=rng.randint(1, 28 * 24))
        if request_type.path == "close_at_intake":
            if n % 4:
                request.action_close("已答复客户，客户满意。")
            continue
        if request_type.path != "work_order":
            continue
        if not request.work_order_ids:
            request.action_create_work_order()
        orders = request.work_order_ids.with_user(dispatcher)
        # Tracking starts on records that exist before the step (a record created in
        # the same transaction is only "created"): run the tracking between steps.
        _flush_tracking(env)
        _walk(orders, TRAILS[n % len(TRAILS)], rng)
        _flush_tracking(env)
    _backdate(env, ages)
    # The busiest customer follows their requests on the portal (password = login).
    counts = env["service.dispatch.request"]._read_group([], ["partner_id"], ["__count"])
    portal_customer = max(counts, key=lambda group: (group[1], -group[0].id))[0]
    env["res.users"].with_context(no_reset_password=True).create(
        {
            "name": portal_customer.name,
            "login": "customer.demo",
            "password": "customer.demo",
            "partner_id": portal_customer.id,
            "group_ids": [(6, 0, [ref("base.group_portal").id])],
        }
    )
    # The admin reads it all: make sure the demo trail does not hide anything from them.
    env["service.dispatch.work.order"].with_user(admin).search([], limit=1)


def _flush_tracking(env):
    env.flush_all()
    env.cr.precommit.run()


def _walk(order, trail, rng):
    for step in trail:
        if step == "dispatch":
            if order.state == "dispatched":
                continue  # its request type dispatched it to the best outlet already
            # The best candidate most of the time; now and then the dispatcher's choice.
            candidates = order._dispatch_candidates()
            if not candidates:
                continue
            pick = candidates[0] if rng.random() < 0.8 else rng.choice(candidates)
            outlet = order.env["service.org.unit"].browse(pick["outlet_id"])
            technicians = order.env["service.dispatch.technician"].search(
                [("outlet_id", "=", outlet.id)]
            )
            order.action_dispatch(outlet.id, technicians[:1].id)
        elif step == "accept":
            order.action_accept()
        elif step == "refuse":
            order.action_refuse("技师本周已排满，无法接单。")
        elif step == "on_site":
            order.action_on_site()
        elif step == "done":
            order.action_done("更换了排水泵，试机正常。")
        elif step == "feedback":
            order.action_record_feedback(rng.choice(["5", "5", "4", "3"]), "师傅很专业。")
        elif step == "cancel":
            order.action_cancel("客户已自行解决。")


def _backdate(env, ages):
    """Move each request, its work orders, their steps and messages back by the
    request's age: the trail keeps its order, and open orders become late."""
    now = datetime.now()
    env.flush_all()
    for request, age in ages.items():
        orders = request.work_order_ids
        env.cr.execute(
            "UPDATE service_dispatch_request SET create_date = create_date - %s WHERE id = %s",
            [age, request.id],
        )
        if orders:
            env.cr.execute(
                """UPDATE service_dispatch_work_order
                      SET create_date = create_date - %(age)s,
                          date_dispatched = date_dispatched - %(age)s,
                          date_accepted = date_accepted - %(age)s,
                          date_on_site = date_on_site - %(age)s,
                          date_done = date_done - %(age)s,
                          date_feedback = date_feedback - %(age)s
                    WHERE id = ANY(%(ids)s)""",
                {"age": age, "ids": orders.ids},
            )
            env.cr.execute(
                "UPDATE service_dispatch_work_order_step SET date = date - %(age)s, "
                "create_date = create_date - %(age)s "
                "WHERE work_order_id = ANY(%(ids)s)",
                {"age": age, "ids": orders.ids},
            )
        env.cr.execute(
            "UPDATE mail_message SET date = LEAST(date - %s, %s) "
            "WHERE (model = 'service.dispatch.request' AND res_id = %s) "
            "OR (model = 'service.dispatch.work.order' AND res_id = ANY(%s))",
            [age, now, request.id, orders.ids],
        )
    env.invalidate_all()
    # Deadlines count from the new creation dates; the deadline job then warns and
    # escalates what is late, as it would have over those weeks.
    orders = env["service.dispatch.work.order"].search([])
    orders._sla_refresh()
    env["service.dispatch.work.order"]._cron_check_sla()
