//! `remedy rules [--stage S]`: the catalog (id, title, service, risk, IAM actions, settings)
//! and, where `remedy.yaml` is there, each rule's configured mode and where it comes from
//! (`rules.S3-001`, `rules."*"`), or that the configuration does not deploy it.

use super::Global;
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::report::{self, OutputFormat, RuleRow};

// The flags of `remedy rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose effective modes to show: the top-level `rules` overlaid by its own.
    #[arg(long)]
    pub stage: Option<String>,
    /// Every column at full width (the table otherwise fits 100 columns, or $COLUMNS).
    #[arg(long)]
    pub wide: bool,
}

pub fn run(args: Args, global: &Global) -> Result<i32, Error> {
    // The catalog alone when there is no configuration to read; a configuration that is
    // there but invalid is an error, as for every other command.
    let config = if global.config.exists() {
        Some(super::load_config_to_read(&global.config)?)
    } else {
        None
    };
    if let (Some(config), Some(stage)) = (&config, args.stage.as_deref()) {
        config.stage(stage)?;
    } else if let (None, Some(_)) = (&config, args.stage.as_deref()) {
        return Err(Error::Input(format!(
            "--stage: {} does not exist",
            global.config.display()
        )));
    }
    let stage = match (&config, args.stage.as_deref()) {
        (Some(config), Some(name)) => Some(config.stage(name)?.clone()),
        _ => None,
    };
    rules(config.as_ref(), stage.as_ref(), args.wide, global.output)
}

/// The catalog with the modes `stage` deploys (none: the top-level `rules` alone).
pub fn rules(
    config: Option<&Config>,
    stage: Option<&crate::core::config::Stage>,
    wide: bool,
    output: OutputFormat,
) -> Result<i32, Error> {
    let enabled = config.map(|c| c.stage_rules(stage));
    let rows: Vec<RuleRow> = remedy_functions::catalog()
        .map(|spec| {
            let Some(enabled) = &enabled else {
                return RuleRow {
                    spec,
                    mode: Some(spec.default_mode),
                    from: "catalog default (no remedy.yaml)".into(),
                    settings: spec
                        .settings
                        .iter()
                        .filter_map(|s| Some((s.name.to_owned(), s.default?.to_owned())))
                        .collect(),
                };
            };
            match enabled.iter().find(|r| r.spec.id == spec.id) {
                Some(rule) => RuleRow {
                    spec,
                    mode: Some(rule.mode),
                    from: config
                        .map(|c| c.mode_source(stage, spec.id))
                        .unwrap_or_default(),
                    settings: rule.settings.clone().into_iter().collect(),
                },
                None => RuleRow {
                    spec,
                    mode: None,
                    from: "not in rules: not deployed".into(),
                    settings: Vec::new(),
                },
            }
        })
        .collect();
    report::print_rules(&rows, wide, output);
    Ok(exit::OK)
}
