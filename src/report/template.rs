//! `remedy template`.

use super::output::{print_json, OutputFormat};
use std::io::Write;

/// `remedy template`: the rendered template on stdout, as is, or as the same document in
/// JSON (CloudFormation takes either).
pub fn print_template(body: &str, format: OutputFormat) -> Result<(), String> {
    match format {
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(body.as_bytes());
        }
        OutputFormat::Json => {
            let doc: serde_json::Value = serde_yaml::from_str(body)
                .map_err(|e| format!("the rendered template is not a JSON document: {e}"))?;
            print_json(&doc);
        }
    }
    Ok(())
}
