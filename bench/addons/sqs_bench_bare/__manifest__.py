{
    "name": "SQS Bench: Bare Baseline",
    "summary": "Benchmark baseline: a bare model and two bearer JSON-RPC routes, no validation",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "Service Quality Suite contributors",
    "license": "LGPL-3",
    "depends": ["base"],
    "data": ["security/ir.model.access.csv"],
}
