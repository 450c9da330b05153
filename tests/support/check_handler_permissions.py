#!/usr/bin/env python3
"""Does a role hold what CloudFormation's resource handlers need for a template?

For every resource type of --template, CloudFormation's own resource provider schema (the
copy cfn-lint ships: cfnlint/data/schemas/providers/<region>.json indexes resources/<hash>.json)
lists the IAM permissions of each handler (create, read, update, delete) and, under
`tagging`, the permissions that tag the resource. This script evaluates the statements of
--role in --policy-template against them:

- every handler permission (of the handlers named by --handlers) must be allowed by an Allow
  statement (action wildcards and NotAction expanded), unless tests/handler-permission-skips.txt
  lists it for that type with a reason (a property the template does not use);
- a taggable type's tag-on-create permission (the tagging permission its create handler
  calls) must be allowed by a statement that can hold when the resource is created: no
  aws:ResourceTag condition (nothing exists to carry the tag yet) and aws:RequestTag/* and
  aws:TagKeys conditions that hold for the request's tags (the stack's tags plus the
  resource's own Tags); the other tagging permissions must be allowed at all;
- every create-handler permission is evaluated with the same request tags, so a
  creation-time statement whose tag conditions exclude one of remedy's stack tags fails;
- resource level, where the physical name is known (functions, roles, topics, queues,
  log groups, aliases, buckets): the create and tag-on-create permissions of the type's
  own service must be allowed on that resource's ARN.

Stack tag keys: every "remedy:<word>" string literal in src/ (what remedy tags stacks with),
or --stack-tag-keys.

Exit 1 with one line per gap; a skip line that no longer matches anything is a gap too.
"""

import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfn_policy as cp  # noqa: E402

HANDLERS = ("create", "update", "delete", "read")


def schemas_dir():
    import cfnlint

    return os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")


def load_schema(base, region, rtype):
    index = json.load(open(os.path.join(base, "providers", f"{region}.json"), encoding="utf-8"))
    if rtype not in index:
        raise SystemExit(f"{rtype}: not in cfn-lint's {region} provider index")
    return json.load(open(os.path.join(base, "resources", f"{index[rtype]}.json"), encoding="utf-8"))


def load_skips(path):
    skips = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise SystemExit(f"{path}:{n}: want '<Type> <action> <reason>', got: {line}")
        skips[(parts[0], parts[1])] = {"reason": parts[2], "line": n, "used": False}
    return skips


def stack_tag_keys(src):
    keys = set()
    for path in glob.glob(os.path.join(src, "**", "*.rs"), recursive=True):
        keys |= set(re.findall(r'"(remedy:[a-z][a-z0-9-]*)"', open(path, encoding="utf-8").read()))
    if not keys:
        raise SystemExit(f"no remedy:<key> tag literals under {src}")
    return sorted(keys)


