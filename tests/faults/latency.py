"""mitmproxy addon: AWS's time between remedy and the emulator (reverse-proxy mode).

    mitmdump --mode reverse:http://127.0.0.1:<moto> -p <port> -s tests/faults/latency.py \
        --set latency="default=30,sts:AssumeRole=40,cloudformation:DescribeStacks=60" \
        --set create_s=60-120 --set update_s=30-60 --set time_scale=0.1 \
        --set throttle="sts=0.10,cloudformation=0.10" --set rate="cloudformation=5" \
        --set stats=/tmp/latency.json

The emulator answers every call in milliseconds and finishes a stack inside CreateStack.
AWS does neither. This addon puts back, per request:
- latency: each API's round trip (`service:Action=ms`, `default=ms` for the rest), slept
  before the request reaches the emulator;
- stack time: a CreateStack, ExecuteChangeSet or UpdateStack starts an operation that takes
  a duration drawn uniformly from `create_s` or `update_s` (seconds, times `time_scale`);
  until it has passed, DescribeStacks answers the stack's `*_COMPLETE` status as the
  matching `*_IN_PROGRESS` (the emulator has already done the work; only the answer waits);
- throttling: a share of each service's requests (`throttle`, e.g. `sts=0.10`) and, per
  member account and service, a token bucket of `rate` requests per second (burst = rate),
  both answered with the query protocol's `Throttling` error (HTTP 400), as STS and
  CloudFormation answer it. Refused requests never reach the emulator.

Accounts: each request's account is the one whose credentials signed it (AssumeRole answers
map each access key to its account; the caller's own keys are the security account).
Stacks are keyed by (account, stack name).

On exit, `stats` receives JSON: calls per `service:Action` (answered and throttled), and
every stack operation: account, kind, when it started (seconds since the first request),
its drawn duration, when a DescribeStacks first saw it done, and the DescribeStacks of that
stack while it ran and in all. `bench/latency.py` reads it.
"""

import asyncio
import json
import random
import re
import time
import urllib.parse

from mitmproxy import ctx, http

rng = random.Random(20261207)
T0 = None
calls = {}
throttled = {}
# access key id -> account id (from AssumeRole answers)
accounts_by_key = {}
# (account, stack name) -> the operation in flight or last finished
operations = {}
finished = []
buckets = {}
# (seconds since the first request, api, account) of each request, for a look at the run
timeline = []


def load(loader):
    loader.add_option("latency", str, "", "per-API latency in ms: default=30,sts:AssumeRole=40,…")
    loader.add_option("create_s", str, "60-120", "a create's duration in seconds: lo-hi")
    loader.add_option("update_s", str, "30-60", "an update's duration in seconds: lo-hi")
    loader.add_option("time_scale", str, "1", "factor on stack durations (not on latency)")
    loader.add_option("throttle", str, "", "share of requests throttled per service: sts=0.1,…")
    loader.add_option("rate", str, "", "requests per second per account and service: cloudformation=5,…")
    loader.add_option("stats", str, "", "where to write the stats on exit")


def _pairs(text):
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        out[key.strip()] = float(value)
    return out


def _range(text):
    lo, _, hi = text.partition("-")
    return float(lo), float(hi or lo)


def _now():
    return time.monotonic() - T0


def _params(flow):
    if flow.request.method != "POST":
        return {}
    body = flow.request.get_text(strict=False) or ""
    return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}


def _service_key(flow):
    auth = flow.request.headers.get("authorization", "")
    try:
        scope = auth.split("Credential=")[1].split("/")
        return scope[3], scope[0]
    except IndexError:
        return "", ""


def _api(flow, params):
    service, _ = _service_key(flow)
    target = flow.request.headers.get("x-amz-target", "")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    action = params.get("Action")
    if action:
        return f"{service}:{action}"
    return f"{service}:{flow.request.method}"


def _stack_name(value):
    # A stack id (arn:aws:cloudformation:region:account:stack/name/uuid) or a name.
    if value.startswith("arn:"):
        parts = value.split(":", 5)[-1].split("/")
        return parts[1] if len(parts) > 1 else value
    return value


def _throttle_response():
    return http.Response.make(
        400,
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>latency</RequestId></ErrorResponse>",
        {"Content-Type": "text/xml"},
    )


