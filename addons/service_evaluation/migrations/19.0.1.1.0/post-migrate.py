"""Leaner event and session tables (19.0.1.1.0).

The device event path writes millions of rows: what the models no longer declare
would still be written on every insert of a database upgraded in place.
- service_evaluation_event.session_id is derived now (the device's last START), no
  longer stored: its column, index and foreign key go; so does company_id (the
  keypad's, read through it).
- Sessions have no create/write audit columns (their events are the audit trail).
- Indexes the models dropped: the session's single-column state, company and outlet
  indexes (an open-sessions index and (outlet, date) replace them), the events'
  START index (the device-time index serves that lookup).
"""

from odoo.tools import SQL

OBSOLETE_INDEXES = (
    "service_evaluation_session__state_index",
    "service_evaluation_session__company_id_index",
    "service_evaluation_session__outlet_id_index",
    "service_evaluation_event_device_start_idx",
    "service_evaluation_event__session_id_index",
)
OBSOLETE_COLUMNS = {
    "service_evaluation_event": ("session_id", "company_id"),
    "service_evaluation_session": ("create_uid", "create_date", "write_uid", "write_date"),
}


def migrate(cr, version):
    for index in OBSOLETE_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
    for table, columns in OBSOLETE_COLUMNS.items():
        for column in columns:
            cr.execute(
                SQL(
                    "ALTER TABLE %s DROP COLUMN IF EXISTS %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                )
            )
