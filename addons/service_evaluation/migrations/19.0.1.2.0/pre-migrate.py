"""Facts, scopes and one counter per teller (19.0.1.2.0), before the update loads.

- The record rules live in a noupdate block, which an update never rewrites: the
  module's rules are dropped here so the update creates them anew, with the scopes of
  this release (rules an administrator added by hand are not the module's and stay).
- A teller may be on duty at one counter at a time, and a unique index of open shifts
  now says so: a database made before it may hold a teller open at several counters.
  Each such teller keeps the shift started last; the others end when it started.
"""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(
        SQL(
            """DELETE FROM ir_rule WHERE id IN (
                   SELECT res_id FROM ir_model_data
                    WHERE module = 'service_evaluation' AND model = 'ir.rule');
               DELETE FROM ir_model_data
                WHERE module = 'service_evaluation' AND model = 'ir.rule'"""
        )
    )
    cr.execute(
        SQL(
            """WITH latest AS (
                   SELECT DISTINCT ON (employee_id) employee_id, id, date_start
                     FROM service_evaluation_shift
                    WHERE date_end IS NULL
                 ORDER BY employee_id, date_start DESC, id DESC)
               UPDATE service_evaluation_shift s
                  SET date_end = latest.date_start,
                      duration_hours = EXTRACT(EPOCH FROM latest.date_start - s.date_start) / 3600
                 FROM latest
                WHERE s.employee_id = latest.employee_id AND s.date_end IS NULL
                  AND s.id != latest.id"""
        )
    )
