#!/usr/bin/env python3
"""`make bench`: remedy beside the loop a user would write and the emulator's ceiling.

In one run, on one emulator (moto's server on 127.0.0.1), for each N in --accounts:
  remedy    `remedy deploy` of a stage of N accounts (first deploy), then a no-op re-run;
  loop      the hand-written loop: `aws sts assume-role` + `aws cloudformation deploy`,
            account by account, with awscli from PyPI (timed on --loop-sample accounts: a
            1,000-account loop takes the better part of an hour; its rate does not change);
  ceiling   the minimal calls per account (AssumeRole, CreateStack, DescribeStacks) from 8
            concurrent boto3 clients: the most this emulator serves.
Then the same stage of --latency-accounts with 50 ms added to every request (the fault
proxy's latency mode), remedy at concurrency 32 against the loop under the same latency.

It prints a table (wall seconds, accounts per second, AWS calls per target, peak RSS of
remedy, remedy's throughput as a share of the ceiling) and writes it to --out as JSON.
Every scenario starts from a fresh emulator state (moto-api/reset), so none pays for
another's accounts. The numbers are ratios measured in one run on a noisy 2-core machine:
compare them, not the seconds.
"""

import argparse
import base64
import collections
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


class Emulator:
    def __init__(self, python):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # moto's server through the test bed's launcher, as the tests start it.
        launcher = os.path.join(ROOT, "tests", "support", "moto_launcher.py")
        self.proc = subprocess.Popen(
            [python, launcher, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def post(self, path, body, content_type="application/json"):
        req = urllib.request.Request(
            self.url + path, data=body.encode(), method="POST", headers={"Content-Type": content_type}
        )
        return urllib.request.urlopen(req).read()

    def reset(self):
        self.post("/moto-api/reset", "")
        self.post("/moto-api/config", json.dumps({"lambda": {"use_docker": False}}))

    def client(self, service, **creds):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=creds.get("key", "bench"),
            aws_secret_access_key=creds.get("secret", "bench"),
            aws_session_token=creds.get("token"),
        )

    def seed(self, n):
        """An organization with n accounts in /Workloads/Bench."""
        org = self.client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        work = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
        bench = org.create_organizational_unit(ParentId=work, Name="Bench")["OrganizationalUnit"]["Id"]
        ids = []
        for i in range(n):
            acct = org.create_account(Email=f"b{i}@example.com", AccountName=f"bench-{i:04}")
            aid = acct["CreateAccountStatus"]["AccountId"]
            org.move_account(AccountId=aid, SourceParentId=root, DestinationParentId=bench)
            ids.append(aid)
        return ids

    def start_recording(self):
        self.post("/moto-api/recorder/reset-recording", "")
        self.post("/moto-api/recorder/start-recording", "")

    def recorded_calls(self):
        """The calls since start_recording, by API: {"sts:AssumeRole": n, ...}."""
        self.post("/moto-api/recorder/stop-recording", "")
        raw = urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording").read()
        # Concatenated JSON documents (not one per line: bodies may hold newlines).
        text, decoder, at = raw.decode(errors="replace"), json.JSONDecoder(), 0
        calls = collections.Counter()
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                return calls
            recorded, at = decoder.raw_decode(text, at)
            calls[api_name(recorded)] += 1


    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def api_name(recorded):
    """`service:Action` of one recorded request (query, JSON and REST protocols)."""
    headers = recorded.get("headers") or {}
    scope = (headers.get("Authorization") or "").split("Credential=")[-1].split("/")
    service = scope[3] if len(scope) > 3 else "?"
    target = headers.get("X-Amz-Target") or ""
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    body = recorded.get("body") or ""
    if recorded.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    action = urllib.parse.parse_qs(body).get("Action")
    if action:
        return f"{service}:{action[0]}"
    return f"{service}:{recorded.get('method', '?')}"


# Calls that discover the stage's accounts, and those that publish the artifacts: counted
# apart from the calls each target makes.
DISCOVERY = ("organizations:",)
ARTIFACTS = ("s3:",)
# The OUs the bench stage's discovery walks: /Workloads, then /Workloads/Bench.
STAGE_OUS = 2


def split_calls(calls):
    """(per-target calls, discovery calls, artifact calls) of a recorder count."""
    discovery = sum(n for api, n in calls.items() if api.startswith(DISCOVERY))
    artifacts = sum(n for api, n in calls.items() if api.startswith(ARTIFACTS))
    return sum(calls.values()) - discovery - artifacts, discovery, artifacts


def watched(cmd, cwd, env):
    """Runs `cmd` to its end: (wall seconds, peak RSS in MB, exit code, stdout, CPU seconds).
    The peak is the process's own VmHWM, read until it exits (wait4's ru_maxrss would also
    count this Python process, whose pages the child held between fork and exec)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak_kb = [0]

    def watch():
        path = f"/proc/{proc.pid}/status"
        while proc.returncode is None:
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak_kb[0] = max(peak_kb[0], int(line.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    watcher.join()
    wall = time.perf_counter() - start
    return wall, peak_kb[0] / 1024, proc.returncode, out, usage.ru_utime + usage.ru_stime


def remedy_env(workdir, endpoint, **more):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": workdir,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.update(more)
    return env


def run_remedy(remedy, workdir, endpoint, args):
    wall, peak_mb, code, out, cpu = watched([remedy, *args], workdir, remedy_env(workdir, endpoint))
    if code != 0:
        raise SystemExit(f"remedy {' '.join(args)} failed: {out[:2000]!r}")
    run_remedy.cpu_s = cpu
    return wall, peak_mb, json.loads(out)


def hand_loop(aws, emulator_url, accounts, workdir, template_body, parameters):
    """What a user writes first: assume the role, `aws cloudformation deploy`, next (the
    template and parameters remedy deploys)."""
    template = os.path.join(workdir, "loop.yaml")
    with open(template, "w") as f:
        f.write(template_body)
    overrides = [f"{k}={v}" for k, v in parameters.items()]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    env.pop("AWS_SESSION_TOKEN", None)
    start = time.perf_counter()
    for account in accounts:
        creds = json.loads(subprocess.check_output(
            [aws, "--endpoint-url", emulator_url, "sts", "assume-role",
             "--role-arn", f"arn:aws:iam::{account}:role/CloudConformity",
             "--role-session-name", "loop", "--output", "json"], env=env))["Credentials"]
        member = dict(env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                      AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"], AWS_SESSION_TOKEN=creds["SessionToken"])
        subprocess.check_call(
            [aws, "--endpoint-url", emulator_url, "cloudformation", "deploy", "--stack-name", "remedy-loop",
             "--template-file", template, "--no-fail-on-empty-changeset",
             "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", *overrides],
            env=member, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def ceiling(emulator, accounts, template, parameters, workers=8, deploy=True):
    """The minimal calls per account from `workers` concurrent boto3 clients, with the
    template and parameters remedy deploys: AssumeRole, CreateStack, DescribeStacks; or,
    with deploy=False, what a no-op re-run needs at least: AssumeRole, DescribeStacks."""
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]

    def one(chunk):
        sts = emulator.client("sts")
        for account in chunk:
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/CloudConformity", RoleSessionName="ceiling")["Credentials"]
            cfn = emulator.client("cloudformation", key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
            if deploy:
                cfn.create_stack(StackName="remedy-ceiling", TemplateBody=template, Parameters=params,
                                 Capabilities=["CAPABILITY_IAM"])
            cfn.describe_stacks(StackName="remedy-ceiling")
    chunks = [accounts[i::workers] for i in range(workers)]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, chunks))
    return time.perf_counter() - start


def regions_layout(emulator, binaries, work, n, regions):
    """A stage of `n` accounts covering `regions`, first deploy then no-op, for each binary
    (name -> path) in turn, each from a fresh emulator: the layout before one stack per
    account (a stack in every region) against the one after (one stack, in the home region)."""
    rows = []
    with open(os.path.join(work, "remedy.yaml"), "w") as f:
        f.write(f"package: package.zip\nregions: [{', '.join(regions)}]\nstages:\n  - name: bench\n    concurrency: 16\n"
                "    targets: {ous: [/Workloads/Bench]}\nrules:\n  S3-001: remediate\n")
    for name, remedy in binaries.items():
        emulator.reset()
        emulator.seed(n)
        emulator.start_recording()
        wall, rss, doc = run_remedy(remedy, work, emulator.url, ["deploy", "--stage", "bench", "--yes", "--output", "json"])
        calls = emulator.recorded_calls()
        stacks = doc["summary"]["created"]
        emulator.start_recording()
        wall_noop, rss_noop, doc = run_remedy(remedy, work, emulator.url, ["deploy", "--stage", "bench", "--yes", "--output", "json"])
        calls_noop = emulator.recorded_calls()
        assert doc["summary"]["unchanged"] == stacks, doc["summary"]
        per_target, _, _ = split_calls(calls)
        noop_per_target, _, _ = split_calls(calls_noop)
        rows.append({
            "binary": name, "accounts": n, "regions": len(regions), "stacks": stacks,
            "deploy_s": round(wall, 2), "deploy_calls_per_account": round(per_target / n, 2),
            "noop_s": round(wall_noop, 2), "noop_calls_per_account": round(noop_per_target / n, 2),
            "peak_rss_mb": round(max(rss, rss_noop), 1),
            "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", default="100,500,1000")
    ap.add_argument("--loop-sample", type=int, default=20)
    ap.add_argument("--latency-accounts", type=int, default=500)
    ap.add_argument("--remedy", required=True)
    ap.add_argument("--testbed", help="the testbed example (default: beside --remedy)")
    ap.add_argument("--moto-python", default=sys.executable, help="a Python with moto installed")
    ap.add_argument("--aws", default=shutil.which("aws") or "aws")
    ap.add_argument("--mitmdump", default=shutil.which("mitmdump") or "mitmdump")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results.json"))
    ap.add_argument("--before", help="regions layout only: an earlier remedy binary, run beside --remedy")
    ap.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2",
                    help="regions layout: the regions the stage covers")
    args = ap.parse_args()
    args.remedy = os.path.abspath(args.remedy)
    args.aws = shutil.which(args.aws) or os.path.abspath(args.aws)

    work = tempfile.mkdtemp(prefix="remedy-bench-")
    # A small stand-in package: the emulator stores Lambda code, it never runs it.
    testbed = args.testbed or os.path.join(os.path.dirname(args.remedy), "examples", "testbed")
    subprocess.check_call([testbed, "stub-package",
                           os.path.join(work, "package.zip")])
    rows = []
    emulator = Emulator(args.moto_python)
    if args.before:
        # `make bench-regions`: only the layout comparison, both binaries in one run.
        try:
            binaries = {"before": os.path.abspath(args.before), "after": args.remedy}
            n = int(args.accounts.split(",")[-1])
            layout = regions_layout(emulator, binaries, work, n, args.regions.split(","))
        finally:
            emulator.stop()
        print(f"\n{'binary':>8} {'accounts':>8} {'stacks':>7} {'deploy s':>9} {'calls/acct':>10} {'no-op s':>8} {'no-op calls/acct':>16} {'RSS MB':>7}")
        for r in layout:
            print(f"{r['binary']:>8} {r['accounts']:>8} {r['stacks']:>7} {r['deploy_s']:>9} {r['deploy_calls_per_account']:>10} "
                  f"{r['noop_s']:>8} {r['noop_calls_per_account']:>16} {r['peak_rss_mb']:>7}")
        with open(args.out, "w") as f:
            json.dump({"regions_layout": layout}, f, indent=2)
        print(f"\nwritten to {args.out}")
        return 0
    try:
        for n in [int(x) for x in args.accounts.split(",")]:
            config = (f"package: package.zip\nregions: [{REGION}]\nstages:\n  - name: bench\n    concurrency: 16\n"
                      "    targets: {ous: [/Workloads/Bench]}\nrules:\n  S3-001: remediate\n")
            with open(os.path.join(work, "remedy.yaml"), "w") as f:
                f.write(config)

            # The recorder runs in every timed scenario (remedy's and the ceiling's): it costs
            # the emulator the same per call in both.
            emulator.reset()
            accounts = emulator.seed(n)
            emulator.start_recording()
            wall, rss, doc = run_remedy(args.remedy, work, emulator.url, ["deploy", "--stage", "bench", "--yes", "--output", "json"])
            cpu = run_remedy.cpu_s
            calls = emulator.recorded_calls()
            assert doc["summary"]["created"] == n, doc["summary"]
            emulator.start_recording()
            wall_noop, rss_noop, doc = run_remedy(args.remedy, work, emulator.url, ["deploy", "--stage", "bench", "--yes", "--output", "json"])
            calls_noop = emulator.recorded_calls()
            assert doc["summary"]["unchanged"] == n, doc["summary"]

            # The ceiling deploys the same template and package (published first, untimed),
            # then reads every stack back as a no-op re-run would.
            emulator.reset()
            accounts = emulator.seed(n)
            _, _, published = run_remedy(args.remedy, work, emulator.url, ["publish", "--output", "json"])
            package_key = next(o["key"] for o in published["objects"] if o["key"].startswith("packages/"))
            template = subprocess.check_output([args.remedy, "template", "--stage", "bench"], cwd=work).decode()
            parameters = {"ArtifactAccountId": "123456789012", "ArtifactKey": package_key}
            emulator.start_recording()
            wall_ceiling = ceiling(emulator, accounts, template, parameters)
            ceiling_calls = sum(emulator.recorded_calls().values())
            emulator.start_recording()
            wall_ceiling_noop = ceiling(emulator, accounts, template, parameters, deploy=False)
            emulator.recorded_calls()

            emulator.reset()
            accounts = emulator.seed(args.loop_sample)
            run_remedy(args.remedy, work, emulator.url, ["publish", "--output", "json"])
            wall_loop = hand_loop(args.aws, emulator.url, accounts, work, template, parameters)

            rate = n / wall
            per_target, discovery, artifacts = split_calls(calls)
            noop_per_target, noop_discovery, noop_artifacts = split_calls(calls_noop)
            rows.append({
                "accounts": n,
                "remedy_s": round(wall, 2), "remedy_acc_per_s": round(rate, 1),
                "remedy_calls_per_target": round(per_target / n, 2),
                "discovery_calls": discovery, "artifact_calls": artifacts,
                "discovery_bound": -(-n // 20) + STAGE_OUS,
                "remedy_peak_rss_mb": round(max(rss, rss_noop), 1),
                # remedy's own CPU (user + system) per target: what one process can drive.
                "remedy_cpu_ms_per_target": round(1000 * cpu / n, 2),
                "noop_s": round(wall_noop, 2), "noop_acc_per_s": round(n / wall_noop, 1),
                "noop_calls_per_target": round(noop_per_target / n, 2),
                "noop_discovery_calls": noop_discovery, "noop_artifact_calls": noop_artifacts,
                "ceiling_acc_per_s": round(n / wall_ceiling, 1),
                "ceiling_calls_per_target": round(ceiling_calls / n, 2),
                "noop_ceiling_acc_per_s": round(n / wall_ceiling_noop, 1),
                "loop_acc_per_s": round(args.loop_sample / wall_loop, 2),
                "share_of_ceiling": round(rate / (n / wall_ceiling), 2),
                "noop_share_of_ceiling": round((n / wall_noop) / (n / wall_ceiling_noop), 2),
                "times_the_loop": round(rate / (args.loop_sample / wall_loop), 1),
                "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
                "noop_calls": dict(sorted(calls_noop.items(), key=lambda kv: -kv[1])),
            })
            print(json.dumps(rows[-1]), flush=True)
        # 50 ms more on every request: remedy at concurrency 32 and the loop, through the
        # fault proxy in latency mode.
        if args.latency_accounts:
            n = args.latency_accounts
            proxy_port = free_port()
            proxy = subprocess.Popen(
                [args.mitmdump, "--mode", f"reverse:{emulator.url}", "--listen-host", "127.0.0.1", "-p", str(proxy_port),
                 "-q", "-s", os.path.join(ROOT, "tests", "faults", "faults.py"), "--set", "latency_ms=50"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_port(proxy_port)
            try:
                proxy_url = f"http://127.0.0.1:{proxy_port}"
                with open(os.path.join(work, "remedy.yaml"), "w") as f:
                    f.write(f"package: package.zip\nregions: [{REGION}]\nstages:\n  - name: bench\n    concurrency: 32\n"
                            "    targets: {ous: [/Workloads/Bench]}\nrules:\n  S3-001: remediate\n")
                emulator.reset()
                emulator.seed(n)
                wall, _, doc = run_remedy(args.remedy, work, proxy_url, ["deploy", "--stage", "bench", "--yes", "--output", "json"])
                assert doc["summary"]["created"] == n, doc["summary"]
                emulator.reset()
                accounts = emulator.seed(args.loop_sample)
                _, _, published = run_remedy(args.remedy, work, emulator.url, ["publish", "--output", "json"])
                package_key = next(o["key"] for o in published["objects"] if o["key"].startswith("packages/"))
                template = subprocess.check_output([args.remedy, "template", "--stage", "bench"], cwd=work).decode()
                parameters = {"ArtifactAccountId": "123456789012", "ArtifactKey": package_key}
                wall_loop = hand_loop(args.aws, proxy_url, accounts, work, template, parameters)
                latency = {
                    "accounts": n, "latency_ms": 50, "concurrency": 32,
                    "remedy_s": round(wall, 2), "remedy_acc_per_s": round(n / wall, 1),
                    "loop_acc_per_s": round(args.loop_sample / wall_loop, 2),
                    "times_the_loop": round((n / wall) / (args.loop_sample / wall_loop), 1),
                }
                print(json.dumps(latency), flush=True)
            finally:
                proxy.terminate()
                proxy.wait()
        else:
            latency = None
    finally:
        emulator.stop()

    print()
    print(f"{'accounts':>8} {'remedy s':>9} {'acc/s':>7} {'calls/t':>8} {'RSS MB':>7} {'x ceiling':>9} {'x loop':>7}"
          f" {'no-op s':>8} {'no-op calls/t':>13} {'discovery':>9} {'no-op x ceiling':>15}")
    for r in rows:
        print(f"{r['accounts']:>8} {r['remedy_s']:>9} {r['remedy_acc_per_s']:>7} {r['remedy_calls_per_target']:>8} "
              f"{r['remedy_peak_rss_mb']:>7} {r['share_of_ceiling']:>9} {r['times_the_loop']:>7} {r['noop_s']:>8} "
              f"{r['noop_calls_per_target']:>13} {str(r['noop_discovery_calls']) + '/' + str(r['discovery_bound']):>9} "
              f"{r['noop_share_of_ceiling']:>15}")
    print("\n(ceiling: accounts/s of the first deploy and of the no-op; loop: accounts/s)")
    for r in rows:
        print(f"{r['accounts']:>8}: ceiling {r['ceiling_acc_per_s']} / {r['noop_ceiling_acc_per_s']}, "
              f"loop {r['loop_acc_per_s']}; first deploy's calls {r['calls']}")
    if latency:
        print(f"\nwith 50 ms added latency, {latency['accounts']} accounts at concurrency 32: remedy "
              f"{latency['remedy_acc_per_s']} acc/s, the loop {latency['loop_acc_per_s']} acc/s: "
              f"{latency['times_the_loop']}x")
    with open(args.out, "w") as f:
        json.dump({"rows": rows, "latency": latency}, f, indent=2)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
