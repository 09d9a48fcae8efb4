from . import sqs_bench_bare_ticket
