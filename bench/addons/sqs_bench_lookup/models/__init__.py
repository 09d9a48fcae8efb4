from . import sqs_bench_lookup
