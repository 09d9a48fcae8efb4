import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const CARD = ".o_kanban_record.o_service_counter_card:contains('Tour Counter 1')";

registry.category("web_tour.tours").add("service_evaluation_counter_kanban_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("service_base.service_base_menu_root", "Open the Service app"),
        {
            content: "Open the live counters",
            trigger: ".o_main_navbar a[data-menu-xmlid='service_evaluation.service_evaluation_counter_menu']",
            run: "click",
        },
        {
            content: "The counters kanban is shown, grouped by outlet",
            trigger: ".o_kanban_view.o_service_counter_kanban .o_kanban_group:contains('Tour Outlet')",
        },
        {
            content: "The counter is serving a customer",
            trigger: `${CARD} .o_service_counter_live[data-live-state='serving'] .o_service_counter_state:contains('Serving')`,
        },
        {
            content: "The card shows the teller on duty",
            trigger: `${CARD} .o_service_counter_teller_name:contains('Tour Teller')`,
        },
        {
            content: "Open the counter",
            trigger: `${CARD} .o_service_counter_name`,
            run: "click",
        },
        {
            content: "The form shows the counter code",
            trigger: ".o_form_view .o_field_widget[name='code'] input:value(TC1)",
        },
        {
            content: "Open its sessions from the smart button",
            trigger: ".o_form_view .oe_stat_button[name='action_open_sessions']:contains('Sessions')",
            run: "click",
        },
        {
            content: "Open the session being served",
            trigger: ".o_list_view .o_data_row td[name='counter_id']:contains('Tour Counter 1')",
            run: "click",
        },
        {
            content: "The session form shows its state",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Serving')",
        },
        {
            content: "Sessions are facts: the form is read-only",
            trigger: ".o_form_view .o_form_readonly, .o_form_view .o_field_widget[name='customer_phone']:not(:has(input))",
        },
        {
            content: "The outlet's staff record a callback phone",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_open_callback']",
            run: "click",
        },
        {
            content: "Type the customer's phone",
            trigger: ".modal .o_field_widget[name='customer_phone'] input",
            run: "edit +86 138 0013 8001",
        },
        {
            content: "Save it",
            trigger: ".modal .modal-footer button[name='action_save']",
            run: "click",
        },
        {
            content: "The session shows the phone in E.164 form",
            trigger: ".o_form_view .o_field_widget[name='customer_phone']:contains('+8613800138001')",
        },
    ],
});

registry.category("web_tour.tours").add("service_evaluation_smart_buttons_tour", {
    steps: () => [
        {
            content: "The outlet form shows its counters",
            trigger: ".o_form_view .oe_stat_button:contains('Counters'):contains('1')",
            run: "click",
        },
        {
            content: "The counters of the outlet are listed",
            trigger: `.o_kanban_view ${CARD}`,
        },
        {
            content: "Only this outlet's counters are searched",
            trigger: ".o_searchview .o_facet_value:contains('Tour Outlet')",
        },
    ],
});

registry.category("web_tour.tours").add("service_evaluation_employee_tour", {
    steps: () => [
        {
            content: "The employee form shows the employee number",
            trigger: ".o_form_view .o_field_widget[name='service_employee_number'] input:value(9001)",
        },
        {
            content: "Open the Star Levels tab",
            trigger: ".o_form_view .o_notebook a.nav-link:contains('Star Levels')",
            run: "click",
        },
        {
            content: "The star level history is shown",
            trigger: ".o_form_view .o_field_widget[name='service_star_level_ids']",
        },
        {
            content: "Open the teller's sessions",
            trigger: ".o_form_view .oe_stat_button[name='action_open_service_sessions']:contains('Sessions')",
            run: "click",
        },
        {
            content: "The teller's session is listed",
            trigger: ".o_list_view .o_data_row td[name='counter_id']:contains('Tour Counter 1')",
        },
    ],
});
