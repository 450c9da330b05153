//! Exceptions: findings a security team has decided not to remediate, each with an owner,
//! a reason and an expiry date.
//!
//! The CLI reads `exceptions:` from `remedy.yaml`, resolves what only it can (accounts and
//! OUs: an account's stack carries only the exceptions that apply to it) and hands each
//! stack the rest as `REMEDY_EXCEPTIONS`, a JSON list of [`Exception`]. At run time the
//! orchestrator checks each finding against them ([`first_match`]): its rule, account,
//! region, resource (globs over the resource id or ARN) and — when an exception names tags —
//! the resource's tags, which the orchestrator reads ([`tags_match`] decides over them). A
//! matched finding is `skipped` with reason code `exception:<id>`. An exception whose
//! `expires` date has passed no longer applies (a day is a UTC day: it applies through its
//! `expires` date).
//!
//! Pure: no AWS, no clock (today is an argument).

use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The environment variable that carries a stack's exceptions.
pub const ENV: &str = "REMEDY_EXCEPTIONS";

/// One exception as a stack carries it. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    pub id: String,
    /// Rule ids, or `*` for every rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The accounts it applies to (resolved from the file's `accounts` and `ous`); empty:
    /// every account that carries it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Globs (`*`, `?`) over the finding's resource id or ARN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Tag key → value the resource must carry (all of them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The last day it applies: `YYYY-MM-DD`.
    pub expires: String,
}

impl Exception {
    /// Whether it has expired on `today` (days since 1970-01-01, UTC). An unreadable date
    /// counts as expired: the CLI never writes one, and a hand-edited stack must not get an
    /// exception for ever.
    pub fn expired(&self, today: i64) -> bool {
        parse_date(&self.expires).is_none_or(|last| today > last)
    }

    /// Whether everything but its tags matches `finding` in `account`: the rule, the
    /// account, the region and the resource.
    pub fn matches_finding(&self, finding: &Finding, account: &str) -> bool {
        let rule_ok = self.rules.is_empty()
            || self
                .rules
                .iter()
                .any(|r| r == "*" || r.eq_ignore_ascii_case(&finding.rule_id));
        let account_ok = self.accounts.is_empty() || self.accounts.iter().any(|a| a == account);
        let region_ok = self.regions.is_empty()
            || finding
                .region
                .as_deref()
                .is_some_and(|r| self.regions.iter().any(|w| w == r));
        // The resource id or ARN only: `resourceName` is a type label in Conformity's
        // findings ("S3 Bucket"), which a glob would match across every resource.
        let resource_ok = self.resources.is_empty()
            || finding
                .resource
                .as_deref()
                .is_some_and(|r| self.resources.iter().any(|g| glob(g, r)));
        rule_ok && account_ok && region_ok && resource_ok
    }
}

/// The exceptions in `REMEDY_EXCEPTIONS`: absent or blank, none; anything unreadable is an
/// error, so a mangled list stops the function at its start rather than remediate what it
/// should have left alone.
pub fn parse_table(text: Option<&str>) -> Result<Vec<Exception>, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("{ENV}: {e}")),
    }
}

/// The first exception in force on `today` that matches `finding` in `account`, leaving
/// tags aside: the caller reads the resource's tags when the exception names some, and
/// checks them with [`tags_match`].
pub fn candidates<'e>(
    exceptions: &'e [Exception],
    finding: &Finding,
    account: &str,
    today: i64,
) -> Vec<&'e Exception> {
    exceptions
        .iter()
        .filter(|e| !e.expired(today) && e.matches_finding(finding, account))
        .collect()
}

/// The first exception that applies, when none names tags (the orchestrator's tag lookup is
/// needed otherwise): for callers without a tag reader.
pub fn first_match<'e>(
    exceptions: &'e [Exception],
    finding: &Finding,
    account: &str,
    today: i64,
) -> Option<&'e Exception> {
    candidates(exceptions, finding, account, today)
        .into_iter()
        .find(|e| e.tags.is_empty())
}

