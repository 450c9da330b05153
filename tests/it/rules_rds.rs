//! The RDS rules against the emulator: create the violation through the SDK, remediate,
//! read the fixed state back, run again and get `compliant`. Every run is recorded
//! (`support::run_checked`), and each call it made must be among the rule's declared IAM
//! actions.

use crate::support;

use aws_sdk_rds::types::Tag;
use remedy_functions::rule::{Outcome, Report};
use support::{finding, Emulator};

/// Runs the rule through `support::run_checked`: every call it made must be declared.
async fn run_checked(emulator: &Emulator, rule_id: &str, resource: &str, dry_run: bool) -> Report {
    let f = finding(rule_id, resource);
    support::run_checked(emulator, f, &[], dry_run).await.0
}

fn rds(emulator: &Emulator) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&emulator.sdk_config())
}

/// A public instance without auto minor version upgrade or deletion protection.
async fn instance(rds: &aws_sdk_rds::Client, id: &str, tags: &[(&str, &str)]) {
    let mut create = rds
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin_user")
        .master_user_password("a-long-enough-password")
        .allocated_storage(20)
        .publicly_accessible(true)
        .auto_minor_version_upgrade(false)
        .deletion_protection(false);
    for (k, v) in tags {
        create = create.tags(Tag::builder().key(*k).value(*v).build());
    }
    create.send().await.unwrap();
}

/// (publicly accessible, auto minor version upgrade, deletion protection).
async fn settings(
    rds: &aws_sdk_rds::Client,
    id: &str,
) -> (Option<bool>, Option<bool>, Option<bool>) {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .unwrap();
    let i = &out.db_instances()[0];
    (
        i.publicly_accessible(),
        i.auto_minor_version_upgrade(),
        i.deletion_protection(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn instance_settings_are_fixed_one_rule_at_a_time() {
    let emulator = Emulator::start();
    let rds = rds(&emulator);
    instance(&rds, "orders-db", &[("team", "orders")]).await;
    assert_eq!(
        settings(&rds, "orders-db").await,
        (Some(true), Some(false), Some(false))
    );

    // Dry-run decides and changes nothing.
    for rule in ["RDS-006", "RDS-008", "RDS-031"] {
        let report = run_checked(&emulator, rule, "orders-db", true).await;
        assert_eq!(report.outcome, Outcome::DryRun, "{rule}: {report:?}");
    }
    assert_eq!(
        settings(&rds, "orders-db").await,
        (Some(true), Some(false), Some(false))
    );

    let report = run_checked(&emulator, "RDS-008", "orders-db", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        report.actions,
        ["turned off public accessibility for DB instance orders-db"]
    );
    assert_eq!(
        settings(&rds, "orders-db").await,
        (Some(false), Some(false), Some(false)),
        "only that setting"
    );

    let report = run_checked(&emulator, "RDS-006", "orders-db", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        settings(&rds, "orders-db").await,
        (Some(false), Some(true), Some(false))
    );

    let report = run_checked(&emulator, "RDS-031", "orders-db", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        settings(&rds, "orders-db").await,
        (Some(false), Some(true), Some(true))
    );

    for rule in ["RDS-006", "RDS-008", "RDS-031"] {
        let report = run_checked(&emulator, rule, "orders-db", false).await;
        assert_eq!(report.outcome, Outcome::Compliant, "{rule}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn public_snapshots_stop_being_public_and_stay_shared_with_accounts() {
    let emulator = Emulator::start();
    let rds = rds(&emulator);
    instance(&rds, "source-db", &[]).await;
    rds.create_db_snapshot()
        .db_snapshot_identifier("nightly")
        .db_instance_identifier("source-db")
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("nightly")
        .attribute_name("restore")
        .values_to_add("all")
        .values_to_add("111111111111")
        .send()
        .await
        .unwrap();
    let restore = |rds: aws_sdk_rds::Client| async move {
        let out = rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier("nightly")
            .send()
            .await
            .unwrap();
        let result = out.db_snapshot_attributes_result().unwrap();
        let attribute = result
            .db_snapshot_attributes()
            .iter()
            .find(|a| a.attribute_name() == Some("restore"))
            .unwrap();
        attribute.attribute_values().to_vec()
    };

    assert_eq!(
        run_checked(&emulator, "RDS-023", "nightly", true)
            .await
            .outcome,
        Outcome::DryRun
    );
    assert_eq!(restore(rds.clone()).await, ["all", "111111111111"]);

    let report = run_checked(&emulator, "RDS-023", "nightly", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        restore(rds.clone()).await,
        ["111111111111"],
        "the account it is shared with keeps access"
    );
    assert_eq!(
        run_checked(&emulator, "RDS-023", "nightly", false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn labelled_and_missing_resources() {
    let emulator = Emulator::start();
    let rds = rds(&emulator);
    // A remedy:managed label anyone can set opts nothing out.
    instance(&rds, "remedy-db", &[("remedy:managed", "true")]).await;
    let report = run_checked(&emulator, "RDS-008", "remedy-db", false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(settings(&rds, "remedy-db").await.0, Some(false));

    rds.create_db_snapshot()
        .db_snapshot_identifier("remedy-snap")
        .db_instance_identifier("remedy-db")
        .tags(Tag::builder().key("remedy:managed").value("true").build())
        .send()
        .await
        .unwrap();
    assert_ne!(
        run_checked(&emulator, "RDS-023", "remedy-snap", false)
            .await
            .outcome,
        Outcome::Skipped
    );

    let report = run_checked(&emulator, "RDS-031", "no-such-db", false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("DBInstanceNotFound"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deletion_protection_of_an_aurora_member_is_left_to_its_cluster() {
    let emulator = Emulator::start();
    let rds = rds(&emulator);
    rds.create_db_cluster()
        .db_cluster_identifier("aurora")
        .engine("aurora-postgresql")
        .master_username("admin_user")
        .master_user_password("a-long-enough-password")
        .send()
        .await
        .unwrap();
    rds.create_db_instance()
        .db_instance_identifier("aurora-1")
        .db_cluster_identifier("aurora")
        .db_instance_class("db.r6g.large")
        .engine("aurora-postgresql")
        .send()
        .await
        .unwrap();
    let report = run_checked(&emulator, "RDS-031", "aurora-1", false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("cluster aurora"),
        "{report:?}"
    );
}
