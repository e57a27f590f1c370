"""MetricFilter and test_metric_filter: the metric_value cases of patterns.jsonl, the invalid
transformations, the same response as `cwfilter test`, and publishing into a MetricStore."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import cwfilter
from conftest import read_jsonl

CASES = read_jsonl("spec/cases/patterns.jsonl")
VALUE_CASES = [c for c in CASES if c["family"] == "metric_value"]
BAD_TRANSFORMATION_CASES = [c for c in CASES if c["family"] == "invalid" and "metric_transformation" in c]
T0 = 1767225600000


def complete(mt):
    """Fills in the names a case leaves out (they do not matter to the value)."""
    items = mt if isinstance(mt, list) else [mt]
    out = [{"metricName": "m", "metricNamespace": "ns", **t} for t in items]
    return out if isinstance(mt, list) else out[0]


def test_case_counts():
    assert len(VALUE_CASES) >= 19
    assert len(BAD_TRANSFORMATION_CASES) >= 4


@pytest.mark.parametrize("case", VALUE_CASES, ids=[c["id"] for c in VALUE_CASES])
def test_metric_value_case(case):
    f = cwfilter.MetricFilter(case["pattern"], complete(case["metric_transformation"]),
                              filter_name="f", log_group_name="g")
    out = f.evaluate(case["event"], T0)
    assert out.matched is case["match"]
    if case["value"] is None:
        assert out.datapoint is None
    else:
        assert out.datapoint is not None
        assert out.datapoint.value == case["value"]
        assert out.datapoint.timestamp == T0
        if "dimensions" in case:
            assert out.datapoint.key.dimensions == case["dimensions"]
    # The batch API agrees.
    points = f.datapoints([case["event"]], T0)
    assert [p.value for p in points] == ([] if case["value"] is None else [case["value"]])


@pytest.mark.parametrize("case", BAD_TRANSFORMATION_CASES, ids=[c["id"] for c in BAD_TRANSFORMATION_CASES])
def test_invalid_transformation_rejected(case):
    with pytest.raises(ValueError):
        cwfilter.MetricFilter(case["pattern"], complete(case["metric_transformation"]),
                              filter_name="f", log_group_name="g")


def test_validation_messages():
    t = {"metricName": "m", "metricNamespace": "ns", "metricValue": "1"}
    with pytest.raises(ValueError, match="^The specified filter pattern does not support dimensions$"):
        cwfilter.MetricFilter("ERROR", {**t, "dimensions": {"d": "$.a"}})
    with pytest.raises(ValueError, match="StandardUnit"):
        cwfilter.MetricFilter("ERROR", {**t, "unit": "Bananas"})
    with pytest.raises(ValueError, match="exactly one"):
        cwfilter.MetricFilter("ERROR", [t, t])
    f = cwfilter.MetricFilter("ERROR", [t])
    assert f.pattern == cwfilter.compile("ERROR")
    assert f.metric_transformation["metricValue"] == "1"


def test_defaults_dimensions_and_publish():
    f = cwfilter.MetricFilter('{ $.eventName = "ConsoleLogin" }',
                              {"metricName": "Logins", "metricNamespace": "CT", "metricValue": "1",
                               "dimensions": {"User": "$.user"}, "unit": "Count"})
    msgs = ['{"eventName":"ConsoleLogin","user":"bob"}', '{"eventName":"Other","user":"bob"}',
            b'{"eventName":"ConsoleLogin","user":"amy"}', '{"eventName":"ConsoleLogin","user":"bob"}']
    points = f.datapoints(msgs, [T0, T0 + 1000, T0 + 2000, T0 + 61_000])
    assert [(p.key.dimensions["User"], p.timestamp, p.unit) for p in points] == \
        [("bob", T0, "Count"), ("amy", T0 + 2000, "Count"), ("bob", T0 + 61_000, "Count")]
    store = cwfilter.MetricStore()
    assert f.publish(store, msgs, "2026-01-01T00:00:00Z") == 3
    bob = cwfilter.MetricKey("CT", "Logins", {"User": "bob"})
    assert store.get_statistic(bob, "Sum", T0, T0 + 60_000, unit="Count") == 2.0
    with pytest.raises(ValueError, match="one entry per message"):
        f.datapoints(msgs, [T0])


def test_default_value_for_non_matching_events():
    f = cwfilter.MetricFilter("ERROR", {"metricName": "E", "metricNamespace": "App", "metricValue": "1",
                                        "defaultValue": 0})
    points = f.datapoints(["ERROR x", "fine", "ok"], T0)
    assert [(p.value, p.is_default) for p in points] == [(1.0, False), (0.0, True), (0.0, True)]


def test_metric_filter_into_alarm():
    """alarms.jsonl logs-metric-filter-no-default: events that never match publish nothing, so
    the alarm has no data."""
    case = next(c for c in read_jsonl("spec/cases/alarms.jsonl") if c["id"] == "logs-metric-filter-no-default")
    mf = case["metric_filter"]
    f = cwfilter.MetricFilter(mf["filterPattern"], mf["metricTransformations"])
    store = cwfilter.MetricStore()
    events = case["log_events"]
    assert f.publish(store, [e["message"] for e in events], [e["timestamp"] for e in events]) == 0
    alarm = cwfilter.MetricAlarm({**case["alarm"], "AlarmName": case["id"]})
    for e in case["evaluations"]:
        ev = cwfilter.evaluate(alarm, store, e["at"])
        assert ev.state.value == e["expected_state"]
        assert ev.state.reason == e["expected_reason"]


# ---- test_metric_filter = `cwfilter test` --------------------------------------------------

def cli_path():
    # scripts/test.sh points CWFILTER_CLI at the dev tree's binary; `pip install .` installs the
    # CLI as a script next to the interpreter.
    if os.environ.get("CWFILTER_CLI"):
        return os.environ["CWFILTER_CLI"]
    candidate = pathlib.Path(sys.executable).parent / "cwfilter"
    if candidate.exists():
        return str(candidate)
    return shutil.which("cwfilter")


def run_cli(pattern, messages, transformations=None):
    args = [cli_path(), "test", "--filter-pattern", pattern, "--log-event-messages", *messages]
    if transformations is not None:
        args += ["--metric-transformations", json.dumps(transformations)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_test_metric_filter_shape():
    r = cwfilter.test_metric_filter("[a, b=2*]", ["x 20", "y 3", "z 21"])
    assert r == {"matches": [
        {"eventNumber": 1, "eventMessage": "x 20", "extractedValues": {"$a": "x", "$b": "20"}},
        {"eventNumber": 3, "eventMessage": "z 21", "extractedValues": {"$a": "z", "$b": "21"}}]}
    with pytest.raises(cwfilter.PatternError, match="^Invalid filter pattern"):
        cwfilter.test_metric_filter("{ $.a = 'x' }", [])


@pytest.mark.skipif(cli_path() is None, reason="the cwfilter CLI is not installed next to this Python")
@pytest.mark.parametrize("case", [c for c in CASES if "match" in c and "\n" not in c["event"]
                                  and not c["event"].startswith("-")][::3], ids=lambda c: c["id"])
def test_same_response_as_cli(case):
    transformations = [complete(case["metric_transformation"])] if "metric_transformation" in case else None
    if isinstance(case.get("metric_transformation"), list):
        transformations = complete(case["metric_transformation"])
    messages = [case["event"], "unrelated message"]
    code, out, err = run_cli(case["pattern"], messages, transformations)
    assert code == 0, err
    assert cwfilter.test_metric_filter(case["pattern"], messages, transformations) == json.loads(out)
