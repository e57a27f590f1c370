#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/<target>/ from the team's shared data
(../shared/spec/cases and ../shared/corpus). Deterministic; files are named by the SHA-1 of their
content, as libFuzzer names its own. Keep the total small (< 2 MB): the seeds are replayed by ctest.

Usage: fuzz/make_seeds.py [path/to/shared]
"""
import base64
import gzip
import hashlib
import json
import pathlib
import random
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared"
OUT = HERE / "corpus"
rng = random.Random(20240611)


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    pass


def write(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def gz(data, mtime=0):
    return gzip.compress(data, mtime=mtime)


if OUT.exists():
    shutil.rmtree(OUT)

spec_cases = list(jsonl(SHARED / "spec/cases/patterns.jsonl"))
doc_cases = list(jsonl(SHARED / "corpus/doc_cases.jsonl"))
corpus_patterns = sorted({r["pattern"] for r in jsonl(SHARED / "corpus/patterns.jsonl") if "pattern" in r})
lines_dir = SHARED / "corpus/lines"
apache = (lines_dir / "apache_combined_elastic_examples.log").read_text(encoding="utf-8", errors="replace").splitlines()
doc_lines = [r["line"] for f in ("vpc_flow_logs.jsonl", "lambda_report.jsonl", "apache_clf_awsdocs.jsonl")
             for r in jsonl(lines_dir / f) if "line" in r]
ct_files = sorted(p for d in ("awsdocs", "panther", "stratus-red-team", "otrf")
                  for p in (SHARED / "corpus/cloudtrail" / d).rglob("*") if p.is_file())
small_ct = [p for p in ct_files if p.stat().st_size <= 3000]
ct_events = []  # compact single events from the small files
for p in small_ct:
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        continue
    records = doc.get("Records", [doc]) if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    for rec in records:
        if isinstance(rec, dict):
            ct_events.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))

# ---- fuzz_compile: every pattern we know ---------------------------------------------------------
patterns = set(corpus_patterns)
patterns.update(c["pattern"] for c in spec_cases if "pattern" in c)
patterns.update(c["pattern"] for c in doc_cases if "pattern" in c)
for p in sorted(patterns):
    write("fuzz_compile", p)
write("fuzz_compile", "")
write("fuzz_compile", "x" * 1025)  # one over the length limit

# ---- fuzz_match: pattern NUL event ----------------------------------------------------------------
pairs = set()
for c in spec_cases + doc_cases:
    if "pattern" in c and isinstance(c.get("event"), str):
        pairs.add((c["pattern"], c["event"]))
space_patterns = [p for p in sorted(patterns) if p.strip().startswith("[")]
for p in corpus_patterns:
    if ct_events:
        pairs.add((p, rng.choice(ct_events)))
for p in space_patterns:
    pairs.add((p, rng.choice(apache[:2000])))
    pairs.add((p, rng.choice(doc_lines)))
for pat, ev in sorted(pairs):
    write("fuzz_match", pat.encode("utf-8") + b"\0" + ev.encode("utf-8"))
# Findings kept as seeds: a byte order mark, or one of its bytes, before a JSON event (the
# reference evaluator's RapidJSON call once skipped them).
for prefix in (b"\xbb", b"\xef\xbb\xbf"):
    write("fuzz_match", b"{ $.val = * }\0" + prefix + b'{"val": 1, "value": 7}')

# ---- fuzz_tokenizer: space-delimited lines --------------------------------------------------------
for line in doc_lines + apache[:300]:
    write("fuzz_tokenizer", line)
for c in spec_cases:
    if c.get("family") == "space" and isinstance(c.get("event"), str):
        write("fuzz_tokenizer", c["event"])
for s in ["", " \t ", "\"unterminated", "[unterminated", "a\"b\" [c]d \"\" []", "\"a\"b[c]\"d\""]:
    write("fuzz_tokenizer", s)

# ---- fuzz_input: every input shape -----------------------------------------------------------------
for p in small_ct[:60]:
    write("fuzz_input", p.read_bytes())
for p in ct_files:
    if p.suffix in (".ndjson", ".jsonl"):
        write("fuzz_input", b"\n".join(p.read_bytes().splitlines()[:5]) + b"\n")
sample = ct_events[:3]
records = json.dumps({"Records": [json.loads(e) for e in sample]}).encode()
write("fuzz_input", gz(records))
write("fuzz_input", gz(records[: len(records) // 2]) + gz(records[len(records) // 2:]))  # two members
write("fuzz_input", gz(records)[:-9])  # truncated member
write("fuzz_input", ("\n".join(sample) + "\n").encode())
write("fuzz_input", ("\r\n".join(apache[:20]) + "\r\n").encode())
write("fuzz_input", "\n".join(doc_lines).encode())
log_events = [{"timestamp": 1700000000000 + i, "message": m, "id": str(i)} for i, m in enumerate(doc_lines[:4] + sample[:1])]
subscription = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/x",
                "logStream": "2024/01/01/[$LATEST]abc", "subscriptionFilters": ["f"], "logEvents": log_events}
write("fuzz_input", json.dumps(subscription))
write("fuzz_input", gz(json.dumps(subscription).encode()))
write("fuzz_input", json.dumps({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
                                "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE"}]}))
write("fuzz_input", json.dumps({"awslogs": {"data": base64.b64encode(gz(json.dumps(subscription).encode())).decode()}}))
write("fuzz_input", json.dumps({"events": [dict(e, logStreamName="s", ingestionTime=e["timestamp"]) for e in log_events],
                                "searchedLogStreams": []}))
write("fuzz_input", json.dumps([json.loads(e) for e in sample]))
write("fuzz_input", '{"a":1e400,"b":-0,"c":"\\u00e9","c":1}\n{"eventTime":"2024-01-01T00:00:00Z"}')
write("fuzz_input", b"\xef\xbb\xbf{\"Records\":[]}")
write("fuzz_input", b"line\x00with nul\n\xff\xfe invalid utf-8\nno newline at eof")
write("fuzz_input", "[" * 200 + "]" * 200)

# ---- fuzz_config: selector byte (fuzz_config.cpp's Loader order) + a configuration document ------
REPO = HERE.parent
RUN_CONFIG, DESCRIBE_ALARMS, PUT_METRIC_ALARM, METRIC_FILTERS, TRANSFORMATIONS, SUBSCRIPTIONS, SMTP, \
    STREAK_ALARMS, DEAD_LETTER, IAC_JSON, IAC_YAML, IAC_PLAN, IAC_AUTO = range(13)


def config_seed(loader, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    write("fuzz_config", bytes([loader]) + data)


for p in sorted((REPO / "examples").rglob("config*.json")):
    doc = p.read_bytes()
    config_seed(RUN_CONFIG, doc)
    try:
        cfg = json.loads(doc)
    except json.JSONDecodeError:
        continue
    if cfg.get("metricAlarms"):
        config_seed(DESCRIBE_ALARMS, json.dumps({"MetricAlarms": cfg["metricAlarms"]}))
        config_seed(PUT_METRIC_ALARM, json.dumps(cfg["metricAlarms"][0]))
    if cfg.get("metricFilters"):
        config_seed(METRIC_FILTERS, json.dumps({"metricFilters": cfg["metricFilters"]}))
        config_seed(TRANSFORMATIONS, json.dumps(cfg["metricFilters"][0].get("metricTransformations", [])))
    if cfg.get("subscriptions"):
        config_seed(SUBSCRIPTIONS, json.dumps({"Subscriptions": cfg["subscriptions"]}))
    if cfg.get("smtp"):
        config_seed(SMTP, json.dumps(cfg["smtp"]))
    if cfg.get("streakAlarms"):
        config_seed(STREAK_ALARMS, json.dumps(cfg["streakAlarms"]))
config_seed(SMTP, '{"url":"smtp://127.0.0.1:2525","from":"AWS Notifications <no-reply@sns.amazonaws.com>","tls":"starttls"}')
iac = REPO / "tests/data/iac"
for p in sorted(iac.rglob("*")):
    if not p.is_file() or p.stat().st_size > 60000:
        continue
    data = p.read_bytes()
    if p.suffix in (".yaml", ".yml"):
        config_seed(IAC_YAML, data)
    elif "terraform" in p.parts:
        config_seed(IAC_PLAN, data)
    elif "describe" in p.parts:
        config_seed(IAC_AUTO, data)
        config_seed(METRIC_FILTERS if "filter" in p.name else DESCRIBE_ALARMS, data)
    elif p.suffix == ".json":
        config_seed(IAC_JSON, data)
config_seed(DEAD_LETTER, json.dumps({
    "version": 1, "time": "2026-11-02T09:05:00.000Z", "firstFailedTime": "2026-11-02T09:05:00.000Z", "attempts": 4,
    "lastError": "connection refused",
    "subscription": {"SubscriptionArn": "arn:aws:sns:us-east-1:1:t:0", "Owner": "1", "Protocol": "http",
                     "Endpoint": "http://127.0.0.1:9/", "TopicArn": "arn:aws:sns:us-east-1:1:t", "RawMessageDelivery": False},
    "notification": {"MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": "s", "Message": "{}",
                     "EmailText": "", "Envelope": "{}"}}))
# Filter patterns from the shared spec inside a metric filter, so the pattern compiler is reached too.
for pat in sorted(patterns)[:40]:
    config_seed(METRIC_FILTERS, json.dumps({"metricFilters": [{
        "filterName": "f", "logGroupName": "g", "filterPattern": pat,
        "metricTransformations": [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}]}]}))
for loader in range(13):
    config_seed(loader, "")
    config_seed(loader, "{" * 300)

total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
for t in sorted(d.name for d in OUT.iterdir()):
    files = list((OUT / t).iterdir())
    print(f"{t}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
print(f"total {total} bytes")
assert total < 2_000_000, "seed corpora must stay under 2 MB"
