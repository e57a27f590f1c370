"""Every runnable case of spec/cases/alarms.jsonl with `evaluations`, through MetricStore,
MetricAlarm, evaluate/backtest and sns_notifications (as tests/test_alarm_cases.cpp does in C++)."""
from __future__ import annotations

import json

import pytest

import cwfilter
from conftest import read_jsonl

CASES = [c for c in read_jsonl("spec/cases/alarms.jsonl")
         if "evaluations" in c and "alarm" in c and c.get("runnable", True) is not False]
STATES = {"OK", "ALARM", "INSUFFICIENT_DATA"}


def alarm_config(case, changes=None):
    config = dict(case["alarm"])
    config.setdefault("AlarmName", case["id"])
    config.update(changes or {})
    return config


def metric_data(case):
    """The case's metric_data as a PutMetricData request for the alarm's metric. A
    {value, sampleCount} entry is a recorded datapoint: a statistic set whose alarm statistic is
    `value` with that SampleCount."""
    alarm = case["alarm"]
    stat = alarm.get("Statistic", "")
    data = []
    for m in case["metric_data"]:
        datum = {"MetricName": alarm["MetricName"],
                 "Timestamp": m.get("timestamp", m.get("period_start"))}
        if "Dimensions" in alarm:
            datum["Dimensions"] = alarm["Dimensions"]
        if "values" in m:
            datum["Values"] = m["values"]
            if "counts" in m:
                datum["Counts"] = m["counts"]
        elif "sampleCount" in m:
            v, n = m["value"], m["sampleCount"]
            sum_like = stat == "Sum"
            datum["StatisticValues"] = {"SampleCount": n, "Sum": v if sum_like else v * n,
                                        "Minimum": v / n if sum_like else v,
                                        "Maximum": v / n if sum_like else v}
        else:
            datum["Value"] = m["value"]
        if "unit" in m:
            datum["Unit"] = m["unit"]
        if "storage_resolution" in m:
            datum["StorageResolution"] = m["storage_resolution"]
        data.append(datum)
    return {"Namespace": alarm["Namespace"], "MetricData": data}


def state_before(case):
    s = case.get("state_before")
    return cwfilter.AlarmState.assumed(s) if isinstance(s, str) else cwfilter.AlarmState.initial()


def ordered(text):
    """JSON with key order kept, to compare StateReasonData exactly as AWS orders it."""
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def test_case_file_is_complete():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_alarm_case(case):
    store = cwfilter.MetricStore(retention_ms=2**61)  # backtests replay history of any age
    request = metric_data(case)
    assert store.put_metric_data(request) == len(request["MetricData"])
    alarm = cwfilter.MetricAlarm(alarm_config(case))
    state = state_before(case)
    checked = 0
    for e in case["evaluations"]:
        if "variant" in e:
            variant = cwfilter.MetricAlarm(alarm_config(case, e["variant"]))
            ev = cwfilter.evaluate(variant, store, e["at"], state_before(case))
            used = variant
        else:
            if "config_change_before" in e:
                alarm = cwfilter.MetricAlarm(alarm_config(case, e["config_change_before"]))
            ev = cwfilter.evaluate(alarm, store, e["at"], state)
            state = ev.state
            used = alarm
        assert ev.query_ms == cwfilter.parse_timestamp(e["at"])
        if e.get("expected_state") in STATES:
            assert ev.state.value == e["expected_state"], e["at"]
            checked += 1
        if "expected_reason" in e:
            assert ev.state.reason == e["expected_reason"]
        if "expected_reason_data" in e:
            assert ordered(ev.state.reason_data) == ordered(json.dumps(e["expected_reason_data"]))
        if "expected_sns_publishes" in e:
            notes = cwfilter.sns_notifications(used, ev)
            assert len(notes) == e["expected_sns_publishes"]
            for n in notes:
                message = json.loads(n["message"])
                assert message["AlarmName"] == used.alarm_name
                assert message["NewStateValue"] == ev.state.value
                assert json.loads(n["envelope"])["Message"] == n["message"]
    assert checked == sum(1 for e in case["evaluations"] if e.get("expected_state") in STATES)


@pytest.mark.parametrize("case", [c for c in CASES if not any("variant" in e or "config_change_before" in e
                                                                for e in c["evaluations"])],
                         ids=lambda c: c["id"])
def test_backtest_agrees_with_step_by_step(case):
    store = cwfilter.MetricStore(retention_ms=2**61)
    store.put_metric_data(metric_data(case))
    alarm = cwfilter.MetricAlarm(alarm_config(case))
    instants = [e["at"] for e in case["evaluations"]]
    evaluations = cwfilter.backtest(alarm, store, instants, initial_state=state_before(case))
    assert [ev.state.value for ev in evaluations] == \
        [e["expected_state"] if e.get("expected_state") in STATES else ev.state.value
         for e, ev in zip(case["evaluations"], evaluations)]
    evaluator = cwfilter.AlarmEvaluator(alarm, state_before(case))
    for at, ev in zip(instants, evaluations):
        assert evaluator.evaluate(at, store).state.value == ev.state.value
    summary = cwfilter.summarize(alarm, evaluations)
    assert summary.evaluations == len(instants)
    assert summary.transitions == sum(ev.transition for ev in evaluations)
    assert summary.times_in_alarm == sum(ev.transition and ev.state.value == "ALARM" for ev in evaluations)
    assert len(evaluator.history) == summary.transitions