/// Whether a resource carrying `tags` has every tag the exception names.
pub fn tags_match(wanted: &BTreeMap<String, String>, tags: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// Whether the ARN a tag lookup returned is the finding's resource: the same ARN, or an ARN
/// of one of `services` (the services the finding's rule acts on: an SNS topic named like a
/// bucket is not the bucket) whose resource part is the finding's id
/// (`arn:aws:s3:::bucket` for `bucket`, `…:security-group/sg-1` for `sg-1`).
pub fn arn_names(arn: &str, resource: &str, services: &[&str]) -> bool {
    if arn == resource {
        return true;
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (Some(service), Some(tail)) = (parts.get(2), parts.get(5)) else {
        return false;
    };
    services.contains(service)
        && (*tail == resource
            || tail
                .rsplit_once(['/', ':'])
                .is_some_and(|(_, id)| id == resource))
}

/// The services (IAM action prefixes: `s3`, `ec2`, …) the rule `rule_id` acts on, from the
/// catalog; none for a rule remedy does not have.
pub fn services_of(rule_id: &str) -> Vec<&'static str> {
    let mut services: Vec<&'static str> = crate::catalog::find_rule(rule_id)
        .map(|spec| {
            spec.iam_actions
                .iter()
                .filter_map(|a| a.split_once(':').map(|(service, _)| service))
                .collect()
        })
        .unwrap_or_default();
    services.sort_unstable();
    services.dedup();
    services
}

/// `*` matches any run of characters (`/` and `:` included), `?` any one; everything else
/// itself. Case-sensitive, as resource ids are.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `YYYY-MM-DD` as days since 1970-01-01; `None` for anything else (or a day the month
/// does not have).
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || m.len() != 2
        || d.len() != 2
        || !(y.chars().chain(m.chars()).chain(d.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days_in_month {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number, as `YYYY-MM-DD`.
pub fn date_of(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today (UTC) as days since 1970-01-01, from seconds since the epoch.
pub fn day_of(epoch_seconds: u64) -> i64 {
    i64::try_from(epoch_seconds / 86_400).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, region: &str, resource: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "ruleId": rule, "status": "FAILURE", "region": region, "resource": resource
        }))
        .unwrap()
    }

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-12-06"), Some(20_793));
        for days in [0, 59, 60, 365, 11_016, 20_793, 47_000] {
            assert_eq!(parse_date(&date_of(days)), Some(days), "{days}");
        }
        assert_eq!(date_of(20_793), "2026-12-06");
        assert_eq!(
            parse_date("2028-02-29"),
            Some(parse_date("2028-03-01").unwrap() - 1)
        );
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-10",
            "26-01-10",
            "2026/01/10",
            "2026-01-10T00:00",
            "",
            "soon",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(day_of(86_400 * 3 + 5), 3);
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("logs-*", "logs-2026"));
        assert!(!glob("logs-*", "mylogs-2026"));
        assert!(glob("arn:aws:s3:::*-public", "arn:aws:s3:::site-public"));
        assert!(glob("sg-0?1", "sg-0a1"));
        assert!(!glob("sg-0?1", "sg-0ab1"));
        assert!(glob("*/prod/*", "arn:aws:ec2:r:1:instance/prod/x"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(!glob("Logs-*", "logs-1"), "case-sensitive");
    }

    #[test]
    fn an_exception_matches_by_rule_account_region_and_resource_until_it_expires() {
        let e = Exception {
            id: "legacy-site".into(),
            rules: vec!["S3-001".into()],
            accounts: vec!["111111111111".into()],
            regions: vec!["us-east-1".into()],
            resources: vec!["site-*".into()],
            expires: "2026-12-31".into(),
            ..Exception::default()
        };
        let today = parse_date("2026-12-06").unwrap();
        let f = finding("S3-001", "us-east-1", "site-www");
        let list = [e.clone()];
        assert_eq!(
            first_match(&list, &f, "111111111111", today).map(|e| e.id.as_str()),
            Some("legacy-site")
        );
        assert!(first_match(&list, &f, "222222222222", today).is_none());
        assert!(first_match(
            &list,
            &finding("S3-002", "us-east-1", "site-www"),
            "111111111111",
            today
        )
        .is_none());
        assert!(first_match(
            &list,
            &finding("S3-001", "eu-west-1", "site-www"),
            "111111111111",
            today
        )
        .is_none());
        assert!(first_match(
            &list,
            &finding("S3-001", "us-east-1", "app"),
            "111111111111",
            today
        )
        .is_none());
        let last_day = parse_date("2026-12-31").unwrap();
        assert!(
            first_match(&list, &f, "111111111111", last_day).is_some(),
            "applies through its date"
        );
        assert!(
            first_match(&list, &f, "111111111111", last_day + 1).is_none(),
            "expired"
        );
        let mangled = Exception {
            expires: "someday".into(),
            ..e.clone()
        };
        assert!(mangled.expired(0));
        let star = Exception {
            rules: vec!["*".into()],
            accounts: vec![],
            regions: vec![],
            resources: vec![],
            ..e
        };
        assert!(star.matches_finding(&finding("EC2-002", "ap-south-1", "sg-1"), "3"));
    }

    #[test]
    fn tags_and_arns() {
        let wanted: BTreeMap<String, String> = [("env".to_owned(), "legacy".to_owned())].into();
        let mut tags: BTreeMap<String, String> = [("env".to_owned(), "legacy".to_owned())].into();
        assert!(tags_match(&wanted, &tags));
        tags.insert("env".into(), "prod".into());
        assert!(!tags_match(&wanted, &tags));
        let s3 = services_of("S3-001");
        assert!(s3.contains(&"s3"), "{s3:?}");
        assert!(arn_names("arn:aws:s3:::site", "site", &s3));
        assert!(arn_names("arn:aws:s3:::site", "arn:aws:s3:::site", &s3));
        assert!(arn_names(
            "arn:aws:ec2:us-east-1:1:security-group/sg-1",
            "sg-1",
            &["ec2"]
        ));
        assert!(arn_names(
            "arn:aws:sns:us-east-1:1:topic",
            "topic",
            &["sns"]
        ));
        // Another service's resource with the same name is not the finding's.
        assert!(!arn_names("arn:aws:sns:us-east-1:1:site", "site", &s3));
        assert!(!arn_names("arn:aws:s3:::site-2", "site", &s3));
        assert!(!arn_names(
            "arn:aws:ec2:us-east-1:1:security-group/sg-12",
            "sg-1",
            &["ec2"]
        ));
        assert!(services_of("XYZ-999").is_empty());
    }

    #[test]
    fn the_table_from_the_environment() {
        assert_eq!(parse_table(None), Ok(vec![]));
        assert_eq!(parse_table(Some(" ")), Ok(vec![]));
        let list = parse_table(Some(
            r#"[{"id":"a","expires":"2027-01-01","tags":{"k":"v"}}]"#,
        ))
        .unwrap();
        assert_eq!(list[0].tags["k"], "v");
        assert!(parse_table(Some("{}")).unwrap_err().starts_with(ENV));
        assert!(
            parse_table(Some(r#"[{"id":"a"}]"#)).is_err(),
            "expires is required"
        );
    }
}
