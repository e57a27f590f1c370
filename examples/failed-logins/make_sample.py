#!/usr/bin/env python3
"""Builds the bundled CloudTrail sample of examples/failed-logins/ from real corpus events.

Real events from ../shared/corpus/cloudtrail are copied and only re-timed (eventTime, eventID)
and, for the sign-in events, given the user name of the story:
  - bob fails to sign in three times within two minutes (09:01:10, 09:01:50, 09:02:40 UTC);
  - alice, carol and dave each fail once, far apart (09:10:05, 09:20:30, 09:31:00);
  - alice signs in successfully at 09:10:40;
  - unrelated CloudTrail events (Stratus Red Team detonations) fill the hour.
Files are written as CloudTrail delivers them: gzip JSON {"Records":[...]}, one file per
five minutes, in the S3 layout AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/.
Deterministic: running it again gives the same bytes.
"""
import copy, gzip, io, json, os, sys, uuid

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "..", "..", "..", "shared", "corpus", "cloudtrail")
if len(sys.argv) > 1:
    corpus = sys.argv[1]

def load(rel):
    with open(os.path.join(corpus, rel)) as f:
        doc = json.load(f)
    return doc["Records"][0] if "Records" in doc else doc

failure = load("awsdocs/006_aws-cloudtrail_ConsoleLogin.json")   # errorMessage "Failed authentication"
success = load("awsdocs/001_aws-cloudtrail_ConsoleLogin.json")
account, region = "111122223333", "us-east-1"

def signin(template, user, t):
    e = copy.deepcopy(template)
    e["eventTime"] = f"2026-11-02T{t}Z"
    e["userIdentity"]["userName"] = user
    e["userIdentity"]["accountId"] = account
    e["userIdentity"]["arn"] = f"arn:aws:iam::{account}:user/{user}"
    e["recipientAccountId"] = account
    e["awsRegion"] = region
    return e

events = [signin(failure, "bob", "09:01:10"), signin(failure, "bob", "09:01:50"),
          signin(failure, "bob", "09:02:40"), signin(failure, "alice", "09:10:05"),
          signin(success, "alice", "09:10:40"), signin(failure, "carol", "09:20:30"),
          signin(failure, "dave", "09:31:00")]

# Background: the first 40 Stratus Red Team records, spread over the hour.
stratus_dir = os.path.join(corpus, "stratus-red-team")
background = []
for name in sorted(os.listdir(stratus_dir)):
    with open(os.path.join(stratus_dir, name)) as f:
        doc = json.load(f)
    background.extend(doc["Records"] if "Records" in doc else [doc])
for i, e in enumerate(background[:40]):
    e = copy.deepcopy(e)
    s = 30 + i * 89  # every ~1.5 minutes from 09:00:30
    e["eventTime"] = f"2026-11-02T09:{s // 60:02d}:{s % 60:02d}Z"
    events.append(e)

events.sort(key=lambda e: e["eventTime"])
for n, e in enumerate(events):
    e["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cwfilter-example-{n}"))

out_root = os.path.join(here, "cloudtrail", "AWSLogs", account, "CloudTrail", region, "2026", "11", "02")
os.makedirs(out_root, exist_ok=True)
for f in os.listdir(out_root):
    os.remove(os.path.join(out_root, f))
by_file = {}
for e in events:
    minute = int(e["eventTime"][14:16])
    by_file.setdefault(minute // 5 * 5, []).append(e)
for start, recs in sorted(by_file.items()):
    name = f"{account}_CloudTrail_{region}_20261102T09{start:02d}Z_cwfilterexample.json.gz"
    raw = json.dumps({"Records": recs}, separators=(",", ":")).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(raw)
    with open(os.path.join(out_root, name), "wb") as f:
        f.write(buf.getvalue())
print(f"{len(events)} events in {len(by_file)} files under {os.path.relpath(out_root, here)}")
