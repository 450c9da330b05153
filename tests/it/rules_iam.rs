//! The IAM rules against the emulator: create the violation through the SDK, remediate,
//! read the fixed state back, run again and get `compliant`. Remediating runs are recorded
//! (`support::run_checked`): every call must be among the rule's declared IAM actions, and
//! `UpdateAccessKey` must always name the user (without one it would act on the caller's own
//! keys).

use crate::support;

use aws_sdk_iam::types::Tag;
use remedy_functions::rule::{Outcome, Report};
use support::{finding, run_rule, Emulator, Recorded};

fn iam(emulator: &Emulator) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&emulator.sdk_config())
}

/// A finding for an access key as Conformity sends it: `global`, with the user in
/// `extradata` when `user` is given.
fn key_finding(rule_id: &str, key_id: &str, user: Option<&str>) -> serde_json::Value {
    let mut f = finding(rule_id, key_id);
    f["region"] = "global".into();
    if let Some(user) = user {
        f["extradata"] = serde_json::json!([{"name": "UserName", "label": "User Name", "value": user, "type": "META"}]);
    }
    f
}

/// Runs the rule through `support::run_checked` (every call it made must be declared),
/// checks that it made some and that each `UpdateAccessKey` names its user, and returns the
/// calls too.
async fn run_checked(
    emulator: &Emulator,
    f: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> (Report, Vec<Recorded>) {
    let rule_id = f["ruleId"].as_str().unwrap().to_owned();
    let (report, calls) = support::run_checked(emulator, f, settings, dry_run).await;
    assert!(!calls.is_empty(), "{rule_id}: nothing was recorded");
    for call in calls.iter().filter(|c| c.action == "UpdateAccessKey") {
        assert!(
            call.params.get("UserName").is_some_and(|u| !u.is_empty()),
            "UpdateAccessKey without a user: {:?}",
            call.params
        );
    }
    (report, calls)
}

async fn user_with_keys(iam: &aws_sdk_iam::Client, user: &str, n: usize) -> Vec<String> {
    iam.create_user().user_name(user).send().await.unwrap();
    let mut keys = Vec::new();
    for _ in 0..n {
        let key = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        keys.push(key.access_key().unwrap().access_key_id().to_owned());
    }
    keys
}

/// The status of each of `user`'s keys, by key id.
async fn statuses(iam: &aws_sdk_iam::Client, user: &str) -> Vec<(String, String)> {
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    let mut out: Vec<(String, String)> = keys
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap().to_owned(),
                k.status().unwrap().as_str().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn status_of(all: &[(String, String)], key: &str) -> String {
    all.iter()
        .find(|(k, _)| k == key)
        .map(|(_, s)| s.clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_named_key_is_deactivated_with_the_user_from_extradata() {
    let emulator = Emulator::start();
    let iam = iam(&emulator);
    let keys = user_with_keys(&iam, "deploy-bot", 2).await;
    let (old, other) = (&keys[0], &keys[1]);

    let (report, calls) = run_checked(
        &emulator,
        key_finding("IAM-038", old, Some("deploy-bot")),
        &[],
        true,
    )
    .await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        report.actions,
        [format!(
            "would have deactivated access key {old} of user deploy-bot"
        )]
    );
    assert!(
        calls.iter().all(|c| c.action != "UpdateAccessKey"),
        "a dry run changes nothing"
    );
    assert_eq!(
        status_of(&statuses(&iam, "deploy-bot").await, old),
        "Active"
    );

    let (report, calls) = run_checked(
        &emulator,
        key_finding("IAM-038", old, Some("deploy-bot")),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        calls.iter().all(|c| c.action != "GetAccessKeyLastUsed"),
        "the finding named the user"
    );
    let after = statuses(&iam, "deploy-bot").await;
    assert_eq!(status_of(&after, old), "Inactive");
    assert_eq!(
        status_of(&after, other),
        "Active",
        "only the named key is touched"
    );

    let report = run_rule(
        &emulator,
        key_finding("IAM-038", old, Some("deploy-bot")),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_extradata_the_user_is_looked_up_from_the_key() {
    let emulator = Emulator::start();
    let iam = iam(&emulator);
    let ci = user_with_keys(&iam, "ci-runner", 1).await;
    let leaked = user_with_keys(&iam, "leaky", 1).await;

    for (rule, key, user) in [
        ("IAM-001", &ci[0], "ci-runner"),
        ("TrustedAdvisor-003", &leaked[0], "leaky"),
    ] {
        let (report, calls) =
            run_checked(&emulator, key_finding(rule, key, None), &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{rule}: {report:?}");
        assert!(report.actions[0].contains(user), "{rule}: {report:?}");
        assert!(
            calls.iter().any(|c| c.action == "GetAccessKeyLastUsed"),
            "{rule}"
        );
        let update = calls
            .iter()
            .find(|c| c.action == "UpdateAccessKey")
            .expect("an UpdateAccessKey");
        assert_eq!(
            update.params.get("UserName").map(String::as_str),
            Some(user),
            "{rule}"
        );
        assert_eq!(
            status_of(&statuses(&iam, user).await, key),
            "Inactive",
            "{rule}"
        );
        let report = run_rule(&emulator, key_finding(rule, key, None), &[], false).await;
        assert_eq!(report.outcome, Outcome::Compliant, "{rule}: {report:?}");
    }

    // An empty UserName counts as absent.
    let other = user_with_keys(&iam, "empty-name", 1).await;
    let report = run_rule(
        &emulator,
        key_finding("IAM-038", &other[0], Some("")),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        status_of(&statuses(&iam, "empty-name").await, &other[0]),
        "Inactive"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_or_a_wrong_user_fails_and_changes_nothing() {
    let emulator = Emulator::start();
    let iam = iam(&emulator);
    let keys = user_with_keys(&iam, "alice", 1).await;
    user_with_keys(&iam, "bob", 1).await;

    // Nobody owns this key: the user cannot be found, and no UpdateAccessKey is sent (it
    // would act on the caller's keys).
    let (report, calls) = run_checked(
        &emulator,
        key_finding("IAM-038", "AKIAUNKNOWNKEY000001", None),
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
            .contains("GetAccessKeyLastUsed"),
        "{report:?}"
    );
    assert!(calls.iter().all(|c| c.action != "UpdateAccessKey"));

    // The finding names the wrong user: refused, the key stays active.
    let (report, calls) = run_checked(
        &emulator,
        key_finding("IAM-038", &keys[0], Some("bob")),
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
            .contains("not one of user bob's keys"),
        "{report:?}"
    );
    assert!(calls.iter().all(|c| c.action != "UpdateAccessKey"));
    assert_eq!(
        status_of(&statuses(&iam, "alice").await, &keys[0]),
        "Active"
    );

    // A user that does not exist.
    let report = run_rule(
        &emulator,
        key_finding("IAM-038", &keys[0], Some("nobody")),
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
            .contains("user with name nobody cannot be found"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_labelled_remedy_managed_are_not_left_alone() {
    let emulator = Emulator::start();
    let iam = iam(&emulator);
    let keys = user_with_keys(&iam, "remedy-deployer", 1).await;
    iam.tag_user()
        .user_name("remedy-deployer")
        .tags(
            Tag::builder()
                .key("remedy:managed")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A label anyone can set opts nothing out: the key is deactivated.
    let report = run_rule(
        &emulator,
        key_finding("IAM-038", &keys[0], Some("remedy-deployer")),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        status_of(&statuses(&iam, "remedy-deployer").await, &keys[0]),
        "Inactive"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_policy_is_raised_to_the_settings_keeping_stricter_values() {
    let emulator = Emulator::start();
    let iam = iam(&emulator);
    let policy_finding = || {
        let mut f = finding("IAM-005", "123456789012");
        f["region"] = "global".into();
        f
    };

    // No policy at all. A dry run changes nothing.
    let (report, _) = run_checked(&emulator, policy_finding(), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    let none = iam.get_account_password_policy().send().await;
    assert!(none.is_err(), "still no policy: {none:?}");

    let (report, _) = run_checked(&emulator, policy_finding(), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let policy = iam.get_account_password_policy().send().await.unwrap();
    let policy = policy.password_policy().unwrap();
    assert_eq!(policy.minimum_password_length(), Some(14));
    assert_eq!(policy.max_password_age(), Some(90));
    assert_eq!(policy.password_reuse_prevention(), Some(24));
    assert!(policy.require_uppercase_characters() && policy.require_lowercase_characters());
    assert!(policy.require_numbers() && policy.require_symbols());
    assert_eq!(
        run_rule(&emulator, policy_finding(), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A policy stricter on some points and weaker on others: only the weak points change.
    iam.update_account_password_policy()
        .minimum_password_length(20)
        .max_password_age(30)
        .password_reuse_prevention(5)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .require_numbers(true)
        .require_symbols(false)
        .send()
        .await
        .unwrap();
    let settings = [
        ("minimum_length", "16"),
        ("max_age_days", "60"),
        ("reuse_prevention", "12"),
    ];
    let (report, _) = run_checked(&emulator, policy_finding(), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    let policy = iam.get_account_password_policy().send().await.unwrap();
    let policy = policy.password_policy().unwrap();
    assert_eq!(
        policy.minimum_password_length(),
        Some(20),
        "stricter length kept"
    );
    assert_eq!(policy.max_password_age(), Some(30), "shorter age kept");
    assert_eq!(policy.password_reuse_prevention(), Some(12), "raised");
    assert!(policy.require_symbols());
    assert_eq!(
        run_rule(&emulator, policy_finding(), &settings, false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A bad setting is a failure naming it, before any change.
    let report = run_rule(
        &emulator,
        policy_finding(),
        &[("minimum_length", "three")],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("minimum_length"),
        "{report:?}"
    );
}
