//! `remedy undo` (issue 17, point 4) against the emulator: an S3 ACL grant and a
//! security-group rule removed by their rules (run through `remedy remediate`, so the
//! removals are the rules' own), their ledger records put in the account's orchestrator log
//! group as the orchestrator writes them (`log_line`), then undone by record and by finding
//! and read back; a dry run changes nothing, a second undo is `unchanged`, an irreversible
//! rule and a missing record are refused with their reason. The undo runs with `--local`
//! (the emulator's Invoke runs no code); the same code in the rule's function, as Lambda runs
//! it, is `lambda_runtime::a_rule_function_puts_back_what_its_rule_removed`, and each call an
//! undo makes is among the rule's declared actions (`undo_calls_only_what_the_rule_declares`).

use crate::support;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use remedy_functions::catalog::Mode;
use remedy_functions::orchestrator::{log_line, Handled};
use remedy_functions::rule::Outcome;
use remedy_functions::undo::{undo, Removed, UndoOutcome, UndoRequest};
use serde_json::Value;
use support::{finding, remedy, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\nstages:\n  - name: dev\n    targets: {ous: [/Dev]}\nrules:\n  S3-001: remediate\n  EC2-002: remediate\n  S3-012: remediate\n";

/// The ledger record the orchestrator would write for `report` (a `remedy remediate`
/// JSON answer) of `rule` on `resource`.
fn record(account: &str, record_id: &str, rule: &str, resource: &str, report: &Value) -> String {
    let removed: Vec<Removed> = serde_json::from_value(report["removed"].clone()).unwrap();
    let handled = Handled {
        rule_id: Some(rule.into()),
        resource: Some(resource.into()),
        mode: Some(Mode::Remediate),
        outcome: serde_json::from_value::<Outcome>(report["outcome"].clone()).unwrap(),
        actions: serde_json::from_value(report["actions"].clone()).unwrap(),
        reason: None,
        reason_code: None,
        notified: Vec::new(),
        finding_id: Some(format!(
            "ccc:OrganisationId:{account}:{rule}:{REGION}:{resource}"
        )),
        account_id: Some(account.into()),
        region: Some(REGION.into()),
        exception: None,
        duration_ms: 40,
        record_id: record_id.into(),
        removed,
        // A report without changes leaves the field out.
        changes: report
            .get("changes")
            .map(|c| serde_json::from_value(c.clone()).unwrap())
            .unwrap_or_default(),
        retry: false,
    };
    log_line(&handled, 1).unwrap().to_string()
}

fn run(emulator: &Emulator, work: &Workdir, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let out = remedy(emulator, work.path(), &all);
    let doc = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.code, doc)
}

async fn world_open_group(ec2: &aws_sdk_ec2::Client) -> String {
    let group = ec2
        .create_security_group()
        .group_name("bastion")
        .description("world-open")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .description("ssh")
                        .build(),
                )
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(20)
                .to_port(25)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    group
}

