"""The Pattern API: errors and offsets, str vs bytes, caching, pickling, batches, threads and
the GIL."""
from __future__ import annotations

import pickle
import threading
import time

import pytest

import cwfilter

CONSOLE_LOGIN_FAILED = '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'


# ---- compile and errors ------------------------------------------------------------------------

def test_compile_properties():
    p = cwfilter.compile(CONSOLE_LOGIN_FAILED)
    assert p.pattern == CONSOLE_LOGIN_FAILED
    assert p.family == "json"
    assert cwfilter.compile("ERROR").family == "term"
    assert cwfilter.compile("[a, b]").family == "space-delimited"
    assert cwfilter.compile("%ab+c%").family == "regex"
    assert cwfilter.compile("").family == "match-all"
    assert repr(p) == f"cwfilter.compile({CONSOLE_LOGIN_FAILED!r})"


def test_pattern_cannot_be_constructed_directly():
    with pytest.raises(TypeError):
        cwfilter.Pattern()


def test_compile_rejects_non_str():
    with pytest.raises(TypeError):
        cwfilter.compile(b"ERROR")
    with pytest.raises(TypeError):
        cwfilter.compile(None)


def test_error_attributes_and_snippet():
    pattern = "{ $.status = 'x' }"
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile(pattern)
    e = info.value
    assert e.code == "single-quote"
    assert e.offset == pattern.index("'")
    assert e.byte_offset == e.offset
    assert pattern[e.offset:].startswith(e.fragment)
    lines = str(e).splitlines()
    assert lines[0] == e.reason
    assert lines[1] == "  " + pattern
    assert lines[2] == "  " + " " * e.offset + "^"
    assert e.pattern == pattern


@pytest.mark.parametrize("prefix", ["é", "日本語", "😀😀", "aé日😀"])
def test_error_offset_counts_characters_not_bytes(prefix):
    # The bad quote comes after non-ASCII text: its offset in the str is smaller than in bytes.
    pattern = '{ $.a = "' + prefix + '" && $.b = \'x\' }'
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile(pattern)
    e = info.value
    assert e.code == "single-quote"
    assert e.offset == pattern.index("'")
    assert e.byte_offset == len(pattern[: e.offset].encode("utf-8"))
    assert e.byte_offset > e.offset
    assert pattern[e.offset:].startswith(e.fragment)
    # The caret sits under the quote (one column per character).
    assert str(e).splitlines()[-1] == "  " + " " * e.offset + "^"


def test_error_at_a_non_ascii_character():
    pattern = "{ $.é = 1 }"
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile(pattern)
    assert info.value.offset == pattern.index("é")
    assert info.value.fragment.startswith("é")


def test_error_context_wording():
    with pytest.raises(cwfilter.PatternError, match="^Invalid metric filter pattern"):
        cwfilter.compile("{ $.a = 'x' }")
    with pytest.raises(cwfilter.PatternError, match="^Invalid filter pattern"):
        cwfilter.compile("{ $.a = 'x' }", error_context="filter_log_events")
    with pytest.raises(ValueError):
        cwfilter.compile("x", error_context="nope")


def test_pattern_length_limit():
    cwfilter.compile("a" * 1024)
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile("a" * 1025)
    assert info.value.code == "pattern-too-long"
    cwfilter.compile("a" * 1025, max_pattern_length=2048)


def test_error_is_picklable():
    with pytest.raises(cwfilter.PatternError) as info:
        cwfilter.compile("{ $.a = 'x' }")
    e = pickle.loads(pickle.dumps(info.value))
    assert (e.code, e.offset, e.fragment, str(e)) == (info.value.code, info.value.offset,
                                                       info.value.fragment, str(info.value))


# ---- the cache ------------------------------------------------------------------------------

def test_compile_cache_returns_the_same_object():
    cwfilter.purge()
    a = cwfilter.compile("ERROR")
    assert cwfilter.compile("ERROR") is a
    assert cwfilter.compile("ERROR", exact_field_count=True) is not a
    cwfilter.purge()
    b = cwfilter.compile("ERROR")
    assert b is not a and b == a


def test_compile_cache_is_bounded():
    cwfilter.purge()
    first = cwfilter.compile("term0")
    for i in range(1, cwfilter._MAXCACHE + 10):
        cwfilter.compile(f"term{i}")
    assert len(cwfilter._cache) == cwfilter._MAXCACHE
    assert cwfilter.compile("term0") is not first  # evicted, recompiled


def test_errors_are_not_cached():
    for _ in range(2):
        with pytest.raises(cwfilter.PatternError):
            cwfilter.compile("{ $.a = 'x' }")


# ---- matching: str vs bytes ------------------------------------------------------------------

