//! `remedy conformity connect` / `status` against a stand-in of Conformity's API
//! (`support::conformity`, built from its public reference) and the emulator's organization:
//! settings created for every account and read back, a re-run unchanged, a topic changed in
//! Conformity's console put back, an account Conformity does not know reported, 429 retried,
//! a refused key one error before any account is touched, and the key in no output (at
//! trace level too: tests/it/no_secrets.rs).

use crate::support;

use serde_json::{json, Value};
use support::conformity::Server;
use support::{by_account, remedy_command, Emulator, Org, Workdir, REGION};

const KEY: &str = "cc-test-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";

/// An account's `state` in a `conformity connect`/`status` document.
fn state_of<'d>(doc: &'d Value, account: &str) -> &'d Value {
    &by_account(&doc["accounts"], account)["state"]
}

fn config(url: &str) -> String {
    format!(
        "regions: [us-east-1]\nconformity:\n  api:\n    url: {url}\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\nrules:\n  S3-001: remediate\n  EC2-002: dry-run\n"
    )
}

/// `remedy conformity ARGS --output json` with the key in $CONFORMITY_API_KEY: exit code,
/// the JSON document (or null), stdout and stderr — which never hold the key.
fn run(emulator: &Emulator, work: &Workdir, key: &str, args: &[&str]) -> (i32, Value, String) {
    let out = remedy_command(emulator, work.path())
        .env("CONFORMITY_API_KEY", key)
        .arg("conformity")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert!(
        !stdout.contains(key) && !stderr.contains(key),
        "the key in the output of {args:?}"
    );
    (
        out.status.code().unwrap_or(-1),
        doc,
        format!("{stdout}\n{stderr}"),
    )
}

fn topic(account: &str) -> String {
    format!("arn:aws:sns:{REGION}:{account}:remedy-findings")
}

