//! `remedy schema`, `remedy validate` and `remedy init` (issue 18, point 4).
//!
//! The schema cannot drift from the parser: at every depth it names exactly the keys
//! `core::config` accepts (the probe `tests/it/docs.rs` reads them with), every example
//! configuration of the repository validates against it, and each class of config error
//! it can express is rejected by it and by `remedy validate` (exit 2, with file:line). The
//! schema is evaluated by the `jsonschema` package of the test venv (draft 2020-12).
//! `init` on a seeded organization writes a file `validate` accepts.

use crate::support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use support::{remedy, Emulator, Org, Workdir};

fn schema() -> Value {
    remedy::core::schema::schema()
}

/// Every key path the schema names, in the docs' notation (`stages[].targets.ous`,
/// `rules.<id>.mode`).
fn schema_keys(node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (key, child) in properties {
            let path = join(key);
            out.insert(path.clone());
            schema_keys(child, &path, out);
        }
    }
    if let Some(items) = node.get("items") {
        if items.get("properties").is_some() {
            let path = format!("{prefix}[]");
            out.insert(path.clone());
            schema_keys(items, &path, out);
        }
    }
    if node.get("propertyNames").is_some() {
        let path = format!("{prefix}.<id>");
        out.insert(path.clone());
        if let Some(config) = node.get("additionalProperties") {
            schema_keys(config, &path, out);
        }
    }
    if let Some(alternatives) = node.get("anyOf").and_then(Value::as_array) {
        for alternative in alternatives {
            schema_keys(alternative, prefix, out);
        }
    }
}

#[test]
fn the_schema_names_exactly_the_keys_the_parser_accepts() {
    let mut named = BTreeSet::new();
    schema_keys(&schema(), "", &mut named);
    let (accepted, gone) = crate::docs::accepted_keys();
    let missing: Vec<&String> = accepted.difference(&named).collect();
    let extra: Vec<&String> = named.difference(&accepted).collect();
    assert!(missing.is_empty(), "the schema lacks {missing:?}");
    assert!(
        extra.is_empty(),
        "the schema names keys the parser refuses: {extra:?}"
    );
    for key in gone {
        assert!(
            !named.contains(&key),
            "{key} is gone, the schema still has it"
        );
    }
}

/// Validates each document (YAML) against the schema with Python's `jsonschema`: one
/// verdict per document, `None` when valid, else the first error's message.
fn judged(documents: &[String]) -> Vec<Option<String>> {
    let dir = tempfile::tempdir().unwrap();
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, schema().to_string()).unwrap();
    let as_json: Vec<Value> = documents
        .iter()
        .map(|d| serde_yaml::from_str::<Value>(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect();
    let docs_path = dir.path().join("docs.json");
    std::fs::write(&docs_path, Value::Array(as_json).to_string()).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        v = jsonschema.Draft202012Validator(schema)\n\
        out = []\n\
        for d in json.load(open(sys.argv[2])):\n\
        \x20   errors = sorted(v.iter_errors(d), key=lambda e: list(e.path))\n\
        \x20   out.append(errors[0].message if errors else None)\n\
        print(json.dumps(out))\n";
    let output = std::process::Command::new("python")
        .args(["-c", script])
        .arg(&schema_path)
        .arg(&docs_path)
        .output()
        .expect("python with jsonschema (the test venv: `make venv`)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn every_example_configuration_validates_against_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples = vec![std::fs::read_to_string(root.join("examples/remedy.yaml")).unwrap()];
    for file in ["README.md", "docs/configuration.md", "pipeline/README.md"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        examples.extend(crate::docs::configurations(&text));
    }
    assert!(examples.len() >= 3);
    for (example, verdict) in examples.iter().zip(judged(&examples)) {
        assert_eq!(verdict, None, "an example the schema rejects:\n{example}");
    }
}

/// Config errors the schema can express: each is rejected by the schema and by
/// `remedy validate` (exit 2, naming the file and line).
const ERRORS: [(&str, &str); 9] = [
    ("an unknown top-level key", "stages: [{name: dev, targets: {ous: [/Dev]}}]\nregion: us-east-1\n"),
    ("no stages", "rules: {S3-001: remediate}\n"),
    ("a stage without targets", "stages: [{name: dev}]\n"),
    ("an unknown mode", "stages: [{name: dev, targets: {ous: [/Dev]}}]\nrules: {S3-001: fix}\n"),
    ("an unknown rule id", "stages: [{name: dev, targets: {ous: [/Dev]}}]\nrules: {S3-999: remediate}\n"),
    ("a malformed account id", "stages: [{name: dev, targets: {accounts: [\"1234\"]}}]\n"),
    ("a concurrency of zero", "stages: [{name: dev, targets: {ous: [/Dev]}, concurrency: 0}]\n"),
    ("an unknown engine", "engine: terraform\nstages: [{name: dev, targets: {ous: [/Dev]}}]\n"),
    ("an exception without an owner", "stages: [{name: dev, targets: {ous: [/Dev]}}]\nexceptions: [{id: x, rules: [S3-001], reason: r, expires: 2027-01-01}]\n"),
];

#[test]
fn each_config_error_class_is_rejected_by_the_schema_and_by_validate() {
    let documents: Vec<String> = ERRORS.iter().map(|(_, d)| (*d).to_owned()).collect();
    for ((what, document), verdict) in ERRORS.iter().zip(judged(&documents)) {
        assert!(verdict.is_some(), "the schema accepts {what}:\n{document}");
        let work = Workdir::new(document);
        let run = support::remedy_offline(work.path(), &["validate"]);
        assert_eq!(run.code, 2, "validate accepts {what}: {}", run.stdout);
        assert!(run.stderr.contains("remedy.yaml"), "{what}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_a_file_validate_accepts() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.account("dev-00", "/Workloads/Development").await;
    org.account("qa-00", "/Workloads/QA").await;
    org.account("prod-00", "/Workloads/Production").await;
    org.account("sec-00", "/Security").await;
    let work = Workdir::new("stages: []\n");
    std::fs::remove_file(work.path().join("remedy.yaml")).unwrap();
    let init = remedy(&emulator, work.path(), &["init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let written = std::fs::read_to_string(work.path().join("remedy.yaml")).unwrap();
    assert!(
        written.contains("- name: prod\n    targets: {ous: [\"/Workloads/Production\"]}"),
        "{written}"
    );
    assert!(
        written.contains("- name: staging\n    targets: {ous: [\"/Workloads/QA\"]}"),
        "{written}"
    );
    assert!(!written.contains("/Security"), "{written}");
    let validate = remedy(&emulator, work.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);
    assert_eq!(
        judged(&[written]),
        [None],
        "the schema accepts what init wrote"
    );
    // A second init does not overwrite it.
    let again = remedy(&emulator, work.path(), &["init"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
}