/// (from, to, cidr, description) of every ingress rule of the group, sorted.
async fn ingress(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<(i32, i32, String, String)> {
    let out = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(group)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut rules: Vec<_> = out
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() != Some(true))
        .map(|r| {
            (
                r.from_port().unwrap_or(-1),
                r.to_port().unwrap_or(-1),
                r.cidr_ipv4()
                    .or(r.cidr_ipv6())
                    .unwrap_or_default()
                    .to_owned(),
                r.description().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_puts_back_a_grant_and_a_security_group_rule_from_the_ledger() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Dev").await;
    emulator.create_role(&account).await;
    let work = Workdir::new(CONFIG);
    let s3 = crate::remediate_cli::public_bucket(&emulator, &account, "leaky").await;
    let ec2 = aws_sdk_ec2::Client::new(&emulator.account_config(&account, REGION).await);
    let group = world_open_group(&ec2).await;
    let before = ingress(&ec2, &group).await;

    // The rules fix both, reporting what they removed.
    work.write("s3.json", &finding("S3-001", "leaky").to_string());
    work.write("sg.json", &finding("EC2-002", &group).to_string());
    let (code, s3_fix) = run(
        &emulator,
        &work,
        &["remediate", "--event", "s3.json", "--account", &account],
    );
    assert_eq!(code, 0, "{s3_fix}");
    assert_eq!(s3_fix["outcome"], "remediated", "{s3_fix}");
    assert_eq!(s3_fix["removed"][0]["kind"], "acl_grant", "{s3_fix}");
    assert_eq!(
        s3_fix["changes"],
        serde_json::json!([{"api": "s3:PutBucketAcl", "target": "leaky"}]),
        "{s3_fix}"
    );
    assert!(!crate::remediate_cli::is_public(&s3, "leaky").await);
    let (code, sg_fix) = run(
        &emulator,
        &work,
        &["remediate", "--event", "sg.json", "--account", &account],
    );
    assert_eq!(code, 0, "{sg_fix}");
    assert_eq!(sg_fix["removed"].as_array().unwrap().len(), 2, "{sg_fix}");
    // The narrower rules are added before the wide one is revoked: never a moment closed
    // to what was open besides the port.
    assert_eq!(
        sg_fix["changes"],
        serde_json::json!([
            {"api": "ec2:AuthorizeSecurityGroupIngress", "target": group},
            {"api": "ec2:RevokeSecurityGroupIngress", "target": group},
        ]),
        "{sg_fix}"
    );
    let fixed = ingress(&ec2, &group).await;
    assert_eq!(
        fixed.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [(20, 21), (23, 25)],
        "port 22 closed, the rest of 20-25 kept open"
    );

    // Their ledger records, and one of a rule that cannot be undone.
    let versioning = serde_json::json!({"outcome": "remediated", "actions": ["enabled versioning on bucket leaky"], "removed": []});
    let now = crate::history::now_ms();
    crate::history::seed(
        &emulator,
        &account,
        REGION,
        &[
            (
                now - 3000,
                record(&account, "00000000000000a1", "S3-001", "leaky", &s3_fix),
            ),
            (
                now - 2000,
                record(&account, "00000000000000a2", "EC2-002", &group, &sg_fix),
            ),
            (
                now - 1000,
                record(&account, "00000000000000a3", "S3-012", "leaky", &versioning),
            ),
        ],
    )
    .await;
    // `history` shows each record's id, for `undo --record`.
    let (code, history) = run(&emulator, &work, &["history"]);
    assert_eq!(code, 0, "{history}");
    let ids: Vec<&str> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["record_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["00000000000000a3", "00000000000000a2", "00000000000000a1"]
    );
    // The ledger's changes, read back through history.
    assert_eq!(history["records"][2]["changes"], s3_fix["changes"]);

    // A dry run says what it would put back and changes nothing.
    let (code, dry) = run(&emulator, &work, &["undo", "--record", "00000000000000a1"]);
    assert_eq!(code, 0, "{dry}");
    assert_eq!(dry["outcome"], "would_restore", "{dry}");
    assert_eq!(dry["via"], "dry_run");
    assert_eq!(dry["account_id"], account.as_str());
    assert!(
        dry["actions"][0]
            .as_str()
            .unwrap()
            .contains("READ grant to AllUsers on bucket leaky"),
        "{dry}"
    );
    assert!(
        !crate::remediate_cli::is_public(&s3, "leaky").await,
        "a dry run changes nothing"
    );

    // --yes puts the grant back; a second undo finds it there.
    let (code, done) = run(
        &emulator,
        &work,
        &["undo", "--record", "00000000000000a1", "--yes", "--local"],
    );
    assert_eq!(code, 0, "{done}");
    assert_eq!(done["outcome"], "restored", "{done}");
    assert!(
        crate::remediate_cli::is_public(&s3, "leaky").await,
        "the grant is back"
    );
    let (code, again) = run(
        &emulator,
        &work,
        &["undo", "--record", "00000000000000a1", "--yes", "--local"],
    );
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["outcome"], "unchanged", "{again}");

    // By finding: the security group as it was, the narrower rules gone.
    let finding_id = format!("ccc:OrganisationId:{account}:EC2-002:{REGION}:{group}");
    let (code, sg) = run(
        &emulator,
        &work,
        &[
            "undo",
            "--finding",
            &finding_id,
            "--account",
            &account,
            "--yes",
            "--local",
        ],
    );
    assert_eq!(code, 0, "{sg}");
    assert_eq!(sg["outcome"], "restored", "{sg}");
    assert_eq!(sg["record_id"], "00000000000000a2");
    assert_eq!(
        ingress(&ec2, &group).await,
        before,
        "the group is as it was"
    );

    // An irreversible rule's record is refused with the reason; a missing record too.
    let (code, refused) = run(
        &emulator,
        &work,
        &["undo", "--record", "00000000000000a3", "--yes", "--local"],
    );
    assert_eq!(code, 1, "{refused}");
    assert_eq!(refused["outcome"], "refused");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .starts_with("S3-012 is not reversible"),
        "{refused}"
    );
    let (code, missing) = run(&emulator, &work, &["undo", "--record", "ffffffffffffffff"]);
    assert_eq!(code, 1, "{missing}");
    assert_eq!(missing["outcome"], "not_found");
    assert!(
        missing["reason"]
            .as_str()
            .unwrap()
            .contains("1 account(s) searched"),
        "{missing}"
    );

    // Bad input: exit 2 before any AWS call.
    let bad = remedy(&emulator, work.path(), &["undo", "--record", "a \"b\""]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let neither = remedy(&emulator, work.path(), &["undo"]);
    assert_eq!(neither.code, 2, "{}", neither.stderr);
    let local_alone = remedy(
        &emulator,
        work.path(),
        &["undo", "--record", "00000000000000a1", "--local"],
    );
    assert_eq!(
        local_alone.code, 2,
        "--local needs --yes: {}",
        local_alone.stderr
    );
}

/// Every call an undo makes is among the rule's declared IAM actions: the rule's role, which
/// runs the undo in Lambda, needs nothing more (the public access block's DELETE is
/// authorised by `s3:PutBucketPublicAccessBlock`).
#[tokio::test(flavor = "multi_thread")]
async fn undo_calls_only_what_the_rule_declares() {
    let emulator = Emulator::start();
    let aws = emulator.sdk_config();
    let s3 = remedy::aws::identity::s3_client(&aws, REGION, &Default::default());
    s3.create_bucket().bucket("open").send().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let group = world_open_group(&ec2).await;
    let cases = [
        ("S3-001", "open"),
        ("EC2-002", group.as_str()),
        ("S3-026", "open"),
    ];
    for (rule_id, resource) in cases {
        if rule_id == "S3-001" {
            let read = aws_sdk_s3::types::Permission::Read;
            support::add_group_grant(&s3, "open", support::ALL_USERS, read).await;
        }
        let (report, _) =
            support::run_checked(&emulator, finding(rule_id, resource), &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{rule_id}: {report:?}");
        assert!(
            !report.removed.is_empty(),
            "{rule_id} records what it removed"
        );
        let rule = remedy_functions::find_rule(rule_id).unwrap();
        let request = UndoRequest {
            record_id: "0".into(),
            rule_id: rule_id.into(),
            region: Some(REGION.into()),
            removed: report.removed.clone(),
        };
        emulator.start_recording();
        let undone = undo(rule_id, &request, &aws).await;
        let calls = emulator.recording();
        assert_eq!(
            undone.outcome,
            UndoOutcome::Restored,
            "{rule_id}: {undone:?}"
        );
        for call in &calls {
            let action = support::iam_action(call);
            assert!(
                rule.iam_actions.contains(&action.as_str()),
                "undoing {rule_id} called {action}, which the rule does not declare: {:?}",
                rule.iam_actions
            );
        }
        // Put back means the rule finds something to fix again.
        let again = support::run_rule(&emulator, finding(rule_id, resource), &[], true).await;
        assert_eq!(
            again.outcome,
            Outcome::DryRun,
            "{rule_id} after the undo: {again:?}"
        );
    }
    // S3-026 on a bucket that had no block: the undo deletes the block it added.
    let block = s3.get_public_access_block().bucket("open").send().await;
    assert!(
        block.is_err(),
        "no public access block, as before: {block:?}"
    );

    // Another rule's removal is not this function's to put back.
    let foreign = UndoRequest {
        record_id: "0".into(),
        rule_id: "S3-001".into(),
        region: Some(REGION.into()),
        removed: vec![Removed::PublicAccessBlock {
            bucket: "open".into(),
            previous: None,
        }],
    };
    let refused = undo("S3-001", &foreign, &aws).await;
    assert_eq!(refused.outcome, UndoOutcome::Refused, "{refused:?}");
}
