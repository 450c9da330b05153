//! `remedy template [--stage S]`: the rendered member-account template, on stdout.

use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::template;

pub fn template(config: &Config, stage: Option<&str>) -> Result<i32, Error> {
    if let Some(stage) = stage {
        config.stage(stage)?;
    }
    let rendered = template::render(config).map_err(Error::Failed)?;
    crate::report::print_template(&rendered.body);
    Ok(exit::OK)
}
