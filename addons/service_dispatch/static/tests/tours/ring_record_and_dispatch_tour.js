import { registry } from "@web/core/registry";

// A dispatcher answers a ringing number and, in one click (Record & Dispatch), records a
// repair whose work order goes to the top ranked outlet.
// tests/test_tour_ring_to_dispatch.py prepares the customer, the outlets and the users.
registry.category("web_tour.tours").add("service_dispatch_ring_record_and_dispatch", {
    steps: () => [
        {
            content: "The screen shows the caller",
            trigger: ".o_field_widget[name=partner_id] input:value(Tour Caller)",
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
            run: "edit The door does not lock",
        },
        {
            content: "Record the request and dispatch its work order in one click",
            trigger: "button[name=action_record_and_dispatch]",
            run: "click",
        },
        {
            content: "The request is recorded, in progress, with its work order",
            trigger:
                ".o_field_widget[name=request_state]:contains(In Progress) ~ * .o_tag, .o_field_widget[name=request_work_order_ids] .o_tag",
        },
        {
            content: "The buttons are gone: the call is recorded",
            trigger: ".o_form_view:not(:has(button[name=action_record_and_dispatch]))",
        },
    ],
});
