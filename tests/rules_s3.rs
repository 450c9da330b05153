//! The S3 rules against the emulator: create the violation, remediate, read the fixed state
//! back, run again and get `compliant`. Every run is recorded (`support::run_checked`): each
//! call it made must be among the rule's declared IAM actions.

mod support;

use aws_sdk_s3::types::{AccessControlPolicy, Grant, Owner, Permission, Tag, Tagging};
use remedy_functions::rule::{Outcome, Report};
use serde_json::json;
use support::{
    blocks_all_public_access, finding, group_grant, Emulator, ALL_USERS, AUTHENTICATED, REGION,
};

/// Runs the rule through `support::run_checked` (every call it made must be among the rule's
/// declared IAM actions), and checks that it made some.
async fn run_checked(emulator: &Emulator, rule_id: &str, resource: &str, dry_run: bool) -> Report {
    let f = finding(rule_id, resource);
    let (report, calls) = support::run_checked(emulator, f, &[], dry_run).await;
    assert!(!calls.is_empty(), "{rule_id}: nothing was recorded");
    report
}

fn s3(emulator: &Emulator) -> aws_sdk_s3::Client {
    remedy::identity::s3_client(&emulator.sdk_config(), REGION)
}

async fn bucket(emulator: &Emulator, name: &str) -> aws_sdk_s3::Client {
    let s3 = s3(emulator);
    s3.create_bucket().bucket(name).send().await.unwrap();
    s3
}

/// (group, permission) of every group grant on the bucket, and whether the owner kept
/// FULL_CONTROL.
async fn group_grants(s3: &aws_sdk_s3::Client, bucket: &str) -> (Vec<(String, String)>, bool) {
    let acl = s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
    let groups = acl
        .grants()
        .iter()
        .filter_map(|g| {
            let uri = g.grantee()?.uri()?;
            Some((
                uri.rsplit('/').next()?.to_owned(),
                g.permission()?.as_str().to_owned(),
            ))
        })
        .collect();
    let owner_full = acl.grants().iter().any(|g| {
        g.grantee().and_then(|g| g.id()).is_some()
            && g.permission() == Some(&Permission::FullControl)
    });
    (groups, owner_full)
}

