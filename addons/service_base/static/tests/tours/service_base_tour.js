import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("service_base_org_tree_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("service_base.service_base_menu_root", "Open the Service app"),
        {
            content: "Open the organisation (other addons may add menus before it)",
            trigger: ".o_main_navbar [data-menu-xmlid='service_base.service_base_menu_organisation']",
            run: "click",
        },
        {
            content: "The hierarchy view shows the tree",
            trigger: ".o_hierarchy_view .o_hierarchy_node:contains('Tour HQ')",
        },
        {
            content: "Switch to the list view",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open the outlet",
            trigger: ".o_data_row td:contains('西客站营业厅 (tour)')",
            run: "click",
        },
        {
            content: "The form shows its parent",
            trigger: ".o_form_view .o_field_widget[name='parent_id'] input:value(Tour HQ)",
        },
    ],
});
