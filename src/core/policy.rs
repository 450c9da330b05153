//! IAM policies evaluated offline, for `remedy doctor` when AWS will not simulate them: a
//! role's identity policies (inline and attached), each statement's `Effect`,
//! `Action`/`NotAction` and `Resource`/`NotResource` with IAM's wildcards (`*`, `?`; actions
//! without case). A statement with a `Condition` is counted as applying — conditions are not
//! evaluated, and the decision says so — and SCPs and permission boundaries are not seen.
//! Pure: the documents come in as JSON.

use serde_json::Value;

/// What the policies decide for one action on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Allowed by a statement with a condition (not evaluated offline).
    AllowedIf,
    ImplicitDeny,
    ExplicitDeny,
}

impl Decision {
    /// As IAM's simulation words it (`allowed`, `implicitDeny`, `explicitDeny`);
    /// `allowed (conditions not evaluated)` for an allow under a condition.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::AllowedIf => "allowed",
            Decision::ImplicitDeny => "implicitDeny",
            Decision::ExplicitDeny => "explicitDeny",
        }
    }
}

/// IAM's wildcard match: `*` any run, `?` one character.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `statement` names `action` on `resource`.
fn covers(statement: &Value, action: &str, resource: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let action_ok = match statement.get("NotAction") {
        Some(not) => !strings(Some(not))
            .iter()
            .any(|p| wildcard(&p.to_ascii_lowercase(), &action)),
        None => strings(statement.get("Action"))
            .iter()
            .any(|p| wildcard(&p.to_ascii_lowercase(), &action)),
    };
    let resource_ok = match statement.get("NotResource") {
        Some(not) => !strings(Some(not)).iter().any(|p| wildcard(p, resource)),
        None => strings(statement.get("Resource"))
            .iter()
            .any(|p| wildcard(p, resource)),
    };
    action_ok && resource_ok
}

/// The decision of `documents` (policy JSON) for `action` on `resource`.
pub fn decide(documents: &[Value], action: &str, resource: &str) -> Decision {
    let mut decision = Decision::ImplicitDeny;
    for document in documents {
        let statements: Vec<&Value> = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => Vec::new(),
        };
        for statement in statements {
            if !covers(statement, action, resource) {
                continue;
            }
            let conditional = statement.get("Condition").is_some();
            match statement.get("Effect").and_then(Value::as_str) {
                Some("Deny") => return Decision::ExplicitDeny,
                Some("Allow") if !conditional => decision = Decision::Allowed,
                Some("Allow") if decision == Decision::ImplicitDeny => {
                    decision = Decision::AllowedIf
                }
                _ => {}
            }
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statements_allow_and_deny_as_iam_does() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "arn:aws:cloudformation:*:1:stack/remedy/*"},
            {"Effect": "Allow", "Action": ["Logs:FilterLogEvents"], "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:1:function:AutoRemediateOrchestrator*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:lambda:*:1:function:*"}
        ]});
        let docs = [policy];
        let stack = "arn:aws:cloudformation:us-east-1:1:stack/remedy/0";
        assert_eq!(
            decide(&docs, "cloudformation:CreateStack", stack),
            Decision::Allowed
        );
        assert_eq!(
            decide(
                &docs,
                "cloudformation:CreateStack",
                "arn:aws:cloudformation:us-east-1:1:stack/other/0"
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&docs, "logs:FilterLogEvents", "arn:x"),
            Decision::AllowedIf
        );
        assert_eq!(
            decide(
                &docs,
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:1:function:AutoRemediateOrchestrator"
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(
                &docs,
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:1:function:AutoRemediateS3-001"
            ),
            Decision::Allowed
        );
        assert_eq!(
            decide(
                &docs,
                "iam:CreateRole",
                "arn:aws:lambda:us-east-1:1:function:x"
            ),
            Decision::ImplicitDeny
        );
        assert!(wildcard("a?c*", "abcdef"));
        assert!(!wildcard("a?c", "abcd"));
    }
}
