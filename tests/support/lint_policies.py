#!/usr/bin/env python3
"""parliament over every IAM policy document of the given CloudFormation templates.

Each identity policy (AWS::IAM::ManagedPolicy, a role's inline Policies) and resource policy
(bucket, topic, queue, key policies) is taken out of its template, its intrinsics replaced by
plausible concrete values (tests/support/cfn_policy.py: ${AWS::Partition} -> aws, parameters
-> their defaults, a resource's Arn -> an ARN of its type), and handed to parliament, which
reports unknown actions, malformed or mismatched resource ARNs, condition keys that do not
apply to the statement's actions, and the like.

Accepted findings: --skips (tests/parliament-skips.txt), one per line,
    <ISSUE> <subject> <reason>
where <subject> is the action (or, for UNKNOWN_CONDITION_FOR_ACTION, the condition key) the
finding is about, as parliament names it; `*` matches any. A skip that matches no finding
fails the run, so the list stays exact.

Trust policies (AssumeRolePolicyDocument) are not linted: parliament audits permission
policies and reads their Principal/sts:AssumeRole shape as findings of its own.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfn_policy as cp  # noqa: E402

from parliament import analyze_policy_string  # noqa: E402

# Findings about style or breadth, not validity: checkov and tests/it/template.rs judge breadth.
NOT_ERRORS = {"RESOURCE_STAR"}


def load_skips(path):
    skips = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise SystemExit(f"{path}:{n}: want '<ISSUE> <subject> <reason>', got: {line}")
        skips.append({"issue": parts[0], "subject": parts[1], "line": n, "used": 0})
    return skips


def subjects(finding):
    """What a finding is about: its actions and condition keys, lower-cased."""
    out = set()
    location = finding.location or {}
    for key in ("action", "actions", "condition", "condition_key"):
        v = location.get(key)
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, str):
                out.add(item.lower())
    detail = finding.detail
    if isinstance(detail, str):
        out.add(detail.lower())
    elif isinstance(detail, dict):
        for v in detail.values():
            for item in v if isinstance(v, list) else [v]:
                if isinstance(item, str):
                    out.add(item.lower())
    elif isinstance(detail, list):
        for item in detail:
            if isinstance(item, str):
                out.add(item.lower())
            elif isinstance(item, dict):
                out |= {str(x).lower() for x in item.values() if isinstance(x, str)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("templates", nargs="+")
    ap.add_argument("--skips", default="tests/parliament-skips.txt")
    ap.add_argument("--show", action="store_true", help="print every policy as linted")
    args = ap.parse_args()

    skips = load_skips(args.skips)
    errors = []
    linted = 0
    for path in args.templates:
        template = cp.load_template(path)
        resolver = cp.Resolver(template)
        for where, document, kind in cp.policy_documents(template, resolver):
            if kind == "trust":
                continue
            linted += 1
            text = json.dumps(document, indent=1)
            if args.show:
                print(f"--- {path}:{where}\n{text}")
            policy = analyze_policy_string(text, filepath=f"{path}:{where}")
            for finding in policy.findings:
                if finding.issue in NOT_ERRORS:
                    continue
                about = subjects(finding)
                matched = [s for s in skips if s["issue"] == finding.issue
                           and (s["subject"] == "*" or any(s["subject"].lower() in a for a in about))]
                if matched:
                    for s in matched:
                        s["used"] += 1
                    continue
                errors.append(f"{os.path.basename(path)}:{where}: {finding.issue} {finding.detail} "
                              f"{finding.location or ''}")
    for s in skips:
        if not s["used"]:
            errors.append(f"{args.skips}:{s['line']}: {s['issue']} {s['subject']} matches no finding "
                          f"(remove it)")
    for e in errors:
        print(f"parliament: {e}")
    if errors:
        print(f"parliament: {len(errors)} finding(s) in {len(args.templates)} templates")
        return 1
    print(f"parliament: {linted} policies in {len(args.templates)} templates clean "
          f"({sum(s['used'] for s in skips)} accepted findings, {args.skips})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
