import { registry } from "@web/core/registry";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { ServiceCounterKanbanController } from "./counter_kanban_controller";

export const serviceCounterKanbanView = {
    ...kanbanView,
    Controller: ServiceCounterKanbanController,
};

registry.category("views").add("service_counter_kanban", serviceCounterKanbanView);
