//! `remedy template`: the rendered member-account stack, checked as a document. (The
//! emulator skips topic policies and does not enforce role policies, so these properties are
//! checked here, in the template itself; cfn-lint checks it too, in `make test`.)

use serde_yaml::Value;
use std::process::Command;

fn render(rules: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "conformity: {{account_id: \"999999999999\"}}\nstages:\n  - name: dev\n    targets: {{accounts: [\"111111111111\"]}}\nrules:\n{rules}"
    );
    std::fs::write(dir.path().join("remedy.yaml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(dir.path())
        .args(["template", "--stage", "dev"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_yaml::from_slice(&out.stdout).expect("the template is YAML")
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn with_one_rule_only_that_rule_is_deployed() {
    let t = render("  S3-001: remediate\n");
    let functions: Vec<String> = resources_of_type(&t, "AWS::Lambda::Function")
        .iter()
        .map(|(_, r)| r["Properties"]["FunctionName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        functions,
        ["AutoRemediateOrchestrator", "AutoRemediateS3-001"]
    );
}

#[test]
fn only_the_conformity_account_may_publish_to_the_topic() {
    let t = render("  S3-001: remediate\n");
    let policies = resources_of_type(&t, "AWS::SNS::TopicPolicy");
    assert_eq!(policies.len(), 1);
    let statements = policies[0].1["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let allows: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 1, "one Allow: the Conformity publisher");
    assert_eq!(
        allows[0]["Principal"]["AWS"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::${ConformityAccountId}:root"
    );
    assert_eq!(allows[0]["Action"], "sns:Publish");
    // Everyone else is denied publishing, whatever their own IAM policies say.
    let deny = statements
        .iter()
        .find(|s| {
            s["Effect"] == "Deny"
                && s["Condition"]["StringNotEquals"]["aws:PrincipalAccount"]["Ref"]
                    == "ConformityAccountId"
        })
        .expect("a Deny for every other account");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(deny["Action"], "sns:Publish");
    // The account id itself is a parameter whose default is Conformity's publisher.
    assert_eq!(
        t["Parameters"]["ConformityAccountId"]["Default"],
        "717210094962"
    );
}

#[test]
fn each_rule_role_carries_exactly_its_rules_actions() {
    let t = render("  \"*\": remediate\n");
    let roles = resources_of_type(&t, "AWS::IAM::Role");
    let catalog: Vec<_> = remedy_functions::catalog().collect();
    assert_eq!(
        roles.len(),
        catalog.len() + 1,
        "one role per rule, plus the orchestrator's"
    );

    for rule in catalog {
        let logical: String = rule
            .id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let role = &t["Resources"][format!("Rule{logical}Role").as_str()];
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
        let (own_logs, rule_statements): (Vec<&Value>, Vec<&Value>) =
            statements.iter().partition(|s| s["Sid"] == "OwnLogs");
        // Every declared action, and nothing else, across the rule's statements.
        let mut granted: Vec<String> = rule_statements
            .iter()
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        granted.sort();
        let mut declared: Vec<String> = rule.iam_actions.iter().map(|a| a.to_string()).collect();
        declared.sort();
        assert_eq!(granted, declared, "{}", rule.id);
        // Actions that write or pass IAM roles are never granted on every resource.
        for s in &rule_statements {
            let actions = strings(&s["Action"]);
            if s["Resource"] == "*" {
                for action in &actions {
                    assert!(
                        !remedy_functions::catalog::ROLE_WRITE_ACTIONS.contains(&action.as_str()),
                        "{}: {action} on *",
                        rule.id
                    );
                }
            }
            assert!(
                actions.iter().all(|a| !a.contains('*')),
                "{}: wildcard action",
                rule.id
            );
        }
        // The last statement writes the rule's own log group, nothing else.
        assert_eq!(own_logs.len(), 1, "{}", rule.id);
        assert_eq!(
            strings(&own_logs[0]["Action"]),
            ["logs:CreateLogStream", "logs:PutLogEvents"]
        );
        assert_eq!(
            own_logs[0]["Resource"]["Fn::GetAtt"][0],
            format!("Rule{logical}Logs").as_str()
        );
        // The role is assumable by Lambda only.
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["Service"], "lambda.amazonaws.com");
    }

    // VPC-001's role writes are limited to its own flow-log role.
    let vpc = t["Resources"]["RuleVPC001Role"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .clone();
    let scoped = vpc
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "RuleActionsScoped0")
        .unwrap()
        .clone();
    assert_eq!(
        scoped["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/remedy-vpc-flow-logs"
    );
    // Config-001 may pass roles to AWS Config only.
    let config = t["Resources"]["RuleConfig001Role"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .clone();
    let pass = config
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| strings(&s["Action"]) == ["iam:PassRole"])
        .unwrap()
        .clone();
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        "config.amazonaws.com"
    );
}

#[test]
fn the_orchestrator_invokes_only_rule_functions_of_its_own_account() {
    let t = render("  S3-001: remediate\n");
    let statements = t["Resources"]["OrchestratorRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let invoke = statements
        .iter()
        .find(|s| strings(&s["Action"]).contains(&"lambda:InvokeFunction".to_owned()))
        .unwrap();
    assert_eq!(
        invoke["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:AutoRemediate*-???"
    );
}

#[test]
fn the_queue_has_a_dead_letter_queue_and_everything_is_encrypted_with_a_rotating_key() {
    let t = render("  S3-001: remediate\n");
    let r = &t["Resources"];
    assert_eq!(r["FindingsKey"]["Properties"]["EnableKeyRotation"], true);
    assert_eq!(
        r["FindingsQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "FindingsDeadLetterQueue"
    );
    for name in [
        "FindingsTopic",
        "FindingsQueue",
        "FindingsDeadLetterQueue",
        "FindingsDeliveryDeadLetterQueue",
    ] {
        assert_eq!(
            r[name]["Properties"]["KmsMasterKeyId"]["Ref"], "FindingsKey",
            "{name}"
        );
    }
    assert_eq!(
        r["FindingsSubscription"]["Properties"]["RawMessageDelivery"],
        true
    );
    assert_eq!(
        r["OrchestratorQueueMapping"]["Properties"]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
}

#[test]
fn only_the_findings_topic_may_send_to_the_queues() {
    let t = render("  S3-001: remediate\n");
    let policies = resources_of_type(&t, "AWS::SQS::QueuePolicy");
    let mut queues = Vec::new();
    for (name, policy) in &policies {
        let statements = policy["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
        assert_eq!(
            statements.len(),
            1,
            "{name}: one statement, the topic delivers"
        );
        let s = &statements[0];
        assert_eq!(s["Effect"], "Allow", "{name}");
        assert_eq!(s["Principal"]["Service"], "sns.amazonaws.com", "{name}");
        assert_eq!(s["Action"], "sqs:SendMessage", "{name}");
        assert_eq!(
            s["Condition"]["ArnEquals"]["aws:SourceArn"]["Ref"], "FindingsTopic",
            "{name}"
        );
        for queue in policy["Properties"]["Queues"].as_sequence().unwrap() {
            queues.push(queue["Ref"].as_str().unwrap().to_owned());
        }
    }
    queues.sort();
    assert_eq!(queues, ["FindingsDeliveryDeadLetterQueue", "FindingsQueue"]);
}

#[test]
fn findings_sns_cannot_deliver_go_to_a_dead_letter_queue_not_to_nowhere() {
    // Without a RedrivePolicy, SNS drops a message it cannot deliver to the queue (a key or
    // queue policy gone wrong, the queue deleted) after its retries: the finding is lost.
    let t = render("  S3-001: remediate\n");
    let r = &t["Resources"];
    let redrive = &r["FindingsSubscription"]["Properties"]["RedrivePolicy"];
    let dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        .as_str()
        .expect("the subscription names its dead-letter queue by GetAtt");
    assert_eq!(dlq, "FindingsDeliveryDeadLetterQueue");
    assert_eq!(redrive["deadLetterTargetArn"]["Fn::GetAtt"][1], "Arn");
    let queue = &r[dlq];
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    // SNS may use the key that encrypts it (the key policy's TopicDeliversToQueue).
    assert_eq!(queue["Properties"]["KmsMasterKeyId"]["Ref"], "FindingsKey");
    assert_eq!(
        queue["Properties"]["MessageRetentionPeriod"], 1209600,
        "kept the longest SQS allows: 14 days"
    );
}

#[test]
fn the_artifact_bucket_denies_plain_http_and_is_read_only_inside_the_organization() {
    let t: Value =
        serde_yaml::from_str(include_str!("../../stacks/artifacts.yaml")).expect("artifacts.yaml");
    let bucket = &t["Resources"]["ArtifactBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    assert!(!bucket["BucketEncryption"].is_null(), "encrypted");
    assert_eq!(
        bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"],
        true
    );
    let statements = t["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]
        ["Statement"]
        .as_sequence()
        .unwrap();
    let tls = statements
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("a Deny");
    assert_eq!(tls["Action"], "s3:*");
    assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let reads: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["Action"], "s3:GetObject");
    assert_eq!(
        reads[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"]["Ref"],
        "OrganizationId"
    );
}

#[test]
fn the_key_policy_names_sns_in_the_stacks_own_partition() {
    // kms:ViaService is sns.<region>.amazonaws.com.cn in China: the suffix comes from the
    // partition, never written out.
    let t = render("  S3-001: remediate\n");
    let statements = t["Resources"]["FindingsKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap();
    let conformity = statements
        .iter()
        .find(|s| s["Sid"] == "ConformityPublishesEncrypted")
        .expect("Conformity may use the key");
    assert_eq!(
        conformity["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"],
        "sns.${AWS::Region}.${AWS::URLSuffix}"
    );
}

/// `--output json` prints the same document as JSON; a closed pipe (`| head -1`) ends the
/// command quietly, with no panic and no error.
#[test]
fn the_template_as_json_and_into_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nrules:\n  \"*\": dry-run\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_remedy"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let yaml = run(&["template", "--stage", "dev"]);
    let json = run(&["--output", "json", "template", "--stage", "dev"]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let from_json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let from_yaml: serde_json::Value = serde_yaml::from_slice(&yaml.stdout).expect("YAML");
    assert_eq!(from_json, from_yaml, "the same document");

    // Every rule's template is ~125 KB: far more than a pipe holds once its reader is gone.
    let out = Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "{} template --stage dev | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
            env!("CARGO_BIN_EXE_remedy")
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
