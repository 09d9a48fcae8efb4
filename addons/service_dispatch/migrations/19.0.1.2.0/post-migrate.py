"""19.0.1.2.0 renames the default SLA policy "Standard" to "Standard Service".

Its Chinese name was the member tier's ("Standard" → 普通卡, standard card), as both
terms shared one entry of the translation file. The shipped record (noupdate) is renamed
in English and Chinese where it still has the shipped names; a name an administrator
changed is kept.
"""


def migrate(cr, version):
    cr.execute(
        """UPDATE service_dispatch_sla_policy policy
              SET name = policy.name
                         || CASE WHEN policy.name->>'en_US' = 'Standard'
                                 THEN '{"en_US": "Standard Service"}'::jsonb
                                 ELSE '{}'::jsonb END
                         || CASE WHEN policy.name->>'zh_CN' = '普通卡'
                                 THEN '{"zh_CN": "标准服务"}'::jsonb
                                 ELSE '{}'::jsonb END
             FROM ir_model_data data
            WHERE data.module = 'service_dispatch'
              AND data.name = 'sla_policy_normal'
              AND data.model = 'service.dispatch.sla.policy'
              AND data.res_id = policy.id"""
    )
