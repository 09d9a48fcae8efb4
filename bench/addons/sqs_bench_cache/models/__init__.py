from . import sqs_bench_tree