def physical_arn(rtype, logical_id, props, resolver, stack_name):
    """The ARN the resource will have, when its name is known before it exists."""
    a, r, p = cp.ACCOUNT, cp.REGION, cp.PARTITION
    name = lambda key: resolver.resolve(props.get(key)) if props.get(key) else None  # noqa: E731
    if rtype == "AWS::Lambda::Function" and name("FunctionName"):
        return f"arn:{p}:lambda:{r}:{a}:function:{name('FunctionName')}"
    if rtype == "AWS::IAM::Role":
        # CloudFormation names an unnamed role <stack>-<logical id>-<random>.
        role = name("RoleName") or f"{stack_name}-{logical_id}-ABCDEFGHIJKL"[:64]
        return f"arn:{p}:iam::{a}:role/{role}"
    if rtype == "AWS::SNS::Topic" and name("TopicName"):
        return f"arn:{p}:sns:{r}:{a}:{name('TopicName')}"
    if rtype == "AWS::SQS::Queue" and name("QueueName"):
        return f"arn:{p}:sqs:{r}:{a}:{name('QueueName')}"
    if rtype == "AWS::Logs::LogGroup" and name("LogGroupName"):
        return f"arn:{p}:logs:{r}:{a}:log-group:{name('LogGroupName')}"
    if rtype == "AWS::KMS::Alias":
        return f"arn:{p}:kms:{r}:{a}:{name('AliasName')}"
    if rtype == "AWS::DynamoDB::Table" and name("TableName"):
        return f"arn:{p}:dynamodb:{r}:{a}:table/{name('TableName')}"
    if rtype == "AWS::S3::Bucket" and name("BucketName"):
        return f"arn:{p}:s3:::{name('BucketName')}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--template", required=True, help="the stack's template (rendered)")
    ap.add_argument("--template-param", action="append", default=[], metavar="K=V")
    ap.add_argument("--policy-template", required=True, help="the template declaring the role")
    ap.add_argument("--role", required=True, help="logical id of the role (or managed policy)")
    ap.add_argument("--policy-param", action="append", default=[], metavar="K=V")
    ap.add_argument("--stack-name", default="remedy")
    ap.add_argument("--handlers", default="create,update,delete,read")
    ap.add_argument("--skips", default="tests/handler-permission-skips.txt")
    ap.add_argument("--src", default="src", help="where remedy's tag keys are read from")
    ap.add_argument("--stack-tag-keys", help="comma-separated, instead of reading --src")
    ap.add_argument("--schemas", default=None)
    ap.add_argument("--region", default="us-east-1")
    args = ap.parse_args()

    handlers = [h for h in args.handlers.split(",") if h]
    assert all(h in HANDLERS for h in handlers), handlers
    base = args.schemas or schemas_dir()
    template = cp.load_template(args.template)
    tresolver = cp.Resolver(template, dict(kv.split("=", 1) for kv in args.template_param))
    tresolver.values["AWS::StackName"] = args.stack_name
    policy_template = cp.load_template(args.policy_template)
    presolver = cp.Resolver(policy_template, dict(kv.split("=", 1) for kv in args.policy_param))
    statements = [s for s in cp.role_statements(policy_template, presolver, args.role)]
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    denies = [s for s in statements if s.get("Effect") == "Deny"]
    keys = args.stack_tag_keys.split(",") if args.stack_tag_keys else stack_tag_keys(args.src)
    stack_tags = {k: ("true" if k == "remedy:managed" else "x") for k in keys}
    skips = load_skips(args.skips)

    gaps = []
    checked = 0

    def allowed(action, request_tags=None, arn=None, at_creation=False):
        """The Allow statements granting `action` (in a creation request carrying
        `request_tags`, on `arn` when given); none when a Deny without conditions covers it."""
        for d in denies:
            if cp.statement_covers_action(d, action) and not d.get("Condition"):
                return []
        out = []
        for s in allows:
            if not cp.statement_covers_action(s, action):
                continue
            if arn is not None and not cp.statement_covers_resource(s, arn):
                continue
            if request_tags is not None:
                holds = cp.tag_conditions_hold(s, request_tags)
                if holds is False or (holds is None and at_creation):
                    continue
            out.append(s)
        return out

    types = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        types.setdefault(resource["Type"], []).append((logical_id, resource.get("Properties") or {}))

    for rtype in sorted(types):
        schema = load_schema(base, args.region, rtype)
        tagging = schema.get("tagging") or {}
        create = set(schema.get("handlers", {}).get("create", {}).get("permissions", []))
        needed = {}
        for h in handlers:
            for perm in schema.get("handlers", {}).get(h, {}).get("permissions", []):
                needed.setdefault(perm, []).append(h)
        tag_perms = tagging.get("permissions", []) if tagging.get("taggable") else []
        for perm in tag_perms:
            needed.setdefault(perm, []).append("tagging")
        on_create = [p for p in tag_perms if p in create] if tagging.get("tagOnCreate") else []
        service = rtype.split("::")[1].lower()

        for logical_id, props in types[rtype]:
            own = {t["Key"]: str(t["Value"]) for t in (tresolver.resolve(props.get("Tags")) or [])
                   if isinstance(props.get("Tags"), list)}
            request_tags = dict(stack_tags, **own) if tagging.get("tagOnCreate") else {}
            arn = physical_arn(rtype, logical_id, props, tresolver, args.stack_name)
            for perm, why in sorted(needed.items()):
                checked += 1
                skip = skips.get((rtype, perm))
                creating = "create" in why
                grants = allowed(perm, request_tags if creating else None)
                if skip:
                    # A skip of what a statement grants outright (on every resource, without
                    # conditions) says nothing: drop it. Narrower grants (another role to
                    # another service, other keys) may well not be what the handler needs.
                    outright = [g for g in grants if not g.get("Condition")
                                and "*" in cp.as_list(g.get("Resource"))]
                    if outright:
                        gaps.append(f"{rtype} {perm}: skipped (line {skip['line']}) but granted by "
                                    f"{outright[0]['_where']}: remove the skip")
                    skip["used"] = True
                    continue
                if not grants:
                    gaps.append(f"{rtype} ({logical_id}) {perm}: needed by the {'/'.join(why)} "
                                f"handler, not granted")
                    continue
                if perm in on_create:
                    if not allowed(perm, request_tags, at_creation=True):
                        gaps.append(f"{rtype} ({logical_id}) {perm}: tags the resource at creation, but "
                                    f"every statement granting it needs aws:ResourceTag or request "
                                    f"tags other than {sorted(request_tags)}")
                        continue
                own_service = perm.split(":")[0].lower() == service
                if arn and own_service and (creating or perm in on_create):
                    target = arn
                    if rtype == "AWS::S3::Bucket" and "Object" in perm.split(":")[1]:
                        target = f"{arn}/any-key"  # object-level actions act on the bucket's objects
                    if not allowed(perm, request_tags, arn=target, at_creation=perm in on_create):
                        gaps.append(f"{rtype} ({logical_id}) {perm}: not granted on {target}")

    present = set(types)
    for (rtype, perm), skip in skips.items():
        if rtype in present and not skip["used"]:
            gaps.append(f"{args.skips}:{skip['line']}: {rtype} {perm} matches no handler permission "
                        f"(remove it)")

    for g in gaps:
        print(f"handler permissions: {args.role} in {args.policy_template}: {g}")
    if gaps:
        print(f"handler permissions: {len(gaps)} gap(s) for {args.template}")
        return 1
    print(f"handler permissions: {args.role} covers {len(present)} resource types of "
          f"{os.path.basename(args.template)} ({checked} permissions checked, "
          f"{sum(s['used'] for s in skips.values())} skipped; stack tags {keys})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
