"""The Python Pipeline over the failed-login example (examples/failed-logins): the same SNS
notifications as `cwfilter run` prints (expected-notifications.jsonl), by callback or returned,
and the seed's literal configuration's warning."""
from __future__ import annotations

import json

import pytest

import cwfilter
from conftest import REPO

EXAMPLE = REPO / "examples" / "failed-logins"


def events():
    return cwfilter.read_events(str(EXAMPLE / "cloudtrail"))


def expected():
    with open(EXAMPLE / "expected-notifications.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def config(name="config.json"):
    with open(EXAMPLE / name, encoding="utf-8") as f:
        return json.load(f)


def test_notifications_by_callback():
    got = []
    p = cwfilter.Pipeline(config(), got.append)
    assert p.add_many(events()) == []  # delivered to the callback instead
    assert p.finish() == []
    assert [json.loads(n["envelope"]) for n in got] == expected()
    assert all(n["alarm_name"] == "failed-console-logins" and n["new_state"] == "ALARM" for n in got)
    summary = p.summary()
    assert summary["events"] == len(events())
    assert summary["notifications"] == len(expected())
    assert p.alarm_states()["failed-console-logins"].value in {"OK", "ALARM"}


def test_notifications_returned_event_by_event():
    p = cwfilter.Pipeline(json.dumps(config()))
    got = []
    for e in events():
        got += p.add(e.message, e.timestamp)
    got += p.finish()
    assert [json.loads(n["envelope"]) for n in got] == expected()


def test_literal_seed_config_warns_and_stays_silent():
    p = cwfilter.Pipeline(config("config-literal-seed.json"))
    assert any("Count" in w and "None" in w for w in p.warnings), p.warnings
    assert p.add_many(events()) + p.finish() == []


def test_callback_exception_propagates_after_the_step():
    def boom(_):
        raise RuntimeError("callback failed")

    p = cwfilter.Pipeline(config(), boom)
    with pytest.raises(RuntimeError, match="callback failed"):
        p.add_many(events())
        p.finish()


def test_bad_config():
    with pytest.raises(ValueError):
        cwfilter.Pipeline({"metricFilters": [], "bogus": 1})
