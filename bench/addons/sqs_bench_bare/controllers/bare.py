from odoo import http
from odoo.http import request

FIELDS = ("name", "value", "moment")


def _vals(row):
    return {name: row.get(name) for name in FIELDS if name in row}


class BareBench(http.Controller):
    """The baseline the device route is measured against: same transport, same
    authentication (bearer API key), one ORM create, nothing else."""

    @http.route("/sqs_bench/bare/one", type="jsonrpc", auth="bearer", methods=["POST"])
    def bare_one(self, **params):
        return request.env["sqs.bench.row"].create(_vals(params)).id

    @http.route("/sqs_bench/bare/batch", type="jsonrpc", auth="bearer", methods=["POST"])
    def bare_batch(self, rows=None, **kwargs):
        return len(request.env["sqs.bench.row"].create([_vals(row) for row in rows or []]))
