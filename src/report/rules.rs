//! `remedy rules`. The JSON is the catalog's own shape (`RuleSpec`'s serialisation in the
//! runtime crate, which the Lambda runtime and this listing share), with each rule's
//! configured `mode` (null: not deployed), where it comes from, and its settings.

use super::output::{print_json, OutputFormat};
use remedy_functions::catalog::Mode;
use std::io::Write;

/// One rule as `remedy rules` shows it.
pub struct RuleRow {
    pub spec: &'static remedy_functions::RuleSpec,
    /// The configured mode; `None` when the configuration does not deploy the rule.
    pub mode: Option<Mode>,
    /// `rules.S3-001`, `rules."*"`, or why there is no mode.
    pub from: String,
    /// The settings it is deployed with (defaults filled in).
    pub settings: Vec<(String, String)>,
}

/// `remedy rules`: the catalog, with the configured modes.
pub fn print_rules(rows: &[RuleRow], output: OutputFormat) {
    match output {
        OutputFormat::Json => {
            let docs: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut doc = serde_json::to_value(r.spec).unwrap_or_default();
                    if let Some(map) = doc.as_object_mut() {
                        map.insert("mode".into(), r.mode.map(|m| m.as_str()).into());
                        map.insert("mode_from".into(), r.from.clone().into());
                        map.insert(
                            "configured_settings".into(),
                            r.settings
                                .iter()
                                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                                .collect::<serde_json::Map<_, _>>()
                                .into(),
                        );
                    }
                    doc
                })
                .collect();
            print_json(&docs);
        }
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let width = |f: &dyn Fn(&RuleRow) -> usize, title: &str| {
                rows.iter().map(f).max().unwrap_or(0).max(title.len())
            };
            let (id, service, risk, mode) = (
                width(&|r| r.spec.id.len(), "RULE"),
                width(&|r| r.spec.service.len(), "SERVICE"),
                width(&|r| r.spec.risk.as_str().len(), "RISK"),
                width(&|r| r.mode.map_or(1, |m| m.as_str().len()), "MODE"),
            );
            let _ = writeln!(
                out,
                "{:<id$}  {:<service$}  {:<risk$}  {:<mode$}  FROM / TITLE",
                "RULE", "SERVICE", "RISK", "MODE"
            );
            let indent = " ".repeat(id + service + risk + mode + 8);
            for r in rows {
                let _ = writeln!(
                    out,
                    "{:<id$}  {:<service$}  {:<risk$}  {:<mode$}  {}",
                    r.spec.id,
                    r.spec.service,
                    r.spec.risk.as_str(),
                    r.mode.map_or("-", |m| m.as_str()),
                    r.from
                );
                let _ = writeln!(out, "{indent}{}", r.spec.title);
                let _ = writeln!(out, "{indent}IAM: {}", r.spec.iam_actions.join(", "));
                if !r.settings.is_empty() {
                    let settings: Vec<String> =
                        r.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let _ = writeln!(out, "{indent}settings: {}", settings.join(", "));
                }
            }
        }
    }
}
