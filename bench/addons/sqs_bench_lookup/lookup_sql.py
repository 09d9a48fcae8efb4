"""The hand-written caller lookup (plain module: bench_caller_lookup.py runs it too)."""

LOOKUP_SQL = """
SELECT p.id, p.name, p.service_member_tier, p.service_member_number,
       a.id, a.serial_number, a.product_id, a.purchase_date::text, a.warranty_end::text
  FROM res_partner p
  LEFT JOIN service_dispatch_appliance a ON a.partner_id = p.id AND a.active
 WHERE p.phone_sanitized = %s AND p.active
 ORDER BY p.id, a.id
"""
