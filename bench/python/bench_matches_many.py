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
    ap.add_argument("--repeat", type=int, default=7, help="timed runs; the best is reported")
    ap.add_argument("--min-seconds", type=float, default=0.3, help="shortest measurement")
    ap.add_argument("--copies", type=int, default=20, help="the corpus is repeated this many times")
    args = ap.parse_args()

    events = []
    for d in ("awsdocs", "panther", "stratus-red-team", "otrf"):
        events += cwfilter.read_events(os.path.join(args.shared, "corpus", "cloudtrail", d), errors="ignore")
    # Distinct objects (each property access makes a new one), so that Python and C++ walk the
    # same amount of memory.
    as_str = [e.message for _ in range(args.copies) for e in events]
    as_bytes = [e.message_bytes for _ in range(args.copies) for e in events]
    total_mb = sum(len(b) for b in as_bytes) / 1e6
    print(f"{len(as_str)} CloudTrail events, {total_mb:.1f} MB per pass, best of {args.repeat} runs")
    print(f"{'pattern':20} {'C++ ev/s':>12} {'py str ev/s':>12} {'ratio':>6} {'py bytes ev/s':>14} {'ratio':>6}")
    for name, text in PATTERNS.items():
        p = cwfilter.compile(text)
        count, _ = _cwfilter._bench_count_matches(p, as_bytes, 1)  # warm-up (RE2 builds DFAs lazily)
        # Passes per measurement so that one measurement lasts >= --min-seconds.
        passes = 1
        while _cwfilter._bench_count_matches(p, as_bytes, passes)[1] < args.min_seconds:
            passes *= 2
        best = {"cpp": float("inf"), "str": float("inf"), "bytes": float("inf")}
        # C++ and Python measurements alternate, and the best of --repeat is kept: on a shared
        # machine the minimum is the least disturbed figure.
        for _ in range(args.repeat):
            best["cpp"] = min(best["cpp"], _cwfilter._bench_count_matches(p, as_bytes, passes)[1] / passes)
            for label, msgs in (("str", as_str), ("bytes", as_bytes)):
                start = time.perf_counter()
                for _ in range(passes):
                    verdicts = p.matches_many(msgs)
                best[label] = min(best[label], (time.perf_counter() - start) / passes)
                assert sum(verdicts) == count
        c = best["cpp"]
        n = len(as_str)
        print(f"{name:20} {n / c:12.0f} {n / best['str']:12.0f} {c / best['str']:6.2f} "
              f"{n / best['bytes']:14.0f} {c / best['bytes']:6.2f}")


if __name__ == "__main__":
    main()
