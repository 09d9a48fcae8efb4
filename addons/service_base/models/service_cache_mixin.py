import time

from odoo import api, fields, models, tools
from odoo.tools import SQL
from odoo.tools.lru import LRU

# Cache groups a model may declare in `_cache_depends`:
# - "rules": Odoo's 'default' registry cache (ir.rule domains, access checks and every
#   plain @ormcache). Cleared with registry.clear_cache(); Odoo signals it to the other
#   workers through the database, and each one reloads all of it on its next request.
# - the SERVICE_GROUPS: caches of the device event path (@service_ormcache), kept
#   apart from Odoo's and signalled through service.cache.signal.
SERVICE_GROUPS = ("device", "tellers", "sla")
CACHE_GROUPS = ("rules", *SERVICE_GROUPS)
SIGNAL_CHECK_INTERVAL = 2.0  # seconds: how stale another worker's change may be
STORE_SIZE = 4096  # entries per group and worker (keys: device users, outlets, companies)
_SEEN = "service_cache.generations"  # cr.cache: the generations this transaction read
_PENDING = "service_cache.pending"  # cr.postcommit.data: the groups to signal at commit
_MISSING = object()


class ServiceCacheMixin(models.AbstractModel):
    """Invalidates, on create, write and unlink, the caches that depend on a model.

    A model declares `_cache_depends = {group: fields}`: which cache groups depend on
    which of its fields (None: on any field). A write clears the groups whose fields
    it changes, a create those whose fields it sets, an unlink all of them. Groups:

    - "rules": the record rules. They read `res.users.service_unit_scope_ids` (the units
      a user manages or supervises) and Odoo caches the evaluated domains per user in
      its 'default' registry cache, which this clears (registry.clear_cache(): every
      worker then reloads everything in that cache: ir.rule, ir.model.access, ...). Use
      it only for changes to who manages or supervises what. `child_of` is expanded at
      query time, and the shift/device paths in the rules (e.g.
      `counter_ids.shift_ids.employee_id.user_id`) are SQL joins: new units, moved
      units, shifts and keypads need no rule cache clearing.
    - "device": what the device event path validates against (@service_ormcache
      methods of that group: a device user's keypads with their counters and business
      types, the key options per outlet, the company settings).
    - "tellers": the teller on duty at each counter shown on keypads.
    - "sla": the deadline terms of service_dispatch (its SLA policies matched per
      request type, priority and company; the working intervals of calendars).

    "device" and "tellers" are not Odoo registry caches: a change clears the group in
    this transaction's worker at once and, after the commit, inserts a row into
    service.cache.signal; every worker compares the latest row of each group with the
    generation its cached values belong to (reading the table at most every
    SIGNAL_CHECK_INTERVAL seconds). So a keypad LOGIN (a shift) costs the other workers
    one teller query, not a reload of Odoo's caches.

    Models using it, and what they clear:
    - service.org.unit: "rules" (manager_ids, supervisor_ids), "device" (parent_id,
      company_id: the scale that applies at an outlet).
    - service.evaluation.counter, .device, .business.type, .scale, .scale.option,
      res.company (the ingest settings): "device".
    - service.evaluation.shift (keypad LOGIN/LOGOUT, web shifts) and hr.employee (name,
      employee number, star level): "tellers" only.
    - service.dispatch.sla.policy, resource.calendar, resource.calendar.attendance and
      resource.calendar.leaves (service_dispatch): "sla".
    A new model may use it when a cached lookup depends on it: declare only the fields
    the cache reads, and prefer a SERVICE group over "rules".
    """

    _name = "service.cache.mixin"
    _description = "Service Cache Invalidation"

    _cache_depends = {}

    def _cache_groups_for(self, field_names):
        names = set(field_names)
        return {
            group
            for group, depends in self._cache_depends.items()
            if depends is None or depends.intersection(names)
        }

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self._cache_invalidate(self._cache_groups_for(key for vals in vals_list for key in vals))
        return records

    def write(self, vals):
        result = super().write(vals)
        self._cache_invalidate(self._cache_groups_for(vals))
        return result

    def unlink(self):
        result = super().unlink()
        self._cache_invalidate(set(self._cache_depends))
        return result

    # ------------------------------------------------------------ invalidation
    @api.model
    def _cache_invalidate(self, groups):
        """Clear `groups` (see the class docstring) here now, elsewhere after commit."""
        if "rules" in groups:
            self.env.registry.clear_cache()
        service_groups = set(groups).intersection(SERVICE_GROUPS)
        if not service_groups:
            return
        mixin = self.env["service.cache.mixin"]  # the stores are keyed on the model name
        for group in service_groups:
            mixin._service_cache_store(group).reset()
        cr, registry = self.env.cr, self.env.registry
        postcommit = cr.postcommit
        if _PENDING not in postcommit.data:
            postcommit.data[_PENDING] = set()

            @postcommit.add
            def signal():
                pending = postcommit.data.pop(_PENDING, set())
                with registry.cursor() as signal_cr:
                    signal_cr.execute(
                        SQL(
                            "INSERT INTO service_cache_signal (name) VALUES %s",
                            SQL(", ").join(SQL("(%s)", group) for group in sorted(pending)),
                        )
                    )

            # A rolled-back change may have been cached in this worker meanwhile.
            @cr.postrollback.add
            def forget():
                for group in SERVICE_GROUPS:
                    mixin._service_cache_store(group).reset()

        postcommit.data[_PENDING] |= service_groups

    # ------------------------------------------------------------ stores
    @api.model
    @tools.ormcache("group")
    def _service_cache_store(self, group):
        """This worker's values of a SERVICE group, in Odoo's 'default' cache (so that
        whatever clears Odoo's caches, e.g. tests between themselves, clears it too)."""
        return ServiceCacheStore()

    @api.model
    @tools.ormcache()
    def _service_cache_signals(self):
        """This worker's last reading of service.cache.signal (see _service_cache_values)."""
        return ServiceCacheSignals()

    @api.model
    def _service_cache_values(self, group):
        """The LRU of a group's current values, or None: do not cache in this transaction.

        Each transaction keeps the generations it first saw. The worker reads them
        again (one indexed query) when its last reading is older than
        SIGNAL_CHECK_INTERVAL: another worker's change reaches the device replies of
        this one within that time, without a query on every device request.
        """
        cr = self.env.cr
        seen = cr.cache.get(_SEEN)
        if seen is None:
            signals = self._service_cache_signals()
            if time.monotonic() - signals.checked > SIGNAL_CHECK_INTERVAL:
                cr.execute(
                    SQL(
                        "SELECT %s",
                        SQL(", ").join(
                            SQL("(SELECT max(id) FROM service_cache_signal WHERE name = %s)", g)
                            for g in SERVICE_GROUPS
                        ),
                    )
                )
                signals.seen = dict(zip(SERVICE_GROUPS, cr.fetchone(), strict=True))
                signals.checked = time.monotonic()
            # Odoo clears cr.cache at the end of each transaction.
            seen = cr.cache[_SEEN] = signals.seen
        return self._service_cache_store(group).values_at(seen[group] or 0)


