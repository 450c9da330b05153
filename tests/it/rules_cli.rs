//! `remedy rules`: the catalog with each rule's configured mode and where it comes from, its
//! settings, in aligned columns; the catalog defaults when there is no `remedy.yaml`.

use std::process::Command;

fn rules(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(dir)
        .arg("rules")
        .args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_configured_mode_its_source_and_settings_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nrules:\n  S3-001: notify\n  CT-001: {mode: remediate, settings: {trail_name: OrgTrail}}\n  \"*\": dry-run\n",
    )
    .unwrap();
    let (code, stdout, stderr) = rules(dir.path(), &["--output", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rule = |id: &str| {
        doc.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    // The configured mode, not the catalog's default.
    assert_eq!(rule("S3-001")["mode"], "notify");
    assert_eq!(rule("S3-001")["mode_from"], "rules.S3-001");
    assert_eq!(rule("KMS-002")["mode"], "dry-run");
    assert_eq!(rule("KMS-002")["mode_from"], "rules.\"*\"");
    assert_eq!(
        rule("CT-001")["configured_settings"]["trail_name"],
        "OrgTrail"
    );

    // In text: one aligned row per rule, and its settings.
    let (_, text, _) = rules(dir.path(), &[]);
    let header = text.lines().next().unwrap();
    let mode_column = header.find("MODE").unwrap();
    let row = text.lines().find(|l| l.starts_with("S3-001 ")).unwrap();
    assert_eq!(
        &row[mode_column..mode_column + 6],
        "notify",
        "{header}\n{row}"
    );
    let trusted = text
        .lines()
        .find(|l| l.starts_with("TrustedAdvisor-003"))
        .unwrap();
    assert_eq!(
        &trusted[mode_column..mode_column + 7],
        "dry-run",
        "{header}\n{trusted}"
    );
    // The settings in full with --wide (the default fits 100 columns, truncating with …).
    let (_, wide, _) = rules(dir.path(), &["--wide"]);
    let ct = wide.lines().find(|l| l.starts_with("CT-001 ")).unwrap();
    assert!(ct.contains(" trail_name=OrgTrail "), "{ct}");
    assert!(wide.lines().any(|l| l.chars().count() > 100), "{wide}");
    assert!(
        text.lines()
            .all(|l| l == l.trim_end() && l.chars().count() <= 100),
        "every line fits 100 columns, no trailing spaces:\n{text}"
    );

    // Not listed and no "*": not deployed.
    std::fs::write(
        dir.path().join("remedy.yaml"),
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nrules:\n  S3-001: notify\n",
    )
    .unwrap();
    let (_, stdout, _) = rules(dir.path(), &["--output", "json", "--stage", "dev"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let kms = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "KMS-002")
        .unwrap();
    assert!(kms["mode"].is_null(), "{kms}");
    let (code, _, stderr) = rules(dir.path(), &["--stage", "prod"]);
    assert_eq!(code, 2, "{stderr}");

    // No remedy.yaml: the catalog's defaults.
    let empty = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = rules(empty.path(), &["--output", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc.as_array().unwrap().len(),
        remedy_functions::catalog().count()
    );
    assert!(doc[0]["mode_from"]
        .as_str()
        .unwrap()
        .starts_with("catalog default"));
}
