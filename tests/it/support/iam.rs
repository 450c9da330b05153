//! IAM policy evaluation for the caller-closure test: the policies a role holds, read from
//! our own CloudFormation templates (`stacks/account-bootstrap.yaml`, `pipeline/pipeline.yaml`),
//! and whether they allow one request, on its resource, under its condition keys.
//!
//! moto evaluates policies against resource `*` only and barely evaluates conditions, so it
//! cannot say whether a scoped role can make a call. This can, for what our policies use:
//! action and resource wildcards (`*`, `?`), `Allow`/`Deny`, and the condition operators
//! below. An operator it does not know panics, so a policy cannot pass by being unreadable;
//! a condition key the request does not carry fails the statement (unless `…IfExists`).

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One statement, intrinsics resolved.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub condition: serde_json::Value,
}

/// A request as IAM judges it: `prefix:Action`, the resource ARN (`*` for actions without
/// one), and the condition keys the request carries.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
}

impl Request {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Request {
        self.context
            .insert(key.to_ascii_lowercase(), value.to_owned());
        self
    }
}

/// A template, its parameters (defaults, then `overrides`, then the pseudo parameters) and
/// the policies its roles hold.
pub struct Template {
    doc: Value,
    params: BTreeMap<String, String>,
}

impl Template {
    pub fn load(path: &Path, overrides: &[(&str, &str)]) -> Template {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut params = BTreeMap::new();
        if let Some(declared) = doc["Parameters"].as_mapping() {
            for (name, p) in declared {
                if let (Some(name), Some(default)) = (name.as_str(), scalar(&p["Default"])) {
                    params.insert(name.to_owned(), default);
                }
            }
        }
        params.insert("AWS::Partition".into(), "aws".into());
        params.insert("AWS::URLSuffix".into(), "amazonaws.com".into());
        for (k, v) in overrides {
            params.insert((*k).to_owned(), (*v).to_owned());
        }
        Template { doc, params }
    }

