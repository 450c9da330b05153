//! Undo: what a reversible rule removed, as its report and the ledger record it
//! ([`Removed`]), and putting it back ([`undo`]).
//!
//! Reversible are the rules that take an access away and can say exactly what it was: the
//! public ACL grants (S3-001…010: the grant), the world-open ports (EC2-002…045: the
//! security-group rule, and the narrower rules added in its place) and the bucket's public
//! access block (S3-026: the settings it had). Each records its removals only when it
//! really changed something (never in dry-run). Every other rule either changes a setting
//! whose reversal would only weaken the resource again (encryption, logging, versioning,
//! rotation) or makes changes it does not record; [`irreversible`] says which and why.
//!
//! An undo runs in the rule's own function (`AutoRemediate<ruleId>`, invoked by `remedy undo`
//! with an [`UndoRequest`]), with the role that made the fix: the APIs that take an access away
//! are the ones that put it back, so no rule role gains a permission. The function puts back
//! only what its own rule removes ([`belongs_to`]): an S3-001 function restores an `AllUsers`
//! READ grant and nothing else.

use crate::rule::RuleError;
use serde::{Deserialize, Serialize};

/// One thing a reversible rule removed, as the ledger records it (`removed`, docs/ledger.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Removed {
    /// S3-001…010: a grant of the bucket's ACL.
    AclGrant {
        bucket: String,
        /// The group's URI (`http://acs.amazonaws.com/groups/global/AllUsers`).
        grantee: String,
        /// `READ`, `READ_ACP`, `WRITE`, `WRITE_ACP`, `FULL_CONTROL`.
        permission: String,
    },
    /// EC2-002…045: an ingress rule of a security group open to the world.
    IngressRule {
        group_id: String,
        /// The rule's id when it was revoked (`sgr-…`); a restored rule gets a new one.
        rule_id: String,
        protocol: String,
        from_port: i32,
        to_port: i32,
        /// `0.0.0.0/0` or `::/0`.
        cidr: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// The rest of a wider range, authorised again for the same CIDR when the rule was
        /// narrowed around the port: revoked when the rule is put back.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<PortRange>,
    },
    /// S3-026: the bucket's public access block as it was (`None`: it had none).
    PublicAccessBlock {
        bucket: String,
        previous: Option<BlockSettings>,
    },
}

/// A TCP port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub from_port: i32,
    pub to_port: i32,
}

/// The four settings of an S3 public access block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSettings {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl Removed {
    /// What it is, for a person: `the READ grant to AllUsers on bucket site-www`.
    pub fn describe(&self) -> String {
        match self {
            Removed::AclGrant {
                bucket,
                grantee,
                permission,
            } => format!(
                "the {permission} grant to {} on bucket {bucket}",
                crate::rules::s3::group_name(grantee)
            ),
            Removed::IngressRule {
                group_id,
                rule_id,
                protocol,
                from_port,
                to_port,
                cidr,
                added,
                ..
            } => {
                let ports = if from_port == to_port {
                    format!("port {from_port}")
                } else {
                    format!("ports {from_port}-{to_port}")
                };
                let narrowed = if added.is_empty() {
                    String::new()
                } else {
                    let ranges: Vec<String> = added
                        .iter()
                        .map(|r| format!("{}-{}", r.from_port, r.to_port))
                        .collect();
                    format!(" (in place of the narrower {})", ranges.join(", "))
                };
                format!(
                    "ingress rule {rule_id} ({} {ports} from {cidr}) of security group {group_id}{narrowed}",
                    protocol.to_ascii_uppercase()
                )
            }
            Removed::PublicAccessBlock { bucket, previous } => match previous {
                None => format!("no public access block on bucket {bucket} (it had none)"),
                Some(s) => format!(
                    "the public access block of bucket {bucket} as it was ({})",
                    s.describe()
                ),
            },
        }
    }
}

impl BlockSettings {
    /// `BlockPublicAcls on, IgnorePublicAcls off, …`.
    pub fn describe(&self) -> String {
        let word = |on: bool| if on { "on" } else { "off" };
        format!(
            "BlockPublicAcls {}, IgnorePublicAcls {}, BlockPublicPolicy {}, RestrictPublicBuckets {}",
            word(self.block_public_acls),
            word(self.ignore_public_acls),
            word(self.block_public_policy),
            word(self.restrict_public_buckets)
        )
    }
}

