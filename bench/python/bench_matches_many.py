"""Throughput of Pattern.matches_many against the same loop in C++ (issue 7: at least two thirds).

Not part of the test run. Usage (after scripts/python-test.sh has installed the package):
    build/venv/bin/python bench/python/bench_matches_many.py [--repeat N] [--shared DIR]

The events are the corpus CloudTrail records (read by cwfilter's reader, as compact JSON), as str
and as bytes. "C++" is `_cwfilter._bench_count_matches`: the same `Pattern::matches` calls over
std::strings, timed inside C++, so the ratio is what the binding costs (conversion of the Python
objects, the result list) on top of the matching itself.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import time

import cwfilter
from cwfilter import _cwfilter

PATTERNS = {
    "cis-console-login": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "cis-unauthorized": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    "term": '"ConsoleLogin"',
}


def main() -> None:
    repo = pathlib.Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("CWFILTER_SHARED_DIR", str(repo.parent / "shared")))
    ap.add_argument("--repeat", type=int, default=7, help="timed runs; the median is reported")
    ap.add_argument("--copies", type=int, default=20, help="the corpus is repeated this many times")
    args = ap.parse_args()

    events = []
    for d in ("awsdocs", "panther", "stratus-red-team", "otrf"):
        events += cwfilter.read_events(os.path.join(args.shared, "corpus", "cloudtrail", d), errors="ignore")
    as_str = [e.message for e in events] * args.copies
    as_bytes = [e.message_bytes for e in events] * args.copies
    total_mb = sum(len(b) for b in as_bytes) / 1e6
    print(f"{len(as_str)} CloudTrail events, {total_mb:.1f} MB per pass, median of {args.repeat} runs")
    print(f"{'pattern':20} {'C++ ev/s':>12} {'py str ev/s':>12} {'ratio':>6} {'py bytes ev/s':>14} {'ratio':>6}")
    for name, text in PATTERNS.items():
        p = cwfilter.compile(text)
        cpp = []
        for _ in range(args.repeat):
            count, seconds = _cwfilter._bench_count_matches(p, as_bytes, 1)
            cpp.append(seconds)
        py = {}
        for label, msgs in (("str", as_str), ("bytes", as_bytes)):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                verdicts = p.matches_many(msgs)
                times.append(time.perf_counter() - start)
            assert sum(verdicts) == count
            py[label] = statistics.median(times)
        c = statistics.median(cpp)
        n = len(as_str)
        print(f"{name:20} {n / c:12.0f} {n / py['str']:12.0f} {c / py['str']:6.2f} "
              f"{n / py['bytes']:14.0f} {c / py['bytes']:6.2f}")


if __name__ == "__main__":
    main()