    /// Every statement of the role `logical_id`: its inline policies and the customer
    /// managed policies of this template it attaches. An AWS managed policy panics: its
    /// contents are not ours to read here.
    pub fn role_statements(&self, logical_id: &str) -> Vec<Statement> {
        let role = &self.doc["Resources"][logical_id];
        assert_eq!(
            role["Type"], "AWS::IAM::Role",
            "{logical_id} is not a role of the template"
        );
        let mut documents = Vec::new();
        if let Some(inline) = role["Properties"]["Policies"].as_sequence() {
            documents.extend(inline.iter().map(|p| p["PolicyDocument"].clone()));
        }
        if let Some(managed) = role["Properties"]["ManagedPolicyArns"].as_sequence() {
            for arn in managed {
                let name = arn["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{logical_id}: managed policy {arn:?} is not ours"));
                let policy = &self.doc["Resources"][name];
                assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{name}");
                documents.push(policy["Properties"]["PolicyDocument"].clone());
            }
        }
        documents
            .iter()
            .flat_map(|d| d["Statement"].as_sequence().cloned().unwrap_or_default())
            .map(|s| self.statement(&s))
            .collect()
    }

    fn statement(&self, s: &Value) -> Statement {
        let list = |v: &Value| -> Vec<String> {
            match v {
                Value::Sequence(items) => items.iter().map(|i| self.resolve(i)).collect(),
                Value::Null => Vec::new(),
                other => vec![self.resolve(other)],
            }
        };
        assert!(
            s["NotAction"].is_null() && s["NotResource"].is_null(),
            "NotAction/NotResource are not evaluated here: {s:?}"
        );
        let condition = if s["Condition"].is_null() {
            serde_json::Value::Null
        } else {
            self.resolve_json(&s["Condition"])
        };
        Statement {
            sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
            allow: s["Effect"] == "Allow",
            actions: list(&s["Action"]),
            resources: list(&s["Resource"]),
            condition,
        }
    }

    fn resolve_json(&self, v: &Value) -> serde_json::Value {
        match v {
            Value::Mapping(m) if is_intrinsic(m) => serde_json::Value::String(self.resolve(v)),
            Value::Mapping(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().unwrap_or_default().to_owned(),
                        self.resolve_json(v),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Value::Sequence(items) => items.iter().map(|i| self.resolve_json(i)).collect(),
            other => serde_json::Value::String(scalar(other).unwrap_or_default()),
        }
    }

    /// A value with its intrinsic functions resolved to a string.
    pub fn resolve(&self, v: &Value) -> String {
        if let Some(s) = scalar(v) {
            return s;
        }
        if let Some(name) = v["Ref"].as_str() {
            return self.reference(name);
        }
        if let Some(att) = v["Fn::GetAtt"].as_sequence() {
            let name = att.first().and_then(Value::as_str).unwrap_or_default();
            let attr = att.get(1).and_then(Value::as_str).unwrap_or_default();
            return self.get_att(name, attr);
        }
        match &v["Fn::Sub"] {
            Value::String(text) => self.sub(text, &BTreeMap::new()),
            Value::Sequence(parts) => {
                let text = parts.first().and_then(Value::as_str).unwrap_or_default();
                let vars: BTreeMap<String, String> = parts
                    .get(1)
                    .and_then(Value::as_mapping)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (k.as_str().unwrap_or_default().to_owned(), self.resolve(v))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.sub(text, &vars)
            }
            _ => panic!("an intrinsic this evaluator does not resolve: {v:?}"),
        }
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + end];
            let value = match vars.get(name) {
                Some(v) => v.clone(),
                None => match name.split_once('.') {
                    Some((res, attr)) => self.get_att(res, attr),
                    None => self.reference(name),
                },
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn reference(&self, name: &str) -> String {
        if let Some(v) = self.params.get(name) {
            return v.clone();
        }
        let resource = &self.doc["Resources"][name];
        match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => self.resolve(&resource["Properties"]["RoleName"]),
            Some(kind) => format!("unresolved-ref-{kind}-{name}"),
            None => {
                panic!("Ref to `{name}`: no such parameter or resource (pass it as an override)")
            }
        }
    }

    fn get_att(&self, name: &str, attr: &str) -> String {
        let resource = &self.doc["Resources"][name];
        let account = self
            .params
            .get("AWS::AccountId")
            .cloned()
            .unwrap_or_default();
        match (resource["Type"].as_str(), attr) {
            (Some("AWS::IAM::Role"), "Arn") => {
                let role = self.resolve(&resource["Properties"]["RoleName"]);
                format!("arn:aws:iam::{account}:role/{role}")
            }
            (Some("AWS::DynamoDB::Table"), "Arn") => {
                let region = self.params.get("AWS::Region").cloned().unwrap_or_default();
                let table = self.resolve(&resource["Properties"]["TableName"]);
                format!("arn:aws:dynamodb:{region}:{account}:table/{table}")
            }
            (Some(kind), _) => format!("unresolved-getatt-{kind}-{name}-{attr}"),
            (None, _) => panic!("GetAtt of `{name}`: no such resource"),
        }
    }
}

