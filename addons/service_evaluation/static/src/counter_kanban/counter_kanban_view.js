import { registry } from "@web/core/registry";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { ServiceCounterKanbanController } from "./counter_kanban_controller";
import { ServiceCounterKanbanModel } from "./counter_kanban_model";

export const serviceCounterKanbanView = {
    ...kanbanView,
    Controller: ServiceCounterKanbanController,
    Model: ServiceCounterKanbanModel,
};

registry.category("views").add("service_counter_kanban", serviceCounterKanbanView);
