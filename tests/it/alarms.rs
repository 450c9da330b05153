//! The stack's alarms (issue 17, point 2): a failed remediation (the ledger's EMF metric by
//! outcome) and a finding in the dead-letter queue, each notifying the notification topics;
//! a deploy with them succeeds, and the stage's template holds them as documented.

use crate::support;

use support::{remedy, Emulator, Org, Workdir};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\nnotifications:\n  topics:\n    - {name: urgent, risk_levels: [EXTREME]}\n";

#[tokio::test(flavor = "multi_thread")]
async fn failures_and_dead_letters_alarm_to_the_notification_topics() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let work = Workdir::new(CONFIG);
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The emulator's CloudFormation does not create AWS::CloudWatch::Alarm (its DescribeAlarms
    // stays empty: tests/TESTBED-NOTES.md), so the alarms are read from the template the
    // deploy used; cfn-lint and the handler-permission check hold them to AWS's schema.
    let template = remedy(
        &emulator,
        work.path(),
        &["template", "--stage", "dev", "--output", "json"],
    )
    .json();
    let alarm = |id: &str| template["Resources"][id]["Properties"].clone();
    let failures = alarm("FailuresAlarm");
    assert_eq!(failures["Namespace"], "remedy");
    assert_eq!(failures["MetricName"], "findings");
    assert_eq!(
        failures["Dimensions"],
        serde_json::json!([{"Name": "outcome", "Value": "failed"}])
    );
    let dead_letters = alarm("DeadLetterAlarm");
    assert_eq!(dead_letters["Namespace"], "AWS/SQS");
    assert_eq!(
        dead_letters["Dimensions"][0]["Value"]["Fn::GetAtt"],
        serde_json::json!(["FindingsDeadLetterQueue", "QueueName"])
    );
    for properties in [&failures, &dead_letters] {
        assert_eq!(
            properties["AlarmActions"],
            serde_json::json!([{"Ref": "NotifyurgentTopic"}]),
            "{properties}"
        );
    }
    // The stack's key lets CloudWatch encrypt for those topics, for its own alarms only.
    let statements = template["Resources"]["FindingsKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let grant = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .unwrap_or_else(|| panic!("{statements:?}"));
    assert_eq!(
        grant["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"],
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"
    );
}
