//! The two output formats and writing a JSON document: what every printer shares. Its own
//! file so that the printers import it without importing `report/mod.rs`, which imports
//! them.

use serde::Serialize;
use std::io::Write;

/// `--output`: `text` for people, `json` for scripts (exactly one document on stdout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Writes `bytes` on stdout as they are (a completion script, a man page); a closed pipe
/// ends it quietly.
pub fn print_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// Writes one JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
        Err(e) => tracing::error!("cannot write the JSON report: {e}"),
    }
}