#[tokio::test(flavor = "multi_thread")]
async fn public_acl_grants_are_removed_one_by_one_keeping_the_others() {
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "public-bucket").await;
    let acl = s3
        .get_bucket_acl()
        .bucket("public-bucket")
        .send()
        .await
        .unwrap();
    let owner = acl
        .owner()
        .cloned()
        .unwrap_or_else(|| Owner::builder().build());
    let mut grants: Vec<Grant> = acl.grants().to_vec();
    grants.push(group_grant(ALL_USERS, Permission::Read));
    grants.push(group_grant(ALL_USERS, Permission::WriteAcp));
    grants.push(group_grant(AUTHENTICATED, Permission::Read));
    s3.put_bucket_acl()
        .bucket("public-bucket")
        .access_control_policy(
            AccessControlPolicy::builder()
                .set_grants(Some(grants))
                .owner(owner)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // Dry-run decides and changes nothing.
    let report = run_checked(&emulator, "S3-001", "public-bucket", true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(group_grants(&s3, "public-bucket").await.0.len(), 3);

    let report = run_checked(&emulator, "S3-001", "public-bucket", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        report.actions[0].contains("READ grant to AllUsers"),
        "{report:?}"
    );
    let (groups, owner_full) = group_grants(&s3, "public-bucket").await;
    assert_eq!(
        groups,
        [
            ("AllUsers".to_owned(), "WRITE_ACP".to_owned()),
            ("AuthenticatedUsers".to_owned(), "READ".to_owned())
        ]
    );
    assert!(owner_full, "the owner keeps FULL_CONTROL");
    assert_eq!(
        run_checked(&emulator, "S3-001", "public-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );

    assert_eq!(
        run_checked(&emulator, "S3-004", "public-bucket", false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(
        run_checked(&emulator, "S3-006", "public-bucket", false)
            .await
            .outcome,
        Outcome::Remediated
    );
    let (groups, owner_full) = group_grants(&s3, "public-bucket").await;
    assert!(groups.is_empty(), "{groups:?}");
    assert!(owner_full);
    for rule in [
        "S3-002", "S3-003", "S3-005", "S3-007", "S3-008", "S3-009", "S3-010",
    ] {
        let report = run_checked(&emulator, rule, "public-bucket", false).await;
        assert_eq!(report.outcome, Outcome::Compliant, "{rule}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn remedys_own_buckets_are_left_alone() {
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "remedy-owned").await;
    let tag = Tag::builder()
        .key("remedy:managed")
        .value("true")
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket("remedy-owned")
        .tagging(Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .unwrap();
    let report = run_checked(&emulator, "S3-021", "remedy-owned", false).await;
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");
    let encryption = s3
        .get_bucket_encryption()
        .bucket("remedy-owned")
        .send()
        .await;
    assert!(
        encryption.is_err(),
        "untouched: still no default encryption"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_and_public_access_block() {
    // (S3-012, versioning, is unit-tested in its module: the emulator answers
    // GetBucketVersioning with a root element the SDK rightly rejects.)
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "plain-bucket").await;

    assert_eq!(
        run_checked(&emulator, "S3-021", "plain-bucket", false)
            .await
            .outcome,
        Outcome::Remediated
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket("plain-bucket")
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .map(|d| d.sse_algorithm().as_str()),
        Some("AES256")
    );
    assert_eq!(
        run_checked(&emulator, "S3-021", "plain-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );

    assert_eq!(
        run_checked(&emulator, "S3-026", "plain-bucket", false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert!(
        blocks_all_public_access(&s3, "plain-bucket").await,
        "all four settings on"
    );
    assert_eq!(
        run_checked(&emulator, "S3-026", "plain-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_policies_are_scoped_and_hardened() {
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "policy-bucket").await;
    let public = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::policy-bucket/*"},
            {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::policy-bucket/*"}
        ]
    });
    s3.put_bucket_policy()
        .bucket("policy-bucket")
        .policy(public.to_string())
        .send()
        .await
        .unwrap();

    let policy = |s3: aws_sdk_s3::Client| async move {
        let text = s3
            .get_bucket_policy()
            .bucket("policy-bucket")
            .send()
            .await
            .unwrap();
        serde_json::from_str::<serde_json::Value>(text.policy().unwrap()).unwrap()
    };

    assert_eq!(
        run_checked(&emulator, "S3-014", "policy-bucket", false)
            .await
            .outcome,
        Outcome::Remediated
    );
    let after = policy(s3.clone()).await;
    assert_eq!(
        after["Statement"][0]["Principal"],
        serde_json::json!({"AWS": "arn:aws:iam::123456789012:root"})
    );
    assert_eq!(
        after["Statement"][1], public["Statement"][1],
        "other statements are kept as they were"
    );
    assert_eq!(
        run_checked(&emulator, "S3-014", "policy-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );

    for (rule, sid) in [
        ("S3-016", "DenyUnencryptedObjectUploads"),
        ("S3-017", "DenyInsecureTransport"),
    ] {
        assert_eq!(
            run_checked(&emulator, rule, "policy-bucket", false)
                .await
                .outcome,
            Outcome::Remediated,
            "{rule}"
        );
        let after = policy(s3.clone()).await;
        let statement = after["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned();
        assert!(
            statement.is_some_and(|s| s["Effect"] == "Deny"),
            "{rule}: {after}"
        );
        assert_eq!(
            run_checked(&emulator, rule, "policy-bucket", false)
                .await
                .outcome,
            Outcome::Compliant,
            "{rule}"
        );
    }
    assert_eq!(policy(s3).await["Statement"].as_array().unwrap().len(), 4);
}

async fn bucket_policy(s3: &aws_sdk_s3::Client, bucket: &str) -> serde_json::Value {
    let out = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    serde_json::from_str(out.policy().unwrap()).unwrap()
}

async fn put_bucket_policy(s3: &aws_sdk_s3::Client, bucket: &str, policy: &serde_json::Value) {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn named_partners_and_organization_limits_survive_s3_014() {
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "shared-bucket").await;
    let partner = "arn:aws:iam::222222222222:root";
    let org_only = json!({"Sid": "Org", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-bucket/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}});
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "PartnerAndEveryone", "Effect": "Allow", "Principal": {"AWS": [partner, "*"]},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-bucket/*"},
        org_only
    ]});
    put_bucket_policy(&s3, "shared-bucket", &policy).await;

    let report = run_checked(&emulator, "S3-014", "shared-bucket", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 1, "{report:?}");
    assert!(
        report.actions[0].contains("PartnerAndEveryone"),
        "{report:?}"
    );
    let after = bucket_policy(&s3, "shared-bucket").await;
    assert_eq!(
        after["Statement"][0]["Principal"],
        json!({"AWS": [partner]}),
        "only everyone is taken out: the named partner keeps its access"
    );
    assert_eq!(
        after["Statement"][1], org_only,
        "a statement limited to the organization is kept as it was"
    );
    assert_eq!(
        run_checked(&emulator, "S3-014", "shared-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A bucket shared with the organization only is compliant as it is.
    let s3 = bucket(&emulator, "org-bucket").await;
    let mut org_policy = json!({"Version": "2012-10-17", "Statement": [org_only]});
    org_policy["Statement"][0]["Resource"] = json!("arn:aws:s3:::org-bucket/*");
    put_bucket_policy(&s3, "org-bucket", &org_policy).await;
    let report = run_checked(&emulator, "S3-014", "org-bucket", false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
    assert_eq!(bucket_policy(&s3, "org-bucket").await, org_policy);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_is_a_failure_with_its_reason() {
    let emulator = Emulator::start();
    let report = run_checked(&emulator, "S3-012", "no-such-bucket", false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("NoSuchBucket"),
        "{report:?}"
    );
}
