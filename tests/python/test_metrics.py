"""MetricStore, Aggregate and statistics from Python: values checked by hand, exact merge,
pickling (for shipping stores between processes, e.g. PySpark)."""
from __future__ import annotations

import datetime as dt
import pickle
import random

import pytest

import cwfilter

T0 = 1767225600000  # 2026-01-01T00:00:00Z
MIN = 60_000
KEY = cwfilter.MetricKey("App", "Latency", {"Service": "api", "Env": "prod"})


def test_metric_key():
    assert KEY == cwfilter.MetricKey("App", "Latency", [("Env", "prod"), ("Service", "api")])
    assert hash(KEY) == hash(cwfilter.MetricKey("App", "Latency", {"Env": "prod", "Service": "api"}))
    assert KEY != cwfilter.MetricKey("App", "Latency")
    assert KEY.dimensions == {"Env": "prod", "Service": "api"}
    assert list(KEY.dimensions) == ["Env", "Service"]
    assert pickle.loads(pickle.dumps(KEY)) == KEY
    KEY.validate()
    with pytest.raises(ValueError):
        cwfilter.MetricKey("", "x").validate()


def test_timestamps():
    assert cwfilter.parse_timestamp("2026-01-01T00:00:00Z") == T0
    assert cwfilter.parse_timestamp(dt.datetime(2026, 1, 1)) == T0  # naive = UTC
    assert cwfilter.parse_timestamp(dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == T0
    assert cwfilter.parse_timestamp(T0) == T0
    assert cwfilter.format_timestamp(T0) == "2026-01-01T00:00:00.000Z"
    with pytest.raises(ValueError):
        cwfilter.parse_timestamp("yesterday")
    with pytest.raises(TypeError):
        cwfilter.parse_timestamp(1.5)


def test_add_query_statistics_by_hand():
    s = cwfilter.MetricStore()
    for i, v in enumerate([5.0, 1.0, 3.0, 2.0, 4.0]):
        assert s.add_value(KEY, v, T0 + i * 1000, unit="Milliseconds") is True
    s.add_value(KEY, 100.0, T0 + MIN)  # next minute, other unit
    a = s.query(KEY, T0, T0 + MIN)
    assert (a.sample_count, a.sum, a.minimum, a.maximum, a.average) == (5, 15, 1, 5, 3)
    assert a.values == [(1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1), (5.0, 1)]
    assert s.query(KEY, T0 + 2 * MIN, T0 + 3 * MIN) is None  # missing is not zero
    assert s.get_statistic(KEY, "p50", T0, T0 + MIN) == 3.0  # nearest rank: ceil(2.5) = 3rd
    assert s.get_statistic(KEY, "p90", T0, T0 + MIN) == 5.0
    assert s.get_statistic(KEY, "Sum", T0, T0 + 2 * MIN) == 115.0
    assert s.get_statistic(KEY, "Sum", T0, T0 + 2 * MIN, unit="Milliseconds") == 15.0
    assert s.units_with_data(KEY, T0, T0 + 2 * MIN) == ["Milliseconds", "None"]
    assert cwfilter.statistic("TC(20%:80%)", a) == pytest.approx(3.0)
    assert cwfilter.Statistic("TM(20%:80%)").compute(a) == pytest.approx(3.0)
    assert set(s.keys()) == {KEY}
    assert s.series_count == 2 and s.cell_count == 2


def test_statistic_parsing():
    p = cwfilter.Statistic("p99.9")
    assert p.kind == "percentile" and p.is_extended and p.name == "p99.9"
    assert p.low_sample_count_threshold == pytest.approx(10 / (1 - 0.999))
    assert p.is_low_sample_count(9999) and not p.is_low_sample_count(10001)
    assert cwfilter.Statistic("Average").kind == "Average"
    with pytest.raises(ValueError):
        cwfilter.Statistic("p101")
    with pytest.raises(ValueError):
        cwfilter.Statistic("Average").validate_for_alarm()
    cwfilter.Statistic("IQM").validate_for_alarm()


def test_bad_input_raises_value_error():
    s = cwfilter.MetricStore()
    with pytest.raises(ValueError):
        s.add_value(KEY, float("nan"), T0)
    with pytest.raises(ValueError):
        s.add_value(KEY, 1.0, T0, unit="Furlongs")
    with pytest.raises(ValueError):
        s.add_value(KEY, 1.0, T0, storage_resolution=5)
    with pytest.raises(ValueError):
        s.put_metric_data({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0}]})


