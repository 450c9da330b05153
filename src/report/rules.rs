//! `remedy rules`. The JSON is the catalog's own shape (`RuleSpec`'s serialisation in the
//! runtime crate, which the Lambda runtime and this listing share).

use super::output::{print_json, OutputFormat};
use std::io::Write;

/// `remedy rules`: the catalog.
pub fn print_rules(rules: &[&remedy_functions::RuleSpec], output: OutputFormat) {
    match output {
        OutputFormat::Json => print_json(&rules),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<18} {:<10} {:<9} {:<10} TITLE / IAM ACTIONS",
                "RULE", "SERVICE", "RISK", "MODE"
            );
            for r in rules {
                let _ = writeln!(
                    out,
                    "{:<18} {:<10} {:<9} {:<10} {}\n{:<50} {}",
                    r.id,
                    r.service,
                    r.risk.as_str(),
                    r.default_mode.as_str(),
                    r.title,
                    "",
                    r.iam_actions.join(", ")
                );
            }
        }
    }
}
