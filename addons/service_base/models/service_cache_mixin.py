from odoo import api, models


class ServiceCacheMixin(models.AbstractModel):
    """Clears the registry cache when records that cached lookups depend on change.

    Record rules (unit scopes) and the device event path (keypads, scales, settings,
    tellers on duty) cache what they derive from these models; a change must be seen
    by the next request.
    `_cache_fields`: the fields whose change matters on write (None: any field).
    """

    _name = "service.cache.mixin"
    _description = "Service Registry Cache Invalidation"

    _cache_fields = None

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        if self._cache_fields is None or self._cache_fields.intersection(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
