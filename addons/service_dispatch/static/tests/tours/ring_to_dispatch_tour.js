import { registry } from "@web/core/registry";

// A dispatcher (an agent of the branch) answers a ringing number: the telephony pop
// (/service_dispatch/intake?phone=...) opens the intake screen on the caller; they
// record a repair, open its work order and dispatch it to the top ranked outlet.
// tests/test_tour_ring_to_dispatch.py prepares the customer, the outlets and the users.
registry.category("web_tour.tours").add("service_dispatch_ring_to_dispatch", {
    steps: () => [
        {
            content: "The screen shows the caller",
            trigger: ".o_field_widget[name=partner_id] input:value(Tour Caller)",
        },
        {
            content: "... a gold member",
            trigger: ".o_field_widget[name=member_tier]:contains(Gold)",
        },
        {
            content: "... and their appliance",
            trigger: ".o_field_widget[name=appliance_ids] .o_data_row:contains(TOUR-W-1)",
        },
        {
            content: "Choose the request type",
            trigger: ".o_field_widget[name=type_id] input",
            run: "edit Repair",
        },
        {
            trigger: ".o-autocomplete--dropdown-item > a:contains(Repair)",
            run: "click",
        },
        {
            content: "Choose the appliance the call is about",
            trigger: ".o_field_widget[name=appliance_id] input",
            run: "edit TOUR-W-1",
        },
        {
            trigger: ".o-autocomplete--dropdown-item > a:contains(TOUR-W-1)",
            run: "click",
        },
        {
            content: "Say what is wrong",
            trigger: ".o_field_widget[name=description] textarea",
            run: "edit The drum does not turn",
        },
        {
            content: "Record the request",
            trigger: "button[name=action_record_request]",
            run: "click",
        },
        {
            content: "The request is recorded with its work order",
            trigger: ".o_field_widget[name=request_work_order_ids] .o_tag",
        },
        {
            content: "Open the recorded request",
            trigger: ".o_field_widget[name=request_id] a.o_form_uri",
            run: "click",
        },
        {
            content: "Open its work order",
            trigger: ".o_form_view button[name=action_open_work_orders]",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(To Dispatch) .o_data_cell",
            run: "click",
        },
        {
            content: "Dispatch the work order",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_open_dispatch]",
            run: "click",
        },
        {
            content: "The top candidate covers the customer's district",
            trigger:
                ".modal .o_field_widget[name=line_ids] .o_data_row:first-child:contains(Outlet A1):contains(Covers district Tour District)",
        },
        {
            content: "The one that only covers the city comes second",
            trigger:
                ".modal .o_field_widget[name=line_ids] .o_data_row:nth-child(2):contains(Outlet A2):contains(Covers city Tour City)",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The work order is dispatched",
            trigger:
                "body:not(:has(.modal)) .o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=dispatched]",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=outlet_id]:contains(Outlet A1)",
        },
    ],
});
