"""The portal of outlet staff (/my/work-orders) and of customers (/my/service-requests).

Thin: each route finds the record as the signed-in user (record rules decide; a record
they may not read sends them back to /my), calls one model method as that user (which
checks who may act), and renders. Outlet portal users may not read customers or
products: pages render the order or request through sudo once the user's own read of it
succeeded (`_document_check_access`), as Odoo's portal pages do.
"""

from odoo import http
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

WORK_ORDER = "service.dispatch.work.order"
SERVICE_REQUEST = "service.dispatch.request"
# The order steps a portal form posts, by the URL segment that names them.
ORDER_STEPS = ("accept", "refuse", "on_site", "done")


class ServiceDispatchPortal(CustomerPortal):
    # ------------------------------------------------------------ home
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        env = request.env
        if "service_work_order_count" in counters:
            values["service_work_order_count"] = (
                env[WORK_ORDER].search_count([])
                if env.user._service_dispatch_portal_outlet()
                else 0
            )
        if "service_request_count" in counters:
            values["service_request_count"] = (
                env[SERVICE_REQUEST].search_count(self._service_request_domain())
                if env[SERVICE_REQUEST].has_access("read")
                else 0
            )
        return values

    # ------------------------------------------------------------ outlet: work orders
    def _work_order_filters(self):
        env = request.env
        labels = dict(env[WORK_ORDER]._fields["state"]._description_selection(env))
        filters = {
            "open": {
                "label": env._("To Do"),
                "domain": [("state", "in", ["dispatched", "accepted", "on_site"])],
            },
            "all": {"label": env._("All"), "domain": []},
        }
        for state in ("dispatched", "accepted", "on_site", "done", "closed"):
            filters[state] = {"label": labels[state], "domain": [("state", "=", state)]}
        return filters

    def _work_order_sortings(self):
        env = request.env
        return {
            "date": {"label": env._("Newest"), "order": "date_dispatched desc, id desc"},
            "priority": {"label": env._("Priority"), "order": "priority desc, id desc"},
        }

    @http.route(
        ["/my/work-orders", "/my/work-orders/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        readonly=True,
    )
    def portal_my_work_orders(self, page=1, filterby="open", sortby="date", **kw):
        WorkOrder = request.env[WORK_ORDER]
        if not WorkOrder.has_access("read"):
            return request.redirect("/my")
        filters = self._work_order_filters()
        sortings = self._work_order_sortings()
        filterby = filterby if filterby in filters else "open"
        sortby = sortby if sortby in sortings else "date"
        domain = filters[filterby]["domain"]
        pager = portal_pager(
            url="/my/work-orders",
            url_args={"filterby": filterby, "sortby": sortby},
            total=WorkOrder.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        orders = WorkOrder.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                # Found as the user (their outlet's orders): shown with their customers.
                "orders": orders.sudo(),
                "page_name": "service_work_orders",
                "default_url": "/my/work-orders",
                "pager": pager,
                "searchbar_filters": filters,
                "filterby": filterby,
                "searchbar_sortings": sortings,
                "sortby": sortby,
                "is_outlet_staff": bool(request.env.user._service_dispatch_portal_outlet()),
            }
        )
        return request.render("service_dispatch.portal_my_work_orders", values)

    @http.route(
        "/my/work-orders/<int:order_id>", type="http", auth="user", website=True, readonly=True
    )
    def portal_my_work_order(self, order_id, message=None, **kw):
        try:
            order_sudo = self._document_check_access(WORK_ORDER, order_id)
        except (AccessError, MissingError):
            return request.redirect("/my")
        return self._render_work_order(order_sudo, message=message)

    @http.route(
        "/my/work-orders/<int:order_id>/<any(accept,refuse,on_site,done):step>",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_work_order_step(self, order_id, step, **post):
        try:
            order_sudo = self._document_check_access(WORK_ORDER, order_id)
        except (AccessError, MissingError):
            return request.redirect("/my")
        order = request.env[WORK_ORDER].browse(order_id)
        try:
            with request.env.cr.savepoint():
                if step == "accept":
                    technician_id = post.get("technician_id")
                    order.action_accept(
                        int(technician_id) if technician_id else False, post.get("note")
                    )
                elif step == "refuse":
                    order.action_refuse(post.get("reason"))
                elif step == "on_site":
                    order.action_on_site(post.get("note"))
                else:
                    order.action_done(post.get("work_summary"))
        except (UserError, ValueError) as error:
            order_sudo.invalidate_recordset()
            return self._render_work_order(order_sudo, error=_error_text(error), form=post)
        return request.redirect(f"{order_sudo.access_url}?message={step}")

    @http.route("/my/work-orders/<int:order_id>/sign", type="jsonrpc", auth="user", website=True)
    def portal_work_order_sign(self, order_id, name=None, signature=None):
        try:
            order_sudo = self._document_check_access(WORK_ORDER, order_id)
            request.env[WORK_ORDER].browse(order_id).action_portal_sign(name, signature)
        except (AccessError, MissingError):
            return {"error": request.env._("This work order is not yours to sign.")}
        except UserError as error:
            return {"error": _error_text(error)}
        return {"force_refresh": True, "redirect_url": f"{order_sudo.access_url}?message=signed"}

    def _render_work_order(self, order_sudo, message=None, error=None, form=None):
        env = request.env
        step_labels = order_sudo._step_labels()
        messages = {
            **{step: step_labels[step] for step in ORDER_STEPS},
            "signed": env._("The customer's signature is saved."),
            "created": env._("The job is recorded and dispatched to your outlet."),
        }
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "order": order_sudo,
                "page_name": "service_work_order",
                "technicians": order_sudo.outlet_id.technician_ids,
                "steps": order_sudo.step_ids.sorted(lambda s: (s.date, s.id)),
                "step_labels": step_labels,
                "message": messages.get(message),
                "error": error,
                "form": form or {},
            }
        )
        return request.render("service_dispatch.portal_my_work_order", values)

    @http.route(
        "/my/work-orders/new", type="http", auth="user", methods=["GET", "POST"], website=True
    )
    def portal_new_work_order(self, **post):
        """Outlet staff record a call to their own hotline: request and work order."""
        env = request.env
        if not env.user._service_dispatch_portal_outlet():
            return request.redirect("/my")
        error = None
        if request.httprequest.method == "POST":
            try:
                with env.cr.savepoint():
                    service_request = env[SERVICE_REQUEST]._portal_create_for_outlet(post)
            except (UserError, ValueError) as exc:
                error = _error_text(exc)
            else:
                order = service_request.work_order_ids[:1]
                return request.redirect(f"{order.access_url}?message=created")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "service_work_order_new",
                "outlet": env.user._service_dispatch_portal_outlet(),
                "request_types": env[SERVICE_REQUEST]._portal_request_types(work_order_only=True),
                "products": env["product.product"]
                .sudo()
                .search([("type", "=", "consu")], order="name, id", limit=500),
                "form": post,
                "error": error,
            }
        )
        return request.render("service_dispatch.portal_new_work_order", values)

    # ------------------------------------------------------------ customers: requests
    def _service_request_domain(self):
        """A customer's own requests (an outlet user's portal list is their own too)."""
        return [("partner_id", "child_of", request.env.user.commercial_partner_id.id)]

    @http.route(
        ["/my/service-requests", "/my/service-requests/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        readonly=True,
    )
    def portal_my_service_requests(self, page=1, filterby="all", **kw):
        env = request.env
        Request = env[SERVICE_REQUEST]
        if not Request.has_access("read"):
            return request.redirect("/my")
        filters = {
            "all": {"label": env._("All"), "domain": []},
            "open": {
                "label": env._("Open"),
                "domain": [("state", "in", ["open", "in_progress"])],
            },
            "closed": {
                "label": env._("Closed"),
                "domain": [("state", "in", ["closed", "cancelled"])],
            },
        }
        filterby = filterby if filterby in filters else "all"
        domain = self._service_request_domain() + filters[filterby]["domain"]
        pager = portal_pager(
            url="/my/service-requests",
            url_args={"filterby": filterby},
            total=Request.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        service_requests = Request.search(
            domain, order="id desc", limit=self._items_per_page, offset=pager["offset"]
        )
        request.session["my_service_requests_history"] = service_requests.ids[:100]
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "service_requests": service_requests.sudo(),
                "page_name": "service_requests",
                "default_url": "/my/service-requests",
                "pager": pager,
                "searchbar_filters": filters,
                "filterby": filterby,
            }
        )
        return request.render("service_dispatch.portal_my_service_requests", values)

    @http.route("/my/service-requests/<int:request_id>", type="http", auth="public", website=True)
    def portal_my_service_request(self, request_id, access_token=None, message=None, **kw):
        try:
            request_sudo = self._document_check_access(SERVICE_REQUEST, request_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "service_request": request_sudo,
                "work_orders": request_sudo.work_order_ids,
                "page_name": "service_request",
                "message": request.env._("Your request is sent: we will keep you posted here.")
                if message == "created"
                else None,
            }
        )
        values = self._get_page_view_values(
            request_sudo, access_token, values, "my_service_requests_history", False, **kw
        )
        return request.render("service_dispatch.portal_my_service_request", values)

    @http.route(
        "/my/service-requests/new",
        type="http",
        auth="user",
        methods=["GET", "POST"],
        website=True,
    )
    def portal_new_service_request(self, **post):
        env = request.env
        if not env.user.share:
            return request.redirect("/my")
        error = None
        if request.httprequest.method == "POST":
            try:
                with env.cr.savepoint():
                    service_request = env[SERVICE_REQUEST]._portal_create_for_customer(post)
            except (UserError, ValueError) as exc:
                error = _error_text(exc)
            else:
                return request.redirect(f"{service_request.access_url}?message=created")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "service_request_new",
                "request_types": env[SERVICE_REQUEST]._portal_request_types(),
                "appliances": env["service.dispatch.appliance"]
                .sudo()
                .search([("partner_id", "=", env.user.partner_id.id)]),
                "form": post,
                "error": error,
            }
        )
        return request.render("service_dispatch.portal_new_service_request", values)


def _error_text(error):
    """What a form shows of a refused step or record: the model's own message."""
    if isinstance(error, ValueError) and not isinstance(error, UserError):
        return request.env._("Some of the values are not valid: check them and send again.")
    return error.args[0] if error.args else str(error)
