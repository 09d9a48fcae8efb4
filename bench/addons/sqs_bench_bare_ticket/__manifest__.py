{
    "name": "SQS Bench: Bare Ticket",
    "summary": "Benchmark baseline: a bare mail.thread record with the fields of a service "
    "request and its work order, tracked, no business logic",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "Service Quality Suite contributors",
    "license": "LGPL-3",
    "depends": ["service_dispatch"],
    "data": ["security/ir.model.access.csv"],
}
