//! The tool's error type and its mapping to exit codes (DESIGN.md, "Exit codes").
//!
//! Per-target failures are *not* errors: the engines return them as results so that one
//! account's failure never hides another's. An [`Error`] ends the command.

use aws_sdk_sts::config::http::HttpResponse;
use std::fmt;

/// Exit codes of DESIGN.md.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const AWAITING_APPROVAL: i32 = 3;
}

#[derive(Debug)]
pub enum Error {
    /// Invalid input (CLI, config, event): exit 2, reported before any AWS call where it can
    /// be known without one.
    Input(String),
    /// Something the command needed failed (AWS, the file system): exit 1.
    Failed(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit::INVALID_INPUT,
            Error::Failed(_) => exit::FAILED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// A short, single-line description of an AWS SDK error: the service's code and message
/// when AWS answered with one; the HTTP status and the start of the body when the answer
/// could not be parsed (a proxy's or an emulator's error page); otherwise the chain of causes
/// (connection refused, credentials…).
pub fn describe_sdk_error<E>(err: &aws_sdk_sts::error::SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + aws_sdk_sts::error::ProvideErrorMetadata + 'static,
{
    use aws_sdk_sts::error::SdkError;
    if let SdkError::ServiceError(service) = err {
        let e = service.err();
        match (e.code(), e.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_owned(),
            _ => {}
        }
    }
    if let Some(raw) = err.raw_response() {
        let body = raw
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        return format!("HTTP {} {}", raw.status().as_u16(), one_line(&body, 300));
    }
    chain(err)
}

/// Text squeezed onto one line: tags dropped, whitespace folded, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    let folded = out.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().take(max).collect()
}

/// An error and its sources, joined with ": ", without repeating a cause that a message
/// already contains.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_fold_to_one_line() {
        let page = "<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal  Server Error</h1>";
        assert_eq!(
            one_line(page, 300),
            "500 Internal Server Error Internal Server Error"
        );
        assert_eq!(one_line("abcdef", 3), "abc");
    }
}
