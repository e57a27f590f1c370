"""spec/cases/patterns.jsonl through the Python bindings: every case with a match verdict
matches as stated (str and bytes, one at a time and in batches), extracts as stated, and every
invalid pattern is rejected with a PatternError."""
from __future__ import annotations

import pytest

import cwfilter
from conftest import read_jsonl

CASES = read_jsonl("spec/cases/patterns.jsonl")
MATCH_CASES = [c for c in CASES if "match" in c]
INVALID_CASES = [c for c in CASES if c["family"] == "invalid" and "metric_transformation" not in c]


def test_case_file_is_complete():
    assert len(CASES) >= 269
    assert len(MATCH_CASES) >= 240
    assert len(INVALID_CASES) >= 9


@pytest.mark.parametrize("case", MATCH_CASES, ids=[c["id"] for c in MATCH_CASES])
def test_match_verdict(case):
    pattern = cwfilter.compile(case["pattern"])
    event = case["event"]
    want = case["match"]
    assert pattern.matches(event) is want
    assert pattern.matches(event.encode("utf-8")) is want
    m = pattern.match(event)
    assert (m is not None) is want
    if want and isinstance(case.get("extracted_values"), dict):
        assert m.extracted_values == case["extracted_values"]
    # Batches agree with single calls, wherever the event sits in the batch.
    batch = ["", event, event.encode("utf-8"), "no match here, presumably"]
    verdicts = pattern.matches_many(batch)
    assert verdicts == [pattern.matches(x) for x in batch]
    assert verdicts[1] is want and verdicts[2] is want
    assert pattern.filter(batch) == [i for i, v in enumerate(verdicts) if v]


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c["id"] for c in INVALID_CASES])
def test_invalid_pattern_rejected(case):
    pattern = case["pattern"]
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile(pattern)
    e = info.value
    assert isinstance(e, ValueError)
    assert 0 <= e.offset <= len(pattern)
    assert 0 <= e.byte_offset <= len(pattern.encode("utf-8"))
    assert len(pattern[: e.offset].encode("utf-8")) <= e.byte_offset
    assert e.code and e.reason
    assert str(e).startswith(e.reason)
    assert "^" in str(e).splitlines()[-1]
