//! Small shared pieces: the default target timeout, durations for people.

use std::time::Duration;

/// How long one target may take by default, waits included.
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// `90s` → "1m30s", `1800s` → "30m".
pub fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
