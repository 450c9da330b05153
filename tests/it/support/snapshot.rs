//! Whole JSON documents compared against snapshots in `tests/it/snapshots/`, so that a
//! changed key, a lost field or a new one in DESIGN.md's output shapes fails a test.
//!
//! What varies from run to run is redacted first: account ids (random in the emulator)
//! become their names (`<dev-00>`), hashes and the tool version become `<hash>` and
//! `<version>`, the run's times, commit and caller `<time>`, `<commit>` and `<caller>`, stack
//! times `<seconds>`, retry counts are left out, and arrays of targets are sorted by their redacted text (their order is
//! asserted by hand where it matters).
//!
//! A snapshot is written, not compared, when `REMEDY_BLESS=1`; review the diff, then commit.

use serde_json::Value;
use std::path::PathBuf;

/// Compares `doc`, redacted with `accounts` (account id → name), with the snapshot `name`.
pub fn assert_snapshot(name: &str, doc: &Value, accounts: &[(String, String)]) {
    let redacted = redact(doc, accounts);
    let text = match serde_json::to_string_pretty(&redacted) {
        Ok(text) => text + "\n",
        Err(e) => panic!("cannot write snapshot {name}: {e}"),
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots")
        .join(format!("{name}.json"));
    if std::env::var_os("REMEDY_BLESS").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no snapshot {} ({e}); run the test with REMEDY_BLESS=1 to write it:\n{text}",
            path.display()
        )
    });
    assert!(
        expected == text,
        "the JSON document differs from {}\n--- expected\n{expected}\n--- actual\n{text}\n(run with REMEDY_BLESS=1 to accept it)",
        path.display()
    );
}

/// Labels for `ids`, named `<prefix>-00`, `<prefix>-01`, … as `Org::accounts_in` names them.
pub fn labels(prefix: &str, ids: &[String]) -> Vec<(String, String)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("{prefix}-{i:02}")))
        .collect()
}

fn redact(value: &Value, accounts: &[(String, String)]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                // AWS (or the emulator under load) may push back, or not: the counts are
                // left out (tests/it/faults.rs checks them).
                .filter(|(key, _)| key.as_str() != "retries")
                .map(|(key, v)| {
                    let v = match key.as_str() {
                        "hash" | "release_hash" | "template_sha256" | "config_sha256"
                        | "deployed_hash"
                            if v.is_string() =>
                        {
                            Value::from("<hash>")
                        }
                        "version" | "remedy_version" if v.is_string() => Value::from("<version>"),
                        "started_at" | "finished_at" if v.is_string() => Value::from("<time>"),
                        "commit" if v.is_string() => Value::from("<commit>"),
                        // How long stack operations took (`stack_time`): the count stays.
                        "median_s" | "p95_s" if v.is_number() => Value::from("<seconds>"),
                        "caller_arn" if v.is_string() => Value::from("<caller>"),
                        _ => redact(v, accounts),
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| redact(v, accounts)).collect();
            if items.iter().all(|v| v.get("account_id").is_some()) {
                items.sort_by_key(|v| v.to_string());
            }
            Value::Array(items)
        }
        Value::String(text) => Value::String(redact_text(text, accounts)),
        other => other.clone(),
    }
}

fn redact_text(text: &str, accounts: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (id, name) in accounts {
        out = out.replace(id.as_str(), &format!("<{name}>"));
    }
    // Hex runs of 16 or more (hashes, change set and run ids).
    let mut result = String::with_capacity(out.len());
    let mut run = String::new();
    for c in out.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        if run.len() >= 16 {
            result.push_str("<hex>");
        } else {
            result.push_str(&run);
        }
        run.clear();
        result.push(c);
    }
    result.pop();
    result
}

#[test]
fn redaction_names_accounts_and_hides_hashes_and_sorts_targets() {
    let accounts = labels("dev", &["222222222222".into(), "111111111111".into()]);
    let doc = serde_json::json!({
        "hash": "0123456789abcdef0123",
        "targets": [
            {"account_id": "222222222222", "reason": "change set remedy-0123456789abcdef failed"},
            {"account_id": "111111111111", "reason": null},
        ],
    });
    assert_eq!(
        redact(&doc, &accounts),
        serde_json::json!({
            "hash": "<hash>",
            "targets": [
                {"account_id": "<dev-00>", "reason": "change set remedy-<hex> failed"},
                {"account_id": "<dev-01>", "reason": null},
            ],
        })
    );
}
