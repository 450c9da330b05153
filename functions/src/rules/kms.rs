//! KMS rules: automatic rotation of customer managed keys, and keys scheduled for
//! deletion (the deletion is cancelled; the key is left disabled).

use crate::catalog::{Mode, RiskLevel, RuleSpec, OWN_STACK_RESOURCES};

pub static RULES: &[RuleSpec] = &[
    // Turn automatic key rotation on.
    RuleSpec {
        id: "KMS-002",
        title: "Key Rotation Enabled",
        service: "KMS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "kms:GetKeyRotationStatus",
            "kms:EnableKeyRotation",
            "kms:DescribeKey",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(on_key(ctx, enable_rotation)),
    },
    // Cancel the scheduled deletion. Cancelling leaves the key disabled, and it stays so: it
    // may have been disabled on purpose before its deletion was scheduled, so enabling it is
    // left to its owner.
    RuleSpec {
        id: "KMS-004",
        title: "KMS Key Pending Deletion",
        service: "KMS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "kms:DescribeKey",
            "kms:CancelKeyDeletion",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(on_key(ctx, cancel_deletion)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The key is the finding's `resource`: a key id, a key ARN or an alias.

use crate::rule::{Context, Report, RuleError};
use aws_sdk_kms::types::{
    KeyManagerType, KeyMetadata, KeySpec, KeyState, MultiRegionKeyType, OriginType,
};
use aws_sdk_kms::Client;

/// Runs `fix`, one KMS rule's own check and fix, on the finding's key (a client and the
/// key's metadata), unless the key is AWS managed or remedy's own.
async fn on_key(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &KeyMetadata) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let resource = ctx.resource()?;
    let kms = Client::new(&ctx.aws);
    let described = kms
        .describe_key()
        .key_id(resource)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeKey", &e))?;
    let key = described.key_metadata().ok_or_else(|| {
        RuleError::new(format!("DescribeKey returned no metadata for {resource}"))
    })?;
    let key_id = key.key_id();
    if let Some(why) = aws_managed(key) {
        return Ok(Report::skipped(why));
    }
    if is_managed(ctx, key_id).await? {
        return Ok(Report::managed(&format!("key {key_id}")));
    }
    fix(ctx, &kms, key).await
}

/// Why the key is not the account's to change, if it is an AWS managed key.
pub fn aws_managed(key: &KeyMetadata) -> Option<String> {
    (key.key_manager() == Some(&KeyManagerType::Aws)).then(|| {
        format!(
            "key {} is managed by AWS: its rotation and lifecycle are AWS's",
            key.key_id()
        )
    })
}

/// Whether the key is one of remedy's own stack's resources. CloudFormation does not tag KMS
/// keys (`tagging.cloudFormationSystemTags` is false), so the stack's resources are asked.
async fn is_managed(ctx: &Context, key_id: &str) -> Result<bool, RuleError> {
    ctx.owns_listed("AWS::KMS::Key", &[key_id]).await
}

/// Why automatic rotation cannot be turned on for this key, if it cannot.
pub fn rotation_unsupported(key: &KeyMetadata) -> Option<String> {
    let key_id = key.key_id();
    if key
        .key_spec()
        .is_some_and(|spec| *spec != KeySpec::SymmetricDefault)
    {
        let spec = key.key_spec().map_or("", |s| s.as_str());
        return Some(format!("key {key_id} is a {spec} key: AWS rotates only symmetric encryption keys automatically"));
    }
    if key
        .origin()
        .is_some_and(|origin| *origin != OriginType::AwsKms)
    {
        let origin = key.origin().map_or("", |o| o.as_str());
        return Some(format!("key {key_id} has {origin} key material: AWS rotates only keys whose material it generated"));
    }
    if key
        .multi_region_configuration()
        .and_then(|c| c.multi_region_key_type())
        == Some(&MultiRegionKeyType::Replica)
    {
        return Some(format!(
            "key {key_id} is a multi-Region replica: rotation is set on its primary key"
        ));
    }
    None
}

/// KMS-002.
async fn enable_rotation(
    ctx: &Context,
    kms: &Client,
    key: &KeyMetadata,
) -> Result<Report, RuleError> {
    let key_id = key.key_id();
    if let Some(why) = rotation_unsupported(key) {
        return Ok(Report::skipped(why));
    }
    match key.key_state() {
        Some(KeyState::Enabled) => {}
        state => {
            let state = state.map_or("in an unknown state", |s| s.as_str());
            return Err(RuleError::new(format!(
                "key {key_id} is {state}: rotation can be turned on only for an enabled key"
            )));
        }
    }
    let status = kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetKeyRotationStatus", &e))?;
    if status.key_rotation_enabled() {
        return Ok(Report::compliant(format!(
            "key {key_id} rotates automatically"
        )));
    }
    ctx.fix(
        vec![format!("turned on automatic rotation of key {key_id}")],
        async {
            kms.enable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| RuleError::aws("EnableKeyRotation", &e))?;
            crate::rule::changed("kms:EnableKeyRotation", key_id);
            Ok(())
        },
    )
    .await
}

/// KMS-004: the deletion is cancelled, nothing more. That leaves the key disabled, and it is
/// not enabled: it may have been disabled on purpose.
async fn cancel_deletion(
    ctx: &Context,
    kms: &Client,
    key: &KeyMetadata,
) -> Result<Report, RuleError> {
    let key_id = key.key_id();
    let state = key.key_state();
    if !matches!(
        state,
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    ) {
        let state = state.map_or("in an unknown state", |s| s.as_str());
        return Ok(Report::compliant(format!(
            "key {key_id} is not scheduled for deletion (it is {state})"
        )));
    }
    let actions = vec![format!(
        "cancelled the scheduled deletion of key {key_id}; the key is left disabled \
         (enable it if it should be used again)"
    )];
    ctx.fix(actions, async {
        kms.cancel_key_deletion()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| RuleError::aws("CancelKeyDeletion", &e))?;
        crate::rule::changed("kms:CancelKeyDeletion", key_id);
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::MultiRegionConfiguration;

    fn key() -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
    }

    #[test]
    fn aws_managed_keys_are_not_the_accounts() {
        assert!(aws_managed(&key().key_manager(KeyManagerType::Aws).build().unwrap()).is_some());
        assert_eq!(
            aws_managed(&key().key_manager(KeyManagerType::Customer).build().unwrap()),
            None
        );
        assert_eq!(aws_managed(&key().build().unwrap()), None);
    }

    #[test]
    fn only_symmetric_kms_generated_primary_keys_rotate() {
        assert_eq!(rotation_unsupported(&key().build().unwrap()), None);
        let rsa = key().key_spec(KeySpec::Rsa2048).build().unwrap();
        assert!(rotation_unsupported(&rsa).unwrap().contains("RSA_2048"));
        let imported = key().origin(OriginType::External).build().unwrap();
        assert!(rotation_unsupported(&imported)
            .unwrap()
            .contains("EXTERNAL"));
        let replica = key()
            .multi_region_configuration(
                MultiRegionConfiguration::builder()
                    .multi_region_key_type(MultiRegionKeyType::Replica)
                    .build(),
            )
            .build()
            .unwrap();
        assert!(rotation_unsupported(&replica).unwrap().contains("replica"));
    }
}