/// Whether `rule_id`'s rule is the one that removes `removed`: its grant, its port, its
/// bucket setting. A function restores only what its own rule takes away.
pub fn belongs_to(removed: &Removed, rule_id: &str) -> bool {
    match removed {
        Removed::AclGrant {
            grantee,
            permission,
            ..
        } => crate::rules::s3::acl_rule(rule_id)
            .is_some_and(|(group, p)| group == grantee && p.as_str() == permission),
        Removed::IngressRule {
            protocol,
            from_port,
            to_port,
            cidr,
            ..
        } => crate::rules::ec2::world_port(rule_id).is_some_and(|port| {
            matches!(protocol.to_ascii_lowercase().as_str(), "tcp" | "6")
                && (*from_port..=*to_port).contains(&port)
                && crate::rules::ec2::is_world(cidr)
        }),
        Removed::PublicAccessBlock { .. } => rule_id == "S3-026",
    }
}

/// Whether `rule_id`'s rule records what it removes (`Ok`), or why it cannot be undone.
pub fn irreversible(rule_id: &str) -> Option<String> {
    if crate::rules::s3::acl_rule(rule_id).is_some()
        || crate::rules::ec2::world_port(rule_id).is_some()
        || rule_id == "S3-026"
    {
        return None;
    }
    let why = match rule_id {
        "EC2-016" => "it empties a default security group: put back by hand what its record's actions list, if anything needed it",
        "S3-014" | "SNS-001" | "SQS-001" | "Lambda-004" => {
            "it rewrites a resource policy's statements, which it does not record yet: its record's actions name each statement it changed"
        }
        "EC2-019" => "it made an AMI private: share it again by hand with the accounts that need it, never publicly",
        "KMS-004" => "it cancelled a key's deletion: schedule the deletion again if it was intended",
        _ => "it turns a protection on (encryption, logging, versioning, rotation, a setting): turning it off again would only weaken the resource",
    };
    Some(format!("{rule_id} is not reversible: {why}"))
}

/// What `remedy undo` asks a rule function to do: put back what one ledger record says its
/// rule removed. The Lambda payload is `{"remedy_undo": <this>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoRequest {
    /// The ledger record being undone (for the function's log).
    pub record_id: String,
    pub rule_id: String,
    /// The finding's region: where the rule acted (`global` or none as for a finding).
    #[serde(default)]
    pub region: Option<String>,
    pub removed: Vec<Removed>,
}

/// The key of a rule function's payload that makes it an undo.
pub const PAYLOAD_KEY: &str = "remedy_undo";

/// What an undo did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UndoOutcome {
    /// Put back.
    Restored,
    /// Already there: nothing was changed.
    Unchanged,
    /// Not this function's to put back, or nothing to put back.
    Refused,
    Failed,
}

impl UndoOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UndoOutcome::Restored => "restored",
            UndoOutcome::Unchanged => "unchanged",
            UndoOutcome::Refused => "refused",
            UndoOutcome::Failed => "failed",
        }
    }
}

/// The answer of an undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoReport {
    pub outcome: UndoOutcome,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl UndoReport {
    pub fn refused(reason: impl Into<String>) -> UndoReport {
        UndoReport {
            outcome: UndoOutcome::Refused,
            actions: Vec::new(),
            reason: Some(reason.into()),
        }
    }

    fn failed(reason: impl Into<String>, actions: Vec<String>) -> UndoReport {
        UndoReport {
            outcome: UndoOutcome::Failed,
            actions,
            reason: Some(reason.into()),
        }
    }
}

/// Puts back what `request` says `rule_id`'s rule removed, with `aws` (credentials, and the
/// region the rule acted in). Checks first that every item is the rule's own to put back;
/// each item is restored unless it is already there. Stops at the first failure, saying
/// what was already put back.
pub async fn undo(rule_id: &str, request: &UndoRequest, aws: &aws_config::SdkConfig) -> UndoReport {
    if request.rule_id != rule_id {
        return UndoReport::refused(format!(
            "an undo of {} sent to {rule_id}'s function",
            request.rule_id
        ));
    }
    if request.removed.is_empty() {
        return UndoReport::refused("the record lists nothing removed");
    }
    if let Some(foreign) = request.removed.iter().find(|r| !belongs_to(r, rule_id)) {
        return UndoReport::refused(format!(
            "{rule_id} never removes {}: not put back",
            foreign.describe()
        ));
    }
    let mut actions = Vec::new();
    for removed in &request.removed {
        match restore(aws, removed).await {
            Ok(Some(action)) => actions.push(action),
            Ok(None) => {}
            Err(e) => return UndoReport::failed(e.0, actions),
        }
    }
    if actions.is_empty() {
        return UndoReport {
            outcome: UndoOutcome::Unchanged,
            actions,
            reason: Some("everything the record lists is already there".into()),
        };
    }
    UndoReport {
        outcome: UndoOutcome::Restored,
        actions,
        reason: None,
    }
}

