//! `remedy rules`. The JSON is the catalog's own shape (`RuleSpec`'s serialisation in the
//! runtime crate, which the Lambda runtime and this listing share), with each rule's
//! configured `mode` (null: not deployed), where it comes from, and its settings.

use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
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
pub fn print_rules(rows: &[RuleRow], wide: bool, output: OutputFormat) {
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
            let mut table = Table::new([
                "RULE", "SERVICE", "RISK", "MODE", "FROM", "SETTINGS", "IAM", "TITLE",
            ])
            .keep_whole(&[0, 1, 2, 3, 4]);
            for r in rows {
                let settings: Vec<String> =
                    r.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                table.row([
                    r.spec.id.to_owned(),
                    r.spec.service.to_owned(),
                    r.spec.risk.as_str().to_owned(),
                    r.mode.map_or("-", |m| m.as_str()).to_owned(),
                    r.from.clone(),
                    settings.join(", "),
                    r.spec.iam_actions.join(", "),
                    r.spec.title.to_owned(),
                ]);
            }
            let _ = write!(
                std::io::stdout().lock(),
                "{}",
                table.render(width_for(wide))
            );
        }
    }
}
