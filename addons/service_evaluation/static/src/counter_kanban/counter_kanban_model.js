import { RelationalModel } from "@web/model/relational_model/relational_model";

/**
 * Context key read by the server's `web_read_group` (addons/web/models/models.py): how many
 * groups it opens (reads the records of) by default; without it, 10. The web client shows
 * the others folded, so an 11th outlet's counters were hidden away in a folded column.
 */
export const OPENED_GROUPS_CONTEXT_KEY = "max_number_opened_groups";
const ALL_GROUPS = Number.MAX_SAFE_INTEGER;

/**
 * Counters kanban model: every outlet's column opens, however many outlets there are (the
 * kanban already reads every group: its groups limit is unbounded). Columns the user folds
 * stay folded: the server keeps the state the client sends back on each reload.
 */
export class ServiceCounterKanbanModel extends RelationalModel {
    async load(params = {}) {
        if ("context" in params) {
            const context = { ...params.context, [OPENED_GROUPS_CONTEXT_KEY]: ALL_GROUPS };
            params = { ...params, context };
        }
        return super.load(params);
    }
}
