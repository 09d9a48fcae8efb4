{
    "name": "SQS Bench: Plain Tree",
    "summary": "Benchmark baseline: units and counters like ours, without service.cache.mixin",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "Service Quality Suite contributors",
    "license": "LGPL-3",
    "depends": ["mail"],
    "data": ["security/ir.model.access.csv"],
}
