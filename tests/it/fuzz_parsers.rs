//! Property tests (proptest) on everything that parses untrusted input: `remedy.yaml` and
//! Conformity findings. Whatever the bytes, the parsers answer (a value or an error naming
//! what is wrong); they never panic. Inputs are both arbitrary and near-valid (a valid
//! document with characters replaced, inserted or cut), which is where parsers break.

use proptest::prelude::*;
use remedy::core::config::Config;
use remedy_functions::dispatch::{decide, Place, RuntimeConfig};
use remedy_functions::finding;
use std::path::Path;

const CONFIG: &str = r#"stack_name: remedy
package: dist/remedy-lambda.zip
regions: [us-east-1, eu-west-1]
role: {name: CloudConformity, external_id: "ext", execution_role: remedy-cloudformation}
conformity: {account_id: "717210094962"}
engine: direct
codebuild: {project: remedy-deploy}
stages:
  - name: dev
    targets: {ous: [/Workloads/Dev], accounts: ["111111111111"], exclude: ["222222222222"]}
    concurrency: 16
    failure_tolerance: 0
    home_region: eu-west-1
  - name: prod
    approval: true
    engine: codebuild
    targets: {ous: [ou-abcd-12345678]}
rules:
  S3-001: remediate
  CT-001: {mode: remediate, settings: {trail_name: GlobalTrail}}
  "*": dry-run
notifications:
  topics:
    - {name: urgent, risk_levels: [VERY_HIGH], categories: [security], emails: [a@b.example]}
"#;

const FINDING: &str = r#"{"id":"ccc:1","ruleId":"S3-001","service":"S3","region":"us-east-1","riskLevel":"VERY_HIGH","categories":["security"],"compliances":["GDPR"],"message":"Bucket is public","resource":"my-bucket","status":"FAILURE","resolutionPageURL":"https://www.cloudconformity.com/knowledge-base/aws/S3/s3-bucket-public-access.html","accountId":"111111111111"}"#;

/// A valid document with `edits` applied: (position, replacement text); an empty
/// replacement cuts a character.
fn mutate(base: &str, edits: &[(usize, String)]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for (at, text) in edits {
        if chars.is_empty() {
            break;
        }
        let at = at % chars.len();
        if text.is_empty() {
            chars.remove(at);
        } else {
            chars.splice(at..at, text.chars());
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(usize, String)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            "(|[:{}\\[\\],\"'#&*!|>\\-\\n ]|[a-z0-9]{1,3}|\\PC{1,2})",
        ),
        1..8,
    )
}

fn place() -> Place {
    Place {
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn config_parser_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = Config::parse(Path::new("remedy.yaml"), text);
    }

    #[test]
    fn config_parser_never_panics_near_a_valid_document(edits in edits()) {
        let text = mutate(CONFIG, &edits);
        if let Err(e) = Config::parse(Path::new("remedy.yaml"), text) {
            // Errors name the file (and, where it is known, the line).
            prop_assert!(e.to_string().starts_with("remedy.yaml"), "{}", e);
        }
    }

    #[test]
    fn finding_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(message) = finding::parse(&bytes) {
            let _ = decide(&message, &RuntimeConfig::default(), &place());
        }
    }

    #[test]
    fn finding_parser_never_panics_near_a_valid_finding(edits in edits()) {
        let text = mutate(FINDING, &edits);
        if let Ok(message) = finding::parse(text.as_bytes()) {
            let _ = decide(&message, &RuntimeConfig::default(), &place());
        }
    }
}

#[test]
fn the_seeds_themselves_are_valid() {
    // Mutations start from documents that parse: otherwise the tests above only ever see
    // the first error.
    assert!(Config::parse(Path::new("remedy.yaml"), CONFIG.into()).is_ok());
    assert!(finding::parse(FINDING.as_bytes()).is_ok());
}
