//! The S3 rules against the emulator: create the violation, remediate, read the fixed state
//! back, run again and get `compliant`. Every run is recorded (`support::run_checked`): each
//! call it made must be among the rule's declared IAM actions.

use crate::support;

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
    remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default())
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
async fn buckets_labelled_remedy_managed_are_not_left_alone() {
    // A label anyone can set opts nothing out (remedy's own buckets carry CloudFormation's
    // tags: tests/it/own_resources.rs).
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
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let encryption = s3
        .get_bucket_encryption()
        .bucket("remedy-owned")
        .send()
        .await;
    assert!(encryption.is_ok(), "default encryption on");
}

#[tokio::test(flavor = "multi_thread")]
async fn versioning_is_enabled_and_read_back() {
    // GetBucketVersioning through the test bed's launcher, which answers with AWS's
    // <VersioningConfiguration> root (moto 5.2.5 alone does not).
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "unversioned").await;
    let status = |out: aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput| {
        out.status().map(|s| s.as_str().to_owned())
    };
    let before = s3
        .get_bucket_versioning()
        .bucket("unversioned")
        .send()
        .await;
    assert_eq!(before.map(status).ok(), Some(None), "never versioned");

    let report = run_checked(&emulator, "S3-012", "unversioned", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let after = s3
        .get_bucket_versioning()
        .bucket("unversioned")
        .send()
        .await
        .unwrap();
    assert_eq!(status(after).as_deref(), Some("Enabled"));
    let again = run_checked(&emulator, "S3-012", "unversioned", false).await;
    assert_eq!(again.outcome, Outcome::Compliant, "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_and_public_access_block() {
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

    for (rule, sid) in [("S3-017", "DenyInsecureTransport")] {
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
    assert_eq!(policy(s3).await["Statement"].as_array().unwrap().len(), 3);
}

/// S3-016 denies only a wrong `x-amz-server-side-encryption` header: since January 2023 S3
/// encrypts every new object by default, and clients (AWS log delivery among them) no
/// longer send the header, so a request without it is allowed; default encryption is turned
/// on when the bucket has none. remedy's earlier statement, which denied every upload
/// without the header, is replaced.
#[tokio::test(flavor = "multi_thread")]
async fn s3_016_denies_only_wrong_encryption_headers_and_keeps_default_encryption_on() {
    let emulator = Emulator::start();
    let s3 = bucket(&emulator, "sse-bucket").await;
    let read = json!({"Sid": "Partner", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::sse-bucket/*"});
    // What an earlier remedy added: denies writers that rely on default encryption.
    let earlier = json!({"Sid": "DenyUnencryptedObjectUploads", "Effect": "Deny",
        "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::sse-bucket/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}});
    put_bucket_policy(
        &s3,
        "sse-bucket",
        &json!({"Version": "2012-10-17", "Statement": [read, earlier]}),
    )
    .await;

    let report = run_checked(&emulator, "S3-016", "sse-bucket", true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");

    let report = run_checked(&emulator, "S3-016", "sse-bucket", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    // (The emulator's new buckets have no default encryption, unlike S3's since 2023.)
    assert!(
        report.actions[0].contains("default encryption"),
        "{report:?}"
    );
    let after = bucket_policy(&s3, "sse-bucket").await;
    let statements = after["Statement"].as_array().unwrap();
    assert_eq!(statements[0], read, "other statements are kept: {after}");
    assert!(
        !statements
            .iter()
            .any(|s| s["Condition"]["Null"]["s3:x-amz-server-side-encryption"] == "true"),
        "no statement denies uploads without the header: {after}"
    );
    let deny = statements
        .iter()
        .find(|s| s["Sid"] == "DenyIncorrectEncryptionHeader")
        .unwrap_or_else(|| panic!("no DenyIncorrectEncryptionHeader: {after}"));
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Action"], "s3:PutObject");
    assert_eq!(deny["Resource"], "arn:aws:s3:::sse-bucket/*");
    assert_eq!(
        deny["Condition"],
        json!({
            "StringNotEquals": {
                "s3:x-amz-server-side-encryption": ["AES256", "aws:kms", "aws:kms:dsse"]
            },
            "Null": {"s3:x-amz-server-side-encryption": "false"}
        }),
        "only a header that is present and wrong is denied"
    );
    assert_eq!(statements.len(), 2, "{after}");
    let encryption = s3
        .get_bucket_encryption()
        .bucket("sse-bucket")
        .send()
        .await
        .expect("default encryption is on");
    let rules = encryption
        .server_side_encryption_configuration()
        .map(|c| c.rules().len())
        .unwrap_or_default();
    assert!(rules > 0, "default encryption is on: {encryption:?}");

    assert_eq!(
        run_checked(&emulator, "S3-016", "sse-bucket", false)
            .await
            .outcome,
        Outcome::Compliant
    );
    assert_eq!(bucket_policy(&s3, "sse-bucket").await, after);
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
