"""Shared fixtures: where the shared data lives, and the case files read from it."""
from __future__ import annotations

import json
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def shared_dir() -> pathlib.Path:
    """`<repo>/../shared`, or $CWFILTER_SHARED_DIR."""
    return pathlib.Path(os.environ.get("CWFILTER_SHARED_DIR", REPO.parent / "shared"))


def read_jsonl(relative: str) -> list[dict]:
    path = shared_dir() / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: set CWFILTER_SHARED_DIR to the shared/ folder")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


_CLOUDTRAIL_DIRS = ("awsdocs", "panther", "stratus-red-team", "otrf")


@pytest.fixture(scope="session")
def cloudtrail_events():
    """Every CloudTrail event of the corpus, read by the library's own reader (as the C++ tests
    do); index.jsonl is left out, its lines look like events."""
    import cwfilter

    events = []
    for d in _CLOUDTRAIL_DIRS:
        events += cwfilter.read_events(str(shared_dir() / "corpus" / "cloudtrail" / d), errors="ignore")
    assert len(events) > 900
    return events
