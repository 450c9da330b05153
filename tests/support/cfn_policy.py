"""Shared by tests/support/check_handler_permissions.py and tests/support/lint_policies.py:
read a CloudFormation template (long- or short-form intrinsics), resolve the intrinsics of a
policy document to plausible concrete values, and evaluate IAM statements at the action
level (wildcards, NotAction) with the tag conditions that decide creation-time tagging.

Only what those two checks need: not a general IAM evaluator.
"""

import fnmatch
import re

import yaml

PARTITION = "aws"
ACCOUNT = "111111111111"
REGION = "us-east-1"


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short forms (!Sub, !Ref, !GetAtt a.b) as long forms."""


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


_Loader.add_multi_constructor("!", _short_form)
# CloudFormation reads `2012-10-17` as a string, not a date.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


class Resolver:
    """Resolves intrinsics to strings: parameters to their defaults (or given values), pseudo
    parameters to PARTITION/ACCOUNT/REGION, a resource's Ref/Arn to a plausible ARN."""

    def __init__(self, template, overrides=None):
        self.template = template
        self.values = {
            "AWS::Partition": PARTITION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::StackName": "remedy",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        self.values["AWS::StackId"] = (
            f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/"
            f"{self.values['AWS::StackName']}/00000000-0000-0000-0000-000000000000"
        )
        for name, p in (template.get("Parameters") or {}).items():
            default = p.get("Default")
            if default in (None, ""):
                default = _placeholder_for(name, p)
            self.values[name] = str(default)
        self.values.update(overrides or {})
        self.conditions = {}

    def ref(self, name):
        if name in self.values:
            return self.values[name]
        resource = (self.template.get("Resources") or {}).get(name)
        if resource is None:
            raise KeyError(f"Ref to unknown {name}")
        return self.arn(name, resource)

    def arn(self, logical_id, resource):
        service = resource["Type"].split("::")[1].lower()
        kind = resource["Type"].split("::")[2].lower()
        if resource["Type"] == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{logical_id.lower()}-bucket"
        if resource["Type"] == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical_id}"
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{logical_id}"
        if resource["Type"] == "AWS::KMS::Key":
            return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
        if resource["Type"] == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if resource["Type"] == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{logical_id}"
        if resource["Type"] == "AWS::Logs::LogGroup":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{logical_id}:*"
        if resource["Type"] == "AWS::CodeBuild::Project":
            return f"arn:{PARTITION}:codebuild:{REGION}:{ACCOUNT}:project/{logical_id}"
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{kind}/{logical_id}"

    def resolve(self, value):
        """The value with every intrinsic replaced; Fn::If takes its first branch."""
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                v = self.ref(arg)
                return _NO_VALUE if v is None else v
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                resource = self.template["Resources"][logical_id]
                if attribute == "Arn":
                    return self.arn(logical_id, resource)
                return f"{logical_id}.{attribute}"
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                variables = {k: self.resolve(v) for k, v in variables.items()}

                def sub(m):
                    name = m.group(1)
                    if name.startswith("!"):
                        return "${" + name[1:] + "}"
                    if name in variables:
                        return str(variables[name])
                    if "." in name:
                        logical_id, attribute = name.split(".", 1)
                        return str(self.resolve({"Fn::GetAtt": [logical_id, attribute]}))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^}]+)\}", sub, text)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::If":
                return self.resolve(arg[1])
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::ImportValue":
                return "imported-value"
        return {k: self.resolve(v) for k, v in value.items()}


class _NoValue:
    pass


_NO_VALUE = _NoValue()


def _placeholder_for(name, parameter):
    """A value a parameter without a default plausibly takes (for linting only)."""
    lowered = name.lower()
    if "account" in lowered:
        return "222222222222"
    if "organization" in lowered:
        return "o-abcdefghij"
    if lowered.endswith("arn"):
        return f"arn:{PARTITION}:codestar-connections:{REGION}:{ACCOUNT}:connection/0000"
    return "placeholder"


