"""examples/pyspark/failed_logins.py in Spark local mode over the corpus CloudTrail files,
checked against an independent count in plain Python. Skipped (with the reason) when pyspark or
a Java runtime is not installed: `CWFILTER_PYSPARK=1 scripts/python-test.sh` installs pyspark."""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import shutil
import sys

import pytest

import cwfilter
from conftest import REPO, shared_dir

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("pyspark is not installed (CWFILTER_PYSPARK=1 scripts/python-test.sh installs it)",
                allow_module_level=True)
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime for Spark (Debian: apt-get install default-jre-headless)",
                allow_module_level=True)

sys.path.insert(0, str(REPO / "examples" / "pyspark"))
import failed_logins  # noqa: E402


@pytest.fixture(scope="module")
def spark_context():
    from pyspark import SparkConf, SparkContext

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = (SparkConf().setMaster("local[2]").setAppName("cwfilter-test")
            .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    # The workers unpickle the example's functions by module name.
    sc.addPyFile(str(REPO / "examples" / "pyspark" / "failed_logins.py"))
    yield sc
    sc.stop()


def expected_failures(files):
    """Failed console sign-ins per user, from the raw JSON without cwfilter."""
    counts = collections.Counter()

    def visit(record):
        if (isinstance(record, dict) and record.get("eventName") == "ConsoleLogin"
                and record.get("errorMessage") == "Failed authentication" and record.get("eventTime")):
            ui = record.get("userIdentity") or {}
            counts[ui.get("userName") or ui.get("arn") or ui.get("type") or "unknown"] += 1

    for path in files:
        text = open(path, encoding="utf-8", errors="replace").read()
        try:
            doc = json.loads(text)
        except ValueError:  # JSON lines
            for line in text.splitlines():
                try:
                    visit(json.loads(line))
                except ValueError:
                    pass
            continue
        records = doc.get("Records", [doc]) if isinstance(doc, dict) else doc
        for r in records if isinstance(records, list) else []:
            visit(r)
    return dict(counts)


def test_failed_logins_per_user(spark_context):
    paths = [str(shared_dir() / "corpus" / "cloudtrail" / d)
             for d in ("awsdocs", "panther", "stratus-red-team", "otrf")]
    files = failed_logins.cloudtrail_files(paths)
    want = expected_failures(files)
    assert sum(want.values()) > 0
    store = failed_logins.count_failed_logins(spark_context, paths, partitions=4)
    assert failed_logins.failures_per_user(store) == want
    # The merged store is the same as one built without Spark, in one partition.
    with_open = ((f, open(f, "rb").read()) for f in files)
    single = next(failed_logins.failed_logins_store(with_open))
    assert single == store
