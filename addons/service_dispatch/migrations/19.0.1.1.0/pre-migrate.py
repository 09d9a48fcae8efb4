"""19.0.1.1.0 stores each appliance's product label: the column is created here, empty,
so that the upgrade does not compute it appliance by appliance through the ORM
(millions on a large installation); post-migrate fills it per product and company."""


def migrate(cr, version):
    cr.execute(
        "ALTER TABLE service_dispatch_appliance ADD COLUMN IF NOT EXISTS product_label varchar"
    )