/// The stand-in's SNS settings of the Conformity account that checks `aws_account`.
fn settings_of<'s>(settings: &'s [Value], doc: &Value, aws_account: &str) -> Vec<&'s Value> {
    let id = by_account(&doc["accounts"], aws_account)["conformity_account"]
        .as_str()
        .unwrap()
        .to_owned();
    settings
        .iter()
        .filter(|s| s["relationships"]["account"]["data"]["id"] == id.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_creates_one_setting_per_account_and_a_rerun_is_unchanged() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let accounts = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    // Conformity knows the first two AWS accounts only, after more than a page of Azure
    // subscriptions: `GET /accounts` is read page by page.
    let server = Server::with_others(KEY, &[&accounts[0], &accounts[1], "999999999999"], 120);
    let work = Workdir::new(&config(&server.url));

    // A dry run says what it would do and changes nothing.
    let (code, dry, out) = run(&emulator, &work, KEY, &["connect", "--dry-run"]);
    assert_eq!(code, 1, "an account not in Conformity: {out}");
    assert_eq!(state_of(&dry, &accounts[0]), "would_connect", "{dry}");
    assert!(server.settings().is_empty());

    let (code, first, out) = run(&emulator, &work, KEY, &["connect"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        first["summary"],
        json!({"connected": 2, "not_in_conformity": 1}),
        "{first}"
    );
    let missing = by_account(&first["accounts"], &accounts[2]);
    assert_eq!(missing["state"], "not_in_conformity");
    assert!(missing["reason"]
        .as_str()
        .unwrap()
        .contains("not added to Conformity"));

    // Read back: one setting per account, the account's topic, FAILURE findings of the
    // stage's rules, as the reference's create body has it.
    let settings = server.settings();
    assert_eq!(settings.len(), 2, "{settings:#?}");
    for account in &accounts[..2] {
        let mine = settings_of(&settings, &first, account);
        assert_eq!(mine.len(), 1);
        let attributes = &mine[0]["attributes"];
        assert_eq!(attributes["channel"], "sns");
        assert_eq!(attributes["enabled"], true);
        assert_eq!(attributes["configuration"]["arn"], topic(account).as_str());
        assert_eq!(attributes["configuration"]["channelName"], "remedy remedy");
        assert_eq!(
            attributes["filter"],
            json!({"statuses": ["FAILURE"], "ruleIds": ["EC2-002", "S3-001"]})
        );
        assert_eq!(
            by_account(&first["accounts"], account)["setting_id"],
            mine[0]["id"]
        );
    }
    // JSON:API bodies, and the key on every request.
    let requests = server.requests();
    assert!(requests
        .iter()
        .all(|r| r.authorized && r.content_type == "application/vnd.api+json"));
    assert_eq!(requests.iter().filter(|r| r.method == "POST").count(), 2);
    assert!(
        requests.iter().filter(|r| r.path == "/v1/accounts").count() >= 2,
        "paged: {requests:?}"
    );

    // `remedy status` says the same in its own column.
    let out = remedy_command(&emulator, work.path())
        .env("CONFORMITY_API_KEY", KEY)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (account, state) in [
        (&accounts[0], "connected"),
        (&accounts[1], "connected"),
        (&accounts[2], "not_in_conformity"),
    ] {
        assert_eq!(
            by_account(&status["targets"], account)["conformity"],
            state,
            "{status}"
        );
    }
    // Without the key, the column is `unknown`, and the status itself still answers.
    let out = remedy_command(&emulator, work.path())
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        by_account(&status["targets"], &accounts[0])["conformity"],
        "unknown",
        "{status}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Conformity: not asked"));

    // Idempotent.
    let (code, again, out) = run(
        &emulator,
        &work,
        KEY,
        &[
            "connect",
            "--account",
            &accounts[0],
            "--account",
            &accounts[1],
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(again["summary"], json!({"unchanged": 2}), "{again}");
    assert_eq!(server.settings().len(), 2);

    // Someone points one account's setting elsewhere in Conformity's console: status says
    // so, connect puts it back in place (no second setting).
    let changed = settings_of(&settings, &first, &accounts[1])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.edit(
        &changed,
        "/attributes/configuration/arn",
        json!("arn:aws:sns:us-east-1:000000000000:elsewhere"),
    );
    let (code, status, out) = run(&emulator, &work, KEY, &["status"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(state_of(&status, &accounts[0]), "connected", "{status}");
    let outdated = by_account(&status["accounts"], &accounts[1]);
    assert_eq!(outdated["state"], "outdated", "{status}");
    assert!(
        outdated["reason"].as_str().unwrap().contains("elsewhere"),
        "{outdated}"
    );
    let (_, fixed, out) = run(&emulator, &work, KEY, &["connect"]);
    assert_eq!(state_of(&fixed, &accounts[1]), "updated", "{out}");
    assert_eq!(state_of(&fixed, &accounts[0]), "unchanged", "{out}");
    let settings = server.settings();
    assert_eq!(settings.len(), 2);
    let put_back = settings
        .iter()
        .find(|s| s["id"] == changed.as_str())
        .unwrap();
    assert_eq!(
        put_back["attributes"]["configuration"]["arn"],
        topic(&accounts[1]).as_str()
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_touches_no_account_and_throttling_is_retried() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let accounts = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let server = Server::start(KEY, &[&accounts[0], &accounts[1]]);
    let work = Workdir::new(&config(&server.url));

    let wrong = "not-the-key-but-looks-like-one-0123456789";
    let (code, doc, out) = run(&emulator, &work, wrong, &["connect"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(doc, Value::Null, "one error, no report: {out}");
    assert!(out.contains("Conformity refused the API key"), "{out}");
    assert!(out.contains("no account was touched"), "{out}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "only the key's proof: {requests:?}");
    assert_eq!(requests[0].path, "/v1/accounts");
    assert!(server.settings().is_empty());

    // No key at all: an input error, nothing called.
    let out = remedy_command(&emulator, work.path())
        .args(["conformity", "connect"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONFORMITY_API_KEY"));
    assert_eq!(server.requests().len(), 1);

    // 429 twice, then the answers: retried, reported, connected.
    server.throttle(2);
    let (code, doc, out) = run(&emulator, &work, KEY, &["connect"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(doc["retries"], 2, "{doc}");
    assert_eq!(doc["summary"], json!({"connected": 2}), "{doc}");
    assert_eq!(server.settings().len(), 2);

    // One account whose settings cannot be read (500 on every attempt): retried, reported
    // failed with the API's answer, and the other connected all the same.
    let server = Server::start(KEY, &[&accounts[0], &accounts[1]]);
    server.fail_settings_of(&accounts[1]);
    let work = Workdir::new(&config(&server.url));
    let (code, doc, out) = run(&emulator, &work, KEY, &["connect"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(state_of(&doc, &accounts[0]), "connected", "{doc}");
    let failed = by_account(&doc["accounts"], &accounts[1]);
    assert_eq!(failed["state"], "failed", "{doc}");
    assert!(
        failed["reason"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    assert_eq!(doc["retries"], 4, "5 attempts: {doc}");
    assert_eq!(server.settings().len(), 1);
}

/// `conformity profile`: offline, the rules remedy's stack trips by design with exceptions by
/// CloudFormation's stack-name tag (the stack itself by its `remedy:managed` tag); `--apply`
/// creates the profile, then leaves it, then updates it when the configuration trips more.
#[tokio::test(flavor = "multi_thread")]
async fn the_profile_excepts_remedys_own_resources_and_apply_is_idempotent() {
    let emulator = Emulator::start();
    let server = Server::start(KEY, &[]);
    let work = Workdir::new(&config(&server.url));

    let offline =
        support::remedy_offline(work.path(), &["conformity", "profile", "--output", "json"]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let doc: Value = serde_json::from_str(&offline.stdout).unwrap();
    assert_eq!(doc["name"], "remedy remedy");
    let rules: Vec<&str> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    for tripped in [
        "Lambda-003",
        "Lambda-007",
        "Lambda-009",
        "DynamoDB-004",
        "CFM-005",
        "CFM-006",
    ] {
        assert!(rules.contains(&tripped), "{tripped}: {doc}");
    }
    // The default customer key encrypts the topic and queues: those rules are not tripped.
    assert!(
        !rules.contains(&"SNS-006") && !rules.contains(&"SQS-005"),
        "{doc}"
    );
    let lambda = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule_id"] == "Lambda-003")
        .unwrap();
    assert_eq!(
        lambda["exception_tags"],
        json!(["aws:cloudformation:stack-name::remedy"])
    );
    let stack = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule_id"] == "CFM-005")
        .unwrap();
    assert_eq!(stack["exception_tags"], json!(["remedy:managed::true"]));
    assert!(server.requests().is_empty(), "no call without --apply");
    // A rule of a type CloudFormation puts its system tags on is excepted by the stack-name
    // tag, any other by remedy:managed: held to the types' CloudFormation schemas (cfn-lint's
    // copy), so an exception that could never match fails here.
    for rule in doc["rules"].as_array().unwrap() {
        let id = rule["rule_id"].as_str().unwrap();
        let system_tags = match id.split('-').next().unwrap() {
            "CFM" => false, // the stack itself carries no aws:cloudformation:* tag
            "Lambda" => system_tags("AWS::Lambda::Function"),
            "SNS" => system_tags("AWS::SNS::Topic"),
            "SQS" => system_tags("AWS::SQS::Queue"),
            "DynamoDB" => system_tags("AWS::DynamoDB::Table"),
            other => panic!("{id}: name the resource type of {other} rules here"),
        };
        let expected = if system_tags {
            "aws:cloudformation:stack-name::remedy"
        } else {
            "remedy:managed::true"
        };
        assert_eq!(rule["exception_tags"], json!([expected]), "{id}");
    }

    let (code, created, out) = run(&emulator, &work, KEY, &["profile", "--apply"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(created["state"], "created", "{created}");
    let profiles = server.profiles();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].0, "remedy remedy");
    let held: Vec<&str> = profiles[0]
        .1
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(held.len(), rules.len(), "{held:?}");
    let (code, again, out) = run(&emulator, &work, KEY, &["profile", "--apply"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(again["state"], "unchanged", "{again}");
    assert_eq!(again["id"], created["id"]);

    // Without a customer key, the topic and queues trip three more rules: added in place.
    work.write(
        "remedy.yaml",
        &format!("encryption: aws-managed\n{}", config(&server.url)),
    );
    let (code, updated, out) = run(&emulator, &work, KEY, &["profile", "--apply"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(updated["state"], "updated", "{updated}");
    let profiles = server.profiles();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].1.len(), rules.len() + 3);
    assert!(profiles[0].1.iter().any(|r| r["id"] == "SNS-006"));
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        1
    );
}

/// Whether CloudFormation tags resources of `resource_type` with its `aws:cloudformation:*`
/// system tags: the type's schema (`tagging.cloudFormationSystemTags`), as cfn-lint ships it
/// in the test venv.
fn system_tags(resource_type: &str) -> bool {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), 'data', 'schemas'))",
        ])
        .output()
        .expect("python3 with cfn-lint (make venv)");
    let schemas = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let read = |path: std::path::PathBuf| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    };
    let index = read(schemas.join("providers/us-east-1.json"));
    let file = index[resource_type]
        .as_str()
        .unwrap_or_else(|| panic!("{resource_type} not in cfn-lint's index"));
    read(schemas.join(format!("resources/{file}.json")))["tagging"]["cloudFormationSystemTags"]
        .as_bool()
        .unwrap_or(false)
}
