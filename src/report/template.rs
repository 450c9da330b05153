//! `remedy template`.

use std::io::Write;

/// `remedy template`: the rendered template, as is, on stdout.
pub fn print_template(body: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(body.as_bytes());
}
