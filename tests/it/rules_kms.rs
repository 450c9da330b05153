//! The KMS rules against the emulator: create the violation through the SDK, remediate,
//! read the fixed state back, run again and get `compliant`. Remediating runs are recorded
//! (`support::run_checked`): every call must be among the rule's declared IAM actions.

use crate::support;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use remedy_functions::rule::{Outcome, Report};
use support::{finding, run_rule, Emulator};

fn kms(emulator: &Emulator) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&emulator.sdk_config())
}

/// Runs the rule through `support::run_checked` (every call it made must be declared), and
/// checks that it made some.
async fn run_checked(emulator: &Emulator, rule_id: &str, resource: &str, dry_run: bool) -> Report {
    let f = finding(rule_id, resource);
    let (report, calls) = support::run_checked(emulator, f, &[], dry_run).await;
    assert!(!calls.is_empty(), "{rule_id}: nothing was recorded");
    report
}

/// A new symmetric key: (id, ARN).
async fn key(kms: &aws_sdk_kms::Client, tags: &[(&str, &str)]) -> (String, String) {
    let mut create = kms.create_key().description("test key");
    for (k, v) in tags {
        create = create.tags(Tag::builder().tag_key(*k).tag_value(*v).build().unwrap());
    }
    let out = create.send().await.unwrap();
    let meta = out.key_metadata().unwrap();
    (meta.key_id().to_owned(), meta.arn().unwrap().to_owned())
}

async fn rotates(kms: &aws_sdk_kms::Client, key_id: &str) -> bool {
    kms.get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

async fn state(kms: &aws_sdk_kms::Client, key_id: &str) -> KeyState {
    let out = kms.describe_key().key_id(key_id).send().await.unwrap();
    out.key_metadata().unwrap().key_state().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_is_turned_on_by_id_or_arn() {
    let emulator = Emulator::start();
    let kms = kms(&emulator);
    let (id, _) = key(&kms, &[]).await;
    let (other, arn) = key(&kms, &[]).await;
    assert!(!rotates(&kms, &id).await);

    let report = run_checked(&emulator, "KMS-002", &id, true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert!(!rotates(&kms, &id).await, "a dry run changes nothing");

    let report = run_checked(&emulator, "KMS-002", &id, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        report.actions,
        [format!("turned on automatic rotation of key {id}")]
    );
    assert!(rotates(&kms, &id).await);
    assert!(!rotates(&kms, &other).await, "only the named key");
    assert_eq!(
        run_rule(&emulator, finding("KMS-002", &id), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    let report = run_checked(&emulator, "KMS-002", &arn, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(rotates(&kms, &other).await);
    assert_eq!(
        run_rule(&emulator, finding("KMS-002", &arn), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_asymmetric_disabled_and_missing_keys() {
    let emulator = Emulator::start();
    let kms = kms(&emulator);

    // A remedy:managed label anyone can set opts nothing out (remedy's own keys are found in
    // its stack's resources: tests/it/own_resources.rs).
    let (own, _) = key(&kms, &[("remedy:managed", "true")]).await;
    let report = run_rule(&emulator, finding("KMS-002", &own), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(rotates(&kms, &own).await);

    let signing = kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let signing = signing.key_metadata().unwrap().key_id().to_owned();
    let report = run_rule(&emulator, finding("KMS-002", &signing), &[], false).await;
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("RSA_2048"),
        "{report:?}"
    );

    let (disabled, _) = key(&kms, &[]).await;
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let report = run_rule(&emulator, finding("KMS-002", &disabled), &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("Disabled"),
        "{report:?}"
    );

    let report = run_rule(
        &emulator,
        finding("KMS-002", "00000000-0000-0000-0000-000000000000"),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("DescribeKey"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_deletion_is_cancelled_and_the_key_left_disabled() {
    let emulator = Emulator::start();
    let kms = kms(&emulator);
    let (id, _) = key(&kms, &[]).await;
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&kms, &id).await, KeyState::PendingDeletion);

    let report = run_checked(&emulator, "KMS-004", &id, true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        state(&kms, &id).await,
        KeyState::PendingDeletion,
        "a dry run changes nothing"
    );

    let report = run_checked(&emulator, "KMS-004", &id, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 1, "{report:?}");
    assert!(report.actions[0].contains("left disabled"), "{report:?}");
    assert_eq!(
        state(&kms, &id).await,
        KeyState::Disabled,
        "the key is not enabled: it may have been disabled on purpose"
    );
    assert_eq!(
        run_rule(&emulator, finding("KMS-004", &id), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A disabled key not scheduled for deletion is left disabled.
    let (disabled, _) = key(&kms, &[]).await;
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    assert_eq!(
        run_rule(&emulator, finding("KMS-004", &disabled), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
    assert_eq!(state(&kms, &disabled).await, KeyState::Disabled);

    // A key labelled remedy:managed by anyone: its deletion is cancelled all the same.
    let (own, _) = key(&kms, &[("remedy:managed", "true")]).await;
    kms.schedule_key_deletion()
        .key_id(&own)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        run_rule(&emulator, finding("KMS-004", &own), &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(state(&kms, &own).await, KeyState::Disabled);
}
