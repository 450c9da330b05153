//! The Redshift rules against the emulator: create the violation through the SDK, remediate,
//! read the fixed state back, run again and get `compliant`. Every run is recorded
//! (`support::run_checked`), and each call it made must be among the rule's declared IAM
//! actions.
//!
//! The emulator has no ModifyClusterParameterGroup (it answers 500), so RS-023 is run here
//! up to its decision (dry-run, the default parameter group, remedy's own group); reading the
//! parameter is unit-tested in `functions/src/rules/redshift.rs`.

use crate::support;

use aws_sdk_redshift::types::Tag;
use remedy_functions::rule::{Outcome, Report};
use support::{finding, Emulator};

/// Runs the rule through `support::run_checked`: every call it made must be declared.
async fn run_checked(
    emulator: &Emulator,
    rule_id: &str,
    resource: &str,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> Report {
    let f = finding(rule_id, resource);
    support::run_checked(emulator, f, settings, dry_run).await.0
}

/// A public single-node cluster keeping automated snapshots one day.
async fn cluster(
    redshift: &aws_sdk_redshift::Client,
    id: &str,
    parameter_group: Option<&str>,
    tags: &[(&str, &str)],
) {
    let mut create = redshift
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .cluster_type("single-node")
        .master_username("admin")
        .master_user_password("Password1")
        .publicly_accessible(true)
        .automated_snapshot_retention_period(1)
        .set_cluster_parameter_group_name(parameter_group.map(str::to_owned));
    for (k, v) in tags {
        create = create.tags(Tag::builder().key(*k).value(*v).build());
    }
    create.send().await.unwrap();
}

/// (publicly accessible, automated snapshot retention period).
async fn state(redshift: &aws_sdk_redshift::Client, id: &str) -> (Option<bool>, Option<i32>) {
    let out = redshift
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .unwrap();
    let c = &out.clusters()[0];
    (
        c.publicly_accessible(),
        c.automated_snapshot_retention_period(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn public_access_and_snapshot_retention_are_fixed() {
    let emulator = Emulator::start();
    let redshift = aws_sdk_redshift::Client::new(&emulator.sdk_config());
    cluster(&redshift, "warehouse", None, &[]).await;

    assert_eq!(
        run_checked(&emulator, "RS-001", "warehouse", &[], true)
            .await
            .outcome,
        Outcome::DryRun
    );
    assert_eq!(
        run_checked(&emulator, "RS-019", "warehouse", &[], true)
            .await
            .outcome,
        Outcome::DryRun
    );
    assert_eq!(
        state(&redshift, "warehouse").await,
        (Some(true), Some(1)),
        "dry-run changes nothing"
    );

    let report = run_checked(&emulator, "RS-001", "warehouse", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(state(&redshift, "warehouse").await, (Some(false), Some(1)));
    assert_eq!(
        run_checked(&emulator, "RS-001", "warehouse", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // The default: 7 days.
    let report = run_checked(&emulator, "RS-019", "warehouse", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(report.actions[0].contains("from 1 to 7 days"), "{report:?}");
    assert_eq!(state(&redshift, "warehouse").await, (Some(false), Some(7)));
    assert_eq!(
        run_checked(&emulator, "RS-019", "warehouse", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A configured period; a longer one already there is kept.
    let report = run_checked(
        &emulator,
        "RS-019",
        "warehouse",
        &[("retention_days", "14")],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(state(&redshift, "warehouse").await.1, Some(14));
    assert_eq!(
        run_checked(
            &emulator,
            "RS-019",
            "warehouse",
            &[("retention_days", "10")],
            false
        )
        .await
        .outcome,
        Outcome::Compliant
    );
    assert_eq!(state(&redshift, "warehouse").await.1, Some(14));

    let report = run_checked(
        &emulator,
        "RS-019",
        "warehouse",
        &[("retention_days", "90")],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("1 to 35"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_activity_logging_needs_a_parameter_group_of_the_clusters_own() {
    let emulator = Emulator::start();
    let redshift = aws_sdk_redshift::Client::new(&emulator.sdk_config());

    // The default parameter group cannot be modified: failed, with that reason.
    cluster(&redshift, "on-default", None, &[]).await;
    let report = run_checked(&emulator, "RS-023", "on-default", &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("default parameter group default.redshift-1.0"),
        "{report:?}"
    );

    // A group of its own: the parameter is set there (decided here; see the header).
    redshift
        .create_cluster_parameter_group()
        .parameter_group_name("audited")
        .parameter_group_family("redshift-1.0")
        .description("audited")
        .send()
        .await
        .unwrap();
    cluster(&redshift, "on-own", Some("audited"), &[]).await;
    let report = run_checked(&emulator, "RS-023", "on-own", &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert!(
        report.actions[0].contains("enable_user_activity_logging=true in parameter group audited"),
        "{report:?}"
    );

    // A group labelled remedy:managed by anyone is not remedy's: it would be changed.
    redshift
        .create_cluster_parameter_group()
        .parameter_group_name("remedy-group")
        .parameter_group_family("redshift-1.0")
        .description("remedy")
        .tags(Tag::builder().key("remedy:managed").value("true").build())
        .send()
        .await
        .unwrap();
    cluster(&redshift, "on-remedys", Some("remedy-group"), &[]).await;
    assert_eq!(
        run_checked(&emulator, "RS-023", "on-remedys", &[], true)
            .await
            .outcome,
        Outcome::DryRun
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn labelled_and_missing_clusters() {
    let emulator = Emulator::start();
    let redshift = aws_sdk_redshift::Client::new(&emulator.sdk_config());
    cluster(
        &redshift,
        "remedy-cluster",
        None,
        &[("remedy:managed", "true")],
    )
    .await;
    // A remedy:managed label anyone can set opts nothing out.
    for rule in ["RS-001", "RS-019", "RS-023"] {
        let report = run_checked(&emulator, rule, "remedy-cluster", &[], true).await;
        assert_ne!(report.outcome, Outcome::Skipped, "{rule}: {report:?}");
    }

    let report = run_checked(&emulator, "RS-001", "no-such-cluster", &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("ClusterNotFound"),
        "{report:?}"
    );
}
