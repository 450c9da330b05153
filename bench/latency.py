#!/usr/bin/env python3
"""`make bench-latency`: rollouts at CloudFormation's speed, against the ideal.

The emulator finishes a stack inside CreateStack; AWS takes minutes. Here every request goes
through the latency model (tests/faults/latency.py, a mitmproxy addon): each API's round
trip, a drawn duration per stack operation during which DescribeStacks answers
`*_IN_PROGRESS`, and throttling. Scenarios (one emulator, reset and seeded before each):

  first-64      1,000 accounts, concurrency 64: first deploy, then the no-op re-run
  first-256     1,000 accounts, concurrency 256: first deploy
  throttled-64  1,000 accounts, concurrency 64, 10 % of STS and CloudFormation calls throttled
  memory-5000   5,000 accounts, concurrency 256: peak RSS

Time may be compressed: stack durations (60-120 s for a create) are multiplied by the
scenario's scale, and remedy's fixed polling intervals by the same factor (REMEDY_TIME_SCALE);
request latencies, discovery and retries' backoff are not (so they weigh more than in AWS:
compressed ratios are pessimistic; `x_scheduled_at_real_speed` uncompresses all but the time
before the first stack starts). Polls per target do not depend on the scale.

For each deploy: wall time; the ideal, as the issue states it (ceil(N / c) x the mean stack
time) and as a perfect client would do with the same drawn durations (list scheduling on c
slots, no overhead, no polling delay); DescribeStacks per target while its stack ran; how
late remedy saw stacks done; throttled calls and remedy's retries; remedy's stack_time figures;
peak RSS. Written to --out as JSON; printed as a table.
"""

import argparse
import heapq
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import REGION, Emulator, free_port, remedy_env, wait_port, watched  # noqa: E402

# Round trips in ms (README of BENCHMARKS.md, "The latency model", says where they come from).
LATENCY = ("default=50,sts:AssumeRole=40,cloudformation:DescribeStacks=60,"
           "cloudformation:CreateStack=150,cloudformation:ExecuteChangeSet=120,"
           "cloudformation:CreateChangeSet=150,iam:GetAccountSummary=50,"
           "organizations:ListAccountsForParent=80,organizations:ListOrganizationalUnitsForParent=80")
CREATE_S = (60, 120)
UPDATE_S = (30, 60)


def run(remedy, workdir, endpoint, args, scale):
    """remedy with the emulator behind the proxy: (wall, peak RSS MB, exit code, JSON)."""
    env = remedy_env(workdir, endpoint, REMEDY_TIME_SCALE=str(scale))
    wall, peak_mb, code, out, _ = watched([remedy, *args], workdir, env)
    try:
        doc = json.loads(out)
    except ValueError:
        raise SystemExit(f"remedy {' '.join(args)} exited {code}: {out[:2000]!r}")
    return wall, peak_mb, code, doc


class Proxy:
    """mitmdump with the latency model in front of the emulator, for one run."""

    def __init__(self, mitmdump, emulator_url, stats, scale, throttle=""):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats = stats
        options = [f"latency={LATENCY}", f"create_s={CREATE_S[0]}-{CREATE_S[1]}",
                   f"update_s={UPDATE_S[0]}-{UPDATE_S[1]}", f"time_scale={scale}", f"stats={stats}"]
        if throttle:
            options.append(f"throttle={throttle}")
        cmd = [mitmdump, "--mode", f"reverse:{emulator_url}", "--listen-host", "127.0.0.1",
               "-p", str(self.port), "-q", "-s", os.path.join(ROOT, "tests", "faults", "latency.py")]
        for o in options:
            cmd += ["--set", o]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def finish(self):
        self.proc.terminate()
        self.proc.wait()
        with open(self.stats) as f:
            return json.load(f)


def scheduled_ideal(durations, concurrency):
    """The makespan of a perfect client taking the stacks in remedy's order: each starts the
    moment a slot is free and is seen done the moment it is (another order, e.g. longest
    first, could end sooner; the bound for any order is max(sum / c, the longest))."""
    slots = [0.0] * min(concurrency, max(len(durations), 1))
    heapq.heapify(slots)
    for d in durations:
        heapq.heappush(slots, heapq.heappop(slots) + d)
    return max(slots) if durations else 0.0


def pct(values, q):
    ordered = sorted(values)
    if not ordered:
        return 0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def per_target_calls(calls, n):
    own = sum(v for k, v in calls.items() if not k.startswith(("organizations:", "s3:")))
    return round(own / n, 2)


