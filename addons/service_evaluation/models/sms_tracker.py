from odoo import fields, models


class SmsTracker(models.Model):
    """Carries the outcome of an alert's SMS to the alert, as mass_mailing_sms does for
    mailing traces: sending results (sms.sms._send) and the provider's delivery reports
    (/sms/status) both go through trackers, which outlive the sms.sms rows Odoo deletes
    once sent."""

    _inherit = "sms.tracker"

    service_alert_id = fields.Many2one(
        "service.evaluation.alert", ondelete="cascade", index="btree_not_null"
    )

    def _action_update_from_provider_error(self, provider_error):
        error_status, failure_type, failure_reason = super()._action_update_from_provider_error(
            provider_error
        )
        if self.service_alert_id:
            self.service_alert_id._update_sms_state(
                error_status or "error", failure_type=failure_type, failure_reason=failure_reason
            )
        return error_status, failure_type, failure_reason

    def _action_update_from_sms_state(self, sms_state, failure_type=False, failure_reason=False):
        result = super()._action_update_from_sms_state(
            sms_state, failure_type=failure_type, failure_reason=failure_reason
        )
        if self.service_alert_id:
            self.service_alert_id._update_sms_state(
                sms_state, failure_type=failure_type, failure_reason=failure_reason
            )
        return result
