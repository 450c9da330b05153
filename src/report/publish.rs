//! `remedy publish`.

use super::json::PublishDoc;
use super::output::{print_json, OutputFormat};
use std::io::Write;

/// `remedy publish`: what is where, and what this run uploaded.
pub fn print_publish(
    hash: &str,
    release_key: &str,
    uploads: &[crate::core::outcome::Upload],
    stages: &std::collections::BTreeMap<String, String>,
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&PublishDoc::new(hash, release_key, uploads, stages)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            for u in uploads {
                let _ = writeln!(
                    out,
                    "{:<9} s3://{}/{}",
                    if u.uploaded { "uploaded" } else { "present" },
                    u.bucket,
                    u.key
                );
            }
            let _ = writeln!(
                out,
                "release {release_key}: {} uploaded, {} already there",
                uploads.iter().filter(|u| u.uploaded).count(),
                uploads.iter().filter(|u| !u.uploaded).count()
            );
        }
    }
}
