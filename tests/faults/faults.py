"""mitmproxy addon: faults between remedy and the emulator (reverse-proxy mode).

    mitmdump --mode reverse:http://127.0.0.1:<moto> -p <port> -s tests/faults/faults.py \
        --set throttle=0.20 --set server_error=0.05 --set drop=0.02 --set latency_ms=0

Every fault is injected before the request reaches the emulator, as AWS's own throttling
and front-end errors are: the emulator never half-applies a refused call. Throttling
answers use each protocol's real error shape:
- query (STS, CloudFormation): HTTP 400, <ErrorResponse><Error><Code>Throttling</Code>…;
- JSON 1.1 (Organizations, CodeBuild): HTTP 400, {"__type": "TooManyRequestsException"};
- REST-JSON (Lambda): HTTP 429, x-amzn-ErrorType: TooManyRequestsException;
- REST-XML (S3): HTTP 503, <Error><Code>SlowDown</Code>…
Read-only calls (Describe*, List*, Get*, GetObject/HeadObject) may also lose their answer
after the emulator has served them (--set drop_response=…), which a retry must survive.
Counts of what was injected are written to the file named by --set counts=PATH on exit.
"""

import asyncio
import json
import random

from mitmproxy import ctx, http

rng = random.Random(20261126)
counts = {"requests": 0, "throttle": 0, "server_error": 0, "drop": 0, "drop_response": 0}


def load(loader):
    # mitmproxy options cannot be floats: shares are given as text ("0.20").
    loader.add_option("throttle", str, "0", "share of requests answered with throttling")
    loader.add_option("server_error", str, "0", "share answered with HTTP 500/503")
    loader.add_option("drop", str, "0", "share whose connection is dropped")
    loader.add_option("drop_response", str, "0", "share of read-only answers dropped after the emulator served them")
    loader.add_option("latency_ms", int, 0, "added latency per request")
    loader.add_option("counts", str, "", "where to write the injected counts")


def _service(flow: http.HTTPFlow) -> str:
    auth = flow.request.headers.get("authorization", "")
    # Credential=AKID/20261126/us-east-1/<service>/aws4_request
    try:
        return auth.split("Credential=")[1].split("/")[3]
    except IndexError:
        return ""


def _throttle(flow: http.HTTPFlow) -> http.Response:
    service = _service(flow)
    target = flow.request.headers.get("x-amz-target", "")
    if service == "s3":
        return http.Response.make(
            503,
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            {"Content-Type": "application/xml"},
        )
    if target:
        return http.Response.make(
            400,
            json.dumps({"__type": "TooManyRequestsException", "message": "Rate exceeded"}).encode(),
            {"Content-Type": "application/x-amz-json-1.1"},
        )
    if service == "lambda":
        return http.Response.make(
            429,
            json.dumps({"Type": "User", "message": "Rate exceeded"}).encode(),
            {"Content-Type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException"},
        )
    return http.Response.make(
        400,
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>faults</RequestId></ErrorResponse>",
        {"Content-Type": "text/xml"},
    )


async def request(flow: http.HTTPFlow):
    if flow.request.path.startswith("/moto-api"):
        return
    counts["requests"] += 1
    if ctx.options.latency_ms:
        await asyncio.sleep(ctx.options.latency_ms / 1000)
    drop = float(ctx.options.drop)
    server_error = float(ctx.options.server_error)
    throttle = float(ctx.options.throttle)
    roll = rng.random()
    if roll < drop:
        counts["drop"] += 1
        flow.kill()
    elif roll < drop + server_error:
        counts["server_error"] += 1
        code = rng.choice([500, 503])
        flow.response = http.Response.make(code, b"Service Unavailable", {"Content-Type": "text/plain"})
    elif roll < drop + server_error + throttle:
        counts["throttle"] += 1
        flow.response = _throttle(flow)


def _read_only(flow: http.HTTPFlow) -> bool:
    if flow.request.method in ("GET", "HEAD"):
        return True
    target = flow.request.headers.get("x-amz-target", "")
    action = target.rsplit(".", 1)[-1] if target else ""
    if not action:
        body = flow.request.get_text(strict=False) or ""
        for pair in body.split("&"):
            if pair.startswith("Action="):
                action = pair[len("Action="):]
    return action.startswith(("Describe", "List", "Get"))


def response(flow: http.HTTPFlow):
    if flow.request.path.startswith("/moto-api") or not _read_only(flow):
        return
    if rng.random() < float(ctx.options.drop_response):
        counts["drop_response"] += 1
        flow.kill()


def done():
    if ctx.options.counts:
        with open(ctx.options.counts, "w") as f:
            json.dump(counts, f)