def deploy(args, emulator, work, name, n, concurrency, scale, throttle="", noop=False):
    with open(os.path.join(work, "remedy.yaml"), "w") as f:
        f.write(f"package: package.zip\nregions: [{REGION}]\nstages:\n  - name: bench\n"
                f"    concurrency: {concurrency}\n    failure_tolerance: {n}\n"
                "    targets: {ous: [/Workloads/Bench]}\nrules:\n  S3-001: remediate\n")
    emulator.reset()
    emulator.seed(n)
    # The security account's artifact stack is made once per organization, not per rollout:
    # published beforehand, untimed, straight to the emulator.
    run(args.remedy, work, emulator.url, ["publish", "--output", "json"], scale)
    proxy = Proxy(args.mitmdump, emulator.url, os.path.join(work, f"{name}.json"), scale, throttle)
    try:
        wall, rss, rc, doc = run(args.remedy, work, proxy.url,
                                 ["deploy", "--stage", "bench", "--yes", "--output", "json"], scale)
    finally:
        stats = proxy.finish()
    ops = sorted((o for o in stats["operations"] if o["duration"] is not None), key=lambda o: o["started_at"])
    # Operations the model never saw end (a retried CreateStack answered twice, a stack
    # deleted while running): left out of the figures, counted here.
    unfinished = sum(1 for o in stats["operations"] if o["duration"] is None or o["seen_done_at"] is None)
    drawn = [o["duration"] for o in ops]
    seen = [o for o in ops if o["seen_done_at"] is not None]
    late = [o["seen_done_at"] - o["started_at"] - o["duration"] for o in seen]
    # The first wave waits on the backoff until five stacks have settled; later ones learn.
    by_start = sorted(seen, key=lambda o: o["started_at"])
    late_first = [o["seen_done_at"] - o["started_at"] - o["duration"] for o in by_start[:concurrency]]
    late_later = [o["seen_done_at"] - o["started_at"] - o["duration"] for o in by_start[concurrency:]]
    polls = [o["polls"] for o in seen]
    # Polls of stacks of 85-90 s (unscaled): "a 90-second stack" (one just past the median
    # look is seen at the next, by design).
    ninety = [o["polls"] for o in seen if 85 <= o["duration"] / scale <= 90]
    mean_stack = (CREATE_S[0] + CREATE_S[1]) / 2 * scale
    formula = math.ceil(n / concurrency) * mean_stack
    ideal = scheduled_ideal(drawn, concurrency)
    setup = ops[0]["started_at"] if ops else 0.0
    # How long the first wave took to start: the emulator serves CreateStack one at a time
    # (~60 ms of its CPU each), AWS does not.
    first_wave = ops[min(concurrency, len(ops)) - 1]["started_at"] - setup if ops else 0.0
    # At real speed: the setup (discovery, publishing: not compressed) plus the rest
    # uncompressed, against the ideal uncompressed.
    projected = (setup + (wall - setup) / scale) / (ideal / scale) if ideal else None
    summary = doc.get("summary", {})
    stack_time = doc.get("stack_time") or {}
    row = {
        "scenario": name, "accounts": n, "concurrency": concurrency, "time_scale": scale,
        "throttle": throttle or None, "exit": rc, "summary": summary,
        "wall_s": round(wall, 1), "ideal_formula_s": round(formula, 1), "ideal_scheduled_s": round(ideal, 1),
        "x_formula": round(wall / formula, 3), "x_scheduled": round(wall / ideal, 3) if ideal else None,
        "unfinished_operations": unfinished, "first_stack_after_s": round(setup, 1), "first_wave_started_within_s": round(first_wave, 1),
        "x_scheduled_at_real_speed": round(projected, 3) if projected else None,
        "polls_per_target_mean": round(statistics.mean(polls), 2) if polls else None,
        "polls_per_target_p95": pct(polls, 0.95), "polls_per_target_max": max(polls, default=0),
        "polls_90s_stack_mean": round(statistics.mean(ninety), 2) if ninety else None,
        "polls_90s_stack_max": max(ninety, default=None),
        "seen_late_mean_unscaled_s": round(statistics.mean(late) / scale, 1) if late else None,
        "seen_late_p95_unscaled_s": round(pct(late, 0.95) / scale, 1) if late else None,
        "seen_late_first_wave_unscaled_s": round(statistics.mean(late_first) / scale, 1) if late_first else None,
        "seen_late_later_unscaled_s": round(statistics.mean(late_later) / scale, 1) if late_later else None,
        "calls_per_target": per_target_calls(stats["calls"], n),
        "throttled": sum(stats["throttled"].values()), "retries": doc.get("retries", {}),
        "remedy_stack_time_unscaled": {k: (round(v / scale, 1) if k != "operations" else v)
                                       for k, v in stack_time.items()},
        "drawn_median_unscaled_s": round(statistics.median(drawn) / scale, 1) if drawn else None,
        "peak_rss_mb": round(rss, 1),
        "calls": dict(sorted(stats["calls"].items(), key=lambda kv: -kv[1])),
    }
    print(json.dumps(row), flush=True)
    rows = [row]
    if noop:
        proxy = Proxy(args.mitmdump, emulator.url, os.path.join(work, f"{name}-noop.json"), scale)
        try:
            wall, rss, rc, doc = run(args.remedy, work, proxy.url,
                                     ["deploy", "--stage", "bench", "--yes", "--output", "json"], scale)
        finally:
            stats = proxy.finish()
        rows.append({
            "scenario": f"{name}-noop", "accounts": n, "concurrency": concurrency, "exit": rc,
            "summary": doc.get("summary", {}), "wall_s": round(wall, 1),
            "calls_per_target": per_target_calls(stats["calls"], n), "peak_rss_mb": round(rss, 1),
            "calls": dict(sorted(stats["calls"].items(), key=lambda kv: -kv[1])),
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--remedy", required=True)
    ap.add_argument("--testbed", help="the testbed example (default: beside --remedy)")
    ap.add_argument("--moto-python", default=sys.executable)
    ap.add_argument("--mitmdump", default=shutil.which("mitmdump") or "mitmdump")
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--memory-accounts", type=int, default=5000)
    ap.add_argument("--scenarios", default="first-64,first-256,throttled-64,memory-5000")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "latency.json"))
    args = ap.parse_args()
    args.remedy = os.path.abspath(args.remedy)
    work = tempfile.mkdtemp(prefix="remedy-latency-")
    testbed = args.testbed or os.path.join(os.path.dirname(args.remedy), "examples", "testbed")
    subprocess.check_call([testbed, "stub-package", os.path.join(work, "package.zip")])
    n = args.accounts
    # Concurrency 256 runs at CloudFormation's own speed (4 waves of 60-120 s: ~7 minutes);
    # 64 compressed fourfold (16 waves of 15-30 s: ~6 minutes). The memory run is bound by
    # the emulator (5,000 CreateStacks), whatever the scale.
    plans = {
        "first-64": dict(n=n, concurrency=64, scale=0.25, noop=True),
        "first-256": dict(n=n, concurrency=256, scale=1.0),
        "throttled-64": dict(n=n, concurrency=64, scale=0.25, throttle="sts=0.10,cloudformation=0.10"),
        "memory-5000": dict(n=args.memory_accounts, concurrency=256, scale=0.1),
    }
    emulator = Emulator(args.moto_python)
    rows = []
    try:
        for name in args.scenarios.split(","):
            rows += deploy(args, emulator, work, name, **plans[name])
    finally:
        emulator.stop()
    print(f"\n{'scenario':>16} {'N':>5} {'c':>4} {'wall s':>7} {'ideal s':>8} {'x ideal':>8} {'x real':>6} {'formula s':>9} "
          f"{'x formula':>9} {'polls/t':>7} {'90s polls':>9} {'late s':>6} {'calls/t':>7} {'throttled':>9} {'failed':>6} {'RSS MB':>6}")
    for r in rows:
        print(f"{r['scenario']:>16} {r['accounts']:>5} {r['concurrency']:>4} {r['wall_s']:>7} "
              f"{r.get('ideal_scheduled_s', '-')!s:>8} {r.get('x_scheduled', '-')!s:>8} {r.get('x_scheduled_at_real_speed', '-')!s:>6} {r.get('ideal_formula_s', '-')!s:>9} "
              f"{r.get('x_formula', '-')!s:>9} {r.get('polls_per_target_mean', '-')!s:>7} "
              f"{r.get('polls_90s_stack_max', '-')!s:>9} {r.get('seen_late_mean_unscaled_s', '-')!s:>6} "
              f"{r['calls_per_target']:>7} {r.get('throttled', '-')!s:>9} {r['summary'].get('failed', '?')!s:>6} {r['peak_rss_mb']:>6}")
    with open(args.out, "w") as f:
        json.dump({"rows": rows}, f, indent=2)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
