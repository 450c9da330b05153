//! Small shared pieces: the one SHA-256 hex, the default target timeout, durations for
//! people.

use sha2::{Digest, Sha256};
use std::time::Duration;

/// The strings of a JSON array, in order; anything else (absent, not an array, a
/// non-string item) contributes nothing.
pub(crate) fn json_strings(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `parts` fed one after another, in full hex (64 characters): content keys.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    hex(&sha256(parts))
}

/// The first 16 bytes of SHA-256 of `parts`, in hex (32 characters): enough to tell
/// deployments apart and short enough for a tag or a token.
pub(crate) fn short_hash(parts: &[&[u8]]) -> String {
    hex(&sha256(parts)[..16])
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// How long one target may take by default, waits included.
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// [`TARGET_TIMEOUT`] as `--target-timeout` writes it (its default on the command line).
pub const TARGET_TIMEOUT_ARG: &str = "30m";

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

/// Percent-decoding (RFC 3986): `%7B` → `{`; anything else, a malformed escape included,
/// as it is (IAM returns policy documents so).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Levenshtein distance over bytes (for "did you mean": region names, account ids, OU
/// paths — ASCII all).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Up to three of `candidates` (value, label) nearest to `typo` (case aside), all at the
/// same smallest distance and at most `max` edits away: "did you mean" lists.
pub(crate) fn closest<'a>(
    typo: &str,
    candidates: impl Iterator<Item = (&'a str, String)>,
    max: usize,
) -> Vec<String> {
    let mut near: Vec<(usize, String)> = candidates
        .map(|(value, label)| {
            (
                edit_distance(&typo.to_lowercase(), &value.to_lowercase()),
                label,
            )
        })
        .filter(|(d, _)| *d <= max)
        .collect();
    near.sort();
    // Only the nearest: `s3-001` means `S3-001`, not also `S3-002`.
    let best = near.first().map(|(d, _)| *d);
    near.into_iter()
        .take_while(|(d, _)| Some(*d) == best)
        .take(3)
        .map(|(_, label)| label)
        .collect()
}

/// The longest wait any option accepts.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `90s`, `30m`, `1h30m`, `1d`, or plain seconds; at most a week.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = parse_duration_unbounded(text)?;
    if parsed > MAX_DURATION {
        return Err(format!("`{text}` is longer than a week"));
    }
    Ok(parsed)
}

/// `90s`, `30m`, `1h30m`, `7d`, or plain seconds, with no upper bound.
pub(crate) fn parse_duration_unbounded(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (write e.g. 90s, 30m, 1h30m, 7d)");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// `seconds` since the Unix epoch as an RFC 3339 UTC time, `2026-12-06T05:10:12Z` (the
/// reports' timestamps; days to a civil date by Howard Hinnant's algorithm).
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector_whatever_the_parts() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(&[b"abc"]), abc);
        assert_eq!(sha256_hex(&[b"a", b"", b"bc"]), abc);
        assert_eq!(short_hash(&[b"abc"]), abc[..32]);
    }

    #[test]
    fn the_default_target_timeout_is_written_once() {
        assert_eq!(parse_duration(TARGET_TIMEOUT_ARG), Ok(TARGET_TIMEOUT));
        assert_eq!(humanize(TARGET_TIMEOUT), TARGET_TIMEOUT_ARG);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_533_812), "2026-12-06T05:10:12Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
