#!/usr/bin/env python3
"""`make bench-history`: `remedy history` over a fleet whose ledgers are full.

On one emulator (moto's server, as `make bench` starts it): the organization of
--accounts accounts in /Workloads/Bench (bench.py's seed), then, in each account's home
region and through the account's role, the orchestrator's log group with one stream of
--records ledger lines (version 1, docs/ledger.md), put in one PutLogEvents. Then, for
each concurrency of --concurrency ("default": the stage says none, so remedy's default),
`remedy history --output json` over the stage: wall time, the AWS calls the emulator's
recorder saw (per account: AssumeRole, FilterLogEvents; discovery apart), remedy's peak
RSS (its VmHWM) and CPU time. Each run's JSON is checked against what was seeded (every
account read, every record counted per rule and outcome, the latest 10,000 kept), so the
figures are of a correct run.

It prints one line per run and writes them to --out as JSON. Ratios on a noisy 2-core
machine (moto is one Python process): compare them, not the seconds.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import REGION, ROOT, Emulator, run_remedy, split_calls  # noqa: E402

GROUP = "/aws/lambda/AutoRemediateOrchestrator"
STREAM = "2026/12/06/[$LATEST]0123456789abcdef"
# The seeded mix: (rule, outcome, reason_code), cycled through each account's records.
MIX = [
    ("S3-001", "remediated", None),
    ("S3-001", "remediated", None),
    ("S3-001", "compliant", None),
    ("EC2-002", "dry_run", "dry_run"),
    ("EC2-002", "skipped", "exception:legacy-sftp"),
    ("IAM-038", "remediated", None),
    ("IAM-038", "failed", None),
    ("RDS-001", "unsupported", "unsupported"),
]


def ledger_line(account, i, at_ms):
    """One orchestrator line as it logs it (docs/ledger.md, version 1), EMF block included."""
    rule, outcome, code = MIX[i % len(MIX)]
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at_ms / 1000)) + f".{at_ms % 1000:03}Z"
    resource = f"resource-{i:04}"
    return json.dumps({
        "_aws": {"CloudWatchMetrics": [{"Dimensions": [["rule", "outcome"], ["outcome"]],
                                        "Metrics": [{"Name": "findings", "Unit": "Count"}],
                                        "Namespace": "remedy"}], "Timestamp": at_ms},
        "account_id": account,
        "actions": [f"removed the AllUsers READ grant from bucket {resource}"] if outcome == "remediated" else [],
        "at": at,
        "duration_ms": 40 + i % 50,
        "exception": code.split(":", 1)[1] if code and code.startswith("exception:") else None,
        "finding_id": f"ccc:OrganisationId:{account}:{rule}:{REGION}:{resource}",
        "findings": 1,
        "ledger": 1,
        "mode": "dry-run" if outcome == "dry_run" else "remediate",
        "notified": ["urgent"] if outcome == "failed" else [],
        "outcome": outcome,
        "reason": f"because {code}" if code else ("AccessDenied" if outcome == "failed" else None),
        "reason_code": code,
        "region": REGION,
        "remedy_version": "0.1.0",
        "resource": resource,
        "rule": rule,
        "rule_id": rule,
    }, separators=(",", ":"), sort_keys=True)


def seed_ledgers(emulator, accounts, records, workers=8):
    """Each account's log group in its home region, through its role: one stream, `records`
    lines in one PutLogEvents, the newest a minute old, one a second before the next."""
    now = int(time.time() * 1000)

    def one(chunk):
        sts = emulator.client("sts")
        for account in chunk:
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/CloudConformity",
                                RoleSessionName="bench-seed")["Credentials"]
            logs = emulator.client("logs", key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
            logs.create_log_group(logGroupName=GROUP)
            logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
            events = []
            for i in range(records):
                at_ms = now - 60_000 - (records - i) * 1_000
                events.append({"timestamp": at_ms, "message": ledger_line(account, i, at_ms)})
            logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)

    chunks = [accounts[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, chunks))


def cpu_s(pid):
    """User + system CPU seconds of a process so far (the emulator's: what bounds a run)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def expected(n, records):
    """What `remedy history` must count: per (rule, outcome) over the fleet, per outcome in
    one account."""
    per_account = collections.Counter()
    for i in range(records):
        rule, outcome, _ = MIX[i % len(MIX)]
        per_account[(rule, outcome)] += 1
    fleet = {key: count * n for key, count in per_account.items()}
    outcomes = collections.Counter()
    for (_, outcome), count in per_account.items():
        outcomes[outcome] += count
    return fleet, dict(outcomes)


def check(doc, accounts, records):
    """The run's JSON against what was seeded."""
    n = len(accounts)
    summary = doc["summary"]
    want = {"accounts": n, "read": n, "no_log_group": 0, "failed": 0, "skipped": 0, "records": n * records}
    assert summary == want, f"summary {summary}, expected {want}"
    fleet, outcomes = expected(n, records)
    by_rule = {(r["rule_id"], r["outcome"]): r["count"] for r in doc["by_rule"]}
    assert by_rule == fleet, f"by_rule {by_rule}, expected {fleet}"
    seen = {a["account_id"]: a for a in doc["accounts"]}
    assert set(seen) == set(accounts), "the accounts read are not the stage's"
    for a in seen.values():
        assert a["status"] == "read" and a["records"] == records and a["outcomes"] == outcomes, a
        assert a["region"] == REGION, a
    kept = min(n * records, 10_000)
    assert len(doc["records"]) == kept, len(doc["records"])
    assert doc["truncated"] == (n * records > kept), doc["truncated"]
    stamps = [r["at"] for r in doc["records"]]
    assert stamps == sorted(stamps, reverse=True), "records not newest first"
    for r in doc["records"][:50]:
        assert r["resource"].startswith("resource-") and r["region"] == REGION and r["finding_id"], r
        assert r["account_id"] in seen, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--records", type=int, default=100, help="ledger lines per account (at most 10,000: one PutLogEvents)")
    ap.add_argument("--concurrency", default="default,64",
                    help="the stage's concurrency for each run; `default`: none set (remedy's default, 16)")
    ap.add_argument("--repeat", type=int, default=3, help="runs at each concurrency (the table: the median)")
    ap.add_argument("--remedy", required=True)
    ap.add_argument("--testbed", help="the testbed example (default: beside --remedy)")
    ap.add_argument("--moto-python", default=sys.executable, help="a Python with moto installed")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "history.json"))
    args = ap.parse_args()
    args.remedy = os.path.abspath(args.remedy)
    assert 0 < args.records <= 10_000, "--records: 1 to 10,000 (one PutLogEvents)"

    work = tempfile.mkdtemp(prefix="remedy-bench-history-")
    # The configuration names a package (every command loads it); history never reads it.
    testbed = args.testbed or os.path.join(os.path.dirname(args.remedy), "examples", "testbed")
    subprocess.check_call([testbed, "stub-package", os.path.join(work, "package.zip")])
    emulator = Emulator(args.moto_python)
    runs = []
    try:
        emulator.reset()
        start = time.perf_counter()
        accounts = emulator.seed(args.accounts)
        org_s = time.perf_counter() - start
        start = time.perf_counter()
        seed_ledgers(emulator, accounts, args.records)
        ledger_s = time.perf_counter() - start
        print(json.dumps({"accounts": args.accounts, "records_per_account": args.records,
                          "seed_org_s": round(org_s, 1), "seed_ledgers_s": round(ledger_s, 1)}), flush=True)

        for concurrency in args.concurrency.split(","):
            stage = "  - name: bench\n"
            if concurrency != "default":
                stage += f"    concurrency: {int(concurrency)}\n"
            with open(os.path.join(work, "remedy.yaml"), "w") as f:
                f.write(f"package: package.zip\nregions: [{REGION}]\nstages:\n{stage}"
                        "    targets: {ous: [/Workloads/Bench]}\nrules:\n  S3-001: remediate\n")
            for _ in range(args.repeat):
                emulator.start_recording()
                moto_before = cpu_s(emulator.proc.pid)
                wall, rss, doc = run_remedy(args.remedy, work, emulator.url,
                                            ["history", "--stage", "bench", "--output", "json"])
                cpu = run_remedy.cpu_s
                moto_cpu = cpu_s(emulator.proc.pid) - moto_before
                calls = emulator.recorded_calls()
                check(doc, accounts, args.records)
                per_account, discovery, _ = split_calls(calls)
                n = args.accounts
                runs.append({
                    "accounts": n, "records": n * args.records,
                    "concurrency": 16 if concurrency == "default" else int(concurrency),
                    "default_concurrency": concurrency == "default",
                    "wall_s": round(wall, 2), "accounts_per_s": round(n / wall, 1),
                    "records_per_s": round(n * args.records / wall),
                    "calls_per_account": round(per_account / n, 2),
                    "assume_role_per_account": round(calls["sts:AssumeRole"] / n, 2),
                    "filter_log_events_per_account": round(calls["logs:FilterLogEvents"] / n, 2),
                    "discovery_calls": discovery,
                    "peak_rss_mb": round(rss, 1),
                    "cpu_s": round(cpu, 2), "cpu_ms_per_account": round(1000 * cpu / n, 2),
                    # The emulator's CPU over the run, as a share of the wall time (1.0: one
                    # core, all moto can use of its Python thread).
                    "emulator_cpu_share": round(moto_cpu / wall, 2),
                    "json_mb": round(len(json.dumps(doc)) / 1e6, 1),
                    "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
                })
                print(json.dumps(runs[-1]), flush=True)
    finally:
        emulator.stop()

    print(f"\n{'concurrency':>11} {'wall s':>7} {'acc/s':>6} {'calls/acct':>10} {'AssumeRole':>10} "
          f"{'FilterLogEvents':>15} {'discovery':>9} {'RSS MB':>7} {'CPU ms/acct':>11} {'moto CPU':>8}")
    for r in runs:
        print(f"{r['concurrency']:>11} {r['wall_s']:>7} {r['accounts_per_s']:>6} {r['calls_per_account']:>10} "
              f"{r['assume_role_per_account']:>10} {r['filter_log_events_per_account']:>15} {r['discovery_calls']:>9} "
              f"{r['peak_rss_mb']:>7} {r['cpu_ms_per_account']:>11} {r['emulator_cpu_share']:>8}")
    with open(args.out, "w") as f:
        json.dump({"seed": {"accounts": args.accounts, "records_per_account": args.records,
                            "org_s": round(org_s, 1), "ledgers_s": round(ledger_s, 1)},
                   "runs": runs}, f, indent=2)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
