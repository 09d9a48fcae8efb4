{
    "name": "SQS Bench: Hand-written Caller Lookup",
    "summary": "Benchmark baseline: a caller looked up by one hand-written indexed SQL query, "
    "called over JSON-2 like the intake screen",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "Service Quality Suite contributors",
    "license": "LGPL-3",
    "depends": ["base"],
}
