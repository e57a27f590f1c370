"""Streak alarms (issue 11) through the Python Pipeline: the bundled failed-logins events with the
streak CONFIG (examples/failed-logins/config-streak.json) give one streak notification, for bob,
whose `streak` data is the Message's "Streak" object; a save_state/restore_state split gives the
same notifications as one run."""
from __future__ import annotations

import json

import cwfilter
from conftest import REPO

EXAMPLE = REPO / "examples" / "failed-logins"
BOB = "arn:aws:iam::111122223333:user/bob"


def events():
    return cwfilter.read_events(str(EXAMPLE / "cloudtrail"))


def config():
    with open(EXAMPLE / "config-streak.json", encoding="utf-8") as f:
        return json.load(f)


def streak_notifications(notifications):
    return [n for n in notifications if n["kind"] == "streak"]


def test_streak_notification_carries_the_streak():
    p = cwfilter.Pipeline(config())
    got = p.add_many(events()) + p.finish()
    kinds = {n["kind"] for n in got}
    assert kinds == {"streak", "metric_alarm"}, kinds
    streaks = streak_notifications(got)
    assert len(streaks) == 1
    n = streaks[0]
    assert n["alarm_name"] == "three-consecutive-failed-sign-ins"
    assert n["new_state"] == "ALARM"
    s = n["streak"]
    assert s["key"] == {"$.userIdentity.arn": BOB}
    assert s["count"] == 3
    assert s["cause"] == "Threshold"
    assert s["success_event_id"] is None
    assert s["first_failure"] < s["last_failure"] == n["at"]
    assert len(s["event_ids"]) == 3 and all(s["event_ids"])

    # The data is what the SNS Message says.
    message = json.loads(n["message"])
    assert message["AlarmName"] == n["alarm_name"]
    assert message["NewStateValue"] == "ALARM"
    assert message["NewStateReason"] == s["reason"]
    assert message["Streak"]["Key"] == s["key"]
    assert message["Streak"]["Count"] == s["count"]
    assert message["Streak"]["EventIds"] == s["event_ids"]
    assert message["StateChangeTime"].startswith(cwfilter.format_timestamp(n["at"])[:19])
    envelope = json.loads(n["envelope"])
    assert envelope["Message"] == n["message"]
    assert envelope["TopicArn"] == n["topic_arn"]

    # Metric alarm notifications say what they are and carry no streak.
    assert all("streak" not in x for x in got if x["kind"] == "metric_alarm")
    summary = p.summary()
    assert [s["alarm_name"] for s in summary["streaks"]] == ["three-consecutive-failed-sign-ins"]
    assert summary["streaks"][0]["notifications"] == 1
    assert summary["streaks"][0]["transitions_to_alarm"] == 1


def test_streak_by_callback_and_event_by_event():
    by_callback = []
    p = cwfilter.Pipeline(config(), by_callback.append)
    for e in events():
        assert p.add(e.message, e.timestamp, event_id=e.event_id) == []
    p.finish()
    streaks = streak_notifications(by_callback)
    assert [n["streak"]["key"] for n in streaks] == [{"$.userIdentity.arn": BOB}]
    ids = {e.event_id for e in events()}
    assert set(streaks[0]["streak"]["event_ids"]) <= ids


def test_streak_state_split_gives_the_notifications_of_one_run():
    evs = events()
    whole = cwfilter.Pipeline(config())
    all_notifications = whole.add_many(evs) + whole.finish()
    expected = [n["message_id"] for n in all_notifications]
    assert len(streak_notifications(all_notifications)) == 1
    for split in (1, len(evs) // 3, len(evs) // 2, len(evs) - 1):
        first = cwfilter.Pipeline(config())
        got = [n["message_id"] for n in first.add_many(evs[:split])]
        state = first.save_state()
        assert '"streaks"' in state
        second = cwfilter.Pipeline(config())
        second.restore_state(state)
        got += [n["message_id"] for n in second.add_many(evs[split:]) + second.finish()]
        assert got == expected, split
