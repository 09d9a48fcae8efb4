from . import sqs_bench_row