def policy_documents(template, resolver):
    """Every IAM policy document in the template: (where, resolved document, attached-to)."""
    out = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        rtype = resource.get("Type")
        if rtype == "AWS::IAM::ManagedPolicy" or rtype == "AWS::IAM::Policy":
            out.append((f"{logical_id}", resolver.resolve(props["PolicyDocument"]), "identity"))
        if rtype in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for p in resolver.resolve(props.get("Policies") or []):
                out.append((f"{logical_id}/{p['PolicyName']}", p["PolicyDocument"], "identity"))
            if "AssumeRolePolicyDocument" in props:
                out.append((f"{logical_id}/AssumeRolePolicyDocument",
                            resolver.resolve(props["AssumeRolePolicyDocument"]), "trust"))
        if rtype in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            out.append((f"{logical_id}", resolver.resolve(props["PolicyDocument"]), "resource"))
        if rtype == "AWS::KMS::Key" and "KeyPolicy" in props:
            out.append((f"{logical_id}/KeyPolicy", resolver.resolve(props["KeyPolicy"]), "resource"))
    return out


def role_statements(template, resolver, role):
    """The statements of a role's inline policies and of the template's managed policies it
    attaches (by Ref), or of a managed policy named directly."""
    resources = template["Resources"]
    resource = resources[role]
    props = resource.get("Properties") or {}
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        return _statements(resolver.resolve(props["PolicyDocument"]), role)
    statements = []
    for p in props.get("Policies") or []:
        statements += _statements(resolver.resolve(p["PolicyDocument"]), f"{role}/{p['PolicyName']}")
    for arn in props.get("ManagedPolicyArns") or []:
        if isinstance(arn, dict) and "Ref" in arn and arn["Ref"] in resources:
            ref = arn["Ref"]
            statements += _statements(resolver.resolve(resources[ref]["Properties"]["PolicyDocument"]), ref)
        else:
            raise SystemExit(f"{role}: cannot evaluate managed policy {arn!r}")
    return statements


def _statements(document, where):
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    return [dict(s, _where=f"{where}/{s.get('Sid', i)}") for i, s in enumerate(statements)]


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def action_matches(pattern, action):
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def statement_covers_action(statement, action):
    if "NotAction" in statement:
        return not any(action_matches(p, action) for p in as_list(statement["NotAction"]))
    return any(action_matches(p, action) for p in as_list(statement.get("Action")))


def resource_matches(pattern, arn):
    # In IAM resource patterns, * and ? are the only wildcards ([ is literal).
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn, flags=re.S) is not None


def statement_covers_resource(statement, arn):
    if "NotResource" in statement:
        return not any(resource_matches(p, arn) for p in as_list(statement["NotResource"]))
    return any(resource_matches(p, arn) for p in as_list(statement.get("Resource")))


def condition_keys(statement):
    return [key for block in (statement.get("Condition") or {}).values() for key in block]


def tag_conditions_hold(statement, request_tags):
    """Whether the statement's aws:RequestTag/* and aws:TagKeys conditions hold for a request
    that carries `request_tags` (a creation with those tags). Other keys are not judged here.
    `None` when the statement has an aws:ResourceTag condition: no resource exists to carry
    tags when it is created, so such a statement cannot hold at creation."""
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            lowered = key.lower()
            if lowered.startswith("aws:resourcetag/"):
                return None
            if lowered.startswith("aws:requesttag/"):
                tag = key.split("/", 1)[1]
                present = [request_tags[tag]] if tag in request_tags else []
            elif lowered == "aws:tagkeys":
                present = list(request_tags)
            else:
                continue
            if not _condition(operator, present, [str(e) for e in as_list(expected)]):
                return False
    return True


def _condition(operator, present, expected):
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    matchers = {
        "StringEquals": lambda v, e: v == e,
        "StringNotEquals": lambda v, e: v == e,
        "StringEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
        "StringNotEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
        "StringLike": lambda v, e: fnmatch.fnmatchcase(v, e),
        "StringNotLike": lambda v, e: fnmatch.fnmatchcase(v, e),
    }
    if op not in matchers:
        raise SystemExit(f"cannot evaluate condition operator {operator}")
    negated = "Not" in op
    match = lambda v: any(matchers[op](v, e) for e in expected)  # noqa: E731
    if qualifier == "ForAllValues":
        ok = all(match(v) for v in present)
        return (not ok) if negated else ok
    if qualifier == "ForAnyValue":
        if not present:
            return False
        ok = any(match(v) for v in present)
        return (not ok) if negated else ok
    if not present:
        return if_exists or negated
    ok = any(match(v) for v in present)
    return (not ok) if negated else ok