/// Puts `removed` back: what was done, or `None` when it was already there.
async fn restore(
    aws: &aws_config::SdkConfig,
    removed: &Removed,
) -> Result<Option<String>, RuleError> {
    match removed {
        Removed::AclGrant {
            bucket,
            grantee,
            permission,
        } => crate::rules::s3::restore_grant(aws, bucket, grantee, permission).await,
        Removed::IngressRule { .. } => crate::rules::ec2::restore_ingress(aws, removed).await,
        Removed::PublicAccessBlock { bucket, previous } => {
            crate::rules::s3::restore_public_access_block(aws, bucket, previous.as_ref()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

    fn grant(grantee: &str, permission: &str) -> Removed {
        Removed::AclGrant {
            bucket: "b".into(),
            grantee: grantee.into(),
            permission: permission.into(),
        }
    }

    fn ingress(from: i32, to: i32, cidr: &str) -> Removed {
        Removed::IngressRule {
            group_id: "sg-1".into(),
            rule_id: "sgr-1".into(),
            protocol: "tcp".into(),
            from_port: from,
            to_port: to,
            cidr: cidr.into(),
            description: None,
            added: Vec::new(),
        }
    }

    #[test]
    fn each_rule_restores_only_what_it_removes() {
        assert!(belongs_to(&grant(ALL_USERS, "READ"), "S3-001"));
        assert!(!belongs_to(&grant(ALL_USERS, "WRITE"), "S3-001"));
        assert!(belongs_to(&grant(AUTHENTICATED, "FULL_CONTROL"), "S3-010"));
        assert!(!belongs_to(&grant(AUTHENTICATED, "READ"), "S3-001"));
        assert!(!belongs_to(&grant(ALL_USERS, "READ"), "EC2-002"));
        assert!(belongs_to(&ingress(22, 22, "0.0.0.0/0"), "EC2-002"));
        assert!(belongs_to(&ingress(0, 65535, "::/0"), "EC2-002"));
        assert!(!belongs_to(&ingress(22, 22, "10.0.0.0/8"), "EC2-002"));
        assert!(!belongs_to(&ingress(3389, 3389, "0.0.0.0/0"), "EC2-002"));
        assert!(belongs_to(&ingress(3389, 3389, "0.0.0.0/0"), "EC2-003"));
        let block = Removed::PublicAccessBlock {
            bucket: "b".into(),
            previous: None,
        };
        assert!(belongs_to(&block, "S3-026"));
        assert!(!belongs_to(&block, "S3-001"));
    }

    #[test]
    fn the_reversible_rules_and_why_the_others_are_not() {
        for id in [
            "S3-001", "S3-005", "S3-006", "S3-010", "EC2-002", "EC2-045", "S3-026",
        ] {
            assert_eq!(irreversible(id), None, "{id}");
        }
        for id in ["S3-012", "EC2-016", "S3-014", "KMS-002", "CT-001"] {
            let why = irreversible(id).unwrap();
            assert!(
                why.starts_with(&format!("{id} is not reversible: ")),
                "{why}"
            );
        }
    }

    #[test]
    fn every_catalog_rule_is_either_reversible_or_says_why_not() {
        for rule in crate::catalog::catalog() {
            let reversible = irreversible(rule.id).is_none();
            let records = crate::rules::s3::acl_rule(rule.id).is_some()
                || crate::rules::ec2::world_port(rule.id).is_some()
                || rule.id == "S3-026";
            assert_eq!(reversible, records, "{}", rule.id);
        }
    }

    #[test]
    fn the_record_shape_is_stable() {
        let mut rule = ingress(20, 25, "0.0.0.0/0");
        if let Removed::IngressRule { added, .. } = &mut rule {
            added.push(PortRange {
                from_port: 20,
                to_port: 21,
            });
        }
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "ingress_rule", "group_id": "sg-1", "rule_id": "sgr-1",
                "protocol": "tcp", "from_port": 20, "to_port": 25, "cidr": "0.0.0.0/0",
                "added": [{"from_port": 20, "to_port": 21}]})
        );
        assert_eq!(serde_json::from_value::<Removed>(json).unwrap(), rule);
        assert_eq!(
            serde_json::to_value(grant(ALL_USERS, "READ")).unwrap(),
            serde_json::json!({"kind": "acl_grant", "bucket": "b", "grantee": ALL_USERS, "permission": "READ"})
        );
        assert!(rule.describe().contains("ports 20-25 from 0.0.0.0/0"));
    }
}
