//! `remedy rules`: the catalog (id, title, service, risk, IAM actions, default mode).

use crate::core::error::{exit, Error};
use crate::report::{self, OutputFormat};

pub fn rules(output: OutputFormat) -> Result<i32, Error> {
    let rules: Vec<_> = remedy_functions::catalog().collect();
    report::print_rules(&rules, output);
    Ok(exit::OK)
}
