"""Failed AWS console sign-ins per user over CloudTrail logs, with PySpark and cwfilter.

The CIS "console authentication failures" metric filter (CIS AWS Foundations 3.6 / 4.6,
Security Hub CloudWatch.6), run over months of CloudTrail files by Spark instead of by CloudWatch:

* each Spark task reads its CloudTrail files with cwfilter's own reader (`parse_events`: the
  {"Records": [...]} documents, gzip or not, one compact JSON message per record, as CloudTrail
  delivers them to CloudWatch Logs);
* matches a whole partition at once with `Pattern.matches_many` (C++, without the GIL);
* puts one datapoint per failed sign-in into a per-partition `MetricStore`, with the user as a
  dimension, exactly as a metric filter with `metricValue = 1` and a dimension would publish;
* and the partitions' stores are merged (`MetricStore.merge` is exact and order-independent, so
  the result does not depend on how Spark split the input).

The merged store then answers CloudWatch-style queries, or feeds `cwfilter.backtest`.

Run locally:
    python examples/pyspark/failed_logins.py path/to/cloudtrail [more paths...]
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator

import cwfilter

PATTERN = '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
NAMESPACE = "CloudTrailMetrics"
METRIC = "ConsoleSignInFailureCount"
# Who failed to sign in: the IAM user name when CloudTrail records one, else the ARN, else the
# identity type (root sign-ins carry no userName).
USER_REFS = ["$.userIdentity.userName", "$.userIdentity.arn", "$.userIdentity.type"]


def cloudtrail_files(paths: Iterable[str]) -> list[str]:
    """Every file under `paths` (files or directories), sorted, skipping hidden files and index
    files that are not CloudTrail logs."""
    out = []
    for path in paths:
        if os.path.isfile(path):
            out.append(os.path.abspath(path))
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "CloudTrail-Digest")
            out += [os.path.join(os.path.abspath(root), f) for f in sorted(files)
                    if not f.startswith(".") and (f.endswith(".json") or f.endswith(".json.gz"))]
    return out


def failed_logins_store(files: Iterator[tuple[str, bytes]]) -> Iterator[cwfilter.MetricStore]:
    """mapPartitions body: (path, content) pairs in, one MetricStore out."""
    pattern = cwfilter.compile(PATTERN)  # cached per Python worker
    store = cwfilter.MetricStore(retention_ms=2**61)  # keep all history: this is a backfill
    for path, content in files:
        events = cwfilter.parse_events(content, source_name=path, errors="ignore")
        verdicts = pattern.matches_many([e.message_bytes for e in events])
        for event, failed in zip(events, verdicts):
            if not failed or event.timestamp is None:
                continue
            _, values = pattern.match_and_resolve(event.message_bytes, USER_REFS)
            user = next((v.text for v in values if v is not None and v.text), "unknown")
            key = cwfilter.MetricKey(NAMESPACE, METRIC, {"UserName": user})
            store.add_value(key, 1.0, event.timestamp, unit="Count")
    yield store


def merge(a: cwfilter.MetricStore, b: cwfilter.MetricStore) -> cwfilter.MetricStore:
    a.merge(b)
    return a


def count_failed_logins(sc, paths: Iterable[str], partitions: int | None = None) -> cwfilter.MetricStore:
    """The merged MetricStore of failed sign-ins under `paths`, computed by Spark."""
    files = cloudtrail_files(paths)
    if not files:
        return cwfilter.MetricStore(retention_ms=2**61)
    rdd = sc.binaryFiles(",".join(files), minPartitions=partitions or sc.defaultParallelism)
    return rdd.mapPartitions(failed_logins_store).reduce(merge)


def failures_per_user(store: cwfilter.MetricStore) -> dict[str, int]:
    """Total failed sign-ins per user over everything the store holds."""
    out = {}
    for key in store.keys():
        aggregate = store.query(key, -(2**62), 2**62)
        if aggregate is not None:
            out[key.dimensions["UserName"]] = int(aggregate.sum)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    from pyspark import SparkContext

    # Spark starts its Python workers with `python3` from PATH unless told otherwise; they must
    # run this interpreter (the virtual environment where cwfilter is installed), or they fail
    # with "No module named 'cwfilter'".
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sc = SparkContext("local[*]", "cwfilter-failed-logins")
    sc.setLogLevel("ERROR")
    try:
        store = count_failed_logins(sc, argv)
    finally:
        sc.stop()
    for user, count in failures_per_user(store).items():
        print(f"{count:6d}  {user}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