def test_str_and_bytes_agree():
    p = cwfilter.compile('{ $.user = "José" }')
    msg = '{"user": "José"}'
    assert p.matches(msg) and p.matches(msg.encode()) and p.matches(bytearray(msg.encode()))
    assert p.matches(memoryview(msg.encode()))
    assert not p.matches(msg.encode("latin-1"))  # not UTF-8: the bytes differ
    assert p.matches_many([msg, msg.encode(), bytearray(msg.encode())]) == [True, True, True]


def test_invalid_utf8_bytes_are_matched_bytewise():
    p = cwfilter.compile("[a, b]")
    m = p.match(b"\xff\xfe tail")
    assert m is not None
    assert m.extracted_values["$a"].encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_bad_message_types():
    p = cwfilter.compile("x")
    with pytest.raises(TypeError):
        p.matches(1)
    with pytest.raises(TypeError, match=r"messages\[1\]"):
        p.matches_many(["x", 2])
    with pytest.raises(TypeError):
        p.matches_many("a single string is not a batch")
    with pytest.raises(UnicodeEncodeError):
        p.matches("\udcff")


def test_batches_accept_any_iterable():
    p = cwfilter.compile("ERROR")
    msgs = ["ERROR 1", "ok", b"ERROR 2", "fine"]
    assert p.matches_many(msgs) == [True, False, True, False]
    assert p.matches_many(tuple(msgs)) == [True, False, True, False]
    assert p.matches_many(m for m in msgs) == [True, False, True, False]
    assert p.filter(iter(msgs)) == [0, 2]
    assert p.matches_many([]) == [] and p.filter([]) == []


def test_match_object():
    p = cwfilter.compile("[ip, user, status=4*, size]")
    m = p.match("10.0.0.1 alice 404 512")
    assert m and m.extracted_values == {"$ip": "10.0.0.1", "$user": "alice", "$status": "404", "$size": "512"}
    assert p.match("10.0.0.1 alice 200 512") is None
    assert cwfilter.compile('{ $.a = 1 }').match('{"a": 1}').extracted_values == {}


def test_match_and_resolve():
    p = cwfilter.compile('{ $.eventName = "ConsoleLogin" }')
    matched, values = p.match_and_resolve(
        '{"eventName": "ConsoleLogin", "userIdentity": {"userName": "bob"}, "n": 1.50}',
        ["$.userIdentity.userName", "$.n", "$.missing"])
    assert matched
    assert values[0].type == "string" and values[0].text == "bob"
    assert values[1].type == "number" and values[1].text == "1.50"
    assert values[2] is None
    with pytest.raises(ValueError):
        p.match_and_resolve("{}", ["no-dollar"])


def test_pattern_pickle_and_equality():
    p = cwfilter.compile("[a, b=2]", exact_field_count=True)
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p)
    assert q.options["exact_field_count"] is True
    assert q.matches_many(["x 2", "x 2 y"]) == p.matches_many(["x 2", "x 2 y"]) == [True, False]
    assert p != cwfilter.compile("[a, b=2]")


# ---- threads and the GIL ---------------------------------------------------------------------

def test_many_threads_share_one_pattern(cloudtrail_events):
    p = cwfilter.compile('{ ($.eventName = ConsoleLogin) || ($.errorCode = "AccessDenied*") }')
    messages = [e.message for e in cloudtrail_events]
    expected = [p.matches(m) for m in messages]
    assert any(expected) and not all(expected)
    errors = []
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            barrier.wait()
            for round_ in range(5):
                if (k + round_) % 3 == 0:
                    got = p.matches_many(messages)
                elif (k + round_) % 3 == 1:
                    hits = set(p.filter(messages))
                    got = [i in hits for i in range(len(messages))]
                else:
                    got = [p.match(m) is not None for m in messages]
                if got != expected:
                    errors.append((k, round_))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_batch_calls_release_the_gil(cloudtrail_events):
    p = cwfilter.compile(CONSOLE_LOGIN_FAILED)
    base = [e.message for e in cloudtrail_events]
    messages = base
    # Grow the batch until one call takes a while (>= 0.3 s).
    while True:
        start = time.perf_counter()
        p.matches_many(messages)
        if time.perf_counter() - start >= 0.3:
            break
        messages = messages * 2

    for call in (p.matches_many, p.filter):
        stamps = []
        stop = threading.Event()

        def spin():
            n = 0
            while not stop.is_set():
                n += 1
                if n % 1000 == 0:
                    stamps.append(time.perf_counter())

        t = threading.Thread(target=spin)
        t.start()
        time.sleep(0.05)
        begin = time.perf_counter()
        call(messages)
        end = time.perf_counter()
        stop.set()
        t.join()
        # The spinning Python thread must have made progress in the middle of the call; a call
        # holding the GIL would leave no stamp there.
        lo, hi = begin + 0.2 * (end - begin), end - 0.2 * (end - begin)
        inside = [s for s in stamps if lo <= s <= hi]
        assert len(inside) >= 10, (call.__name__, len(inside), end - begin)
