"""Alarm history from Python (alarms.md §10): the created item, StateUpdate items, and Action items
recorded from the outcome the caller reports (the evaluator does not execute actions)."""
from __future__ import annotations

import json

import cwfilter

T0 = 1767225600000  # 2026-01-01T00:00:00Z
TOPIC = "arn:aws:sns:eu-north-1:111122223333:a"
ALARM = {"AlarmName": "errors", "Namespace": "App", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
         "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
         "TreatMissingData": "notBreaching", "AlarmActions": [TOPIC]}


def test_evaluator_history_items():
    store = cwfilter.MetricStore()
    store.put_metric_data({"Namespace": "App", "MetricData": [
        {"MetricName": "Errors", "Timestamp": "2026-01-01T00:01:10Z", "Value": 1}]})
    e = cwfilter.AlarmEvaluator.created(cwfilter.MetricAlarm(ALARM), T0)
    ev = e.evaluate(T0 + 120_000, store)
    assert ev.transition and ev.actions == [TOPIC]
    e.record_action(TOPIC, ev.query_ms, succeeded=False, reason="Topic not found")
    h = e.history
    assert [i["HistoryItemType"] for i in h] == ["ConfigurationUpdate", "StateUpdate", "Action"]
    assert h[0]["HistorySummary"] == 'Alarm "errors" created'
    created = json.loads(h[0]["HistoryData"])
    assert list(created) == ["version", "type", "createdAlarm"]
    assert list(created["createdAlarm"])[-3:] == ["alarmActions", "insufficientDataActions", "okactions"]
    assert h[2]["HistorySummary"] == f"Failed to execute action {TOPIC}. Reason: Topic not found"
    assert h[2]["HistoryData"] == json.dumps({"actionState": "Failed", "notificationResource": TOPIC},
                                             separators=(",", ":"))


def test_pipeline_history_with_reported_deliveries():
    config = {"metricFilters": [{"filterName": "errors", "logGroupName": "app", "filterPattern": "ERROR",
                                 "metricTransformations": [{"metricName": "Errors", "metricNamespace": "App",
                                                            "metricValue": "1"}]}],
              "metricAlarms": [ALARM]}
    p = cwfilter.Pipeline(config, max_lateness_ms=0, until=T0 + 600_000)
    p.add("ERROR boom", T0 + 30_000)
    notes = p.finish()
    assert [n["topic_arn"] for n in notes] == [TOPIC]
    assert p.record_action(notes[0]["alarm_name"], notes[0]["topic_arn"], notes[0]["at"])
    assert not p.record_action("nope", TOPIC, T0)
    h = p.history()
    assert [i["HistoryItemType"] for i in h] == \
        ["ConfigurationUpdate", "StateUpdate", "StateUpdate", "Action", "StateUpdate"]
    assert h[3]["HistorySummary"] == f"Successfully executed action {TOPIC}"
    assert h[3]["Timestamp"] == notes[0]["at"] == T0 + 60_000
