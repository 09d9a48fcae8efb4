import { registry } from "@web/core/registry";

// An outlet's portal user opens their work orders, opens the one dispatched to them
// and accepts it (tests/test_portal.py creates the order, named in the row).
registry.category("web_tour.tours").add("service_dispatch_portal_accept", {
    url: "/my/work-orders",
    steps: () => [
        {
            content: "Open the dispatched work order",
            trigger: ".o_service_work_order_row:contains(Dispatched)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Choose the technician",
            trigger: ".o_service_accept_form select[name=technician_id]",
            run: "selectByLabel Tech A1",
        },
        {
            content: "Accept the job",
            trigger: ".o_service_accept_form button.o_service_accept",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The order is accepted",
            trigger: ".o_service_portal_message",
        },
        {
            content: "Now it waits for the technician on site",
            trigger: "button.o_service_on_site",
        },
    ],
});