fn is_intrinsic(m: &serde_yaml::Mapping) -> bool {
    m.len() == 1
        && m.keys()
            .next()
            .and_then(Value::as_str)
            .is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// IAM's wildcard match: `*` any run, `?` one character. Case-sensitive (ARNs); actions are
/// compared lower-cased by the caller.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether `statements` allow `request`: some Allow statement matches it and no Deny does.
/// `Err` says why not, naming the closest statements.
pub fn allows(statements: &[Statement], request: &Request) -> Result<(), String> {
    let matching = |s: &Statement| {
        s.actions.iter().any(|a| {
            wildcard(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }) && s.resources.iter().any(|r| wildcard(r, &request.resource))
            && conditions_hold(&s.condition, &request.context)
    };
    if let Some(deny) = statements.iter().find(|s| !s.allow && matching(s)) {
        return Err(format!("denied by statement {}", deny.sid));
    }
    if statements.iter().any(|s| s.allow && matching(s)) {
        return Ok(());
    }
    let near: Vec<String> = statements
        .iter()
        .filter(|s| {
            s.actions.iter().any(|a| {
                wildcard(
                    &a.to_ascii_lowercase(),
                    &request.action.to_ascii_lowercase(),
                )
            })
        })
        .map(|s| format!("{} on {:?} if {}", s.sid, s.resources, s.condition))
        .collect();
    Err(if near.is_empty() {
        "no statement grants the action".into()
    } else {
        format!("the action is granted only elsewhere: {}", near.join("; "))
    })
}

fn conditions_hold(condition: &serde_json::Value, context: &BTreeMap<String, String>) -> bool {
    let Some(operators) = condition.as_object() else {
        return true;
    };
    operators.iter().all(|(operator, keys)| {
        let keys = keys.as_object().cloned().unwrap_or_default();
        keys.iter().all(|(key, expected)| {
            let expected: Vec<String> = match expected {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect(),
                other => vec![other.as_str().unwrap_or_default().to_owned()],
            };
            let (set, op) = match operator.split_once(':') {
                Some((set, op)) => (Some(set), op),
                None => (None, operator.as_str()),
            };
            let (op, if_exists) = match op.strip_suffix("IfExists") {
                Some(op) => (op, true),
                None => (op, false),
            };
            let Some(actual) = context.get(&key.to_ascii_lowercase()) else {
                // ForAllValues over no values holds; ForAnyValue does not.
                return if_exists || set == Some("ForAllValues");
            };
            let values: Vec<&str> = if set.is_some() {
                actual.split(',').collect()
            } else {
                vec![actual.as_str()]
            };
            let one = |value: &str| match op {
                "StringEquals" | "ArnEquals" => expected.iter().any(|e| e == value),
                "StringEqualsIgnoreCase" => expected.iter().any(|e| e.eq_ignore_ascii_case(value)),
                "StringLike" | "ArnLike" => expected.iter().any(|e| wildcard(e, value)),
                "StringNotEquals" | "ArnNotEquals" => expected.iter().all(|e| e != value),
                "StringNotLike" | "ArnNotLike" => expected.iter().all(|e| !wildcard(e, value)),
                "Bool" => expected.iter().any(|e| e.eq_ignore_ascii_case(value)),
                other => panic!("condition operator {other} is not evaluated here: add it"),
            };
            match set {
                Some("ForAnyValue") => values.iter().any(|v| one(v)),
                _ => values.iter().all(|v| one(v)),
            }
        })
    })
}

/// What IAM checks for one recorded call made in `account`: its action on its resource (and,
/// for calls that hand CloudFormation a service role, `iam:PassRole` of that role). A
/// CloudFormation call that names no stack (a change set by ARN) is judged on `stack`.
pub fn requests_of(call: &super::Recorded, account: &str, stack: &str) -> Vec<Request> {
    let action = super::iam_action(call);
    let region = call.region.as_str();
    let (service, operation) = action.split_once(':').unwrap_or_default();
    let mut requests = Vec::new();
    match service {
        // Every CloudFormation action remedy calls is authorised on the stack (the Service
        // Authorization Reference lists `stack*` for the change-set actions too).
        "cloudformation" => {
            let resource = match call.params.get("StackName") {
                Some(arn) if arn.starts_with("arn:") => arn.clone(),
                Some(name) => format!(
                    "arn:aws:cloudformation:{region}:{account}:stack/{name}/00000000-0000-0000-0000-000000000000"
                ),
                None if operation == "DescribeStackDriftDetectionStatus" => "*".into(),
                None => format!(
                    "arn:aws:cloudformation:{region}:{account}:stack/{stack}/00000000-0000-0000-0000-000000000000"
                ),
            };
            requests.push(Request::new(&action, resource));
            if let Some(role) = call.params.get("RoleARN") {
                requests.push(
                    Request::new("iam:PassRole", role.clone())
                        .with("iam:PassedToService", "cloudformation.amazonaws.com"),
                );
            }
        }
        "s3" => {
            let target = call
                .action
                .split_once(" /")
                .map(|(_, t)| t)
                .unwrap_or_default();
            let path = target.split('?').next().unwrap_or_default();
            let path = super::url_decode(path);
            requests.push(Request::new(&action, format!("arn:aws:s3:::{path}")));
        }
        "codebuild" => {
            let body: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            let project = body["projectName"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    let id = body["ids"][0].as_str().or(body["id"].as_str())?;
                    Some(id.split(':').next()?.to_owned())
                })
                .unwrap_or_default();
            requests.push(Request::new(
                &action,
                format!("arn:aws:codebuild:{region}:{account}:project/{project}"),
            ));
        }
        // The kill switch's parameter (JSON protocol: `Name` in the body). A name that
        // begins with `/` follows `parameter` with no second slash.
        "ssm" => {
            let body: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            let name = body["Name"].as_str().unwrap_or_default();
            let name = name.strip_prefix('/').unwrap_or(name);
            requests.push(Request::new(
                &action,
                format!("arn:aws:ssm:{region}:{account}:parameter/{name}"),
            ));
        }
        // The Conformity API key (`conformity.api.api_key_secret`; JSON protocol: the
        // secret's ARN as `SecretId`).
        "secretsmanager" => {
            let body: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            let secret = body["SecretId"].as_str().unwrap_or_default();
            requests.push(Request::new(&action, secret.to_owned()));
        }
        // The rate limits' counters (JSON protocol: `TableName` in the body).
        "dynamodb" => {
            let body: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            let table = body["TableName"].as_str().unwrap_or_default();
            requests.push(Request::new(
                &action,
                format!("arn:aws:dynamodb:{region}:{account}:table/{table}"),
            ));
        }
        // The orchestrator's log group (`remedy history`; JSON protocol: `logGroupName`).
        "logs" => {
            let body: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            let group = body["logGroupName"].as_str().unwrap_or_default();
            requests.push(Request::new(
                &action,
                format!("arn:aws:logs:{region}:{account}:log-group:{group}"),
            ));
        }
        // `remedy undo`: Invoke of a rule function (REST: `/2015-03-31/functions/<name>/invocations`).
        "lambda" => {
            let target = call
                .action
                .split_once(" /")
                .map(|(_, t)| t)
                .unwrap_or_default();
            let name = target.split('/').nth(2).unwrap_or_default();
            let name = super::url_decode(name);
            requests.push(Request::new(
                &action,
                format!("arn:aws:lambda:{region}:{account}:function:{name}"),
            ));
        }
        // `remedy doctor`: the simulation is authorised on the role simulated.
        "iam"
            if matches!(
                operation,
                "ListRolePolicies" | "GetRolePolicy" | "ListAttachedRolePolicies"
            ) =>
        {
            let name = call.params.get("RoleName").cloned().unwrap_or_default();
            requests.push(Request::new(
                &action,
                format!("arn:aws:iam::{account}:role/{name}"),
            ));
        }
        "iam" if matches!(operation, "GetPolicy" | "GetPolicyVersion") => {
            let arn = call.params.get("PolicyArn").cloned().unwrap_or_default();
            requests.push(Request::new(&action, arn));
        }
        "iam" if operation == "SimulatePrincipalPolicy" => {
            let role = call
                .params
                .get("PolicySourceArn")
                .cloned()
                .unwrap_or_default();
            requests.push(Request::new(&action, role));
        }
        "sts" if operation == "GetCallerIdentity" => {} // needs no permission
        "sts" => {
            let role = call.params.get("RoleArn").cloned().unwrap_or_default();
            let mut request = Request::new(&action, role);
            if let Some(id) = call.params.get("ExternalId") {
                request = request.with("sts:ExternalId", id);
            }
            requests.push(request);
        }
        _ => requests.push(Request::new(&action, "*")),
    }
    requests
}
