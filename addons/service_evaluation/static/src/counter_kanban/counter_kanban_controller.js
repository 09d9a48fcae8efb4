import { onMounted, onWillDestroy, onWillUnmount } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { KanbanController } from "@web/views/kanban/kanban_controller";

/** Bus notification sent by the server whenever a counter's live state changes. */
export const COUNTER_UPDATE_NOTIFICATION = "service_evaluation/counter_update";
/**
 * Fallback refresh period (ms): the server sends at most one notification a second,
 * so a change right after one shows with the next keypad event or at this tick.
 */
export const COUNTER_REFRESH_INTERVAL = 5000;
const BUS_RELOAD_DEBOUNCE = 300;

/**
 * Counters kanban: keeps the live state of the counters (teller on duty, serving,
 * awaiting rating, device offline) up to date without the user reloading the page.
 */
export class ServiceCounterKanbanController extends KanbanController {
    setup() {
        super.setup(...arguments);
        this.busService = useService("bus_service");
        this.isRefreshing = false;
        this.reloadDebounced = useDebounced(() => this.refreshCounters(), BUS_RELOAD_DEBOUNCE);

        this.onCounterUpdate = this.onCounterUpdate.bind(this);
        this.busService.subscribe(COUNTER_UPDATE_NOTIFICATION, this.onCounterUpdate);
        onWillDestroy(() =>
            this.busService.unsubscribe(COUNTER_UPDATE_NOTIFICATION, this.onCounterUpdate)
        );

        onMounted(() => {
            this.refreshIntervalId = browser.setInterval(() => {
                // Nobody is looking: skip this tick, the bus still triggers reloads.
                if (document.visibilityState !== "hidden") {
                    this.refreshCounters();
                }
            }, COUNTER_REFRESH_INTERVAL);
        });
        onWillUnmount(() => browser.clearInterval(this.refreshIntervalId));
    }

    /**
     * @param {Object} [payload] e.g. {counter_ids: [...]} ; any update triggers a reload,
     *   since the grouping/filtering is done server side.
     */
    onCounterUpdate(/* payload */) {
        this.reloadDebounced();
    }

    /** Reload the counters in place, keeping the current search, grouping and folded groups. */
    async refreshCounters() {
        if (this.isRefreshing || this.model.useSampleModel) {
            return;
        }
        this.isRefreshing = true;
        try {
            await this.model.load();
            this.model.notify();
        } finally {
            this.isRefreshing = false;
        }
    }
}