def _bucket_allows(account, service, rate):
    now = time.monotonic()
    tokens, at = buckets.get((account, service), (rate, now))
    tokens = min(rate, tokens + (now - at) * rate)
    if tokens < 1:
        buckets[(account, service)] = (tokens, now)
        return False
    buckets[(account, service)] = (tokens - 1, now)
    return True


async def request(flow: http.HTTPFlow):
    global T0
    if flow.request.path.startswith("/moto-api"):
        return
    if T0 is None:
        T0 = time.monotonic()
    params = _params(flow)
    api = _api(flow, params)
    service, key = _service_key(flow)
    account = accounts_by_key.get(key, "caller")
    flow.metadata["remedy"] = (api, account, params)
    calls[api] = calls.get(api, 0) + 1
    if len(timeline) < 200_000:
        timeline.append((round(_now(), 3), api, account))
    latency = _pairs(ctx.options.latency)
    ms = latency.get(api, latency.get("default", 0))
    if ms:
        await asyncio.sleep(ms / 1000)
    share = _pairs(ctx.options.throttle).get(service, 0)
    rate = _pairs(ctx.options.rate).get(service)
    if (share and rng.random() < share) or (rate and account != "caller" and not _bucket_allows(account, service, rate)):
        throttled[api] = throttled.get(api, 0) + 1
        flow.response = _throttle_response()


def _start(account, name, kind):
    key = (account, name)
    previous = operations.get(key)
    if previous and previous.get("seen_done_at") is None:
        # Never seen done (a retried call answered twice, a stack deleted meanwhile): kept,
        # and counted by the bench as unfinished.
        finished.append(previous)
    operations[key] = {
        "account": account, "stack": name, "kind": kind, "started_at": _now(),
        "duration": None, "seen_done_at": None, "polls_running": 0, "polls": 0,
    }


def _draw(op, status):
    """The operation's duration, drawn when its first DescribeStacks shows its kind (an
    executed change set creates or updates)."""
    if op["kind"] is None:
        # A change set of type CREATE runs on a stack in REVIEW_IN_PROGRESS; a failed create
        # reads ROLLBACK_*.
        op["kind"] = "create" if status.startswith(("CREATE", "ROLLBACK", "REVIEW")) else "update"
    lo, hi = _range(ctx.options.create_s if op["kind"] == "create" else ctx.options.update_s)
    op["duration"] = rng.uniform(lo, hi) * float(ctx.options.time_scale)


def response(flow: http.HTTPFlow):
    meta = flow.metadata.get("remedy")
    if not meta or flow.response is None:
        return
    api, account, params = meta
    if flow.response.status_code != 200:
        return
    text = flow.response.get_text(strict=False) or ""
    if "<Code>Throttling</Code>" in text:
        return
    if api == "sts:AssumeRole":
        key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
        arn = re.search(r"<Arn>arn:aws[\w-]*:sts::(\d{12}):", text)
        if key and arn:
            accounts_by_key[key.group(1)] = arn.group(1)
    elif api == "cloudformation:CreateStack":
        _start(account, _stack_name(params.get("StackName", "")), "create")
    elif api in ("cloudformation:ExecuteChangeSet", "cloudformation:UpdateStack"):
        # A change set of type CREATE (a stack in REVIEW_IN_PROGRESS) is a create: the kind
        # is known at the first DescribeStacks.
        _start(account, _stack_name(params.get("StackName", "")), None)
    elif api == "cloudformation:DescribeStacks":
        name = params.get("StackName")
        if not name:
            return
        op = operations.get((account, _stack_name(name)))
        if not op or op["seen_done_at"] is not None:
            return
        op["polls"] += 1
        status = re.search(r"<StackStatus>([A-Z_]+)</StackStatus>", text)
        if op["duration"] is None:
            _draw(op, status.group(1) if status else "")
        if _now() < op["started_at"] + op["duration"]:
            op["polls_running"] += 1

            def busy(match):
                status = match.group(1)
                if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                    return f"<StackStatus>{status[:-len('COMPLETE')]}IN_PROGRESS</StackStatus>"
                return match.group(0)

            flow.response.set_text(re.sub(r"<StackStatus>([A-Z_]+)</StackStatus>", busy, text))
        else:
            op["seen_done_at"] = _now()
            finished.append(op)


def done():
    if not ctx.options.stats:
        return
    still = [op for op in operations.values() if op["seen_done_at"] is None and op not in finished]
    with open(ctx.options.stats, "w") as f:
        json.dump({"calls": calls, "throttled": throttled, "operations": finished + still,
                   "timeline": timeline}, f)