class ServiceCacheSignals:
    """When this worker last read service.cache.signal, and the latest row per group."""

    __slots__ = ("checked", "seen")

    def __init__(self):
        self.checked = float("-inf")
        self.seen = dict.fromkeys(SERVICE_GROUPS)


class ServiceCacheStore:
    """The values of one cache group in one worker, and the generation they belong to."""

    __slots__ = ("generation", "values")

    def __init__(self):
        self.generation = 0
        self.values = LRU(STORE_SIZE)

    def reset(self):
        self.values = LRU(STORE_SIZE)

    def values_at(self, generation):
        if generation > self.generation:  # signalled since: start afresh
            self.generation = generation
            self.values = LRU(STORE_SIZE)
        elif generation < self.generation:  # an older snapshot than the values
            return None
        return self.values


class service_ormcache(tools.ormcache):  # named like the decorator it extends
    """`tools.ormcache` whose values live in a service.cache.mixin group.

    `@service_ormcache("outlet_id", group="device")`: same key expressions as
    `tools.ormcache`; the values are cleared by the models that declare the group in
    their `_cache_depends`, not by Odoo's registry cache clearing alone.
    """

    def __init__(self, *args, group):
        assert group in SERVICE_GROUPS, f"unknown service cache group {group!r}"
        super().__init__(*args)
        self.group = group

    def lookup(self, *args, **kwargs):
        model = args[0]
        values = model.env["service.cache.mixin"]._service_cache_values(self.group)
        if values is None:
            return self.method(*args, **kwargs)
        key = self.key(*args, **kwargs)
        value = values.get(key, _MISSING)
        if value is _MISSING:
            value = values[key] = self.method(*args, **kwargs)
        return value


class ServiceCacheSignal(models.Model):
    """One row per committed change to a cache group (service.cache.mixin)."""

    _name = "service.cache.signal"
    _description = "Service Cache Signal"
    _log_access = False

    name = fields.Char(required=True)

    _name_id_idx = models.Index("(name, id)")

    @api.autovacuum
    def _gc_signals(self):
        """Keep the latest row of each group: the others are never read."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM service_cache_signal s WHERE s.id < "
                "(SELECT max(id) FROM service_cache_signal WHERE name = s.name)"
            )
        )