def test_retention_drops_old_data():
    s = cwfilter.MetricStore(retention_ms=10 * MIN)
    assert s.add_value(KEY, 1.0, T0 + 60 * MIN)
    assert s.add_value(KEY, 1.0, T0) is False  # older than newest - retention
    assert s.cutoff == T0 + 50 * MIN


def test_put_metric_data_dict_and_json():
    s = cwfilter.MetricStore()
    req = {"Namespace": "App", "MetricData": [
        {"MetricName": "Errors", "Timestamp": "2026-01-01T00:00:30Z", "Value": 2, "Unit": "Count"},
        {"MetricName": "Errors", "Timestamp": T0 // 1000 + 40, "Values": [1, 3], "Counts": [2, 1],
         "Unit": "Count"}]}
    assert s.put_metric_data(req) == 2
    import json
    t = cwfilter.MetricStore()
    assert t.put_metric_data(json.dumps(req)) == 2
    assert s == t
    a = s.query(cwfilter.MetricKey("App", "Errors"), T0, T0 + MIN)
    assert (a.sample_count, a.sum) == (4, 7)


def random_store(seed, n=300, statistic_sets=True):
    rnd = random.Random(seed)
    s = cwfilter.MetricStore(retention_ms=2**50)
    keys = [cwfilter.MetricKey("App", "M", {"user": u}) for u in ("alice", "bob", "carol")]
    for _ in range(n):
        k = rnd.choice(keys)
        t = T0 + rnd.randrange(0, 30 * MIN)
        r = rnd.random()
        if r < 0.6:
            s.add_value(k, rnd.choice([0.1, 0.2, 0.3, 1e16, -1e16, 7.0]), t, unit="Count",
                        storage_resolution=rnd.choice([1, 60]))
        elif r < 0.8 or not statistic_sets:
            s.add_values(k, [0.1, 0.7], t, counts=[2, 3])
        else:
            s.add_statistic_set(k, t, sample_count=3, sum=1.0, minimum=0.1, maximum=0.5, unit="Count")
    return s, keys


def all_answers(s, keys):
    out = []
    for k in keys:
        for start in range(T0, T0 + 30 * MIN, MIN):
            for unit in (None, "Count", "None"):
                out.append(s.query(k, start, start + MIN, unit))
            out.append(s.query(k, start + 17_000, start + 17_000 + 5 * MIN))
    return out


def test_merge_is_exact():
    a, keys = random_store(1)
    b, _ = random_store(2)
    merged = a.copy()
    merged.merge(b)
    other = b.copy()
    other.merge(a)
    assert merged == other
    # Sums of 0.1 + 1e16 - 1e16 ... are exact regardless of the order the data came in.
    for x, y in zip(all_answers(merged, keys), all_answers(other, keys)):
        assert x == y


def test_pickle_keeps_every_answer():
    s, keys = random_store(3, statistic_sets=False)
    s.expire_before(T0 + 2 * MIN)
    r = pickle.loads(pickle.dumps(s))
    assert r.retention_ms == s.retention_ms
    assert r.cutoff == s.cutoff and r.newest_timestamp == s.newest_timestamp
    assert r.cell_count > 0
    assert all_answers(r, keys) == all_answers(s, keys)


def test_pickle_with_statistic_sets_rounds_each_cell_sum_once():
    # Known limit (see MetricStore.__getstate__): a cell fed by a statistic set that does not
    # qualify for percentiles travels as SampleCount/Sum/Min/Max, its Sum rounded to a double;
    # everything else is exact.
    s, keys = random_store(4)
    r = pickle.loads(pickle.dumps(s))
    for x, y in zip(all_answers(r, keys), all_answers(s, keys)):
        assert (x is None) == (y is None)
        if x is not None:
            assert (x.sample_count, x.minimum, x.maximum, x.values) == (y.sample_count, y.minimum, y.maximum, y.values)
            assert x.sum == pytest.approx(y.sum, abs=8.0)  # ulps of the 1e16 samples
    assert pickle.loads(pickle.dumps(cwfilter.MetricStore())) == cwfilter.MetricStore()


def test_pickle_of_raw_values_is_equal():
    s = cwfilter.MetricStore()
    for i in range(100):
        s.add_value(KEY, i * 0.1, T0 + i * 7_000)
    r = pickle.loads(pickle.dumps(s))
    assert r == s
